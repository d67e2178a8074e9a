"""JSON lines and JSON files: strict reading and atomic writing.

Every file the iterative loop hands from one step to the next (generations, selections, reports) goes through
these functions, so that a truncated or hand-edited file fails loudly with its path and line number instead of
silently losing rows, and so that a crash while writing never leaves a half-written file under the final name.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

FieldSpec = Sequence[str] | Mapping[str, type | tuple[type, ...]]


def _type_name(types: type | tuple[type, ...]) -> str:
    if isinstance(types, tuple):
        return " or ".join(t.__name__ for t in types)
    return types.__name__


def read_jsonl(
    path: str | os.PathLike[str],
    required: FieldSpec = (),
    check: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Read a JSON lines file: one JSON object per line.

    Blank lines are ignored; any other line that is not a JSON object is an error, never skipped.

    Args:
        path: The file to read.
        required: Field names every row must have, or a mapping of field name to the type (or tuple of types)
            its value must have. ``bool`` is never accepted where ``int`` or ``float`` is asked for.
        check: Optional further validation of each row: it raises ``ValueError`` with a message naming the
            field, and :func:`read_jsonl` re-raises it prefixed with the file and line.

    Returns:
        The rows, in file order.

    Raises:
        ValueError: A line is not valid UTF-8 (the message gives the byte offset in the file) or not valid JSON
            (for instance a truncated last line), is not an object, lacks a required field or holds a value of the
            wrong type. The message names the file, the line number (1-based) and the field.
    """
    checks: dict[str, type | tuple[type, ...] | None]
    if isinstance(required, Mapping):
        checks = dict(required)
    else:
        if isinstance(required, str):
            raise TypeError(f"required must be a sequence of field names, not the string {required!r}")
        checks = dict.fromkeys(required)
    rows: list[dict[str, Any]] = []
    offset = 0  # byte offset of the line in the file
    with open(path, "rb") as handle:
        for lineno, raw in enumerate(handle, start=1):
            where = f"{os.fspath(path)}, line {lineno}"
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                bad = raw[err.start : err.start + 1].hex()
                raise ValueError(
                    f"{where} (byte offset {offset + err.start}): not valid UTF-8: byte 0x{bad} ({err.reason})"
                ) from None
            offset += len(raw)
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                hint = " (truncated line?)" if not line.endswith("\n") else ""
                raise ValueError(f"{where}: invalid JSON{hint}: {err.msg} at column {err.colno}") from err
            if not isinstance(row, dict):
                raise ValueError(f"{where}: expected a JSON object, got {type(row).__name__}")
            for field, types in checks.items():
                if field not in row:
                    raise ValueError(f"{where}: missing required field {field!r}")
                if types is None:
                    continue
                value = row[field]
                is_bool_for_number = isinstance(value, bool) and not _allows_bool(types)
                if not isinstance(value, types) or is_bool_for_number:
                    got = f"{type(value).__name__} {value!r:.80}"
                    raise ValueError(f"{where}: field {field!r} must be {_type_name(types)}, got {got}")
            if check is not None:
                try:
                    check(row)
                except ValueError as err:
                    raise ValueError(f"{where}: {err}") from err
            rows.append(row)
    return rows


def _allows_bool(types: type | tuple[type, ...]) -> bool:
    return bool in (types if isinstance(types, tuple) else (types,))


@contextlib.contextmanager
def _atomic_open(path: str | os.PathLike[str]):
    """Open a temp file beside ``path`` for writing; on success fsync it and move it onto ``path``."""
    target = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(target))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(target)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    # Make the rename itself durable; not every file system allows opening a directory.
    with contextlib.suppress(OSError):
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def write_jsonl_atomic(path: str | os.PathLike[str], rows: Iterable[Mapping[str, Any]]) -> int:
    """Write rows as JSON lines, atomically: readers see the old file or the whole new one, never a part.

    Args:
        path: The destination; its folder is created if needed.
        rows: JSON-serialisable mappings, one per line.

    Returns:
        The number of rows written.
    """
    count = 0
    with _atomic_open(path) as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count


def write_json_atomic(path: str | os.PathLike[str], obj: Any, indent: int | None = 2) -> None:
    """Write one JSON document atomically (see :func:`write_jsonl_atomic`).

    Args:
        path: The destination; its folder is created if needed.
        obj: A JSON-serialisable object.
        indent: Indentation passed to :func:`json.dumps`.
    """
    with _atomic_open(path) as handle:
        handle.write(json.dumps(obj, ensure_ascii=False, indent=indent) + "\n")
