"""The loop's configuration: one dataclass, saved as ``config.json`` in the run directory.

A run directory belongs to one configuration: resuming with different settings is refused (see :func:`check_run_dir`),
because rounds trained under other settings would silently mix into the new run's results.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cringe_agent.jsonl import write_json_atomic
from cringe_agent.settings import DEFAULTS as CRINGE

#: The model of the embedded default: small enough for a 20-minute CPU run (see README, "The main job").
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
    init_model: str | None = _opt(None, "start from this model file instead of training the MLE baseline")
    model: dict[str, Any] = _opt(DEFAULT_MODEL, "ParlAI model options shared by every round")
    baseline_steps: int = _opt(500, "training steps (batches) of the MLE baseline")
    round_steps: int = _opt(220, "training steps of each CRINGE round (fine-tuned from the previous round)")
    round_lr: float = _opt(1e-3, "learning rate of the CRINGE rounds")
    alpha: float = _opt(CRINGE.alpha, "CRINGE weight of the contrastive term")
    k: int = _opt(CRINGE.k, "CRINGE top-k the positive token is sampled from (paper: 5; authors' code: 1)")
    ce_on_positives: bool = _opt(
        CRINGE.ce_on_positives, "cross-entropy on labelled positives too (else unlabelled only)"
    )
    contrast_positives: bool = _opt(CRINGE.contrast_positives, "also contrast labelled positive tokens (CT loss)")
    detach_positive: bool = _opt(CRINGE.detach_positive, "stop the gradient through the sampled token's score")
    classifier: str = _opt("profanity", "labelling classifier spec (profanity, lexicon, vader, f1, parlai:PATH, m:f)")
    judge: str = _opt("vader", "second, independent judge spec, reported beside the labeller")
    threshold: float = _opt(0.5, "P(negative) above which a reply is flagged")
    prompts: int = _opt(2000, "training prompts generated on per round (r >= 2)")
    eval_provocative: int = _opt(600, "held-out provocative contexts (negative-labelled, or flagged gold reply)")
    eval_random: int = _opt(1000, "held-out random contexts")
    ppl_examples: int = _opt(2000, "valid examples for the positive-label perplexity")
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


def check_run_dir(run_dir: Path, config: LoopConfig) -> None:
    """Create ``run_dir`` with ``config.json``, or check that an existing one was made with the same settings.

    Raises:
        ValueError: The run directory holds a run of a different configuration; the message lists the differences.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / "config.json"
    wanted = json.loads(json.dumps(config.to_dict()))  # normalise tuples etc. as JSON would
    if not path.exists():
        write_json_atomic(path, wanted)
        return
    saved = json.loads(path.read_text())
    diffs = [
        f"{key}: run has {saved.get(key)!r}, asked {wanted.get(key)!r}"
        for key in sorted(set(saved) | set(wanted))
        if saved.get(key) != wanted.get(key)
    ]
    if diffs:
        raise ValueError(
            f"{run_dir} holds a run with a different configuration ({path}); resume it with the same settings, or "
            "use a new --run-dir. Differences:\n  " + "\n  ".join(diffs)
        )
