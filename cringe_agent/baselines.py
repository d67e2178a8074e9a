"""The per-token losses of the paper's baselines, in pure PyTorch (no ParlAI import).

Adolphs et al., *The CRINGE Loss: Learning what language not to model*, arXiv:2211.05826 (2022), Sec. 4 compares
CRINGE with, among others, maximum likelihood on the positive data only, unlikelihood training (Welleck et al., 2020)
and a sigmoid-only loss (a modification of SCONES, Stahlberg & Kumar, 2022). The functions here take the same inputs
as :func:`cringe_agent.loss.cringe_loss`: ``(N, V)`` logits, ``(N,)`` targets and ``(N,)`` feedback values of
:class:`cringe_agent.labels.Feedback` (1 positive, 0 negative, -1 unlabelled and trained as positive).

Each returns :class:`TokenLosses`: the per-token loss and the masks its tokens fall in; the caller reduces.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from cringe_agent.labels import Feedback

_NEGATIVE = int(Feedback.NEGATIVE)


@dataclass
class TokenLosses:
    """Per-token results; every tensor has shape ``(N,)``.

    Attributes:
        loss: The token's loss (zero at ``ignore_index``).
        positive_mask: Target tokens of positive or unlabelled sequences.
        negative_mask: Target tokens of negative sequences.
        nll: ``-log softmax(logits)[target]`` at every target token, detached (for perplexities).
    """

    loss: Tensor
    positive_mask: Tensor
    negative_mask: Tensor
    nll: Tensor


def _masks(logits: Tensor, targets: Tensor, feedback: Tensor, ignore_index: int) -> tuple[Tensor, Tensor, Tensor]:
    if logits.dim() != 2 or targets.shape != logits.shape[:1] or feedback.shape != targets.shape:
        raise ValueError(
            f"expected logits (N, V), targets (N,), feedback (N,); got {tuple(logits.shape)}, "
            f"{tuple(targets.shape)}, {tuple(feedback.shape)}"
        )
    valid = targets.ne(ignore_index)
    negative = valid & feedback.eq(_NEGATIVE)
    safe_targets = targets.masked_fill(~valid, 0)
    return valid & ~negative, negative, safe_targets


def _upcast(logits: Tensor) -> Tensor:
    """Half-precision logits in float32 (sums over the vocabulary); float32 and float64 as they are."""
    return logits.float() if logits.dtype in (torch.float16, torch.bfloat16) else logits


def _nll(logits: Tensor, targets: Tensor, valid: Tensor) -> Tensor:
    nll = F.cross_entropy(_upcast(logits), targets, reduction="none")
    return torch.where(valid, nll, torch.zeros_like(nll))


def mle_positives_loss(logits: Tensor, targets: Tensor, feedback: Tensor, *, ignore_index: int = -100) -> TokenLosses:
    """Maximum likelihood on positive and unlabelled tokens; negative sequences get no loss::

        L = -log softmax(s)[x]   on tokens of positive (and unlabelled) sequences, 0 on negative ones

    The paper's "trained on the positive data only" baseline. Reduce over ``positive_mask`` (the mean over the
    trained tokens), not over all tokens, so that the negatives do not shrink the step.
    """
    positive, negative, safe = _masks(logits, targets, feedback, ignore_index)
    nll = _nll(logits, safe, positive | negative)
    loss = torch.where(positive, nll, torch.zeros_like(nll))
    return TokenLosses(loss, positive, negative, nll.detach())


#: How the sigmoid-only loss reduces its "other tokens" term over the vocabulary.
SIGMOID_OTHERS_REDUCTIONS = ("sum", "mean")


def _check_weight(name: str, value: float) -> float:
    """Return ``value`` as a float after checking it is a finite real number >= 0 (a bool is refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def sigmoid_only_loss(
    logits: Tensor,
    targets: Tensor,
    feedback: Tensor,
    *,
    positive_weight: float = 1.0,
    negative_weight: float = 1.0,
    others_weight: float = 1.0,
    others_reduction: str = "sum",
    ignore_index: int = -100,
) -> TokenLosses:
    r"""Sigmoid-only loss: one independent sigmoid per vocabulary token instead of a softmax (modified SCONES).

    With :math:`\sigma` the logistic function and :math:`s_v` the logit of token v at one position, the paper's
    form (arXiv:2211.05826, Sec. 4; ``others_reduction="sum"``, the default)::

        positive token x:   positive_weight * -log sigma(s_x)  +  others_weight * sum_{v != x} -log(1 - sigma(s_v))
        negative token x-:  negative_weight * -log(1 - sigma(s_{x-}))

    SCONES (Stahlberg & Kumar, 2022, "Jam or Cream First?") trains a positive token's sigmoid up and every other
    token's down; the CRINGE paper adds the negative tokens' sigmoids going down, each term weighted. The "others" term
    is a *sum* over the V - 1 tokens other than the target, as the paper writes it; its size therefore grows with the
    vocabulary, and ``others_weight`` is the knob to tune against the other two weights. ``others_reduction="mean"``
    keeps this project's earlier form, the mean over the V - 1 other tokens (the sum times ``1 / (V - 1)``).

    The paper does not say at which positions the others-term applies; here it applies at positive (and unlabelled)
    positions only, as in SCONES, whose "other tokens" are those other than a correct one: at a negative token the
    right continuation is unknown, so nothing else is pushed down there. All terms use ``softplus``:
    ``-log sigma(s) = softplus(-s)``, ``-log(1 - sigma(s)) = softplus(s)``.

    Decoding keeps ParlAI's softmax over the same logits: its ranking of the tokens is the sigmoids' ranking.

    Args:
        logits: ``(N, V)`` scores.
        targets: ``(N,)`` target token ids; ``ignore_index`` marks padding.
        feedback: ``(N,)`` :class:`~cringe_agent.labels.Feedback` values.
        positive_weight: Weight of the positive (and unlabelled) tokens' own term, ``-log sigma(s_x)``.
        negative_weight: Weight of the negative tokens' term.
        others_weight: Weight of the other tokens' term at positive positions.
        others_reduction: ``"sum"`` (the paper's form, default) or ``"mean"`` of the other tokens' term over the
            V - 1 tokens other than the target.
        ignore_index: Padding id.

    Raises:
        TypeError: A weight that is not a real number (or is a bool).
        ValueError: Mismatched shapes, a weight that is negative or not finite, or an unknown ``others_reduction``.
    """
    positive_weight = _check_weight("positive_weight", positive_weight)
    negative_weight = _check_weight("negative_weight", negative_weight)
    others_weight = _check_weight("others_weight", others_weight)
    if others_reduction not in SIGMOID_OTHERS_REDUCTIONS:
        raise ValueError(f"others_reduction must be one of {SIGMOID_OTHERS_REDUCTIONS}, got {others_reduction!r}")
    positive, negative, safe = _masks(logits, targets, feedback, ignore_index)
    scores = _upcast(logits)
    target_score = scores.gather(-1, safe.unsqueeze(-1)).squeeze(-1)
    vocab = scores.size(-1)
    # sum over v != x of softplus(s_v): the sum over all v minus the target's own term
    others = F.softplus(scores).sum(-1) - F.softplus(target_score)
    if others_reduction == "mean":
        others = others / max(vocab - 1, 1)
    pos_loss = positive_weight * F.softplus(-target_score) + others_weight * others
    neg_loss = negative_weight * F.softplus(target_score)
    zero = torch.zeros_like(target_score)
    loss = torch.where(positive, pos_loss, torch.where(negative, neg_loss, zero))
    nll = _nll(logits, safe, positive | negative)
    return TokenLosses(loss, positive, negative, nll.detach())
