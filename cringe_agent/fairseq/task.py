"""The fairseq task ``cringe_translation``: ``translation`` with a per-example label from a sidecar file.

Beside the binarised data of each split (``fairseq-preprocess --destdir DATA``) lies ``DATA/<split>.label``: one
``pos`` or ``neg`` per line, line *i* labelling example *i* of the split (the *i*-th line of the text files given to
``fairseq-preprocess``). Every batch then carries ``sample["feedback"]``, one :class:`cringe_agent.labels.Feedback`
value per example, which the criterion ``cringe`` reads. The training split must have its labels file; a split
without one (a validation set, say) is unlabelled: trained, and scored, as positive.
"""

import logging
import os
from dataclasses import dataclass
from typing import Any

import torch
from fairseq import utils
from fairseq.data import BaseWrapperDataset
from fairseq.tasks import register_task
from fairseq.tasks.translation import TranslationConfig, TranslationTask
from torch import Tensor

from cringe_agent.fairseq.criterion import FEEDBACK_KEY
from cringe_agent.labels import NEG, POS, Feedback

logger = logging.getLogger(__name__)

LABEL_SUFFIX = "label"
"""Extension of the labels file of a split: ``<split>.label`` beside the binarised data."""

_VALUES = {POS: int(Feedback.POSITIVE), NEG: int(Feedback.NEGATIVE)}


def read_labels(path: str | os.PathLike[str], num_examples: int) -> Tensor:
    """Read a labels file: one ``pos`` or ``neg`` per line, as many lines as the split has examples.

    Args:
        path: The labels file.
        num_examples: Number of examples of the binarised split it labels.

    Returns:
        ``(num_examples,)`` long tensor of :class:`cringe_agent.labels.Feedback` values (1 pos, 0 neg).

    Raises:
        ValueError: A line holds anything but ``pos`` or ``neg`` (surrounding spaces aside), or the file has more or
            fewer lines than the split has examples; the message names the file and the line.
    """
    values: list[int] = []
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            label = line.strip()
            if label not in _VALUES:
                raise ValueError(
                    f"{path}, line {number}: unknown label {label!r}; each line must be {POS!r} or {NEG!r}"
                )
            if number > num_examples:
                raise ValueError(
                    f"{path}, line {number}: more labels than the {num_examples} examples of the binarised split"
                )
            values.append(_VALUES[label])
    if len(values) != num_examples:
        raise ValueError(
            f"{path}, line {len(values) + 1}: missing; the file has {len(values)} labels for the {num_examples} "
            "examples of the binarised split"
        )
    return torch.tensor(values, dtype=torch.long)


class FeedbackDataset(BaseWrapperDataset):
    """Wraps a fairseq dataset whose batches have an ``id`` per example and adds ``feedback`` to each batch.

    Args:
        dataset: The dataset to wrap (e.g. a ``LanguagePairDataset``).
        feedback: ``(len(dataset),)`` long tensor, the Feedback value of each example.

    Raises:
        ValueError: ``feedback`` does not hold one value per example.
    """

    def __init__(self, dataset: Any, feedback: Tensor) -> None:
        super().__init__(dataset)
        if feedback.shape != (len(dataset),):
            raise ValueError(
                f"feedback must have shape ({len(dataset)},), one per example; got {tuple(feedback.shape)}"
            )
        self.feedback = feedback

    def collater(self, samples: list[dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
        """Collate with the wrapped dataset, then add ``feedback`` in the batch's order of examples."""
        batch = self.dataset.collater(samples, **kwargs)
        if batch:  # an empty list of samples gives an empty dict
            batch[FEEDBACK_KEY] = self.feedback[batch["id"]]
        return batch


@dataclass
class CringeTranslationConfig(TranslationConfig):
    """The options of ``translation``; the labels are read from ``<split>.label`` in the data folder."""


@register_task("cringe_translation", dataclass=CringeTranslationConfig)
class CringeTranslationTask(TranslationTask):
    """``translation`` whose batches carry each example's label (``feedback``) for the criterion ``cringe``."""

    def load_dataset(self, split: str, epoch: int = 1, combine: bool = False, **kwargs: Any) -> None:
        """Load a split as ``translation`` does, and its labels from ``<split>.label`` in the same data folder.

        Raises:
            FileNotFoundError: The training split has no labels file.
            ValueError: The labels file is malformed or does not match the split (see :func:`read_labels`).
        """
        super().load_dataset(split, epoch=epoch, combine=combine, **kwargs)
        dataset = self.datasets[split]
        paths = utils.split_paths(self.cfg.data)
        if split != self.cfg.train_subset:
            paths = paths[:1]
        path = os.path.join(paths[(epoch - 1) % len(paths)], f"{split}.{LABEL_SUFFIX}")
        if os.path.exists(path):
            feedback = read_labels(path, len(dataset))
            logger.info(
                f"{path}: {int((feedback == Feedback.POSITIVE).sum())} positive, "
                f"{int((feedback == Feedback.NEGATIVE).sum())} negative examples"
            )
        elif split == self.cfg.train_subset:
            raise FileNotFoundError(
                f"{path}: no labels file for the training split {split!r}; task cringe_translation needs one "
                f"{POS!r} or {NEG!r} per line, one line per example"
            )
        else:
            logger.info(f"{path}: not found; the {len(dataset)} examples of split {split!r} are unlabelled")
            feedback = torch.full((len(dataset),), int(Feedback.UNLABELLED), dtype=torch.long)
        self.datasets[split] = FeedbackDataset(dataset, feedback)
