"""Smallest fixes that let ParlAI 1.7.2 run on torch 2.13 / Python 3.11, applied once when this module is imported.

Each fix changes ParlAI's own objects (never torch's) and only where the stack needs it:

1. ``--lr-scheduler reduceonplateau`` (ParlAI's default): ``ReduceOnPlateauLRScheduler.__init__`` passes
   ``verbose=True`` to ``torch.optim.lr_scheduler.ReduceLROnPlateau``, a keyword current torch removed. Its
   ``__init__`` is replaced by the same code without ``verbose`` when torch's signature lacks it.
2. ``import parlai``: ``parlai/core/opt.py`` imports ``pkg_resources``, which setuptools>=81 no longer ships. When it
   cannot be found, a stand-in module with the two functions ParlAI calls (``resource_exists``,
   ``resource_filename``, built on ``importlib.resources``) goes into ``sys.modules``. This runs before anything of
   ParlAI is imported.
3. ``multiprocessing_train`` without CUDA (the CUDA path is left as it is whenever CUDA is available):

   - ``parlai.utils.distributed.distributed_context`` computes ``rank % torch.cuda.device_count()`` (zero
     division), and uses ``torch.cuda.set_device``, the ``nccl`` backend and ``torch.cuda.init()``; on CPU it now
     sets ``gpu = -1`` and uses the ``gloo`` backend.
   - ``all_gather_list`` moves its buffers to CUDA; with a non-NCCL backend it now uses
     ``torch.distributed.all_gather_object``.
   - ``TorchGeneratorAgent`` wraps its model in ``DistributedDataParallel`` with ``device_ids=[opt['gpu']]``,
     which torch refuses for a CPU model; on CPU the model is wrapped with ``device_ids=None``.
   - ``JoinableTrainLoop`` reports ``opt['gpu']`` (-1) as its join device, on which the ``Join`` context cannot
     allocate when training ends; -1 becomes the CPU device.
   - ``multiprocessing_train.setup_args`` defaults ``--distributed-world-size`` to ``torch.cuda.device_count()``
     (0 without CUDA); the default becomes 1 there.
   - ``launch_and_train`` starts its workers with the ``spawn`` method, so each worker is a fresh interpreter that
     never imported this module. ``multiprocess_train`` is replaced by :func:`multiprocess_train` of this module,
     which pickles by reference: unpickling it in a worker imports this module, which applies the fixes there.

Not fixed, because nothing here uses them: ``TorchRankerAgent`` (same DDP call, not gated on ``--ddp-backend``) and
``JoinableEvaluator`` (``multiprocessing_eval``) still assume CUDA in a multi-process run.

ParlAI modules are fixed when they load (an import hook on ``sys.meta_path``) or at once when they are already
loaded; a replaced module-level function is also replaced in ParlAI modules that imported it by name before. So
importing this module imports no ParlAI code and stays cheap. :func:`apply` is idempotent.
"""

from __future__ import annotations

import contextlib
import copy
import importlib.abc
import importlib.resources
import importlib.util
import inspect
import sys
import types
from collections.abc import Callable, Iterator
from importlib.machinery import ModuleSpec
from typing import Any

import torch
import torch.distributed as dist

# Original ParlAI objects replaced by this module, keyed by their dotted path ("module.Class.attr").
_originals: dict[str, Any] = {}


def _path(owner: Any, name: str) -> str:
    """Dotted path of ``owner.name``, e.g. ``parlai.nn.lr_scheduler.ReduceOnPlateauLRScheduler.__init__``."""
    if isinstance(owner, type):
        return f"{owner.__module__}.{owner.__qualname__}.{name}"
    return f"{owner.__name__}.{name}"


def _replace(owner: Any, name: str, new: Any) -> None:
    """Replace ``owner.name`` with ``new`` once; the original stays reachable through ``_originals``.

    Args:
        owner: a module or class of ParlAI.
        name: attribute to replace.
        new: the replacement.
    """
    old = owner.__dict__[name]
    if old is new:
        return
    _originals[_path(owner, name)] = old
    setattr(owner, name, new)
    if isinstance(owner, types.ModuleType):
        # Other ParlAI modules loaded earlier may hold the original through ``from owner import name``.
        for module in list(sys.modules.values()):
            if getattr(module, "__name__", "").startswith("parlai") and getattr(module, name, None) is old:
                setattr(module, name, new)


