"""Generations files: reading, options, the cringe_generations mutator, and the routes through ParlAI's tasks."""

from __future__ import annotations

import logging
import math
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from parlai.core.message import Message
from parlai.core.params import ParlaiParser

from cringe_agent import selection
from cringe_agent.mutators import generations as gen
from cringe_agent.mutators.generations import (
    CringeGenerationsMutator,
    generation_options,
    load_selection,
    read_generations,
    select_generations,
    to_message,
)

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures" / "generations"
ROUND1 = FIXTURES / "round1.jsonl"  # 3 neg; 7 pos of which 4 are the same "i don't know"
NO_NEGATIVES = FIXTURES / "no_negatives.jsonl"  # 4 pos
CRINGE_AGENT = "cringe_agent.agents.transformer:CringeTransformerGeneratorAgent"


def _rows():
    return read_generations(str(ROUND1))


def _reply_labels() -> dict[str, str]:
    return {r["text"]: r["label"] for r in _rows()}


@pytest.fixture
def parlai_warnings(monkeypatch):
    """Warnings the mutator module logs through ParlAI's logger (which does not propagate to pytest's caplog)."""
    messages: list[str] = []
    monkeypatch.setattr(gen.logging, "warning", messages.append)
    return messages


# ---------------------------------------------------------------------------------------------------------------
# reading and selection


def test_read_fixture():
    rows = _rows()
    assert len(rows) == 10
    assert Counter(r["label"] for r in rows) == {"neg": 3, "pos": 7}


def test_selection_is_the_pure_module_s():
    assert select_generations is selection.select_generations
    assert gen.EMPTY_SIDE_RULES == selection.EMPTY_SIDE_RULES == ("skip", "keep")


def test_truncated_file_names_file_and_line():
    with pytest.raises(ValueError, match=r"truncated\.jsonl, line 3: invalid JSON"):
        read_generations(f"{ROUND1},{FIXTURES / 'truncated.jsonl'}")


def test_bad_label_names_file_line_and_field():
    with pytest.raises(ValueError, match=r"bad_label\.jsonl, line 2: field 'label' must be 'pos' or 'neg'"):
        read_generations(str(FIXTURES / "bad_label.jsonl"))


