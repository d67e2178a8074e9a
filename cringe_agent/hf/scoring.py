"""Log-probabilities of completions under a model: the measure CRINGE pushes down on negatives."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from cringe_agent.hf.collator import CringeCollator
from cringe_agent.hf.data import IGNORE_INDEX
from cringe_agent.hf.forward import aligned_logits


@torch.no_grad()
def completion_logprobs(
    model: nn.Module, examples: Sequence[Mapping[str, Any]], pad_token_id: int, batch_size: int = 16
) -> list[float]:
    r"""Mean log-probability per completion token of each tokenised example.

    Args:
        model: A transformers causal LM or seq2seq model; it is put in eval mode for the call and then back.
        examples: Examples of :func:`~cringe_agent.hf.data.tokenize_causal` or ``tokenize_seq2seq``.
        pad_token_id: Padding id for ``input_ids``.
        batch_size: Examples per forward pass.

    Returns:
        One value per example, in order: the mean of :math:`\log p(x_t \mid x_{<t})` over its label tokens.
    """
    collate = CringeCollator(pad_token_id)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    scores: list[float] = []
    try:
        for start in range(0, len(examples), batch_size):
            batch = {key: value.to(device) for key, value in collate(examples[start : start + batch_size]).items()}
            logits, targets = aligned_logits(model, batch)
            valid = targets != IGNORE_INDEX
            logp = torch.log_softmax(logits.float(), dim=-1)
            picked = logp.gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1) * valid
            scores.extend((picked.sum(-1) / valid.sum(-1).clamp(min=1)).tolist())
    finally:
        model.train(was_training)
    return scores
