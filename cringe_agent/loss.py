"""The CRINGE loss in pure PyTorch (no ParlAI import).

Adolphs, Gao, Xu, Shuster, Sukhbaatar, Weston. *The CRINGE Loss: Learning what language not to model.*
arXiv:2211.05826 (2022), ACL 2023. CRINGE = ContRastive Iterative Negative GEneration.

The authors' settings this module mirrors
-----------------------------------------
Written from the paper's equations; the authors' code was not read. What is known of their release comes from the
project's notes on the paper and its release, and only that is stated here. Each setting is a keyword of
:func:`cringe_loss` and :class:`CringeLoss`, with its default in :data:`cringe_agent.settings.DEFAULTS` and its
ParlAI flag ``--cringe-*`` (:mod:`cringe_agent.agents.cringe`):

- ``alpha`` (``--cringe-alpha``, default 1): weight of the contrastive term, ``L = L_CE + alpha * L_Cr``. The
  authors' code defaults to 1; the paper sweeps {0.5, 1, 2, 5} and uses 0.5 for FITS.
- ``k`` (``--cringe-k``, default **5**): the top-k, the target excluded, that the contrasted token is sampled from
  (softmax over those k logits, temperature 1). **Differs from the authors' code**, which defaults to k = 1 (then the
  sample is the highest-scoring other token); 5 is the value the paper reports.
- ``ce_on_positives`` (``--cringe-ce-on-positives``, default on): cross-entropy on classifier-labelled positive
  tokens (feedback 1). Off, as the authors' variant "CE only on unlabelled data", labelled positives get no
  cross-entropy and, unless ``contrast_positives`` gives them a contrastive term, no loss at all: they then also
  leave the reduction's token count (see *Reduction* below).
- ``contrast_positives`` (``--cringe-contrast-positives``, default off): the authors' variant "apply the 2-way
  contrast also on positive examples (gold token vs a sampled top-k alternative, as in Jiang et al. 2022's CT
  loss)". Implemented as that sentence describes it: the gold token's score is ``s+`` and a token sampled from the
  top-k without the gold is ``s-``. **Project choice**: only classifier-labelled positives (feedback 1) are
  contrasted, never unlabelled tokens (feedback -1). Whether the authors' implementation of this variant actually
  contrasts any token (it has been suggested that its targets equal the ignore index, so that it contrasts nothing)
  is not stated in the sources available to the project and is not claimed here; this module contrasts as described.
- ``detach_positive`` (``--cringe-detach-positive``, default off): the authors' variant "stop the gradient through
  ``s+``". **Project extension**: the gradient is stopped through the *sampled* token's score, which is ``s+`` on
  negative tokens (exactly the authors' variant) and ``s-`` on contrasted positive tokens (where the gold is ``s+``
  and keeps its gradient).

Reduction
---------
The authors sum each sequence's token losses and divide the batch's sum by the number of target tokens, CE and Cr
tokens together; padding contributes nothing. :meth:`CringeOutput.mean` does this, and its count
(:attr:`CringeOutput.num_tokens`) is exactly the tokens that carry a loss term: those of ``ce_mask`` (cross-entropy)
or ``cr_mask`` (contrastive term). With the defaults this is every target token; with ``ce_on_positives`` off (and
``contrast_positives`` off) labelled positive tokens carry no term and are not counted. **Project readings** where
the notes are silent: a token that carries both terms (``contrast_positives`` with ``ce_on_positives``) counts once;
a negative token counts even at ``alpha = 0``, where it carries the contrastive term weighted 0.

Other deliberate differences and additions
------------------------------------------
- Unlabelled tokens (feedback -1, e.g. ordinary dialogue data) are trained as positive, following the label
  convention the authors' ParlAI data uses (``classifier_label`` pos / neg; absent = positive).
- Half-precision logits accumulate in float32, and the input checks of :func:`cringe_loss` (finite logits outside
  padding, integer labels, valid ranges) are the project's own.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

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
        cr: Contrastive term on the tokens of ``cr_mask``, zero elsewhere.
        positive_mask: Target tokens of positive or unlabelled sequences (trained as positive, with CE by default).
        negative_mask: Target tokens of negative sequences (trained with the contrastive term).
        sampled: The token sampled from the top-k for the contrast, ``-1`` where none was sampled.
        nll: ``-log p(target)`` at every target token, negative ones included, detached: for metrics such as the
            perplexity of negative labels.
        ce_mask: Target tokens that got cross-entropy: ``positive_mask``, or only its unlabelled tokens when
            ``ce_on_positives`` is off.
        cr_mask: Target tokens that got the contrastive term: ``negative_mask``, and the labelled positive tokens
            with ``contrast_positives``.
    """

    loss: Tensor
    ce: Tensor
    cr: Tensor
    positive_mask: Tensor
    negative_mask: Tensor
    sampled: Tensor
    nll: Tensor
    ce_mask: Tensor
    cr_mask: Tensor

    @property
    def loss_mask(self) -> Tensor:
        """Target tokens that carry a loss term: ``ce_mask | cr_mask`` (padding never)."""
        return self.ce_mask | self.cr_mask

    @property
    def num_tokens(self) -> Tensor:
        """Number of target tokens that carry a loss term, CE and contrastive tokens together (each token once).

        Every target token with the default settings; with ``ce_on_positives`` off and ``contrast_positives`` off,
        the labelled positive tokens carry no term and are left out.
        """
        return self.loss_mask.sum()

    def mean(self) -> Tensor:
        """The authors' reduction: the sum of the per-token losses divided by :attr:`num_tokens`, the number of
        tokens that carry a loss term (padding excluded).

        A caller that reduces itself should divide by :attr:`num_tokens` too, not by its own count of label tokens:
        the two differ when ``ce_on_positives`` is off.
        """
        return self.loss.sum() / self.num_tokens.clamp(min=1)


