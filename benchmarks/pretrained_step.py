"""Benchmark: the pretrained model's training step and generation, side by side in one run.

Printed, each a median of ``--repeats`` after warm-up, on the same batch (``--batch`` examples of the persona task's
``leading`` style, every other one marked ``classifier_label: neg``):

1. **CRINGE vs MLE step**: ``agent.train_step(batch)`` of ``CringeHfCausalAgent`` and of ``HfCausalAgent`` (ParlAI's
   cross-entropy) with the same settings (top ``--layers`` layers trained), alternating. Target: ratio <= 1.10.
2. **What trains**: the CRINGE step with every parameter, the top ``--layers`` layers, and LoRA (rank 8, every
   layer), with the number of trained parameters.
3. **Generation**: the loop's generation (``cringe_agent.iterative.generate``: one model load, then ParlAI's
   batching and the agent's ``generate`` per batch) vs transformers' ``generate`` on the same left-padded batches
   (``--gen-batches`` of ``--gen-batch`` prompts) and greedy decoding of ``--new-tokens`` tokens; the loop's side
   includes its model load, as a loop step does. Target: loop / transformers >= 0.9 in throughput.

    .venv/bin/python benchmarks/pretrained_step.py                    # SmolLM2-135M-Instruct (the wheel's)
    .venv/bin/python benchmarks/pretrained_step.py --model /tmp/llama  # any folder; --tiny: a tiny random Llama
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import interleaved_medians, make_batch, set_threads

HF = "cringe_agent.agents.hf_causal"


def agent_of(model: str, hf_model: str, **opts: Any) -> Any:
    """A training ParlAI agent over ``hf_model``."""
    from parlai.core.agents import create_agent
    from parlai.core.params import ParlaiParser

    parser = ParlaiParser(True, True)
    kwargs = dict(hf_model=hf_model, datatype="train", optimizer="adam", learningrate=1e-5, no_cuda=True)
    opt = parser.parse_kwargs(model=model, **kwargs, **opts)
    return create_agent(opt, requireModelExists=False)


def persona_pairs(n: int) -> list[tuple[str, str]]:
    """``n`` (context, reply) pairs of the persona task's leading style (train split)."""
    from tasks.persona import world

    return [(e.context, e.reply) for e in world.examples("train", style="leading")[:n]]


def step_times(hf_model: str, pairs: list, layers: int, repeats: int) -> dict[str, tuple[float, int]]:
    """Median step seconds and trained parameters of each configuration."""
    configs = {
        "MLE, top layers": (f"{HF}:HfCausalAgent", {"hf_train_layers": layers}),
        "CRINGE, top layers": (f"{HF}:CringeHfCausalAgent", {"hf_train_layers": layers}),
        "CRINGE, every parameter": (f"{HF}:CringeHfCausalAgent", {"hf_train_layers": -1}),
        "CRINGE, LoRA r=8": (f"{HF}:CringeHfCausalAgent", {"hf_lora_r": 8}),
    }
    agents = {name: agent_of(model, hf_model, **opts) for name, (model, opts) in configs.items()}
    batches = {name: make_batch(agent, pairs) for name, agent in agents.items()}

    def step(name: str) -> None:
        agents[name]._local_metrics.clear()  # as batch_act does before each step
        agents[name].train_step(batches[name])

    pair = ("MLE, top layers", "CRINGE, top layers")
    times = interleaved_medians({n: (lambda n=n: step(n)) for n in pair}, repeats)
    for name in configs:
        if name not in pair:
            times.update(interleaved_medians({name: lambda n=name: step(n)}, repeats, 1))
    trained = {n: sum(p.numel() for p in a.model.parameters() if p.requires_grad) for n, a in agents.items()}
    return {name: (times[name], trained[name]) for name in configs}


