"""Benchmark: the loop's stages of one round, each timed with its throughput and peak memory, in one process.

The stages, in the loop's order, on the embedded chit-chat task with the main job's model options (``--size``):

1. ``tokenizer``: the byte-level BPE trained on the prompts' texts (round 0 only);
2. ``train baseline``: the MLE baseline, ``--baseline-steps`` batches through ``train_round`` (ParlAI's
   ``train_model``: dictionary, teacher, model build, the steps, the short final valid/test);
3. ``generate``: the loop's generation on ``--prompts`` training contexts (the main job's top-k decoding);
4. ``generate (ParlAI)``: ParlAI's own ``eval_model`` generating for the same contexts, model and decoding (the
   ratio to the loop's is printed: target >= 0.9);
5. ``label``: the labelling classifier (``--classifier``, default the main job's ``profanity``) on the replies;
6. ``select``: the paper's selection (50/50, at most 2 identical positives);
7. ``train CRINGE``: ``--round-steps`` batches of CRINGE fine-tuning from the baseline, with the selection injected
   by the generations mutator (a round r >= 2);
8. ``ppl``: the positive labels' perplexity on ``--ppl-examples`` valid examples (one of the round's evaluations).

Peak memory: a thread samples the process's resident set every 10 ms; a stage's peak is the largest sample during
it, and ``+peak`` the rise over the resident set at its start. Training throughput counts the set-up in (the
loop pays it every round); ``--steps-only`` adds a second, 1-step training to separate the set-up from the steps.

    .venv/bin/python benchmarks/loop_stages.py                       # 2x128, 2,000 prompts, 100 + 50 steps
    .venv/bin/python benchmarks/loop_stages.py --size 4x256 --prompts 8000 --out stages.json
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import SIZES, set_threads
from generation import parlai_eval, write_contexts

PAGE = 4096


def rss_bytes() -> int:
    """The process's resident set size (Linux ``/proc/self/statm``)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


class PeakSampler:
    """Samples the resident set in a thread; :meth:`stage` gives each stage's peak."""

    def __init__(self, interval: float = 0.01) -> None:
        self.interval, self.peak = interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes())
            time.sleep(self.interval)

    def stage(self, fn: Callable[[], Any]) -> tuple[Any, float, int, int]:
        """Run ``fn``; return ``(value, seconds, rss at start, peak rss during it)``."""
        start_rss = rss_bytes()
        self.peak = start_rss
        start = time.perf_counter()
        value = fn()
        seconds = time.perf_counter() - start
        return value, seconds, start_rss, max(self.peak, rss_bytes())

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def run(args: argparse.Namespace, folder: Path) -> list[dict[str, Any]]:
    """Run every stage once in ``folder``; one row per stage."""
    from cringe_agent.classifiers import build_classifier
    from cringe_agent.iterative.config import DEFAULT_DECODING, DEFAULT_MODEL, DEFAULT_TASK_OPTS
    from cringe_agent.iterative.evaluate import positive_perplexity
    from cringe_agent.iterative.generate import generate
    from cringe_agent.iterative.label import label_replies
    from cringe_agent.iterative.methods import CRINGE_AGENT
    from cringe_agent.iterative.tokenizer import train_bytelevel_bpe
    from cringe_agent.iterative.train import train_round
    from cringe_agent.jsonl import write_jsonl_atomic
    from cringe_agent.selection import select_generations
    from tasks.chitchat.agents import training_contexts

    task, task_opts = "tasks.chitchat.agents", dict(DEFAULT_TASK_OPTS)
    datapath, batch = str(folder / "data"), DEFAULT_MODEL["batchsize"]
    split = {"test_frac": task_opts["chitchat_test_frac"]}
    prompts = training_contexts(args.prompts, seed=2, **split)
    contexts = [p["text"] for p in prompts]
    texts = [t for row in training_contexts(None, seed=0, **split) for t in (row["text"], row["gold"]) if t]
    sampler, rows = PeakSampler(), []

    def stage(name: str, fn: Callable[[], Any], items: int, unit: str) -> Any:
        value, seconds, start, peak = sampler.stage(fn)
        rows.append(
            {
                "stage": name,
                "seconds": seconds,
                "items": items,
                "unit": unit,
                "rate": items / seconds,
                "rss_start_mb": start / 2**20,
                "peak_mb": peak / 2**20,
                "rise_mb": (peak - start) / 2**20,
            }
        )
        print(f"  {name}: {seconds:.1f} s", flush=True)
        return value

    bpe = stage("tokenizer", lambda: train_bytelevel_bpe(texts, folder / "bpe", args.vocab), len(texts), "texts")
    model_opts = {**DEFAULT_MODEL, **SIZES[args.size], **bpe, "dict_maxexs": 0}
    common = dict(task=task, task_opts=task_opts, datapath=datapath, model_opts=model_opts)
    baseline = str(folder / "baseline" / "model")
    stage(
        "train baseline",
        lambda: train_round(**common, model_file=baseline, steps=args.baseline_steps, seed=0),
        args.baseline_steps * batch,
        "examples",
    )
    decoding = dict(DEFAULT_DECODING)
    data, warm = folder / "contexts.txt", folder / "warm_up.txt"
    write_contexts(data, [c.replace("\t", " ") for c in contexts])
    write_contexts(warm, [c.replace("\t", " ") for c in contexts[:32]])
    generate(baseline, contexts[:32], decoding)  # untimed warm-up of both sides: first-call costs of the process
    if args.parlai_generation:
        parlai_eval(baseline, warm, decoding, 128, 1)
    replies = stage("generate", lambda: generate(baseline, contexts, decoding, seed=1), len(contexts), "replies")
    if args.parlai_generation:
        stage("generate (ParlAI)", lambda: parlai_eval(baseline, data, decoding, 128, 1), len(contexts), "replies")
    labeller = build_classifier(args.classifier)
    labelled = stage("label", lambda: label_replies(prompts, replies, labeller, 0.5, 2), len(replies), "texts")
    selection = stage("select", lambda: select_generations(labelled, seed=2), len(labelled), "rows")
    selection_file = folder / "selection.jsonl"
    write_jsonl_atomic(selection_file, selection)
    round_kwargs = dict(
        init_model=baseline,
        agent=CRINGE_AGENT,
        agent_opts={"cringe_alpha": 1.0, "cringe_k": 5},
        selections=[str(selection_file)] if selection else [],
    )
    round_opts = {**common, "model_opts": {**model_opts, "learningrate": 1e-3}}
    stage(
        "train CRINGE",
        lambda: train_round(
            **round_opts, **round_kwargs, model_file=str(folder / "r2" / "model"), steps=args.round_steps, seed=2
        ),
        args.round_steps * batch,
        "examples",
    )
    if args.steps_only:
        stage(
            "train CRINGE, 1 step",
            lambda: train_round(
                **round_opts, **round_kwargs, model_file=str(folder / "r2b" / "model"), steps=1, seed=2
            ),
            batch,
            "examples",
        )
    stage(
        "ppl",
        lambda: positive_perplexity(str(folder / "r2" / "model"), task, task_opts, datapath, args.ppl_examples),
        args.ppl_examples,
        "examples",
    )
    sampler.close()
    by_name = {r["stage"]: r for r in rows}
    if "generate (ParlAI)" in by_name:
        by_name["generate"]["vs_parlai"] = by_name["generate"]["rate"] / by_name["generate (ParlAI)"]["rate"]
    if "train CRINGE, 1 step" in by_name:
        full, one = by_name["train CRINGE"], by_name["train CRINGE, 1 step"]
        steady = (full["seconds"] - one["seconds"]) / max(1, args.round_steps - 1)
        full["steady_rate"] = batch / steady
        full["setup_seconds"] = one["seconds"] - steady
    for r in rows:
        r["selected"] = len(selection) if r["stage"] == "select" else None
    return rows


