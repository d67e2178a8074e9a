"""Paired statistics against hand-computed values: McNemar's exact test and the two-level bootstrap."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cringe_agent.iterative.paired import bootstrap_diffs, compare_paired, mcnemar_exact


def test_mcnemar_exact_by_hand() -> None:
    # 1 vs 5 discordant pairs: P(X <= 1), X ~ Binomial(6, 1/2) = (1 + 6) / 64; two-sided: 14/64.
    assert mcnemar_exact(1, 5) == pytest.approx(14 / 64)
    assert mcnemar_exact(5, 1) == pytest.approx(14 / 64)
    assert mcnemar_exact(0, 0) == 1.0 and mcnemar_exact(3, 3) == 1.0
    assert mcnemar_exact(0, 10) == pytest.approx(2 / 1024)
    big = mcnemar_exact(400, 600)  # exact integers: no overflow for large counts
    assert 0 < big < 1e-9
    with pytest.raises(ValueError, match=">= 0"):
        mcnemar_exact(-1, 2)


def test_binary_pairs_count_discordance_and_take_mcnemar() -> None:
    values = {0: ([1, 1, 0, 0, 1], [0, 1, 0, 1, 0]), 1: ([0, 0, 1], [0, 1, 1])}
    result = compare_paired(values, binary=True, resamples=2000)
    assert (result.n, result.a_only, result.b_only) == (8, 2, 2)
    assert result.mean_a == pytest.approx(4 / 8) and result.mean_b == pytest.approx(4 / 8)
    assert result.diff == 0 and result.p_value == 1.0 and result.test == "mcnemar"
    assert result.ci_low <= 0 <= result.ci_high


def test_a_constant_difference_has_a_degenerate_interval_and_a_tiny_p() -> None:
    values = {s: ([0.5 + 0.1 * i for i in range(20)], [0.3 + 0.1 * i for i in range(20)]) for s in range(3)}
    result = compare_paired(values, binary=False, resamples=500)
    assert result.diff == pytest.approx(0.2)
    assert (result.ci_low, result.ci_high) == pytest.approx((0.2, 0.2))
    assert result.p_value == 0.0 and result.test == "bootstrap"


def test_the_bootstrap_draws_seeds_too_and_is_reproducible() -> None:
    # Seed 0 shows a large difference, seed 1 none: drawing seeds spreads the interval over both.
    values = {0: ([1.0] * 50, [0.0] * 50), 1: ([0.0] * 50, [0.0] * 50)}
    diffs = bootstrap_diffs(values, resamples=4000, seed=3)
    assert np.array_equal(diffs, bootstrap_diffs(values, resamples=4000, seed=3))
    assert set(np.round(diffs, 6)) == {0.0, 0.5, 1.0}  # both seeds, one of them twice, or the other twice
    assert math.isclose(float((diffs == 0.5).mean()), 0.5, abs_tol=0.05)


@pytest.mark.parametrize(
    ("values", "binary", "message"),
    [
        ({}, False, "no seeds"),
        ({0: ([1, 0], [1])}, True, "seed 0: paired values need equal lengths"),
        ({0: ([], [])}, True, "seed 0: no paired values"),
        ({2: ([1.0, float("nan")], [1.0, 0.0])}, False, "seed 2: paired values must be finite"),
        ({0: ([2, 0], [1, 0])}, True, "must be 0 or 1"),
    ],
)
def test_bad_pairs_are_refused(values, binary, message) -> None:
    with pytest.raises(ValueError, match=message):
        compare_paired(values, binary=binary, resamples=10)