class _CrossEntropyAndGather(torch.autograd.Function):
    """Per-row cross-entropy and a gather of chosen scores, with one fused ``(N, V)`` backward pass.

    Autograd would allocate a separate ``(N, V)`` gradient for the cross-entropy and for each gathered score; here the
    softmax gradient and the sparse gradients of the gathered scores are written into one buffer.

    ``lse`` (the rows' log-sum-exp, computed once by the caller) is an input rather than recomputed here, and
    ``zero_rows`` (indices of padding rows whose logits are not finite, or None) get an exact zero gradient: their
    ``exp(logits - lse)`` is NaN, and NaN times a zero upstream gradient is still NaN.
    """

    @staticmethod
    def forward(
        ctx, logits: Tensor, targets: Tensor, index: Tensor, lse: Tensor, zero_rows: Tensor | None
    ) -> tuple[Tensor, Tensor]:
        ce = lse - logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1).to(lse.dtype)
        ctx.save_for_backward(logits, targets, index, lse)
        ctx.zero_rows = zero_rows
        return ce, logits.gather(-1, index)

    @staticmethod
    def backward(ctx, grad_ce: Tensor, grad_gathered: Tensor) -> tuple[Tensor, None, None, None, None]:
        logits, targets, index, lse = ctx.saved_tensors
        # softmax * dL/dce, in the accumulation dtype of the forward pass
        grad = (logits.to(lse.dtype) - lse.unsqueeze(-1)).exp_().mul_(grad_ce.to(lse.dtype).unsqueeze(-1))
        grad = grad.to(logits.dtype)
        grad.scatter_add_(-1, targets.unsqueeze(-1), -grad_ce.unsqueeze(-1).to(grad.dtype))
        grad.scatter_add_(-1, index, grad_gathered.to(grad.dtype))
        if ctx.zero_rows is not None:  # only these rows are touched: no extra (N, V) pass
            grad.index_fill_(0, ctx.zero_rows, 0)
        return grad, None, None, None, None


