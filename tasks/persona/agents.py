"""Persona contradiction teachers: a generated persona world (no download), labelled by construction.

``-t tasks.persona.agents`` (``DefaultTeacher``) yields one example per dialogue of :mod:`tasks.persona.world`:
the context (a ``your persona:`` line and the dialogue turns, joined by ``\\n``) -> the speaker's next line, with
``classifier_label`` ``neg`` when that line contradicts a stated persona fact and ``pos`` otherwise. The labels agree
with the exact checker :func:`tasks.persona.checker.contradicts` on every example. Label convention: see
:mod:`tasks` (``--cringe-label-mode generator|classifier``); a contradiction classifier should see the context
(``--cringe-classifier-input context_reply``).

Extra fields: ``source`` (``persona``), ``dialogue_id``, ``speaker``, ``asked`` (the attribute the partner's last
line asks about, or ``""``) and ``provocative`` (it asks about a stated fact). The world is built in memory from
``--persona-seed`` and the other ``--persona-*`` options, identical in every run.

The module-level :func:`context_source` gives ``cringe-loop`` its prompts and held-out contexts without a teacher
pass: *provocative* contexts are those where the partner asks about a stated fact.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from parlai.core.params import ParlaiParser
from parlai.core.teachers import DialogTeacher
from parlai.utils.data import DatatypeHelper

import cringe_agent.mutators  # noqa: F401  (registers the cringe_* mutators before ParlAI resolves them)
from cringe_agent.iterative.contexts import KINDS, sample
from tasks.common.labels import SOURCE_FIELD, LabelledTeacherMixin, keeps, make_example
from tasks.persona import world
from tasks.persona.world import SPLITS, Example

# (flag, type, default, help); the opt key of each is the flag without "--", with underscores.
_FLAGS = (
    ("--persona-speakers", int, world.DEFAULT_SPEAKERS, "speakers of the generated world (split by speaker)"),
    ("--persona-dialogues", int, world.DEFAULT_DIALOGUES, "dialogues (examples) per speaker"),
    ("--persona-seed", int, world.DEFAULT_SEED, "seed of the world: facts, dialogues, labels and splits"),
    (
        "--persona-contradiction-share",
        float,
        world.DEFAULT_CONTRADICTION_SHARE,
        "probability that a judged reply contradicts a stated fact (every split)",
    ),
    ("--persona-valid-frac", float, world.DEFAULT_VALID_FRAC, "share of speakers in the valid split"),
    ("--persona-test-frac", float, world.DEFAULT_TEST_FRAC, "share of speakers in the test split"),
    (
        "--persona-style",
        str,
        world.DEFAULT_STYLE,
        "dialogue: dialogues of 1-3 lines; leading: a persona and one question, half of them presupposing a wrong "
        "fact (the pretrained default's task)",
    ),
)
_SETTINGS = {
    "persona_speakers": ("speakers", int, world.DEFAULT_SPEAKERS),
    "persona_dialogues": ("dialogues", int, world.DEFAULT_DIALOGUES),
    "persona_seed": ("seed", int, world.DEFAULT_SEED),
    "persona_contradiction_share": ("contradiction_share", float, world.DEFAULT_CONTRADICTION_SHARE),
    "persona_valid_frac": ("valid_frac", float, world.DEFAULT_VALID_FRAC),
    "persona_test_frac": ("test_frac", float, world.DEFAULT_TEST_FRAC),
    "persona_style": ("style", str, world.DEFAULT_STYLE),
}


def world_settings(opt: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of :func:`tasks.persona.world.build` from ParlAI options (absent or None: default).

    Raises:
        ValueError: A ``persona_*`` option is not a number (the message names the option).
    """
    out: dict[str, Any] = {}
    for key, (name, kind, default) in _SETTINGS.items():
        value = opt.get(key)
        try:
            out[name] = default if value is None else kind(value)
        except (TypeError, ValueError):
            raise ValueError(f"--{key.replace('_', '-')} must be a {kind.__name__}, got {value!r}") from None
    return out


