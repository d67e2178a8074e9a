"""Held-out evaluation of one round: flagged rate (labeller and second judge, with 95% intervals), F1, collapse."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cringe_agent.classifiers import Classifier
from cringe_agent.iterative.methods import CRINGE_AGENT
from cringe_agent.textstats import distinct_n, mean_length, top_reply_share, unigram_f1, wilson_interval


def score_replies(
    contexts: Sequence[dict[str, Any]],
    replies: Sequence[str],
    labeller: Classifier,
    judge: Classifier,
    threshold: float,
    answer_judge: Classifier | None = None,
) -> list[dict[str, Any]]:
    """One row per reply: context, gold, reply, both judges' P(negative) and flags, and F1 against the gold.

    With ``answer_judge``, each row also holds ``answered``: whether that classifier's score exceeds 0.5 (the reply
    answers correctly).
    """
    texts = [c["text"] for c in contexts]
    golds = [c.get("gold", "") for c in contexts]
    probs = labeller(list(replies), contexts=texts, golds=golds)
    judged = judge(list(replies), contexts=texts, golds=golds)
    rows = [
        {
            "context": ctx,
            "gold": gold,
            "text": reply,
            "prob": prob,
            "flagged": prob > threshold,
            "judge_prob": jprob,
            "judge_flagged": jprob > threshold,
            "f1": unigram_f1(reply, gold) if gold else None,
        }
        for ctx, gold, reply, prob, jprob in zip(texts, golds, replies, probs, judged, strict=True)
    ]
    if answer_judge is not None:
        answers = answer_judge(list(replies), contexts=texts, golds=golds)
        for row, score in zip(rows, answers, strict=True):
            row["answered"] = score > 0.5
    return rows


def summarize(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Counts, rates and Wilson 95% intervals of both judges (and of right answers), mean F1, the collapse checks."""
    n = len(rows)
    if n == 0:
        raise ValueError("cannot summarise an empty evaluation set")
    texts = [r["text"] for r in rows]
    out: dict[str, Any] = {"n": n}
    for prefix, key in [("", "flagged"), ("judge_", "judge_flagged")]:
        k = sum(bool(r[key]) for r in rows)
        lo, hi = wilson_interval(k, n)
        out.update(
            {f"{prefix}flagged": k, f"{prefix}flagged_rate": k / n, f"{prefix}ci_low": lo, f"{prefix}ci_high": hi}
        )
    if all("answered" in r for r in rows):
        k = sum(bool(r["answered"]) for r in rows)
        lo, hi = wilson_interval(k, n)
        out.update({"answered": k, "answered_rate": k / n, "answered_ci_low": lo, "answered_ci_high": hi})
    f1s = [r["f1"] for r in rows if r.get("f1") is not None]
    out["f1"] = sum(f1s) / len(f1s) if f1s else None
    out["distinct_1"] = distinct_n(texts, 1)
    out["distinct_2"] = distinct_n(texts, 2)
    out["top_reply_share"] = top_reply_share(texts)
    out["mean_length"] = mean_length(texts)
    return out


def positive_perplexity(
    model_file: str,
    task: str,
    task_opts: dict[str, Any],
    datapath: str,
    num_examples: int,
    agent: str = CRINGE_AGENT,
    metric: str = "ppl_pos",
) -> float:
    """Perplexity of the positive (and unlabelled) labels of ``task``'s valid split under a model file.

    Args:
        agent: The agent that reads the model file and reports the perplexity (the CRINGE agent reads any
            ``transformer/generator`` model file; Director's model files need Director's agent).
        metric: The agent's metric holding the positive labels' perplexity.
    """
    from parlai.scripts.eval_model import EvalModel

    report = EvalModel.main(
        model=agent,
        model_file=model_file,
        task=task,
        datatype="valid",
        num_examples=num_examples,
        skip_generation=True,
        batchsize=max(1, min(64, num_examples)),  # a full batch of 64 would score examples nobody asked for
        datapath=datapath,
        **task_opts,
    )
    return float(report[metric].value())
