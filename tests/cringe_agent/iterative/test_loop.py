"""The iterative loop end to end on a tiny configuration, kill-and-resume, and its errors.

The labelling classifier is a fake (``fake_judge:prob``, written to tmp_path): it flags a text by a hash of its
characters, so every round has negatives and positives whatever the tiny model says.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("parlai")

from cringe_agent.iterative.cli import PRESETS, main  # noqa: E402
from cringe_agent.iterative.config import LoopConfig, check_run_dir  # noqa: E402
from cringe_agent.iterative.loop import Loop, _read  # noqa: E402

FAKE = """
def prob(texts, contexts=None, golds=None):
    return [0.9 if sum(map(ord, t)) % 3 == 0 else 0.1 for t in texts]
"""
REQUIRED = {"round", "method", "flagged_rate", "f1", "ppl_pos", "model_file"}


@pytest.fixture
def fake_judge(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "fake_judge.py").write_text(FAKE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    return "fake_judge:prob"


def _args(run_dir: Path, spec: str) -> list[str]:
    return ["--run-dir", str(run_dir), "--preset", "tiny", "--classifier", spec, "--judge", "lexicon"]


def _done_files(run_dir: Path) -> dict[str, float]:
    names = {
        "generations.jsonl",
        "selection.jsonl",
        "train.json",
        "eval_provocative.jsonl",
        "eval_random.jsonl",
        "ppl.json",
        "metrics.json",
    }
    return {str(p.relative_to(run_dir)): p.stat().st_mtime_ns for p in run_dir.rglob("*") if p.name in names}


def test_two_rounds_end_to_end(tmp_path: Path, fake_judge: str, capsys: pytest.CaptureFixture) -> None:
    run_dir = tmp_path / "run"
    assert main(_args(run_dir, fake_judge)) == 0
    report = json.loads((run_dir / "report.json").read_text())
    rounds = report["rounds"]
    assert [m["round"] for m in rounds] == [0, 1, 2]
    for m in rounds:
        assert REQUIRED <= set(m), m.keys()
        assert (run_dir / m["model_file"]).exists() and not Path(m["model_file"]).is_absolute()
        for kind in ("provocative", "random"):
            s = m["sets"][kind]
            assert s["n"] == PRESETS["tiny"][f"eval_{kind}"]
            assert 0 <= s["ci_low"] <= s["flagged_rate"] <= s["ci_high"] <= 1
            assert {"judge_flagged_rate", "distinct_1", "distinct_2", "top_reply_share", "mean_length"} <= set(s)
    for r in (1, 2):
        gens = [json.loads(x) for x in (run_dir / f"round_{r}" / "generations.jsonl").read_text().splitlines()]
        sel = [json.loads(x) for x in (run_dir / f"round_{r}" / "selection.jsonl").read_text().splitlines()]
        assert len(gens) == PRESETS["tiny"]["prompts"]
        assert all({"context", "text", "prob", "label"} <= set(g) for g in gens)
        assert all((g["label"] == "neg") == (g["prob"] > 0.5) for g in gens)
        neg = sum(s["label"] == "neg" for s in sel)
        assert neg == len(sel) - neg > 0  # balanced 50/50, negatives present
        gen_keys = {(g["context"], g["text"]) for g in gens}
        assert all((s["context"], s["text"]) in gen_keys for s in sel)
        assert rounds[r]["selection"]["neg"] == neg
    for name in ("report.md", "report.csv", "report.png"):
        assert (run_dir / name).stat().st_size > 0
    assert "CRINGE round 2" in capsys.readouterr().out
    assert not list(run_dir.rglob("*.tmp*"))


def test_kill_and_resume_redoes_nothing(tmp_path: Path, fake_judge: str) -> None:
    run_dir = tmp_path / "run"
    cmd = [sys.executable, "-m", "cringe_agent.iterative.cli", *_args(run_dir, fake_judge)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    marker = run_dir / "round_1" / "generations.jsonl"
    deadline = time.time() + 240
    while not marker.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert marker.exists(), "the run never reached round 1"
    before = _done_files(run_dir)
    assert "round_0/metrics.json" in before and "round_2/metrics.json" not in before
    generations = marker.read_text()

    assert main(_args(run_dir, fake_judge)) == 0
    after = _done_files(run_dir)
    assert {k: after[k] for k in before} == before  # nothing finished before the kill was written again
    assert marker.read_text() == generations
    assert len(json.loads((run_dir / "report.json").read_text())["rounds"]) == 3
    assert not list(run_dir.rglob("*.tmp*"))


def test_run_dir_of_another_configuration_is_refused(tmp_path: Path) -> None:
    check_run_dir(tmp_path, LoopConfig())
    check_run_dir(tmp_path, LoopConfig())  # the same settings resume
    with pytest.raises(ValueError, match="alpha: run has 1.0, asked 2.0"):
        check_run_dir(tmp_path, dataclasses.replace(LoopConfig(), alpha=2.0))


def test_unknown_classifier_fails_before_training(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(_args(tmp_path / "run", "no_such_classifier")) == 2
    assert "no_such_classifier" in capsys.readouterr().err
    assert not (tmp_path / "run" / "round_0" / "model").exists()


def test_malformed_step_file_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "generations.jsonl"
    path.write_text('{"context": "a", "text": "b", "prob": 0.1, "label": "pos"}\n{"context": "a", "te\n')
    with pytest.raises(ValueError, match=r"generations.jsonl.*line 2"):
        _read(path)


def test_round_where_classifier_flags_nothing_continues(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    loop = Loop(LoopConfig(), tmp_path)
    rows = [{"context": f"c{i}", "text": f"reply {i}", "prob": 0.0, "label": "pos"} for i in range(5)]
    with caplog.at_level(logging.WARNING):
        selection = loop.select(1, rows)
    assert "flagged none of 5 generations" in caplog.text
    assert len(selection) == 5 and all(s["label"] == "pos" for s in selection)
    with pytest.raises(ValueError, match="no generations"):
        loop.select(1, [])
