"""Converters between the KTO layout and this project's generations files (``tasks/generations/README.md``).

=====================  ==========================================
KTO                    generations
=====================  ==========================================
``prompt``             ``context``
``completion``         ``text``
``label`` true/false   ``label`` ``pos``/``neg``
(none)                 ``prob``: the classifier's P(negative)
=====================  ==========================================

KTO rows carry no classifier probability; :func:`kto_to_generations` writes ``prob`` 0.0 for a good completion and
1.0 for a bad one (a row's own ``prob`` is kept). Other fields (``gold``, ``round``, ...) pass through both ways.
Nothing here imports ParlAI, torch or transformers.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from typing import Any

from cringe_agent.hf.data import read_kto
from cringe_agent.jsonl import read_jsonl, write_jsonl_atomic
from cringe_agent.labels import NEG, POS

GENERATIONS_FIELDS: dict[str, type | tuple[type, ...]] = {
    "context": str,
    "text": str,
    "prob": (int, float),
    "label": str,
}
_RENAMED = {"prompt", "completion", "label", "context", "text", "prob"}


def _check_generation(row: dict[str, Any]) -> None:
    if row["label"] not in (POS, NEG):
        raise ValueError(f"field 'label' must be {POS!r} or {NEG!r}, got {row['label']!r}")
    if not (math.isfinite(row["prob"]) and 0.0 <= row["prob"] <= 1.0):
        raise ValueError(f"field 'prob' must be in [0, 1], got {row['prob']!r}")


def read_generations_file(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read one generations file strictly (the checks of ``tasks/generations``: fields, types, label, prob).

    Args:
        path: A generations jsonl file.

    Returns:
        Its rows, in file order.

    Raises:
        ValueError: A malformed line; the message names the file, the line and the field.
    """
    return read_jsonl(path, GENERATIONS_FIELDS, check=_check_generation)


def _extras(row: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in row.items() if key not in _RENAMED}


def generations_to_kto(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Generations rows (``context``, ``text``, ``label`` pos/neg) as KTO rows.

    Args:
        rows: Rows of a generations file (:func:`read_generations_file`) or a selection of them.

    Returns:
        ``{"prompt": context, "completion": text, "label": label == "pos", **other fields}``; ``prob`` is kept
        as an extra field (KTO readers ignore it; :func:`kto_to_generations` reads it back).

    Raises:
        ValueError: A row's ``label`` is neither ``pos`` nor ``neg`` (the message names the row, 1-based).
    """
    out: list[dict[str, Any]] = []
    for number, row in enumerate(rows, start=1):
        if row.get("label") not in (POS, NEG):
            raise ValueError(f"row {number}: field 'label' must be {POS!r} or {NEG!r}, got {row.get('label')!r}")
        kto = {"prompt": row["context"], "completion": row["text"], "label": row["label"] == POS}
        if "prob" in row:
            kto["prob"] = row["prob"]
        out.append(kto | _extras(row))
    return out


def kto_to_generations(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """KTO rows as generations rows, ready for ``tasks.generations`` and the ``cringe_generations`` mutator.

    Args:
        rows: Validated KTO rows (:func:`cringe_agent.hf.data.load_kto`).

    Returns:
        ``{"context": prompt, "text": completion, "prob": ..., "label": "pos"|"neg", **other fields}``, where
        ``prob`` is the row's own ``prob`` if it has one, else 0.0 for a good and 1.0 for a bad completion.

    Raises:
        ValueError: A row's ``label`` is not a bool (the message names the row, 1-based).
    """
    out: list[dict[str, Any]] = []
    for number, row in enumerate(rows, start=1):
        if not isinstance(row.get("label"), bool):
            raise ValueError(f"row {number}: field 'label' must be bool, got {row.get('label')!r}")
        good = row["label"]
        prob = row.get("prob", 0.0 if good else 1.0)
        generation = {"context": row["prompt"], "text": row["completion"], "prob": prob, "label": POS if good else NEG}
        out.append(generation | _extras(row))
    return out


def convert_file(src: str | os.PathLike[str], dst: str | os.PathLike[str], to: str) -> int:
    """Convert a file between the two layouts, reading strictly and writing atomically.

    Args:
        src: The file to read: a KTO file for ``to="generations"``, a generations file for ``to="kto"``.
        dst: The file to write (its folder is created).
        to: ``"kto"`` or ``"generations"``.

    Returns:
        The number of rows written.

    Raises:
        ValueError: ``to`` is neither, or ``src`` has a malformed line (file, line and field named).
    """
    if to == "kto":
        rows = generations_to_kto(read_generations_file(src))
    elif to == "generations":
        rows = kto_to_generations(read_kto(src))
    else:
        raise ValueError(f"to must be 'kto' or 'generations', got {to!r}")
    return write_jsonl_atomic(dst, rows)
