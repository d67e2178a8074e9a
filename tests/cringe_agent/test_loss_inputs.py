"""Bad input to the CRINGE loss: each case a clear error, or the right result (NaN in padding rows)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from cringe_agent.labels import Feedback
from cringe_agent.loss import CringeLoss, cringe_loss

NEG, POS, UNL = int(Feedback.NEGATIVE), int(Feedback.POSITIVE), int(Feedback.UNLABELLED)
PAD = -100


def _batch(n: int = 6, vocab: int = 10, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, vocab, generator=gen)
    targets = torch.randint(vocab, (n,), generator=gen)
    feedback = torch.tensor([NEG, POS, UNL] * (n // 3) + [NEG] * (n % 3))
    return logits, targets, feedback


# ---------------------------------------------------------------------------------------------------------------
# logits


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_logits_in_a_row_that_is_not_padding_raise(value):
    logits, targets, feedback = _batch()
    logits[2, targets[2]] = value  # at the target: -inf makes its cross-entropy infinite
    logits[4, (targets[4] + 1) % 10] = value if value != -math.inf else math.nan
    with pytest.raises(ValueError, match=r"logits hold NaN or inf in 2 of 6 rows that are not padding \(first at pos"):
        cringe_loss(logits, targets, feedback)
    with pytest.raises(ValueError, match=r"first at position 2, target"):
        cringe_loss(logits, targets, feedback, contrast_positives=True, k=1)


def test_nan_logits_with_all_positive_feedback_raise_too():
    """No contrast at all (no sampling): today's silent NaN loss."""
    logits, targets, _ = _batch()
    logits[5, 3] = math.nan
    with pytest.raises(ValueError, match=r"in 1 of 6 rows .*first at position 5"):
        cringe_loss(logits, targets, torch.full((6,), POS))


@pytest.mark.parametrize("options", [{}, {"contrast_positives": True}, {"detach_positive": True, "k": 1}])
def test_non_finite_padding_rows_never_leak_into_outputs_or_gradient(options):
    logits, targets, feedback = _batch(n=9)
    targets[[1, 4, 7]] = PAD
    clean = logits.clone()
    clean[[1, 4, 7]] = 0.0
    logits[1] = math.nan
    logits[4, 3] = math.inf
    logits[7, :5] = -math.inf
    logits[7, 5:] = math.inf
    leaf = logits.clone().requires_grad_()
    ref_leaf = clean.clone().requires_grad_()
    out = cringe_loss(leaf, targets, feedback, generator=torch.Generator().manual_seed(0), **options)
    ref = cringe_loss(ref_leaf, targets, feedback, generator=torch.Generator().manual_seed(0), **options)
    for name in ("loss", "ce", "cr", "nll"):
        value = getattr(out, name)
        assert torch.isfinite(value).all(), name
        assert (value[[1, 4, 7]] == 0).all(), name
        torch.testing.assert_close(value, getattr(ref, name), msg=name)
    assert torch.equal(out.sampled, ref.sampled)
    out.mean().backward()
    ref.mean().backward()
    assert torch.isfinite(leaf.grad).all()
    assert (leaf.grad[[1, 4, 7]] == 0).all()
    torch.testing.assert_close(leaf.grad, ref_leaf.grad)


def test_masked_out_tokens_at_minus_inf_are_allowed_and_never_sampled():
    logits, targets, feedback = _batch(n=30, vocab=12)
    masked = torch.tensor([0, 11])
    targets = torch.where(torch.isin(targets, masked), torch.tensor(5), targets)
    logits[:, masked] = -math.inf
    leaf = logits.requires_grad_()
    out = cringe_loss(leaf, targets, feedback, k=11, contrast_positives=True)
    assert torch.isfinite(out.loss).all()
    assert not torch.isin(out.sampled, masked).any()
    out.mean().backward()
    assert torch.isfinite(leaf.grad).all() and (leaf.grad[:, masked] == 0).all()


def test_a_contrasted_row_with_nothing_finite_to_contrast_with_raises():
    logits, targets, feedback = _batch()
    logits[3] = -math.inf
    logits[3, targets[3]] = 0.0  # only the target is finite; feedback[3] is negative
    with pytest.raises(ValueError, match=r"1 contrasted row\(s\) have no finite logit .* \(first at position 3\)"):
        cringe_loss(logits, targets, feedback)


def test_integer_logits_are_refused():
    _, targets, feedback = _batch()
    with pytest.raises(TypeError, match="logits must be a floating-point tensor"):
        cringe_loss(torch.zeros(6, 10, dtype=torch.long), targets, feedback)


# ---------------------------------------------------------------------------------------------------------------
# feedback and targets


