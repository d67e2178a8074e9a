"""Benchmark: the loop's generation (``cringe_agent.iterative.generate.generate``) over ParlAI's ``eval_model``.

Both generate one reply to each of ``--contexts`` chit-chat contexts with the same model file, the same decoding
(the main job's: top-k 10, 3-gram blocking; ``--inference greedy`` for greedy), the same batch size and the same
torch seed. ParlAI's side is ``EvalModel`` on a ``fromfile:parlaiformat`` file of the same contexts (``--hide-labels``,
so that it only generates). Each timed call includes loading the model, as the loop does once per generation step.
Calls alternate between the two; the median of ``--repeats`` after one warm-up call each is printed as replies/s,
with the ratio. Target: loop / ParlAI >= 0.9.

Without ``--model-file``, a model of the main job's size (``DEFAULT_MODEL``, 2x128, byte-level BPE of 8k symbols)
is first trained for ``--train-steps`` steps on chit-chat in a temporary folder. An untimed run of each side also
checks that they give the same replies (ParlAI's replies read back from ``--world-logs``).
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
from pathlib import Path
from typing import Any

from _common import MLE_AGENT, bpe_opts, chitchat_pairs, interleaved_medians, make_agent, make_batch, set_threads

from cringe_agent.iterative.config import DEFAULT_DECODING


def train_tiny_model(folder: Path, steps: int, batch: int) -> str:
    """Train ``transformer/generator`` of the main job's size for ``steps`` chit-chat batches; return its file."""
    dict_opts = bpe_opts(folder / "bpe")
    agent = make_agent(MLE_AGENT, "2x128", dict_opts)
    pairs = chitchat_pairs(steps * batch, seed=3)
    for i in range(steps):
        agent._local_metrics.clear()
        agent.train_step(make_batch(agent, pairs[i * batch : (i + 1) * batch], neg_every=0))
    model_file = str(folder / "model")
    agent.save(model_file)
    return model_file


def write_contexts(path: Path, contexts: list[str]) -> None:
    """Write the contexts as a ParlAI-format file, one single-turn episode each (a dummy label, hidden when read)."""

    def escape(text: str) -> str:
        return text.replace("\t", " ").replace("\n", "\\n")

    path.write_text("".join(f"text:{escape(t)}\tlabels:-\tepisode_done:True\n" for t in contexts), encoding="utf-8")


def parlai_eval(model_file: str, data: Path, decoding: dict[str, Any], batch: int, seed: int, logs: str = "") -> None:
    """ParlAI's own batched generation: ``eval_model`` over the contexts file."""
    import torch
    from parlai.scripts.eval_model import EvalModel

    torch.manual_seed(seed)
    kwargs: dict[str, Any] = {"world_logs": logs} if logs else {}
    EvalModel.main(
        task="fromfile:parlaiformat",
        fromfile_datapath=str(data),
        model_file=model_file,
        datatype="valid",
        batchsize=batch,
        skip_generation=False,
        hide_labels=True,
        num_examples=-1,
        log_every_n_secs=3600,
        display_examples=False,
        **decoding,
        **kwargs,
    )


def read_world_logs(path: str) -> dict[str, str]:
    """Context -> reply from a ParlAI ``--world-logs`` jsonl file."""
    replies = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        turns = json.loads(line)["dialog"][0]
        if len(turns) >= 2:
            replies[turns[0]["text"]] = turns[1].get("text", "")
    return replies


def main() -> None:
    """Parse the flags, train or load the model, time both sides, print replies/s and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-file", default=None, help="a ParlAI generator model file (default: train one)")
    parser.add_argument("--train-steps", type=int, default=20, help="training steps of the temporary model")
    parser.add_argument("--contexts", type=int, default=512, help="chit-chat contexts to reply to")
    parser.add_argument("--batch", type=int, default=128, help="contexts per batch (the loop's default)")
    parser.add_argument("--inference", default=DEFAULT_DECODING["inference"], choices=["topk", "greedy"])
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per side (median)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    set_threads(args.threads)
    logging.getLogger("parlai").setLevel(logging.WARNING)

    from cringe_agent.iterative.generate import generate

    decoding = {**DEFAULT_DECODING, "inference": args.inference}
    contexts = [text.replace("\t", " ") for text, _ in chitchat_pairs(args.contexts, seed=2)]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        model_file = args.model_file or train_tiny_model(folder, args.train_steps, 64)
        data = folder / "contexts.txt"
        write_contexts(data, contexts)

        def loop_side() -> list[str]:
            return generate(model_file, contexts, decoding, batch_size=args.batch, seed=args.seed)

        def parlai_side() -> None:
            parlai_eval(model_file, data, decoding, args.batch, args.seed)

        medians = interleaved_medians({"loop": loop_side, "parlai": parlai_side}, args.repeats, warmup=1)
        ours = loop_side()
        logs = str(folder / "world_logs.jsonl")
        parlai_eval(model_file, data, decoding, args.batch, args.seed, logs)
        theirs = read_world_logs(logs)

    same = sum(theirs.get(c.replace("\\n", "\n")) == r for c, r in zip(contexts, ours))
    mean_words = sum(len(r.split()) for r in ours) / len(ours)
    their_words = sum(len(r.split()) for r in theirs.values()) / max(len(theirs), 1)
    loop_rate, parlai_rate = len(contexts) / medians["loop"], len(contexts) / medians["parlai"]
    import torch

    print(
        f"torch {torch.__version__}, threads {torch.get_num_threads()}, {len(contexts)} contexts, batch {args.batch}, "
        f"decoding {decoding}, median of {args.repeats} after 1 warm-up call, interleaved"
    )
    print(f"mean reply words: loop {mean_words:.1f}, ParlAI {their_words:.1f}; identical replies {same}/{len(ours)}")
    print(f"{'loop s':>7} {'ParlAI s':>9} {'loop rep/s':>11} {'ParlAI rep/s':>13} {'ratio':>6}")
    print(
        f"{medians['loop']:>7.2f} {medians['parlai']:>9.2f} {loop_rate:>11.1f} {parlai_rate:>13.1f} "
        f"{loop_rate / parlai_rate:>6.3f}"
    )


if __name__ == "__main__":
    main()
