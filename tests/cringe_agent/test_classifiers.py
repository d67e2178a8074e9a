"""Every classifier spec, the output checks and the errors of build_classifier."""

from __future__ import annotations

import textwrap

import pytest
from tiny_models import NEG_TEXTS, POS_TEXTS

from cringe_agent.classifiers import LexiconMatcher, build_classifier


def test_profanity_separates_obvious_cases():
    probs = build_classifier("profanity")(POS_TEXTS + NEG_TEXTS)
    assert len(probs) == len(POS_TEXTS) + len(NEG_TEXTS)
    assert all(p < 0.5 for p in probs[: len(POS_TEXTS)])
    assert all(p > 0.5 for p in probs[len(POS_TEXTS) :])


def test_lexicon_matches_whole_words_and_phrases():
    judge = build_classifier("lexicon")
    texts = ["what the hell", "Bull shit, man", "that shit's wild", "HELL!", "hello shell", "a classic passage", ""]
    assert judge(texts) == [1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0]


def test_lexicon_matcher_reports_the_match():
    matcher = LexiconMatcher(["darn", "heck no"])
    assert matcher.match("Oh DARN.") == "darn"
    assert matcher.match("well heck no!") == "heck no"
    assert matcher.match("heck yes") is None


def test_f1_needs_golds_and_flags_zero_overlap():
    judge = build_classifier("f1")
    assert judge(["hi there", "the cat", "nope"], golds=["hi you", "a cat", "yes"]) == [0.0, 0.0, 1.0]
    with pytest.raises(ValueError, match="needs golds"):
        judge(["hi"])


def test_misaligned_inputs_are_rejected():
    with pytest.raises(ValueError, match="2 texts but 1 golds"):
        build_classifier("f1")(["a", "b"], golds=["a"])
    with pytest.raises(ValueError, match="2 texts but 3 contexts"):
        build_classifier("lexicon")(["a", "b"], contexts=["x", "y", "z"])
    assert build_classifier("profanity")([]) == []


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    (tmp_path / "my_judges.py").write_text(
        textwrap.dedent(
            """
            def by_context(texts, *, contexts=None, golds=None):
                return [1.0 if c.endswith("?") else 0.0 for c in contexts]

            def too_short(texts, **_):
                return [0.5]

            def out_of_range(texts, **_):
                return [2.0 for _ in texts]

            def raises(texts, **_):
                raise RuntimeError("model server down")

            NOT_CALLABLE = 3
            """
        ),
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    return "my_judges"


def test_module_function_spec(user_module):
    judge = build_classifier(f"{user_module}:by_context")
    assert judge(["a", "b"], contexts=["why?", "ok."]) == [1.0, 0.0]


def test_module_function_outputs_are_checked(user_module):
    with pytest.raises(ValueError, match="returned 1 scores for 2 texts"):
        build_classifier(f"{user_module}:too_short")(["a", "b"])
    with pytest.raises(ValueError, match=r"returned 2\.0 for text 0"):
        build_classifier(f"{user_module}:out_of_range")(["a"])


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("toxicity", "unknown classifier spec 'toxicity'; valid specs: profanity, lexicon, vader, f1, parlai:PATH"),
        ("no_such_module_xyz:fn", "cannot import module 'no_such_module_xyz'"),
        ("json:no_such_function", "has no attribute 'no_such_function'"),
        ("parlai:", "needs a model file path"),
    ],
)
def test_bad_specs(spec, message):
    with pytest.raises(ValueError, match=message):
        build_classifier(spec)


def test_not_callable(user_module):
    with pytest.raises(ValueError, match="is not callable"):
        build_classifier(f"{user_module}:NOT_CALLABLE")


def test_parlai_missing_model_fails_when_built(tmp_path):
    with pytest.raises(ValueError, match="no ParlAI model"):
        build_classifier(f"parlai:{tmp_path / 'nothing'}")


def test_a_failing_classifier_is_named(user_module):
    judge = build_classifier(f"{user_module}:raises")
    with pytest.raises(ValueError, match=r"'my_judges:raises' failed on 2 texts: RuntimeError: model server down"):
        judge(["a", "b"])


@pytest.mark.integration
def test_parlai_classifier_trained_in_test(tiny_classifier):
    """A 1-layer transformer/classifier trained for a few seconds on 10 sentences ranks neg above pos."""
    judge = build_classifier(f"parlai:{tiny_classifier}")
    probs = judge(POS_TEXTS + NEG_TEXTS)
    assert len(probs) == 10 and all(0.0 <= p <= 1.0 for p in probs)
    assert max(probs[:5]) < 0.5 < min(probs[5:])
    # a second call reuses the loaded agent and gives the same scores, whatever the batch split
    assert judge(NEG_TEXTS[:2]) == pytest.approx(probs[5:7], abs=1e-6)


def test_vader_flags_strongly_negative_replies_only():
    judge = build_classifier("vader")
    probs = judge(["that is the worst, i hate it", "that sounds lovely, thanks!", "i went to the store"])
    assert probs[0] > 0.5
    assert probs[1] == 0.0 and probs[2] == 0.0


@pytest.mark.integration
def test_parlai_context_classifier_reads_context_and_reply(tiny_classifier):
    """``parlai+context:`` feeds ``context\\nreply``: a negative context changes the score of a neutral reply."""
    judge = build_classifier(f"parlai+context:{tiny_classifier}")
    alone = build_classifier(f"parlai:{tiny_classifier}")
    reply = POS_TEXTS[0]
    with_neg_context = judge([reply], contexts=[NEG_TEXTS[0]])
    assert with_neg_context == pytest.approx(alone([f"{NEG_TEXTS[0]}\n{reply}"]), abs=1e-6)
    assert with_neg_context != pytest.approx(alone([reply]), abs=1e-6)
    with pytest.raises(ValueError, match="needs the context"):
        judge([reply])
