"""ParlAI teachers of cringe-agent, one folder per data family.

The teachers of ``safety``, ``contradiction`` and ``feedback`` yield one flattened example per judged utterance, in
one of two label conventions chosen by
``--cringe-label-mode`` (``-t ...:cringe_label_mode=classifier`` in a task string):

- ``generator`` (default): ``text`` is the dialogue context (earlier turns joined by ``\\n``, or ``__SILENCE__`` when
  there is none), ``labels`` is ``[the judged utterance]`` and ``classifier_label`` is ``pos``/``neg``. This is what
  the CRINGE agent trains on.
- ``classifier``: ``text`` is the judged utterance (``--cringe-classifier-input reply``, the default) or the context
  and the utterance (``context_reply``), ``labels`` is ``[pos]`` or ``[neg]``: the input of
  ``transformer/classifier --classes pos neg``.

``--cringe-keep pos|neg`` keeps the examples of one polarity only (the pos-only and neg-only streams of a classifier
recipe). Filtering in the teacher rather than with the ``cringe_pos_only``/``cringe_neg_only`` mutators keeps ParlAI's
epoch accounting right: when a mutator drops the last episode of a fold, a looping ``train`` stream never reports
the end of its epoch, and ParlAI's dictionary building (``train:ordered``) never ends.

This module holds what the folders share: the label options, clear errors for missing or malformed data, and the
count of records skipped for lack of a usable label.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import parlai.core.build_data as build_data
import parlai.utils.logging as logging
from parlai.core.message import Message
from parlai.core.params import ParlaiParser
from parlai.utils.misc import str_to_msg

from cringe_agent.labels import LABEL_FIELD

LABEL_MODES = ("generator", "classifier")
KEEP = ("all", "pos", "neg")
CLASSIFIER_INPUTS = ("reply", "context_reply")
# ParlAI's own marker for "no input" (the jsonfile teacher inserts it too); an empty text breaks the encoder.
EMPTY_CONTEXT = "__SILENCE__"
SOURCE_FIELD = "source"


class DataNotFoundError(RuntimeError):
    """A dataset is neither on disk nor downloadable; the message says where to put which files."""


class DataFormatError(ValueError):
    """A data file is malformed; the message names the file, the line (or record) and the field."""

    def __init__(self, path: str, where: str, field: str, problem: str) -> None:
        super().__init__(f"{path}, {where}, field {field!r}: {problem}")
        self.path, self.where, self.field = path, where, field


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
        """Check (or build) the files on disk; raise :class:`DataNotFoundError` when they cannot be had."""

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


def require_data(
    dataset: str, folder: str, version: str | None, files: Iterable[str], build: Callable[[], Any], how_to: str
) -> None:
    """Make sure a dataset is on disk: run ParlAI's ``build`` (its download) when it is not, else raise one error.

    Args:
        dataset: Name shown in the error.
        folder: Folder that holds ``.built`` and the files.
        version: Second line of ``.built`` that ParlAI's build checks (None: no ``.built`` is checked).
        files: Paths relative to ``folder`` the teacher reads.
        build: ParlAI's build for the dataset (downloads on a machine with internet).
        how_to: One sentence on where to get the data.

    Raises:
        DataNotFoundError: The files are missing after the build, or the build failed (e.g. offline).
    """
    files = list(files)

    def missing() -> list[str]:
        return [f for f in files if not os.path.isfile(os.path.join(folder, f))]

    def is_built() -> bool:
        return version is None or build_data.built(folder, version)

    if is_built() and not missing():
        return
    cause = ""
    try:
        build()
    except Exception as err:  # a download fails in many ways; each becomes the one error below
        cause = f"ParlAI's build failed: {type(err).__name__}: {str(err).strip()[:300]}\n"
    if not cause and is_built() and not missing():
        return
    built_line = f"  .built   (two lines: any timestamp, then {version!r})\n" if version else ""
    listing = "".join(f"  {f}\n" for f in files)
    raise DataNotFoundError(
        f"{dataset} data is not available under {folder}.\n{cause}"
        f"Missing: {', '.join(missing()) or '.built (or an old version in it)'}\n"
        f"Expected files under {folder}:\n{built_line}{listing}"
        f"{how_to}\nThen point --datapath (-dp) or $PARLAI_DATAPATH at the folder above it, or run once on a "
        f"machine with internet so that ParlAI downloads it."
    ) from None


class UnusableLabels:
    """Counts the records of one file skipped because their label is missing or unknown, and reports them."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.where: list[str] = []
        self.reason = ""

    def add(self, where: str, reason: str) -> None:
        """Record one skipped record (``where`` is e.g. ``line 3``)."""
        self.where.append(where)
        self.reason = self.reason or reason

    def __len__(self) -> int:
        return len(self.where)

    def report(self) -> int:
        """Log a warning with the count when records were skipped; return the count."""
        if self.where:
            shown = ", ".join(self.where[:10]) + (", ..." if len(self.where) > 10 else "")
            count = len(self.where)
            logging.warning(f"{self.path}: skipped {count} record(s) with no usable label ({shown}); {self.reason}")
        return len(self.where)


def require_field(record: Any, field: str, kind: type | tuple[type, ...], path: str, where: str) -> Any:
    """Return ``record[field]``, raising :class:`DataFormatError` when the record or the field is not as expected."""
    if not isinstance(record, dict):
        got = type(record).__name__
        raise DataFormatError(path, where, field, f"expected a JSON object holding {field!r}, got {got}")
    if field not in record:
        raise DataFormatError(path, where, field, "missing")
    value = record[field]
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise DataFormatError(path, where, field, f"expected {names}, got {type(value).__name__}: {value!r:.80}")
    return value


def load_json(path: str) -> Any:
    """Load one JSON document; a syntax error (e.g. a truncated file) names the file, line and column."""
    with open(path, encoding="utf-8") as f:
        content = f.read()
    try:
        return json.loads(content)
    except json.JSONDecodeError as err:
        raise DataFormatError(path, f"line {err.lineno} column {err.colno}", "(JSON)", err.msg) from None


def read_jsonl(path: str) -> Iterator[tuple[int, Any]]:
    """Yield ``(line number, record)`` for each non-blank line of a JSON-lines file."""
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                yield line_no, json.loads(line)
            except json.JSONDecodeError as err:
                raise DataFormatError(path, f"line {line_no} column {err.colno}", "(JSON)", err.msg) from None


def read_parlai_text(path: str, required: Iterable[str] = ("text",)) -> Iterator[tuple[int, Message]]:
    """Yield ``(line number, message)`` for each non-blank line of a ParlAI text-format file.

    Raises:
        DataFormatError: A TAB-separated field has no ``key:`` prefix (e.g. a line cut short), or a field of
            ``required`` is missing.
    """
    required = list(required)
    with open(path, encoding="utf-8", newline="\n") as f:
        for line_no, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            for index, part in enumerate(line.split("\t")):
                if part and ":" not in part:
                    problem = f"TAB-separated field {index + 1} is not key:value (line cut short?)"
                    raise DataFormatError(path, f"line {line_no}", part[:40], problem)
            message = str_to_msg(line)
            for field in required:
                if field not in message:
                    raise DataFormatError(path, f"line {line_no}", field, "missing")
            yield line_no, message
