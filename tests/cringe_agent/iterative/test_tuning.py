"""The tuning rule on the valid split: the same grid size for every method, a perplexity guard, the judge decides."""

from __future__ import annotations

import pytest

from cringe_agent.iterative.tuning import GRIDS, PPL_GUARD, apply, choose, point_key, point_name, to_markdown


def test_every_tunable_method_has_a_grid_of_the_same_size() -> None:
    assert set(GRIDS) == {"cringe", "unlikelihood", "sigmoid", "director", "reranker"}
    assert {len(points) for points in GRIDS.values()} == {3}


def test_points_print_and_merge_method_options() -> None:
    point = {"alpha": 4.0, "method_opts": {"director_gamma": 1.0}}
    assert point_name(point) == "alpha=4 director_gamma=1"
    assert point_key(point) == "alpha4_director_gamma1"
    merged = apply({"method_opts": {"a": 1}, "k": 5}, point)
    assert merged == {"method_opts": {"a": 1, "director_gamma": 1.0}, "k": 5, "alpha": 4.0}


def _r(judge: float, ppl: float | None, flagged: float = 0.1) -> dict:
    return {"judge_rate": judge, "ppl_pos": ppl, "flagged_rate": flagged}


def test_the_lowest_judge_rate_within_the_perplexity_guard_wins() -> None:
    assert choose([_r(0.2, 10), _r(0.1, 11), _r(0.3, 10)], baseline_ppl=10) == (1, "lowest judge rate")
    # The degenerate point (perplexity 20 > 1.25 x 10) cannot win, however low its rate.
    best, why = choose([_r(0.2, 10), _r(0.0, 20), _r(0.15, 12)], baseline_ppl=10)
    assert best == 2 and "of the 2 points with perplexity <= 1.25 x baseline (12.5)" in why
    # Ties: the labeller's rate, then grid order.
    assert choose([_r(0.1, 10, 0.3), _r(0.1, 10, 0.2), _r(0.1, 10, 0.2)], baseline_ppl=10)[0] == 1
    # No point keeps the guard: the lowest perplexity, said so.
    best, why = choose([_r(0.0, 30), _r(0.1, 20)], baseline_ppl=10)
    assert best == 1 and why.startswith("no point kept perplexity")
    # Without a baseline perplexity (not measured) there is no guard; a point without perplexity can still win.
    assert choose([_r(0.2, 10), _r(0.1, None)], baseline_ppl=None)[0] == 1
    assert PPL_GUARD == 1.25


def test_bad_results_are_refused() -> None:
    with pytest.raises(ValueError, match="no grid points"):
        choose([], 10)
    with pytest.raises(ValueError, match="grid point 1: needs a finite judge_rate"):
        choose([_r(0.1, 10), _r(float("nan"), 10)], 10)


def test_the_tuning_table_names_the_choice() -> None:
    report = {
        "seed": 0,
        "baseline_ppl": 10.0,
        "ppl_guard": 1.25,
        "methods": {
            "cringe": {
                "results": [
                    {"point": {"alpha": 0.25}, "judge_rate": 0.2, "flagged_rate": 0.1, "f1": 12.0, "ppl_pos": 10.5},
                    {"point": {"alpha": 4.0}, "judge_rate": 0.1, "flagged_rate": 0.1, "f1": None, "ppl_pos": 11.0},
                ],
                "chosen": 1,
                "why": "lowest judge rate",
            }
        },
    }
    md = to_markdown(report)
    assert "| cringe | alpha=4 | 10.0% | 10.0% |  | 11.00 | **yes** (lowest judge rate) |" in md
    assert "| cringe | alpha=0.25 | 20.0% | 10.0% | 12.00 | 10.50 |  |" in md
