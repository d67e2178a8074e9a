"""The CRINGE loss in pure PyTorch (no ParlAI import).

Adolphs, Gao, Xu, Shuster, Sukhbaatar, Weston. *The CRINGE Loss: Learning what language not to model.*
arXiv:2211.05826 (2022), ACL 2023. CRINGE = ContRastive Iterative Negative GEneration.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cringe_agent.labels import Feedback
from cringe_agent.settings import DEFAULTS

# Plain ints for tensor comparisons; the values themselves live in cringe_agent.labels.Feedback only.
_UNLABELLED, _NEGATIVE, _POSITIVE = int(Feedback.UNLABELLED), int(Feedback.NEGATIVE), int(Feedback.POSITIVE)


@dataclass
class CringeOutput:
    """Per-token results of :func:`cringe_loss`; every tensor has shape ``(N,)``.

    Attributes:
        loss: ``ce + alpha * cr``; zero at ``ignore_index``. Float32 for float16/bfloat16 logits, so that sums
            over many tokens cannot overflow; the gradient flows back in the logits' dtype.
        ce: Cross-entropy on the tokens of ``ce_mask``, zero elsewhere.
        cr: Contrastive term on negative tokens (and on labelled positive ones with ``contrast_positives``), zero
            elsewhere.
        positive_mask: Target tokens of positive or unlabelled sequences (trained as positive, with CE by default).
        negative_mask: Target tokens of negative sequences (trained with the contrastive term).
        sampled: The token sampled from the top-k for the contrast, ``-1`` where none was sampled.
        nll: ``-log p(target)`` at every target token, negative ones included, detached: for metrics such as the
            perplexity of negative labels.
        ce_mask: Target tokens that got cross-entropy: ``positive_mask``, or only its unlabelled tokens when
            ``ce_on_positives`` is off.
    """

    loss: Tensor
    ce: Tensor
    cr: Tensor
    positive_mask: Tensor
    negative_mask: Tensor
    sampled: Tensor
    nll: Tensor
    ce_mask: Tensor

    @property
    def num_tokens(self) -> Tensor:
        """Number of target tokens (CE and contrastive tokens together)."""
        return self.positive_mask.sum() + self.negative_mask.sum()

    def mean(self) -> Tensor:
        """The authors' reduction: the sum over all target tokens divided by their number (padding excluded)."""
        return self.loss.sum() / self.num_tokens.clamp(min=1)


class _CrossEntropyAndGather(torch.autograd.Function):
    """Per-row cross-entropy and a gather of chosen scores, with one fused ``(N, V)`` backward pass.

    Autograd would allocate a separate ``(N, V)`` gradient for the cross-entropy and for each gathered score; here the
    softmax gradient and the sparse gradients of the gathered scores are written into one buffer.
    """

    @staticmethod
    def forward(ctx, logits: Tensor, targets: Tensor, index: Tensor) -> tuple[Tensor, Tensor]:
        acc = torch.promote_types(logits.dtype, torch.float32)  # accumulate fp16/bf16 in float32
        lse = torch.logsumexp(logits.to(acc), dim=-1)  # (N,)
        ce = lse - logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1).to(acc)
        ctx.save_for_backward(logits, targets, index, lse)
        return ce, logits.gather(-1, index)

    @staticmethod
    def backward(ctx, grad_ce: Tensor, grad_gathered: Tensor) -> tuple[Tensor, None, None]:
        logits, targets, index, lse = ctx.saved_tensors
        # softmax * dL/dce, in the accumulation dtype of the forward pass
        grad = (logits.to(lse.dtype) - lse.unsqueeze(-1)).exp_().mul_(grad_ce.to(lse.dtype).unsqueeze(-1))
        grad = grad.to(logits.dtype)
        grad.scatter_add_(-1, targets.unsqueeze(-1), -grad_ce.unsqueeze(-1).to(grad.dtype))
        grad.scatter_add_(-1, index, grad_gathered.to(grad.dtype))
        return grad, None, None


