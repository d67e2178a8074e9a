"""The analysis of the collected answers and annotations (pandas/scipy), as a Markdown table and a PNG.

Pairwise, per question and matchup: wins of each speaker, win rate, the two-sided exact binomial test at 0.5
(``scipy.stats.binomtest``, the replacement of the removed ``binom_test`` in ParlAI's analysis.py) and its 95%
Clopper-Pearson interval. Workers with **any** wrong onboarding answer are dropped first, then the onboarding rows
(analysis.py). Agreement is ParlAI's ``agree``: the mean share of the majority choice over pairs with at least two
ratings. Model chat: the share of annotated bot turns marked with any problem, per model.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from scipy.stats import binomtest

from cringe_agent.humaneval.presets import GOOD


def exclude_failed_onboarding(answers: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Drop the workers with any wrong onboarding answer, then the onboarding rows; return the rows and the dropped."""
    if answers.empty:
        return answers, []
    onboarding = answers[answers["is_onboarding"].astype(bool)]
    failed = sorted(set(onboarding.loc[onboarding["correct"].astype(int) == 0, "worker_name"].astype(str)))
    kept = answers[~answers["worker_name"].astype(str).isin(failed) & ~answers["is_onboarding"].astype(bool)]
    return kept, failed


def agreement(answers: pd.DataFrame) -> float | None:
    """ParlAI's ``agree``: mean majority share over pairs with >= 2 ratings; a 1-1 split counts 0 (analysis.py)."""
    shares = []
    for _, group in answers.groupby(["question", "pairing_id"]):
        if len(group) < 2:
            continue
        counts = group["winner"].value_counts()
        if len(counts) > 1 and counts.iloc[0] == counts.iloc[1] and len(group) == 2:
            shares.append(0.0)
        else:
            shares.append(counts.iloc[0] / len(group))
    return sum(shares) / len(shares) if shares else None


def win_rates(answers: pd.DataFrame) -> pd.DataFrame:
    """One row per question and matchup: ``winner`` is ``eval_choice_0``'s side; rate, p-value and 95% interval."""
    rows: list[dict[str, Any]] = []
    for (question, matchup), group in answers.groupby(["question", "matchup"], sort=True):
        first, second = group["eval_choice_0"].iloc[0], group["eval_choice_1"].iloc[0]
        wins, total = int((group["winner"] == first).sum()), len(group)
        test = binomtest(wins, total, 0.5)
        ci = test.proportion_ci(confidence_level=0.95)
        rows.append(
            {
                "question": question,
                "matchup": matchup,
                "model": first,
                "opponent": second,
                "wins": wins,
                "ratings": total,
                "win_rate": wins / total,
                "ci_low": ci.low,
                "ci_high": ci.high,
                "p": test.pvalue,
                "stars": "***"
                if test.pvalue < 0.001
                else "**"
                if test.pvalue < 0.01
                else "*"
                if test.pvalue < 0.05
                else "",
                "agree": agreement(group),
            }
        )
    return pd.DataFrame(rows)


