"""The ``cringe_generations`` mutator: inject labelled generations of earlier rounds into any task's training data.

A generations file holds one JSON object per line::

    {"context": "hi\\nhow are you?", "text": "shut up", "prob": 0.97, "label": "neg", "gold": "...", "round": 1}

``context`` (str), ``text`` (the model's reply, str), ``prob`` (the classifier's P(negative), a number in [0, 1])
and ``label`` (``pos`` or ``neg``) are required; ``gold`` and ``round`` are optional and passed through.

:func:`select_generations` picks what is trained on, as the paper's iterative CRINGE does: at most
``max_pos_copies`` identical positive replies, then as many positives as negatives (50/50), shuffled with a seed.

Interleaving: the mutator passes every episode of the task through unchanged and, in training datatypes only,
follows it with ``--cringe-generations-rate`` injected single-example episodes on average (fractions carry
over, so a rate of 0.25 injects one after every fourth episode). The injected examples walk through the
selection in a seeded order, reshuffled on each pass, so a pass shows every selected generation exactly once.
To show each generation once per epoch of the task, set the rate to ``len(selection) / task examples``; the
default 1.0 mixes task and generations 1:1, like ``--multitask-weights 1,1``. ParlAI's example counts and epochs
still count the task's episodes only; the injected examples come on top. Valid and test data are never changed.
Each injected example is ``{text: context, labels: [text], classifier_label: label, classifier_prob: prob,
source: "generations", episode_done: True}`` (plus ``gold`` and ``round`` when the row has them).

Options: ``--cringe-generations PATHS`` (comma-separated files), ``--cringe-generations-balance``,
``--cringe-generations-max-pos-copies``, ``--cringe-generations-seed`` and ``--cringe-generations-rate``. ParlAI
registers a mutator's flags only for ``--mutators`` given on the command line; a mutator named inside ``-t``
(``-t task:mutators=cringe_generations:cringe_generations=FILE``) reads the same keys from the task string,
where a comma would start a new task, so give several files there through ``--mutators`` and the flag instead.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from parlai.core.message import Message
from parlai.core.mutators import ManyEpisodeMutator, register_mutator
from parlai.core.params import ParlaiParser
from parlai.utils import logging
from parlai.utils.data import DatatypeHelper

from cringe_agent.jsonl import read_jsonl
from cringe_agent.labels import LABEL_FIELD, NEG, POS

MUTATOR_NAME = "cringe_generations"
SOURCE = "generations"
REQUIRED_FIELDS = {"context": str, "text": str, "prob": (int, float), "label": str}
OPTIONAL_FIELDS = ("gold", "round")

# opt keys, each the flag name with underscores
OPT_PATHS = "cringe_generations"
OPT_BALANCE = "cringe_generations_balance"
OPT_MAX_POS_COPIES = "cringe_generations_max_pos_copies"
OPT_SEED = "cringe_generations_seed"
OPT_RATE = "cringe_generations_rate"
DEFAULTS: dict[str, Any] = {OPT_PATHS: None, OPT_BALANCE: True, OPT_MAX_POS_COPIES: 2, OPT_SEED: 0, OPT_RATE: 1.0}


def _check_row(row: dict[str, Any]) -> None:
    if row["label"] not in (POS, NEG):
        raise ValueError(f"field 'label' must be {POS!r} or {NEG!r}, got {row['label']!r}")
    if not (math.isfinite(row["prob"]) and 0.0 <= row["prob"] <= 1.0):
        raise ValueError(f"field 'prob' must be in [0, 1], got {row['prob']!r}")
    if "gold" in row and not isinstance(row["gold"], str):
        raise ValueError(f"field 'gold' must be str, got {type(row['gold']).__name__}")
    if "round" in row and (isinstance(row["round"], bool) or not isinstance(row["round"], int)):
        raise ValueError(f"field 'round' must be int, got {row['round']!r}")


def split_paths(paths: str | Sequence[str] | None) -> list[str]:
    """Comma-separated paths (or a list of them) as a list, blanks dropped."""
    if paths is None:
        return []
    parts = paths.split(",") if isinstance(paths, str) else list(paths)
    return [p.strip() for p in parts if p and p.strip()]


def read_generations(paths: str | Sequence[str]) -> list[dict[str, Any]]:
    """Read and validate generations files, in order.

    Raises:
        ValueError: No path given, or a malformed line; the message names the file, the line and the field.
    """
    files = split_paths(paths)
    if not files:
        raise ValueError(f"no generations file given (--{OPT_PATHS.replace('_', '-')} PATHS, comma-separated)")
    rows: list[dict[str, Any]] = []
    for path in files:
        rows.extend(read_jsonl(path, REQUIRED_FIELDS, check=_check_row))
    return rows


def select_generations(
    rows: Iterable[Mapping[str, Any]], balance: bool = True, max_pos_copies: int | None = 2, seed: int = 0
) -> list[dict[str, Any]]:
    """Choose the generations to train on, as the paper's iterative CRINGE does.

    Args:
        rows: Generations (dicts with at least ``text`` and ``label``).
        balance: Truncate the larger side to the size of the smaller one (50/50), when both exist.
        max_pos_copies: Keep at most this many positives with the same ``text``; ``None`` or 0 keeps all.
        seed: Seed of which rows are kept and of the order.

    Returns:
        Copies of the kept rows, shuffled.

    Raises:
        ValueError: ``rows`` is empty, or a row lacks a str ``text`` or a ``pos``/``neg`` ``label``.
            (A side with no rows is only logged as a warning, and the other side is kept whole: nothing can
            balance it.)
    """
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
        logging.warning(f"generations: {len(neg)} negatives and {len(pos)} positives; nothing to balance, keeping all")
    elif balance:
        size = min(len(neg), len(pos))
        neg, pos = neg[:size], pos[:size]
    logging.info(
        f"generations: selected {len(neg)} negatives and {len(pos)} positives from {len(rows)} rows "
        f"({dropped} repeated positives dropped)"
    )
    selection = neg + pos
    rng.shuffle(selection)
    return selection


def to_message(row: Mapping[str, Any]) -> Message:
    """The training example of one generation (``episode_done`` is added by the caller)."""
    msg = Message({"text": row["context"], "labels": [row["text"]], LABEL_FIELD: row["label"]})
    msg["classifier_prob"] = float(row["prob"])
    msg["source"] = SOURCE
    for key in OPTIONAL_FIELDS:
        if key in row:
            msg[key] = row[key]
    return msg


def generation_options(opt: Mapping[str, Any]) -> dict[str, Any]:
    """The mutator's options from ``opt``, defaults filled in where absent or None."""
    return {key: default if opt.get(key) is None else opt.get(key) for key, default in DEFAULTS.items()}


