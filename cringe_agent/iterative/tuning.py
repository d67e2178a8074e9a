"""Each method's hyper-parameters, chosen on the validation split with a grid of the same size for every method.

A comparison fine-tunes the tuning seed's baseline once per grid point, with the method's full budget, and scores
the replies to held-out contexts of the task's *valid* split (disjoint from the test contexts). The rule that picks a
point (:func:`choose`) is the same for every method:

1. Keep the points whose positive-label perplexity is at most ``ppl_guard`` times the baseline's: a method may not
   buy a low flagged rate by breaking the language model (a model that says nothing coherent contradicts nothing).
2. Of those, take the lowest flagged rate by the primary judge (ties: the fewer the labeller flags, then grid order).
3. When no point keeps the perplexity, take the one with the lowest perplexity, and say so.

The test contexts are then scored once, with the chosen values. Nothing here imports ParlAI or torch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

#: The grid of each tunable method: three points, each a set of :class:`~cringe_agent.iterative.config.LoopConfig`
#: fields (``method_opts`` holds the agent's own flags). Methods without a grid (MLE) have nothing to tune. The
#: sigmoid-only "other tokens" term is summed over the vocabulary (the paper's form), so its weight is small: 1/(V-1)
#: would be the mean over the vocabulary.
GRIDS: dict[str, tuple[dict[str, Any], ...]] = {
    "cringe": ({"alpha": 0.25}, {"alpha": 1.0}, {"alpha": 4.0}),
    "unlikelihood": ({"alpha": 0.25}, {"alpha": 1.0}, {"alpha": 4.0}),
    "sigmoid": (
        {"alpha": 1.0, "method_opts": {"sigmoid_others_weight": 1e-3}},
        {"alpha": 1.0, "method_opts": {"sigmoid_others_weight": 1e-1}},
        {"alpha": 4.0, "method_opts": {"sigmoid_others_weight": 1e-3}},
    ),
    "director": (
        {"method_opts": {"director_gamma": 1.0, "director_classifier_weight": 1.0}},
        {"method_opts": {"director_gamma": 4.0, "director_classifier_weight": 1.0}},
        {"method_opts": {"director_gamma": 1.0, "director_classifier_weight": 4.0}},
    ),
    "reranker": ({"rerank_candidates": 2}, {"rerank_candidates": 4}, {"rerank_candidates": 8}),
}

#: The most a chosen point's positive-label perplexity may exceed the baseline's, as a factor.
PPL_GUARD = 1.25


def point_name(point: Mapping[str, Any]) -> str:
    """A grid point as text, e.g. ``alpha=4`` or ``director_gamma=1 director_classifier_weight=4``."""
    items = [(k, v) for k, v in point.items() if k != "method_opts"]
    items += list((point.get("method_opts") or {}).items())
    return " ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in items)


def point_key(point: Mapping[str, Any]) -> str:
    """A folder name for a grid point (``alpha4``, ``director_gamma1_director_classifier_weight4``)."""
    return "_".join(part.replace("=", "") for part in point_name(point).split())


def apply(fields: Mapping[str, Any], point: Mapping[str, Any]) -> dict[str, Any]:
    """``fields`` with a grid point's values (its ``method_opts`` merged into theirs)."""
    out = dict(fields)
    for key, value in point.items():
        out[key] = {**(out.get(key) or {}), **value} if key == "method_opts" else value
    return out


def choose(
    results: Sequence[Mapping[str, Any]], baseline_ppl: float | None, ppl_guard: float = PPL_GUARD
) -> tuple[int, str]:
    """The index of the chosen grid point and why (see the module's rule).

    Args:
        results: One mapping per grid point, in grid order: ``judge_rate`` (the primary judge's flagged rate on the
            valid provocative contexts), ``flagged_rate`` (the labeller's), ``ppl_pos`` (or None: not measured).
        baseline_ppl: The baseline's positive-label perplexity (None: no guard).
        ppl_guard: The factor of rule 1.

    Raises:
        ValueError: No results, or a result without a finite ``judge_rate``.
    """
    if not results:
        raise ValueError("no grid points to choose from")
    for i, r in enumerate(results):
        if not isinstance(r.get("judge_rate"), int | float) or not math.isfinite(r["judge_rate"]):
            raise ValueError(f"grid point {i}: needs a finite judge_rate, got {r.get('judge_rate')!r}")

    def ppl(r: Mapping[str, Any]) -> float:
        value = r.get("ppl_pos")
        return math.inf if value is None or not math.isfinite(value) else float(value)

    limit = math.inf if baseline_ppl is None else ppl_guard * baseline_ppl
    kept = [i for i, r in enumerate(results) if ppl(r) <= limit]
    if not kept:
        best = min(range(len(results)), key=lambda i: (ppl(results[i]), i))
        return best, f"no point kept perplexity <= {ppl_guard:g} x baseline ({limit:.1f}): the lowest perplexity"
    best = min(kept, key=lambda i: (results[i]["judge_rate"], results[i].get("flagged_rate") or 0.0, i))
    why = "lowest judge rate"
    if len(kept) < len(results):
        points = "the 1 point" if len(kept) == 1 else f"the {len(kept)} points"
        why += f" of {points} with perplexity <= {ppl_guard:g} x baseline ({limit:.1f})"
    return best, why


def _pct(value: Any) -> str:
    return "" if value is None else f"{100 * value:.1f}%"


def to_markdown(report: Mapping[str, Any]) -> str:
    """The tuning's grid results and choices as Markdown (``report`` as :class:`~.compare.Comparison` writes it)."""
    ppl = report.get("baseline_ppl")
    lines = [
        f"Tuning on the valid split (seed {report['seed']}'s baseline; baseline perplexity "
        f"{'not measured' if ppl is None else f'{ppl:.2f}'}, guard {report['ppl_guard']:g}x). Rule: among the points "
        "with perplexity within the guard, the lowest flagged rate by the primary judge.",
        "",
        "| method | point | judge (valid) | labeller (valid) | F1 | ppl_pos | chosen |",
        "|---|---|---|---|---|---|---|",
    ]
    for method, entry in report["methods"].items():
        for i, r in enumerate(entry["results"]):
            f1 = "" if r.get("f1") is None else f"{r['f1']:.2f}"
            ppl = "" if r.get("ppl_pos") is None else f"{r['ppl_pos']:.2f}"
            chosen = f"**yes** ({entry['why']})" if i == entry["chosen"] else ""
            lines.append(
                f"| {method} | {point_name(r['point'])} | {_pct(r['judge_rate'])} | {_pct(r.get('flagged_rate'))} "
                f"| {f1} | {ppl} | {chosen} |"
            )
    return "\n".join(lines) + "\n"
