"""The baselines' per-token losses on hand-checked values (V = 3 or 4), and their gradients' directions."""

from __future__ import annotations

import math

import pytest
import torch

from cringe_agent.baselines import mle_positives_loss, sigmoid_only_loss

LOGITS = [[2.0, 0.0, -1.0], [0.5, 1.5, 0.0], [0.0, 0.0, 0.0]]
TARGETS = [0, 1, 2]


def _softplus(x: float) -> float:
    return math.log1p(math.exp(x))


def _log_softmax(row: list[float], i: int) -> float:
    return row[i] - math.log(sum(math.exp(v) for v in row))


def _sigma(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def _inputs(feedback: list[int], targets: list[int] = TARGETS) -> tuple[torch.Tensor, ...]:
    logits = torch.tensor(LOGITS, dtype=torch.float64, requires_grad=True)
    return logits, torch.tensor(targets), torch.tensor(feedback)


def test_mle_positives_is_cross_entropy_on_positive_and_unlabelled_tokens_only() -> None:
    logits, targets, feedback = _inputs([1, 0, -1])
    out = mle_positives_loss(logits, targets, feedback)
    expected = [-_log_softmax(LOGITS[0], 0), 0.0, -_log_softmax(LOGITS[2], 2)]
    assert out.loss.tolist() == pytest.approx(expected, abs=1e-12)
    assert out.positive_mask.tolist() == [True, False, True]
    assert out.negative_mask.tolist() == [False, True, False]
    assert out.nll[1].item() == pytest.approx(-_log_softmax(LOGITS[1], 1))  # reported, not trained
    out.loss.sum().backward()
    assert logits.grad[1].abs().sum().item() == 0.0  # the negative token's row gets no gradient


def test_sigmoid_only_mean_reduction_hand_checked() -> None:
    """The project's earlier form, still reachable: the others-term averaged over the V - 1 other tokens."""
    logits, targets, feedback = _inputs([1, 0, -1])
    out = sigmoid_only_loss(logits, targets, feedback, negative_weight=2.0, others_weight=0.5, others_reduction="mean")
    # positive row 0, target 0: -log sigma(2) + 0.5 * mean(-log(1 - sigma(0)), -log(1 - sigma(-1)))
    row0 = _softplus(-2.0) + 0.5 * (_softplus(0.0) + _softplus(-1.0)) / 2
    # negative row 1, target 1: 2 * -log(1 - sigma(1.5)); no other-token term
    row1 = 2.0 * _softplus(1.5)
    # unlabelled row 2 (trained as positive), target 2: -log sigma(0) + 0.5 * mean over the other two zeros
    row2 = _softplus(0.0) + 0.5 * _softplus(0.0)
    assert out.loss.tolist() == pytest.approx([row0, row1, row2], abs=1e-12)
    out.loss.sum().backward()
    grad = logits.grad
    assert grad[0, 0] < 0 and grad[0, 1] > 0 and grad[0, 2] > 0  # target up, others down
    assert grad[1, 1] > 0 and grad[1, 0] == 0 and grad[1, 2] == 0  # only the negative token, down


def test_sigmoid_only_summed_weighted_hand_computed() -> None:
    """The paper's form (default ``others_reduction="sum"``), V = 4, non-default weights 1.5 / 2 / 0.25.

    Positive row, logits [2, 0, -1, 1], target 0:
        1.5 * -log sigma(2) + 0.25 * (-log(1 - sigma(0)) - log(1 - sigma(-1)) - log(1 - sigma(1)))
        = 1.5 * log(1 + e^-2) + 0.25 * (log 2 + log(1 + e^-1) + log(1 + e)) = 0.1903920 + 0.5799176 = 0.7703097
    Negative row, logits [0.5, 1.5, 0, -2], target 1: 2 * -log(1 - sigma(1.5)) = 2 * log(1 + e^1.5) = 3.4028266
    (no others-term at a negative position). Padding row: 0.
    """
    logits = torch.tensor([[2.0, 0.0, -1.0, 1.0], [0.5, 1.5, 0.0, -2.0], [5.0, 5.0, 5.0, 5.0]], dtype=torch.float64)
    logits.requires_grad_()
    targets, feedback = torch.tensor([0, 1, -100]), torch.tensor([1, 0, 1])
    weights = dict(positive_weight=1.5, negative_weight=2.0, others_weight=0.25)
    out = sigmoid_only_loss(logits, targets, feedback, **weights)
    positive = 1.5 * math.log(1 + math.exp(-2.0)) + 0.25 * (
        math.log(2.0) + math.log(1 + math.exp(-1.0)) + math.log(1 + math.exp(1.0))
    )
    negative = 2.0 * math.log(1 + math.exp(1.5))
    assert out.loss.tolist() == pytest.approx([positive, negative, 0.0], abs=1e-12)
    assert positive == pytest.approx(0.7703097, abs=1e-7)
    assert negative == pytest.approx(3.4028266, abs=1e-7)
    # The explicit keyword gives the same; the mean form divides the others-term by V - 1 = 3.
    explicit = sigmoid_only_loss(logits, targets, feedback, others_reduction="sum", **weights)
    assert torch.equal(explicit.loss, out.loss)
    mean = sigmoid_only_loss(logits, targets, feedback, others_reduction="mean", **weights)
    others = math.log(2.0) + math.log(1 + math.exp(-1.0)) + math.log(1 + math.exp(1.0))
    assert mean.loss[0].item() == pytest.approx(1.5 * math.log(1 + math.exp(-2.0)) + 0.25 * others / 3, abs=1e-12)
    # Gradients: d/ds_v of 0.25 * softplus(s_v) is 0.25 * sigma(s_v) for every other token v; the target's is
    # -1.5 * sigma(-2); the negative token's 2 * sigma(1.5), and nothing else on its row.
    out.loss.sum().backward()
    expected_row0 = [-1.5 * _sigma(-2.0), 0.25 * _sigma(0.0), 0.25 * _sigma(-1.0), 0.25 * _sigma(1.0)]
    assert logits.grad[0].tolist() == pytest.approx(expected_row0, abs=1e-12)
    assert logits.grad[1].tolist() == pytest.approx([0.0, 2.0 * _sigma(1.5), 0.0, 0.0], abs=1e-12)
    assert logits.grad[2].abs().sum().item() == 0.0


def test_sigmoid_only_refuses_bad_weights_and_reductions() -> None:
    logits, targets, feedback = _inputs([1, 0, -1])
    with pytest.raises(ValueError, match="others_reduction"):
        sigmoid_only_loss(logits, targets, feedback, others_reduction="max")
    with pytest.raises(ValueError, match="others_weight"):
        sigmoid_only_loss(logits, targets, feedback, others_weight=-1.0)
    with pytest.raises(ValueError, match="negative_weight"):
        sigmoid_only_loss(logits, targets, feedback, negative_weight=float("nan"))
    with pytest.raises(TypeError, match="positive_weight"):
        sigmoid_only_loss(logits, targets, feedback, positive_weight=True)


def test_padding_gets_no_loss_and_bad_shapes_are_refused() -> None:
    logits, _, feedback = _inputs([1, 0, 1])
    targets = torch.tensor([0, -100, -100])
    for fn in (mle_positives_loss, sigmoid_only_loss):
        out = fn(logits, targets, feedback)
        assert out.loss[1:].tolist() == [0.0, 0.0]
        assert out.positive_mask.tolist() == [True, False, False]
        with pytest.raises(ValueError, match="expected logits"):
            fn(logits, targets[:2], feedback)
