"""Generations files: reading, selection (balance, repeated positives), the cringe_generations mutator."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from parlai.core.message import Message
from parlai.core.params import ParlaiParser

from cringe_agent.mutators import generations as gen
from cringe_agent.mutators.generations import (
    CringeGenerationsMutator,
    read_generations,
    select_generations,
    to_message,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "generations"
ROUND1 = FIXTURES / "round1.jsonl"  # 3 neg; 7 pos of which 4 are the same "i don't know"


def _rows():
    return read_generations(str(ROUND1))


def test_read_fixture():
    rows = _rows()
    assert len(rows) == 10
    assert Counter(r["label"] for r in rows) == {"neg": 3, "pos": 7}


def test_balance_keeps_every_negative_and_as_many_positives():
    rows = _rows()
    sel = select_generations(rows, seed=0)
    labels = Counter(r["label"] for r in sel)
    assert labels == {"neg": 3, "pos": 3}
    assert [r for r in rows if r["label"] == "neg"] == sorted(
        (r for r in sel if r["label"] == "neg"), key=lambda r: rows.index(r)
    )
    assert all(r in rows for r in sel)  # context, text, prob, label, gold, round kept together


def test_repeated_positives_kept_at_most_twice():
    rows = _rows()
    sel = select_generations(rows, balance=False, max_pos_copies=2)
    texts = Counter(r["text"] for r in sel if r["label"] == "pos")
    assert texts["i don't know"] == 2
    assert sum(texts.values()) == 5  # 7 positives, 2 repeats of "i don't know" dropped
    assert len(select_generations(rows, balance=False, max_pos_copies=0)) == 10
    assert Counter(r["text"] for r in select_generations(rows, balance=False, max_pos_copies=1))["i don't know"] == 1


def test_dropped_repeats_are_chosen_by_seed():
    rows = _rows()
    kept_contexts = {
        frozenset(r["context"] for r in select_generations(rows, balance=False, seed=s) if r["text"] == "i don't know")
        for s in range(10)
    }
    assert len(kept_contexts) > 1


def test_selection_is_deterministic():
    rows = _rows()
    assert select_generations(rows, seed=3) == select_generations(rows, seed=3)
    orders = {tuple(r["text"] for r in select_generations(rows, seed=s)) for s in range(5)}
    assert len(orders) > 1


def test_empty_set_is_an_error():
    with pytest.raises(ValueError, match="no generations"):
        select_generations([])


def test_bad_rows_given_directly_are_errors():
    with pytest.raises(ValueError, match="generation 1 needs"):
        select_generations([{"text": "a", "label": "neg"}, {"text": "b", "label": "bad"}])


def test_no_negatives_is_logged_and_positives_kept(monkeypatch):
    warnings = []
    monkeypatch.setattr(gen.logging, "warning", warnings.append)
    sel = select_generations(read_generations(str(FIXTURES / "no_negatives.jsonl")))
    assert Counter(r["text"] for r in sel) == {"hi": 1, "fine": 2}
    assert len(warnings) == 1 and "0 negatives" in warnings[0]


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
    assert len(read_generations(f"{ROUND1}, {FIXTURES / 'no_negatives.jsonl'}")) == 14


def test_to_message():
    row = {"context": "hi\nhow are you?", "text": "shut up", "prob": 0.9, "label": "neg", "round": 2}
    msg = to_message(row)
    assert msg["text"] == "hi\nhow are you?"
    assert msg["labels"] == ["shut up"]
    assert msg["classifier_label"] == "neg"
    assert msg["source"] == "generations"
    assert msg["round"] == 2 and "gold" not in msg


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
    parsed = parser.parse_args(["--cringe-generations", "a.jsonl", "--cringe-generations-balance", "false"])
    assert parsed["cringe_generations"] == "a.jsonl" and parsed["cringe_generations_balance"] is False


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


def test_mutator_needs_files_in_training():
    with pytest.raises(ValueError, match="no generations file given"):
        CringeGenerationsMutator({"datatype": "train"})


def test_injection_through_a_parlai_teacher(capsys, tmp_path):
    """ParlAI's own integration_tests teacher, our mutator named in the task string, shown by display_data."""
    from parlai.scripts.display_data import DisplayData

    task = f"integration_tests:mutators=cringe_generations:cringe_generations={ROUND1}:cringe_generations_rate=0.5"
    DisplayData.main(task=task, num_examples=12, display_add_fields="classifier_label,source", datapath=str(tmp_path))
    out = capsys.readouterr().out
    assert out.count("[source]: generations") == 4  # one after every second of 8 task episodes
    contexts = {r["context"].split("\n")[0] for r in read_generations(str(ROUND1))}  # display shows line 1 first
    shown = [line.split("]: ", 1)[1] for line in out.splitlines() if line.startswith("[integration_tests]: ")]
    assert sum(text in contexts for text in shown) == 4
