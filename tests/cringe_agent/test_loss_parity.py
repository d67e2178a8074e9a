"""Parity of :func:`cringe_loss` with a deliberately naive per-token reference written from Algorithm 1 of the paper.

Adolphs et al., *The CRINGE Loss*, arXiv:2211.05826, Algorithm 1: for each token of a positive sequence, the
cross-entropy; for each token of a negative sequence, take the top-(k+1) predictions over the full vocabulary, mask out
the negative token, keep the top k of the rest, sample one of them from the softmax over their scores, and apply a
two-way cross-entropy that puts the sampled token (class 0) above the negative one. The reference below does exactly
that with Python loops, ``torch.topk``, ``torch.distributions.Categorical`` and ``F.cross_entropy``; it also
implements the authors' variants (contrast on labelled positives, detached sampled score, no CE on labelled
positives) the same naive way.

At k = 1 the sample is deterministic, so the per-token losses and the gradients must agree to float64 rounding
(tolerance 1e-12). At k > 1 each sampled token must be one of the reference's candidates with the reference's loss for
that candidate (float64 rounding again), and the mean over many samples must match the reference's exact expectation
(sum over the k candidates of softmax probability times loss) within a stated statistical tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor

from cringe_agent.labels import Feedback
from cringe_agent.loss import cringe_loss

POS, NEG, UNL = int(Feedback.POSITIVE), int(Feedback.NEGATIVE), int(Feedback.UNLABELLED)
PAD = -100
EXACT = dict(rtol=0.0, atol=1e-12)  # float64 rounding only

OPTIONS = [
    pytest.param({}, id="paper"),
    pytest.param({"alpha": 0.7}, id="alpha0.7"),
    pytest.param({"contrast_positives": True}, id="contrast_positives"),
    pytest.param({"ce_on_positives": False}, id="no_ce_on_positives"),
    pytest.param({"detach_positive": True}, id="detach_positive"),
    pytest.param({"detach_positive": True, "contrast_positives": True}, id="detach_and_contrast"),
]


@dataclass
class RefToken:
    """The reference's terms for one target token.

    Attributes:
        ce: Cross-entropy term (zero tensor where none applies).
        candidates: Ids of the k candidates the contrasted token is drawn from (empty where no contrast applies).
        logits: Their scores, the logits of the sampling distribution.
        contrast: The two-way cross-entropy for each candidate, shape ``(k,)``.
    """

    ce: Tensor
    candidates: list[int]
    logits: Tensor
    contrast: Tensor


def _two_way(s_plus: Tensor, s_minus: Tensor) -> Tensor:
    """``-log(exp(s+) / (exp(s+) + exp(s-)))`` as a two-class cross-entropy with class 0 = s+."""
    return F.cross_entropy(torch.stack([s_plus, s_minus]), torch.tensor(0))


def _topk_without(row: Tensor, token: int, k: int) -> tuple[list[int], Tensor]:
    """Top-(k+1) over the full vocabulary, the token masked out with -inf, then the top k of the rest."""
    values, ids = torch.topk(row, k + 1)
    values = values.masked_fill(ids == token, float("-inf"))
    kept, where = torch.topk(values, k)
    return [int(ids[i]) for i in where], kept


def reference_token(row: Tensor, target: int, feedback: int, k: int, options: dict) -> RefToken:
    """The per-token terms of Algorithm 1 (plus the authors' variants) for one row of logits."""
    zero = row.sum() * 0.0
    if target == PAD:
        return RefToken(zero, [], row.new_zeros(0), row.new_zeros(0))
    ce = zero
    gets_ce = feedback == UNL or (feedback == POS and options.get("ce_on_positives", True))
    if gets_ce:
        ce = F.cross_entropy(row.unsqueeze(0), torch.tensor([target]), reduction="none")[0]
    contrasted = feedback == NEG or (feedback == POS and options.get("contrast_positives", False))
    if not contrasted:
        return RefToken(ce, [], row.new_zeros(0), row.new_zeros(0))
    candidates, logits = _topk_without(row, target, k)
    terms = []
    for token in candidates:
        s_sampled = row[token].detach() if options.get("detach_positive", False) else row[token]
        if feedback == NEG:  # the sampled token is s+, the negative token s-
            terms.append(_two_way(s_sampled, row[target]))
        else:  # contrasted positive: the gold token is s+, the sampled token s-
            terms.append(_two_way(row[target], s_sampled))
    return RefToken(ce, candidates, logits.detach(), torch.stack(terms))


def reference_sampled(ref: RefToken, alpha: float, generator_seed: int) -> tuple[Tensor, int]:
    """One draw of the reference's loss: Categorical over the candidates' logits; returns (loss, sampled id)."""
    if not ref.candidates:
        return ref.ce, -1
    torch.manual_seed(generator_seed)
    choice = int(torch.distributions.Categorical(logits=ref.logits).sample())
    return ref.ce + alpha * ref.contrast[choice], ref.candidates[choice]


def reference_expected(ref: RefToken, alpha: float) -> Tensor:
    """Exact expectation over the draw: CE + alpha * sum_j softmax(candidate logits)_j * contrast_j."""
    if not ref.candidates:
        return ref.ce
    return ref.ce + alpha * (torch.softmax(ref.logits, -1) * ref.contrast).sum()


def _batch(n: int = 40, vocab: int = 13, seed: int = 0) -> tuple[Tensor, Tensor, Tensor]:
    """Random float64 logits, targets with padding (some equal to the row's argmax), mixed feedback."""
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, vocab, generator=gen, dtype=torch.float64) * 2
    targets = torch.randint(vocab, (n,), generator=gen)
    targets[::5] = logits[::5].argmax(-1)  # the excluded token is then the top-1: the (k+1)-th candidate is used
    targets[3::7] = PAD
    feedback = torch.tensor([NEG, POS, UNL, NEG, POS, NEG, UNL, NEG])[torch.arange(n) % 8]
    return logits, targets, feedback


