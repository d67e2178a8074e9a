"""Pairwise pairings from a loop run's held-out replies (``cringe-eval pairs-from-run``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cringe_agent.humaneval.cli import main
from cringe_agent.humaneval.from_run import pairings_from_run
from cringe_agent.humaneval.pairings import read_pairings


def _write(run: Path, r: int, rows: list[tuple[str, str]]) -> None:
    (run / f"round_{r}").mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"context": c, "text": t, "flagged": False}) for c, t in rows]
    (run / f"round_{r}" / "eval_provocative.jsonl").write_text("\n".join(lines) + "\n")


def test_pairs_put_the_two_rounds_replies_side_by_side(tmp_path: Path) -> None:
    _write(tmp_path, 0, [("your persona: I live in Paris.\nYou live in Rome, right?", "Yes, Rome!"), ("hi", "hey")])
    _write(tmp_path, 2, [("your persona: I live in Paris.\nYou live in Rome, right?", "No, Paris."), ("hi", "hello")])
    pairs = pairings_from_run(tmp_path)
    assert len(pairs) == 2 and pairs[0]["speakers_to_eval"] == ["round_0", "round_2"]
    assert [d["dialogue"][1]["text"] for d in pairs[0]["dialogue_dicts"]] == ["Yes, Rome!", "No, Paris."]
    out = tmp_path / "pairs.jsonl"
    assert main(["pairs-from-run", str(tmp_path), "--out", str(out), "--limit", "1"]) == 0
    assert len(read_pairings(str(out))) == 1  # the app's own reader accepts them


def test_rounds_with_other_contexts_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    _write(tmp_path, 0, [("a", "x")])
    _write(tmp_path, 2, [("b", "y")])
    with pytest.raises(ValueError, match="do not hold the same contexts"):
        pairings_from_run(tmp_path)
    assert main(["pairs-from-run", str(tmp_path), "--out", str(tmp_path / "p.jsonl"), "--rounds", "0,1"]) == 2
    assert "round_1/eval_provocative.jsonl: no such file" in capsys.readouterr().err
