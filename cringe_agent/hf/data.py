"""KTO-layout data for CRINGE training: strict reading and tokenisation for causal and seq2seq models.

A row is ``{"prompt": str, "completion": str, "label": bool}``, the unpaired layout that TRL's KTO trainer reads:
``label`` true marks a good completion (trained with cross-entropy), false a bad one (trained with the contrastive
term of CRINGE, Adolphs et al., 2022, arXiv:2211.05826, Sec. 2, Eq. 1-3). Other fields pass through untouched.

Tokenised examples are dicts of ``input_ids``, ``attention_mask``, ``labels`` (``-100`` where no loss is taken)
and ``feedback`` (one int per example: 1 positive, 0 negative; :class:`cringe_agent.labels.Feedback`), ready for
:class:`cringe_agent.hf.collator.CringeCollator`. Nothing here imports transformers or ``datasets``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from cringe_agent.jsonl import read_jsonl
from cringe_agent.labels import Feedback

IGNORE_INDEX = -100
KTO_FIELDS: dict[str, type] = {"prompt": str, "completion": str, "label": bool}

Example = dict[str, Any]


def read_kto(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read a KTO-layout JSON lines file.

    Args:
        path: One JSON object per line with ``prompt`` (str), ``completion`` (str) and ``label`` (JSON true/false).

    Returns:
        The rows, in file order.

    Raises:
        ValueError: A malformed line (invalid JSON, a missing field, a wrong type such as ``"label": 1``), an empty
            or whitespace completion, or a file without rows; the message names the file, the line or row and the
            field.
    """
    return _check_trainable(read_jsonl(path, KTO_FIELDS), os.fspath(path))


def _check_trainable(rows: list[dict[str, Any]], source: str) -> list[dict[str, Any]]:
    """Refuse no rows at all, and a completion with no text (it would train the end-of-sequence token only)."""
    if not rows:
        raise ValueError(f"{source}: no rows (an empty file or dataset?); nothing to train on")
    for number, row in enumerate(rows, start=1):
        if not row["completion"].strip():
            raise ValueError(
                f"{source}, row {number}: field 'completion' is empty or whitespace; give it the reply's text "
                "or drop the row"
            )
    return rows


def validate_kto(rows: Iterable[Mapping[str, Any]], source: str = "rows") -> list[dict[str, Any]]:
    """Check in-memory KTO rows (a list of dicts or a ``datasets.Dataset``) and return them as a list of dicts.

    Args:
        rows: Mappings with ``prompt``, ``completion`` and ``label`` (a bool; 0/1 or "true" are refused).
        source: Name used in error messages.

    Returns:
        The rows as plain dicts, in order.

    Raises:
        ValueError: A row is not a mapping, lacks a field or holds a wrong type; the message names the row
            (1-based) and the field.
    """
    if isinstance(rows, Mapping):
        raise ValueError(
            f"{source}: expected rows (a list of dicts or a datasets.Dataset), got a mapping with keys "
            f"{sorted(rows)[:5]} (a DatasetDict? pick a split, e.g. data['train'])"
        )
    checked: list[dict[str, Any]] = []
    for number, row in enumerate(rows, start=1):
        where = f"{source}, row {number}"
        if not isinstance(row, Mapping):
            raise ValueError(f"{where}: expected a mapping, got {type(row).__name__}")
        for field, kind in KTO_FIELDS.items():
            if field not in row:
                raise ValueError(f"{where}: missing required field {field!r}")
            if not isinstance(row[field], kind):
                got = f"{type(row[field]).__name__} {row[field]!r:.80}"
                raise ValueError(f"{where}: field {field!r} must be {kind.__name__}, got {got}")
        checked.append(dict(row))
    return _check_trainable(checked, source)