def test_missing_field_and_bad_prob(tmp_path):
    path = tmp_path / "g.jsonl"
    path.write_text('{"context": "c", "text": "t", "label": "pos"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"g\.jsonl, line 1: missing required field 'prob'"):
        read_generations(str(path))
    path.write_text('{"context": "c", "text": "t", "label": "pos", "prob": 1.5}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"line 1: field 'prob' must be in \[0, 1\]"):
        read_generations(str(path))
    with pytest.raises(ValueError, match="no generations file given"):
        read_generations(" , ")


def test_several_files_are_concatenated():
    assert len(read_generations(f"{ROUND1}, {NO_NEGATIVES}")) == 14


def test_to_message():
    row = {"context": "hi\nhow are you?", "text": "shut up", "prob": 0.9, "label": "neg", "round": 2}
    msg = to_message(row)
    assert msg["text"] == "hi\nhow are you?"
    assert msg["labels"] == ["shut up"]
    assert msg["classifier_label"] == "neg"
    assert msg["source"] == "generations"
    assert msg["round"] == 2 and "gold" not in msg


def test_load_selection_selects_by_default():
    assert load_selection({"cringe_generations": str(ROUND1)}) == select_generations(_rows())
    keep_all = {"cringe_generations": str(ROUND1), "cringe_generations_balance": False}
    assert Counter(r["label"] for r in load_selection({**keep_all, "cringe_generations_max_pos_copies": 0})) == {
        "neg": 3,
        "pos": 7,
    }


def test_load_selection_reads_selected_files_as_they_are():
    rows = load_selection({"cringe_generations": f"{ROUND1},{NO_NEGATIVES}", "cringe_generations_select": False})
    assert rows == read_generations(f"{ROUND1},{NO_NEGATIVES}")  # every row, in file order, repeats kept


def test_load_selection_empty_side_rule(caplog):
    caplog.set_level(logging.WARNING, logger="cringe_agent.selection")
    opt = {"cringe_generations": str(NO_NEGATIVES)}
    assert load_selection(opt) == []
    assert "none are selected" in caplog.text
    assert len(load_selection({**opt, "cringe_generations_empty_side": "keep"})) == 3


def test_empty_files_error_when_selecting_and_warn_when_not(tmp_path, parlai_warnings):
    empty = tmp_path / "selection.jsonl"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(ValueError, match="no generations to select from"):
        load_selection({"cringe_generations": str(empty)})
    assert load_selection({"cringe_generations": str(empty), "cringe_generations_select": False}) == []
    assert len(parlai_warnings) == 1 and "hold no rows" in parlai_warnings[0]


# ---------------------------------------------------------------------------------------------------------------
# options


@pytest.mark.parametrize("rate", [math.inf, -math.inf, math.nan, -0.5, "inf", "nan", True, "fast"])
def test_rate_must_be_a_finite_number_at_least_zero(rate):
    with pytest.raises(ValueError, match="--cringe-generations-rate must be a"):
        CringeGenerationsMutator({"datatype": "valid", "cringe_generations_rate": rate})


def test_rate_zero_and_numbers_from_task_strings():
    assert generation_options({"cringe_generations_rate": 0})["cringe_generations_rate"] == 0.0
    assert generation_options({"cringe_generations_rate": "0.25"})["cringe_generations_rate"] == 0.25


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("cringe_generations_empty_side", "drop", "--cringe-generations-empty-side must be one of skip, keep"),
        ("cringe_generations_select", "yes", "--cringe-generations-select must be true or false"),
        ("cringe_generations_balance", 1, "--cringe-generations-balance must be true or false"),
        ("cringe_generations_max_pos_copies", -1, "--cringe-generations-max-pos-copies must be >= 0"),
        ("cringe_generations_max_pos_copies", 1.5, "--cringe-generations-max-pos-copies must be an integer"),
        ("cringe_generations_seed", "x", "--cringe-generations-seed must be an integer"),
    ],
)
def test_bad_options_name_their_flag(key, value, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        generation_options({key: value})


@pytest.mark.parametrize("value", [math.inf, "inf", math.nan, -math.inf])
@pytest.mark.parametrize("key", ["cringe_generations_max_pos_copies", "cringe_generations_seed"])
def test_integer_options_refuse_inf_and_nan_with_the_flag(key, value):
    with pytest.raises(ValueError, match=f"--{key.replace('_', '-')} must be an integer"):
        generation_options({key: value})


@pytest.mark.parametrize("rate", ["inf", "nan", "-1"])
def test_rate_from_the_command_line_is_checked_before_anything_is_injected(rate):
    """``--cringe-generations-rate inf`` used to loop forever in the mutator, ``nan`` to inject nothing."""
    parser = ParlaiParser(False, False)
    CringeGenerationsMutator.add_cmdline_args(parser)
    opt = parser.parse_args(["--cringe-generations", str(ROUND1), "--cringe-generations-rate", rate])
    with pytest.raises(ValueError, match="--cringe-generations-rate must be a"):
        CringeGenerationsMutator({**opt, "datatype": "train"})


def test_options_defaults_and_strings():
    assert generation_options({}) == gen.DEFAULTS
    options = generation_options({"cringe_generations_select": "False", "cringe_generations_balance": "true"})
    assert options["cringe_generations_select"] is False and options["cringe_generations_balance"] is True


class _RecordingOpt(dict):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.read = set()

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)


def test_flag_names_match_the_keys_read():
    parser = ParlaiParser(False, False)
    before = {a.dest for a in parser._actions}
    CringeGenerationsMutator.add_cmdline_args(parser, None)
    flags = {a.dest for a in parser._actions} - before
    opt = _RecordingOpt(datatype="train", cringe_generations=str(ROUND1))
    CringeGenerationsMutator(opt)
    assert flags == opt.read - {"datatype"}
    assert flags == set(gen.DEFAULTS)
    defaults = parser.parse_args([])
    assert {key: defaults.get(key) for key in gen.DEFAULTS} == gen.DEFAULTS
    parsed = parser.parse_args(
        [
            "--cringe-generations",
            "a.jsonl",
            "--cringe-generations-balance",
            "false",
            "--cringe-generations-select",
            "false",
            "--cringe-generations-empty-side",
            "keep",
        ]
    )
    assert parsed["cringe_generations"] == "a.jsonl" and parsed["cringe_generations_balance"] is False
    assert parsed["cringe_generations_select"] is False and parsed["cringe_generations_empty_side"] == "keep"


