"""Tests of the pure-torch CRINGE loss against hand computations, cross-entropy and its own gradients."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import cringe_agent.settings
from cringe_agent.labels import Feedback
from cringe_agent.loss import CringeLoss, cringe_loss
from cringe_agent.settings import DEFAULTS, CringeSettings

POS, NEG, UNL = int(Feedback.POSITIVE), int(Feedback.NEGATIVE), int(Feedback.UNLABELLED)


def test_hand_computed_value_k1() -> None:
    """V=4, k=1, one negative token (id 2) with logits [1, 3, 2, 0].

    The top-1 excluding token 2 is token 1 (s+ = 3), s- = 2: L_cr = -log(e^3 / (e^3 + e^2)) = log(1 + e^-1)
    = 0.3132617. With alpha = 2 the loss is 0.6265234, and there is no CE on a negative token.
    """
    logits = torch.tensor([[1.0, 3.0, 2.0, 0.0]])
    out = cringe_loss(logits, torch.tensor([2]), torch.tensor([NEG]), alpha=2.0, k=1)
    assert out.cr.item() == pytest.approx(math.log1p(math.exp(-1.0)), abs=1e-6)
    assert out.cr.item() == pytest.approx(0.3132617, abs=1e-6)
    assert out.loss.item() == pytest.approx(2 * 0.3132617, abs=1e-6)
    assert out.ce.item() == 0.0
    assert out.sampled.item() == 1


def test_equals_cross_entropy_without_negatives() -> None:
    logits = torch.randn(50, 30)
    targets = torch.randint(30, (50,))
    feedback = torch.tensor([POS, UNL] * 25)
    out = cringe_loss(logits, targets, feedback, k=5)
    torch.testing.assert_close(out.loss, F.cross_entropy(logits, targets, reduction="none"))
    torch.testing.assert_close(out.mean(), F.cross_entropy(logits, targets))
    assert out.cr.abs().sum() == 0
    assert (out.sampled == -1).all()


def test_alpha_zero_keeps_only_ce_on_positives() -> None:
    logits = torch.randn(40, 20)
    targets = torch.randint(20, (40,))
    feedback = torch.tensor([POS, NEG] * 20)
    out = cringe_loss(logits, targets, feedback, alpha=0.0)
    expected = F.cross_entropy(logits, targets, reduction="none") * (feedback == POS)
    torch.testing.assert_close(out.loss, expected)
    assert (out.cr[feedback == NEG] > 0).all()  # still computed, for logging


def test_ignore_index_contributes_nothing() -> None:
    logits = torch.randn(6, 10, requires_grad=True)
    targets = torch.tensor([1, -100, 3, -100, 5, 7])
    feedback = torch.tensor([NEG, NEG, POS, POS, NEG, UNL])
    out = cringe_loss(logits, targets, feedback, contrast_positives=True)
    ignored = targets == -100
    assert (out.loss[ignored] == 0).all() and (out.ce[ignored] == 0).all() and (out.cr[ignored] == 0).all()
    assert not (out.positive_mask | out.negative_mask)[ignored].any()
    assert out.num_tokens.item() == 4
    out.mean().backward()
    assert (logits.grad[ignored] == 0).all()
    assert (logits.grad[~ignored].abs().sum(-1) > 0).all()


def test_reduction_is_sum_over_target_tokens() -> None:
    logits = torch.randn(8, 12)
    targets = torch.tensor([1, 2, 3, -100, 4, 5, -100, 6])
    feedback = torch.tensor([NEG, POS, NEG, NEG, POS, UNL, POS, NEG])
    out = cringe_loss(logits, targets, feedback)
    assert out.mean().item() == pytest.approx(out.loss.sum().item() / 6, rel=1e-6)


@pytest.mark.parametrize(
    "options", [{}, {"contrast_positives": True}, {"ce_on_positives": False, "contrast_positives": True}]
)
def test_gradcheck_float64(options: dict) -> None:
    logits = torch.randn(7, 9, dtype=torch.float64, requires_grad=True)
    targets = torch.tensor([0, 3, 8, -100, 5, 2, 2])
    feedback = torch.tensor([NEG, POS, NEG, NEG, UNL, NEG, POS])

    def total(x: torch.Tensor) -> torch.Tensor:
        # k = 1: the sampled token is the runner-up, deterministic under the finite-difference perturbations
        return cringe_loss(x, targets, feedback, k=1, **options).loss

    assert torch.autograd.gradcheck(total, (logits,))


def test_gradient_signs_push_negative_down_and_sampled_up() -> None:
    logits = torch.tensor([[0.5, 2.0, 1.5, -1.0, 0.0]], requires_grad=True)
    out = cringe_loss(logits, torch.tensor([2]), torch.tensor([NEG]), k=1)
    out.loss.sum().backward()
    assert out.sampled.item() == 1
    assert logits.grad[0, 2] > 0  # gradient descent lowers the negative token's logit
    assert logits.grad[0, 1] < 0  # and raises the sampled positive's
    assert (logits.grad[0, [0, 3, 4]] == 0).all()


def test_detach_positive_stops_gradient_into_sampled_token() -> None:
    logits = torch.tensor([[0.5, 2.0, 1.5, -1.0]], requires_grad=True)
    cringe_loss(logits, torch.tensor([2]), torch.tensor([NEG]), k=1, detach_positive=True).loss.sum().backward()
    assert logits.grad[0, 1] == 0 and logits.grad[0, 2] > 0


def test_contrast_positives_pushes_gold_above_alternative() -> None:
    logits = torch.tensor([[0.5, 2.0, 1.5, -1.0]], requires_grad=True)
    plain = cringe_loss(logits, torch.tensor([2]), torch.tensor([POS]), k=1)
    out = cringe_loss(logits, torch.tensor([2]), torch.tensor([POS]), k=1, contrast_positives=True)
    assert out.cr.item() == pytest.approx(math.log1p(math.exp(2.0 - 1.5)), abs=1e-6)
    assert out.loss.item() == pytest.approx(plain.loss.item() + out.cr.item(), abs=1e-6)
    out.cr.sum().backward()
    assert logits.grad[0, 2] < 0 and logits.grad[0, 1] > 0


def test_target_excluded_even_when_argmax() -> None:
    logits = torch.randn(2000, 50)
    targets = logits.argmax(-1)
    out = cringe_loss(logits, targets, torch.full((2000,), NEG), k=3)
    assert (out.sampled != targets).all()
    top4 = logits.topk(4, -1).indices
    assert (top4 == out.sampled.unsqueeze(-1)).any(-1).all()  # within the top-3 of the other tokens


def test_sampled_positives_follow_topk_softmax() -> None:
    """One row sampled 40k times: frequencies match softmax over the top-3 logits other than the target."""
    n = 40_000
    row = torch.tensor([0.0, 3.0, 1.0, 2.5, 2.0, -1.0])
    target = 1  # the argmax, so the candidates are tokens 3, 4, 2
    gen = torch.Generator().manual_seed(0)
    out = cringe_loss(row.expand(n, -1), torch.full((n,), target), torch.full((n,), NEG), k=3, generator=gen)
    counts = torch.bincount(out.sampled, minlength=6).double() / n
    expected = torch.zeros(6, dtype=torch.float64)
    expected[[3, 4, 2]] = torch.softmax(torch.tensor([2.5, 2.0, 1.0], dtype=torch.float64), 0)
    assert counts[[0, 1, 5]].sum() == 0
    torch.testing.assert_close(counts, expected, atol=0.01, rtol=0)


def test_generator_makes_samples_reproducible() -> None:
    logits = torch.randn(300, 40)
    targets = torch.randint(40, (300,))
    feedback = torch.full((300,), NEG)

    def run(seed: int) -> torch.Tensor:
        return cringe_loss(logits, targets, feedback, k=10, generator=torch.Generator().manual_seed(seed)).sampled

    assert torch.equal(run(1), run(1))
    assert not torch.equal(run(1), run(2))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_is_finite(dtype: torch.dtype) -> None:
    logits = (torch.randn(64, 500) * 30).to(dtype).requires_grad_()
    logits.data[:, 7] = 3000.0  # a dominant logit: exp() of it overflows any 16-bit float
    targets = torch.randint(500, (64,))
    targets[:8] = 7
    feedback = torch.tensor([NEG, POS, UNL, NEG] * 16)
    out = cringe_loss(logits, targets, feedback, k=5, contrast_positives=True)
    assert out.loss.dtype == torch.float32  # per-token values accumulate in float32
    assert torch.isfinite(out.loss).all()
    out.mean().backward()
    assert torch.isfinite(logits.grad).all()
    ref = cringe_loss(logits.detach().float(), targets, feedback, k=1)
    half = cringe_loss(logits.detach(), targets, feedback, k=1)
    torch.testing.assert_close(half.ce.float(), ref.ce, rtol=0.02, atol=0.1)


def test_module_matches_function() -> None:
    logits = torch.randn(30, 25)
    targets = torch.randint(25, (30,))
    feedback = torch.tensor([NEG, POS, UNL] * 10)
    options = dict(alpha=0.5, k=4, detach_positive=True, contrast_positives=True, ce_on_positives=False)
    module = CringeLoss(**options)
    a = module(logits, targets, feedback, generator=torch.Generator().manual_seed(0))
    b = cringe_loss(logits, targets, feedback, **options, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(a.loss, b.loss)
    assert torch.equal(a.sampled, b.sampled)
    assert (a.ce[feedback == POS] == 0).all() and (a.cr[feedback == POS] > 0).all()  # the options reached the loss
    assert "alpha=0.5" in repr(module) and "ce_on_positives=False" in repr(module)


def test_bad_arguments_raise_clear_errors() -> None:
    logits = torch.randn(4, 5)
    targets = torch.tensor([0, 1, 2, 3])
    with pytest.raises(ValueError, match="k must be"):
        cringe_loss(logits, targets, torch.zeros(4, dtype=torch.long), k=5)
    with pytest.raises(ValueError, match="feedback values"):
        cringe_loss(logits, targets, torch.tensor([0, 1, 2, -1]), k=1)
    with pytest.raises(ValueError, match="expected logits"):
        cringe_loss(logits, targets[:3], torch.zeros(3, dtype=torch.long))


@pytest.mark.integration
def test_import_does_not_import_parlai() -> None:
    code = (
        "import sys, cringe_agent.loss, cringe_agent.labels, cringe_agent.settings, cringe_agent; "
        "assert 'parlai' not in sys.modules, 'parlai imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_nll_is_cross_entropy_on_every_target_token() -> None:
    logits = torch.randn(6, 10)
    targets = torch.tensor([1, -100, 3, 4, 5, 7])
    feedback = torch.tensor([NEG, NEG, POS, NEG, UNL, POS])
    out = cringe_loss(logits, targets, feedback)
    expected = F.cross_entropy(logits, targets, reduction="none", ignore_index=-100)
    torch.testing.assert_close(out.nll, expected)


def test_defaults_come_from_settings() -> None:
    """The paper's values, kept in cringe_agent.settings only; the function and the module take them from there."""
    assert DEFAULTS == CringeSettings(
        alpha=1.0, k=5, detach_positive=False, contrast_positives=False, ce_on_positives=True
    )
    params = inspect.signature(cringe_loss).parameters
    module = CringeLoss()
    for field in dataclasses.fields(CringeSettings):
        assert params[field.name].default == getattr(DEFAULTS, field.name), field.name
        assert getattr(module, field.name) == getattr(DEFAULTS, field.name), field.name
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULTS.k = 1  # type: ignore[misc]


