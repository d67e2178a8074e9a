"""Generate replies with a ParlAI model file, in batches, in-process, with a fixed seed."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import torch
from tqdm import tqdm

from cringe_agent import compat  # noqa: F401  (ParlAI fixes first)


def generate(
    model_file: str,
    contexts: Sequence[str],
    decoding: dict[str, Any],
    *,
    batch_size: int = 128,
    seed: int = 0,
    desc: str = "generate",
) -> list[str]:
    """The model's reply to each context (each context its own episode).

    Args:
        model_file: A ParlAI generator model file.
        contexts: Flattened dialogue contexts.
        decoding: ParlAI decoding options (``inference``, ``topk``, ``beam_size``, ...), the same for every call.
        batch_size: Contexts per forward pass.
        seed: Seed of torch's RNG for sampled decoding, so a rerun gives the same replies.
        desc: Label of the progress bar.

    Returns:
        One reply per context, in order.
    """
    from parlai.core.agents import create_agent_from_model_file

    overrides = {**decoding, "batchsize": batch_size, "skip_generation": False, "interactive_mode": True}
    agent = create_agent_from_model_file(model_file, overrides)
    if agent is None:
        raise FileNotFoundError(f"no ParlAI model at {model_file} (its .opt file is missing)")
    clones = [agent.clone() for _ in range(batch_size)]
    torch.manual_seed(seed)
    replies: list[str] = []
    with torch.no_grad(), tqdm(total=len(contexts), desc=desc, unit="ctx", disable=not sys.stderr.isatty()) as bar:
        for start in range(0, len(contexts), batch_size):
            chunk = contexts[start : start + batch_size]
            observations = []
            for clone, text in zip(clones, chunk):
                clone.reset()
                observations.append(clone.observe({"text": text, "episode_done": True}))
            for clone, reply in zip(clones, agent.batch_act(observations)):
                clone.self_observe(reply)
                replies.append(reply.get("text", ""))
            bar.update(len(chunk))
    return replies