@pytest.mark.parametrize(
    "feedback",
    [
        torch.tensor([0.0, 1.0, -1.0, 0.0, 1.0, -1.0]),
        torch.tensor([0.0, math.nan, 1.0, 0.0, 1.0, 1.0]),
        torch.tensor([False, True, True, False, True, True]),
        torch.tensor([0.5, 1.0, 1.0, 0.0, 1.0, 1.0], dtype=torch.float64),
    ],
    ids=["float", "nan", "bool", "half-label"],
)
def test_feedback_must_be_an_integer_tensor(feedback):
    logits, targets, _ = _batch()
    with pytest.raises(TypeError, match=r"feedback must be an integer tensor .*got dtype torch\."):
        cringe_loss(logits, targets, feedback)


@pytest.mark.parametrize("dtype", [torch.int8, torch.int32, torch.int64])
def test_feedback_values_outside_minus_one_to_one_name_the_first(dtype):
    logits, targets, _ = _batch()
    feedback = torch.tensor([0, 1, -1, 2, 1, -3], dtype=dtype)
    with pytest.raises(ValueError, match=r"feedback values must be .*; 2 are not, the first 2 at position 3"):
        cringe_loss(logits, targets, feedback)


def test_targets_must_be_integer_ids_in_range():
    logits, targets, feedback = _batch()
    with pytest.raises(TypeError, match=r"targets must be an integer tensor .*torch\.float32"):
        cringe_loss(logits, targets.float(), feedback)
    with pytest.raises(TypeError, match="targets must be an integer tensor"):
        cringe_loss(logits, targets.bool(), feedback)
    bad = targets.clone()
    bad[4] = 10
    with pytest.raises(ValueError, match=r"targets must be in \[0, V\) = \[0, 10\) .*the first 10 at position 4"):
        cringe_loss(logits, bad, feedback)
    bad[4] = -7
    with pytest.raises(ValueError, match=r"the first -7 at position 4"):
        cringe_loss(logits, bad, feedback)


def test_int32_targets_give_the_int64_result():
    logits, targets, feedback = _batch()
    a = cringe_loss(logits, targets, feedback, k=1)
    b = cringe_loss(logits, targets.int(), feedback.int(), k=1)
    torch.testing.assert_close(a.loss, b.loss)


# ---------------------------------------------------------------------------------------------------------------
# alpha and k


@pytest.mark.parametrize(
    ("alpha", "error", "message"),
    [
        (math.nan, ValueError, "alpha must be a finite number >= 0, got nan"),
        (math.inf, ValueError, "alpha must be a finite number >= 0, got inf"),
        (-0.5, ValueError, "alpha must be a finite number >= 0, got -0.5"),
        (True, TypeError, "alpha must be a real number, got bool True"),
        ("1", TypeError, "alpha must be a real number, got str '1'"),
        (torch.tensor(1.0), TypeError, "alpha must be a real number, got Tensor"),
    ],
)
def test_alpha_must_be_a_finite_real_at_least_zero(alpha, error, message):
    logits, targets, feedback = _batch()
    with pytest.raises(error, match=message):
        cringe_loss(logits, targets, feedback, alpha=alpha)
    with pytest.raises(error, match=message):
        CringeLoss(alpha=alpha)


@pytest.mark.parametrize(
    ("k", "error", "message"),
    [
        (True, TypeError, "k must be an int, got bool True"),
        (2.0, TypeError, "k must be an int, got float 2.0"),
        (math.nan, TypeError, "k must be an int, got float nan"),
        (0, ValueError, r"k must be in \[1, V\)"),
        (-1, ValueError, r"k must be in \[1, V\)"),
    ],
)
def test_k_must_be_an_int_from_one(k, error, message):
    logits, targets, feedback = _batch()
    with pytest.raises(error, match=message):
        cringe_loss(logits, targets, feedback, k=k)
    with pytest.raises(error, match=message):
        CringeLoss(k=k)


def test_k_must_be_below_the_vocabulary_size():
    logits, targets, feedback = _batch(vocab=10)
    with pytest.raises(ValueError, match=r"k must be in \[1, V\) = \[1, 10\), got 10"):
        CringeLoss(k=10)(logits, targets, feedback)


def test_alpha_zero_integer_alpha_and_numpy_numbers_are_accepted():
    logits, targets, feedback = _batch()
    reference = cringe_loss(logits, targets, feedback, alpha=2.0, k=1)
    for alpha, k in [(2, 1), (np.float64(2.0), np.int64(1))]:
        out = cringe_loss(logits, targets, feedback, alpha=alpha, k=k)
        torch.testing.assert_close(out.loss, reference.loss)
    assert CringeLoss(alpha=0, k=np.int64(3)).alpha == 0.0
    zero = cringe_loss(logits, targets, feedback, alpha=0.0, k=1)
    torch.testing.assert_close(zero.loss, zero.ce)


def test_the_docstring_documents_the_checks():
    doc = cringe_loss.__doc__ or ""
    for part in ("Input checks", "finite real number >= 0", "integer tensors", "Padding rows", "TypeError"):
        assert part in doc, part
