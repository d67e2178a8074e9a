"""A comparison of methods over seeds: ``comparison.json``, a Markdown and CSV table, and the paper-style plot.

The input is one row per (method, seed), each a finished run's numbers: the labeller's flagged rate on held-out
provocative contexts (with the counts behind it), the second judge's rate on the same replies, the flagged rate on
random contexts, unigram F1 (in points), the positive-label perplexity, the collapse checks and the run's seconds.
:func:`aggregate` reduces them to one row per method (mean and sample standard deviation over seeds, and the
flagged counts pooled over seeds with a 95% Wilson interval); :func:`to_markdown` and :func:`plot` show that
summary, and :func:`write_comparison` writes all of it into a run directory.

Methods keep the order in which the rows first name them, in every output. Nothing here imports ParlAI or torch.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cringe_agent.iterative import report
from cringe_agent.jsonl import _atomic_open, write_json_atomic
from cringe_agent.textstats import wilson_interval

GROUPS = ("methods", "ablations")

# The per-seed metrics averaged over seeds, in table order. ``safe_rate`` is computed (1 - flagged_rate).
METRICS = (
    "flagged_rate",
    "safe_rate",
    "judge_rate",
    "answer_rate",
    "flagged_rate_random",
    "f1",
    "ppl_pos",
    "distinct_2",
    "top_reply_share",
    "greedy_top_reply_share",
    "train_seconds",
    "seconds",
)

# Every field a row must have, and what its value must be: "rate" is a number in [0, 1], "number" a finite
# number >= 0, "seconds" a number or a mapping of step to seconds (summed); a "?" suffix allows None (not measured).
_FIELDS: dict[str, str] = {
    "method": "text",
    "group": "group",
    "seed": "int",
    "flagged": "int",
    "total": "int",
    "flagged_rate": "rate",
    "judge_rate": "rate?",
    "flagged_rate_random": "rate?",
    "f1": "number",
    "ppl_pos": "number?",
    "distinct_2": "rate?",
    "top_reply_share": "rate?",
    "greedy_top_reply_share": "rate?",
    "model_file": "text?",
    "train_seconds": "number?",
    "seconds": "seconds?",
}

# Fields a row may leave out (rows of earlier comparisons have none of them): same kinds as ``_FIELDS``.
_OPTIONAL_FIELDS: dict[str, str] = {
    "judge_flagged": "int?",
    "answer_rate": "rate?",
    "eval_dir": "text?",
    "steps": "int?",
    "setting": "any text?",
}

# The paper's safe-generation results (§4: BlenderBot 1, WikiToxic toxic prompts, safety by a trained classifier,
# ConvAI2 F1 as a fraction), for the reference panel of :func:`plot`.
PAPER_SAFE_GENERATION: tuple[dict[str, Any], ...] = (
    {"method": "Transformer baseline", "safe": 0.622, "f1": 0.160},
    {"method": "Reranker", "safe": 0.767, "f1": 0.153},
    {"method": "Unlikelihood", "safe": 0.856, "f1": 0.166},
    {"method": "Director", "safe": 0.952, "f1": 0.164},
    {"method": "CRINGE, one round", "safe": 0.946, "f1": 0.166},
    {"method": "CRINGE, iterative", "safe": 0.995, "f1": 0.166},
)

# The paper's contradiction results (§4: BlenderBot 1 on DECODE; "safe" = the share of replies a classifier judges
# non-contradicting).
PAPER_CONTRADICTION: tuple[dict[str, Any], ...] = (
    {"method": "Transformer baseline", "safe": 0.818, "f1": 0.172},
    {"method": "Unlikelihood", "safe": 0.888, "f1": 0.175},
    {"method": "Sigmoid-only", "safe": 0.940, "f1": 0.177},
    {"method": "Director", "safe": 0.965, "f1": 0.171},
    {"method": "CRINGE, one round", "safe": 0.960, "f1": 0.172},
    {"method": "CRINGE, iterative", "safe": 0.967, "f1": 0.172},
)

_NAMES = ("comparison.json", "comparison.md", "comparison.csv", "comparison.png")


# ---------------------------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_value(kind: str, value: Any) -> str | None:
    """Why ``value`` is not a valid value of ``kind`` (see ``_FIELDS``), or None when it is."""
    if kind.endswith("?"):
        if value is None:
            return None
        kind = kind[:-1]
    if kind == "text":
        return None if isinstance(value, str) and value.strip() else "must be a non-empty string"
    if kind == "any text":
        return None if isinstance(value, str) else "must be a string"
    if kind == "group":
        return None if value in GROUPS else f"must be one of {', '.join(map(repr, GROUPS))}"
    if kind == "int":
        return None if isinstance(value, int) and not isinstance(value, bool) else "must be an integer"
    if kind == "seconds" and isinstance(value, Mapping):  # seconds per step, as a round's metrics hold them
        return None if all(_is_number(v) and v >= 0 for v in value.values()) else "must hold numbers >= 0"
    if not _is_number(value):
        return "must be a finite number"
    if kind == "rate" and not 0 <= value <= 1:
        return "must be a rate in [0, 1]"
    if value < 0:
        return "must be >= 0"
    return None


def _validated(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Check every row and return one flat record per row: the metrics as floats (NaN where not measured).

    Raises:
        ValueError: No rows; a row is not a mapping, lacks a field or holds an invalid value (the message names
            the row's index and the field); ``flagged`` exceeds ``total`` or disagrees with ``flagged_rate``; a
            (method, seed) pair repeats; or one method appears in both groups.
    """
    if len(rows) == 0:
        raise ValueError("a comparison needs at least one row, got none")
    records: list[dict[str, Any]] = []
    first_row: dict[tuple[str, int], int] = {}
    group_of: dict[str, tuple[str, int]] = {}
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise ValueError(f"row {i}: expected a mapping of field to value, got {type(row).__name__}")
        where = f"row {i}"
        if isinstance(row.get("method"), str) and "seed" in row:
            where += f" (method {row['method']!r}, seed {row['seed']!r})"
        for field, kind in _FIELDS.items():
            if field not in row:
                raise ValueError(f"{where}: missing required field {field!r}")
            problem = _check_value(kind, row[field])
            if problem is not None:
                raise ValueError(f"{where}: field {field!r} {problem}, got {row[field]!r:.80}")
        for field, kind in _OPTIONAL_FIELDS.items():
            problem = _check_value(kind, row.get(field))
            if problem is not None:
                raise ValueError(f"{where}: field {field!r} {problem}, got {row[field]!r:.80}")
        judge_flagged = row.get("judge_flagged")
        if judge_flagged is not None and not 0 <= judge_flagged <= row["total"]:
            raise ValueError(f"{where}: field 'judge_flagged' must be in [0, {row['total']}], got {judge_flagged}")
        flagged, total, rate = row["flagged"], row["total"], row["flagged_rate"]
        if not 0 <= flagged <= total or total == 0:
            raise ValueError(
                f"{where}: fields 'flagged' and 'total' need 0 <= flagged <= total and total > 0, "
                f"got {flagged}/{total}"
            )
        if not math.isclose(rate, flagged / total, rel_tol=1e-9, abs_tol=1e-9):
            raise ValueError(
                f"{where}: field 'flagged_rate' is {rate!r} but flagged/total = {flagged}/{total} "
                f"= {flagged / total!r}"
            )
        method, seed, group = row["method"], row["seed"], row["group"]
        if (method, seed) in first_row:
            raise ValueError(f"{where}: method {method!r} with seed {seed} repeats row {first_row[method, seed]}")
        first_row[method, seed] = i
        if method in group_of and group_of[method][0] != group:
            other, j = group_of[method]
            raise ValueError(f"{where}: field 'group' is {group!r} but row {j} puts method {method!r} in {other!r}")
        group_of.setdefault(method, (group, i))
        values = {metric: row.get(metric) for metric in METRICS if metric in _FIELDS or metric in _OPTIONAL_FIELDS}
        values["safe_rate"] = 1.0 - rate
        if isinstance(values["seconds"], Mapping):
            values["seconds"] = sum(values["seconds"].values())
        record = {"method": method, "group": group, "seed": seed, "flagged": flagged, "total": total}
        record |= {"judge_flagged": judge_flagged, "steps": row.get("steps"), "setting": row.get("setting") or ""}
        records.append(record | {m: math.nan if values[m] is None else float(values[m]) for m in METRICS})
    return records


