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
