"""Tiny ParlAI models trained in tests (importable: ``tests/`` is on pytest's ``pythonpath``)."""

from __future__ import annotations

import json
import random
import re
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from parlai.scripts.train_model import TrainModel

CRINGE_AGENT = "cringe_agent.agents.transformer:CringeTransformerGeneratorAgent"
TINY = dict(n_layers=1, n_heads=2, embedding_size=16, ffn_size=32, dict_tokenizer="split", lr_scheduler="fixed")

#: The texts of the shared tiny classifier (the session fixture ``tiny_classifier`` of tests/conftest.py).
POS_TEXTS = ["i love my dog", "what a nice day", "the food was great", "thanks for the help", "have a good night"]
NEG_TEXTS = ["you are a stupid idiot", "shut up you moron", "this is shit", "go to hell", "fuck off"]


THINGS = ["cats", "dogs", "rain", "music", "books", "tea", "snow", "trains", "maps", "bread", "boats", "jazz"]


def line(text: str, label: str, polarity: str) -> str:
    return f"text:{text}\tlabels:{label}\tclassifier_label:{polarity}\tepisode_done:True\n"


def write_pos_neg_task(folder: Path) -> Path:
    """Write train/valid/test files of the labelled tiny task; valid holds positives only, test the negatives only.

    Contexts "tell me about X" have a positive reply "lovely X indeed" and a negative one "awful X honestly";
    contexts "complain about Y" (other things) have the positive reply "awful Y honestly", so every word of the
    negatives is an ordinary, trained word. Returns the ``fromfile_datapath`` base (``<folder>/task``).
    """
    rng = random.Random(0)
    rows = []
    for i, thing in enumerate(THINGS):
        for asker in ["tell me about", "what about", "talk about"]:
            if i % 3:
                rows.append((f"{asker} {thing}", f"lovely {thing} indeed", "pos"))
                rows.append((f"{asker} {thing}", f"awful {thing} honestly", "neg"))
        rows.append((f"complain about {thing}", f"awful {thing} honestly", "pos"))
    rng.shuffle(rows)
    (folder / "task_train.txt").write_text("".join(line(*r) for r in rows))
    (folder / "task_valid.txt").write_text("".join(line(*r) for r in rows if r[2] == "pos"))
    (folder / "task_test.txt").write_text("".join(line(*r) for r in rows if r[2] == "neg"))
    return folder / "task"


def task_texts(base: Path) -> list[str]:
    """Every context and label of the three files :func:`write_pos_neg_task` wrote (for a tokenizer to train on)."""
    texts = []
    for split in ("train", "valid", "test"):
        for row in Path(f"{base}_{split}.txt").read_text().splitlines():
            texts += re.findall(r"(?:text|labels):([^\t]*)", row)
    return texts


def train_cringe_steps(task: str, datapath: str, model_file: str, batchsize: int, steps: int = 3) -> tuple[Any, Any]:
    """Train the CRINGE agent a few steps on ``task``; return ParlAI's (valid, test) reports."""
    return TrainModel.main(
        model=CRINGE_AGENT,
        task=task,
        datapath=datapath,
        model_file=model_file,
        batchsize=batchsize,
        max_train_steps=steps,
        skip_generation=True,
        validation_metric="loss",
        validation_metric_mode="min",
        validation_every_n_steps=100,
        **TINY,
    )


def train_tiny_classifier(
    pos_texts: Sequence[str], neg_texts: Sequence[str], folder: Path, model_file: str, datapath: str
) -> None:
    """A 1-layer ``transformer/classifier`` (classes pos/neg) trained for seconds on the given texts."""
    data = folder / "data.txt"
    lines = [f"text:{t}\tlabels:pos\tepisode_done:True" for t in pos_texts]
    lines += [f"text:{t}\tlabels:neg\tepisode_done:True" for t in neg_texts]
    data.write_text("\n".join(lines * 3) + "\n", encoding="utf-8")
    TrainModel.main(
        task="fromfile:parlaiformat",
        fromfile_datapath=str(data),
        model="transformer/classifier",
        classes=["pos", "neg"],
        model_file=model_file,
        datapath=datapath,
        n_positions=32,
        batchsize=6,
        num_epochs=8,
        learningrate=0.02,
        validation_every_n_epochs=100,
        short_final_eval=True,
        **TINY,
    )


def copy_model(model_file: str | Path, new_model_file: str | Path) -> Path:
    """Copy a trained model's files (model, ``.opt``, ``.dict``) to ``new_model_file``; return the new model file.

    The copy's ``.opt`` names the copy's own files, so it does not depend on the original (a shared, read-only
    artefact) and can be changed or moved freely.
    """
    src, dst = Path(model_file), Path(new_model_file)
    dst.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", ".dict"):
        shutil.copyfile(f"{src}{suffix}", f"{dst}{suffix}")
    opt = json.loads(Path(f"{src}.opt").read_text(encoding="utf-8"))
    opt.update(model_file=str(dst), dict_file=f"{dst}.dict")
    Path(f"{dst}.opt").write_text(json.dumps(opt, indent=4), encoding="utf-8")
    return dst
