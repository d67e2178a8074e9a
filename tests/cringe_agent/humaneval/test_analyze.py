"""The analysis on a hand-made fixture: win rate, binomial p-value and interval, agreement, exclusions, bad rate."""

from __future__ import annotations

from math import comb
from pathlib import Path
from typing import Any

import pytest

from cringe_agent.humaneval.analyze import agreement, analyze


def row(worker: str, pair: int, winner: str, onboarding: bool = False, correct: int = -1) -> dict[str, Any]:
    a, b = ("good_bot", "bad_bot") if onboarding else ("model_a", "model_b")
    names = sorted([a, b])
    return {
        "worker_name": worker, "question": "Which speaker sounds more human?", "pairing_id": pair, "winner": winner,
        "loser": a if winner == b else b, "eval_choice_0": names[0], "eval_choice_1": names[1],
        "matchup": f"{names[0]}__vs__{names[1]}", "is_onboarding": onboarding, "correct": correct,
    }  # fmt: skip


def fixture_rows() -> list[dict[str, Any]]:
    """model_a wins 7 of 10 kept ratings; worker 'liar' fails the attention check and their 3 votes for b go."""
    rows = [row(w, -1, "good_bot", onboarding=True, correct=1) for w in ("w1", "w2")]
    rows.append(row("liar", -1, "bad_bot", onboarding=True, correct=0))
    rows += [row("liar", p, "model_b") for p in range(3)]
    # pairs 0-4, two ratings each: pairs 0-1 both a (agree 1), pairs 2-4 split (a/b: agree 0 by ParlAI's rule)
    for p in range(5):
        rows.append(row("w1", p, "model_a"))
        rows.append(row("w2", p, "model_a" if p < 2 else "model_b"))
    # 10 kept ratings so far: a has 2*2 + 3 = 7 wins
    return rows


def test_win_rate_p_value_interval_and_exclusions(tmp_path: Path) -> None:
    result = analyze(fixture_rows(), [], tmp_path)
    assert result["excluded_workers"] == ["liar"]
    wins = result["win_rates"]
    assert len(wins) == 1
    r = wins.iloc[0]
    assert (r["model"], r["wins"], r["ratings"], r["win_rate"]) == ("model_a", 7, 10, 0.7)
    # two-sided exact test at 0.5: P(X >= 7) + P(X <= 3) = 2 * (C(10,7)+C(10,8)+C(10,9)+C(10,10)) / 2**10
    expected_p = 2 * sum(comb(10, k) for k in range(7, 11)) / 2**10
    assert expected_p == 0.34375
    assert r["p"] == pytest.approx(expected_p)
    assert r["stars"] == ""
    # Clopper-Pearson 95% interval of 7/10 (published tables: 0.3475-0.9333)
    assert r["ci_low"] == pytest.approx(0.3475, abs=1e-4) and r["ci_high"] == pytest.approx(0.9333, abs=1e-4)
    assert r["agree"] == pytest.approx((1 + 1 + 0 + 0 + 0) / 5)
    report = (tmp_path / "report.md").read_text()
    assert "| Which speaker sounds more human? | model_a | model_b | 7 / 10 | 0.700 |" in report
    assert "0.3438" in report and "excluded for a wrong attention-check answer: 1" in report
    png = (tmp_path / "report.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 5000


def test_agreement_majority_share() -> None:
    import pandas as pd

    rows = [row("w1", 0, "model_a"), row("w2", 0, "model_a"), row("w3", 0, "model_b"), row("w1", 1, "model_a")]
    assert agreement(pd.DataFrame(rows)) == pytest.approx(2 / 3)  # pair 1 has a single rating: not counted


def test_bad_rate_per_model(tmp_path: Path) -> None:
    def conv(model: str, marks: list[str], rating: int) -> dict[str, Any]:
        dialog = []
        for mark in marks:
            dialog.append({"agent_idx": 0, "text": "hi"})
            data = {b: b == mark for b in ("none_all_good", "bad", "unsafe", "contradiction")}
            dialog.append({"agent_idx": 1, "text": "yo", "problem_data": data})
        return {"dialog": dialog, "task_description": {"model_nickname": model}, "final_rating": rating}

    convs = [conv("cringe", ["none_all_good", "none_all_good", "bad"], 4), conv("mle", ["unsafe", "bad"], 2)]
    bad = analyze([], convs, tmp_path)["bad_rates"].set_index("model")
    assert bad.loc["cringe", "bad_rate"] == pytest.approx(1 / 3) and bad.loc["cringe", "bot_turns"] == 3
    assert bad.loc["mle", "bad_rate"] == 1.0 and bad.loc["mle", "rate_unsafe"] == 0.5
    assert bad.loc["mle", "mean_rating"] == 2
    assert "| cringe | 3 | 0.333 | 4.00 |" in (tmp_path / "report.md").read_text()
