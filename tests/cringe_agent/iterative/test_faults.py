"""The loop under bad input and faults: values checked before any write, only its own files touched, one writer,
inputs that changed refused, and a run killed at every step boundary (and mid-training) resumed to the same report."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

pytest.importorskip("parlai")

import cringe_agent.iterative.loop as loop_module  # noqa: E402
from cringe_agent.iterative.cli import main  # noqa: E402

BAD_VALUES = [
    (["--rounds", "-1"], "--rounds must be an integer >= 0"),
    (["--baseline-steps", "0"], "--baseline-steps must be an integer >= 1"),
    (["--alpha", "nan"], "--alpha must be a finite number >= 0"),
    (["--k", "0"], "--k must be an integer >= 1"),
    (["--threshold", "2"], "--threshold must be a finite number in [0, 1)"),
    (["--max-pos-copies", "-1"], "--max-pos-copies must be an integer >= 0"),
    (["--generations-rate", "inf"], "--generations-rate must be a finite number >= 0"),
    (["--judge", "parlai:/missing/model"], "no ParlAI model at /missing/model"),
    (["--classifier", "no_such_module:fn"], "cannot import module 'no_such_module'"),
    (["--init-model", "/missing/model"], "--init-model /missing/model: no ParlAI model there"),
]


def _args(run_dir: Path, spec: str, *extra: str) -> list[str]:
    return ["--run-dir", str(run_dir), "--preset", "tiny", "--classifier", spec, "--judge", "lexicon", *extra]


def _report(run_dir: Path) -> list[dict]:
    """The rounds of a report, timings aside."""
    rounds = json.loads((run_dir / "report.json").read_text())["rounds"]
    return [{k: v for k, v in m.items() if k != "seconds"} for m in rounds]


def _files(run_dir: Path) -> dict[str, int]:
    return {str(p.relative_to(run_dir)): p.stat().st_mtime_ns for p in run_dir.rglob("*") if p.is_file()}


@pytest.fixture
def run_copy(tiny_run: Path, tmp_path: Path) -> Path:
    """A copy of the finished tiny run, to change."""
    shutil.copytree(tiny_run, tmp_path / "run")
    return tmp_path / "run"


@pytest.mark.parametrize(("extra", "message"), BAD_VALUES)
def test_bad_values_fail_before_any_write(extra, message, tmp_path, fake_judge, capsys) -> None:
    run_dir = tmp_path / "run"
    assert main(_args(run_dir, fake_judge, *extra)) == 2
    assert message in capsys.readouterr().err
    assert not run_dir.exists()  # nothing written: the corrected command starts a clean run


def test_a_judge_that_raises_fails_before_training(tmp_path, fake_judge, monkeypatch, capsys) -> None:
    (tmp_path / "broken_judge.py").write_text("def prob(texts, **_):\n    raise RuntimeError('judge offline')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    run_dir = tmp_path / "run"
    assert main(_args(run_dir, fake_judge, "--judge", "broken_judge:prob")) == 2
    err = capsys.readouterr().err
    assert "--judge cannot score a probe reply" in err and "judge offline" in err
    assert not run_dir.exists()


def test_run_dir_that_is_a_file_or_a_foreign_folder_is_refused(tmp_path, fake_judge, capsys) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    assert main(_args(a_file, fake_judge)) == 2
    assert "is a file, not a directory" in capsys.readouterr().err
    folder = tmp_path / "project"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / ".draft.tmp").write_text("mine")
    assert main(_args(folder, fake_judge)) == 2
    assert "holds no cringe-loop run" in capsys.readouterr().err
    assert (folder / "sub" / ".draft.tmp").read_text() == "mine" and len(list(folder.rglob("*"))) == 2


@pytest.mark.integration
def test_only_the_loops_own_unfinished_writes_are_removed(run_copy, fake_judge) -> None:
    users = [run_copy / "project" / "sub" / ".draft.tmp", run_copy / "round_1" / ".notes.tmp"]
    for path in users:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("mine")
    ours = [run_copy / ".report.json.x1y2.tmp", run_copy / "round_2" / ".eval_random.jsonl.abcd.tmp"]
    for path in ours:
        path.write_text("{")
    assert main(_args(run_copy, fake_judge)) == 0
    assert all(p.read_text() == "mine" for p in users)
    assert not any(p.exists() for p in ours)


@pytest.mark.integration
def test_a_finished_run_is_read_back_without_writing(run_copy, fake_judge, capsys) -> None:
    before = _files(run_copy)
    assert main(_args(run_copy, fake_judge)) == 0
    assert "CRINGE (iteration 2)" in capsys.readouterr().out
    assert _files(run_copy) == before  # no file rewritten, no lock left


@pytest.mark.integration
def test_a_second_loop_on_a_run_dir_in_use_is_refused(run_copy, fake_judge, capsys) -> None:
    holder = subprocess.Popen(["sleep", "60"])
    try:
        lock = {"pid": holder.pid, "host": socket.gethostname(), "started": "2026-01-01 00:00:00"}
        (run_copy / ".lock").write_text(json.dumps(lock))
        assert main(_args(run_copy, fake_judge)) == 2
        err = capsys.readouterr().err
        assert f"in use by process {holder.pid}" in err and "one cringe-loop per run directory" in err
    finally:
        holder.kill()
        holder.wait()
    assert main(_args(run_copy, fake_judge)) == 0  # the owner is dead now: its lock is taken over
    assert not (run_copy / ".lock").exists()


@pytest.mark.integration
def test_a_generations_file_cut_short_is_refused(run_copy, fake_judge, capsys) -> None:
    gens = run_copy / "round_2" / "generations.jsonl"
    gens.write_text("".join(gens.read_text().splitlines(keepends=True)[:10]))  # cut to whole lines
    (run_copy / "round_2" / "metrics.json").unlink()
    assert main(_args(run_copy, fake_judge)) == 2
    err = capsys.readouterr().err
    assert f"{gens} changed since its step wrote it" in err


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("config.json", '{"task": "tasks.chit', "config.json, line 1 column"),
        ("round_1/metrics.json", "not json", "metrics.json, line 1 column 1"),
        ("round_1/metrics.json", '{"round": 1}', "metrics.json: missing method"),
    ],
)
@pytest.mark.integration
def test_malformed_run_files_are_named(run_copy, fake_judge, capsys, name, content, message) -> None:
    (run_copy / name).write_text(content)
    if name.startswith("round_1"):
        (run_copy / "round_1" / "digests.json").unlink()  # as if written by hand: no digest to compare
    assert main(_args(run_copy, fake_judge)) == 2
    assert message in capsys.readouterr().err


class Killed(Exception):
    """Stands for a kill at a chosen point."""


@pytest.mark.integration
def test_killed_at_every_step_boundary_and_mid_training_resumes_to_the_same_report(
    tiny_run, tmp_path, fake_judge, monkeypatch
) -> None:
    """Kill after each step's file is written (before its digest and timing are recorded) and after each round's
    model is saved but before its training report: each resume must continue, and the final report must equal the
    uninterrupted run's field by field, timings aside."""
    real_write, real_train = loop_module._write, loop_module.train_round
    done: set[str] = set()

    def write_then_die(path: Path, value) -> None:
        real_write(path, value)
        key = f"write:{path.parent.name}/{path.name}"
        if key not in done:
            done.add(key)
            raise Killed(key)

    def train_then_die(**kwargs):
        report = real_train(**kwargs)
        key = f"train:{kwargs['model_file']}"
        if key not in done:
            done.add(key)
            raise Killed(key)  # the model files are saved; the report is not written
        return report

    monkeypatch.setattr(loop_module, "_write", write_then_die)
    monkeypatch.setattr(loop_module, "train_round", train_then_die)
    run_dir = tmp_path / "run"
    kills = 0
    while True:
        try:
            assert main(_args(run_dir, fake_judge)) == 0
            break
        except Killed:
            kills += 1
            assert kills < 100
    steps = 3 * 6 + 2  # per round: train, 3 evals, ppl, metrics; round 2 also generations and selection
    assert kills == steps + 3
    assert _report(run_dir) == _report(tiny_run)
