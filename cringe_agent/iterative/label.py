"""The loop's labelling step: each generated reply gets the classifier's P(negative) and a ``pos``/``neg`` label."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cringe_agent.classifiers import Classifier
from cringe_agent.labels import NEG, POS


def label_replies(
    prompts: Sequence[dict[str, Any]], replies: Sequence[str], classifier: Classifier, threshold: float, round_: int
) -> list[dict[str, Any]]:
    """Rows of a generations file (see :mod:`cringe_agent.mutators.generations`), one per prompt.

    Args:
        prompts: Contexts ``{"text", "gold"}`` the replies answer.
        replies: The model's replies, aligned with ``prompts``.
        classifier: Labelling classifier (``texts -> P(negative)``); it may read the contexts and golds.
        threshold: P(negative) above which a reply is labelled ``neg``.
        round_: The round the generations train (recorded in each row).

    Raises:
        ValueError: ``replies`` is empty.
    """
    if not replies:
        raise ValueError(f"round {round_}: the model generated nothing for {len(prompts)} prompts")
    contexts = [p["text"] for p in prompts]
    golds = [p.get("gold", "") for p in prompts]
    probs = classifier(list(replies), contexts=contexts, golds=golds)
    return [
        {
            "context": context,
            "text": text,
            "prob": prob,
            "label": NEG if prob > threshold else POS,
            "gold": gold,
            "round": round_,
        }
        for context, gold, text, prob in zip(contexts, golds, replies, probs, strict=True)
    ]
