"""The ``cringe_generations`` mutator: inject labelled generations of earlier rounds into any task's training data.

A generations file holds one JSON object per line::

    {"context": "hi\\nhow are you?", "text": "shut up", "prob": 0.97, "label": "neg", "gold": "...", "round": 1}

``context`` (str), ``text`` (the model's reply, str), ``prob`` (the classifier's P(negative), a number in [0, 1])
and ``label`` (``pos`` or ``neg``) are required; ``gold`` and ``round`` are optional and passed through.

What is trained on: with ``--cringe-generations-select true`` (the default) the rows are chosen by
:func:`cringe_agent.selection.select_generations`, as the paper's iterative CRINGE does: at most
``--cringe-generations-max-pos-copies`` identical positive replies, then as many positives as negatives (50/50),
shuffled with a seed; when one side is empty, ``--cringe-generations-empty-side skip`` (the default) selects
nothing and ``keep`` keeps the other side whole (a warning either way). With ``--cringe-generations-select false``
every row of the files is used as it is: for files that are already a selection, such as the loop's
``selection.jsonl`` (an empty file then injects nothing, with a warning). ``select_generations`` is re-exported here.

Interleaving: the mutator passes every episode of the task through unchanged and, in training datatypes only,
follows it with ``--cringe-generations-rate`` injected single-example episodes on average (a finite number >= 0;
fractions carry over, so a rate of 0.25 injects one after every fourth episode). The injected examples walk through
the selection in a seeded order, reshuffled on each pass, so a pass shows every selected generation exactly once.
To show each generation once per epoch of the task, set the rate to ``len(selection) / task examples``; the
default 1.0 mixes task and generations 1:1, like ``--multitask-weights 1,1``. ParlAI's example counts and epochs
still count the task's episodes only; the injected examples come on top. Valid and test data are never changed.
Each injected example is ``{text: context, labels: [text], classifier_label: label, classifier_prob: prob,
source: "generations", episode_done: True}`` (plus ``gold`` and ``round`` when the row has them).

Options: ``--cringe-generations PATHS`` (comma-separated files), ``--cringe-generations-select``,
``--cringe-generations-balance``, ``--cringe-generations-max-pos-copies``, ``--cringe-generations-empty-side``,
``--cringe-generations-seed`` and ``--cringe-generations-rate``. ParlAI registers a mutator's flags only for
``--mutators`` given on the command line; a mutator named inside ``-t``
(``-t task:mutators=cringe_generations:cringe_generations=FILE``) reads the same keys from the task string,
where a comma would start a new task, so give several files there through ``--mutators`` and the flag instead.

Which tasks it works on (ParlAI 1.7.2; line numbers are in ``site-packages/parlai``):

* ``--mutators`` is resolved by name while the task's flags are added: ``Teacher.add_cmdline_args`` calls
  ``Mutator.load_mutator_types`` (``core/teachers.py:173-177``), a plain ``MUTATOR_REGISTRY[name]`` lookup
  (``core/mutators.py:96``). There is no ``module:Class`` form.
* ParlAI fills that registry itself only from ``parlai.mutators`` (inside site-packages) and from
  ``parlai_fb.mutators`` / ``parlai_internal.mutators`` when those packages exist (``core/mutators.py:23-51``).
  Anything else must have been imported, and so registered, before the lookup.
* ``parlai <command>`` and ``Script.main(**kwargs)`` parse the arguments twice:

  - Pass 1: ``_SupercommandParser.add_extra_args`` (``core/script.py:166-178``, called from
    ``core/params.py:1169``), or ``_kwargs_to_str_args`` (``core/params.py:1238``) for ``Script.main``. In this pass
    ``--mutators`` is still an unknown flag, because ``Teacher.add_cmdline_args`` is what declares it
    (``core/teachers.py:167-172``). So nothing is resolved yet, but every ``-t`` task module
    (``core/params.py:937-943``) and the ``-m`` module (``core/params.py:945-948``) are imported.
  - Pass 2: ``_SubcommandParser.parse_known_args`` (``core/script.py:230-233``), or ``parse_args`` after
    ``_kwargs_to_str_args``. This pass resolves ``--mutators`` and adds the mutator's flags.

  So the mutator resolves whenever a module imported in pass 1 imports ``cringe_agent.mutators``:

  - every task module of this project does, so ``-t tasks.chitchat.agents --mutators cringe_generations`` works,
    and so does a multitask string that holds a task of this project anywhere
    (``-t blended_skill_talk,tasks.safety.agents:BadTeacher``);
  - a ``-m`` module that imports it makes ``--mutators cringe_generations`` work with a stock task alone
    (``-t integration_tests``). For ``-m cringe_agent.agents.transformer:CringeTransformerGeneratorAgent`` that
    takes ``cringe_agent/agents/__init__.py`` to import ``cringe_agent.mutators``. Without that import (or with
    another model, e.g. ``transformer/generator``) parsing stops with ``KeyError: 'cringe_generations'``.
* ``python -m parlai.scripts.<command>`` parses once (``core/script.py:95-100``). The mutator's flags are then
  never added, for any task, and ``--cringe-generations`` is an unrecognized argument. Use ``parlai <command>``,
  or name the mutator and its keys in the task string.
* Not used: a ``.pth`` file, edits of site-packages and monkeypatches, which change ParlAI for every program in the
  environment. The package does not ship a ``parlai_internal`` either. That package is the user's own private
  folder (``core/loader.py:92-94``; ``example_parlai_internal/README.md`` in the wheel), and one shipped here
  would shadow the user's folder or be shadowed by it. Importing ``parlai_fb`` also switches ParlAI's file I/O
  (``utils/io.py:22-29``).
* With any model, including a stock task alone, two routes need nothing from the model:

  1. Multitask with the generations teacher:
     ``-t integration_tests,tasks.generations.agents --cringe-generations FILE --multitask-weights 1,1``.
  2. If you keep a ``parlai_internal`` folder, add ``parlai_internal/mutators/cringe.py`` containing
     ``import cringe_agent.mutators``. ParlAI imports it while it fills the registry (``core/mutators.py:41-49``).
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from typing import Any

from parlai.core.message import Message
from parlai.core.mutators import ManyEpisodeMutator, register_mutator
from parlai.core.params import ParlaiParser
from parlai.utils import logging
from parlai.utils.data import DatatypeHelper

from cringe_agent.jsonl import read_jsonl
from cringe_agent.labels import LABEL_FIELD, NEG, POS
from cringe_agent.selection import EMPTY_SIDE_RULES, select_generations

__all__ = [
    "CringeGenerationsMutator",
    "DEFAULTS",
    "EMPTY_SIDE_RULES",
    "add_generation_args",
    "generation_options",
    "load_selection",
    "read_generations",
    "select_generations",
    "split_paths",
    "to_message",
]

MUTATOR_NAME = "cringe_generations"
SOURCE = "generations"
REQUIRED_FIELDS = {"context": str, "text": str, "prob": (int, float), "label": str}
OPTIONAL_FIELDS = ("gold", "round")

# opt keys, each the flag name with underscores
OPT_PATHS = "cringe_generations"
OPT_SELECT = "cringe_generations_select"
OPT_BALANCE = "cringe_generations_balance"
OPT_MAX_POS_COPIES = "cringe_generations_max_pos_copies"
OPT_EMPTY_SIDE = "cringe_generations_empty_side"
OPT_SEED = "cringe_generations_seed"
OPT_RATE = "cringe_generations_rate"
DEFAULTS: dict[str, Any] = {
    OPT_PATHS: None,
    OPT_SELECT: True,
    OPT_BALANCE: True,
    OPT_MAX_POS_COPIES: 2,
    OPT_EMPTY_SIDE: "skip",
    OPT_SEED: 0,
    OPT_RATE: 1.0,
}


def _check_row(row: dict[str, Any]) -> None:
    if row["label"] not in (POS, NEG):
        raise ValueError(f"field 'label' must be {POS!r} or {NEG!r}, got {row['label']!r}")
    if not (math.isfinite(row["prob"]) and 0.0 <= row["prob"] <= 1.0):
        raise ValueError(f"field 'prob' must be in [0, 1], got {row['prob']!r}")
    if "gold" in row and not isinstance(row["gold"], str):
        raise ValueError(f"field 'gold' must be str, got {type(row['gold']).__name__}")
    if "round" in row and (isinstance(row["round"], bool) or not isinstance(row["round"], int)):
        raise ValueError(f"field 'round' must be int, got {row['round']!r}")


def _flag(key: str) -> str:
    """The command-line flag of an opt key."""
    return "--" + key.replace("_", "-")


def split_paths(paths: str | Sequence[str] | None) -> list[str]:
    """Comma-separated paths (or a list of them) as a list, blanks dropped."""
    if paths is None:
        return []
    parts = paths.split(",") if isinstance(paths, str) else list(paths)
    return [p.strip() for p in parts if p and p.strip()]


def read_generations(paths: str | Sequence[str]) -> list[dict[str, Any]]:
    """Read and validate generations files, in order.

    Args:
        paths: Comma-separated paths, or a list of them.

    Returns:
        The rows of all files, in file and line order (empty files give no rows).

    Raises:
        ValueError: No path given, or a malformed line; the message names the file, the line and the field.
    """
    files = split_paths(paths)
    if not files:
        raise ValueError(f"no generations file given ({_flag(OPT_PATHS)} PATHS, comma-separated)")
    rows: list[dict[str, Any]] = []
    for path in files:
        rows.extend(read_jsonl(path, REQUIRED_FIELDS, check=_check_row))
    return rows


def to_message(row: Mapping[str, Any]) -> Message:
    """The training example of one generation (``episode_done`` is added by the caller)."""
    msg = Message({"text": row["context"], "labels": [row["text"]], LABEL_FIELD: row["label"]})
    msg["classifier_prob"] = float(row["prob"])
    msg["source"] = SOURCE
    for key in OPTIONAL_FIELDS:
        if key in row:
            msg[key] = row[key]
    return msg


def _as_bool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError(f"{_flag(key)} must be true or false, got {value!r}")


def _as_int(key: str, value: Any, minimum: int | None = None) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: int(inf)
        raise ValueError(f"{_flag(key)} must be an integer, got {value!r}") from None
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError(f"{_flag(key)} must be an integer, got {value!r}")
    if minimum is not None and number < minimum:
        raise ValueError(f"{_flag(key)} must be >= {minimum}, got {value!r}")
    return number


def generation_options(opt: Mapping[str, Any]) -> dict[str, Any]:
    """The mutator's options from ``opt``: defaults filled in where absent or None, types checked.

    Args:
        opt: ParlAI's opt (or any mapping) with some of the keys of :data:`DEFAULTS`.

    Returns:
        One value per key of :data:`DEFAULTS`: the paths as given, ``select``/``balance`` as bool,
        ``max_pos_copies``/``seed`` as int, ``empty_side`` one of :data:`EMPTY_SIDE_RULES`, ``rate`` a finite
        float >= 0.

    Raises:
        ValueError: A value of the wrong type or range; the message names the flag.
    """
    options = {key: default if opt.get(key) is None else opt.get(key) for key, default in DEFAULTS.items()}
    options[OPT_SELECT] = _as_bool(OPT_SELECT, options[OPT_SELECT])
    options[OPT_BALANCE] = _as_bool(OPT_BALANCE, options[OPT_BALANCE])
    options[OPT_MAX_POS_COPIES] = _as_int(OPT_MAX_POS_COPIES, options[OPT_MAX_POS_COPIES], minimum=0)
    options[OPT_SEED] = _as_int(OPT_SEED, options[OPT_SEED])
    if options[OPT_EMPTY_SIDE] not in EMPTY_SIDE_RULES:
        raise ValueError(
            f"{_flag(OPT_EMPTY_SIDE)} must be one of {', '.join(EMPTY_SIDE_RULES)}, got {options[OPT_EMPTY_SIDE]!r}"
        )
    rate = options[OPT_RATE]
    try:
        rate = float(rate)
    except (TypeError, ValueError):
        raise ValueError(f"{_flag(OPT_RATE)} must be a number >= 0, got {rate!r}") from None
    if isinstance(options[OPT_RATE], bool) or not math.isfinite(rate) or rate < 0:
        raise ValueError(f"{_flag(OPT_RATE)} must be a finite number >= 0, got {options[OPT_RATE]!r}")
    options[OPT_RATE] = rate
    return options


def load_selection(opt: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The generations to train on, from the files named in ``opt``.

    With ``cringe_generations_select`` true (the default), :func:`select_generations` chooses them (balance, max
    positive copies, empty-side rule, seed); with it false, every row of the files is used as it is.

    Args:
        opt: ParlAI's opt (or any mapping) with the keys of :data:`DEFAULTS`.

    Returns:
        The rows to train on; ``[]`` (with a warning) when the selection or the unselected files are empty.

    Raises:
        ValueError: Bad options, no file, a malformed line, or (when selecting) files with no rows at all.
    """
    options = generation_options(opt)
    rows = read_generations(options[OPT_PATHS])
    if not options[OPT_SELECT]:
        if not rows:
            logging.warning(
                f"generations: {options[OPT_PATHS]} hold no rows ({_flag(OPT_SELECT)} false): nothing to train on"
            )
        return rows
    return select_generations(
        rows,
        balance=options[OPT_BALANCE],
        max_pos_copies=options[OPT_MAX_POS_COPIES],
        seed=options[OPT_SEED],
        empty_side=options[OPT_EMPTY_SIDE],
    )


