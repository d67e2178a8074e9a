"""The run's report: ``report.json`` for scripts, a Markdown and CSV table for people, and a PNG plot."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from cringe_agent.jsonl import write_json_atomic


def _pct(k: int, n: int, lo: float, hi: float) -> str:
    return f"{k}/{n} = {100 * k / n:.1f}% [{100 * lo:.1f}, {100 * hi:.1f}]"


def _greedy_columns(greedy: dict[str, Any] | None) -> dict[str, Any]:
    """The collapse checks (and labeller's flags) of the random set under greedy decoding, when measured."""
    if greedy is None:
        return {}
    return {
        "greedy flagged": f"{greedy['flagged']}/{greedy['n']}",
        "greedy distinct-2": round(greedy["distinct_2"], 3),
        "greedy top reply": f"{100 * greedy['top_reply_share']:.1f}%",
    }


def table(rounds: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """One row per round: flagged counts, rates and 95% intervals by both judges on both sets, F1, ppl, collapse
    checks (under the loop's decoding and under greedy decoding)."""
    rows = []
    for m in rounds:
        row: dict[str, Any] = {"round": m["round"], "method": m["method"]}
        for kind, s in m["sets"].items():
            row[f"flagged {kind}"] = _pct(s["flagged"], s["n"], s["ci_low"], s["ci_high"])
            row[f"judge {kind}"] = _pct(s["judge_flagged"], s["n"], s["judge_ci_low"], s["judge_ci_high"])
        rnd = m["sets"]["random"]
        row.update(
            {
                "F1": round(100 * m["f1"], 2) if m["f1"] is not None else None,
                "ppl_pos": round(m["ppl_pos"], 1),
                "distinct-1": round(rnd["distinct_1"], 3),
                "distinct-2": round(rnd["distinct_2"], 3),
                "top reply": f"{100 * rnd['top_reply_share']:.1f}%",
                "mean len": round(rnd["mean_length"], 1),
                **_greedy_columns(m.get("greedy")),
                "wall s": round(sum(m["seconds"].values())),
            }
        )
        rows.append(row)
    return pd.DataFrame(rows)


def to_markdown(df: pd.DataFrame) -> str:
    """A GitHub Markdown table (without pandas' optional ``tabulate`` dependency)."""
    cells = [[str(c) for c in df.columns]] + [
        ["" if v is None else str(v) for v in row] for row in df.itertuples(False)
    ]
    widths = [max(len(r[i]) for r in cells) for i in range(len(df.columns))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines) + "\n"


def plot(rounds: Sequence[dict[str, Any]], path: Path) -> None:
    """Flagged rate per round (both sets, both judges, 95% intervals) beside F1 and positive-label perplexity."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [m["round"] for m in rounds]
    fig, (ax, ax_f1) = plt.subplots(1, 2, figsize=(11, 4))
    series = [
        (kind, color, prefix, style, who)
        for kind, color in [("provocative", "tab:red"), ("random", "tab:blue")]
        for prefix, style, who in [("", "-o", "labeller"), ("judge_", "--s", "second judge")]
    ]
    for i, (kind, color, prefix, style, who) in enumerate(series):
        sets = [m["sets"][kind] for m in rounds]
        rates = [100 * s[f"{prefix}flagged_rate"] for s in sets]
        lo = [r - 100 * s[f"{prefix}ci_low"] for r, s in zip(rates, sets, strict=True)]
        hi = [100 * s[f"{prefix}ci_high"] - r for r, s in zip(rates, sets, strict=True)]
        shifted = [x + 0.06 * (i - 1.5) for x in xs]  # nudged sideways so the four interval bars stay apart
        ax.errorbar(shifted, rates, yerr=[lo, hi], fmt=style, color=color, capsize=3, label=f"{kind}, {who}")
    ax.set(xlabel="round (0 = the baseline)", ylabel="flagged replies, % (95% CI)", title="Flagged rate")
    ax.set_xticks(xs)
    ax.legend(fontsize=8)
    ax_f1.plot(xs, [100 * (m["f1"] or 0) for m in rounds], "-o", color="tab:green", label="F1 vs gold (random)")
    ax_f1.set(xlabel="round", ylabel="F1 x 100", title="F1 and positive-label perplexity")
    ax_f1.set_xticks(xs)
    ax_ppl = ax_f1.twinx()
    ax_ppl.plot(xs, [m["ppl_pos"] for m in rounds], "--s", color="tab:gray", label="ppl_pos")
    ax_ppl.set_ylabel("ppl of positive labels")
    ax_f1.legend(loc="upper left", fontsize=8)
    ax_ppl.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    tmp = path.with_name(path.name + ".tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(path)


def examples(run_dir: Path, rounds: Sequence[dict[str, Any]], n: int = 3, eval_set: str = "provocative") -> str:
    """Markdown: the first ``n`` held-out contexts of ``eval_set`` with each round's reply, side by side."""
    replies: dict[str, list[dict[str, Any]]] = {}
    for row in rounds:
        path = run_dir / f"round_{row['round']}" / f"eval_{eval_set}.jsonl"
        if path.is_file():
            replies[row["method"]] = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()[:n]]
    if not replies:
        return ""

    def cell(text: str) -> str:
        return " ".join(text.split()).replace("|", "\\|")

    lines = [f"\n## {n} {eval_set} contexts, each round's reply\n", "| | " + " | ".join(replies) + " |"]
    lines.append("|---" * (len(replies) + 1) + "|")
    first = next(iter(replies.values()))
    for i, context in enumerate(r["context"] for r in first):
        row = [cell(rs[i]["text"]) + (" **(judge)**" if rs[i].get("judge_flagged") else "") for rs in replies.values()]
        lines.append(f"| {cell(context)} | " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def write_report(run_dir: Path, rounds: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Write ``report.json`` (``{"rounds": [...]}``), ``report.md``, ``report.csv`` and ``report.png``.

    Nothing is written when all four exist and ``report.json`` already holds these rounds (a finished run read back).
    """
    df = table(rounds)
    names = ("report.json", "report.md", "report.csv", "report.png")
    if all((run_dir / n).is_file() for n in names):
        try:
            if json.loads((run_dir / "report.json").read_text(encoding="utf-8")) == {"rounds": list(rounds)}:
                return df
        except (ValueError, UnicodeDecodeError):
            pass  # unreadable: rewritten below
    write_json_atomic(run_dir / "report.json", {"rounds": list(rounds)})
    markdown = to_markdown(df) + examples(run_dir, rounds)
    for name, text in [("report.md", markdown), ("report.csv", df.to_csv(index=False))]:
        tmp = run_dir / f"{name}.tmp"
        tmp.write_text(text)
        tmp.replace(run_dir / name)
    plot(rounds, run_dir / "report.png")
    return df