def _validated_paper(paper: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Check the paper's reference points: each a ``method`` name, a ``safe`` rate and an ``f1`` fraction."""
    for i, point in enumerate(paper):
        for field, kind in (("method", "text"), ("safe", "rate"), ("f1", "rate")):
            if not isinstance(point, Mapping) or field not in point:
                raise ValueError(f"paper point {i}: missing required field {field!r}")
            problem = _check_value(kind, point[field])
            if problem is not None:
                if field == "f1":
                    problem = "must be a fraction in [0, 1], as the paper reports it (e.g. 0.166)"
                raise ValueError(f"paper point {i}: field {field!r} {problem}, got {point[field]!r:.80}")
    return list(paper)


# ---------------------------------------------------------------------------------------------------------------
# Aggregate and table
# ---------------------------------------------------------------------------------------------------------------


def aggregate(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per method, in the order the rows first name the methods.

    Columns: ``method``, ``group``, ``n`` (seeds), ``seeds`` (a list, in row order); the labeller's flagged counts on
    provocative contexts pooled over seeds, ``flagged`` / ``total`` = ``pooled_rate``, with its 95% Wilson interval
    ``ci_low`` / ``ci_high``; and for each metric of :data:`METRICS` (``safe_rate`` = 1 - ``flagged_rate``) its
    mean over seeds ``<metric>_mean`` and sample standard deviation ``<metric>_sd`` (ddof = 1).

    With one seed, every ``_sd`` is NaN: one run says nothing about the spread over seeds. A metric a run did not
    measure (None) is left out of its method's mean and sd; one that no seed measured is NaN. The pooled interval
    treats every reply as an independent trial: it shows the sampling noise of the replies, while ``_sd`` shows the
    variation from seed to seed.

    Args:
        rows: One mapping per (method, seed) with at least these fields: ``method`` (str), ``group``
            ("methods" or "ablations"), ``seed`` (int), ``flagged`` and ``total`` (ints, the labeller's counts on
            provocative contexts) and ``flagged_rate`` (= flagged / total), ``f1`` (points); and, each a number or
            None when not measured, the rates ``judge_rate``, ``flagged_rate_random``, ``distinct_2``,
            ``top_reply_share``, ``greedy_top_reply_share``, and ``ppl_pos``, ``train_seconds``, ``seconds`` (a
            number, or seconds per step, summed), plus ``model_file`` (str or None). Other fields are kept in
            ``comparison.json`` but not summarised.

    Returns:
        The per-method summary.

    Raises:
        ValueError: No rows; a row lacks a field or holds an invalid value (a rate outside [0, 1], a count that
            disagrees with its rate, ...); a (method, seed) pair repeats; or a method is in both groups. The
            message names the row's index and the field.
    """
    frame = pd.DataFrame(_validated(rows))
    summary = []
    for method, runs in frame.groupby("method", sort=False):
        flagged, total = int(runs["flagged"].sum()), int(runs["total"].sum())
        low, high = wilson_interval(flagged, total)
        judged = None if runs["judge_flagged"].isna().any() else int(runs["judge_flagged"].sum())
        judge_low, judge_high = wilson_interval(judged, total) if judged is not None else (math.nan, math.nan)
        steps = runs["steps"].dropna()
        row: dict[str, Any] = {
            "method": method,
            "group": runs["group"].iloc[0],
            "n": len(runs),
            "seeds": [int(s) for s in runs["seed"]],
            "steps": int(steps.iloc[0]) if len(steps) else None,
            "setting": runs["setting"].iloc[0],
            "flagged": flagged,
            "total": total,
            "pooled_rate": flagged / total,
            "ci_low": low,
            "ci_high": high,
            "judge_flagged": judged,
            "judge_ci_low": judge_low,
            "judge_ci_high": judge_high,
        }
        for metric in METRICS:
            row[f"{metric}_mean"] = float(runs[metric].mean())
            row[f"{metric}_sd"] = float(runs[metric].std(ddof=1))
        summary.append(row)
    return pd.DataFrame(summary)


def _mean_sd(df_row: Mapping[str, Any], metric: str, scale: float = 1.0, digits: int = 1, unit: str = "") -> str:
    """``mean ± sd`` of a metric (scaled, rounded); the mean alone for one seed; blank when not measured."""
    mean, sd = df_row[f"{metric}_mean"], df_row[f"{metric}_sd"]
    if mean is None or math.isnan(mean):
        return ""
    text = f"{scale * mean:.{digits}f}"
    if sd is not None and not math.isnan(sd):
        text += f" ± {scale * sd:.{digits}f}"
    return text + unit


def _paired_cell(stats: Mapping[str, Any] | None, scale: float, digits: int) -> str:
    """``diff [low, high] p=...`` of a paired comparison (scaled), blank when there is none."""
    if not stats:
        return ""
    d, lo, hi = (scale * stats[k] for k in ("diff", "ci_low", "ci_high"))
    p = stats["p_value"]
    star = "*" if p < 0.05 else ""
    return f"{d:+.{digits}f} [{lo:+.{digits}f}, {hi:+.{digits}f}] p={p:.2g}{star}"


def _display_row(
    r: Mapping[str, Any], paired: Mapping[str, Any] | None = None, answers: bool = False
) -> dict[str, Any]:
    judged = r.get("judge_flagged")
    pooled_judge = "" if judged is None or (isinstance(judged, float) and math.isnan(judged)) else report._pct(
        int(judged), r["total"], r["judge_ci_low"], r["judge_ci_high"]
    )
    out = {
        "method": r["method"],
        "seeds": r["n"],
        "steps": "" if r.get("steps") is None or r.get("steps") != r.get("steps") else int(r["steps"]),
        "setting": r.get("setting") or "",
        "judge provocative": _mean_sd(r, "judge_rate", 100, unit="%"),
        "judge pooled [95% CI]": pooled_judge,
        "answers right": _mean_sd(r, "answer_rate", 100, unit="%"),
        "labeller provocative": _mean_sd(r, "flagged_rate", 100, unit="%"),
        "labeller pooled [95% CI]": report._pct(r["flagged"], r["total"], r["ci_low"], r["ci_high"]),
        "labeller random": _mean_sd(r, "flagged_rate_random", 100, unit="%"),
        "F1": _mean_sd(r, "f1", digits=2),
        "ppl_pos": _mean_sd(r, "ppl_pos"),
        "distinct-2": _mean_sd(r, "distinct_2", digits=3),
        "top reply": _mean_sd(r, "top_reply_share", 100, unit="%"),
        "greedy top reply": _mean_sd(r, "greedy_top_reply_share", 100, unit="%"),
        "train s": _mean_sd(r, "train_seconds", digits=0),
    }
    if paired is not None:
        stats = (paired.get("methods") or {}).get(r["method"]) or {}
        out["Δ judge vs ref (pp) [95% CI] p"] = _paired_cell(stats.get("judge"), 100, 1)
        out["Δ F1 vs ref [95% CI] p"] = _paired_cell(stats.get("f1"), 100, 2)
        if answers:
            out["Δ answers right (pp) [95% CI] p"] = _paired_cell(stats.get("answered"), 100, 1)
    if not answers:
        del out["answers right"]
    return out


def to_markdown(
    df: pd.DataFrame, paper: Sequence[Mapping[str, Any]] | None = None, paired: Mapping[str, Any] | None = None
) -> str:
    """A compact Markdown table of :func:`aggregate`'s summary, with a note on how to read it.

    The primary judge's columns come first (the labeller that selected the training negatives second). Rates are the
    mean ± sample sd over seeds, in %; a method run with one seed shows its value alone. The ``pooled`` columns are
    the flagged counts over all seeds with their 95% Wilson intervals. The ``methods`` rows come first, then a
    separator row and the ``ablations`` rows, each group in its original order.

    Args:
        df: The output of :func:`aggregate`.
        paper: Optional reference points of the paper (``method``, ``safe`` rate, ``f1`` fraction), listed in a
            second table in the same units (flagged = 1 - safe, in %; F1 x 100).
        paired: Optional paired statistics against a reference method (``{"reference": label, "methods": {label:
            {"judge": ..., "f1": ..., "answered": ...}}}``, each as :class:`~.paired.PairedResult` writes it): a
            column per statistic with the difference, its 95% interval and its p-value.

    Returns:
        GitHub Markdown text.
    """
    records = df.to_dict("records")
    answers = any(not math.isnan(r["answer_rate_mean"]) for r in records)
    shown = [_display_row(r, paired, answers) for r in records if r["group"] == "methods"]
    ablations = [_display_row(r, paired, answers) for r in records if r["group"] == "ablations"]
    if ablations:
        shown.append(dict.fromkeys(ablations[0], "") | {"method": "**ablations**"})
        shown += ablations
    text = report.to_markdown(pd.DataFrame(shown, dtype=object))
    text += (
        "\nMean ± sample sd over seeds (no sd for one seed). Judge: the primary judge's share of flagged replies to "
        "held-out provocative contexts (never the labeller); labeller: the classifier that selected the training "
        "negatives, on the same replies; pooled: flagged replies over all seeds, 95% Wilson interval; F1 x 100; "
        "steps: fine-tuning steps; setting: the values chosen on the valid split.\n"
    )
    if paired and paired.get("reference"):
        text += (
            f"\nΔ vs ref: each method minus **{paired['reference']}**, paired context by context within each seed: "
            "the difference of means with a 95% two-level bootstrap interval (seeds, then contexts), and the p-value "
            "of McNemar's exact test on the pooled pairs (F1: the bootstrap's); * p < 0.05 (not corrected for the "
            "number of comparisons).\n"
        )
    if paper:
        reference = pd.DataFrame(
            {
                "paper method": p["method"],
                "safe": p["safe"],
                "flagged": f"{100 * (1 - p['safe']):.1f}%",
                "F1": f"{100 * p['f1']:.1f}",
            }
            for p in _validated_paper(paper)
        )
        text += "\nThe paper's reported points, for reference:\n\n" + report.to_markdown(reference)
    return text


# ---------------------------------------------------------------------------------------------------------------
# Plot
# ---------------------------------------------------------------------------------------------------------------


def _number_points(ax: Any, points: Sequence[tuple[float, float]]) -> None:
    """Write 1, 2, ... beside the points, each at the first nearby spot no earlier number occupies."""
    ax.margins(x=0.06, y=0.1)  # room for the numbers of the outermost points
    ax.autoscale_view()
    pixels_per_point = ax.figure.dpi / 72
    offsets = [(5, 5), (5, -12), (-12, 5), (-12, -12), (5, 15), (-12, 15), (5, -22), (-12, -22)]
    placed: list[tuple[float, float]] = []
    for number, (x, y) in enumerate(points, start=1):
        px, py = ax.transData.transform((x, y))
        spot = offsets[0]
        for dx, dy in offsets:
            cx, cy = px + dx * pixels_per_point, py + dy * pixels_per_point
            if all(abs(cx - qx) > 14 * pixels_per_point or abs(cy - qy) > 10 * pixels_per_point for qx, qy in placed):
                spot = (dx, dy)
                break
        placed.append((px + spot[0] * pixels_per_point, py + spot[1] * pixels_per_point))
        ax.annotate(str(number), (x, y), xytext=spot, textcoords="offset points", fontsize=8, fontweight="bold")


def plot(rows: Sequence[Mapping[str, Any]], path: Path, paper: Sequence[Mapping[str, Any]] | None = None) -> None:
    """The paper's trade-off plot: safe rate against F1, one point per method, by the labeller and by the judge.

    The first panel takes the safe rate from the labeller (1 - its flagged rate), the second from the second judge
    (1 - ``judge_rate``; where a task has an exact judge, the one to read). Each point is the method's mean over
    seeds with error bars of ±1 sample sd on both axes (none for one seed); points are numbered, and the legend below
    gives each number's method and seed count. Ablations use square markers, methods round ones. With ``paper``, a
    third panel shows the paper's reported points for reference.

    Args:
        rows: One mapping per (method, seed), as for :func:`aggregate`.
        path: The PNG to write (atomically: a temporary file beside it is moved onto it).
        paper: Optional reference points: ``method``, ``safe`` (a rate) and ``f1`` (a fraction, plotted x 100),
            e.g. :data:`PAPER_SAFE_GENERATION`.
    """
    df = aggregate(rows)
    reference = _validated_paper(paper) if paper else []
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = 3 if reference else 2
    fig, axes = plt.subplots(1, panels, figsize=(8 * panels, 5.5), squeeze=False)
    colors = plt.get_cmap("tab10" if len(df) <= 10 else "tab20")
    records = df.to_dict("records")
    judged = [("safe_rate", "labeller"), ("judge_rate", "second judge")]
    for ax, (metric, who) in zip(axes[0], judged, strict=False):
        points = []
        for i, r in enumerate(records):
            x = r[f"{metric}_mean"] if metric == "safe_rate" else 1 - r[f"{metric}_mean"]
            y = r["f1_mean"]
            xerr, yerr = (0.0 if math.isnan(sd) else sd for sd in (r[f"{metric}_sd"], r["f1_sd"]))
            if math.isnan(x):
                continue
            ablation = r["group"] == "ablations"
            label = f"{i + 1}. {r['method']} (n={r['n']}{', ablation' if ablation else ''})"
            ax.errorbar(
                x,
                y,
                xerr=xerr,
                yerr=yerr,
                fmt="s" if ablation else "o",
                color=colors(i % colors.N),
                capsize=3,
                markersize=7,
                label=label,
            )
            points.append((x, y))
        ax.set(
            xlabel=f"safe rate (1 - {who}'s flagged rate, provocative)",
            ylabel="F1 x 100",
            title=f"Methods by the {who}: mean ± 1 sd over seeds",
        )
        _number_points(ax, points)
        ax.grid(alpha=0.3)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), fontsize=8, frameon=False, ncol=1 + (len(df) > 6))
    if reference:
        ax_paper = axes[0][2]
        for i, p in enumerate(reference):
            ax_paper.plot(
                p["safe"],
                100 * p["f1"],
                "D",
                color=colors(i % colors.N),
                markersize=6,
                label=f"{i + 1}. {p['method']}",
            )
        ax_paper.set(xlabel="safe rate (paper's classifier)", ylabel="F1 x 100", title="Paper, as reported")
        _number_points(ax_paper, [(p["safe"], 100 * p["f1"]) for p in reference])
        ax_paper.grid(alpha=0.3)
        ax_paper.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), fontsize=8, frameon=False, ncol=2)
    tmp = path.with_name(path.name + ".tmp.png")
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    plt.close(fig)
    tmp.replace(path)


# ---------------------------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A JSON-ready copy of a summary value: numpy scalars as Python numbers, NaN as None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _document(rows: Sequence[Mapping[str, Any]], df: pd.DataFrame, paper: Sequence[Mapping[str, Any]] | None) -> Any:
    """What ``comparison.json`` holds, as it reads back (a JSON round trip)."""
    summary = [{key: _plain(value) for key, value in r.items()} for r in df.to_dict("records")]
    doc: dict[str, Any] = {"methods": [dict(r) for r in rows], "summary": summary}
    if paper:
        doc["paper"] = [dict(p) for p in paper]
    return json.loads(json.dumps(doc))


def _holds(path: Path, doc: Any) -> bool:
    try:
        return json.loads(path.read_text(encoding="utf-8")) == doc
    except (OSError, ValueError, UnicodeDecodeError):
        return False  # missing or unreadable: rewritten


def write_comparison(
    run_dir: Path,
    rows: Sequence[Mapping[str, Any]],
    paper: Sequence[Mapping[str, Any]] | None = None,
    paired: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Write ``comparison.json``, ``comparison.md``, ``comparison.csv`` (the aggregate) and ``comparison.png``.

    ``comparison.json`` holds ``{"methods": rows, "summary": [one dict per method]}`` (NaN written as null), and
    ``"paper": paper`` when reference points are given. Each file is written atomically, the JSON last, so that a
    run stopped part-way is redone in full. Nothing is written when all four files exist and ``comparison.json``
    already holds exactly these rows (and reference points): a rerun leaves unchanged files alone.

    Args:
        run_dir: The folder to write into (created if needed).
        rows: One mapping per (method, seed), as for :func:`aggregate`.
        paper: Optional reference points of the paper for the table and the plot, e.g. :data:`PAPER_SAFE_GENERATION`.
        paired: Optional paired statistics for the table (see :func:`to_markdown`), kept in ``comparison.json``.

    Returns:
        The aggregate, as :func:`aggregate` returns it.
    """
    run_dir = Path(run_dir)
    df = aggregate(rows)
    doc = _document(rows, df, paper)
    if paired:
        doc["paired"] = json.loads(json.dumps(paired))
    if all((run_dir / name).is_file() for name in _NAMES) and _holds(run_dir / "comparison.json", doc):
        return df
    run_dir.mkdir(parents=True, exist_ok=True)
    plot(rows, run_dir / "comparison.png", paper)
    for name, text in [("comparison.md", to_markdown(df, paper, paired)), ("comparison.csv", df.to_csv(index=False))]:
        with _atomic_open(run_dir / name) as handle:
            handle.write(text)
    write_json_atomic(run_dir / "comparison.json", doc)
    return df


def read_paired(run_dir: Path) -> dict[str, Any] | None:
    """The paired statistics ``comparison.json`` holds, or None."""
    path = Path(run_dir) / "comparison.json"
    if not path.is_file():
        return None
    doc = json.loads(path.read_text(encoding="utf-8"))
    return doc.get("paired") if isinstance(doc, dict) else None