def load_kto(source: str | os.PathLike[str] | Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """KTO rows from a jsonl path, a ``datasets.Dataset`` or a list of dicts, validated.

    Args:
        source: A path to read with :func:`read_kto`, or rows to check with :func:`validate_kto`.

    Returns:
        The rows as a list of dicts.
    """
    if isinstance(source, (str, os.PathLike)):
        return read_kto(source)
    return validate_kto(source, source=type(source).__name__)


def feedback_of_row(row: Mapping[str, Any]) -> int:
    """The CRINGE feedback of a KTO row: 1 (positive) for ``label`` true, 0 (negative) for false."""
    return int(Feedback.POSITIVE if row["label"] else Feedback.NEGATIVE)


def _ids(tokenizer: Any, text: str, special: bool) -> list[int]:
    return list(tokenizer(text, add_special_tokens=special)["input_ids"])


def _with_eos(ids: list[int], eos: int | None, add_eos: bool) -> list[int]:
    if add_eos and eos is not None and (not ids or ids[-1] != eos):
        return [*ids, eos]
    return ids


def tokenize_causal(
    rows: Iterable[Mapping[str, Any]],
    tokenizer: Any,
    max_length: int | None = None,
    add_eos: bool = True,
) -> list[Example]:
    """Tokenise KTO rows for a causal LM: ``prompt + completion`` as one sequence, loss on the completion only.

    The prompt is tokenised with the tokenizer's special tokens (a BOS where it adds one), the completion without
    them and then followed by the EOS token (``add_eos``), so that the model also learns where a good reply stops
    and, for a bad one, is pushed away from it to its end. The two are tokenised separately, so no token spans the
    boundary. Labels are ``-100`` on the prompt tokens. Over ``max_length``, the completion is cut at its end and
    the prompt at its start.

    Args:
        rows: Validated KTO rows (:func:`load_kto`).
        tokenizer: A transformers tokenizer (called as ``tokenizer(text, add_special_tokens=...)``).
        max_length: Longest sequence in tokens, or None for no limit.
        add_eos: Append ``tokenizer.eos_token_id`` to each completion.

    Returns:
        One example per row: ``input_ids``, ``attention_mask``, ``labels``, ``feedback``.

    Raises:
        ValueError: A completion gives no token to train on (the message names the row).
    """
    eos = getattr(tokenizer, "eos_token_id", None)
    examples: list[Example] = []
    for number, row in enumerate(rows, start=1):
        prompt = _ids(tokenizer, row["prompt"], special=True)
        completion = _with_eos(_ids(tokenizer, row["completion"], special=False), eos, add_eos)
        if max_length is not None:
            completion = completion[:max_length]
            room = max_length - len(completion)
            prompt = prompt[max(0, len(prompt) - room) :] if room else []
        if not completion:
            raise ValueError(f"row {number}: field 'completion' gives no tokens to train on: {row['completion']!r}")
        input_ids = prompt + completion
        examples.append(
            {
                "input_ids": input_ids,
                "attention_mask": [1] * len(input_ids),
                "labels": [IGNORE_INDEX] * len(prompt) + completion,
                "feedback": feedback_of_row(row),
            }
        )
    return examples


def tokenize_seq2seq(
    rows: Iterable[Mapping[str, Any]],
    tokenizer: Any,
    max_length: int | None = None,
    add_eos: bool = True,
) -> list[Example]:
    """Tokenise KTO rows for an encoder-decoder model: the prompt to the encoder, the completion as labels.

    Both are tokenised with the tokenizer's special tokens; each completion ends with the EOS token (``add_eos``,
    not doubled where the tokenizer adds it, as T5's does). Over ``max_length`` each side is cut at its end.

    Args:
        rows: Validated KTO rows (:func:`load_kto`).
        tokenizer: A transformers tokenizer.
        max_length: Longest encoder input and longest label sequence in tokens, or None for no limit.
        add_eos: End each label sequence with ``tokenizer.eos_token_id``.

    Returns:
        One example per row: ``input_ids``, ``attention_mask``, ``labels``, ``feedback``.

    Raises:
        ValueError: A completion gives no token to train on (the message names the row).
    """
    eos = getattr(tokenizer, "eos_token_id", None)
    examples: list[Example] = []
    for number, row in enumerate(rows, start=1):
        source = _ids(tokenizer, row["prompt"], special=True)[:max_length]
        labels = _with_eos(_ids(tokenizer, row["completion"], special=True), eos, add_eos)[:max_length]
        if not labels:
            raise ValueError(f"row {number}: field 'completion' gives no tokens to train on: {row['completion']!r}")
        examples.append(
            {
                "input_ids": source,
                "attention_mask": [1] * len(source),
                "labels": labels,
                "feedback": feedback_of_row(row),
            }
        )
    return examples
