"""Train (and measure) the learned labeller of the persona task: a ParlAI ``transformer/classifier`` on context+reply.

The model reads the context and the reply joined by a newline (the teacher's ``context_reply`` classifier input,
the same text the loop's ``parlai+context:PATH`` spec feeds it) and predicts ``pos``/``neg``. Defaults: 2 layers,
128 dimensions, ParlAI's ``re`` tokenizer, lower-cased: a few hundred steps train in about a minute on 2 CPU cores.
The exact checker (:mod:`tasks.persona.checker`) is the reference it is measured against.

    python -m tasks.persona.classifier --model-file runs/persona_classifier/model --steps 600
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Sequence
from typing import Any

from tasks.persona import checker, world

TASK = "tasks.persona.agents"
DEFAULT_STEPS = 600

#: The classifier's model and training options (any may be overridden).
MODEL_OPTS: dict[str, Any] = {
    "model": "transformer/classifier",
    "classes": ["pos", "neg"],
    "n_layers": 2,
    "n_heads": 4,
    "embedding_size": 128,
    "ffn_size": 512,
    "n_positions": 256,
    "truncate": 256,
    "dict_tokenizer": "re",
    "dict_lower": True,
    "batchsize": 32,
    "optimizer": "adam",
    "learningrate": 1e-3,
    "lr_scheduler": "fixed",
    "validation_every_n_epochs": 100,
    "validation_max_exs": 900,
    "validation_metric": "accuracy",
    "validation_metric_mode": "max",
    "short_final_eval": True,
}


def train_classifier(
    model_file: str,
    datapath: str,
    steps: int = DEFAULT_STEPS,
    task_opts: dict[str, Any] | None = None,
    **model_overrides: Any,
) -> dict[str, Any]:
    """Train ``transformer/classifier --classes pos neg`` on the persona task (classifier mode, context+reply).

    Args:
        model_file: Where the model goes (``.opt`` and ``.dict`` beside it); usable as ``parlai+context:PATH``.
        datapath: ParlAI's data folder (nothing is read from it; ParlAI needs one).
        steps: Training steps (batches).
        task_opts: ``persona_*`` options of the world (default: the default world).
        **model_overrides: ParlAI options that replace those of :data:`MODEL_OPTS` (e.g. ``n_layers=1``).

    Returns:
        ParlAI's final valid and test reports, as plain numbers.

    Raises:
        ValueError: ``steps`` is not positive.
    """
    if steps < 1:
        raise ValueError(f"--steps must be >= 1, got {steps}")
    from parlai.scripts.train_model import TrainModel

    from cringe_agent import compat  # noqa: F401  (ParlAI fixes first)

    os.makedirs(os.path.dirname(os.path.abspath(model_file)), exist_ok=True)
    valid, test = TrainModel.main(
        task=TASK,
        cringe_label_mode="classifier",
        cringe_classifier_input="context_reply",
        model_file=model_file,
        datapath=datapath,
        max_train_steps=steps,
        **{**MODEL_OPTS, **(task_opts or {}), **model_overrides},
    )
    return {
        "valid": {k: float(v.value()) for k, v in valid.items() if hasattr(v, "value")},
        "test": {k: float(v.value()) for k, v in test.items() if hasattr(v, "value")},
    }


def agreement(predicted: Sequence[bool], reference: Sequence[bool]) -> dict[str, Any]:
    """Accuracy, and precision/recall of the contradiction class, of predictions against reference flags."""
    if len(predicted) != len(reference):
        raise ValueError(f"got {len(predicted)} predictions for {len(reference)} references")
    tp = sum(p and r for p, r in zip(predicted, reference))
    fp = sum(p and not r for p, r in zip(predicted, reference))
    fn = sum(r and not p for p, r in zip(predicted, reference))
    n = len(reference)
    return {
        "n": n,
        "contradictions": sum(reference),
        "accuracy": sum(p == r for p, r in zip(predicted, reference)) / n if n else float("nan"),
        "neg_precision": tp / (tp + fp) if tp + fp else float("nan"),
        "neg_recall": tp / (tp + fn) if tp + fn else float("nan"),
    }


def measure(
    model_file: str, split: str = "test", threshold: float = 0.5, task_opts: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The classifier against the exact checker on a split's judged replies (the pos/neg mix of the task).

    The checker agrees with the generator's labels on every generated example, so this is the accuracy on the gold
    labels too.
    """
    from cringe_agent.classifiers import build_classifier
    from tasks.persona.agents import world_settings

    exs = world.examples(split, **world_settings(task_opts or {}))
    contexts, replies = [ex.context for ex in exs], [ex.reply for ex in exs]
    probs = build_classifier(f"parlai+context:{model_file}")(replies, contexts=contexts)
    exact = [checker.contradicts(c, r) for c, r in zip(contexts, replies)]
    return {"split": split, **agreement([p > threshold for p in probs], exact)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tasks.persona.classifier", description=__doc__.split("\n")[0])
    parser.add_argument("--model-file", required=True, help="where the classifier goes")
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS, help=f"training steps (default {DEFAULT_STEPS})")
    parser.add_argument("--datapath", default=None, help="ParlAI data folder (default: beside the model file)")
    parser.add_argument(
        "--task-opt", action="append", default=[], metavar="KEY=VALUE", help="persona_* option of the world"
    )
    args = parser.parse_args(argv)
    task_opts = {}
    for item in args.task_opt:
        key, sep, value = item.partition("=")
        if not sep or not key.startswith("persona_"):
            parser.error(f"--task-opt expects persona_KEY=VALUE, got {item!r}")
        task_opts[key] = value
    datapath = args.datapath or os.path.join(os.path.dirname(os.path.abspath(args.model_file)), "parlai_data")
    start = time.time()
    train_classifier(args.model_file, datapath, args.steps, task_opts=task_opts)
    seconds = time.time() - start
    result = {"train_seconds": round(seconds, 1), **measure(args.model_file, "test", task_opts=task_opts)}
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
