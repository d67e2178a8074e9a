"""The CRINGE loss of a transformers model on a padded batch, for causal and encoder-decoder models.

Pure torch: the model is called, not imported, so this module does not import transformers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from cringe_agent.hf.data import IGNORE_INDEX
from cringe_agent.loss import CringeOutput, cringe_loss
from cringe_agent.settings import DEFAULTS

_NOT_MODEL_INPUTS = ("labels", "feedback")


def unwrap(model: nn.Module) -> nn.Module:
    """The model inside a ``DistributedDataParallel`` (or similar ``.module``) wrapper, else the model itself."""
    while hasattr(model, "module") and isinstance(model.module, nn.Module):
        model = model.module
    return model


def is_seq2seq(model: nn.Module) -> bool:
    """Whether ``model`` is an encoder-decoder model (``config.is_encoder_decoder``)."""
    return bool(getattr(getattr(unwrap(model), "config", None), "is_encoder_decoder", False))


def aligned_logits(model: nn.Module, batch: Mapping[str, Tensor]) -> tuple[Tensor, Tensor]:
    """Run ``model`` on a batch and return the logits with the targets they predict.

    Causal models: the logits at positions ``0..T-2`` predict ``labels[:, 1:]`` (the usual shift). Encoder-decoder
    models: the decoder reads the labels shifted right (``prepare_decoder_input_ids_from_labels``) and its logits
    predict ``labels`` as they are. The model is called without ``labels``, so it computes no loss of its own.

    Args:
        model: A transformers causal LM or seq2seq model (possibly wrapped, e.g. in DDP).
        batch: ``input_ids``, ``attention_mask``, ``labels`` (``-100`` where no loss is taken) and optionally
            ``feedback`` (ignored here) and other model inputs.

    Returns:
        ``(logits (B, L, V), targets (B, L))``.
    """
    labels = batch["labels"]
    inputs: dict[str, Any] = {key: value for key, value in batch.items() if key not in _NOT_MODEL_INPUTS}
    if is_seq2seq(model):
        if "decoder_input_ids" not in inputs:
            inputs["decoder_input_ids"] = unwrap(model).prepare_decoder_input_ids_from_labels(labels=labels)
        return model(**inputs).logits, labels
    return model(**inputs).logits[:, :-1], labels[:, 1:]


def cringe_batch_loss(
    model: nn.Module,
    batch: Mapping[str, Tensor],
    alpha: float = DEFAULTS.alpha,
    k: int = DEFAULTS.k,
    generator: torch.Generator | None = None,
    **loss_options: Any,
) -> CringeOutput:
    r"""Per-token CRINGE loss of ``model`` on a batch (Adolphs et al., 2022, arXiv:2211.05826, Sec. 2, Eq. 1-3).

    Each example's ``feedback`` (1 positive, 0 negative, -1 unlabelled) is spread over its label tokens; positive
    tokens get :math:`-\log p(x)`, negative ones :math:`\alpha\,\mathrm{softplus}(s^- - s^+)` against a token
    sampled from the model's top-k, as :func:`cringe_agent.loss.cringe_loss` computes.

    Args:
        model: A transformers causal LM or seq2seq model.
        batch: A batch of :class:`~cringe_agent.hf.collator.CringeCollator`: ``labels`` ``(B, T)`` with ``-100``
            on prompt and padding tokens, ``feedback`` ``(B,)``.
        alpha: Weight of the contrastive term.
        k: Top-k size for the sampled positive token.
        generator: Optional generator for reproducible sampling.
        **loss_options: Further options of :func:`cringe_agent.loss.cringe_loss` (``detach_positive``, ...).

    Returns:
        The :class:`~cringe_agent.loss.CringeOutput` over the flattened ``(B * L,)`` tokens; ``.mean()`` is the
        training loss.
    """
    logits, targets = aligned_logits(model, batch)
    feedback = batch["feedback"].to(targets.device).unsqueeze(-1).expand_as(targets)
    return cringe_loss(
        logits.reshape(-1, logits.size(-1)),
        targets.reshape(-1),
        feedback.reshape(-1),
        alpha=alpha,
        k=k,
        ignore_index=IGNORE_INDEX,
        generator=generator,
        **loss_options,
    )
