"""Benchmark: one ParlAI training step of the CRINGE agent over ParlAI's ``transformer/generator``, side by side.

Both agents get the same initial weights (the CRINGE agent's state dict is copied into the MLE agent), the same
byte-level BPE (the main job's, 8k symbols, trained on chit-chat) and the same batch: ``--batch`` chit-chat
examples of the embedded task, every other one marked ``classifier_label: neg`` (ignored by the MLE agent). A step
is ``agent.train_step(batch)``: forward, loss, backward and the Adam update. Steps alternate between the two agents;
the median of ``--repeats`` after warm-up is printed per model size, with the ratio. Target: ratio <= 1.05.

Two CRINGE columns: ``CRINGE full`` projects every padded label position onto the vocabulary, as ParlAI's MLE agent
does (the loss's own cost: the ratio the target is about); ``CRINGE`` is the agent as it trains, projecting only the
label tokens (:mod:`cringe_agent.agents.label_logits`), which removes the padding's share of the output layer.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _common import (
    CRINGE_AGENT,
    MLE_AGENT,
    SIZES,
    bpe_opts,
    chitchat_pairs,
    interleaved_medians,
    make_agent,
    make_batch,
    set_threads,
)


def bench_size(size: str, dict_opts: dict, pairs: list[tuple[str, str]], repeats: int) -> dict[str, float]:
    """Median seconds per training step of each agent at one model size.

    Args:
        size: A key of ``SIZES``.
        dict_opts: ParlAI's dictionary options (the byte-level BPE).
        pairs: The batch's (context, reply) pairs.
        repeats: Timed steps per agent.

    Returns:
        ``{"mle", "cringe_full", "cringe": seconds, "tokens": label tokens of the batch, "positions": padded
        label positions, "vocab": dictionary size}``.
    """
    import cringe_agent.agents.cringe as cringe_module

    cringe = make_agent(CRINGE_AGENT, size, dict_opts)
    cringe_full = make_agent(CRINGE_AGENT, size, dict_opts)
    mle = make_agent(MLE_AGENT, size, dict_opts)
    for agent in (mle, cringe_full):
        agent.model.load_state_dict(cringe.model.state_dict())
    agents = {"mle": mle, "cringe_full": cringe_full, "cringe": cringe}
    batches = {name: make_batch(agent, pairs) for name, agent in agents.items()}
    assert batches["mle"].label_vec.equal(batches["cringe"].label_vec)
    supports = cringe_module.supports_label_positions_only

    def step(name: str) -> None:
        agents[name]._local_metrics.clear()  # as batch_act does before each step
        agents[name].is_training = True
        cringe_module.supports_label_positions_only = (lambda model: False) if name == "cringe_full" else supports
        try:
            agents[name].train_step(batches[name])
        finally:
            cringe_module.supports_label_positions_only = supports

    medians = interleaved_medians({name: (lambda n=name: step(n)) for name in agents}, repeats)
    label_vec = batches["cringe"].label_vec
    medians["tokens"] = int(label_vec.ne(cringe.NULL_IDX).sum())
    medians["positions"] = label_vec.numel()
    medians["vocab"] = len(cringe.dict)
    return medians


def main() -> None:
    """Parse the flags, run each model size, print a table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", default=["2x128", "4x256"], choices=list(SIZES))
    parser.add_argument("--batch", type=int, default=64, help="examples per batch")
    parser.add_argument("--repeats", type=int, default=9, help="timed steps per agent (median)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--vocab", type=int, default=8000, help="byte-level BPE symbols")
    args = parser.parse_args()
    set_threads(args.threads)

    import torch

    torch.manual_seed(0)
    pairs = chitchat_pairs(args.batch)
    with tempfile.TemporaryDirectory() as tmp:
        dict_opts = bpe_opts(Path(tmp) / "bpe", args.vocab)
        rows = [(size, bench_size(size, dict_opts, pairs, args.repeats)) for size in args.sizes]
    print(
        f"torch {torch.__version__}, threads {torch.get_num_threads()}, batch {args.batch} (half neg), "
        f"median of {args.repeats} after 2 warm-up steps, interleaved"
    )
    print(
        f"{'model':>6} {'V':>6} {'tokens':>6} {'padded':>6} {'MLE ms':>8} {'CRINGE full ms':>14} {'ratio':>6} "
        f"{'CRINGE ms':>10} {'ratio':>6}"
    )
    for size, r in rows:
        print(
            f"{size:>6} {r['vocab']:>6} {r['tokens']:>6} {r['positions']:>6} {r['mle'] * 1e3:>8.1f} "
            f"{r['cringe_full'] * 1e3:>14.1f} {r['cringe_full'] / r['mle']:>6.3f} {r['cringe'] * 1e3:>10.1f} "
            f"{r['cringe'] / r['mle']:>6.3f}"
        )


if __name__ == "__main__":
    main()
