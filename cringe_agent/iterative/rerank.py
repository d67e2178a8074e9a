"""The reranker baseline: sample several replies per context, keep the one the classifier scores least negative."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cringe_agent.classifiers import Classifier
from cringe_agent.iterative.generate import generate


def pick_least_negative(candidates: Sequence[Sequence[str]], probs: Sequence[Sequence[float]]) -> list[str]:
    """For each context, the candidate with the lowest P(negative); ties go to the earliest candidate.

    Args:
        candidates: ``candidates[i][j]``: the j-th reply to context i.
        probs: The classifier's P(negative) of each candidate, same shape.
    """
    out = []
    for i, (replies, scores) in enumerate(zip(candidates, probs, strict=True)):
        if not replies or len(replies) != len(scores):
            raise ValueError(f"context {i}: {len(replies)} candidates and {len(scores)} scores")
        best = min(range(len(replies)), key=lambda j: (scores[j], j))
        out.append(replies[best])
    return out


def generate_reranked(
    model_file: str,
    contexts: Sequence[str],
    decoding: dict[str, Any],
    classifier: Classifier,
    candidates: int,
    *,
    seed: int = 0,
    desc: str = "rerank",
) -> list[str]:
    """Sample ``candidates`` replies per context (seeds ``seed``, ``seed + 1``, ...) and keep the least negative.

    The first candidate is the reply :func:`~cringe_agent.iterative.generate.generate` gives with ``seed``, so the
    reranker's choice is never worse, by the classifier, than the model's own sample.
    """
    if candidates < 1:
        raise ValueError(f"candidates must be >= 1, got {candidates}")
    samples = [
        generate(model_file, contexts, decoding, seed=seed + j, desc=f"{desc} {j + 1}/{candidates}")
        for j in range(candidates)
    ]
    per_context = [[samples[j][i] for j in range(candidates)] for i in range(len(contexts))]
    flat = [reply for replies in per_context for reply in replies]
    scores = classifier(flat, contexts=[c for c in contexts for _ in range(candidates)])
    probs = [scores[i * candidates : (i + 1) * candidates] for i in range(len(contexts))]
    return pick_least_negative(per_context, probs)