def _sample_from_topk(logits: Tensor, targets: Tensor, k: int, generator: torch.Generator | None) -> Tensor:
    """Sample one token per row from the softmax over the top-k logits, the target token excluded.

    Args:
        logits: ``(N, V)`` scores.
        targets: ``(N,)`` the token to exclude in each row.
        k: How many of the highest-scoring other tokens to sample from.
        generator: Optional random generator, for reproducible samples.

    Returns:
        ``(N,)`` sampled token ids, never equal to ``targets``.
    """
    # Take k + 1 candidates and drop the target where it is among them, else drop the (k+1)-th: no (N, V) copy.
    values, indices = logits.detach().topk(k + 1, dim=-1)  # (N, k+1), descending
    is_target = indices == targets.unsqueeze(-1)
    keep = ~is_target
    keep[:, -1] &= is_target.any(dim=-1)
    values = values[keep].view(-1, k)  # (N, k)
    indices = indices[keep].view(-1, k)
    probs = torch.softmax(values.float(), dim=-1)  # temperature 1
    choice = torch.multinomial(probs, 1, generator=generator)  # (N, 1)
    return indices.gather(-1, choice).squeeze(-1)


def cringe_loss(
    logits: Tensor,
    targets: Tensor,
    feedback: Tensor,
    *,
    alpha: float = DEFAULTS.alpha,
    k: int = DEFAULTS.k,
    ignore_index: int = -100,
    detach_positive: bool = DEFAULTS.detach_positive,
    contrast_positives: bool = DEFAULTS.contrast_positives,
    ce_on_positives: bool = DEFAULTS.ce_on_positives,
    generator: torch.Generator | None = None,
) -> CringeOutput:
    r"""CRINGE loss per token (Adolphs et al., 2022, arXiv:2211.05826, Sec. 2 and Algorithm 1).

    Positive (and unlabelled) tokens get cross-entropy; each token :math:`x^-` of a negative sequence is contrasted
    with a token sampled from the model's own top-k predictions at that position::

        L    = L_CE(positive tokens) + alpha * L_Cr(negative tokens)
        L_CE = -log softmax(s)[x]
        L_Cr = -log( exp(s+) / (exp(s+) + exp(s-)) ) = softplus(s- - s+)

    where ``s-`` is the negative token's logit and ``s+`` the logit of a token drawn from the softmax (temperature 1)
    over the top-k logits *excluding* the negative token. The gradient flows into both scores (``s+`` up, ``s-``
    down) unless ``detach_positive``. The reduction (:meth:`CringeOutput.mean`) sums over target tokens and divides
    by their number, CE and contrastive tokens together.

    On ``k``: the paper uses ``k = 5`` (the default, :data:`cringe_agent.settings.DEFAULTS`); the authors' released
    code defaults to ``k = 1``, where ``s+`` is simply the highest-scoring token other than the negative one.
    ``alpha``: 1 in the authors' code; the paper sweeps {0.5, 1, 2, 5} (0.5 for FITS).

    Args:
        logits: ``(N, V)`` scores at each target position.
        targets: ``(N,)`` target token ids; ``ignore_index`` marks padding.
        feedback: ``(N,)`` per-token label of the sequence (:class:`cringe_agent.labels.Feedback`): 1 positive,
            0 negative, -1 unlabelled (trained as positive).
        alpha: Weight of the contrastive term.
        k: Number of top candidates (the target excluded) to sample the contrasted token from; ``1 <= k < V``.
        ignore_index: Target value whose positions contribute nothing.
        detach_positive: Stop the gradient through the sampled token's score wherever a contrast applies: ``s+`` on
            negative tokens, and ``s-`` on contrasted positive tokens (``contrast_positives``).
        contrast_positives: Also contrast each token of a *labelled* positive sequence (feedback 1; the gold token as
            ``s+``) with a sampled top-k alternative without the gold (as ``s-``), as in the CT loss of Jiang et al.
            (2022), in addition to its cross-entropy. Unlabelled tokens (feedback -1) are not contrasted.
        ce_on_positives: Cross-entropy on labelled positive tokens (feedback 1). If False, cross-entropy only on
            unlabelled tokens (feedback -1); labelled positives still count in the token count of the reduction.
        generator: Optional ``torch.Generator`` for reproducible sampling.

    Returns:
        A :class:`CringeOutput` of per-token tensors; ``.mean()`` gives the reduced training loss.

    Raises:
        ValueError: On mismatched shapes, ``k`` out of range, or feedback values outside {-1, 0, 1}.
    """
    if logits.dim() != 2 or targets.shape != logits.shape[:1] or feedback.shape != targets.shape:
        raise ValueError(
            f"expected logits (N, V), targets (N,), feedback (N,); got {tuple(logits.shape)}, "
            f"{tuple(targets.shape)}, {tuple(feedback.shape)}"
        )
    vocab = logits.size(-1)
    if not 1 <= k < vocab:
        raise ValueError(f"k must be in [1, V) = [1, {vocab}), got {k}")
    if ((feedback < _UNLABELLED) | (feedback > _POSITIVE)).any():
        raise ValueError("feedback values must be 1 (positive), 0 (negative) or -1 (unlabelled)")

    valid = targets != ignore_index
    negative_mask = valid & (feedback == _NEGATIVE)
    positive_mask = valid & ~negative_mask
    labelled_positive = valid & (feedback == _POSITIVE)
    ce_mask = positive_mask if ce_on_positives else positive_mask & ~labelled_positive
    contrast = negative_mask | labelled_positive if contrast_positives else negative_mask
    safe_targets = targets.masked_fill(~valid, 0)

    if contrast.any():
        picks = _sample_from_topk(logits, safe_targets, k, generator)
    else:
        picks = safe_targets
    index = torch.stack([safe_targets, picks], dim=-1)  # (N, 2): the target's and the sampled token's score
    ce, scores = _CrossEntropyAndGather.apply(logits, safe_targets, index)  # ce in float32 for fp16/bf16 logits
    nll = (ce * valid).detach()
    ce = ce * ce_mask
    s_target, s_sample = scores.unbind(-1)
    if detach_positive:  # the sampled token is s+ on negative tokens and s- on contrasted positive ones
        s_sample = s_sample.detach()
    # Negative token: s- = s_target, s+ = s_sample.  Contrasted positive token: the roles swap.
    margin = torch.where(negative_mask, s_target - s_sample, s_sample - s_target)
    cr = F.softplus(margin.to(ce.dtype)) * contrast
    sampled = picks.masked_fill(~contrast, -1)

    loss = ce + alpha * cr
    return CringeOutput(loss, ce, cr, positive_mask, negative_mask, sampled, nll, ce_mask)


