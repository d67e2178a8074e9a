"""A teacher over generations files: the selected generations of earlier rounds, one example per episode.

``-t tasks.generations.agents:GenerationsTeacher --cringe-generations a.jsonl,b.jsonl`` reads the files described
in :mod:`cringe_agent.mutators.generations`, selects from them with the same
:func:`~cringe_agent.mutators.generations.select_generations` (50/50 balance, at most two copies of a positive,
seeded shuffle) and yields each selected generation as ``{text: context, labels: [reply], classifier_label,
classifier_prob, source: "generations"}``. Multitask it with the original task (``-t task,tasks.generations...``)
as the paper's iterative teacher does, or inject it into the task with the ``cringe_generations`` mutator.

The files have no held-out part, so every fold (train, valid, test) serves the same selection; evaluate on the
original task instead.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from parlai.core.params import ParlaiParser
from parlai.core.teachers import DialogTeacher

import cringe_agent.mutators  # noqa: F401  (registers the cringe_ mutators)
from cringe_agent.mutators.generations import OPT_PATHS, add_generation_args, load_selection, to_message


class GenerationsTeacher(DialogTeacher):
    """The selected generations of ``--cringe-generations`` files as single-example episodes."""

    @classmethod
    def add_cmdline_args(cls, parser: ParlaiParser, partial_opt: dict | None = None) -> ParlaiParser:
        super().add_cmdline_args(parser, partial_opt)
        add_generation_args(parser)
        return parser

    def __init__(self, opt: dict, shared: dict | None = None) -> None:
        opt = copy.deepcopy(opt)
        if not opt.get(OPT_PATHS):
            raise ValueError("tasks.generations needs --cringe-generations PATHS (comma-separated generations files)")
        opt["datafile"] = opt[OPT_PATHS]
        self.id = "generations"
        super().__init__(opt, shared)

    def _selection(self) -> list[dict[str, Any]]:
        if not hasattr(self, "_selected"):
            self._selected = load_selection(self.opt)
        return self._selected

    def setup_data(self, datafile: str) -> Iterator[tuple[dict[str, Any], bool]]:
        for row in self._selection():
            yield dict(to_message(row)), True

    # Counted here rather than by ParlAI's stream reader, which caches counts in a "<datafile>.lengths" file
    # beside the data, stale as soon as the selection options change.
    def num_episodes(self) -> int:
        return len(self._selection())

    def num_examples(self) -> int:
        return len(self._selection())


class DefaultTeacher(GenerationsTeacher):
    pass