def test_settings_module_is_pure_python() -> None:
    """settings.py imports neither torch nor ParlAI (a loop config imports it), and documents every field."""
    tree = ast.parse(Path(cringe_agent.settings.__file__).read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported == {"__future__", "dataclasses"}
    body = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "CringeSettings").body
    documented = {
        stmt.target.id
        for stmt, after in zip(body, body[1:])
        if isinstance(stmt, ast.AnnAssign) and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)
    }
    assert documented == {field.name for field in dataclasses.fields(CringeSettings)}


def test_ce_on_positives_false_trains_only_unlabelled_with_ce() -> None:
    logits = torch.randn(9, 12, requires_grad=True)
    targets = torch.tensor([1, 2, 3, 4, 5, -100, 7, 8, 9])
    feedback = torch.tensor([POS, UNL, NEG, POS, UNL, POS, NEG, UNL, POS])
    out = cringe_loss(logits, targets, feedback, ce_on_positives=False)
    valid = targets != -100
    unlabelled, positive = valid & (feedback == UNL), valid & (feedback == POS)
    expected_ce = F.cross_entropy(logits, targets, reduction="none", ignore_index=-100) * unlabelled
    torch.testing.assert_close(out.ce, expected_ce)
    assert (out.loss[positive] == 0).all()
    assert torch.equal(out.ce_mask, unlabelled)
    # Labelled positives carry no loss term and leave the token count: 8 valid tokens, 3 of them labelled positives.
    assert torch.equal(out.loss_mask, valid & (feedback != POS))
    assert out.num_tokens.item() == 5
    assert out.mean().item() == pytest.approx(out.loss.sum().item() / 5, rel=1e-6)
    out.mean().backward()
    assert (logits.grad[positive] == 0).all() and (logits.grad[unlabelled].abs().sum(-1) > 0).all()
    # The default trains labelled positives with CE as before.
    default = cringe_loss(logits.detach(), targets, feedback)
    detached = logits.detach()
    expected_pos = F.cross_entropy(detached[positive], targets[positive], reduction="none")
    torch.testing.assert_close(default.ce[positive], expected_pos)
    assert torch.equal(default.ce_mask, valid & (feedback != NEG))


