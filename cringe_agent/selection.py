"""Which labelled generations a CRINGE round trains on: the paper authors' selection, free of ParlAI and torch.

The iterative loop calls :func:`select_generations` to write the ``selection.jsonl`` of a round; the
``cringe_generations`` mutator and the ``tasks.generations`` teacher call it on raw generations files.
This module imports neither ParlAI nor torch (it logs through the standard :mod:`logging` module).
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from cringe_agent.labels import NEG, POS

logger = logging.getLogger(__name__)

#: Values of ``empty_side``: what to do when one side (positives or negatives) has no rows.
EMPTY_SIDE_RULES = ("skip", "keep")


def select_generations(
    rows: Iterable[Mapping[str, Any]],
    balance: bool = True,
    max_pos_copies: int | None = 2,
    seed: int = 0,
    empty_side: str = "skip",
) -> list[dict[str, Any]]:
    """Choose the generations to train on, as the paper's iterative CRINGE does.

    Negatives and positives are shuffled apart (seeded); at most ``max_pos_copies`` positives with the same
    ``text`` are kept; with ``balance`` the larger side is cut to the size of the smaller one (50/50); the kept
    rows are shuffled together.

    When one side is empty after the ``max_pos_copies`` cut (with or without ``balance``), ``empty_side`` decides:
    ``"skip"`` (the default; the authors' selection, which cuts both sides to the smaller size, adds nothing then)
    returns ``[]``, and ``"keep"`` keeps the other side whole. Either way a warning is logged.

    Args:
        rows: Generations (dicts with at least a str ``text`` and a ``label`` of ``pos``/``neg``).
        balance: Truncate the larger side to the size of the smaller one (50/50), when both exist.
        max_pos_copies: Keep at most this many positives with the same ``text``; ``None`` or 0 keeps all.
        seed: Seed of which rows are kept and of the order.
        empty_side: ``"skip"`` or ``"keep"`` (see above; :data:`EMPTY_SIDE_RULES`).

    Returns:
        Copies of the kept rows, shuffled; ``[]`` when a side is empty and ``empty_side`` is ``"skip"``.

    Raises:
        ValueError: ``rows`` is empty; a row lacks a str ``text`` or a ``pos``/``neg`` ``label``; ``empty_side`` is
            not one of :data:`EMPTY_SIDE_RULES`; ``max_pos_copies`` is negative.
    """
    if empty_side not in EMPTY_SIDE_RULES:
        raise ValueError(f"empty_side must be one of {EMPTY_SIDE_RULES}, got {empty_side!r}")
    if max_pos_copies is not None and max_pos_copies < 0:
        raise ValueError(f"max_pos_copies must be >= 0 (0 or None: no limit), got {max_pos_copies!r}")
    rows = [dict(r) for r in rows]
    if not rows:
        raise ValueError("no generations to select from: the generations files are empty")
    rng = random.Random(seed)
    for i, row in enumerate(rows):
        if row.get("label") not in (POS, NEG) or not isinstance(row.get("text"), str):
            raise ValueError(f"generation {i} needs a str 'text' and a 'label' of {POS!r}/{NEG!r}: {row!r:.200}")
    neg = [r for r in rows if r["label"] == NEG]
    pos = [r for r in rows if r["label"] == POS]
    rng.shuffle(neg)
    rng.shuffle(pos)
    if max_pos_copies:
        seen: Counter[str] = Counter()
        kept = []
        for row in pos:
            seen[row["text"]] += 1
            if seen[row["text"]] <= max_pos_copies:
                kept.append(row)
        dropped = len(pos) - len(kept)
        pos = kept
    else:
        dropped = 0
    if not neg or not pos:
        counts = f"{len(neg)} negatives and {len(pos)} positives"
        if empty_side == "skip":
            logger.warning(f"generations: {counts}; one side is empty, so none are selected (empty_side='skip')")
            return []
        logger.warning(f"generations: {counts}; one side is empty, keeping the other whole (empty_side='keep')")
    elif balance:
        size = min(len(neg), len(pos))
        neg, pos = neg[:size], pos[:size]
    logger.info(
        f"generations: selected {len(neg)} negatives and {len(pos)} positives from {len(rows)} rows "
        f"({dropped} repeated positives dropped)"
    )
    selection = neg + pos
    rng.shuffle(selection)
    return selection
