"""Per round of a persona loop run: contradictions (the judge), right answers, and what the labeller saw.

    python -m tasks.persona.report runs/pretrained            # a Markdown table on standard output

A contradiction rate alone rewards evasion: a reply that names no persona fact contradicts none. Beside the judge's
rate (:func:`tasks.persona.checker.contradicts`) this table gives the share of replies that *state* a persona fact
correctly (:func:`tasks.persona.checker.affirms`), both with 95% Wilson intervals, on the run's held-out
provocative replies (``round_<r>/eval_provocative.jsonl``), and the labeller's flagged share.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from cringe_agent.textstats import wilson_interval
from tasks.persona.checker import affirms, contradicts


def _rate(k: int, n: int) -> str:
    lo, hi = wilson_interval(k, n)
    return f"{k}/{n} = {100 * k / n:.1f}% [{100 * lo:.1f}, {100 * hi:.1f}]"


def round_rates(run_dir: str | Path, eval_set: str = "provocative") -> list[dict[str, Any]]:
    """``[{round, method, n, contradictions, affirms, flagged}]`` for every evaluated round of the run."""
    run = Path(run_dir)
    report = json.loads((run / "report.json").read_text(encoding="utf-8"))
    out = []
    for row in report["rounds"]:
        path = run / f"round_{row['round']}" / f"eval_{eval_set}.jsonl"
        replies = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        out.append(
            {
                "round": row["round"],
                "method": row["method"],
                "n": len(replies),
                "contradictions": sum(contradicts(r["context"], r["text"]) for r in replies),
                "affirms": sum(affirms(r["context"], r["text"]) for r in replies),
                "flagged": sum(bool(r["flagged"]) for r in replies),
            }
        )
    return out


def to_markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| round | method | contradicts the persona (judge) | states a persona fact right | flagged by the labeller |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        rates = (_rate(r[k], r["n"]) for k in ("contradictions", "affirms", "flagged"))
        lines.append(f"| {r['round']} | {r['method']} | " + " | ".join(rates) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m tasks.persona.report RUN_DIR", file=sys.stderr)
        return 2
    print(to_markdown(round_rates(args[0])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
