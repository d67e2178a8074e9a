"""Fix of ``multiprocessing_train`` on a machine without CUDA: CPU workers over ``gloo``.

ParlAI 1.7.2 assumes CUDA in a multi-process run; without it, ``distributed_context`` fails with a ZeroDivisionError.
Each ParlAI place below is mended; the CUDA path is left as it is whenever CUDA is available.

- ``parlai/utils/distributed.py:228-296``, ``distributed_context``: computes ``rank % torch.cuda.device_count()``
  (line 260, zero division) and uses ``torch.cuda.set_device``, the ``nccl`` backend and ``torch.cuda.init()``
  (lines 277-287); on CPU it now sets ``gpu = -1`` and uses gloo (with one worker thread, see below).
- ``parlai/utils/distributed.py:116-172``, ``all_gather_list``: moves its buffers to CUDA (lines 142 and 151); with
  a non-NCCL backend it now uses ``torch.distributed.all_gather_object``.
- ``parlai/core/torch_generator_agent.py:579-587``, ``TorchGeneratorAgent.__init__``: wraps its model in
  ``DistributedDataParallel`` with ``device_ids=[opt['gpu']]``, which torch refuses for a CPU model; on CPU the model
  is wrapped with ``device_ids=None``.
- ``parlai/utils/fsdp.py:233-235``, ``JoinableTrainLoop.join_device``: reports ``opt['gpu']`` (-1), on which the
  ``Join`` context cannot allocate when training ends; -1 becomes the CPU device.
- ``parlai/scripts/multiprocessing_train.py:89-93``, ``setup_args``: defaults ``--distributed-world-size`` to
  ``torch.cuda.device_count()`` (0 without CUDA); the default becomes 1 there.
- ``parlai/scripts/multiprocessing_train.py:60-86``, ``launch_and_train``: starts its workers with the ``spawn``
  method, so each worker is a fresh interpreter that never imported :mod:`cringe_agent.compat`.
  ``multiprocess_train`` is replaced by :func:`multiprocess_train` of this module, which pickles by reference:
  unpickling it in a worker imports :mod:`cringe_agent.compat`, which applies the fixes there.
- The same ``distributed_context``, at its end (``dist.destroy_process_group()``, line 296): a CPU run hung at exit,
  about one run in eight (6 of 30 on a loaded 2-core machine), after training had finished on both ranks. Seen
  with ``py-spy dump --native``: the rank's main thread is in ``multiprocess_train``'s return, freeing the train loop,
  whose DDP model's ``Reducer`` drops the last reference to the gloo process group; ``~ProcessGroupGloo`` joins its
  worker threads while that thread holds the GIL (``pybind11 dealloc_without_manipulating_gil`` ->
  ``c10d::Reducer::~Reducer`` -> ``c10d::ProcessGroupGloo::~ProcessGroupGloo`` -> ``std::thread::join``). One worker
  thread is still destroying the last all-reduce it ran (``ProcessGroupGloo::runLoop`` ->
  ``~AsyncAllreduceWork`` -> ``TensorImpl::decref_pyobject`` -> ``gil_scoped_acquire``): the all-reduce of
  ``Join.__exit__`` (``torch/distributed/algorithms/join.py``, ``_get_num_nonjoined_procs``), whose tensor Python
  had already dropped, so freeing it needs the GIL. Each thread waits for the other: a deadlock in one process, not
  a collective mismatch between ranks; it only happens when the worker thread is descheduled between finishing the
  all-reduce and freeing it, hence the load dependence. Fix (CPU path only): the group is gloo with *one* worker
  thread (:func:`_one_thread_gloo`, registered as the ``cringe_gloo`` backend, since ``init_process_group`` ignores
  gloo options), and on a normal exit the context flushes that worker (:func:`flush_gloo_worker`) before destroying
  the group: one last all-reduce, then a wait (GIL released) until the worker has let go of its tensor. A C++
  reference to a tensor that Python knows holds a reference to its Python object (``sys.getrefcount`` counts it),
  so every release on the worker needs the GIL, and that count shows when the worker is done. The single worker
  runs and frees works in order, so then every earlier work is freed too and the worker holds nothing: the join in
  ``~ProcessGroupGloo`` no longer needs the GIL, whoever drops the group and whenever. Two dead ends, both seen to
  hang: ``dist.barrier()`` (gloo's barrier work holds the works in flight when it was queued and frees them when it
  is freed: ``~AsyncBarrierWork`` -> ``~AsyncAllreduceWork`` -> ``gil_scoped_acquire``), and an all-reduce alone,
  even on a tensor Python keeps (the worker's release of it still needs the GIL). Not done on an exception, where
  the other ranks may never reach the flush.

Not fixed, because nothing here uses them: ``TorchRankerAgent`` (same DDP call, not gated on ``--ddp-backend``) and
``JoinableEvaluator`` (``multiprocessing_eval``) still assume CUDA in a multi-process run.
"""