def test_parser_rejects_an_unknown_empty_side(capsys):
    parser = ParlaiParser(False, False)
    CringeGenerationsMutator.add_cmdline_args(parser, None)
    with pytest.raises(SystemExit):
        parser.parse_args(["--cringe-generations-empty-side", "drop"])
    assert "invalid choice: 'drop'" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------------------------
# the mutator


def _episodes(n):
    return [Message({"text": f"t{i}", "labels": [f"l{i}"], "episode_done": True}) for i in range(n)]


def _run(mutator, messages):
    return list(mutator(messages))


def test_mutator_injects_each_selected_generation_once_per_pass():
    mutator = CringeGenerationsMutator({"datatype": "train", "cringe_generations": str(ROUND1)})
    selected = len(mutator.selection)
    assert selected == 6
    out = _run(mutator, _episodes(2 * selected))
    injected = [m for m in out if m.get("source") == "generations"]
    originals = [m for m in out if "source" not in m]
    assert [m["text"] for m in originals] == [f"t{i}" for i in range(2 * selected)]
    assert len(injected) == 2 * selected  # rate 1.0: one after each episode
    assert all(m["episode_done"] for m in out)
    first_pass = Counter((m["text"], m["labels"][0]) for m in injected[:selected])
    expected = Counter((r["context"], r["text"]) for r in mutator.selection)
    assert first_pass == expected
    for m in injected:
        row = next(r for r in mutator.selection if r["context"] == m["text"] and r["text"] == m["labels"][0])
        assert m["classifier_label"] == row["label"]


def test_mutator_rate_and_eval_passthrough():
    opt = {"datatype": "train:stream", "cringe_generations": str(ROUND1), "cringe_generations_rate": 0.25}
    out = _run(CringeGenerationsMutator(opt), _episodes(12))
    assert sum(m.get("source") == "generations" for m in out) == 3
    for datatype in ("valid", "test", "train:evalmode"):
        mutator = CringeGenerationsMutator({"datatype": datatype})  # no file needed outside training
        assert [m["text"] for m in _run(mutator, _episodes(4))] == ["t0", "t1", "t2", "t3"]


def test_mutator_rate_zero_injects_nothing():
    opt = {"datatype": "train", "cringe_generations": str(ROUND1), "cringe_generations_rate": 0.0}
    assert [m["text"] for m in _run(CringeGenerationsMutator(opt), _episodes(3))] == ["t0", "t1", "t2"]


def test_mutator_needs_files_in_training():
    with pytest.raises(ValueError, match="no generations file given"):
        CringeGenerationsMutator({"datatype": "train"})


def test_mutator_reads_a_selection_file_as_it_is():
    opt = {"datatype": "train", "cringe_generations": str(ROUND1), "cringe_generations_select": False}
    mutator = CringeGenerationsMutator(opt)
    assert mutator.selection == _rows()  # 10 rows: no balance, all four "i don't know" kept
    injected = [m for m in _run(mutator, _episodes(10)) if m.get("source") == "generations"]
    shown = Counter((m["text"], m["labels"][0]) for m in injected)
    assert shown == Counter((r["context"], r["text"]) for r in _rows())


def test_mutator_with_an_empty_selection_file_injects_nothing(tmp_path, parlai_warnings):
    empty = tmp_path / "selection.jsonl"
    empty.write_text("\n", encoding="utf-8")
    opt = {"datatype": "train", "cringe_generations": str(empty), "cringe_generations_select": False}
    mutator = CringeGenerationsMutator(opt)
    assert [m["text"] for m in _run(mutator, _episodes(3))] == ["t0", "t1", "t2"]
    assert any("hold no rows" in w for w in parlai_warnings)
    assert any("no generations to inject" in w for w in parlai_warnings)


def test_mutator_empty_side_skip_and_keep(parlai_warnings):
    opt = {"datatype": "train", "cringe_generations": str(NO_NEGATIVES)}
    assert [m["text"] for m in _run(CringeGenerationsMutator(opt), _episodes(3))] == ["t0", "t1", "t2"]
    assert any("no generations to inject" in w for w in parlai_warnings)
    keep = CringeGenerationsMutator({**opt, "cringe_generations_empty_side": "keep"})
    assert sum(m.get("source") == "generations" for m in _run(keep, _episodes(3))) == 3


