"""``cringe-loop``: run (or resume) the iterative CRINGE loop and print the per-round table.

    cringe-loop --run-dir runs/demo                 # the embedded default (chit-chat), baseline + 2 rounds
    cringe-loop --run-dir runs/long --preset long   # the longer configuration for the headline numbers
    cringe-loop --run-dir runs/x --rounds 3 --alpha 0.5 --classifier parlai:/path/to/classifier

Run the same command again after a kill: finished steps are read back, not redone.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

from cringe_agent.iterative.config import LoopConfig

#: Named configurations; flags given on the command line override them.
PRESETS: dict[str, dict[str, Any]] = {
    "demo": {},
    "long": {"baseline_steps": 4000, "round_steps": 800, "prompts": 10000, "eval_random": 2000},
    # cringe-compare's chit-chat comparison: the demo's training, smaller random and perplexity sets (README).
    "compare": {"eval_random": 500, "ppl_examples": 1000, "rerank_candidates": 4},
    # The embedded persona contradiction task at CPU scale (projects/persona_contradiction); pass the labeller with
    # --classifier parlai+context:PATH (python -m tasks.persona.classifier trains one).
    "persona": {
        "task": "tasks.persona.agents",
        "task_opts": {},
        "judge": "tasks.persona.checker:judge",
        "answer_judge": "tasks.persona.checker:answers",
        "model": {"batchsize": 32, "text_truncate": 128, "truncate": 128},
        "baseline_steps": 200,
        "round_steps": 60,
        "prompts": 400,
        "eval_provocative": 200,
        "eval_random": 200,
        "ppl_examples": 300,
        "rerank_candidates": 4,
    },
    # The pretrained default (README, "The pretrained main job"): SmolLM2-135M-Instruct from its PyPI wheel, the
    # persona task with leading questions, labelled by word mentions and judged by the exact claim checker.
    "pretrained": {
        "hf_model": "smollm2-135m-instruct",
        "task": "tasks.persona.agents",
        "task_opts": {"persona_style": "leading"},
        "classifier": "tasks.persona.mention:label",
        "positive_threshold": 0.0,
        "judge": "tasks.persona.checker:judge",
        "answer_judge": "tasks.persona.checker:answers",
        "model": {
            "hf_train_layers": 4,
            "batchsize": 8,
            "text_truncate": 160,
            "truncate": 160,
            "label_truncate": 32,
            "optimizer": "adam",
            "learningrate": 1e-4,
            "lr_scheduler": "fixed",
        },
        "decoding": {"temperature": 0.7},
        "baseline_steps": 0,
        "train_data": "generations",
        "replay_task": "tasks.chitchat.agents",
        "round_steps": 60,
        "round_lr": 1e-4,
        "prompts": 400,
        "generations_rate": 0.25,
        "eval_provocative": 200,
        "eval_random": 60,
        "ppl_examples": 60,
        "ppl_task": "tasks.chitchat.agents",
    },
    # cringe-compare on the pretrained default, cut to fit about 90 minutes on 2 cores (5 seeds, the grids on the
    # valid split): 20 steps of 4 examples a round (every method 40), 64 prompts, 80 provocative and 16 random
    # held-out contexts.
    "pretrained_compare": {},
    "tiny": {
        "tokenizer": "parlai",
        "model": {
            "n_layers": 1,
            "embedding_size": 16,
            "ffn_size": 32,
            "n_heads": 2,
            "dict_tokenizer": "split",
            "batchsize": 16,
            "optimizer": "adam",
            "learningrate": 1e-2,
            "lr_scheduler": "fixed",
            "text_truncate": 32,
            "label_truncate": 16,
            "truncate": 32,
            "dict_maxexs": 2000,
        },
        "task_opts": {"chitchat_max_examples": 400, "chitchat_neg_oversample": 5},
        "baseline_steps": 10,
        "round_steps": 5,
        "prompts": 40,
        "eval_provocative": 20,
        "eval_random": 20,
        "ppl_examples": 50,
    },
}


PRESETS["pretrained_compare"] = {
    **PRESETS["pretrained"],
    "model": {**PRESETS["pretrained"]["model"], "batchsize": 4},
    "round_steps": 20,
    "prompts": 64,
    "eval_provocative": 80,
    "eval_random": 16,
    "ppl_examples": 16,
}


def _key_values(items: list[str], flag: str) -> dict[str, Any]:
    """Parse ``key=value`` pairs; values are Python literals where they parse, else strings."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"{flag} expects key=value, got {item!r}")
        try:
            out[key.replace("-", "_")] = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            out[key.replace("-", "_")] = raw
    return out