def main() -> None:
    """Parse the flags, run the stages in a temporary folder, print the table (and write ``--out``)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="2x128", choices=list(SIZES), help="model size (layers x embedding)")
    parser.add_argument("--vocab", type=int, default=8000, help="byte-level BPE symbols (the main job's: 8000)")
    parser.add_argument("--prompts", type=int, default=2000, help="training prompts generated on (main job: 2000)")
    parser.add_argument("--baseline-steps", type=int, default=100, help="MLE baseline batches (main job: 500)")
    parser.add_argument("--round-steps", type=int, default=50, help="CRINGE round batches (main job: 220)")
    parser.add_argument("--ppl-examples", type=int, default=2000, help="valid examples of the perplexity")
    parser.add_argument("--classifier", default="profanity", help="labelling classifier spec")
    parser.add_argument(
        "--parlai-generation",
        type=lambda s: s.lower() == "true",
        default=True,
        metavar="BOOL",
        help="also time ParlAI's eval_model generation on the same contexts (default: true)",
    )
    parser.add_argument("--steps-only", action="store_true", help="add a 1-step training to split set-up and steps")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--out", type=Path, default=None, help="write the rows and settings as JSON here")
    args = parser.parse_args()
    set_threads(args.threads)
    logging.getLogger("parlai").setLevel(logging.WARNING)
    import torch

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        rows = run(args, Path(tmp))
        total = time.perf_counter() - start
    print(
        f"\ntorch {torch.__version__}, threads {torch.get_num_threads()}, model {args.size}, vocab {args.vocab}, "
        f"{args.prompts} prompts, baseline {args.baseline_steps} + round {args.round_steps} steps; {total:.0f} s"
    )
    print(f"{'stage':<22} {'s':>7} {'items':>7} {'per s':>9} {'unit':<9} {'peak MB':>8} {'+peak MB':>9}  note")
    for r in rows:
        note = ""
        if "vs_parlai" in r:
            note = f"{r['vs_parlai']:.2f}x ParlAI's eval_model"
        if "steady_rate" in r:
            note = f"steps alone {r['steady_rate']:.0f} ex/s, set-up {r['setup_seconds']:.1f} s"
        if r["selected"] is not None:
            note = f"{r['selected']} selected"
        print(
            f"{r['stage']:<22} {r['seconds']:>7.1f} {r['items']:>7} {r['rate']:>9.1f} {r['unit']:<9} "
            f"{r['peak_mb']:>8.0f} {r['rise_mb']:>9.0f}  {note}"
        )
    if args.out:
        args.out.write_text(
            json.dumps(
                {
                    "settings": vars(args) | {"out": str(args.out)},
                    "total_seconds": total,
                    "torch": torch.__version__,
                    "rows": rows,
                },
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
