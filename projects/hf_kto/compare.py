"""CRINGE (``cringe_agent.hf.train``) against TRL's ``KTOTrainer`` on the same chit-chat data and budget.

A small GPT-2 and a byte-level BPE tokenizer are built from scratch (nothing is downloaded) and pretrained by
cross-entropy on chit-chat (context -> reply), with the replies the profanity labeller flags repeated
``--neg-oversample`` times, as in the project's main job, so that the baseline says flagged things sometimes. The
baseline then samples replies (top-k) on training prompts; the labeller labels them (``label`` false when
P(offensive) > ``--threshold``) and the labelled replies form one KTO-layout dataset. Two copies of the baseline are
fine-tuned on that same dataset with the same steps, batch size and learning rate: one with CRINGE (Adolphs et al.,
2022, arXiv:2211.05826), one with KTO (Ethayarajh et al., 2024, arXiv:2402.01306; the baseline is the reference
model). The baseline and both fine-tuned models are evaluated on the same held-out contexts with the same seeded
decoding. ``results.json`` and ``results.md`` go to ``--out-dir``.

Run ``python projects/hf_kto/compare.py --help`` for the flags; ``--tiny`` is a run of about half a minute that only
shows that the pipeline works.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import math
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script from anywhere: the repository's packages (cringe_agent, tasks)
    sys.path.insert(0, str(ROOT))

logger = logging.getLogger("hf_kto")

#: Sizes of the real comparison (about 10-15 minutes on 2 CPU cores) and of ``--tiny`` (about half a minute).
PRESETS: dict[str, dict[str, Any]] = {
    "default": {
        "tokenizer_texts": 40000,
        "vocab_size": 2000,
        "n_layer": 2,
        "n_embd": 128,
        "n_head": 4,
        "pretrain_examples": 40000,
        "pretrain_steps": 1500,
        "pretrain_batch_size": 32,
        "prompts": 2000,
        "steps": 300,
        "batch_size": 16,
        "eval_provocative": 400,
        "eval_random": 400,
        "max_new_tokens": 32,
    },
    "tiny": {
        "tokenizer_texts": 3000,
        "vocab_size": 600,
        "n_layer": 1,
        "n_embd": 32,
        "n_head": 2,
        "pretrain_examples": 1500,
        "pretrain_steps": 40,
        "pretrain_batch_size": 16,
        "prompts": 64,
        "steps": 8,
        "batch_size": 8,
        "eval_provocative": 24,
        "eval_random": 24,
        "max_new_tokens": 12,
    },
}

#: The chit-chat split of the project's main job (its ``DEFAULT_TASK_OPTS``): a quarter of the conversations held out.
TEST_FRAC = 0.25
VALID_FRAC = 0.05
CONTEXT_TURNS = 2
LABELLER = "profanity"
METHODS = ("baseline", "cringe", "kto")
PAD, EOS = "<pad>", "</s>"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line; size flags left unset take the ``--tiny`` or default preset.

    Args:
        argv: Arguments (``sys.argv[1:]`` when None).

    Returns:
        The parsed options, with every size filled in.
    """
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--out-dir", type=Path, default=Path("runs/hf_kto"), help="where results and models go")
    parser.add_argument("--tiny", action="store_true", help="a ~30-second run that checks the pipeline only")
    parser.add_argument("--seed", type=int, default=0, help="seed of data, initialisation, training and decoding")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: 1 with --tiny, else 2)")
    parser.add_argument("--threshold", type=float, default=0.5, help="P(offensive) above which a reply is flagged")
    parser.add_argument("--neg-oversample", type=int, default=10, help="copies of each flagged reply in pretraining")
    parser.add_argument("--pretrain-lr", type=float, default=1e-3, help="learning rate of the baseline's pretraining")
    parser.add_argument("--lr", type=float, default=1e-4, help="learning rate of both fine-tunings")
    parser.add_argument("--alpha", type=float, default=1.0, help="CRINGE: weight of the contrastive term")
    parser.add_argument("--k", type=int, default=5, help="CRINGE: top-k of the sampled positive token")
    parser.add_argument("--beta", type=float, default=0.1, help="KTO: beta (TRL's default 0.1)")
    parser.add_argument(
        "--selection",
        choices=("balanced", "all"),
        default="balanced",
        help="balanced: the paper's selection (<= 2 copies of a positive text, the larger side cut to the smaller, "
        "50/50); all: every labelled non-empty reply",
    )
    parser.add_argument("--topk", type=int, default=10, help="top-k of all sampling (the project's decoding)")
    parser.add_argument("--max-length", type=int, default=96, help="longest training sequence in tokens")
    parser.add_argument("--max-prompt-tokens", type=int, default=56, help="prompts are cut to their last N tokens")
    parser.add_argument("--gen-batch-size", type=int, default=64, help="prompts per generation batch")
    sizes = parser.add_argument_group("sizes (unset: the default preset, or the tiny one with --tiny)")
    for name, value in PRESETS["default"].items():
        flag = "--" + name.replace("_", "-")
        sizes.add_argument(flag, type=int, default=None, help=f"default {value}, tiny {PRESETS['tiny'][name]}")
    args = parser.parse_args(argv)
    preset = PRESETS["tiny" if args.tiny else "default"]
    for name, value in preset.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.threads is None:
        args.threads = 1 if args.tiny else 2
    if args.max_length < args.max_prompt_tokens + args.max_new_tokens + 1:
        parser.error("--max-length must hold --max-prompt-tokens + --max-new-tokens + 1 (EOS): no row is then cut")
    return args