def _sample_from_topk(
    logits: Tensor, targets: Tensor, k: int, rows: Tensor, generator: torch.Generator | None
) -> tuple[Tensor, Tensor]:
    """Sample one token per row from the softmax over the top-k logits, the target token excluded.

    Args:
        logits: ``(N, V)`` scores.
        targets: ``(N,)`` the token to exclude in each row.
        k: How many of the highest-scoring other tokens to sample from.
        rows: ``(N,)`` bool, the rows whose sample is used; the others are drawn from a uniform distribution, so
            that padding rows (which may hold NaN or inf) never reach the softmax.
        generator: Optional random generator, for reproducible samples.

    Returns:
        ``(N,)`` sampled token ids, never equal to ``targets``; and ``(N,)`` the best candidate's score, ``-inf``
        where every candidate is ``-inf`` (nothing to contrast with).
    """
    # Take k + 1 candidates and drop the target where it is among them, else drop the (k+1)-th: no (N, V) copy.
    values, indices = logits.detach().topk(k + 1, dim=-1)  # (N, k+1), descending
    is_target = indices == targets.unsqueeze(-1)
    keep = ~is_target
    keep[:, -1] &= is_target.any(dim=-1)
    values = values[keep].view(-1, k)  # (N, k)
    indices = indices[keep].view(-1, k)
    best = values[:, 0]
    # Rows not used, and used rows with no finite candidate (an error raised by the caller), sample uniformly.
    usable = rows & (best > float("-inf"))
    probs = torch.softmax(values.float().masked_fill(~usable.unsqueeze(-1), 0.0), dim=-1)  # temperature 1
    choice = torch.multinomial(probs, 1, generator=generator)  # (N, 1)
    return indices.gather(-1, choice).squeeze(-1), best


def check_alpha(alpha: Any) -> float:
    """Return ``alpha`` as a float after checking it is a finite real number >= 0 (bool refused).

    Raises:
        TypeError: ``alpha`` is not a real number, or is a bool.
        ValueError: ``alpha`` is NaN, infinite or negative.
    """
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
        raise TypeError(f"alpha must be a real number, got {type(alpha).__name__} {alpha!r}")
    if not (math.isfinite(alpha) and alpha >= 0):
        raise ValueError(f"alpha must be a finite number >= 0, got {alpha!r}")
    return float(alpha)


def check_k(k: Any, vocab: int | None = None) -> int:
    """Return ``k`` as an int after checking it is an integer >= 1 (bool refused) and, given ``vocab``, < ``vocab``.

    Raises:
        TypeError: ``k`` is not an integer (e.g. a float), or is a bool.
        ValueError: ``k`` is out of range.
    """
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise TypeError(f"k must be an int, got {type(k).__name__} {k!r}")
    if k < 1 or (vocab is not None and k >= vocab):
        upper = f"{vocab}" if vocab is not None else "V"
        raise ValueError(f"k must be in [1, V) = [1, {upper}), got {k}")
    return int(k)


def _check_integer_tensor(name: str, tensor: Tensor) -> None:
    """Refuse float, complex and bool tensors where integer ids or labels are expected."""
    if tensor.dtype == torch.bool or tensor.dtype.is_floating_point or tensor.dtype.is_complex:
        raise TypeError(f"{name} must be an integer tensor (e.g. torch.long), got dtype {tensor.dtype}")