def test_contrast_positives_applies_to_labelled_positives_only() -> None:
    logits = torch.randn(30, 15)
    targets = torch.randint(15, (30,))
    feedback = torch.tensor([POS, UNL, NEG] * 10)
    out = cringe_loss(logits, targets, feedback, k=3, contrast_positives=True)
    unl, pos = feedback == UNL, feedback == POS
    assert (out.cr[unl] == 0).all() and (out.sampled[unl] == -1).all()
    torch.testing.assert_close(out.loss[unl], F.cross_entropy(logits[unl], targets[unl], reduction="none"))
    assert (out.cr[pos] > 0).all() and (out.sampled[pos] != targets[pos]).all() and (out.sampled[pos] >= 0).all()
    rows = pos.nonzero().squeeze(-1)
    s_gold, s_sampled = logits[rows, targets[pos]], logits[rows, out.sampled[pos]]
    torch.testing.assert_close(out.cr[pos], F.softplus(s_sampled - s_gold))


def test_detach_positive_detaches_sampled_token_on_contrasted_positives() -> None:
    """Positive token 2 (gold, s+) against the runner-up 1 (sampled, s-): detached, token 1 gets no gradient."""
    grads = {}
    for detach in (False, True):
        logits = torch.tensor([[0.5, 2.0, 1.5, -1.0]], requires_grad=True)
        out = cringe_loss(
            logits, torch.tensor([2]), torch.tensor([POS]), k=1, contrast_positives=True, detach_positive=detach
        )
        assert out.sampled.item() == 1
        out.cr.sum().backward()
        grads[detach] = logits.grad[0].clone()
    assert grads[False][1] > 0  # without detach, gradient descent lowers the sampled alternative
    assert grads[True][1] == 0
    expected_gold = -torch.sigmoid(torch.tensor(2.0 - 1.5))  # d softplus(s- - s+) / d s+
    torch.testing.assert_close(grads[True][2], expected_gold)
    torch.testing.assert_close(grads[False][2], expected_gold)


