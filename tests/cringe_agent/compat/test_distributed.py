"""Tests of :mod:`cringe_agent.compat.distributed`: ``multiprocessing_train`` runs on CPU workers.

Workers are spawned, so the end-to-end check runs in a fresh interpreter.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist

from cringe_agent import compat  # noqa: F401  (applies the fixes)
from cringe_agent.compat import distributed as compat_distributed

_REPO = Path(__file__).resolve().parents[3]

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


@pytest.mark.skipif(torch.cuda.is_available(), reason="the default only changes without CUDA")
def test_multiprocessing_world_size_defaults_to_one_without_cuda() -> None:
    from parlai.scripts.multiprocessing_train import MultiProcessTrain

    assert MultiProcessTrain.setup_args().parse_args([])["distributed_world_size"] == 1


# Once hung (about one run in eight) at exit, in a deadlock between ~ProcessGroupGloo and a gloo worker thread over the
# GIL (see cringe_agent.compat.distributed); the hard timeout turns any new hang into a failure.
@pytest.mark.integration
def test_multiprocessing_train_runs_two_cpu_workers(tmp_path: Path, run_python) -> None:
    result = run_python(_MULTIPROCESSING_TRAIN, str(tmp_path), timeout=90)
    assert result.returncode == 0, result.stdout[-4000:]
    assert (tmp_path / "model").is_file()
    saved = json.loads((tmp_path / "model.opt").read_text())
    assert saved["distributed_world_size"] == 2
    assert saved["ddp_backend"] == "ddp"  # compat's stand-in value does not leak into the saved options
    assert json.loads((tmp_path / "model.trainstats").read_text())["train_steps"] == 8


def _world_of_one(port: int):
    """compat's ``distributed_context`` on CPU for a world of one process (this one)."""
    from parlai.utils.distributed import distributed_context

    opt = {"distributed_world_size": 1, "verbose": False}
    return distributed_context(0, opt, init_method=f"tcp://localhost:{port}")


@pytest.mark.skipif(torch.cuda.is_available(), reason="the CPU path only runs without CUDA")
def test_cpu_context_uses_gloo_with_one_worker_thread_and_frees_every_work() -> None:
    from parlai.utils.distributed import find_free_port

    with _world_of_one(find_free_port()) as opt:
        assert opt["gpu"] == -1
        assert dist.get_backend() == compat_distributed.CPU_BACKEND
        backend = dist.group.WORLD._get_backend(torch.device("cpu"))
        assert type(backend).__name__ == "ProcessGroupGloo" and backend.options._threads == 1
        earlier = torch.ones(3)
        before = sys.getrefcount(earlier)
        for _ in range(20):
            dist.all_reduce(earlier)  # C++ references to a tensor count in its Python reference count
        compat_distributed.flush_gloo_worker()
        # The flush returns only once the worker freed its own all-reduce; works run and are freed in order, so
        # the earlier ones are gone too: the worker needs no GIL when the group is destroyed.
        assert sys.getrefcount(earlier) == before
    assert not dist.is_initialized()


@pytest.mark.skipif(torch.cuda.is_available(), reason="the CPU path only runs without CUDA")
def test_cpu_context_flushes_on_normal_exit_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from parlai.utils.distributed import find_free_port

    calls: list[bool] = []
    monkeypatch.setattr(compat_distributed, "flush_gloo_worker", lambda: calls.append(dist.is_initialized()))
    with _world_of_one(find_free_port()):
        pass
    assert calls == [True] and not dist.is_initialized()  # flushed while the group was still there
    with pytest.raises(RuntimeError, match="boom"), _world_of_one(find_free_port()):
        raise RuntimeError("boom")  # the other ranks may never reach a flush: none is tried
    assert calls == [True] and not dist.is_initialized()


@pytest.mark.integration
@pytest.mark.parametrize("model", ["transformer", "llama"])
def test_two_cpu_workers_follow_one_worker_step_for_step(run_python, model: str) -> None:
    """2 workers x batch 8 against 1 worker x batch 8 on ``train:ordered`` data (``benchmarks/distributed_train.py``:
    ParlAI does not shard training data by rank, so this is the comparison where both see the same examples); for
    ParlAI's transformer and for the Hugging Face causal LM agent on a tiny random Llama."""
    script = _REPO / "benchmarks" / "distributed_train.py"
    code = "import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
    result = run_python(code, str(script), "--steps", "10", "--json", "--model", model, timeout=150)
    assert result.returncode == 0, result.stdout[-4000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(report["single"]) == len(report["multi_rank0"]) == len(report["multi_rank1"]) == 10
    assert report["max_rel_diff"] <= 1e-4, report
    assert report["max_rel_diff_ranks"] <= 1e-6, report
