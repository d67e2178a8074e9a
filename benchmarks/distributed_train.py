"""Loss trajectory of a 2-process CPU ``multiprocessing_train`` run against a 1-process ``train_model`` run.

Both runs train the CRINGE agent (a tiny transformer) on the labelled tiny task of ``tests/tiny_models.py`` (positive
and ``classifier_label: neg`` labels), from the same initial weights, with Adam and a small learning rate, and record
the training loss of every step (rank 0's, and each rank's in the 2-process run).

What "the same global batch" can mean with ParlAI 1.7.2: ParlAI does not shard *training* data by rank. Its teachers
split the data across workers only for evaluation (``parlai/core/teachers.py``: ``is_distributed_and_is_eval``); in
training every rank reads the whole data set, each in its own order (``train``: random, from the rank's own random
state; ``train:ordered``: the same order on every rank). So the union of the two ranks' batches is never the
single-process batch of twice the size (2 x 8 is not 1 x 16 here). What can be compared honestly: with
``train:ordered``, both ranks see the same 8 examples at each step, DDP averages their (identical) gradients, and
the run must follow the 1-process run with batch size 8 step for step. That is what this compares (``--datatype
train:ordered``, the default). CRINGE samples its negative tokens with torch's generator: every rank and the
1-process run seed it with 42 before the agent is built (``distributed_context`` does, on the workers).

    .venv/bin/python benchmarks/distributed_train.py                 # 30 steps, prints both trajectories
    .venv/bin/python benchmarks/distributed_train.py --steps 12 --json
    .venv/bin/python benchmarks/distributed_train.py --model llama   # the Hugging Face causal LM agent instead,
                                                                     # on a tiny random Llama (every layer trained)

Prints the trajectories and the largest relative difference; exits 1 if it is over ``--rtol`` (default 1e-4).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

warnings.filterwarnings("ignore")
os.environ.setdefault("OMP_NUM_THREADS", "1")
_REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))  # this module, importable in the spawned workers

import torch  # noqa: E402

from cringe_agent import compat  # noqa: E402, F401  (ParlAI fixes first)
from cringe_agent.agents.hf_causal import CringeHfCausalAgent  # noqa: E402
from cringe_agent.agents.transformer import CringeTransformerGeneratorAgent  # noqa: E402

AGENTS = {"transformer": "distributed_train:LossRecordingAgent", "llama": "distributed_train:LossRecordingHfAgent"}


class _RecordLosses:
    """Appends the loss of each training step to ``<model_file>.losses.<rank>``."""

    def compute_loss(self, batch: Any, return_output: bool = False) -> Any:
        result = super().compute_loss(batch, return_output=return_output)
        if self.is_training:
            loss = result[0] if return_output else result
            with open(f"{self.opt['model_file']}.losses.{self.opt.get('rank', 0)}", "a") as f:
                f.write(f"{loss.item()!r}\n")
        return result


class LossRecordingAgent(_RecordLosses, CringeTransformerGeneratorAgent):
    """The CRINGE agent over ParlAI's transformer, recording its training losses."""


class LossRecordingHfAgent(_RecordLosses, CringeHfCausalAgent):
    """The CRINGE agent over a Hugging Face causal LM, recording its training losses."""