# A batch of four sequences over V = 4, flattened, with k = 1 (deterministic): a labelled positive sequence (rows 0-1),
# a negative one (rows 2-3), a padding row (4) and an unlabelled sequence of one token (row 5).
MIXED_LOGITS = [
    [1.0, 0.0, 0.0, 0.0],  # positive, target 0
    [0.0, 2.0, 0.0, 0.0],  # positive, target 1
    [1.0, 3.0, 2.0, 0.0],  # negative, target 2: best other token 1 (s+ = 3), s- = 2
    [0.5, 0.0, 1.0, 2.0],  # negative, target 3: best other token 2 (s+ = 1), s- = 2
    [9.0, 9.0, 9.0, 9.0],  # padding
    [0.0, 1.0, 0.0, 0.0],  # unlabelled, target 1
]
MIXED_TARGETS = [0, 1, 2, 3, -100, 1]
MIXED_FEEDBACK = [POS, POS, NEG, NEG, POS, UNL]


def _mixed(**options) -> tuple:  # noqa: ANN003
    out = cringe_loss(
        torch.tensor(MIXED_LOGITS, dtype=torch.float64),
        torch.tensor(MIXED_TARGETS),
        torch.tensor(MIXED_FEEDBACK),
        k=1,
        **options,
    )
    return out, out.loss.tolist()


