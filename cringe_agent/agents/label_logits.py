"""Training logits only where the labels are: the output projection skips padding.

ParlAI's ``decode_forced`` projects every decoder position of the padded ``(B, T)`` label batch onto the vocabulary,
``(B, T, V)`` logits, and the loss then ignores the padding. With short replies in a batch of varied lengths, padding
is a third or more of the positions, and the projection (``T x d x V`` per example, forward and backward) is most of
a small model's step. :func:`label_positions_only` makes the model's ``output`` project only the ``N`` label
positions: ``decode_forced`` then returns ``(1, N, V)`` logits and ``(1, N)`` predictions, in row-major order of
the ``(B, T)`` mask. The loss of each label token is the same; only the padding's wasted arithmetic goes.

It applies to models that use ParlAI's own ``decode_forced`` and ``TransformerGeneratorModel.output`` (the
transformer generator and BlenderBot); others (BART, Director's output head, a model wrapped for distributed
training) keep the full projection (:func:`supports_label_positions_only`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from parlai.agents.transformer.modules import TransformerGeneratorModel
from parlai.core.torch_generator_agent import TorchGeneratorModel


def supports_label_positions_only(model: Any) -> bool:
    """Whether ``model`` decodes with ParlAI's ``decode_forced`` and projects with the transformer's ``output``."""
    return (
        isinstance(model, TransformerGeneratorModel)
        and type(model).decode_forced is TorchGeneratorModel.decode_forced
        and type(model).output is TransformerGeneratorModel.output
        and "output" not in vars(model)
    )


@contextmanager
def label_positions_only(model: TransformerGeneratorModel, mask: torch.Tensor) -> Iterator[None]:
    """Within the block, ``model.output(latent)`` projects only ``latent[mask]``, returning ``(1, N, V)``.

    Args:
        model: A model for which :func:`supports_label_positions_only` holds.
        mask: ``(B, T)`` bool, True at label tokens (the decoder positions whose logits the loss reads).
    """
    project = model.output

    def output(latent: torch.Tensor) -> torch.Tensor:
        if latent.shape[:2] != mask.shape:
            raise ValueError(f"decoder output {tuple(latent.shape)} does not match the label mask {tuple(mask.shape)}")
        return project(latent[mask].unsqueeze(0))

    model.output = output
    try:
        yield
    finally:
        del model.output  # the class's method again
