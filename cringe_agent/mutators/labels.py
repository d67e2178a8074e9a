"""Label mutators: keep positives or negatives, relabel other conventions to ``pos``/``neg``.

Registered names (join several with ``+`` in a ``-t`` string, e.g. ``:mutators=cringe_relabel+cringe_neg_only``):

- ``cringe_pos_only``: keeps the messages whose polarity is ``pos``; negatives are dropped.
- ``cringe_neg_only``: keeps the messages whose polarity is ``neg``; positives are dropped.
- ``cringe_relabel``: sets ``classifier_label`` to ``pos``/``neg`` from another convention and, when the label text
  itself is a class (``__ok__``, ``safe``, ...), rewrites it to ``pos``/``neg`` too.

A message's polarity is read from its ``classifier_label`` field (generator convention: the label is the reply),
else from its first label when that label is a class name (classifier convention: the label is the class).
A message whose polarity cannot be read raises ``ValueError``, so that a typo never trains a negative as a positive.

Caveat of ParlAI 1.7.2: when a filter drops the **last** episode of a fold, a looping ``train`` stream wraps around
without reporting the end of its epoch, so ``build_dict`` (run by ``train_model`` over ``train:ordered``) never
ends. Build the dictionary without the filter (``--dict-file``), or filter in the teacher: every teacher of
``tasks/`` takes ``--cringe-keep pos|neg``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from parlai.core.message import Message
from parlai.core.mutators import ManyEpisodeMutator, MessageMutator, register_mutator
from parlai.core.opt import Opt
from parlai.core.params import ParlaiParser

from cringe_agent.labels import LABEL_FIELD, NEG, POS

# Class names used by ParlAI's safety data (__ok__/__notok__), by the safety_mix and BAD docs (safe/unsafe), by
# DECODE's classification framing (non_contradiction/contradiction) and by this project (pos/neg).
POLARITY_OF: dict[str, str] = {
    POS: POS,
    NEG: NEG,
    "__ok__": POS,
    "__notok__": NEG,
    "safe": POS,
    "unsafe": NEG,
    "non_contradiction": POS,
    "contradiction": NEG,
}
RELABEL_SOURCES = ("auto", "classifier_label", "labels", "metrics")


def _first_label(message: Mapping[str, Any]) -> str | None:
    labels = message.get("labels") or message.get("eval_labels")
    return str(labels[0]) if labels else None


def _describe(message: Mapping[str, Any]) -> str:
    return f"id={message.get('id')!r}, text={str(message.get('text'))[:80]!r}"


def polarity_of(message: Mapping[str, Any]) -> str:
    """Return ``pos`` or ``neg`` for a message, from ``classifier_label`` or else from a class-name label.

    Raises:
        ValueError: Neither the field nor the first label names a known class.
    """
    value = message.get(LABEL_FIELD)
    if value not in (None, ""):
        if str(value) in POLARITY_OF:
            return POLARITY_OF[str(value)]
        raise ValueError(
            f"unknown {LABEL_FIELD} {value!r} (known: {sorted(POLARITY_OF)}) in message {_describe(message)}"
        )
    label = _first_label(message)
    if label in POLARITY_OF:
        return POLARITY_OF[label]
    raise ValueError(
        f"message has no {LABEL_FIELD} and its label {label!r} is not a class name (known: {sorted(POLARITY_OF)}); "
        f"run cringe_relabel first or use a teacher of tasks/: {_describe(message)}"
    )


def _metric(metrics: Mapping[str, Any], key: str, message: Mapping[str, Any]) -> float:
    """A world-log metric as a float; a value that is not a finite number (NaN, text) raises ``ValueError``."""
    value = metrics[key]
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not math.isfinite(number):
        raise ValueError(
            f"cringe_relabel: metric {key!r} must be a finite number, got {value!r} in {_describe(message)}"
        )
    return number


def relabel_options(opt: Mapping[str, Any]) -> tuple[str, float]:
    """``--cringe-relabel-from`` and ``--cringe-relabel-f1-threshold`` from ``opt``, checked.

    A missing or None value takes its default (``auto``, 0.0): a mutator named in a ``-t`` string gets no argparse
    defaults, and its values arrive there as strings.

    Args:
        opt: ParlAI's opt (or any mapping).

    Returns:
        The source (one of :data:`RELABEL_SOURCES`) and the threshold (a finite float in [0, 1]).

    Raises:
        ValueError: A value of the wrong type or range; the message names the flag.
    """
    source = opt.get("cringe_relabel_from")
    source = "auto" if source is None else source
    if source not in RELABEL_SOURCES:
        raise ValueError(
            f"--cringe-relabel-from (cringe_relabel_from) must be one of {', '.join(RELABEL_SOURCES)}, got {source!r}"
        )
    raw = opt.get("cringe_relabel_f1_threshold")
    raw = 0.0 if raw is None else raw
    try:
        threshold = float(raw)
    except (TypeError, ValueError):
        threshold = math.nan
    if isinstance(raw, bool) or not (math.isfinite(threshold) and 0.0 <= threshold <= 1.0):
        raise ValueError(f"--cringe-relabel-f1-threshold must be a finite number in [0, 1] (an F1), got {raw!r}")
    return source, threshold


class _PolarityFilter(ManyEpisodeMutator):
    """Keep only the messages of one polarity; an episode left empty is dropped."""

    keep: str = POS

    def many_episode_mutation(self, episode: list[Message]) -> list[list[Message]]:
        kept = [message for message in episode if polarity_of(message) == self.keep]
        return [kept] if kept else []


@register_mutator("cringe_pos_only")
class PosOnlyMutator(_PolarityFilter):
    """Keeps positive messages (``classifier_label`` or class label ``pos``/``__ok__``/...); drops negatives."""

    keep = POS


@register_mutator("cringe_neg_only")
class NegOnlyMutator(_PolarityFilter):
    """Keeps negative messages (``classifier_label`` or class label ``neg``/``__notok__``/...); drops positives."""

    keep = NEG


@register_mutator("cringe_relabel")
class RelabelMutator(MessageMutator):
    """Sets ``classifier_label`` to ``pos``/``neg`` from another label convention; text is never changed.

    Sources, tried in this order with ``--cringe-relabel-from auto``:

    1. ``classifier_label`` holding a known class name (``__notok__`` -> ``neg``, ``safe`` -> ``pos``, ...);
    2. the first label, when it is a class name (classifier convention); the label is then rewritten to
       ``pos``/``neg`` too. A label is left alone when the polarity came from ``classifier_label`` (it is a reply);
    3. per-example metrics of a world log (``metrics`` or ``y_turn.metrics``): ``classifier_accuracy`` 1/0, else
       ``f1``: at or below ``--cringe-relabel-f1-threshold`` (default 0, i.e. F1 = 0) is ``neg``, above is ``pos``.

    Both flags are checked when the mutator is built (:func:`relabel_options`): a source outside
    :data:`RELABEL_SOURCES`, or a threshold that is not a finite number in [0, 1] (``nan`` would make every reply
    ``neg``), raises ``ValueError`` naming the flag; so does a metric that is not a finite number.
    """

    @classmethod
    def add_cmdline_args(cls, parser: ParlaiParser, partial_opt: Opt | None = None) -> ParlaiParser:
        group = parser.add_argument_group("cringe_relabel mutator")
        group.add_argument(
            "--cringe-relabel-from",
            type=str,
            default="auto",
            choices=RELABEL_SOURCES,
            help="where the label comes from (auto: classifier_label, then a class-name label, then metrics)",
        )
        group.add_argument(
            "--cringe-relabel-f1-threshold",
            type=float,
            default=0.0,
            help="with metrics: an F1 at or below this value is a negative (a finite number in [0, 1])",
        )
        return parser

    def __init__(self, opt: Opt) -> None:
        super().__init__(opt)
        self.source, self.f1_threshold = relabel_options(opt)

    def _from_metrics(self, message: Message) -> str | None:
        metrics = message.get("metrics") or (message.get("y_turn") or {}).get("metrics") or {}
        for key in ("pos_classifier_prediction", "classifier_accuracy"):
            if metrics.get(key) is not None:
                return POS if _metric(metrics, key, message) >= 0.5 else NEG
        if metrics.get("f1") is not None:
            return POS if _metric(metrics, "f1", message) > self.f1_threshold else NEG
        return None

    def message_mutation(self, message: Message) -> Message:
        field = message.get(LABEL_FIELD)
        label = _first_label(message)
        found: str | None = None
        label_is_class = False
        if self.source in ("auto", "classifier_label") and field not in (None, ""):
            found = POLARITY_OF.get(str(field))
        if found is None and self.source in ("auto", "labels") and label in POLARITY_OF:
            found, label_is_class = POLARITY_OF[label], True
        if found is None and self.source in ("auto", "metrics"):
            found = self._from_metrics(message)
        if found is None:
            raise ValueError(
                f"cringe_relabel (from {self.source}) found no usable label: {LABEL_FIELD}={field!r}, "
                f"label={label!r}, no classifier_accuracy/f1 metrics; known classes {sorted(POLARITY_OF)}; "
                f"message {_describe(message)}"
            )
        message = message.copy()
        if label_is_class:
            key = "labels" if message.get("labels") else "eval_labels"
            message.force_set(key, [POLARITY_OF[label]])
        message.force_set(LABEL_FIELD, found)
        return message
