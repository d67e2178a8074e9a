"""Fix of ``--lr-scheduler reduceonplateau`` (ParlAI's default scheduler): torch dropped ``verbose``.

Mends ``parlai/nn/lr_scheduler.py:337-340`` (ParlAI 1.7.2): ``ReduceOnPlateauLRScheduler.__init__`` passes
``verbose=True`` to ``torch.optim.lr_scheduler.ReduceLROnPlateau``, a keyword current torch removed, so building the
default scheduler fails with ``ReduceLROnPlateau.__init__() got an unexpected keyword argument 'verbose'``. When
torch's signature lacks ``verbose``, ``__init__`` is replaced by the same code without it.
"""

from __future__ import annotations

import inspect
import types
from typing import Any

import torch

from cringe_agent.compat import _hooks


def _reduce_on_plateau_init(
    self: Any, optimizer: Any, patience: int, decay: float, warmup_updates: int, warmup_rate: float
) -> None:
    """``ReduceOnPlateauLRScheduler.__init__`` of ParlAI 1.7.2 without the ``verbose`` keyword."""
    from parlai.nn.lr_scheduler import ParlAILRScheduler

    ParlAILRScheduler.__init__(self, warmup_updates, warmup_rate)
    self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, "min", factor=decay, patience=patience)


def _fix_lr_scheduler(module: types.ModuleType) -> None:
    """Replace ``ReduceOnPlateauLRScheduler.__init__`` of ``parlai.nn.lr_scheduler`` when torch lacks ``verbose``."""
    if "verbose" not in inspect.signature(torch.optim.lr_scheduler.ReduceLROnPlateau).parameters:
        _hooks.replace(module.ReduceOnPlateauLRScheduler, "__init__", _reduce_on_plateau_init)


FIXES: dict[str, _hooks.Fix] = {"parlai.nn.lr_scheduler": _fix_lr_scheduler}
"""The ParlAI module this fix mends, with its fix (applied by :func:`cringe_agent.compat.apply`)."""
