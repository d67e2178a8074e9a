"""The loop's configuration: one dataclass, saved as ``config.json`` in the run directory.

A run directory belongs to one configuration: resuming with different settings is refused (see :func:`check_run_dir`),
because rounds trained under other settings would silently mix into the new run's results.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from cringe_agent.iterative.methods import METHODS
from cringe_agent.settings import DEFAULTS as CRINGE

#: The model of the embedded default: small enough for a 20-minute CPU run (see README, "The main job"). The
#: ``dict_*`` options apply with ``--tokenizer parlai``; the default byte-level BPE replaces them.
DEFAULT_MODEL: dict[str, Any] = {
    "n_layers": 2,
    "embedding_size": 128,
    "ffn_size": 512,
    "n_heads": 4,
    "n_positions": 128,
    "dict_tokenizer": "bpe",
    "dict_lower": True,
    "dict_maxtokens": 8000,
    "dict_maxexs": 30000,
    "text_truncate": 64,
    "label_truncate": 32,
    "truncate": 64,
    "batchsize": 64,
    "optimizer": "adam",
    "learningrate": 2e-3,
    "lr_scheduler": "fixed",
}

#: The embedded default task: chit-chat with the flagged replies oversampled 10x (an uncurated training mix).
DEFAULT_TASK_OPTS: dict[str, Any] = {"chitchat_neg_oversample": 10, "chitchat_test_frac": 0.25}


def _opt(default: Any, help_text: str, **kwargs: Any) -> Any:
    """A config field with its ``--flag`` help line (see :mod:`cringe_agent.iterative.cli`)."""
    if isinstance(default, dict):
        return field(default_factory=lambda: dict(default), metadata={"help": help_text, **kwargs})
    return field(default=default, metadata={"help": help_text, **kwargs})


#: The decoding of the embedded default, for labelling and evaluation in every round and saved into each model file.
DEFAULT_DECODING: dict[str, Any] = {"inference": "topk", "topk": 10, "beam_size": 1, "beam_block_ngram": 3}


@dataclass
class LoopConfig:
    """Settings of an iterative CRINGE run; each field's help line is its ``cringe-loop --flag`` help."""

    task: str = _opt("tasks.chitchat.agents", "ParlAI task the rounds train on; its messages carry classifier_label")
    prompts_task: str | None = _opt(None, "task whose train split gives the generation prompts (default: --task)")
    eval_task: str | None = _opt(None, "task whose eval split gives the held-out contexts (default: --task)")
    eval_datatype: str = _opt("test", "split of the held-out contexts", choices=("test", "valid"))
    task_opts: dict[str, Any] = _opt(DEFAULT_TASK_OPTS, "extra ParlAI options of the tasks")
    datapath: str | None = _opt(None, "ParlAI data folder (default: <run-dir>/parlai_data)")
    rounds: int = _opt(2, "CRINGE rounds after the baseline: 1 = single iteration, r >= 2 iterates")
    init_model: str | None = _opt(
        None,
        "start from this model file instead of training the MLE baseline (with --model: a model file of the Hugging "
        "Face causal LM agent over that model, e.g. an earlier run's round)",
    )
    hf_model: str | None = _opt(
        None,
        "a pretrained Hugging Face causal LM for every round (a known name such as smollm2-135m-instruct, a folder, "
        "a .gguf file or a hub id); the ParlAI agents are then cringe_agent.agents.hf_causal's, the dictionary the "
        "model's tokenizer, and --model-opt sets their options (e.g. hf_train_layers=4, hf_lora_r=8)",
    )
    model: dict[str, Any] = _opt(DEFAULT_MODEL, "ParlAI model options shared by every round")
    tokenizer: str = _opt(
        "bytelevelbpe",
        "parlai: the dictionary the model options describe; bytelevelbpe: train a byte-level BPE on the task first "
        "(with --init-model, that model's dictionary is kept)",
        choices=("parlai", "bytelevelbpe"),
    )
    tokenizer_vocab: int = _opt(8000, "vocabulary size of the byte-level BPE (with --tokenizer bytelevelbpe)")
    baseline_steps: int = _opt(
        500, "training steps (batches) of the MLE baseline; 0 with --model: round 0 is the pretrained model as is"
    )
    round_steps: int = _opt(220, "training steps of each CRINGE round (fine-tuned from the previous round)")
    round_lr: float = _opt(1e-3, "learning rate of the CRINGE rounds")
    train_data: str = _opt(
        "task",
        "what rounds r >= 1 train on: task = the task's labelled data (plus, r >= 2, the selected generations); "
        "generations = the model's own labelled generations only, from round 1 on",
        choices=("task", "generations"),
    )
    replay_task: str | None = _opt(
        None,
        "a task mixed into every round r >= 1 (ParlAI multitask), e.g. human replies that keep a pretrained model's "
        "language while it learns from its own generations",
    )
    replay_weight: float = _opt(1.0, "multitask weight of --replay-task against the round's own data (weight 1)")
    method: str = _opt(
        "cringe",
        "training method of rounds r >= 1 (cringe_agent/iterative/methods.py; baselines for comparisons)",
        choices=tuple(METHODS),
    )
    method_opts: dict[str, Any] = _opt({}, "extra ParlAI options of the method's agent (e.g. director_gamma=1)")
    rerank_candidates: int = _opt(8, "replies sampled per context by --method reranker")
    evaluate_init: bool = _opt(True, "evaluate round 0 when it is --init-model (false: start the report at round 1)")
    alpha: float = _opt(
        CRINGE.alpha, "weight of the negative term: CRINGE's contrastive term, unlikelihood's, sigmoid-only's"
    )
    k: int = _opt(CRINGE.k, "CRINGE top-k the positive token is sampled from (paper: 5; authors' code: 1)")
    ce_on_positives: bool = _opt(
        CRINGE.ce_on_positives, "cross-entropy on labelled positives too (else unlabelled only)"
    )
    contrast_positives: bool = _opt(CRINGE.contrast_positives, "also contrast labelled positive tokens (CT loss)")
    detach_positive: bool = _opt(CRINGE.detach_positive, "stop the gradient through the sampled token's score")
    classifier: str = _opt("profanity", "labelling classifier spec (profanity, lexicon, vader, f1, parlai:PATH, m:f)")
    judge: str = _opt("vader", "second, independent judge spec, reported beside the labeller")
    answer_judge: str | None = _opt(
        None,
        "a classifier spec whose flag means the reply answers correctly (e.g. tasks.persona.checker:answers); its "
        "rate is reported beside the judge's, so that evasive replies cannot pass for good ones",
    )
    threshold: float = _opt(0.5, "P(negative) above which a reply is flagged")
    positive_threshold: float | None = _opt(
        None,
        "P(negative) at or below which a generation is a positive of the selection (default: every unflagged one); "
        "the generations between it and --threshold are left out of training",
        type=float,
    )
    prompts: int = _opt(2000, "training prompts generated on per round (r >= 2)")
    eval_provocative: int = _opt(600, "held-out provocative contexts (negative-labelled, or flagged gold reply)")
    eval_random: int = _opt(1000, "held-out random contexts")
    ppl_examples: int = _opt(2000, "valid examples for the positive-label perplexity")
    ppl_task: str | None = _opt(None, "task whose valid positives give the perplexity (default: --task, its options)")
    decoding: dict[str, Any] = _opt(DEFAULT_DECODING, "ParlAI decoding options for labelling and evaluation")
    generations_rate: float = _opt(0.05, "injected generations per task example in rounds r >= 2")
    balance: bool = _opt(True, "keep as many positive as negative generations (the paper's 50/50)")
    max_pos_copies: int = _opt(2, "keep an identical positive generation at most this many times (paper: 2)")
    empty_side: str = _opt(
        "skip",
        "when a round's generations have no negatives or no positives: skip adds none, keep adds all",
        choices=("skip", "keep"),
    )
    seed: int = _opt(0, "seed of context samples, decoding, selection and training")

    def to_dict(self) -> dict[str, Any]:
        """The configuration as plain JSON-serialisable data."""
        return dataclasses.asdict(self)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def validate(cfg: LoopConfig) -> None:
    """Check every setting before any work or write; one ValueError lists every problem.

    Raises:
        ValueError: A value out of range, of the wrong type, not finite, or a path that does not exist.
    """
    problems: list[str] = []
    flag = {f.name: "--" + f.name.replace("_", "-") for f in fields(LoopConfig)}
    minimum = {
        "rounds": 0,
        "baseline_steps": 0 if cfg.hf_model else 1,
        "round_steps": 1,
        "k": 1,
        "prompts": 1,
        "eval_provocative": 1,
        "eval_random": 1,
        "ppl_examples": 1,
        "tokenizer_vocab": 260,
        "rerank_candidates": 1,
        "max_pos_copies": 0,
        "seed": 0,
    }
    for name, low in minimum.items():
        value = getattr(cfg, name)
        if not _is_int(value) or value < low:
            problems.append(f"{flag[name]} must be an integer >= {low}, got {value!r}")
    reals = {
        "alpha": (0.0, None, "a finite number >= 0"),
        "round_lr": (0.0, None, "a finite number > 0"),
        "threshold": (0.0, 1.0, "a finite number in [0, 1)"),
        "generations_rate": (0.0, None, "a finite number >= 0"),
        "replay_weight": (0.0, None, "a finite number > 0"),
    }
    for name, (low, high, what) in reals.items():
        value = getattr(cfg, name)
        bad = not _is_real(value) or value < low or (high is not None and value >= high)
        if bad or (name in ("round_lr", "replay_weight") and value == 0):
            problems.append(f"{flag[name]} must be {what}, got {value!r}")
    for f in fields(LoopConfig):
        choices = f.metadata.get("choices")
        if choices and getattr(cfg, f.name) not in choices:
            problems.append(f"{flag[f.name]} must be one of {', '.join(choices)}, got {getattr(cfg, f.name)!r}")
        if isinstance(f.default, bool) and not isinstance(getattr(cfg, f.name), bool):
            problems.append(f"{flag[f.name]} must be true or false, got {getattr(cfg, f.name)!r}")
    low = cfg.positive_threshold
    if low is not None and (not _is_real(low) or not 0 <= low <= (cfg.threshold if _is_real(cfg.threshold) else 1)):
        problems.append(f"--positive-threshold must be a number in [0, --threshold], got {low!r}")
    if cfg.method == "reranker" and _is_int(cfg.rounds) and cfg.rounds > 1:
        problems.append(f"--method reranker trains nothing: use --rounds 1 (got {cfg.rounds})")
    if cfg.evaluate_init is False and not cfg.init_model:
        problems.append("--evaluate-init false needs --init-model (round 0 is otherwise the trained baseline)")
    for name in ("task_opts", "model", "decoding", "method_opts"):
        if not isinstance(getattr(cfg, name), dict):
            problems.append(f"{name} must be a mapping of options, got {type(getattr(cfg, name)).__name__}")
    if cfg.hf_model is not None and (not isinstance(cfg.hf_model, str) or not cfg.hf_model.strip()):
        problems.append(f"--model must be a model name, folder or hub id, got {cfg.hf_model!r}")
    elif cfg.hf_model:
        from cringe_agent.pretrained import PretrainedModelError, check

        try:
            check(cfg.hf_model)
        except PretrainedModelError as err:
            problems.append(f"--model: {err}")
    if cfg.answer_judge is not None and (not isinstance(cfg.answer_judge, str) or not cfg.answer_judge.strip()):
        problems.append(f"--answer-judge must be a classifier spec, got {cfg.answer_judge!r}")
    for name in ("task", "classifier", "judge"):
        if not isinstance(getattr(cfg, name), str) or not getattr(cfg, name).strip():
            problems.append(f"{flag[name]} must be a non-empty string, got {getattr(cfg, name)!r}")
    if cfg.init_model and not cfg.init_model.startswith("zoo:") and not Path(f"{cfg.init_model}.opt").is_file():
        problems.append(f"--init-model {cfg.init_model}: no ParlAI model there (its .opt file is missing)")
    if cfg.datapath and not Path(cfg.datapath).is_dir():
        problems.append(f"--datapath {cfg.datapath}: not a directory")
    if problems:
        raise ValueError("invalid settings (nothing was run or written):\n  " + "\n  ".join(problems))
