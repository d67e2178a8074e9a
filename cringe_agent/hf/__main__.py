"""``python -m cringe_agent.hf``: fine-tune a causal LM with CRINGE on KTO-layout data, one process or many.

    python -m cringe_agent.hf --model smollm2-135m-instruct --data kto.jsonl --output-dir out --steps 100
    torchrun --nproc_per_node 2 -m cringe_agent.hf --model smollm2-135m-instruct --data kto.jsonl --output-dir out

The model is a known name, a checkpoint folder, a ``.gguf`` file or a hub id (:mod:`cringe_agent.pretrained`);
``--train-layers`` and ``--lora-r`` choose what trains (:func:`cringe_agent.hf.causal_model.prepare_trainable`).
Under ``torchrun`` the ``transformers.Trainer`` runs data-parallel (DDP; gloo on CPU, NCCL on GPUs), each process
reading its share of every global batch: ``--batch-size`` is per process.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from cringe_agent.settings import DEFAULTS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m cringe_agent.hf", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="model name, folder, .gguf file or hub id")
    parser.add_argument("--data", required=True, help='KTO jsonl: {"prompt", "completion", "label": true|false}')
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--alpha", type=float, default=DEFAULTS.alpha)
    parser.add_argument("--k", type=int, default=DEFAULTS.k)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--batch-size", type=int, default=8, help="examples per step and process")
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-layers", type=int, default=-1, help="train only the top N layers (-1: all)")
    parser.add_argument("--lora-r", type=int, default=0, help="LoRA rank (0: none)")
    parser.add_argument("--chat-template", action="store_true", help="wrap each prompt as a user turn of the template")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from cringe_agent.hf.causal_model import prepare_trainable
    from cringe_agent.hf.data import load_kto
    from cringe_agent.hf.trainer import train
    from cringe_agent.pretrained import PretrainedModelError, load_causal_lm

    try:
        rows = load_kto(args.data)  # refused before the model loads or anything is written
        model, tokenizer, folder = load_causal_lm(args.model, require_chat_template=args.chat_template)
        model = prepare_trainable(model, train_layers=args.train_layers, lora_r=args.lora_r)
    except (ValueError, PretrainedModelError) as err:
        print(f"cringe_agent.hf: error: {err}", file=sys.stderr)
        return 2
    if args.chat_template:
        for row in rows:
            messages = [{"role": "user", "content": row["prompt"]}]
            row["prompt"] = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    model.train()
    trainer = train(
        model,
        tokenizer,
        rows,
        alpha=args.alpha,
        k=args.k,
        steps=args.steps,
        lr=args.lr,
        output_dir=args.output_dir,
        batch_size=args.batch_size,
        max_length=args.max_length,
        seed=args.seed,
        logging_steps=1,
    )
    if trainer.is_world_process_zero():
        losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
        summary = {"model": folder, "world_size": int(os.environ.get("WORLD_SIZE", 1)), "losses": losses}
        with open(os.path.join(args.output_dir, "cringe_train.json"), "w", encoding="utf-8") as f:
            json.dump(summary, f, indent=1)
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
