"""Generate replies with a ParlAI model file, in batches, in-process or over worker processes, with fixed seeds.

Every batch of ``batch_size`` contexts is decoded with torch's RNG seeded by :func:`batch_seed` (the run's seed and
the batch's index), so the replies do not depend on which process decodes which batch: ``workers=N`` gives the same
replies as one process (see :mod:`cringe_agent.iterative.parallel`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

import torch
from tqdm import tqdm

from cringe_agent import compat  # noqa: F401  (ParlAI fixes first)

#: Added per batch index to the seed (a prime far above any round offset, so rounds' batches never share a seed).
_BATCH_SEED_STRIDE = 1_000_003


def batch_seed(seed: int, index: int) -> int:
    """Torch seed of batch ``index``: ``seed`` for the first batch, a distinct seed for each later one."""
    return seed + _BATCH_SEED_STRIDE * index


def generate(
    model_file: str,
    contexts: Sequence[str],
    decoding: dict[str, Any],
    *,
    batch_size: int = 128,
    seed: int = 0,
    desc: str = "generate",
    workers: int = 1,
) -> list[str]:
    """The model's reply to each context (each context its own episode).

    Args:
        model_file: A ParlAI generator model file.
        contexts: Flattened dialogue contexts.
        decoding: ParlAI decoding options (``inference``, ``topk``, ``beam_size``, ...), the same for every call.
        batch_size: Contexts per forward pass.
        seed: Seed of torch's RNG for sampled decoding (per batch, :func:`batch_seed`): a rerun gives the same replies.
        desc: Label of the progress bar.
        workers: Processes that decode batches in parallel; the replies equal one process's.

    Returns:
        One reply per context, in order.
    """
    batches = [list(contexts[start : start + batch_size]) for start in range(0, len(contexts), batch_size)]
    if workers > 1 and len(batches) > 1:
        from cringe_agent.iterative.parallel import generate_parallel

        return generate_parallel(
            model_file, batches, decoding, batch_size=batch_size, seed=seed, desc=desc, workers=workers
        )
    with tqdm(total=len(contexts), desc=desc, unit="ctx", disable=not sys.stderr.isatty()) as bar:
        done = generate_batches(
            model_file, list(enumerate(batches)), decoding, batch_size=batch_size, seed=seed, progress=bar.update
        )
    return [reply for _, replies in sorted(done) for reply in replies]


def generate_batches(
    model_file: str,
    batches: Sequence[tuple[int, Sequence[str]]],
    decoding: dict[str, Any],
    *,
    batch_size: int,
    seed: int,
    progress: Callable[[int], Any] | None = None,
) -> list[tuple[int, list[str]]]:
    """Decode numbered batches with one model load: ``[(index, replies), ...]`` in the order given.

    Args:
        model_file: A ParlAI generator model file.
        batches: ``(index, contexts)`` pairs; the index seeds the batch's sampling (:func:`batch_seed`).
        decoding: ParlAI decoding options.
        batch_size: The largest batch (ParlAI's ``batchsize``; one agent clone per context of a batch).
        seed: The run's seed.
        progress: Called with the number of contexts after each batch.
    """
    from parlai.core.agents import create_agent_from_model_file

    overrides = {**decoding, "batchsize": batch_size, "skip_generation": False, "interactive_mode": True}
    agent = create_agent_from_model_file(model_file, overrides)
    if agent is None:
        raise FileNotFoundError(f"no ParlAI model at {model_file} (its .opt file is missing)")
    clones = [agent.clone() for _ in range(batch_size)]
    done = []
    with torch.no_grad():
        for index, chunk in batches:
            torch.manual_seed(batch_seed(seed, index))
            observations = []
            for clone, text in zip(clones, chunk):
                clone.reset()
                observations.append(clone.observe({"text": text, "episode_done": True}))
            replies = []
            for clone, reply in zip(clones, agent.batch_act(observations)):
                clone.self_observe(reply)
                replies.append(reply.get("text", ""))
            done.append((index, replies))
            if progress is not None:
                progress(len(chunk))
    return done