def _first(mask: Tensor) -> int:
    """Index of the first True of a 1-d bool tensor that holds at least one."""
    return int(mask.nonzero()[0, 0])


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
    by the number of tokens that carry a loss term, CE and contrastive tokens together (see the module docstring for
    the authors' settings and where this module differs).

    On ``k``: the paper uses ``k = 5`` (the default, :data:`cringe_agent.settings.DEFAULTS`); the authors' released
    code defaults to ``k = 1``, where ``s+`` is simply the highest-scoring token other than the negative one.
    ``alpha``: 1 in the authors' code; the paper sweeps {0.5, 1, 2, 5} (0.5 for FITS).

    Input checks (all cheap: no extra pass over the ``(N, V)`` logits, which are only read by the log-sum-exp, the
    target gather and the top-k that the loss needs anyway; two to four host syncs on ``(N,)`` flags):

    - ``alpha`` is a finite real number >= 0 and ``k`` an int with ``1 <= k < V`` (a bool is neither).
    - ``targets`` and ``feedback`` are integer tensors (not bool, not float: a float or NaN feedback is never read
      as a label); feedback values are in {-1, 0, 1} and targets other than ``ignore_index`` are in ``[0, V)``.
    - Every row that is not padding has a finite log-normaliser and a finite target logit: a NaN or ``+inf``
      anywhere in it, or ``-inf`` at its target, raises ``ValueError`` with the number of such rows and the first
      position. ``-inf`` elsewhere is a masked-out token (probability 0, never sampled), unless it leaves a
      contrasted row with no finite candidate to contrast with, which also raises.
    - Padding rows (``targets == ignore_index``) may hold anything, NaN included: they are left out of the sampling
      and selected away (``torch.where``, never multiplied by a zero mask), so no NaN or inf from them reaches
      ``loss``, ``ce``, ``cr``, ``nll`` or the gradient, which is exactly zero on them.

    Args:
        logits: ``(N, V)`` floating-point scores at each target position.
        targets: ``(N,)`` integer target token ids; ``ignore_index`` marks padding.
        feedback: ``(N,)`` integer per-token label of the sequence (:class:`cringe_agent.labels.Feedback`):
            1 positive, 0 negative, -1 unlabelled (trained as positive).
        alpha: Weight of the contrastive term; a finite number >= 0.
        k: Number of top candidates (the target excluded) to sample the contrasted token from; ``1 <= k < V``.
        ignore_index: Target value whose positions contribute nothing.
        detach_positive: Stop the gradient through the sampled token's score wherever a contrast applies: ``s+`` on
            negative tokens, and ``s-`` on contrasted positive tokens (``contrast_positives``).
        contrast_positives: Also contrast each token of a *labelled* positive sequence (feedback 1; the gold token as
            ``s+``) with a sampled top-k alternative without the gold (as ``s-``), as in the CT loss of Jiang et al.
            (2022), in addition to its cross-entropy. Unlabelled tokens (feedback -1) are not contrasted.
        ce_on_positives: Cross-entropy on labelled positive tokens (feedback 1). If False, cross-entropy only on
            unlabelled tokens (feedback -1); labelled positives then carry no loss term (unless
            ``contrast_positives``) and leave the token count of the reduction.
        generator: Optional ``torch.Generator`` for reproducible sampling.

    Returns:
        A :class:`CringeOutput` of per-token tensors; ``.mean()`` gives the reduced training loss.

    Raises:
        TypeError: ``alpha`` or ``k`` of the wrong type (a bool, a float ``k``), integer logits, or float/bool
            targets or feedback.
        ValueError: Mismatched shapes, ``alpha`` or ``k`` out of range, feedback values outside {-1, 0, 1}, targets
            outside ``[0, V)``, non-finite logits in rows that are not padding, or a contrasted row with no finite
            candidate.
    """
    alpha = check_alpha(alpha)
    if logits.dim() != 2 or targets.shape != logits.shape[:1] or feedback.shape != targets.shape:
        raise ValueError(
            f"expected logits (N, V), targets (N,), feedback (N,); got {tuple(logits.shape)}, "
            f"{tuple(targets.shape)}, {tuple(feedback.shape)}"
        )
    if not logits.dtype.is_floating_point:
        raise TypeError(f"logits must be a floating-point tensor, got dtype {logits.dtype}")
    _check_integer_tensor("targets", targets)
    _check_integer_tensor("feedback", feedback)
    vocab = logits.size(-1)
    k = check_k(k, vocab)

    valid = targets != ignore_index
    bad_feedback = (feedback < _UNLABELLED) | (feedback > _POSITIVE)
    bad_target = valid & ((targets < 0) | (targets >= vocab))
    has_bad_feedback, has_bad_target = torch.stack([bad_feedback.any(), bad_target.any()]).tolist()  # one sync
    if has_bad_feedback:
        raise ValueError(
            f"feedback values must be 1 (positive), 0 (negative) or -1 (unlabelled); {int(bad_feedback.sum())} "
            f"are not, the first {feedback[_first(bad_feedback)].item()!r} at position {_first(bad_feedback)}"
        )
    if has_bad_target:
        raise ValueError(
            f"targets must be in [0, V) = [0, {vocab}) or ignore_index ({ignore_index}); {int(bad_target.sum())} "
            f"are not, the first {targets[_first(bad_target)].item()} at position {_first(bad_target)}"
        )

    negative_mask = valid & (feedback == _NEGATIVE)
    positive_mask = valid & ~negative_mask
    labelled_positive = valid & (feedback == _POSITIVE)
    ce_mask = positive_mask if ce_on_positives else positive_mask & ~labelled_positive
    contrast = negative_mask | labelled_positive if contrast_positives else negative_mask
    safe_targets = targets.masked_fill(~valid, 0).long()

    with torch.no_grad():  # the one read of (N, V) for the normaliser; the autograd function reuses it
        acc = torch.promote_types(logits.dtype, torch.float32)  # accumulate fp16/bf16 in float32
        lse = torch.logsumexp(logits.detach().to(acc), dim=-1)  # (N,)
        finite = torch.isfinite(lse - logits.detach().gather(-1, safe_targets.unsqueeze(-1)).squeeze(-1).to(acc))
    bad_rows = valid & ~finite
    pad_rows = ~valid & ~finite
    has_bad_rows, has_pad_rows, any_contrast = torch.stack([bad_rows.any(), pad_rows.any(), contrast.any()]).tolist()
    if has_bad_rows:
        first = _first(bad_rows)
        raise ValueError(
            f"logits hold NaN or inf in {int(bad_rows.sum())} of {int(valid.sum())} rows that are not padding "
            f"(first at position {first}, target {int(targets[first])}); only padding rows "
            f"(targets == ignore_index, {ignore_index}) may hold non-finite values"
        )
    zero_rows = pad_rows.nonzero().squeeze(-1) if has_pad_rows else None

    if any_contrast:
        picks, best = _sample_from_topk(logits, safe_targets, k, contrast, generator)
        stuck = contrast & (best == float("-inf"))
        if stuck.any():
            raise ValueError(
                f"{int(stuck.sum())} contrasted row(s) have no finite logit among the top-{k} besides the target "
                f"(first at position {_first(stuck)}): nothing to contrast with"
            )
    else:
        picks = safe_targets
    index = torch.stack([safe_targets, picks], dim=-1)  # (N, 2): the target's and the sampled token's score
    ce, scores = _CrossEntropyAndGather.apply(logits, safe_targets, index, lse, zero_rows)  # float32 for fp16/bf16
    zero = ce.new_zeros(())
    nll = torch.where(valid, ce, zero).detach()
    ce = torch.where(ce_mask, ce, zero)
    s_target, s_sample = scores.unbind(-1)
    if detach_positive:  # the sampled token is s+ on negative tokens and s- on contrasted positive ones
        s_sample = s_sample.detach()
    # Negative token: s- = s_target, s+ = s_sample.  Contrasted positive token: the roles swap.
    margin = torch.where(negative_mask, s_target - s_sample, s_sample - s_target).to(ce.dtype)
    margin = torch.where(contrast, margin, zero)  # before softplus: its gradient at a NaN margin would be NaN
    cr = torch.where(contrast, F.softplus(margin), zero)
    sampled = picks.masked_fill(~contrast, -1)

    loss = ce + alpha * cr
    return CringeOutput(loss, ce, cr, positive_mask, negative_mask, sampled, nll, ce_mask, contrast)


class CringeLoss(nn.Module):
    """``nn.Module`` wrapper of :func:`cringe_loss` holding its settings.

    Defaults come from :data:`cringe_agent.settings.DEFAULTS`; see :func:`cringe_loss` and
    :class:`cringe_agent.settings.CringeSettings` for each setting.

    Args:
        alpha: Weight of the contrastive term; a finite number >= 0.
        k: Number of top candidates (the target excluded) to sample the contrasted token from; an int >= 1.
        ignore_index: Target value whose positions contribute nothing.
        detach_positive: Stop the gradient through the sampled token's score (``s+`` on negatives, ``s-`` on
            contrasted positives).
        contrast_positives: Also contrast labelled positive tokens against a sampled top-k alternative.
        ce_on_positives: Cross-entropy on labelled positive tokens too (else on unlabelled tokens only).

    Raises:
        TypeError: ``alpha`` is not a real number or ``k`` not an int (a bool is neither).
        ValueError: ``alpha`` is NaN, infinite or negative, or ``k < 1``.
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
        self.alpha = check_alpha(alpha)
        self.k = check_k(k)  # k < V is checked on each call, where V is known
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
