"""The baselines' per-token losses on hand-checked values (V = 3), and their gradients' directions."""

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


def test_sigmoid_only_hand_checked() -> None:
    logits, targets, feedback = _inputs([1, 0, -1])
    out = sigmoid_only_loss(logits, targets, feedback, negative_weight=2.0, others_weight=0.5)
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


def test_padding_gets_no_loss_and_bad_shapes_are_refused() -> None:
    logits, _, feedback = _inputs([1, 0, 1])
    targets = torch.tensor([0, -100, -100])
    for fn in (mle_positives_loss, sigmoid_only_loss):
        out = fn(logits, targets, feedback)
        assert out.loss[1:].tolist() == [0.0, 0.0]
        assert out.positive_mask.tolist() == [True, False, False]
        with pytest.raises(ValueError, match="expected logits"):
            fn(logits, targets[:2], feedback)