def _bool(text: str) -> bool:
    value = text.strip().lower()
    if value not in ("1", "true", "yes", "0", "false", "no"):
        raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")
    return value in ("1", "true", "yes")


def build_parser(prog: str = "cringe-loop", description: str | None = __doc__) -> argparse.ArgumentParser:
    """One flag per :class:`LoopConfig` field (help line and default from the field), plus the dict options."""
    parser = argparse.ArgumentParser(
        prog=prog, description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--run-dir", required=True, type=Path, help="where the run lives (created or resumed)")
    parser.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default="demo",
        help="named configuration the flags below override (default: demo = the defaults shown)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes that generate and label in parallel; the output equals one process's (default: 1)",
    )
    defaults = LoopConfig()
    for f in dataclasses.fields(LoopConfig):
        value = getattr(defaults, f.name)
        if isinstance(value, dict):
            continue
        flag = f"--{f.name.replace('_', '-')}"
        flags = ("--model", flag) if f.name == "hf_model" else (flag,)
        help_text = f.metadata["help"]
        if "(default:" not in help_text:
            help_text += f" (default: {value})"
        if isinstance(value, bool):
            parser.add_argument(flag, type=_bool, default=None, metavar="BOOL", help=help_text)
            continue
        kind = f.metadata.get("type") or (type(value) if value is not None else str)
        parser.add_argument(
            *flags, dest=f.name, type=kind, default=None, choices=f.metadata.get("choices"), help=help_text
        )
    dict_flags = [
        ("--task-opt", "task_opts"),
        ("--model-opt", "model"),
        ("--decoding-opt", "decoding"),
        ("--method-opt", "method_opts"),
    ]
    for flag, name in dict_flags:
        default = ", ".join(f"{k}={v}" for k, v in getattr(defaults, name).items())
        help_text = f"{LoopConfig.__dataclass_fields__[name].metadata['help']}, repeatable (default: {default})"
        parser.add_argument(flag, action="append", default=[], metavar="KEY=VALUE", help=help_text)
    return parser


def config_from_args(args: argparse.Namespace) -> LoopConfig:
    """The preset, then the flags given, as a :class:`LoopConfig`."""
    cfg = LoopConfig()
    preset = PRESETS[args.preset]
    if preset.get("task", cfg.task) != cfg.task:
        cfg.task_opts = {}  # the default task options belong to the default task (chit-chat)
    for key, value in preset.items():
        replace = key == "model" and "hf_model" in preset  # a pretrained model has none of the tiny one's options
        merge = isinstance(value, dict) and not replace
        setattr(cfg, key, {**getattr(cfg, key), **value} if merge else (dict(value) if replace else value))
    if args.hf_model is not None and "hf_model" not in preset:
        cfg.model = {}  # the tiny transformer's options do not apply to a pretrained model
    if args.task is not None and args.task != cfg.task:
        cfg.task_opts = {}  # the default and preset task options belong to the default task (chit-chat)
    for f in dataclasses.fields(LoopConfig):
        value = getattr(args, f.name, None)
        if value is not None:
            setattr(cfg, f.name, value)
    cfg.task_opts.update(_key_values(args.task_opt, "--task-opt"))
    cfg.model.update(_key_values(args.model_opt, "--model-opt"))
    cfg.decoding.update(_key_values(args.decoding_opt, "--decoding-opt"))
    cfg.method_opts.update(_key_values(args.method_opt, "--method-opt"))
    return cfg


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s | %(message)s")
    from cringe_agent.iterative.loop import Loop
    from cringe_agent.iterative.report import table, to_markdown

    cfg = config_from_args(args)
    start = time.time()
    try:
        if args.workers < 1:
            raise ValueError(f"--workers must be an integer >= 1, got {args.workers}")
        report = Loop(cfg, args.run_dir, workers=args.workers).run()
    except ValueError as err:
        print(f"cringe-loop: error: {err}", file=sys.stderr)
        return 2
    print()
    print(to_markdown(table(report["rounds"])))
    steps = sum(sum(m["seconds"].values()) for m in report["rounds"])
    print(f"run directory: {args.run_dir}  (report.json, report.md, report.csv, report.png)")
    print(f"wall time of this invocation: {time.time() - start:.0f} s; of all steps of the run: {steps:.0f} s")
    print(json.dumps({m["method"]: round(m["flagged_rate"], 4) for m in report["rounds"]}))
    return 0