from __future__ import annotations

import contextlib
import copy
import os
import sys
import time
import types
import warnings
from collections.abc import Iterator
from typing import Any

import torch
import torch.distributed as dist

from cringe_agent.compat import _hooks

CPU_BACKEND = "cringe_gloo"  # gloo with one worker thread, for CPU workers (see the module's docstring)
_CPU_DDP = "cpu_ddp"  # ddp_backend seen by TorchGeneratorAgent.__init__ while compat wraps the model itself


# --- parlai.utils.distributed ------------------------------------------------------------------------------------


@contextlib.contextmanager
def _distributed_context(
    rank: int, opt: Any, rank_offset: int = 0, gpu: int | None = None, init_method: str = "tcp://localhost:61337"
) -> Iterator[Any]:
    """``parlai.utils.distributed.distributed_context``, with a CPU path (gloo, ``gpu = -1``) when CUDA is absent."""
    original = _hooks.original("parlai.utils.distributed.distributed_context")
    if torch.cuda.is_available():
        with original(rank, opt, rank_offset, gpu, init_method) as worker_opt:
            yield worker_opt
        return

    from parlai.utils import distributed as dist_utils
    from parlai.utils import logging

    opt = copy.deepcopy(opt)
    rank = rank + rank_offset
    opt["rank"] = rank
    opt["gpu"] = -1
    opt.setdefault("override", {})["gpu"] = -1
    print_prefix = f"rank:{rank:3d} |" if opt.get("verbose") or rank != 0 else None
    suppress_output = not opt.get("verbose") and rank != 0
    register_cpu_backend()
    with dist_utils.override_print(suppress_output, print_prefix):
        dist.init_process_group(
            backend=CPU_BACKEND, init_method=init_method, world_size=opt["distributed_world_size"], rank=rank
        )
        logging.info("Distributed group initialized")
        torch.manual_seed(42)  # the same seed on every worker, as ParlAI does
        dist_utils.sync_object(None)  # nobody starts ahead of the others
        try:
            yield opt
        except BaseException:
            dist.destroy_process_group()  # no flush: the other ranks may never reach it
            raise
        else:
            flush_gloo_worker()
            dist.destroy_process_group()


def flush_gloo_worker(limit: float = 60.0) -> None:
    """Wait until the (one) gloo worker thread has freed every work; see the module's docstring.

    A collective on all ranks: an all-reduce of a fresh tensor, then a wait, with the GIL released, until no C++
    reference to that tensor is left (its Python reference count is back to what it was). Gives up after ``limit``
    seconds (a warning, no error): the flush only guards the teardown.
    """
    flush = torch.zeros(1)
    before = sys.getrefcount(flush)
    dist.all_reduce(flush)
    deadline = time.monotonic() + limit
    while sys.getrefcount(flush) > before:
        if time.monotonic() > deadline:
            warnings.warn("the gloo worker thread still holds the last all-reduce; tearing down anyway", stacklevel=2)
            return
        time.sleep(0.001)  # lets the worker take the GIL to release the tensor


def _one_thread_gloo(store: Any, rank: int, world_size: int, timeout: Any) -> Any:
    """A ``ProcessGroupGloo`` as ``init_process_group(backend="gloo")`` makes it, but with one worker thread.

    The devices follow torch's own rule (``GLOO_SOCKET_IFNAME``, comma-separated, else the default device); torch
    gives gloo two threads per device, which lets a thread still freeing an earlier work lag behind a barrier.
    """
    from torch.distributed import ProcessGroupGloo

    options = ProcessGroupGloo._Options()
    interfaces = [name for name in os.environ.get("GLOO_SOCKET_IFNAME", "").split(",") if name]
    if interfaces:
        options._devices = [ProcessGroupGloo.create_device(interface=name) for name in interfaces]
    else:
        options._devices = [ProcessGroupGloo.create_default_device()]
    options._threads = 1
    options._timeout = timeout
    backend = ProcessGroupGloo(store, rank, world_size, options)
    backend._set_sequence_number_for_group()  # as torch does for "gloo" (used by TORCH_DISTRIBUTED_DEBUG)
    return backend


def register_cpu_backend() -> None:
    """Register :data:`CPU_BACKEND` (gloo with one worker thread, on CPU) with ``torch.distributed``; idempotent."""
    if CPU_BACKEND.upper() not in dist.Backend._plugins:
        dist.Backend.register_backend(CPU_BACKEND, _one_thread_gloo, devices=["cpu"])


