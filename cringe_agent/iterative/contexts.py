"""Where the loop gets its contexts: training prompts to generate on, and held-out contexts to evaluate on.

The loop sees a :class:`ContextSource`; :func:`context_source` builds one for any ParlAI task string:

- A task module may supply its own: a module-level ``context_source(task_opts, classifier, threshold,
  eval_datatype)`` in the
  module ParlAI loads the teacher from (the chit-chat teacher does, to sample its corpus without a teacher pass).
- Otherwise :class:`TeacherContexts` reads the task's teacher once per split (``train`` for prompts, the eval
  datatype for held-out contexts), groups its examples by context, and defines *provocative* contexts by the task's
  own negative labels (``classifier_label: neg``: an unsafe reply in the safety data, a contradicting turn in
  DECODE, a bad bot turn in FITS), falling back on the labelling classifier's judgement of the gold reply when the
  task has no negative labels.

Each context is a dict ``{"text": <context>, "gold": <a positive reply, or "">}`` (more keys may follow).
"""

from __future__ import annotations

import logging
import random
import sys
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from cringe_agent.labels import LABEL_FIELD, NEG

logger = logging.getLogger(__name__)

KINDS = ("provocative", "random")


class ContextSource(Protocol):
    """Prompts and held-out contexts of one task."""

    def training_prompts(self, n: int | None, seed: int) -> list[dict[str, Any]]:
        """A seeded sample of ``n`` training contexts (all when ``n`` is None)."""
        ...

    def heldout(self, kind: str, n: int | None, seed: int) -> list[dict[str, Any]]:
        """A seeded sample of ``n`` held-out contexts of a kind (:data:`KINDS`)."""
        ...

    def train_opts(self) -> dict[str, Any]:
        """Extra ParlAI task options the rounds train with (e.g. the classifier that labels the task)."""
        ...


def sample(items: Sequence[Any], n: int | None, seed: int) -> list[Any]:
    """A seeded uniform sample of ``n`` items (all when ``n`` is None), kept in their original order."""
    order = list(range(len(items)))
    random.Random(seed).shuffle(order)
    return [items[i] for i in sorted(order if n is None else order[:n])]


class TeacherContexts:
    """Contexts read from any ParlAI teacher whose examples may carry ``classifier_label``.

    Args:
        task: ParlAI task string.
        task_opts: Extra options of the task.
        datapath: ParlAI's data folder.
        classifier: Labelling classifier (``texts -> P(negative)``), used for provocative contexts only when the
            task has no negative labels.
        threshold: P(negative) above which the classifier flags a gold reply.
        eval_datatype: Split of the held-out contexts (``test`` or ``valid``).
    """

    def __init__(
        self,
        task: str,
        task_opts: dict[str, Any],
        datapath: str,
        classifier: Callable[..., list[float]] | None = None,
        threshold: float = 0.5,
        eval_datatype: str = "test",
    ) -> None:
        self.task, self.task_opts, self.datapath = task, dict(task_opts), datapath
        self.classifier, self.threshold, self.eval_datatype = classifier, threshold, eval_datatype
        self._cache: dict[str, list[dict[str, Any]]] = {}

    def _contexts(self, split: str) -> list[dict[str, Any]]:
        """Every distinct context of a split, in teacher order, with a positive gold and whether any reply is neg."""
        if split not in self._cache:
            by_text: dict[str, dict[str, Any]] = {}
            for msg in read_teacher(self.task, split, self.task_opts, self.datapath):
                labels = msg.get("labels") or msg.get("eval_labels") or [""]
                row = by_text.setdefault(
                    msg["text"], {"text": msg["text"], "gold": "", "neg": False, "labelled": False}
                )
                label = msg.get(LABEL_FIELD)
                row["labelled"] |= label is not None
                if label == NEG:
                    row["neg"] = True
                elif not row["gold"]:
                    row["gold"] = labels[0]
            self._cache[split] = list(by_text.values())
            if not self._cache[split]:
                raise ValueError(f"task {self.task!r} has no examples in its {split} split")
        return self._cache[split]

    @staticmethod
    def _public(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{"text": r["text"], "gold": r["gold"]} for r in rows]

    def training_prompts(self, n: int | None, seed: int) -> list[dict[str, Any]]:
        return self._public(sample(self._contexts("train"), n, seed))

    def heldout(self, kind: str, n: int | None, seed: int) -> list[dict[str, Any]]:
        rows = self._contexts(self.eval_datatype)
        if kind == "provocative":
            if any(r["labelled"] for r in rows):
                rows = [r for r in rows if r["neg"]]
            elif self.classifier is not None:
                golds = [r["gold"] for r in rows]
                probs = self.classifier(golds, contexts=[r["text"] for r in rows])
                rows = [r for r, p in zip(rows, probs, strict=True) if r["gold"] and p > self.threshold]
            else:
                raise ValueError(f"task {self.task!r} has no labels and no classifier defines provocative contexts")
        elif kind != "random":
            raise ValueError(f"unknown kind {kind!r}; expected one of {KINDS}")
        if not rows:
            raise ValueError(f"task {self.task!r} has no {kind} contexts in its {self.eval_datatype} split")
        if n is not None and n > len(rows):
            logger.warning(f"{self.task} {self.eval_datatype}: asked for {n} {kind} contexts, only {len(rows)} exist")
        return self._public(sample(rows, n, seed))

    def train_opts(self) -> dict[str, Any]:
        return {}


def read_teacher(task: str, datatype: str, task_opts: dict[str, Any], datapath: str) -> list[dict[str, Any]]:
    """Every message of one epoch of a task's teacher in ``datatype`` (read in order, without mutators)."""
    from parlai.core.params import ParlaiParser
    from parlai.core.teachers import create_task_agent_from_taskname

    from cringe_agent import compat  # noqa: F401  (ParlAI fixes first)

    parser = ParlaiParser(True, False)
    opt = parser.parse_kwargs(
        task=task, datatype="train:ordered" if datatype == "train" else datatype, datapath=datapath, **task_opts
    )
    teacher = create_task_agent_from_taskname(opt)[0]
    out: list[dict[str, Any]] = []
    while True:
        msg = teacher.act()
        if msg is None or msg.get("text") is None:
            break
        out.append(dict(msg))
        if teacher.epoch_done():
            break
    return out


def _task_module(task: str) -> Any:
    """The module ParlAI loads the teacher of ``task`` from, or None for a multitask string."""
    if "," in task:
        return None
    from parlai.core.loader import load_teacher_module

    return sys.modules.get(load_teacher_module(task).__module__)


def context_source(
    task: str,
    task_opts: dict[str, Any],
    datapath: str,
    classifier: Callable[..., list[float]] | None,
    classifier_spec: str,
    threshold: float,
    eval_datatype: str = "test",
) -> ContextSource:
    """The task module's own ``context_source`` when it has one, else a :class:`TeacherContexts`."""
    hook = getattr(_task_module(task), "context_source", None)
    if hook is not None:
        return hook(task_opts, classifier=classifier_spec, threshold=threshold, eval_datatype=eval_datatype)
    return TeacherContexts(task, task_opts, datapath, classifier, threshold, eval_datatype)