def _tiny_models() -> Any:
    """``tests/tiny_models.py``, loaded from its file (``tests/`` on ``sys.path`` would shadow ``cringe_agent``)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("tiny_models", _REPO / "tests" / "tiny_models.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _options(folder: Path, datatype: str, batchsize: int, steps: int, model: str) -> dict[str, Any]:
    tiny_models = _tiny_models()
    TINY, write_pos_neg_task = tiny_models.TINY, tiny_models.write_pos_neg_task
    base = write_pos_neg_task(folder) if not (folder / "task_train.txt").exists() else folder / "task"
    if model == "llama":
        from cringe_agent.hf.tiny import make_tiny_llama

        llama = folder / "llama"
        if not llama.exists():
            make_tiny_llama(llama, [base.with_name("task_train.txt").read_text()], layers=2, hidden=32)
        architecture = {"hf_model": str(llama), "hf_train_layers": -1}
    else:
        architecture = {"dict_file": str(folder / "model.dict"), **TINY}
    return dict(
        model=AGENTS[model],
        task=f"fromfile:parlaiformat:fromfile_datapath={base}:fromfile_datatype_extension=true",
        datatype=datatype,
        datapath=str(folder / "data"),
        batchsize=batchsize,
        max_train_steps=steps,
        optimizer="adam",
        learningrate=1e-3,
        validation_every_n_steps=10_000,
        validation_max_exs=8,
        short_final_eval=True,
        skip_generation=True,
        validation_metric="loss",
        validation_metric_mode="min",
        **architecture,
    )


def _losses(model_file: Path, rank: int) -> list[float]:
    return [float(x) for x in Path(f"{model_file}.losses.{rank}").read_text().split()]


def compare(folder: Path, steps: int, batchsize: int, datatype: str, model: str = "transformer") -> dict[str, Any]:
    """Run both trainings in ``folder``; return their trajectories and the largest relative difference."""
    from parlai.core.agents import create_agent
    from parlai.core.params import ParlaiParser
    from parlai.scripts.build_dict import BuildDict
    from parlai.scripts.multiprocessing_train import MultiProcessTrain
    from parlai.scripts.train_model import TrainModel
    from parlai.utils.distributed import find_free_port

    opts = _options(folder, datatype, batchsize, steps, model)
    if model == "transformer":  # the causal LM's dictionary is its tokenizer: nothing to build
        BuildDict.main(
            task=opts["task"], datapath=opts["datapath"], dict_file=opts["dict_file"], dict_tokenizer="split"
        )
    # The same initial weights for both runs: a fresh agent, saved once.
    init = folder / "init" / "model"
    init.parent.mkdir()
    parser = ParlaiParser(True, True)
    parser.set_params(**{k: v for k, v in opts.items() if k not in ("max_train_steps",)}, model_file=str(init))
    torch.manual_seed(0)
    create_agent(parser.parse_args([])).save(str(init))

    single, multi = folder / "single" / "model", folder / "multi" / "model"
    single.parent.mkdir()
    multi.parent.mkdir()
    torch.manual_seed(42)  # as distributed_context seeds every worker before the agent is built
    TrainModel.main(**opts, init_model=str(init), model_file=str(single))
    MultiProcessTrain.main(
        **opts, init_model=str(init), model_file=str(multi), distributed_world_size=2, port=find_free_port()
    )
    one, rank0, rank1 = _losses(single, 0), _losses(multi, 0), _losses(multi, 1)
    rel = [abs(a - b) / max(abs(a), 1e-12) for a, b in zip(one, rank0)]
    return {
        "steps": steps,
        "batchsize": batchsize,
        "datatype": datatype,
        "model": model,
        "single": one,
        "multi_rank0": rank0,
        "multi_rank1": rank1,
        "max_rel_diff": max(rel),
        "max_rel_diff_ranks": max(abs(a - b) / max(abs(a), 1e-12) for a, b in zip(rank0, rank1)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batchsize", type=int, default=8, help="per worker, and of the 1-process run")
    parser.add_argument("--datatype", default="train:ordered")
    parser.add_argument("--rtol", type=float, default=1e-4)
    parser.add_argument("--json", action="store_true", help="print one JSON object only")
    parser.add_argument("--model", choices=sorted(AGENTS), default="transformer", help="the agent's model")
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        result = compare(Path(tmp), args.steps, args.batchsize, args.datatype, args.model)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{'step':>4} {'1 worker x bs':>14} {'2 workers, rank 0':>18} {'rank 1':>10}")
        for i, (a, b, c) in enumerate(zip(result["single"], result["multi_rank0"], result["multi_rank1"]), 1):
            print(f"{i:>4} {a:>14.6f} {b:>18.6f} {c:>10.6f}")
        print(f"max relative difference, 1 worker vs 2 workers: {result['max_rel_diff']:.3g} (tolerance {args.rtol})")
        print(f"max relative difference, rank 0 vs rank 1: {result['max_rel_diff_ranks']:.3g}")
    ok = len(result["single"]) == len(result["multi_rank0"]) == args.steps and result["max_rel_diff"] <= args.rtol
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
