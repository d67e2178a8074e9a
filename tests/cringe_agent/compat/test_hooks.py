"""Tests of :mod:`cringe_agent.compat._hooks` and :func:`cringe_agent.compat.apply`: applying twice is harmless."""

from __future__ import annotations

import sys

import pytest

from cringe_agent import compat
from cringe_agent.compat import _hooks
from cringe_agent.compat import bytelevel_decode as bytelevel_decode_fix
from cringe_agent.compat import distributed as distributed_fix
from cringe_agent.compat import lr_scheduler as lr_scheduler_fix


def test_apply_twice_is_harmless() -> None:
    from parlai.core import torch_generator_agent
    from parlai.nn import lr_scheduler
    from parlai.scripts import multiprocessing_train
    from parlai.utils import bpe, distributed, fsdp

    fixed = [
        (bpe.BPEHelper, "decode"),
        (lr_scheduler.ReduceOnPlateauLRScheduler, "__init__"),
        (distributed, "distributed_context"),
        (distributed, "all_gather_list"),
        (torch_generator_agent.TorchGeneratorAgent, "__init__"),
        (fsdp.JoinableTrainLoop, "join_device"),
        (multiprocessing_train, "multiprocess_train"),
        (multiprocessing_train, "setup_args"),
    ]
    before = [owner.__dict__[name] for owner, name in fixed]
    originals = dict(_hooks.originals)
    stand_in = sys.modules.get("pkg_resources")

    compat.apply()
    compat.apply()

    assert [owner.__dict__[name] for owner, name in fixed] == before
    assert _hooks.originals == originals
    for original in originals.values():  # the originals are ParlAI's, never a fix wrapping itself
        function = original.fget if isinstance(original, property) else original
        assert function.__module__.startswith("parlai."), function
    assert sum(isinstance(finder, _hooks.FixOnImport) for finder in sys.meta_path) == 1
    assert sys.modules.get("pkg_resources") is stand_in


@pytest.mark.integration
def test_import_loads_no_parlai_and_registers_every_fix(run_python) -> None:
    """Importing the package stays cheap (no ParlAI module), yet every fix module is registered with the hook."""
    code = (
        "import sys\nimport cringe_agent.compat\nfrom cringe_agent.compat import _hooks\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'parlai'))\nprint(sorted(_hooks.fixes))\n"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stdout[-4000:]
    loaded, registered = result.stdout.strip().splitlines()[-2:]
    assert loaded == "[]"
    assert registered == str(sorted({**lr_scheduler_fix.FIXES, **distributed_fix.FIXES, **bytelevel_decode_fix.FIXES}))