def test_injection_through_a_parlai_teacher(capsys, tmp_path):
    """ParlAI's own integration_tests teacher, our mutator named in the task string, shown by display_data.

    This works in a process that has imported ``cringe_agent.mutators`` before the teacher is built (here, this
    test module); the tests at the end of this file start a fresh ``parlai`` process.
    """
    from parlai.scripts.display_data import DisplayData

    task = f"integration_tests:mutators=cringe_generations:cringe_generations={ROUND1}:cringe_generations_rate=0.5"
    DisplayData.main(task=task, num_examples=12, display_add_fields="classifier_label,source", datapath=str(tmp_path))
    out = capsys.readouterr().out
    assert out.count("[source]: generations") == 4  # one after every second of 8 task episodes
    contexts = {r["context"].split("\n")[0] for r in _rows()}  # display shows line 1 first
    shown = [line.split("]: ", 1)[1] for line in out.splitlines() if line.startswith("[integration_tests]: ")]
    assert sum(text in contexts for text in shown) == 4


# ---------------------------------------------------------------------------------------------------------------
# the generations teacher (tasks.generations): options shared with the mutator


def _teacher(args):
    from parlai.core.teachers import create_task_agent_from_taskname

    return create_task_agent_from_taskname(ParlaiParser(True, False).parse_args(args))[0]


def _teacher_epoch(teacher):
    acts = []
    while True:
        acts.append(teacher.act())
        if teacher.epoch_done():
            return acts


def test_generations_teacher_serves_a_selection_file_as_it_is(tmp_path):
    args = ["-t", "tasks.generations.agents", "--cringe-generations", str(ROUND1), "-dp", str(tmp_path)]
    teacher = _teacher([*args, "-dt", "train:ordered", "--cringe-generations-select", "false"])
    acts = _teacher_epoch(teacher)
    assert [(a["text"], a["labels"][0], a["classifier_label"]) for a in acts] == [
        (r["context"], r["text"], r["label"]) for r in _rows()
    ]


def test_generations_teacher_with_nothing_to_serve_says_so(tmp_path):
    args = ["-t", "tasks.generations.agents", "-dt", "train", "-dp", str(tmp_path)]
    with pytest.raises(ValueError, match="no generations to serve"):
        _teacher([*args, "--cringe-generations", str(NO_NEGATIVES)])  # empty_side skip
    empty = tmp_path / "selection.jsonl"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(ValueError, match="no generations to serve"):
        _teacher([*args, "--cringe-generations", str(empty), "--cringe-generations-select", "false"])


# ---------------------------------------------------------------------------------------------------------------
# routes through ParlAI: a fresh `parlai` process, as on the command line


def _blocks(out: str) -> list[str]:
    """The examples that display_data printed, one string each."""
    return [block for block in out.split("~~") if "[labels]: " in block]


def _field(block: str, name: str) -> str | None:
    found = re.search(rf"^\[{re.escape(name)}\]: (.*)$", block, flags=re.MULTILINE)
    return found.group(1) if found else None


