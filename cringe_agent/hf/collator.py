"""Batching of tokenised KTO examples: right padding, with the per-example CRINGE feedback carried along."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from cringe_agent.hf.data import IGNORE_INDEX

_PAD_WITH_ZERO = ("attention_mask",)


@dataclass
class CringeCollator:
    """Pad examples of :func:`~cringe_agent.hf.data.tokenize_causal` or ``tokenize_seq2seq`` into a batch.

    ``input_ids`` are padded with ``pad_token_id``, ``attention_mask`` with 0 and ``labels`` with ``-100`` (no
    loss), all on the right; ``feedback`` becomes a ``(B,)`` long tensor (1 positive, 0 negative, -1 unlabelled),
    which :class:`~cringe_agent.hf.trainer.CringeTrainer` spreads over each example's label tokens.

    Attributes:
        pad_token_id: Padding id for ``input_ids`` (a tokenizer without one, as GPT-2's, can use its EOS id: the
            attention mask and the ``-100`` labels keep padding out of the loss).
        pad_to_multiple_of: Round the padded length up to a multiple of this, or None.
    """

    pad_token_id: int
    pad_to_multiple_of: int | None = None

    def _length(self, longest: int) -> int:
        step = self.pad_to_multiple_of
        return longest if not step else -(-longest // step) * step

    def _pad(self, rows: Sequence[Sequence[int]], value: int) -> Tensor:
        length = self._length(max(len(row) for row in rows))
        return torch.tensor([[*row, *[value] * (length - len(row))] for row in rows], dtype=torch.long)

    def __call__(self, examples: Sequence[Mapping[str, Any]]) -> dict[str, Tensor]:
        """Return the padded batch: ``input_ids``, ``attention_mask``, ``labels`` ``(B, T)`` and ``feedback`` ``(B,)``.

        Raises:
            ValueError: An example lacks ``input_ids``, ``labels`` or ``feedback``.
        """
        if not examples:
            raise ValueError("cannot collate an empty list of examples")
        for field in ("input_ids", "labels", "feedback"):
            if field not in examples[0]:
                raise ValueError(f"example lacks field {field!r}: tokenise with cringe_agent.hf.data first")
        batch: dict[str, Tensor] = {}
        for field in ("input_ids", "attention_mask", "labels"):
            if field in examples[0]:
                pad = self.pad_token_id if field == "input_ids" else 0 if field in _PAD_WITH_ZERO else IGNORE_INDEX
                batch[field] = self._pad([list(example[field]) for example in examples], pad)
        batch["feedback"] = torch.tensor([int(example["feedback"]) for example in examples], dtype=torch.long)
        return batch