def _original(path: str) -> Any:
    """The ParlAI object that ``_replace`` replaced at ``path``."""
    return _originals[path]


# --- 1. ReduceLROnPlateau lost ``verbose`` ---------------------------------------------------------------------


def _reduce_on_plateau_init(
    self: Any, optimizer: Any, patience: int, decay: float, warmup_updates: int, warmup_rate: float
) -> None:
    """``ReduceOnPlateauLRScheduler.__init__`` of ParlAI 1.7.2 without the ``verbose`` keyword."""
    from parlai.nn.lr_scheduler import ParlAILRScheduler

    ParlAILRScheduler.__init__(self, warmup_updates, warmup_rate)
    self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, "min", factor=decay, patience=patience)


def _fix_lr_scheduler(module: types.ModuleType) -> None:
    if "verbose" not in inspect.signature(torch.optim.lr_scheduler.ReduceLROnPlateau).parameters:
        _replace(module.ReduceOnPlateauLRScheduler, "__init__", _reduce_on_plateau_init)


# --- 2. pkg_resources is gone from setuptools>=81 ---------------------------------------------------------------


def _resource_exists(package: str, resource_name: str) -> bool:
    """``pkg_resources.resource_exists``: whether ``resource_name`` exists inside ``package``."""
    path = importlib.resources.files(package).joinpath(resource_name)
    return path.is_file() or path.is_dir()


def _resource_filename(package: str, resource_name: str) -> str:
    """``pkg_resources.resource_filename``: the file system path of ``resource_name`` inside ``package``."""
    return str(importlib.resources.files(package).joinpath(resource_name))


def _fix_pkg_resources() -> None:
    if sys.modules.get("pkg_resources") is not None:
        return  # already imported (the real module or this stand-in)
    if "pkg_resources" not in sys.modules and importlib.util.find_spec("pkg_resources") is not None:
        return  # installed: ParlAI imports the real module
    stand_in = types.ModuleType("pkg_resources", "Stand-in for the parts of pkg_resources that ParlAI uses.")
    stand_in.resource_exists = _resource_exists  # type: ignore[attr-defined]
    stand_in.resource_filename = _resource_filename  # type: ignore[attr-defined]
    sys.modules["pkg_resources"] = stand_in


# --- 3. multiprocessing_train without CUDA -----------------------------------------------------------------------

_CPU_DDP = "cpu_ddp"  # ddp_backend seen by TorchGeneratorAgent.__init__ while compat wraps the model itself


@contextlib.contextmanager
def _distributed_context(
    rank: int, opt: Any, rank_offset: int = 0, gpu: int | None = None, init_method: str = "tcp://localhost:61337"
) -> Iterator[Any]:
    """``parlai.utils.distributed.distributed_context``, with a CPU path (gloo, ``gpu = -1``) when CUDA is absent."""
    original = _original("parlai.utils.distributed.distributed_context")
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
    with dist_utils.override_print(suppress_output, print_prefix):
        dist.init_process_group(
            backend="gloo", init_method=init_method, world_size=opt["distributed_world_size"], rank=rank
        )
        logging.info("Distributed group initialized")
        torch.manual_seed(42)  # the same seed on every worker, as ParlAI does
        dist_utils.sync_object(None)  # nobody starts ahead of the others
        try:
            yield opt
        finally:
            dist.destroy_process_group()


def _all_gather_list(data: Any) -> list[Any]:
    """``parlai.utils.distributed.all_gather_list``, without CUDA buffers unless the backend is NCCL."""
    from parlai.utils.distributed import is_distributed

    if not is_distributed() or dist.get_backend() == dist.Backend.NCCL:
        return _original("parlai.utils.distributed.all_gather_list")(data)
    gathered: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, data)
    return gathered