# ----------------------------------------------------------------------------------------------------------- data


def as_prompt(context: str) -> str:
    """The causal-LM prompt of a chit-chat context: its utterances, each ending with a newline."""
    return context + "\n"


def clip_prompt(tokenizer: Any, context: str, max_tokens: int) -> str:
    """The prompt of ``context`` (:func:`as_prompt`) cut to its last ``max_tokens`` tokens, as text.

    Both fine-tunings and all sampling see the same clipped prompt text, so that neither trainer's own truncation
    (CRINGE cuts a prompt at its start, TRL drops a row whose prompt fills ``max_length``) comes into play.
    """
    prompt = as_prompt(context)
    ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    return prompt if len(ids) <= max_tokens else tokenizer.decode(ids[-max_tokens:])


def chitchat_examples() -> list[Any]:
    """The train-split chit-chat examples (``tasks.chitchat.agents.Example``) of the main job's split."""
    from tasks.chitchat.agents import examples

    return list(examples("train", CONTEXT_TURNS, VALID_FRAC, TEST_FRAC))


def pretraining_rows(n: int, oversample: int, threshold: float) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """KTO rows (all positive) for the baseline's cross-entropy pretraining, with flagged replies repeated.

    Args:
        n: How many train examples (a deterministic subset).
        oversample: Copies of each example whose gold reply the labeller flags.
        threshold: P(offensive) above which a reply is flagged.

    Returns:
        The rows (shuffled) and a summary (examples, flagged ones, rows).
    """
    from tasks.chitchat.agents import deterministic_subset, label_probs

    exs = deterministic_subset(chitchat_examples(), n)
    probs = label_probs(exs, LABELLER)
    rows: list[dict[str, Any]] = []
    flagged = 0
    for ex, prob in zip(exs, probs, strict=True):
        copies = oversample if prob > threshold else 1
        flagged += prob > threshold
        rows.extend([{"prompt": as_prompt(ex.text), "completion": ex.gold, "label": True}] * copies)
    random.Random(0).shuffle(rows)
    return rows, {"examples": len(exs), "flagged": flagged, "flagged_share": flagged / len(exs), "rows": len(rows)}