def bad_rates(conversations: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Per model: annotated bot turns, the share with any problem, the share per bucket, the mean final rating."""
    rows = []
    for conv in conversations:
        model = conv["task_description"]["model_nickname"]
        for turn in conv["dialog"]:
            data = turn.get("problem_data")
            if turn.get("agent_idx") == 1 and data:
                rows.append(
                    {"model": model, **{k: bool(v) for k, v in data.items()}, "rating": conv.get("final_rating")}
                )
    if not rows:
        return pd.DataFrame(columns=["model", "bot_turns", "bad_rate", "mean_rating"])
    frame = pd.DataFrame(rows)
    buckets = [c for c in frame.columns if c not in ("model", "rating", GOOD)]
    frame["problem"] = frame[buckets].fillna(False).astype(bool).any(axis=1)
    ratings = pd.DataFrame(
        [{"model": c["task_description"]["model_nickname"], "rating": c.get("final_rating")} for c in conversations]
    )
    out = frame.groupby("model").agg(bot_turns=("problem", "size"), bad_rate=("problem", "mean"))
    for bucket in buckets:
        out[f"rate_{bucket}"] = frame.groupby("model")[bucket].apply(lambda s: s.fillna(False).astype(bool).mean())
    out["mean_rating"] = ratings.groupby("model")["rating"].mean()
    return out.reset_index()


def markdown(wins: pd.DataFrame, bad: pd.DataFrame, dropped: Sequence[str], overall_agree: float | None) -> str:
    """The report: the win-rate table, exclusions and agreement, and the bad-rate table."""
    lines = ["# Human evaluation", "", "## Pairwise (ACUTE)", ""]
    if wins.empty:
        lines.append("No pairwise answers.")
    else:
        lines += [
            "| question | model | opponent | wins / ratings | win rate | 95% CI | p | agree |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in wins.itertuples():
            agree = "" if r.agree is None or pd.isna(r.agree) else f"{r.agree:.2f}"
            lines.append(
                f"| {r.question} | {r.model} | {r.opponent} | {r.wins} / {r.ratings} | {r.win_rate:.3f}{r.stars} | "
                f"[{r.ci_low:.3f}, {r.ci_high:.3f}] | {r.p:.4g} | {agree} |"
            )
    lines += ["", f"Workers excluded for a wrong attention-check answer: {len(dropped)}"]
    lines += [f"({', '.join(dropped)})" if dropped else ""]
    lines += [f"Agreement (all pairs with >= 2 ratings): {overall_agree:.3f}" if overall_agree is not None else ""]
    lines += ["", "## Model chat: per-turn annotations", ""]
    if bad.empty:
        lines.append("No annotated model chats.")
    else:
        lines += ["| model | bot turns | bad rate | mean rating |", "|---|---|---|---|"]
        for r in bad.itertuples():
            lines.append(f"| {r.model} | {r.bot_turns} | {r.bad_rate:.3f} | {r.mean_rating:.2f} |")
    return "\n".join(lines).rstrip() + "\n"


def plot(wins: pd.DataFrame, bad: pd.DataFrame, path: Path) -> None:
    """Win rates with their intervals, and bad rates per model, in one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    if not wins.empty:
        labels = [f"{r.model} vs {r.opponent}\n{r.question[:30]}" for r in wins.itertuples()]
        low = (wins["win_rate"] - wins["ci_low"]).to_numpy()
        high = (wins["ci_high"] - wins["win_rate"]).to_numpy()
        axes[0].barh(labels, wins["win_rate"], xerr=[low, high], color="#4a90d9")
        axes[0].axvline(0.5, color="k", linestyle="--", linewidth=1)
    axes[0].set_xlim(0, 1)
    axes[0].set_title("Pairwise win rate (95% CI)")
    if not bad.empty:
        axes[1].bar(bad["model"], bad["bad_rate"], color="#d9534f")
    axes[1].set_ylim(0, 1)
    axes[1].set_title("Bad bot-turn rate (model chat)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def analyze(answers: list[dict[str, Any]], conversations: list[dict[str, Any]], out: str | Path) -> dict[str, Any]:
    """Write ``report.md``, ``report.png``, ``win_rates.csv`` and ``bad_rates.csv`` under ``out``; return a summary."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(answers)
    kept, dropped = exclude_failed_onboarding(frame)
    wins = win_rates(kept) if not kept.empty else pd.DataFrame()
    overall = agreement(kept) if not kept.empty else None
    bad = bad_rates(conversations)
    text = markdown(wins, bad, dropped, overall)
    (out / "report.md").write_text(text, encoding="utf-8")
    wins.to_csv(out / "win_rates.csv", index=False)
    bad.to_csv(out / "bad_rates.csv", index=False)
    plot(wins, bad, out / "report.png")
    return {"markdown": text, "win_rates": wins, "bad_rates": bad, "excluded_workers": dropped, "agree": overall}
