"""Shared pieces of the benchmarks: chit-chat data, the main job's tokenizer, model sizes and ParlAI agents."""

from __future__ import annotations

import os
import statistics
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

warnings.filterwarnings("ignore", message="pkg_resources is deprecated")

import torch  # noqa: E402

from cringe_agent import compat  # noqa: E402, F401  (ParlAI fixes first)
from cringe_agent.iterative.config import DEFAULT_MODEL  # noqa: E402

CRINGE_AGENT = "cringe_agent.agents.transformer:CringeTransformerGeneratorAgent"
MLE_AGENT = "transformer/generator"

#: Model sizes by name ``<layers>x<embedding>``; ``2x128`` is the main job's :data:`DEFAULT_MODEL`.
SIZES: dict[str, dict[str, int]] = {
    "2x128": {"n_layers": 2, "embedding_size": 128, "ffn_size": 512, "n_heads": 4},
    "4x256": {"n_layers": 4, "embedding_size": 256, "ffn_size": 1024, "n_heads": 4},
    "8x512": {"n_layers": 8, "embedding_size": 512, "ffn_size": 2048, "n_heads": 8},
}
assert all(DEFAULT_MODEL[k] == v for k, v in SIZES["2x128"].items())

#: ``DEFAULT_MODEL`` without its ParlAI-dictionary options (the byte-level BPE of :func:`bpe_opts` replaces them).
MODEL_OPTS: dict[str, Any] = {k: v for k, v in DEFAULT_MODEL.items() if not k.startswith("dict_")}


def set_threads(threads: int) -> None:
    """Use ``threads`` torch threads (intra-op), and as many OpenMP/MKL threads."""
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(threads)
    torch.set_num_threads(threads)


def chitchat_pairs(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """``n`` seeded (context, reply) pairs of the embedded chit-chat task's train split."""
    from tasks.chitchat.agents import training_contexts

    return [(row["text"], row["gold"]) for row in training_contexts(n, seed=seed)]


def bpe_opts(folder: Path, vocab: int = 8000, texts: int = 20000) -> dict[str, Any]:
    """Train the main job's byte-level BPE (``vocab`` symbols) on chit-chat texts; return ParlAI's dict options."""
    from cringe_agent.iterative.tokenizer import train_bytelevel_bpe

    pairs = chitchat_pairs(texts, seed=1)
    return train_bytelevel_bpe([t for pair in pairs for t in pair], folder, vocab)


def make_agent(model: str, size: str, dict_opts: dict[str, Any], **extra: Any) -> Any:
    """A freshly initialised ParlAI agent ``model`` of ``SIZES[size]`` with the main job's other model options."""
    from parlai.core.agents import create_agent
    from parlai.core.params import ParlaiParser

    parser = ParlaiParser(True, True)
    kwargs = {**MODEL_OPTS, **SIZES[size], **dict_opts, "no_cuda": True, "datatype": "train", **extra}
    opt = parser.parse_kwargs(model=model, **kwargs)
    return create_agent(opt, requireModelExists=False)


def make_batch(agent: Any, pairs: Sequence[tuple[str, str]], neg_every: int = 2) -> Any:
    """ParlAI's training batch of ``pairs``; every ``neg_every``-th example is marked ``classifier_label: neg``."""
    observations = []
    for i, (text, reply) in enumerate(pairs):
        clone = agent.clone()
        label = "neg" if neg_every and i % neg_every == 0 else "pos"
        msg = {"text": text, "labels": [reply], "classifier_label": label, "episode_done": True}
        observations.append(clone.observe(msg))
    return agent.batchify(observations)


def interleaved_medians(fns: dict[str, Callable[[], Any]], repeats: int, warmup: int = 2) -> dict[str, float]:
    """Median seconds of each function, run in turn (a, b, a, b, ...) ``repeats`` times after ``warmup`` rounds."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}
