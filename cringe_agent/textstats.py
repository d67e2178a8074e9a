"""Pure statistics over generated replies: rate intervals, diversity, length and unigram F1.

Text is normalised with the rules of ParlAI's ``parlai.core.metrics.normalize_answer`` (lower case, punctuation
and the articles a/an/the replaced by spaces, whitespace collapsed), restated here so that this module imports
neither ParlAI nor torch.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

# The same patterns as parlai/core/metrics.py (re_art, re_punc).
_RE_ART = re.compile(r"\b(a|an|the)\b")
_RE_PUNC = re.compile(r"[!\"#$%&()*+,-./:;<=>?@\[\]\\^`{|}~_\']")


def normalize_answer(text: str) -> str:
    """Lower-case, replace punctuation and articles by spaces, collapse whitespace (ParlAI's rules)."""
    text = _RE_PUNC.sub(" ", text.lower())
    text = _RE_ART.sub(" ", text)
    return " ".join(text.split())


def _require_texts(texts: Sequence[str], name: str) -> None:
    if len(texts) == 0:
        raise ValueError(f"{name} needs at least one text, got none")


def wilson_interval(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion k/n.

    Args:
        k: Number of successes (e.g. flagged replies), ``0 <= k <= n``.
        n: Number of trials. With ``n == 0`` nothing is known and ``(0.0, 1.0)`` is returned.
        z: Normal quantile; 1.96 gives a 95% interval.

    Returns:
        ``(lo, hi)``, both within [0, 1].
    """
    if n < 0 or k < 0 or k > n:
        raise ValueError(f"wilson_interval needs 0 <= k <= n, got k={k}, n={n}")
    if n == 0:
        return 0.0, 1.0
    p = k / n
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1.0 - p) / n + z2 / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def _ngrams(tokens: list[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


def distinct_n(texts: Sequence[str], n: int) -> float:
    """Corpus-level distinct-n: distinct n-grams over all n-grams of all texts (Li et al., 2016).

    Tokens are the words of :func:`normalize_answer`, as in ParlAI's ``interdistinct`` metric. Texts shorter
    than ``n`` tokens contribute no n-gram; when no text has one the result is 0.0.

    Raises:
        ValueError: ``texts`` is empty or ``n < 1``.
    """
    if n < 1:
        raise ValueError(f"distinct_n needs n >= 1, got {n}")
    _require_texts(texts, "distinct_n")
    counts: Counter[tuple[str, ...]] = Counter()
    for text in texts:
        counts.update(_ngrams(normalize_answer(text).split(), n))
    total = sum(counts.values())
    return len(counts) / total if total else 0.0


def top_reply_share(texts: Sequence[str]) -> float:
    """Share of the texts equal to the most common one after :func:`normalize_answer` (1.0 = total collapse).

    Raises:
        ValueError: ``texts`` is empty.
    """
    _require_texts(texts, "top_reply_share")
    counts = Counter(normalize_answer(text) for text in texts)
    return counts.most_common(1)[0][1] / len(texts)


def mean_length(texts: Sequence[str]) -> float:
    """Mean number of whitespace-separated words per text (punctuation attached to a word is not split off).

    Raises:
        ValueError: ``texts`` is empty.
    """
    _require_texts(texts, "mean_length")
    return sum(len(text.split()) for text in texts) / len(texts)


def unigram_f1(pred: str, gold: str) -> float:
    """Unigram F1 between two texts after :func:`normalize_answer`, as ParlAI's ``F1Metric``.

    Returns 0.0 when the texts share no word (including when either is empty).
    """
    pred_tokens = normalize_answer(pred).split()
    gold_tokens = normalize_answer(gold).split()
    same = sum((Counter(pred_tokens) & Counter(gold_tokens)).values())
    if same == 0:
        return 0.0
    precision = same / len(pred_tokens)
    recall = same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)
