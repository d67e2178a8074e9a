"""A teacher over generations files: the selected generations of earlier rounds, one example per episode.

``-t tasks.generations.agents:GenerationsTeacher --cringe-generations a.jsonl,b.jsonl`` reads the files described
in :mod:`cringe_agent.mutators.generations` and yields each generation to train on as ``{text: context,
labels: [reply], classifier_label, classifier_prob, source: "generations"}``. By default it selects from the
files with :func:`cringe_agent.selection.select_generations` (50/50 balance, at most two copies of a positive,
nothing when one side is empty, seeded shuffle), as the mutator does; ``--cringe-generations-select false`` serves
every row of files that are already a selection (the loop's ``selection.jsonl``).

Multitask it with the original task as the paper's iterative teacher does. This is also the route for ParlAI's
own tasks, where ``--mutators cringe_generations`` cannot be resolved (see :mod:`cringe_agent.mutators.generations`)::

    parlai train_model -t integration_tests,tasks.generations.agents --cringe-generations r1.jsonl \\
        --multitask-weights 1,1 ...

The files have no held-out part, so every fold (train, valid, test) serves the same generations; evaluate on the
original task instead. When there is nothing to serve (empty files, or a selection with an empty side under
``--cringe-generations-empty-side skip``) the teacher stops with a ``ValueError`` at creation, since ParlAI cannot
serve an empty task (``FixedDialogTeacher.next_episode_idx`` draws from an empty range); leave it out of ``-t``
then, or use the mutator, which injects nothing.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from parlai.core.params import ParlaiParser
from parlai.core.teachers import DialogTeacher

import cringe_agent.mutators  # noqa: F401  (registers the cringe_ mutators)
from cringe_agent.mutators.generations import OPT_PATHS, add_generation_args, load_selection, to_message

_SHARED_KEY = "cringe_generations_selection"


class GenerationsTeacher(DialogTeacher):
    """The generations of ``--cringe-generations`` files to train on, as single-example episodes."""

    @classmethod
    def add_cmdline_args(cls, parser: ParlaiParser, partial_opt: dict | None = None) -> ParlaiParser:
        super().add_cmdline_args(parser, partial_opt)
        add_generation_args(parser)
        return parser

    def __init__(self, opt: dict, shared: dict | None = None) -> None:
        opt = copy.deepcopy(opt)
        if not opt.get(OPT_PATHS):
            raise ValueError("tasks.generations needs --cringe-generations PATHS (comma-separated generations files)")
        if shared and _SHARED_KEY in shared:
            self._selected: list[dict[str, Any]] = shared[_SHARED_KEY]
        else:
            self._selected = load_selection(opt)
        if not self._selected:
            raise ValueError(
                f"tasks.generations: no generations to serve from {opt[OPT_PATHS]} (empty files, or a selection with "
                "no positives or no negatives); ParlAI cannot serve an empty task: leave tasks.generations out of -t"
            )
        opt["datafile"] = opt[OPT_PATHS]
        self.id = "generations"
        super().__init__(opt, shared)

    def share(self) -> dict[str, Any]:
        """Share the selection with the copies (batch worlds), so the files are read once."""
        shared = super().share()
        shared[_SHARED_KEY] = self._selected
        return shared

    def setup_data(self, datafile: str) -> Iterator[tuple[dict[str, Any], bool]]:
        for row in self._selected:
            yield dict(to_message(row)), True

    # Counted here rather than by ParlAI's stream reader, which caches counts in a "<datafile>.lengths" file
    # beside the data, stale as soon as the selection options change.
    def num_episodes(self) -> int:
        return len(self._selected)

    def num_examples(self) -> int:
        return len(self._selected)


class DefaultTeacher(GenerationsTeacher):
    pass
