"""``cringe_agent.labels``: the feedback of a message from its ``classifier_label`` field, and the -1/0/1 values."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from cringe_agent.labels import LABEL_FIELD, NEG, POS, Feedback, feedback_of
from cringe_agent.loss import cringe_loss


def test_field_and_values_follow_parlai_convention() -> None:
    assert (LABEL_FIELD, POS, NEG) == ("classifier_label", "pos", "neg")
    assert [int(f) for f in (Feedback.UNLABELLED, Feedback.NEGATIVE, Feedback.POSITIVE)] == [-1, 0, 1]


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ({"text": "hi", "labels": ["hello"], LABEL_FIELD: POS}, Feedback.POSITIVE),
        ({"text": "hi", "labels": ["go away"], LABEL_FIELD: NEG}, Feedback.NEGATIVE),
        ({"text": "hi", "labels": ["hello"]}, Feedback.UNLABELLED),  # absent: ordinary data, trained as positive
        ({"text": "hi", LABEL_FIELD: ""}, Feedback.UNLABELLED),  # empty
        ({"text": "hi", LABEL_FIELD: None}, Feedback.UNLABELLED),
        (None, Feedback.UNLABELLED),  # not a mapping (e.g. an empty observation slot)
    ],
    ids=["pos", "neg", "absent", "empty", "none", "not_a_mapping"],
)
def test_feedback_of(message: object, expected: Feedback) -> None:
    assert feedback_of(message) is expected


@pytest.mark.parametrize("value", ["positive", "POS", "Neg", " neg", "ok", 1, 0])
def test_unknown_classifier_label_raises(value: object) -> None:
    """A typo must never train a negative as a positive: anything but pos/neg/absent/empty is an error."""
    with pytest.raises(ValueError, match=rf"classifier_label must be 'pos' or 'neg', got {value!r}"):
        feedback_of({"text": "hi", "labels": ["x"], LABEL_FIELD: value})


def test_feedback_values_drive_the_loss() -> None:
    """The enum's values are what cringe_loss reads: NEGATIVE gets the contrast, the others cross-entropy."""
    messages = [{LABEL_FIELD: POS}, {LABEL_FIELD: NEG}, {}]
    feedback = torch.tensor([int(feedback_of(m)) for m in messages])
    out = cringe_loss(torch.randn(3, 6), torch.tensor([1, 2, 3]), feedback, k=2)
    assert out.negative_mask.tolist() == [False, True, False]
    assert out.positive_mask.tolist() == [True, False, True]


@pytest.mark.integration
def test_import_does_not_import_parlai() -> None:
    code = "import sys, cringe_agent.labels; assert 'parlai' not in sys.modules, 'parlai imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