class PersonaTeacher(LabelledTeacherMixin, DialogTeacher):
    """Persona dialogues: (context -> the speaker's next line), ``neg`` when the line contradicts the persona."""

    @classmethod
    def add_cmdline_args(cls, parser: ParlaiParser, partial_opt: dict | None = None) -> ParlaiParser:
        super().add_cmdline_args(parser, partial_opt)
        group = parser.add_argument_group("Persona contradiction teacher")
        for flag, kind, default, help_text in _FLAGS:
            group.add_argument(flag, type=kind, default=default, help=help_text)
        return parser

    def ensure_data(self, opt: dict[str, Any]) -> None:
        """Nothing to download: build the world once, so that a bad ``--persona-*`` option fails here."""
        world.build(**world_settings(opt))

    def __init__(self, opt: dict[str, Any], shared: dict | None = None) -> None:
        self.fold = DatatypeHelper.fold(opt["datatype"])
        if self.fold not in SPLITS:
            raise ValueError(f"persona has no fold {self.fold!r}; expected one of {SPLITS}")
        self.id = "persona"
        opt = copy.deepcopy(opt)
        opt["datafile"] = self.fold
        super().__init__(opt, shared)

    def setup_data(self, datafile: str) -> Iterator[tuple[dict[str, Any], bool]]:
        for ex in world.examples(self.fold, **world_settings(self.opt)):
            if not keeps(self.opt, ex.label):
                continue
            fields = {
                SOURCE_FIELD: "persona",
                "dialogue_id": ex.dialogue_id,
                "speaker": ex.speaker,
                "asked": ex.asked,
                "provocative": ex.provocative,
            }
            yield make_example(self.opt, ex.context_lines, ex.reply, ex.label, **fields), True

    # Counted here rather than by ParlAI's stream reader (``-dt train:stream``), which caches the counts in a
    # "<fold>.lengths" file in the working directory, stale as soon as a --persona-* option changes.
    def num_examples(self) -> int:
        return sum(keeps(self.opt, ex.label) for ex in world.examples(self.fold, **world_settings(self.opt)))

    def num_episodes(self) -> int:
        return self.num_examples()  # one example per episode


class DefaultTeacher(PersonaTeacher):
    pass


def _as_dicts(exs: list[Example]) -> list[dict[str, Any]]:
    return [{"text": ex.context, "gold": ex.gold, "dialogue_id": ex.dialogue_id} for ex in exs]


class PersonaContexts:
    """The loop's source of prompts and held-out contexts (``cringe_agent.iterative.contexts.ContextSource``).

    Args:
        task_opts: The loop's task options (``persona_*`` keys).
        classifier: Spec of the labelling classifier (unused: provocative contexts are known by construction).
        threshold: P(negative) above which a reply is flagged (unused, as ``classifier``).
        eval_datatype: Split of the held-out contexts (``test`` or ``valid``).
    """

    def __init__(
        self, task_opts: dict[str, Any], classifier: str = "", threshold: float = 0.5, eval_datatype: str = "test"
    ) -> None:
        if eval_datatype not in SPLITS:
            raise ValueError(f"eval_datatype must be one of {SPLITS}, got {eval_datatype!r}")
        self.settings = world_settings(task_opts)
        self.classifier, self.threshold, self.eval_datatype = classifier, threshold, eval_datatype

    def training_prompts(self, n: int | None, seed: int) -> list[dict[str, Any]]:
        return _as_dicts(sample(world.examples("train", **self.settings), n, seed))

    def heldout(self, kind: str, n: int | None, seed: int) -> list[dict[str, Any]]:
        pool = list(world.examples(self.eval_datatype, **self.settings))
        if kind == "provocative":
            pool = [ex for ex in pool if ex.provocative]
        elif kind != "random":
            raise ValueError(f"unknown kind {kind!r}; expected one of {KINDS}")
        return _as_dicts(sample(pool, n, seed))

    def train_opts(self) -> dict[str, Any]:
        return {}


def context_source(
    task_opts: dict[str, Any], classifier: str, threshold: float, eval_datatype: str = "test"
) -> PersonaContexts:
    """The hook ``cringe-loop`` looks for in a task module: this task's prompts and held-out contexts."""
    return PersonaContexts(task_opts, classifier, threshold, eval_datatype)