COMPARE_DOC = """``cringe-compare``: the paper's comparison (MLE, unlikelihood single and iterative, sigmoid-only,
reranker, Director, CRINGE single and iterative) on the same data, fine-tuning budget, decoding and seeds, each
method's values chosen on the valid split, every method paired with iterative CRINGE context by context.

    cringe-compare --run-dir runs/persona --preset persona --classifier parlai+context:PATH   # 5 seeds (README)
    cringe-compare --run-dir runs/x --seeds 0 --methods unlikelihood,cringe --tune false

The loop flags below set what every method shares (--rounds x --round-steps: every method's fine-tuning steps).
Run the same command again after a kill: finished steps are read back; a larger --seeds list adds seeds.
"""

PAPER_POINTS = {"safety": "PAPER_SAFE_GENERATION", "contradiction": "PAPER_CONTRADICTION", "none": None}


def _int_list(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def compare_main(argv: list[str] | None = None) -> int:
    """``cringe-compare``: run (or resume) a comparison and print its table."""
    from cringe_agent.iterative.compare import DEFAULT_METHODS

    parser = build_parser("cringe-compare", COMPARE_DOC)
    parser.add_argument(
        "--seeds", type=_int_list, default=[0, 1, 2, 3, 4], help="comma-separated seeds (default: 0,1,2,3,4)"
    )
    parser.add_argument(
        "--methods",
        default=",".join(DEFAULT_METHODS),
        help=f"comma-separated methods (default: {','.join(DEFAULT_METHODS)})",
    )
    parser.add_argument(
        "--ablations", type=_bool, default=False, metavar="BOOL", help="also CRINGE k in {1,5} (default: false)"
    )
    parser.add_argument(
        "--tune",
        type=_bool,
        default=True,
        metavar="BOOL",
        help="choose each method's values on the valid split with the same grid size (cringe_agent/iterative/"
        "tuning.py); false: every method uses the flags' values (default: true)",
    )
    parser.add_argument(
        "--tune-seed", type=int, default=None, help="the seed whose baseline the grid fine-tunes (default: the first)"
    )
    parser.add_argument(
        "--paper", choices=sorted(PAPER_POINTS), default="safety", help="the paper's points in the plot's second panel"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s | %(message)s")
    from cringe_agent.iterative import compare_report
    from cringe_agent.iterative.compare import Comparison

    cfg = config_from_args(args)
    paper = getattr(compare_report, PAPER_POINTS[args.paper]) if PAPER_POINTS[args.paper] else None
    methods = [m.strip() for m in args.methods.split(",")]
    start = time.time()
    try:
        comparison = Comparison(
            cfg, args.run_dir, args.seeds, methods, args.ablations, paper, tune=args.tune, tune_seed=args.tune_seed
        )
        rows = comparison.run()
    except ValueError as err:
        print(f"cringe-compare: error: {err}", file=sys.stderr)
        return 2
    print()
    if rows:
        paired = compare_report.read_paired(args.run_dir)
        print(compare_report.to_markdown(compare_report.aggregate(rows), paper=paper, paired=paired))
    print(f"run directory: {args.run_dir}  (comparison.json, comparison.md, comparison.csv, comparison.png)")
    print(f"wall time of this invocation: {time.time() - start:.0f} s")
    if comparison.busy:
        print(f"incomplete: running in other processes: {', '.join(comparison.busy)}; run again when they finish")
        return 3
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