class CringeLoss(nn.Module):
    """``nn.Module`` wrapper of :func:`cringe_loss` holding its settings.

    Defaults come from :data:`cringe_agent.settings.DEFAULTS`; see :func:`cringe_loss` and
    :class:`cringe_agent.settings.CringeSettings` for each setting.

    Args:
        alpha: Weight of the contrastive term.
        k: Number of top candidates (the target excluded) to sample the contrasted token from.
        ignore_index: Target value whose positions contribute nothing.
        detach_positive: Stop the gradient through the sampled token's score (``s+`` on negatives, ``s-`` on
            contrasted positives).
        contrast_positives: Also contrast labelled positive tokens against a sampled top-k alternative.
        ce_on_positives: Cross-entropy on labelled positive tokens too (else on unlabelled tokens only).
    """

    def __init__(
        self,
        alpha: float = DEFAULTS.alpha,
        k: int = DEFAULTS.k,
        ignore_index: int = -100,
        detach_positive: bool = DEFAULTS.detach_positive,
        contrast_positives: bool = DEFAULTS.contrast_positives,
        ce_on_positives: bool = DEFAULTS.ce_on_positives,
    ) -> None:
        super().__init__()
        self.alpha = alpha
        self.k = k
        self.ignore_index = ignore_index
        self.detach_positive = detach_positive
        self.contrast_positives = contrast_positives
        self.ce_on_positives = ce_on_positives

    def forward(
        self, logits: Tensor, targets: Tensor, feedback: Tensor, generator: torch.Generator | None = None
    ) -> CringeOutput:
        """Apply :func:`cringe_loss` with this module's settings; see there for shapes."""
        return cringe_loss(
            logits,
            targets,
            feedback,
            alpha=self.alpha,
            k=self.k,
            ignore_index=self.ignore_index,
            detach_positive=self.detach_positive,
            contrast_positives=self.contrast_positives,
            ce_on_positives=self.ce_on_positives,
            generator=generator,
        )

    def extra_repr(self) -> str:
        return (
            f"alpha={self.alpha}, k={self.k}, ignore_index={self.ignore_index}, "
            f"detach_positive={self.detach_positive}, contrast_positives={self.contrast_positives}, "
            f"ce_on_positives={self.ce_on_positives}"
        )