def _all_gather_list(data: Any) -> list[Any]:
    """``parlai.utils.distributed.all_gather_list``, without CUDA buffers unless the backend is NCCL."""
    from parlai.utils.distributed import is_distributed

    if not is_distributed() or dist.get_backend() == dist.Backend.NCCL:
        return _hooks.original("parlai.utils.distributed.all_gather_list")(data)
    gathered: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, data)
    return gathered


def _fix_distributed(module: types.ModuleType) -> None:
    """Replace ``distributed_context`` and ``all_gather_list`` of ``parlai.utils.distributed``."""
    _hooks.replace(module, "distributed_context", _distributed_context)
    _hooks.replace(module, "all_gather_list", _all_gather_list)


# --- parlai.core.torch_generator_agent ---------------------------------------------------------------------------


def _generator_agent_init(self: Any, opt: Any, shared: Any = None) -> None:
    """``TorchGeneratorAgent.__init__``, wrapping the model in DDP without ``device_ids`` when training on CPU."""
    from parlai.utils.distributed import is_distributed

    init = _hooks.original("parlai.core.torch_generator_agent.TorchGeneratorAgent.__init__")
    ddp_backend = opt.get("ddp_backend", "ddp")
    if shared is not None or torch.cuda.is_available() or not is_distributed() or ddp_backend != "ddp":
        init(self, opt, shared)
        return
    # Any backend but "ddp" / "zero2" / "zero3" keeps ParlAI from wrapping with device_ids=[-1]; restored after.
    opt["ddp_backend"] = _CPU_DDP
    try:
        init(self, opt, shared)
    finally:
        opt["ddp_backend"] = ddp_backend
    self.opt["ddp_backend"] = ddp_backend
    self.model = torch.nn.parallel.DistributedDataParallel(self.model, device_ids=None, broadcast_buffers=False)


def _fix_torch_generator_agent(module: types.ModuleType) -> None:
    """Replace ``TorchGeneratorAgent.__init__`` of ``parlai.core.torch_generator_agent``."""
    _hooks.replace(module.TorchGeneratorAgent, "__init__", _generator_agent_init)


# --- parlai.utils.fsdp -------------------------------------------------------------------------------------------


def _train_loop_join_device(self: Any) -> Any:
    """``JoinableTrainLoop.join_device``: ``opt['gpu']``, except the CPU device instead of -1."""
    device = _hooks.original("parlai.utils.fsdp.JoinableTrainLoop.join_device").fget(self)
    return torch.device("cpu") if device == -1 else device


_TRAIN_LOOP_JOIN_DEVICE = property(_train_loop_join_device)


def _fix_fsdp(module: types.ModuleType) -> None:
    """Replace the ``JoinableTrainLoop.join_device`` property of ``parlai.utils.fsdp``."""
    _hooks.replace(module.JoinableTrainLoop, "join_device", _TRAIN_LOOP_JOIN_DEVICE)


# --- parlai.scripts.multiprocessing_train ------------------------------------------------------------------------


def multiprocess_train(*args: Any, **kwargs: Any) -> Any:
    """``parlai.scripts.multiprocessing_train.multiprocess_train`` with the fixes of :mod:`cringe_agent.compat` first.

    ``launch_and_train`` spawns its workers with this function. It pickles by reference, so a worker imports
    :mod:`cringe_agent.compat` (which applies the fixes) before it runs the original.
    """
    from parlai.scripts import multiprocessing_train  # noqa: F401  (fixed as it loads; records the original)

    return _hooks.original("parlai.scripts.multiprocessing_train.multiprocess_train")(*args, **kwargs)


def _multiprocessing_setup_args(*args: Any, **kwargs: Any) -> Any:
    """``multiprocessing_train.setup_args``, defaulting to one worker instead of zero when there is no GPU."""
    parser = _hooks.original("parlai.scripts.multiprocessing_train.setup_args")(*args, **kwargs)
    if torch.cuda.device_count() == 0:
        parser.set_defaults(distributed_world_size=1)
    return parser


def _fix_multiprocessing_train(module: types.ModuleType) -> None:
    """Replace ``multiprocess_train`` and ``setup_args`` of ``parlai.scripts.multiprocessing_train``."""
    _hooks.replace(module, "multiprocess_train", multiprocess_train)
    _hooks.replace(module, "setup_args", _multiprocessing_setup_args)


FIXES: dict[str, _hooks.Fix] = {
    "parlai.utils.distributed": _fix_distributed,
    "parlai.core.torch_generator_agent": _fix_torch_generator_agent,
    "parlai.utils.fsdp": _fix_fsdp,
    "parlai.scripts.multiprocessing_train": _fix_multiprocessing_train,
}
"""The ParlAI modules this fix mends, each with its fix (applied by :func:`cringe_agent.compat.apply`)."""