@pytest.mark.parametrize("options", OPTIONS)
def test_k1_equals_reference_per_token_and_gradients(options: dict) -> None:
    """At k = 1 the candidate set has one token: no sampling randomness, so values and gradients agree exactly."""
    logits, targets, feedback = _batch()
    alpha = options.get("alpha", 1.0)
    ref_logits = logits.clone().requires_grad_()
    refs = [reference_token(ref_logits[i], int(targets[i]), int(feedback[i]), 1, options) for i in range(len(targets))]
    ref_losses, ref_sampled = zip(*(reference_sampled(r, alpha, generator_seed=i) for i, r in enumerate(refs)))
    ref_loss = torch.stack(list(ref_losses))
    ref_loss.sum().backward()

    ours_logits = logits.clone().requires_grad_()
    out = cringe_loss(ours_logits, targets, feedback, k=1, **options)
    out.loss.sum().backward()

    assert out.sampled.tolist() == list(ref_sampled)
    torch.testing.assert_close(out.loss, ref_loss.detach(), **EXACT)
    torch.testing.assert_close(ours_logits.grad, ref_logits.grad, **EXACT)
    assert (out.sampled[targets == PAD] == -1).all() and (out.loss[targets == PAD] == 0).all()


@pytest.mark.parametrize("options", OPTIONS)
def test_k_above_1_matches_reference_expectation(options: dict) -> None:
    """k = 4: every draw equals the reference's loss for that candidate; the mean over draws, its expectation.

    Tolerances: each draw's value, float64 rounding (1e-12). Means over R = 20,000 draws per token: the contrastive
    terms of one token here span at most about 5, so the standard error of a mean is below 5 / 2 / sqrt(20,000)
    ~= 0.018 (observed error: < 0.008); we allow 0.05 on the loss. The sampled entries of the gradient are bounded by
    alpha times a sigmoid (at most 1 here), standard error below 0.004; we allow 0.02 (observed: < 0.006). Sample
    frequencies of each candidate against its softmax probability: standard error below 0.0036, allowed 0.02.
    """
    k, repeats = 4, 20_000
    logits, targets, feedback = _batch(n=16, vocab=20, seed=1)
    n, vocab = logits.shape
    alpha = options.get("alpha", 1.0)

    ref_logits = logits.clone().requires_grad_()
    refs = [reference_token(ref_logits[i], int(targets[i]), int(feedback[i]), k, options) for i in range(n)]
    expected = torch.stack([reference_expected(r, alpha) for r in refs])
    expected.sum().backward()

    ours_logits = logits.clone().requires_grad_()
    big = ours_logits.unsqueeze(0).expand(repeats, n, vocab).reshape(-1, vocab)
    gen = torch.Generator().manual_seed(0)
    out = cringe_loss(big, targets.repeat(repeats), feedback.repeat(repeats), k=k, generator=gen, **options)
    (out.loss.sum() / repeats).backward()

    # Each draw: a candidate of the reference, with the reference's loss for that candidate.
    sampled, loss = out.sampled.view(repeats, n), out.loss.view(repeats, n).detach()
    for i, ref in enumerate(refs):
        if not ref.candidates:
            assert (sampled[:, i] == -1).all()
            torch.testing.assert_close(loss[:, i], ref.ce.detach().expand(repeats), **EXACT)
            continue
        per_candidate = (ref.ce + alpha * ref.contrast).detach()
        slot = torch.tensor([ref.candidates.index(t) if t in ref.candidates else -1 for t in sampled[:, i].tolist()])
        assert (slot >= 0).all(), f"token {i}: sampled outside the reference's top-{k} without the target"
        torch.testing.assert_close(loss[:, i], per_candidate[slot], **EXACT)
        freq = torch.bincount(slot, minlength=k).double() / repeats
        torch.testing.assert_close(freq, torch.softmax(ref.logits, -1), rtol=0.0, atol=0.02)

    torch.testing.assert_close(loss.mean(0), expected.detach(), rtol=0.0, atol=0.05)
    torch.testing.assert_close(ours_logits.grad, ref_logits.grad, rtol=0.0, atol=0.02)