def generation_times(
    hf_model: str, contexts: list[str], new_tokens: int, repeats: int, batch: int
) -> dict[str, float]:
    """Median seconds to reply to ``contexts`` in batches of ``batch``, the loop's way and transformers' own."""
    import torch

    from cringe_agent.iterative.generate import generate
    from cringe_agent.iterative.train import save_untrained

    folder = Path(tempfile.mkdtemp(prefix="bench_pretrained_"))
    model_file = str(folder / "model")
    save_untrained({"hf_model": hf_model, "label_truncate": new_tokens}, model_file, f"{HF}:HfCausalAgent")
    greedy = {"inference": "greedy", "beam_size": 1, "beam_block_ngram": -1}
    agent = agent_of(f"{HF}:HfCausalAgent", hf_model)
    batches = []
    for start in range(0, len(contexts), batch):
        prompts = [agent.dict.chat_ids([c]) for c in contexts[start : start + batch]]
        width = max(len(p) for p in prompts)
        ids = torch.tensor([[agent.NULL_IDX] * (width - len(p)) + p for p in prompts])
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
        batches.append((ids, mask))
    lm = agent.model.lm.eval()

    def raw() -> None:
        with torch.no_grad():
            for ids, mask in batches:
                lm.generate(
                    input_ids=ids,
                    attention_mask=mask,
                    max_new_tokens=new_tokens,
                    do_sample=False,
                    eos_token_id=agent.END_IDX,
                    pad_token_id=agent.NULL_IDX,
                )

    def loop() -> None:
        generate(model_file, contexts, greedy, batch_size=batch)

    def load() -> None:
        from parlai.core.agents import create_agent_from_model_file

        create_agent_from_model_file(model_file, {**greedy, "skip_generation": False, "interactive_mode": True})

    times = interleaved_medians({"transformers generate": raw, "loop generate": loop}, repeats, warmup=1)
    times.update(interleaved_medians({"loop's model load": load}, repeats, warmup=0))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="smollm2-135m-instruct", help="model name or folder")
    parser.add_argument("--tiny", action="store_true", help="a tiny random Llama instead (a quick check)")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--gen-batch", type=int, default=16)
    parser.add_argument("--gen-batches", type=int, default=4)
    parser.add_argument("--skip-steps", action="store_true", help="only the generation comparison")
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    set_threads(args.threads)
    model = args.model
    if args.tiny:
        from cringe_agent.hf.tiny import make_tiny_llama

        model = str(make_tiny_llama(Path(tempfile.mkdtemp()) / "llama", layers=4, hidden=64))
        args.layers = min(args.layers, 4)
    pairs = persona_pairs(args.batch)
    print(f"model {model}; torch threads {args.threads}; batch {args.batch}; {os.cpu_count()} cores")
    if not args.skip_steps:
        steps = step_times(model, pairs, args.layers, args.repeats)
        print("\n| configuration | step (s) | trained parameters |\n|---|---|---|")
        for name, (seconds, trained) in steps.items():
            print(f"| {name} | {seconds:.3f} | {trained:,} |")
        ratio = steps["CRINGE, top layers"][0] / steps["MLE, top layers"][0]
        print(f"\nCRINGE / MLE step, top {args.layers} layers: {ratio:.3f} (target <= 1.10)")
    contexts = [c for c, _ in persona_pairs(args.gen_batch * args.gen_batches)]
    start = time.perf_counter()
    gen = generation_times(model, contexts, args.new_tokens, args.repeats, args.gen_batch)
    what = f"{len(contexts)} replies in batches of {args.gen_batch}, {args.new_tokens} greedy tokens"
    print(f"\n| generation of {what} | s |\n|---|---|")
    for name, seconds in gen.items():
        print(f"| {name} | {seconds:.3f} |")
    speed = gen["transformers generate"] / gen["loop generate"]
    print(f"\nloop / transformers generation throughput: {speed:.3f} (target >= 0.9)")
    batches = gen["transformers generate"] / (gen["loop generate"] - gen["loop's model load"])
    print(f"the same, less the loop's one model load per generation step: {batches:.3f}")
    print(f"(generation part: {time.perf_counter() - start:.0f} s, medians of {args.repeats} runs)")


if __name__ == "__main__":
    main()