def load_selection(opt: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Read the files named in ``opt`` and select from them (:func:`select_generations`)."""
    options = generation_options(opt)
    return select_generations(
        read_generations(options[OPT_PATHS]),
        balance=bool(options[OPT_BALANCE]),
        max_pos_copies=int(options[OPT_MAX_POS_COPIES]),
        seed=int(options[OPT_SEED]),
    )


def add_generation_args(parser: ParlaiParser) -> None:
    """Add the ``--cringe-generations*`` flags (shared by the mutator and ``tasks.generations``)."""
    group = parser.add_argument_group("CRINGE generations")
    group.add_argument(
        "--cringe-generations",
        type=str,
        default=DEFAULTS[OPT_PATHS],
        help="comma-separated generations files (JSON lines: context, text, prob, label)",
    )
    group.add_argument(
        "--cringe-generations-balance",
        type="bool",
        default=DEFAULTS[OPT_BALANCE],
        help="keep as many positives as negatives (50/50)",
    )
    group.add_argument(
        "--cringe-generations-max-pos-copies",
        type=int,
        default=DEFAULTS[OPT_MAX_POS_COPIES],
        help="keep at most this many identical positive replies (0: no limit)",
    )
    group.add_argument(
        "--cringe-generations-seed",
        type=int,
        default=DEFAULTS[OPT_SEED],
        help="seed of the selection and of the injection order",
    )
    group.add_argument(
        "--cringe-generations-rate",
        type=float,
        default=DEFAULTS[OPT_RATE],
        help="injected generations per task episode, in training (mutator only)",
    )


@register_mutator(MUTATOR_NAME)
class CringeGenerationsMutator(ManyEpisodeMutator):
    """Follow each training episode with ``rate`` injected generations on average; valid/test pass unchanged."""

    @classmethod
    def add_cmdline_args(cls, parser: ParlaiParser, partial_opt: Mapping[str, Any] | None = None) -> ParlaiParser:
        add_generation_args(parser)
        return parser

    def __init__(self, opt: Mapping[str, Any]) -> None:
        super().__init__(opt)
        options = generation_options(opt)
        self.training = DatatypeHelper.is_training(opt.get("datatype") or "train")
        self.rate = float(options[OPT_RATE])
        self.seed = int(options[OPT_SEED])
        if self.rate < 0:
            raise ValueError(f"--cringe-generations-rate must be >= 0, got {self.rate}")
        self.selection = load_selection(opt) if self.training else []
        self._order: list[int] = []
        self._passes = 0
        self._credit = 0.0

    def _next(self) -> Message:
        if not self._order:
            self._order = list(range(len(self.selection)))
            random.Random(f"{self.seed}:{self._passes}").shuffle(self._order)
            self._passes += 1
        return to_message(self.selection[self._order.pop()])

    def many_episode_mutation(self, episode: list[Message]) -> list[list[Message]]:
        out = [episode]
        if not self.selection:
            return out
        self._credit += self.rate
        while self._credit >= 1.0:
            out.append([self._next()])
            self._credit -= 1.0
        return out