def _parlai(args: list[str], tmp_path: Path, pythonpath: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(pythonpath), env.get("PYTHONPATH")) if p)
    return subprocess.run(
        [sys.executable, "-m", "parlai", *args, "-dp", str(tmp_path / "data")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _display_with_mutator(task: str, model: str = CRINGE_AGENT) -> list[str]:
    """``parlai display_data -m MODEL -t TASK --mutators cringe_generations``: the fixture, rate 0.5, 6 examples."""
    return [
        "display_data",
        "-m",
        model,
        "-t",
        task,
        "--mutators",
        "cringe_generations",
        "--cringe-generations",
        str(ROUND1),
        "--cringe-generations-rate",
        "0.5",
        "-n",
        "6",
        "--display-add-fields",
        "classifier_label,source",
    ]


def _assert_every_second_episode_injected(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, result.stderr[-3000:]
    blocks = _blocks(result.stdout)
    assert len(blocks) == 6
    injected = [b for b in blocks if _field(b, "source") == "generations"]
    assert len(injected) == 2  # rate 0.5: after the 2nd and the 4th task episode
    labels = _reply_labels()
    for block in injected:
        assert _field(block, "classifier_label") == labels[_field(block, "labels")]


def test_stock_task_multitask_with_generations_teacher(capsys, tmp_path):
    """The ParlAI-native route for a stock task, with any model: multitask it with the generations teacher."""
    from parlai.scripts.display_data import DisplayData

    DisplayData.main(
        model=CRINGE_AGENT,
        task="integration_tests,tasks.generations.agents",
        cringe_generations=str(ROUND1),
        multitask_weights=[1, 1],
        datatype="train",
        num_examples=40,
        display_add_fields="classifier_label,source",
        datapath=str(tmp_path),
    )
    blocks = _blocks(capsys.readouterr().out)
    assert len(blocks) == 40
    stock = [b for b in blocks if "[world 0:integration_tests]" in b]
    generated = [b for b in blocks if "[world 1:generations]" in b]
    assert stock and generated and len(stock) + len(generated) == 40
    assert all(_field(b, "classifier_label") is None and _field(b, "integration_tests") for b in stock)
    labels = _reply_labels()
    selected = {r["text"] for r in select_generations(_rows())}
    for block in generated:
        reply = _field(block, "labels")
        assert reply in selected
        assert _field(block, "source") == "generations"
        assert _field(block, "classifier_label") == labels[reply]
    assert {_field(b, "classifier_label") for b in generated} == {"pos", "neg"}


@pytest.mark.integration
def test_project_task_with_mutators_flag(tmp_path):
    """A task of this project: its module registers the mutator when ParlAI loads it."""
    args = [*_display_with_mutator("tasks.chitchat.agents"), "--chitchat-label-classifier", "none"]
    _assert_every_second_episode_injected(_parlai([*args, "--chitchat-max-examples", "50"], tmp_path))


@pytest.mark.integration
def test_stock_task_beside_a_project_task_with_mutators_flag(tmp_path):
    """Stock task first: our task module is imported in the first parse pass, before --mutators is resolved."""
    result = _parlai(_display_with_mutator("integration_tests,tasks.generations.agents"), tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    stock = [b for b in _blocks(result.stdout) if "[world 0:integration_tests]" in b]
    assert [_field(b, "source") for b in stock][:3] == [None, None, "generations"]  # injected into the stock task


@pytest.mark.integration
def test_stock_task_with_a_model_module_that_registers_the_mutator(tmp_path):
    """``-m`` modules are imported in the first parse pass (core/params.py:945-948); --mutators in the second."""
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "my_cringe_model.py").write_text(
        "import cringe_agent.mutators  # noqa: F401\n"
        "from cringe_agent.agents.transformer import CringeTransformerGeneratorAgent  # noqa: F401\n",
        encoding="utf-8",
    )
    args = _display_with_mutator("integration_tests", model="my_cringe_model:CringeTransformerGeneratorAgent")
    _assert_every_second_episode_injected(_parlai(args, tmp_path, pythonpath=folder))


@pytest.mark.integration
def test_stock_task_with_the_cringe_agent_and_mutators_flag(tmp_path):
    """The command of the brief: ``-m <the CRINGE agent> -t integration_tests --mutators cringe_generations``."""
    result = _parlai(_display_with_mutator("integration_tests"), tmp_path)
    assert "KeyError: 'cringe_generations'" not in result.stderr
    _assert_every_second_episode_injected(result)


@pytest.mark.integration
def test_stock_task_with_a_parlai_internal_mutators_module(tmp_path):
    """The hook ParlAI scans for a user's private code: parlai_internal/mutators/*.py (core/mutators.py:41-49)."""
    folder = tmp_path / "internal" / "parlai_internal" / "mutators"
    folder.mkdir(parents=True)
    (folder.parent / "__init__.py").write_text("", encoding="utf-8")
    (folder / "__init__.py").write_text("", encoding="utf-8")
    (folder / "cringe.py").write_text("import cringe_agent.mutators  # noqa: F401\n", encoding="utf-8")
    args = _display_with_mutator("integration_tests", model="transformer/generator")
    _assert_every_second_episode_injected(_parlai(args, tmp_path, pythonpath=tmp_path / "internal"))
