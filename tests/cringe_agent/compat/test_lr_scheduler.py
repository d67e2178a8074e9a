"""Tests of :mod:`cringe_agent.compat.lr_scheduler`: ParlAI's default scheduler builds on current torch."""

from __future__ import annotations

import torch

from cringe_agent import compat  # noqa: F401  (applies the fixes)


def test_reduceonplateau_scheduler_builds_and_decays() -> None:
    """ParlAI's default scheduler: patience 1 and decay 0.5 halve the LR on the second loss without improvement."""
    from parlai.nn.lr_scheduler import ParlAILRScheduler, ReduceOnPlateauLRScheduler

    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    opt = {"lr_scheduler": "reduceonplateau", "lr_scheduler_patience": 1, "lr_scheduler_decay": 0.5}
    scheduler = ParlAILRScheduler.lr_scheduler_factory(opt, optimizer, states={}, hard_reset=True)
    assert isinstance(scheduler, ReduceOnPlateauLRScheduler)
    lrs = []
    for loss in (1.0, 1.0, 1.0):
        scheduler.valid_step({"loss": loss})
        lrs.append(optimizer.param_groups[0]["lr"])
    assert lrs == [1.0, 1.0, 0.5]
