"""Paired statistics of two methods replying to the same held-out contexts: McNemar's exact test, a paired bootstrap.

Both methods of a comparison reply to the same contexts in each seed (the contexts are sampled with the seed, not
the method), so their verdicts pair up context by context. Two numbers per pair of methods:

- **McNemar's exact test** on binary verdicts (flagged or not) pooled over seeds: under the null hypothesis that
  both methods are flagged equally often, each discordant pair (one flagged, the other not) goes either way with
  probability 1/2, so the two-sided p-value is ``min(1, 2 * P(Binomial(b + c, 1/2) <= min(b, c)))``. It treats the
  trained models as fixed and asks whether their replies differ.
- **A two-level paired bootstrap** of the difference of means (a rate, or F1): resample the seeds with replacement,
  then the contexts within each drawn seed, and take the 2.5th and 97.5th percentiles of the mean difference. Drawing
  seeds too lets the interval carry the seed-to-seed spread of training, which McNemar's test leaves out. Its
  two-sided p-value is twice the smaller share of resampled differences on either side of zero (capped at 1).

Nothing here imports ParlAI or torch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

#: Bootstrap resamples; 10,000 puts the Monte Carlo error of a 95% interval's ends well below a tenth of a point.
RESAMPLES = 10_000


@dataclass(frozen=True)
class PairedResult:
    """One method against a reference on the same contexts.

    Attributes:
        n: Pairs (contexts over all seeds).
        mean_a: The method's mean (a rate in [0, 1], or F1).
        mean_b: The reference's mean.
        diff: ``mean_a - mean_b``.
        ci_low: The 2.5th percentile of the bootstrapped difference.
        ci_high: The 97.5th percentile.
        p_value: McNemar's exact p-value for binary values, else the bootstrap's.
        test: ``mcnemar`` or ``bootstrap``.
        a_only: Pairs where only the method is 1 (binary values; else 0).
        b_only: Pairs where only the reference is 1.
    """

    n: int
    mean_a: float
    mean_b: float
    diff: float
    ci_low: float
    ci_high: float
    p_value: float
    test: str
    a_only: int = 0
    b_only: int = 0

    def to_dict(self) -> dict[str, float | int | str]:
        return asdict(self)


def mcnemar_exact(a_only: int, b_only: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts (1.0 when there are none)."""
    if a_only < 0 or b_only < 0:
        raise ValueError(f"discordant counts must be >= 0, got {a_only} and {b_only}")
    n = a_only + b_only
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(a_only, b_only) + 1))  # exact integers, any n
    return min(1.0, 2 * tail / 2**n)


def _by_seed(values: Mapping[int, tuple[Sequence[float], Sequence[float]]]) -> list[tuple[np.ndarray, np.ndarray]]:
    out = []
    for seed, (a, b) in values.items():
        a_arr, b_arr = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        if a_arr.shape != b_arr.shape or a_arr.ndim != 1:
            raise ValueError(f"seed {seed}: paired values need equal lengths, got {len(a)} and {len(b)}")
        if len(a_arr) == 0:
            raise ValueError(f"seed {seed}: no paired values")
        if not (np.isfinite(a_arr).all() and np.isfinite(b_arr).all()):
            raise ValueError(f"seed {seed}: paired values must be finite numbers")
        out.append((a_arr, b_arr))
    if not out:
        raise ValueError("no seeds to pair")
    return out


def bootstrap_diffs(
    values: Mapping[int, tuple[Sequence[float], Sequence[float]]], resamples: int = RESAMPLES, seed: int = 0
) -> np.ndarray:
    """Mean differences ``a - b`` of ``resamples`` two-level resamples (seeds, then contexts within each seed)."""
    groups = _by_seed(values)
    rng = np.random.default_rng(seed)
    diffs = [a - b for a, b in groups]
    out = np.empty(resamples)
    for i in range(resamples):
        picked = rng.integers(len(diffs), size=len(diffs))
        total, count = 0.0, 0
        for g in picked:
            d = diffs[g]
            total += float(d[rng.integers(len(d), size=len(d))].sum())
            count += len(d)
        out[i] = total / count
    return out


def compare_paired(
    values: Mapping[int, tuple[Sequence[float], Sequence[float]]],
    binary: bool,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> PairedResult:
    """A method (``a``) against a reference (``b``), paired context by context within each seed.

    Args:
        values: Per seed, the method's and the reference's values on the same contexts, in the same order.
        binary: Values are 0/1 verdicts: the p-value is McNemar's exact test; else the bootstrap's.
        resamples: Bootstrap resamples.
        seed: The bootstrap's random seed (the result is reproducible).

    Returns:
        The means, the difference with its 95% bootstrap interval, and the p-value.

    Raises:
        ValueError: No seeds, a seed without values, unequal lengths, a non-finite value, or a non-0/1 value with
            ``binary``.
    """
    groups = _by_seed(values)
    a = np.concatenate([g[0] for g in groups])
    b = np.concatenate([g[1] for g in groups])
    diffs = bootstrap_diffs(values, resamples, seed)
    low, high = (float(x) for x in np.percentile(diffs, [2.5, 97.5]))
    a_only = b_only = 0
    if binary:
        if not (np.isin(a, (0, 1)).all() and np.isin(b, (0, 1)).all()):
            raise ValueError("binary paired values must be 0 or 1")
        a_only, b_only = int(((a == 1) & (b == 0)).sum()), int(((a == 0) & (b == 1)).sum())
        p_value, test = mcnemar_exact(a_only, b_only), "mcnemar"
    else:
        p_value = min(1.0, 2 * min(float((diffs <= 0).mean()), float((diffs >= 0).mean())))
        test = "bootstrap"
    return PairedResult(
        n=len(a),
        mean_a=float(a.mean()),
        mean_b=float(b.mean()),
        diff=float(a.mean() - b.mean()),
        ci_low=low,
        ci_high=high,
        p_value=p_value,
        test=test,
        a_only=a_only,
        b_only=b_only,
    )
