"""The label options of every teacher of :mod:`tasks`, and the examples built in either label convention.

See :mod:`tasks` for the two conventions (``generator``, ``classifier``) and why ``--cringe-keep`` filters in the
teacher.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from parlai.core.params import ParlaiParser

from cringe_agent.labels import LABEL_FIELD

LABEL_MODES = ("generator", "classifier")
KEEP = ("all", "pos", "neg")
CLASSIFIER_INPUTS = ("reply", "context_reply")
# ParlAI's own marker for "no input" (the jsonfile teacher inserts it too); an empty text breaks the encoder.
EMPTY_CONTEXT = "__SILENCE__"
SOURCE_FIELD = "source"


def add_label_args(parser: ParlaiParser) -> None:
    """Add ``--cringe-label-mode``, ``--cringe-classifier-input`` and ``--cringe-keep`` (every teacher of tasks/)."""
    group = parser.add_argument_group("CRINGE label options")
    group.add_argument(
        "--cringe-label-mode",
        type=str,
        default="generator",
        choices=LABEL_MODES,
        help="generator: text=context, labels=[utterance], classifier_label=pos|neg; "
        "classifier: text=utterance, labels=[pos|neg]",
    )
    group.add_argument(
        "--cringe-classifier-input",
        type=str,
        default="reply",
        choices=CLASSIFIER_INPUTS,
        help="classifier mode: classify the utterance alone (reply) or the context and the utterance",
    )
    group.add_argument(
        "--cringe-keep", type=str, default="all", choices=KEEP, help="keep only the examples of this polarity"
    )


def keeps(opt: dict[str, Any], polarity: str) -> bool:
    """Whether ``--cringe-keep`` keeps an example of this polarity."""
    wanted = opt.get("cringe_keep") or "all"
    if wanted not in KEEP:
        raise ValueError(f"cringe_keep must be one of {KEEP}, got {wanted!r}")
    return wanted in ("all", polarity)


def teacher_id(base: str, opt: dict[str, Any]) -> str:
    """A teacher's id, marked with ``--cringe-keep``: ParlAI merges the metrics of tasks that share an id."""
    keep = opt.get("cringe_keep") or "all"
    return base if keep == "all" else f"{base}.keep_{keep}"


class LabelledTeacherMixin:
    """The label options (:func:`add_label_args`) on a ParlAI teacher, whose data is made sure of before it reads.

    Subclasses put ``LabelledTeacherMixin`` first among their bases and override :meth:`ensure_data`.
    """

    @classmethod
    def add_cmdline_args(cls, parser: ParlaiParser, partial_opt: dict | None = None) -> ParlaiParser:
        super().add_cmdline_args(parser, partial_opt)
        add_label_args(parser)
        return parser

    def ensure_data(self, opt: dict[str, Any]) -> None:
        """Check (or build) the files on disk.

        Raises:
            tasks.common.data.DataNotFoundError: The files cannot be had.
        """

    def __init__(self, opt: dict[str, Any], shared: dict | None = None) -> None:
        if not shared:
            self.ensure_data(opt)
        super().__init__(opt, shared)
        self.id = teacher_id(self.id, opt)


def make_example(opt: dict[str, Any], context: Iterable[str], reply: str, polarity: str, **fields: Any) -> dict:
    """Build one example in the label convention of ``opt``.

    Args:
        opt: The teacher's options (``cringe_label_mode``, ``cringe_classifier_input``).
        context: The dialogue turns before the judged utterance, oldest first (may be empty).
        reply: The judged utterance.
        polarity: ``pos`` or ``neg``.
        **fields: Extra message fields kept as they are (source, ids, feedback, ...).

    Returns:
        A message dict without ``episode_done`` (the teacher sets it).
    """
    lines = [line for line in context if line]
    mode = opt.get("cringe_label_mode") or "generator"
    if mode == "generator":
        example = {"text": "\n".join(lines) or EMPTY_CONTEXT, "labels": [reply]}
    elif mode == "classifier":
        with_context = opt.get("cringe_classifier_input") == "context_reply"
        example = {"text": "\n".join([*lines, reply]) if with_context else reply, "labels": [polarity]}
    else:
        raise ValueError(f"cringe_label_mode must be one of {LABEL_MODES}, got {mode!r}")
    example[LABEL_FIELD] = polarity
    example.update(fields)
    return example
