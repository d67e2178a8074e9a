"""Feedback labels: the message field that marks a label as positive or negative.

ParlAI's own labelled safety data and the Director project mark each label with the message field
``classifier_label`` set to ``pos`` or ``neg``. Messages without it are unlabelled and trained as positive.

:class:`Feedback` is the one definition of the per-token values -1/0/1 that :mod:`cringe_agent.loss` uses. This
module imports nothing of ParlAI (or torch), so that the loss can import it without importing ParlAI.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

LABEL_FIELD = "classifier_label"
POS = "pos"
NEG = "neg"


class Feedback(IntEnum):
    """Per-token feedback value given to :func:`cringe_agent.loss.cringe_loss` (the one place these values live)."""

    UNLABELLED = -1
    NEGATIVE = 0
    POSITIVE = 1


def feedback_of(message: Any) -> Feedback:
    """Return the feedback of a ParlAI message (or any mapping) from its ``classifier_label`` field.

    Args:
        message: A mapping with an optional ``classifier_label`` of ``pos`` or ``neg``.

    Returns:
        ``Feedback.POSITIVE``, ``Feedback.NEGATIVE`` or ``Feedback.UNLABELLED`` when the field is absent.

    Raises:
        ValueError: The field holds anything else, so that a typo never trains a negative as a positive.
    """
    value = message.get(LABEL_FIELD) if hasattr(message, "get") else None
    if value is None or value == "":
        return Feedback.UNLABELLED
    if value == POS:
        return Feedback.POSITIVE
    if value == NEG:
        return Feedback.NEGATIVE
    raise ValueError(f"{LABEL_FIELD} must be {POS!r} or {NEG!r}, got {value!r} in message: {dict(message)!r:.200}")
