"""Text statistics against hand-computed values, and ParlAI's normalisation and F1."""

from __future__ import annotations

import pytest

from cringe_agent.textstats import (
    distinct_n,
    mean_length,
    normalize_answer,
    top_reply_share,
    unigram_f1,
    wilson_interval,
)


def test_wilson_half():
    """5/10, z=1.96: centre (0.5 + 1.9208/10) / 1.38416 = 0.5; half 1.96*sqrt(0.025 + 0.009604)/1.38416 = 0.2634."""
    lo, hi = wilson_interval(5, 10)
    assert lo == pytest.approx(0.2366, abs=1e-4)
    assert hi == pytest.approx(0.7634, abs=1e-4)


def test_wilson_zero_successes():
    """0/10: centre = half = 0.19208/1.38416 = 0.13877, so (0, 0.2775)."""
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0
    assert hi == pytest.approx(0.2775, abs=1e-4)


def test_wilson_all_and_none():
    assert wilson_interval(10, 10)[1] == 1.0
    assert wilson_interval(10, 10)[0] == pytest.approx(1 - 0.2775, abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson_interval(3, 2)
    with pytest.raises(ValueError):
        wilson_interval(-1, 2)


def test_distinct_n():
    texts = ["I like cats!", "i like dogs"]
    assert distinct_n(texts, 1) == pytest.approx(4 / 6)  # i, like, cats, dogs over 6 tokens
    assert distinct_n(texts, 2) == pytest.approx(3 / 4)  # (i like) twice, (like cats), (like dogs)
    assert distinct_n(["hi"], 2) == 0.0
    with pytest.raises(ValueError):
        distinct_n([], 1)
    with pytest.raises(ValueError):
        distinct_n(texts, 0)


def test_top_reply_share_normalises():
    assert top_reply_share(["I don't know.", "i don't know", "yes"]) == pytest.approx(2 / 3)
    assert top_reply_share(["a b", "c d", "e f", "g h"]) == pytest.approx(1 / 4)
    with pytest.raises(ValueError):
        top_reply_share([])


def test_mean_length():
    assert mean_length(["one two three", "four"]) == 2.0
    assert mean_length([""]) == 0.0
    with pytest.raises(ValueError):
        mean_length([])


def test_unigram_f1_by_hand():
    # pred [cat, sat]; gold [cat, sat, down]: P = 1, R = 2/3, F1 = 0.8
    assert unigram_f1("The cat sat.", "a cat sat down") == pytest.approx(0.8)
    assert unigram_f1("hello", "goodbye") == 0.0
    assert unigram_f1("", "") == 0.0
    assert unigram_f1("a the an", "the") == 0.0  # only articles: nothing left


def test_matches_parlai():
    from parlai.core.metrics import F1Metric
    from parlai.core.metrics import normalize_answer as parlai_normalize

    samples = ["Hello, World!", "it's   the_end... (or is it?)", "A man, a plan: Panama", "x-y/z [w] {v} ~u"]
    for s in samples:
        assert normalize_answer(s) == parlai_normalize(s)
    pairs = [("I love my dog", "my dog loves me"), ("yes yes yes", "yes"), ("what?", "nothing")]
    for pred, gold in pairs:
        assert unigram_f1(pred, gold) == pytest.approx(F1Metric.compute(pred, [gold]).value())
