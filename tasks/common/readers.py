"""Strict readers of the data files: a malformed file raises :class:`DataFormatError` naming file, line and field.

Records whose label is missing or unknown are not errors: the teachers skip them and count them with
:class:`UnusableLabels`, which logs one warning per file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

import parlai.utils.logging as logging
from parlai.core.message import Message
from parlai.utils.misc import str_to_msg


class DataFormatError(ValueError):
    """A data file is malformed; the message names the file, the line (or record) and the field."""

    def __init__(self, path: str, where: str, field: str, problem: str) -> None:
        super().__init__(f"{path}, {where}, field {field!r}: {problem}")
        self.path, self.where, self.field = path, where, field


class UnusableLabels:
    """Counts the records of one file skipped because they hold no usable label, and reports them.

    A record is skipped (never silently) when its label is missing or unknown, or when it holds nothing to label
    (e.g. a FITS chat without a bot reply); every skip is added here with its place and reason.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.where: list[str] = []
        self.reasons: list[str] = []  # distinct reasons, in the order first seen

    @property
    def reason(self) -> str:
        """The first reason seen (``""`` when nothing was skipped)."""
        return self.reasons[0] if self.reasons else ""

    def add(self, where: str, reason: str) -> None:
        """Record one skipped record (``where`` is e.g. ``line 3``)."""
        self.where.append(where)
        if reason not in self.reasons:
            self.reasons.append(reason)

    def __len__(self) -> int:
        return len(self.where)

    def report(self) -> int:
        """Log a warning with the count when records were skipped; return the count."""
        if self.where:
            shown = ", ".join(self.where[:10]) + (", ..." if len(self.where) > 10 else "")
            count = len(self.where)
            why = "; ".join(self.reasons[:3]) + ("; ..." if len(self.reasons) > 3 else "")
            logging.warning(f"{self.path}: skipped {count} record(s) with no usable label ({shown}); {why}")
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


def _not_utf8(path: str, line_no: int, offset: int, data: bytes, err: UnicodeDecodeError) -> DataFormatError:
    """The error for the byte ``data[err.start]`` at byte ``offset`` of the file, on line ``line_no``."""
    problem = f"not valid UTF-8: byte 0x{data[err.start : err.start + 1].hex()} ({err.reason})"
    return DataFormatError(path, f"line {line_no} (byte offset {offset})", "(encoding)", problem)


def _lines(path: str) -> Iterator[tuple[int, str]]:
    """Yield ``(line number, text without its newline)`` for each line of a file split on ``\\n`` only.

    Raises:
        DataFormatError: A line is not valid UTF-8 (the message gives its byte offset in the file), or the last
            line does not end with a newline: the file was cut mid-line (truncated download or copy).
    """
    offset = 0
    with open(path, "rb") as f:
        for line_no, raw in enumerate(f, 1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise _not_utf8(path, line_no, offset + err.start, raw, err) from None
            offset += len(raw)
            if not text.endswith("\n"):
                if not text.strip():
                    return  # trailing blanks without a newline hold no record
                problem = (
                    "file ends mid-line: truncated? (the last line has no newline at its end; if the file is "
                    "complete, add one)"
                )
                raise DataFormatError(path, f"line {line_no}", "(end of file)", problem)
            yield line_no, text[:-1]


def check_utf8(path: str) -> None:
    """Check that a file another reader (e.g. ParlAI's) will read is UTF-8 throughout.

    Raises:
        DataFormatError: A byte that is not UTF-8, naming the line and byte offset (where Python's reader would
            raise a bare ``UnicodeDecodeError`` without the path).
    """
    offset = 0
    with open(path, "rb") as f:
        for line_no, raw in enumerate(f, 1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise _not_utf8(path, line_no, offset + err.start, raw, err) from None
            offset += len(raw)


def load_json(path: str) -> Any:
    """Load one JSON document.

    Raises:
        DataFormatError: A syntax error (e.g. a truncated file), naming the line and column, or a byte that is not
            UTF-8, naming the line and byte offset.
    """
    with open(path, "rb") as f:
        data = f.read()
    try:
        content = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise _not_utf8(path, data.count(b"\n", 0, err.start) + 1, err.start, data, err) from None
    try:
        return json.loads(content)
    except json.JSONDecodeError as err:
        raise DataFormatError(path, f"line {err.lineno} column {err.colno}", "(JSON)", err.msg) from None


def read_jsonl(path: str) -> Iterator[tuple[int, Any]]:
    """Yield ``(line number, record)`` for each non-blank line of a JSON-lines file.

    Raises:
        DataFormatError: A line is not valid JSON or not valid UTF-8, or the file ends mid-line (no newline after
            the last record: truncated?).
    """
    for line_no, line in _lines(path):
        if not line.strip():
            continue
        try:
            yield line_no, json.loads(line)
        except json.JSONDecodeError as err:
            raise DataFormatError(path, f"line {line_no} column {err.colno}", "(JSON)", err.msg) from None


def read_parlai_text(path: str, required: Iterable[str] = ("text",)) -> Iterator[tuple[int, Message]]:
    """Yield ``(line number, message)`` for each non-blank line of a ParlAI text-format file.

    Raises:
        DataFormatError: A TAB-separated field has no ``key:`` prefix (e.g. a line cut short), a field of
            ``required`` is missing, a line is not valid UTF-8, or the file ends mid-line (no newline after the
            last line: truncated?).
    """
    required = list(required)
    for line_no, line in _lines(path):
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