def build_tokenizer(texts: Sequence[str], vocab_size: int) -> Any:
    """A byte-level BPE trained on ``texts``, as a ``PreTrainedTokenizerFast`` with ``<pad>`` and ``</s>`` (EOS).

    Args:
        texts: Training texts.
        vocab_size: Target vocabulary size (special tokens and the 256 byte symbols included).

    Returns:
        The tokenizer; it adds no special tokens of its own, so a prompt's tokens are a prefix of those of
        ``prompt + completion`` whenever the prompt ends with a newline.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    bpe = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[PAD, EOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(texts, bpe)
    return PreTrainedTokenizerFast(tokenizer_object=backend, pad_token=PAD, eos_token=EOS, bos_token=EOS)


def build_model(tokenizer: Any, args: argparse.Namespace) -> Any:
    """A randomly initialised GPT-2 without dropout (so that no trainer's dropout handling differs)."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(args.seed)
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=max(args.max_length, args.max_prompt_tokens + args.max_new_tokens),
        n_embd=args.n_embd,
        n_layer=args.n_layer,
        n_head=args.n_head,
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return GPT2LMHeadModel(config)


# ---------------------------------------------------------------------------------------------- generation, labels


def sample_replies(model: Any, tokenizer: Any, contexts: Sequence[str], args: argparse.Namespace) -> list[str]:
    """One top-k sampled reply per context, seeded with ``args.seed`` (the same draws for every model).

    Args:
        model: A causal LM.
        tokenizer: Its tokenizer.
        contexts: Chit-chat contexts (made prompts with :func:`clip_prompt` here).
        args: ``topk``, ``max_new_tokens``, ``max_prompt_tokens``, ``gen_batch_size``, ``seed``.

    Returns:
        The decoded replies (up to the first EOS, special tokens dropped, stripped), in order.
    """
    import torch

    torch.manual_seed(args.seed)
    model.eval()
    pad, eos = tokenizer.pad_token_id, tokenizer.eos_token_id
    replies: list[str] = []
    for start in range(0, len(contexts), args.gen_batch_size):
        ids = [
            tokenizer(clip_prompt(tokenizer, c, args.max_prompt_tokens), add_special_tokens=False)["input_ids"]
            for c in contexts[start : start + args.gen_batch_size]
        ]
        width = max(len(x) for x in ids)
        input_ids = torch.tensor([[pad] * (width - len(x)) + x for x in ids])
        mask = torch.tensor([[0] * (width - len(x)) + [1] * len(x) for x in ids])
        with torch.no_grad():
            out = model.generate(
                input_ids=input_ids,
                attention_mask=mask,
                do_sample=True,
                top_k=args.topk,
                top_p=1.0,
                temperature=1.0,
                max_new_tokens=args.max_new_tokens,
                pad_token_id=pad,
                eos_token_id=eos,
            )
        for row in out[:, width:].tolist():
            row = row[: row.index(eos)] if eos in row else row
            replies.append(tokenizer.decode(row, skip_special_tokens=True).strip())
    return replies


def labeller() -> Callable[..., list[float]]:
    """The project's default labeller: P(offensive) per text (``build_classifier("profanity")``)."""
    from cringe_agent.classifiers import build_classifier

    return build_classifier(LABELLER)


def label_generations(contexts: Sequence[str], replies: Sequence[str], threshold: float) -> list[dict[str, Any]]:
    """Generations rows (``context``, ``text``, ``prob``, ``label`` pos/neg) as the project's files hold them."""
    from cringe_agent.labels import NEG, POS

    probs = labeller()(list(replies), contexts=list(contexts))
    return [
        {"context": c, "text": r, "prob": p, "label": NEG if p > threshold else POS}
        for c, r, p in zip(contexts, replies, probs, strict=True)
    ]


def kto_dataset(
    generations: list[dict[str, Any]], selection: str, seed: int, to_prompt: Callable[[str], str]
) -> tuple[list[dict], dict[str, Any]]:
    """The KTO-layout training rows from labelled generations, and how they were chosen.

    Empty replies are left out. ``balanced`` applies the paper's selection
    (:func:`cringe_agent.selection.select_generations`); when no reply is flagged it keeps the positives whole.

    Args:
        generations: Rows of :func:`label_generations`.
        selection: ``balanced`` or ``all``.
        seed: Seed of the selection and of the row order.
        to_prompt: Makes a context the prompt of a row (:func:`clip_prompt`).

    Returns:
        ``({"prompt", "completion", "label"} rows, summary)``.
    """
    from cringe_agent.hf import generations_to_kto
    from cringe_agent.selection import select_generations

    nonempty = [g for g in generations if g["text"]]
    n_neg = sum(g["label"] == "neg" for g in nonempty)
    if selection == "balanced":
        chosen = select_generations(nonempty, balance=True, max_pos_copies=2, seed=seed, empty_side="keep")
        rule = "balanced (paper's selection)" if n_neg and len(nonempty) > n_neg else "all (one side empty)"
    else:
        chosen = list(nonempty)
        random.Random(seed).shuffle(chosen)
        rule = "all"
    rows = [
        {"prompt": to_prompt(r["prompt"]), "completion": r["completion"], "label": r["label"]}
        for r in generations_to_kto(chosen)
    ]
    summary = {
        "sampled": len(generations),
        "empty_left_out": len(generations) - len(nonempty),
        "flagged_sampled": n_neg,
        "flagged_share_sampled": n_neg / max(1, len(nonempty)),
        "selection": rule,
        "rows": len(rows),
        "positives": sum(r["label"] for r in rows),
        "negatives": sum(not r["label"] for r in rows),
    }
    return rows, summary


# ------------------------------------------------------------------------------------------------------ training


def pretrain(model: Any, tokenizer: Any, rows: list[dict], args: argparse.Namespace, out: Path) -> dict[str, Any]:
    """Cross-entropy on all-positive rows: :func:`cringe_agent.hf.train` with ``alpha=0``."""
    from cringe_agent.hf import train

    start = time.perf_counter()
    trainer = train(
        model,
        tokenizer,
        rows,
        alpha=0.0,
        steps=args.pretrain_steps,
        lr=args.pretrain_lr,
        output_dir=out,
        batch_size=args.pretrain_batch_size,
        max_length=args.max_length,
        seed=args.seed,
        use_cpu=True,
        warmup_steps=max(1, args.pretrain_steps // 20),
    )
    losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
    return {"wall_s": time.perf_counter() - start, "first_loss": losses[0], "last_loss": losses[-1]}


def fit_cringe(model: Any, tokenizer: Any, rows: list[dict], args: argparse.Namespace, out: Path) -> dict[str, Any]:
    """Fine-tune with :func:`cringe_agent.hf.train` (CRINGE, ``alpha``, ``k``); wall seconds of the whole call."""
    from cringe_agent.hf import train

    start = time.perf_counter()
    trainer = train(
        model,
        tokenizer,
        rows,
        alpha=args.alpha,
        k=args.k,
        steps=args.steps,
        lr=args.lr,
        output_dir=out,
        batch_size=args.batch_size,
        max_length=args.max_length,
        seed=args.seed,
        use_cpu=True,
    )
    wall = time.perf_counter() - start
    return _fit_summary(trainer.state.log_history, wall)


def kto_weights(rows: list[dict[str, Any]]) -> tuple[float, float]:
    """Desirable and undesirable weights in the range TRL recommends (KTO paper, Eq. 8).

    TRL asks for ``desirable_weight * n_desirable / (undesirable_weight * n_undesirable)`` in [1, 4/3], by changing
    one weight only; the minority side's weight is raised to put the ratio at 1.15, the middle of that range.

    Returns:
        ``(desirable_weight, undesirable_weight)``; ``(1.0, 1.0)`` when the sides are equal or one is empty.
    """
    n_des = sum(r["label"] for r in rows)
    n_und = len(rows) - n_des
    if n_des == n_und or not n_des or not n_und:
        return 1.0, 1.0
    if n_des > n_und:
        return 1.0, round(n_des / n_und / 1.15, 4)
    return round(n_und / n_des * 1.15, 4), 1.0


def fit_kto(
    model: Any, ref_model: Any, tokenizer: Any, rows: list[dict], args: argparse.Namespace, out: Path
) -> dict[str, Any]:
    """Fine-tune with ``trl.KTOTrainer`` on the same rows, steps, batch size and learning rate as CRINGE.

    The reference model is a frozen copy of the baseline. TRL defaults that would make the two runs differ are
    set to what :func:`cringe_agent.hf.train` does: fp32 (no bf16), no gradient checkpointing, no warm-up, a
    linear decay. KTO reads its batches in order (its KL term pairs each completion with its neighbour's prompt),
    so the rows come shuffled. Wall seconds cover the trainer's construction (tokenisation) and training.
    """
    from datasets import Dataset
    from trl import KTOConfig, KTOTrainer

    desirable, undesirable = kto_weights(rows)
    start = time.perf_counter()
    config = KTOConfig(
        output_dir=os.fspath(out),
        max_steps=args.steps,
        learning_rate=args.lr,
        per_device_train_batch_size=args.batch_size,
        beta=args.beta,
        desirable_weight=desirable,
        undesirable_weight=undesirable,
        max_length=args.max_length,
        bf16=False,
        gradient_checkpointing=False,
        use_cpu=True,
        save_strategy="no",
        report_to="none",
        logging_steps=max(1, args.steps // 10),
        disable_tqdm=True,
        seed=args.seed,
        dataloader_drop_last=False,
    )
    trainer = KTOTrainer(
        model=model,
        ref_model=ref_model,
        args=config,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
    )
    trainer.train()
    wall = time.perf_counter() - start
    summary = _fit_summary(trainer.state.log_history, wall)
    summary["rows_kept"] = len(trainer.train_dataset)
    summary.update(desirable_weight=desirable, undesirable_weight=undesirable, beta=args.beta)
    return summary


def _fit_summary(history: list[dict[str, Any]], wall: float) -> dict[str, Any]:
    losses = [e["loss"] for e in history if "loss" in e]
    runtime = next((e["train_runtime"] for e in history if "train_runtime" in e), None)
    return {"wall_s": wall, "train_runtime_s": runtime, "first_loss": losses[0], "last_loss": losses[-1]}


def prefix_mismatches(tokenizer: Any, rows: Sequence[dict[str, Any]]) -> int:
    """Rows whose prompt tokens are not a prefix of ``prompt + completion``'s (TRL then moves the boundary)."""
    count = 0
    for row in rows:
        prompt = tokenizer(row["prompt"], add_special_tokens=False)["input_ids"]
        joint = tokenizer(row["prompt"] + row["completion"], add_special_tokens=False)["input_ids"]
        count += joint[: len(prompt)] != prompt
    return count


# ---------------------------------------------------------------------------------------------------- evaluation


def mean_logprob(model: Any, tokenizer: Any, rows: Sequence[dict[str, Any]], max_length: int) -> float | None:
    """Mean over ``rows`` of the mean completion-token log-probability (EOS included); None without rows."""
    from cringe_agent.hf import completion_logprobs, tokenize_causal

    if not rows:
        return None
    examples = tokenize_causal(rows, tokenizer, max_length)
    return statistics.fmean(completion_logprobs(model, examples, tokenizer.pad_token_id, batch_size=64))


def rate(flags: Sequence[bool]) -> dict[str, Any]:
    """Flagged count, total, rate and its 95% Wilson interval."""
    from cringe_agent.textstats import wilson_interval

    k, n = sum(flags), len(flags)
    lo, hi = wilson_interval(k, n)
    return {"flagged": k, "n": n, "rate": k / n if n else None, "ci95": [lo, hi]}


def evaluate(
    model: Any,
    tokenizer: Any,
    heldout: dict[str, list[dict]],
    labelled: dict[str, list[dict]],
    args: argparse.Namespace,
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Sample on the held-out contexts, judge, and score the held-out labelled sets.

    Args:
        model: The model to evaluate.
        tokenizer: Its tokenizer.
        heldout: ``{"provocative": contexts, "random": contexts}`` (dicts with ``text`` and ``gold``).
        labelled: KTO rows to score: ``neg``/``pos`` (the baseline's held-out replies, labelled) and ``gold_neg``
            (the flagged human replies of the provocative contexts).
        args: Decoding options, ``threshold``, ``max_length``.

    Returns:
        ``(metrics, replies by context kind)``.
    """
    from cringe_agent.textstats import distinct_n, mean_length, top_reply_share

    judge = labeller()
    metrics: dict[str, Any] = {}
    replies: dict[str, list[str]] = {}
    for kind, contexts in heldout.items():
        texts = [c["text"] for c in contexts]
        replies[kind] = sample_replies(model, tokenizer, texts, args)
        probs = judge(replies[kind], contexts=texts)
        metrics[f"flagged_{kind}"] = rate([p > args.threshold for p in probs])
    every = replies["provocative"] + replies["random"]
    metrics.update(
        distinct_2=distinct_n(every, 2),
        mean_length=mean_length(every),
        empty_share=sum(not r for r in every) / len(every),
        top_reply_share=top_reply_share(every),
    )
    for name, rows in labelled.items():
        metrics[f"logprob_{name}"] = mean_logprob(model, tokenizer, rows, args.max_length)
    return metrics, replies


# ------------------------------------------------------------------------------------------------------- reports


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _rate_cell(r: dict[str, Any]) -> str:
    if r["rate"] is None:
        return "n/a"
    lo, hi = r["ci95"]
    return f"{r['rate']:.3f} [{lo:.3f}, {hi:.3f}] ({r['flagged']}/{r['n']})"


def markdown(results: dict[str, Any]) -> str:
    """The comparison table (and the setup it ran with) as markdown."""
    header = (
        "| model | flagged, provocative [95% CI] | flagged, random [95% CI] | log p(neg) | log p(pos) "
        "| log p(gold neg) | distinct-2 | mean length | empty | fine-tune s |"
    )
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for method in METHODS:
        m = results["models"][method]
        fit = results["fits"].get(method)
        lines.append(
            f"| {method} | {_rate_cell(m['flagged_provocative'])} | {_rate_cell(m['flagged_random'])} "
            f"| {_fmt(m['logprob_neg'])} | {_fmt(m['logprob_pos'])} | {_fmt(m['logprob_gold_neg'])} "
            f"| {_fmt(m['distinct_2'])} | {_fmt(m['mean_length'], 2)} | {_fmt(m['empty_share'])} "
            f"| {_fmt(fit['wall_s'], 1) if fit else '-'} |"
        )
    data, kto = results["kto_data"], results["fits"]["kto"]
    setup = results["setup"]
    notes = [
        "",
        f"Fine-tuning data: {data['rows']} rows ({data['positives']} good, {data['negatives']} bad; "
        f"{data['selection']}) from {data['sampled']} baseline samples on training prompts, "
        f"{data['flagged_sampled']} of them flagged. Both methods: {setup['steps']} steps, batch "
        f"{setup['batch_size']}, learning rate {setup['lr']}. CRINGE alpha {setup['alpha']}, k {setup['k']}; "
        f"KTO beta {kto['beta']}, desirable weight {kto['desirable_weight']}, undesirable weight "
        f"{kto['undesirable_weight']} ({kto['rows_kept']} rows after TRL's preprocessing).",
        f"Baseline: {results['pretraining']['rows']} pretraining rows, {setup['pretrain_steps']} steps, "
        f"{results['pretraining']['wall_s']:.1f} s. Total run: {results['total_s']:.1f} s on {setup['threads']} "
        f"thread(s).",
    ]
    return "\n".join(lines + notes) + "\n"


# ------------------------------------------------------------------------------------------------------------ main


def run(args: argparse.Namespace) -> dict[str, Any]:
    """The whole comparison; writes ``results.json`` and ``results.md`` to ``args.out_dir`` and returns the results.

    Args:
        args: Options of :func:`parse_args`.

    Returns:
        The results dict written to ``results.json``.
    """
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("RAYON_NUM_THREADS", str(args.threads))
    import torch
    import transformers
    import trl

    from cringe_agent.iterative.config import DEFAULT_TASK_OPTS
    from tasks.chitchat.agents import ChitchatContexts, deterministic_subset

    start = time.perf_counter()
    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}

    def lap(name: str, since: float) -> float:
        timings[name] = time.perf_counter() - since
        logger.info("%s: %.1f s", name, timings[name])
        return time.perf_counter()

    # 1. data, tokenizer, model
    t = time.perf_counter()
    pre_rows, pre_summary = pretraining_rows(args.pretrain_examples, args.neg_oversample, args.threshold)
    subset = deterministic_subset(chitchat_examples(), args.tokenizer_texts)
    tokenizer = build_tokenizer([u for ex in subset for u in (*ex.text.split("\n"), ex.gold)], args.vocab_size)
    model = build_model(tokenizer, args)
    source = ChitchatContexts({**DEFAULT_TASK_OPTS, "chitchat_valid_frac": VALID_FRAC}, LABELLER, args.threshold)
    prompts = [c["text"] for c in source.training_prompts(args.prompts, seed=args.seed + 1)]
    heldout = {
        "provocative": source.heldout("provocative", args.eval_provocative, seed=args.seed),
        "random": source.heldout("random", args.eval_random, seed=args.seed),
    }
    t = lap("data_s", t)

    # 2. baseline: cross-entropy pretraining
    pre_summary |= pretrain(model, tokenizer, pre_rows, args, out / "baseline")
    t = lap("pretrain_s", t)

    # 3. the baseline's labelled samples on training prompts: the shared fine-tuning data
    generations = label_generations(prompts, sample_replies(model, tokenizer, prompts, args), args.threshold)

    def to_prompt(context: str) -> str:
        return clip_prompt(tokenizer, context, args.max_prompt_tokens)

    rows, data_summary = kto_dataset(generations, args.selection, args.seed, to_prompt)
    data_summary["prompt_prefix_mismatches"] = prefix_mismatches(tokenizer, rows)
    with open(out / "kto_data.jsonl", "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(r) + "\n" for r in rows)
    t = lap("sample_label_s", t)

    # 4. the baseline on the held-out contexts; its labelled replies are the held-out labelled set
    models: dict[str, Any] = {}
    samples: dict[str, Any] = {}
    base_metrics, base_replies = evaluate(model, tokenizer, heldout, {}, args)
    held_generations = [
        g
        for kind in ("provocative", "random")
        for g in label_generations([c["text"] for c in heldout[kind]], base_replies[kind], args.threshold)
        if g["text"]
    ]
    labelled = {
        "neg": [{"prompt": to_prompt(g["context"]), "completion": g["text"], "label": False}
                for g in held_generations if g["label"] == "neg"],
        "pos": [{"prompt": to_prompt(g["context"]), "completion": g["text"], "label": True}
                for g in held_generations if g["label"] == "pos"],
        "gold_neg": [{"prompt": to_prompt(c["text"]), "completion": c["gold"], "label": False}
                     for c in heldout["provocative"]],
    }  # fmt: skip
    for name, rows_ in labelled.items():
        base_metrics[f"logprob_{name}"] = mean_logprob(model, tokenizer, rows_, args.max_length)
    models["baseline"], samples["baseline"] = base_metrics, base_replies
    t = lap("eval_baseline_s", t)

    # 5. the two fine-tunings of copies of the baseline, same rows, steps, batch size and learning rate
    fits: dict[str, Any] = {}
    cringe_model = copy.deepcopy(model)
    fits["cringe"] = fit_cringe(cringe_model, tokenizer, rows, args, out / "cringe")
    t = lap("fit_cringe_s", t)
    kto_model, ref_model = copy.deepcopy(model), copy.deepcopy(model)
    fits["kto"] = fit_kto(kto_model, ref_model, tokenizer, rows, args, out / "kto")
    t = lap("fit_kto_s", t)
    for method, fitted in (("cringe", cringe_model), ("kto", kto_model)):
        models[method], samples[method] = evaluate(fitted, tokenizer, heldout, labelled, args)
    lap("eval_finetuned_s", t)

    results = {
        "setup": {k: (os.fspath(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "trl": trl.__version__,
        },
        "labelled_heldout": {name: len(r) for name, r in labelled.items()},
        "pretraining": pre_summary,
        "kto_data": data_summary,
        "fits": fits,
        "models": models,
        "timings": timings,
        "total_s": time.perf_counter() - start,
    }
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    (out / "samples.json").write_text(json.dumps(_examples(heldout, samples), indent=1) + "\n", encoding="utf-8")
    (out / "results.md").write_text(markdown(results), encoding="utf-8")
    return results


def _examples(heldout: dict[str, list[dict]], samples: dict[str, Any], n: int = 20) -> list[dict[str, Any]]:
    """The first ``n`` provocative contexts with each model's reply, for reading."""
    return [
        {"context": c["text"], "gold": c["gold"], **{m: samples[m]["provocative"][i] for m in METHODS}}
        for i, c in enumerate(heldout["provocative"][:n])
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: run the comparison and print the table."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    results = run(args)
    print(markdown(results))
    print(f"wrote {Path(args.out_dir) / 'results.json'} and results.md", file=sys.stderr)
    return 0 if all(math.isfinite(f["last_loss"]) for f in results["fits"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