def _fix_distributed(module: types.ModuleType) -> None:
    _replace(module, "distributed_context", _distributed_context)
    _replace(module, "all_gather_list", _all_gather_list)


def _generator_agent_init(self: Any, opt: Any, shared: Any = None) -> None:
    """``TorchGeneratorAgent.__init__``, wrapping the model in DDP without ``device_ids`` when training on CPU."""
    from parlai.utils.distributed import is_distributed

    init = _original("parlai.core.torch_generator_agent.TorchGeneratorAgent.__init__")
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
    _replace(module.TorchGeneratorAgent, "__init__", _generator_agent_init)


def _train_loop_join_device(self: Any) -> Any:
    """``JoinableTrainLoop.join_device``: ``opt['gpu']``, except the CPU device instead of -1."""
    device = _original("parlai.utils.fsdp.JoinableTrainLoop.join_device").fget(self)
    return torch.device("cpu") if device == -1 else device


_TRAIN_LOOP_JOIN_DEVICE = property(_train_loop_join_device)


def _fix_fsdp(module: types.ModuleType) -> None:
    _replace(module.JoinableTrainLoop, "join_device", _TRAIN_LOOP_JOIN_DEVICE)


def multiprocess_train(*args: Any, **kwargs: Any) -> Any:
    """``parlai.scripts.multiprocessing_train.multiprocess_train`` with the fixes of this module applied first.

    ``launch_and_train`` spawns its workers with this function. It pickles by reference, so a worker imports this
    module (which applies the fixes) before it runs the original.
    """
    from parlai.scripts import multiprocessing_train  # noqa: F401  (fixed as it loads; records the original)

    return _original("parlai.scripts.multiprocessing_train.multiprocess_train")(*args, **kwargs)


def _multiprocessing_setup_args(*args: Any, **kwargs: Any) -> Any:
    """``multiprocessing_train.setup_args``, defaulting to one worker instead of zero when there is no GPU."""
    parser = _original("parlai.scripts.multiprocessing_train.setup_args")(*args, **kwargs)
    if torch.cuda.device_count() == 0:
        parser.set_defaults(distributed_world_size=1)
    return parser


def _fix_multiprocessing_train(module: types.ModuleType) -> None:
    _replace(module, "multiprocess_train", multiprocess_train)
    _replace(module, "setup_args", _multiprocessing_setup_args)


_FIXES: dict[str, Callable[[types.ModuleType], None]] = {
    "parlai.nn.lr_scheduler": _fix_lr_scheduler,
    "parlai.utils.distributed": _fix_distributed,
    "parlai.core.torch_generator_agent": _fix_torch_generator_agent,
    "parlai.utils.fsdp": _fix_fsdp,
    "parlai.scripts.multiprocessing_train": _fix_multiprocessing_train,
}


# --- applying the fixes ------------------------------------------------------------------------------------------


class _FixingLoader(importlib.abc.Loader):
    """Runs a module's fix right after the module's own code; everything else goes to the wrapped loader."""

    def __init__(self, loader: importlib.abc.Loader, fix: Callable[[types.ModuleType], None]) -> None:
        self._loader = loader
        self._fix = fix

    def create_module(self, spec: ModuleSpec) -> types.ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: types.ModuleType) -> None:
        self._loader.exec_module(module)
        self._fix(module)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)


class _FixOnImport(importlib.abc.MetaPathFinder):
    """Finds the modules named in ``_FIXES`` with the other finders and hands back a spec that fixes them."""

    def find_spec(self, fullname: str, path: Any, target: types.ModuleType | None = None) -> ModuleSpec | None:
        if fullname not in _FIXES:
            return None
        for finder in sys.meta_path:
            find_spec = getattr(finder, "find_spec", None)
            if finder is self or find_spec is None:
                continue
            spec = find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = _FixingLoader(spec.loader, _FIXES[fullname])
                return spec
        return None


def apply() -> None:
    """Apply every fix; harmless to call again."""
    _fix_pkg_resources()
    if not any(isinstance(finder, _FixOnImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _FixOnImport())
    for name, fix in _FIXES.items():
        if name in sys.modules:
            fix(sys.modules[name])


apply()
