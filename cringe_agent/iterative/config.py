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


@dataclass
class LoopConfig:
    """Settings of an iterative CRINGE run.

    Attributes:
        task: ParlAI task the rounds train on; its messages carry ``classifier_label``.
        task_opts: Extra ParlAI options of the task (e.g. ``chitchat_neg_oversample``).
        rounds: CRINGE rounds after the baseline (round 0).
        init_model: Start from this model file instead of training the baseline.
        model: ParlAI model options shared by every round.
        baseline_steps: Training steps (batches) of the MLE baseline.
        round_steps: Training steps of each CRINGE round (fine-tuned from the previous round's model).
        round_lr: Learning rate of the CRINGE rounds.
        alpha: CRINGE weight of the contrastive term.
        k: CRINGE top-k.
        classifier: Labelling classifier spec (:func:`cringe_agent.classifiers.build_classifier`).
        judge: Second, independent judge spec, reported beside the labeller.
        threshold: P(negative) above which a reply is flagged.
        prompts: Training contexts generated on per round (the paper uses the training prompts).
        eval_provocative: Held-out contexts whose gold reply the labeller flags.
        eval_random: Held-out random contexts.
        ppl_examples: Valid examples for the positive-label perplexity.
        decoding: ParlAI decoding options, the same for labelling and evaluation in every round.
        generations_rate: Injected generations per task example in the CRINGE rounds.
        balance: Keep as many positive as negative generations (the paper's 50/50).
        max_pos_copies: Keep an identical positive generation at most this many times (paper: 2).
        seed: Seed of context samples, decoding and selection.
    """

    task: str = "tasks.chitchat.agents"
    task_opts: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_TASK_OPTS))
    rounds: int = 2
    init_model: str | None = None
    model: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_MODEL))
    baseline_steps: int = 500
    round_steps: int = 220
    round_lr: float = 1e-3
    alpha: float = 1.0
    k: int = 5
    classifier: str = "profanity"
    judge: str = "vader"
    threshold: float = 0.5
    prompts: int = 2000
    eval_provocative: int = 600
    eval_random: int = 1000
    ppl_examples: int = 2000
    decoding: dict[str, Any] = field(
        default_factory=lambda: {"inference": "topk", "topk": 10, "beam_size": 1, "beam_block_ngram": 3}
    )
    generations_rate: float = 0.05
    balance: bool = True
    max_pos_copies: int = 2
    seed: int = 0

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
