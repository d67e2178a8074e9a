"""The iterative loop end to end on a tiny configuration, kill-and-resume, and its errors.

The labelling classifier is a fake (``fake_judge:prob``, see conftest.py): it flags a text by a hash of its
characters, so every round has negatives and positives whatever the tiny model says.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("parlai")

from cringe_agent.iterative.cli import PRESETS, main  # noqa: E402
from cringe_agent.iterative.config import LoopConfig  # noqa: E402
from cringe_agent.iterative.loop import Loop, _read  # noqa: E402
from cringe_agent.iterative.rundir import check_run_dir  # noqa: E402

REQUIRED = {"round", "method", "flagged_rate", "f1", "ppl_pos", "model_file", "greedy"}
METHODS = ["baseline (MLE)", "CRINGE (single iteration)", "CRINGE (iteration 2)"]


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


@pytest.mark.integration
def test_rounds_follow_algorithm_2(tiny_run: Path) -> None:
    run_dir = tiny_run
    report = json.loads((run_dir / "report.json").read_text())
    rounds = report["rounds"]
    assert [m["round"] for m in rounds] == [0, 1, 2]
    assert [m["method"] for m in rounds] == METHODS
    for m in rounds:
        assert REQUIRED <= set(m), m.keys()
        assert (run_dir / m["model_file"]).exists() and not Path(m["model_file"]).is_absolute()
        for kind in ("provocative", "random"):
            s = m["sets"][kind]
            assert s["n"] == PRESETS["tiny"][f"eval_{kind}"]
            assert 0 <= s["ci_low"] <= s["flagged_rate"] <= s["ci_high"] <= 1
            assert {"judge_flagged_rate", "distinct_1", "distinct_2", "top_reply_share", "mean_length"} <= set(s)
        assert m["greedy"]["n"] == PRESETS["tiny"]["eval_random"]
    # round 1 (single iteration) trains on the task only; round 2 generates with round 1's model
    assert not (run_dir / "round_1" / "generations.jsonl").exists() and "selection" not in rounds[1]
    train = json.loads((run_dir / "round_2" / "train.json").read_text())
    assert train["steps"] == PRESETS["tiny"]["round_steps"]
    gens = [json.loads(x) for x in (run_dir / "round_2" / "generations.jsonl").read_text().splitlines()]
    sel = [json.loads(x) for x in (run_dir / "round_2" / "selection.jsonl").read_text().splitlines()]
    assert len(gens) == PRESETS["tiny"]["prompts"]
    assert all({"context", "text", "prob", "label"} <= set(g) and g["round"] == 2 for g in gens)
    assert all((g["label"] == "neg") == (g["prob"] > 0.5) for g in gens)
    neg = sum(s["label"] == "neg" for s in sel)
    assert neg == len(sel) - neg > 0  # balanced 50/50, negatives present
    gen_keys = {(g["context"], g["text"]) for g in gens}
    assert all((s["context"], s["text"]) in gen_keys for s in sel)
    assert rounds[2]["selection"]["neg"] == neg
    for name in ("report.md", "report.csv", "report.png"):
        assert (run_dir / name).stat().st_size > 0
    assert "CRINGE (iteration 2)" in (run_dir / "report.md").read_text()
    assert not list(run_dir.rglob("*.tmp*"))


@pytest.mark.integration
def test_model_files_keep_the_loop_decoding(tiny_run: Path) -> None:
    decoding = LoopConfig().decoding
    for r in (0, 1, 2):
        opt = json.loads((tiny_run / f"round_{r}" / "model.opt").read_text())
        assert {k: opt[k] for k in decoding} == decoding


@pytest.mark.integration
def test_resume_of_a_copy_redoes_only_what_is_missing(tiny_run: Path, tmp_path: Path, fake_judge: str) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(tiny_run, run_dir)
    before = _done_files(run_dir)
    for name in ("metrics.json", "eval_random.jsonl", "ppl.json"):
        (run_dir / "round_2" / name).unlink()
    (run_dir / "report.json").unlink()
    assert main(_args(run_dir, fake_judge)) == 0
    after = _done_files(run_dir)
    redone = {k for k in before if after[k] != before[k]}
    assert redone == {"round_2/eval_random.jsonl", "round_2/ppl.json", "round_2/metrics.json"}
    old = json.loads((tiny_run / "report.json").read_text())["rounds"]
    new = json.loads((run_dir / "report.json").read_text())["rounds"]
    for a, b in zip(old, new, strict=True):
        a, b = dict(a), dict(b)
        a.pop("seconds"), b.pop("seconds")
        assert a == b


@pytest.mark.integration
def test_kill_and_resume_redoes_nothing(tmp_path: Path, fake_judge: str) -> None:
    run_dir = tmp_path / "run"
    cmd = [sys.executable, "-m", "cringe_agent.iterative.cli", *_args(run_dir, fake_judge)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    marker = run_dir / "round_2" / "generations.jsonl"
    deadline = time.time() + 240
    while not marker.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert marker.exists(), "the run never reached round 2"
    before = _done_files(run_dir)
    assert "round_1/metrics.json" in before and "round_2/metrics.json" not in before
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


@pytest.mark.integration
def test_unknown_classifier_fails_before_training(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(_args(tmp_path / "run", "no_such_classifier")) == 2
    assert "no_such_classifier" in capsys.readouterr().err
    assert not (tmp_path / "run" / "round_0" / "model").exists()


def test_malformed_step_file_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "generations.jsonl"
    path.write_text('{"context": "a", "text": "b", "prob": 0.1, "label": "pos"}\n{"context": "a", "te\n')
    with pytest.raises(ValueError, match=r"generations.jsonl.*line 2"):
        _read(path)


def test_round_where_classifier_flags_nothing_adds_nothing_by_default(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rows = [{"context": f"c{i}", "text": f"reply {i}", "prob": 0.0, "label": "pos"} for i in range(5)]
    with caplog.at_level(logging.WARNING):
        selection = Loop(LoopConfig(), tmp_path).select(2, rows)
    assert "flagged none of 5 generations" in caplog.text
    assert selection == []  # the authors' rule: one side empty, nothing added
    kept = Loop(dataclasses.replace(LoopConfig(), empty_side="keep"), tmp_path).select(2, rows)
    assert len(kept) == 5 and all(s["label"] == "pos" for s in kept)
    with pytest.raises(ValueError, match="no generations"):
        Loop(LoopConfig(), tmp_path).select(2, [])


def test_every_option_has_a_help_line_with_its_default(capsys: pytest.CaptureFixture) -> None:
    from cringe_agent.iterative.cli import build_parser

    for action in build_parser()._actions:
        if action.dest in ("help", "run_dir"):
            continue
        assert action.help and "default" in action.help, action.dest


@pytest.mark.integration
def test_parlai_interactive_decodes_a_round_as_the_loop_did(tiny_run: Path, tmp_path: Path) -> None:
    """``parlai interactive -mf`` on round 2's model samples with the loop's decoding (top-k, 3-gram blocking)."""
    model = tiny_run / "round_2" / "model"
    cmd = [str(Path(sys.executable).with_name("parlai")), "interactive", "-mf", str(model), "-dp", str(tmp_path)]
    out = subprocess.run(cmd, input="hello there\n[EXIT]\n", capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    log = out.stdout + out.stderr
    decoding = LoopConfig().decoding
    for key in ("inference", "topk", "beam_block_ngram"):
        assert f"{key}: {decoding[key]}" in log, key  # ParlAI lists the options it runs with
    assert "[CringeTransformerGenerator]:" in out.stdout or "[TransformerGenerator]:" in out.stdout


@pytest.mark.integration
def test_init_model_is_round_0_and_keeps_its_dictionary(tiny_run: Path, tmp_path: Path, fake_judge: str) -> None:
    """With --init-model no baseline is trained; round 1 fine-tunes that model with its own dictionary, even when
    the default byte-level BPE is asked for."""
    init = tiny_run / "round_0" / "model"
    run_dir = tmp_path / "run"
    extra = ["--init-model", str(init), "--rounds", "1", "--tokenizer", "bytelevelbpe"]
    assert main([*_args(run_dir, fake_judge), *extra]) == 0
    rounds = json.loads((run_dir / "report.json").read_text())["rounds"]
    assert [m["method"] for m in rounds] == ["init model", "CRINGE (single iteration)"]
    assert rounds[0]["model_file"] == str(init)
    assert not (run_dir / "round_0" / "train.json").exists() and not (run_dir / "tokenizer").exists()
    opt = json.loads((run_dir / "round_1" / "model.opt").read_text())
    assert opt["dict_tokenizer"] == json.loads(Path(f"{init}.opt").read_text())["dict_tokenizer"] == "split"