def test_hand_computed_no_ce_on_positives_divides_by_tokens_with_a_term() -> None:
    """ce_on_positives=False, alpha=0.5: the positive sequence's two tokens carry no term and are not counted.

    Negative rows: -log(e^3 / (e^3 + e^2)) = log(1 + e^-1) and -log(e^1 / (e^1 + e^2)) = log(1 + e), each times 0.5;
    unlabelled row: -log(e^1 / (3 + e^1)) = log(3 + e) - 1. Denominator: 2 negative + 1 unlabelled = 3 tokens (the
    former count, 5, included the two positive tokens). Mean = (0.5 * 0.3132617 + 0.5 * 1.3132617 + 0.7436684) / 3
    = 0.5189767 (it was 0.3113860 = the same sum / 5).
    """
    out, loss = _mixed(alpha=0.5, ce_on_positives=False)
    neg_a = 0.5 * math.log(1 + math.exp(-1.0))
    neg_b = 0.5 * math.log(1 + math.exp(1.0))
    unl = math.log(3 + math.exp(1.0)) - 1.0
    assert loss == pytest.approx([0.0, 0.0, neg_a, neg_b, 0.0, unl], abs=1e-12)
    assert out.sampled.tolist() == [-1, -1, 1, 2, -1, -1]
    assert out.num_tokens.item() == 3
    assert out.loss_mask.tolist() == [False, False, True, True, False, True]
    expected = (neg_a + neg_b + unl) / 3
    assert out.mean().item() == pytest.approx(expected, abs=1e-12)
    assert expected == pytest.approx(0.5189767, abs=1e-7)


def test_hand_computed_no_ce_on_positives_with_contrast_counts_contrasted_positives() -> None:
    """ce_on_positives=False with contrast_positives: the positive tokens carry a contrastive term and count again.

    Positive rows (gold = s+, best other token = s-): row 0, gold 1 vs 0 -> log(1 + e^-1); row 1, gold 2 vs 0 ->
    log(1 + e^-2). Denominator: 2 positive + 2 negative + 1 unlabelled = 5.
    """
    out, loss = _mixed(ce_on_positives=False, contrast_positives=True)
    pos_a, pos_b = math.log(1 + math.exp(-1.0)), math.log(1 + math.exp(-2.0))
    neg_a, neg_b = math.log(1 + math.exp(-1.0)), math.log(1 + math.exp(1.0))
    unl = math.log(3 + math.exp(1.0)) - 1.0
    assert loss == pytest.approx([pos_a, pos_b, neg_a, neg_b, 0.0, unl], abs=1e-12)
    assert out.num_tokens.item() == 5
    assert out.mean().item() == pytest.approx((pos_a + pos_b + neg_a + neg_b + unl) / 5, abs=1e-12)


def test_hand_computed_default_path_divides_by_every_target_token() -> None:
    """The default settings (alpha 1, CE on every positive and unlabelled token), k = 1: unchanged by the fix.

    CE: row 0 log(3 + e) - 1, row 1 log(3 + e^2) - 2, row 5 log(3 + e) - 1; contrast: log(1 + e^-1), log(1 + e).
    Denominator: all 5 target tokens. Mean = (0.7436684 + 0.3407530 + 0.3132617 + 1.3132617 + 0.7436684) / 5
    = 0.6909226.
    """
    out, loss = _mixed()
    ce0, ce1 = math.log(3 + math.exp(1.0)) - 1.0, math.log(3 + math.exp(2.0)) - 2.0
    neg_a, neg_b = math.log(1 + math.exp(-1.0)), math.log(1 + math.exp(1.0))
    unl = math.log(3 + math.exp(1.0)) - 1.0
    assert loss == pytest.approx([ce0, ce1, neg_a, neg_b, 0.0, unl], abs=1e-12)
    assert out.num_tokens.item() == 5
    expected = (ce0 + ce1 + neg_a + neg_b + unl) / 5
    assert out.mean().item() == pytest.approx(expected, abs=1e-12)
    assert expected == pytest.approx(0.6909226, abs=1e-7)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"alpha": 0.0},
        {"contrast_positives": True},
        {"detach_positive": True},
        {"ce_on_positives": False, "contrast_positives": True},
    ],
)
def test_token_count_is_unchanged_wherever_every_target_token_carries_a_term(options: dict) -> None:
    """Default k = 5: the count is the former one (every positive, unlabelled and negative target token)."""
    logits = torch.randn(40, 17)
    targets = torch.randint(17, (40,))
    targets[::7] = -100
    feedback = torch.tensor([POS, NEG, UNL, NEG, POS] * 8)
    out = cringe_loss(logits, targets, feedback, **options)
    former = out.positive_mask.sum() + out.negative_mask.sum()
    assert out.num_tokens.item() == former.item() == int((targets != -100).sum())
    assert out.mean().item() == pytest.approx((out.loss.sum() / former).item(), rel=1e-12)
