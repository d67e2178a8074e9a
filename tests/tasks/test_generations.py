"""The generations teacher: the same selection as the mutator, through ParlAI."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from cringe_agent.mutators.generations import read_generations, select_generations

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "generations"
ROUND1 = FIXTURES / "round1.jsonl"
TASK = "tasks.generations.agents:GenerationsTeacher"


def _teacher(args):
    from parlai.core.params import ParlaiParser
    from parlai.core.teachers import create_task_agent_from_taskname

    opt = ParlaiParser(True, False).parse_args(args)
    return create_task_agent_from_taskname(opt)[0]


def _epoch(teacher):
    acts = []
    while True:
        acts.append(teacher.act())
        if teacher.epoch_done():
            return acts


@pytest.mark.parametrize("datatype", ["train:ordered", "train:stream:ordered", "valid", "test:stream"])
def test_teacher_serves_the_selection(datatype, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    teacher = _teacher(["-t", TASK, "--cringe-generations", str(ROUND1), "-dt", datatype, "-dp", str(tmp_path)])
    acts = _epoch(teacher)
    expected = select_generations(read_generations(str(ROUND1)))
    assert teacher.num_examples() == len(acts) == len(expected) == 6
    labels_key = "labels" if datatype.startswith("train") else "eval_labels"
    got = [(a["text"], a[labels_key][0], a["classifier_label"], a["source"], a["episode_done"]) for a in acts]
    assert got == [(r["context"], r["text"], r["label"], "generations", True) for r in expected]
    assert list(tmp_path.iterdir()) == []  # no stream ".lengths" file anywhere near


def test_teacher_options_reach_the_selection(tmp_path):
    args = ["-t", TASK, "--cringe-generations", str(ROUND1), "-dt", "train:ordered", "-dp", str(tmp_path)]
    unbalanced = _epoch(_teacher([*args, "--cringe-generations-balance", "false"]))
    assert Counter(a["classifier_label"] for a in unbalanced) == {"pos": 5, "neg": 3}
    no_limit = _teacher([*args, "--cringe-generations-balance", "false", "--cringe-generations-max-pos-copies", "0"])
    assert no_limit.num_examples() == 10


def test_teacher_needs_files(tmp_path):
    with pytest.raises(ValueError, match="needs --cringe-generations"):
        _teacher(["-t", TASK, "-dt", "train", "-dp", str(tmp_path)])


def test_display_data_default_teacher(capsys, tmp_path):
    from parlai.scripts.display_data import DisplayData

    DisplayData.main(
        task="tasks.generations.agents",
        cringe_generations=str(ROUND1),
        num_examples=6,
        display_add_fields="classifier_label,source",
        datapath=str(tmp_path),
    )
    out = capsys.readouterr().out
    assert out.count("[source]: generations") == 6
    assert out.count("[classifier_label]: neg") == 3