def add_generation_args(parser: ParlaiParser) -> None:
    """Add the ``--cringe-generations*`` flags (shared by the mutator and ``tasks.generations``)."""
    group = parser.add_argument_group("CRINGE generations")
    group.add_argument(
        _flag(OPT_PATHS),
        type=str,
        default=DEFAULTS[OPT_PATHS],
        help="comma-separated generations files (JSON lines: context, text, prob, label)",
    )
    group.add_argument(
        _flag(OPT_SELECT),
        type="bool",
        default=DEFAULTS[OPT_SELECT],
        help="select from the files (balance, max copies, empty-side rule); false: use every row as it is "
        "(files that are already a selection)",
    )
    group.add_argument(
        _flag(OPT_BALANCE),
        type="bool",
        default=DEFAULTS[OPT_BALANCE],
        help="keep as many positives as negatives (50/50)",
    )
    group.add_argument(
        _flag(OPT_MAX_POS_COPIES),
        type=int,
        default=DEFAULTS[OPT_MAX_POS_COPIES],
        help="keep at most this many identical positive replies (0: no limit)",
    )
    group.add_argument(
        _flag(OPT_EMPTY_SIDE),
        type=str,
        choices=EMPTY_SIDE_RULES,
        default=DEFAULTS[OPT_EMPTY_SIDE],
        help="when the files hold no positives or no negatives: skip (select nothing) or keep (the other side whole)",
    )
    group.add_argument(
        _flag(OPT_SEED),
        type=int,
        default=DEFAULTS[OPT_SEED],
        help="seed of the selection and of the injection order",
    )
    group.add_argument(
        _flag(OPT_RATE),
        type=float,
        default=DEFAULTS[OPT_RATE],
        help="injected generations per task episode, in training (mutator only; finite, >= 0)",
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
        self.rate: float = options[OPT_RATE]
        self.seed: int = options[OPT_SEED]
        self.selection = load_selection(opt) if self.training else []
        if self.training and not self.selection:
            logging.warning(f"{MUTATOR_NAME}: no generations to inject; the task's episodes pass through unchanged")
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
