"""The loop's generation and labelling over N worker processes, with the same output as one process.

Generation: the batches are dealt round-robin to ``workers`` spawned processes, each loading the model once; every
batch is seeded by its index (:func:`~cringe_agent.iterative.generate.batch_seed`), so the replies equal one
process's. Labelling: a :class:`ShardedClassifier` splits the texts into contiguous shards whose boundaries fall
on multiples of :data:`SHARD_ALIGN` (so a classifier that batches by any divisor of it sees the same batches), and
builds the classifier from its spec in each worker.

Torch's threads are divided between the workers (``torch.get_num_threads() // workers``, at least one), so N workers
on a machine use the cores one process would. On several GPUs, give each worker its own with
``CUDA_VISIBLE_DEVICES`` set before the call; ParlAI's own multi-GPU route is ``multiprocessing_eval``.
"""

from __future__ import annotations

import atexit
import functools
import multiprocessing
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import torch
from tqdm import tqdm

from cringe_agent.classifiers import Classifier, build_classifier

#: Shard boundaries of :class:`ShardedClassifier` fall on multiples of this many texts.
SHARD_ALIGN = 512


_POOLS: dict[int, ProcessPoolExecutor] = {}


def _pool(workers: int) -> ProcessPoolExecutor:
    """The pool of ``workers`` spawned processes, started on first use and kept until exit (a worker pays the
    imports of torch and ParlAI once, not per call). Spawned, never forked: a forked OpenMP runtime can deadlock."""
    pool = _POOLS.get(workers)
    if pool is None:
        threads = max(1, torch.get_num_threads() // workers)
        context = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_init, initargs=(threads,))
        _POOLS[workers] = pool
    return pool


@atexit.register
def shutdown() -> None:
    """Stop the worker processes (at exit; call it to free them earlier)."""
    while _POOLS:
        _POOLS.popitem()[1].shutdown(cancel_futures=True)


def _init(threads: int) -> None:
    torch.set_num_threads(threads)


def _results(futures: list[Future]) -> Iterator[Any]:
    """Each future's result, in order; a dead worker process drops the pool (the next call starts a new one)."""
    try:
        for future in futures:
            yield future.result()
    except BrokenProcessPool:
        shutdown()
        raise


def _generate_worker(
    model_file: str, batches: list[tuple[int, list[str]]], decoding: dict[str, Any], batch_size: int, seed: int
) -> list[tuple[int, list[str]]]:
    from cringe_agent.iterative.generate import generate_batches

    return generate_batches(model_file, batches, decoding, batch_size=batch_size, seed=seed)


def generate_parallel(
    model_file: str,
    batches: Sequence[Sequence[str]],
    decoding: dict[str, Any],
    *,
    batch_size: int,
    seed: int,
    desc: str,
    workers: int,
) -> list[str]:
    """Decode ``batches`` (batch i gets the seed of index i) over ``workers`` processes; replies in order.

    Args:
        model_file: A ParlAI generator model file.
        batches: The contexts, cut into batches of ``batch_size`` (the last may be shorter).
        decoding: ParlAI decoding options.
        batch_size: Contexts per forward pass.
        seed: The run's seed.
        desc: Label of the progress bar.
        workers: Worker processes (at most one share of the batches each).
    """
    numbered = [(i, list(chunk)) for i, chunk in enumerate(batches)]
    parts = min(workers, len(batches))
    shares = [numbered[w::parts] for w in range(parts)]
    done: list[tuple[int, list[str]]] = []
    total = sum(len(chunk) for chunk in batches)
    pool = _pool(workers)
    futures = [pool.submit(_generate_worker, model_file, share, decoding, batch_size, seed) for share in shares]
    with tqdm(total=total, desc=f"{desc} ({parts} workers)", unit="ctx", disable=not sys.stderr.isatty()) as bar:
        for part in _results(futures):
            done.extend(part)
            bar.update(sum(len(replies) for _, replies in part))
    return [reply for _, replies in sorted(done) for reply in replies]


def shards(n: int, workers: int, align: int = SHARD_ALIGN) -> list[tuple[int, int]]:
    """Contiguous ``(start, stop)`` shards of ``range(n)``: at most ``workers``, cut at multiples of ``align``."""
    per = -(-n // max(1, workers))
    per = max(align, -(-per // align) * align)
    return [(start, min(n, start + per)) for start in range(0, n, per)]


@functools.lru_cache(maxsize=4)
def _worker_classifier(spec: str, resolve_path: Callable[[str], str] | None) -> Classifier:
    return build_classifier(spec, resolve_path=resolve_path)


def _classify_worker(
    spec: str,
    resolve_path: Callable[[str], str] | None,
    texts: list[str],
    contexts: list[str] | None,
    golds: list[str] | None,
) -> list[float]:
    return list(_worker_classifier(spec, resolve_path)(texts, contexts=contexts, golds=golds))


class ShardedClassifier:
    """A classifier spec scored over worker processes; the same probabilities as the classifier in one process.

    Inputs shorter than two shards are scored in this process by the local classifier (built once, lazily).
    """

    def __init__(self, spec: str, workers: int, resolve_path: Callable[[str], str] | None = None) -> None:
        """Args:
        spec: The classifier spec (see :func:`cringe_agent.classifiers.build_classifier`).
        workers: Worker processes.
        resolve_path: ``zoo:`` path resolver, as for ``build_classifier`` (must be importable by name).
        """
        self.spec, self.workers, self.resolve_path = spec, workers, resolve_path
        self._local: Classifier | None = None

    @property
    def local(self) -> Classifier:
        if self._local is None:
            self._local = build_classifier(self.spec, resolve_path=self.resolve_path)
        return self._local

    def __call__(
        self, texts: Sequence[str], *, contexts: Sequence[str] | None = None, golds: Sequence[str] | None = None
    ) -> list[float]:
        parts = shards(len(texts), self.workers)
        if len(parts) < 2:
            return list(self.local(texts, contexts=contexts, golds=golds))

        texts = list(texts)

        def cut(values: Sequence[str] | None, start: int, stop: int) -> list[str] | None:
            return None if values is None else list(values[start:stop])

        pool = _pool(self.workers)
        futures = [
            pool.submit(
                _classify_worker, self.spec, self.resolve_path, texts[a:b], cut(contexts, a, b), cut(golds, a, b)
            )
            for a, b in parts
        ]
        return [p for part in _results(futures) for p in part]

    def __repr__(self) -> str:
        return f"ShardedClassifier({self.spec!r}, workers={self.workers})"
