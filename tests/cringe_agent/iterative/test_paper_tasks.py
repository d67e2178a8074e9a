"""A tiny loop on each paper-data fixture (safety, DECODE, FITS): rounds as Algorithm 2, contexts from the task."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytest.importorskip("parlai")

from cringe_agent.iterative.cli import PRESETS  # noqa: E402
from cringe_agent.iterative.config import LoopConfig  # noqa: E402
from cringe_agent.iterative.contexts import TeacherContexts  # noqa: E402
from cringe_agent.iterative.loop import Loop  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "parlai_data"
TASKS = ["tasks.safety.agents", "tasks.contradiction.agents", "tasks.feedback.agents"]


def _flag_by_length(texts, contexts=None, golds=None):  # noqa: ANN001, ANN202  (a classifier: texts -> P(neg))
    return [0.9 if len(t) % 2 else 0.1 for t in texts]


@pytest.fixture
def datapath(tmp_path: Path) -> str:
    shutil.copytree(FIXTURES, tmp_path / "data")
    return str(tmp_path / "data")


def _config(task: str, datapath: str) -> LoopConfig:
    tokenizer = "bytelevelbpe" if task == TASKS[0] else "parlai"  # the default byte-level BPE on one of them
    return LoopConfig(
        tokenizer=tokenizer,
        tokenizer_vocab=300,
        task=task,
        task_opts={},
        datapath=datapath,
        model={**PRESETS["tiny"]["model"], "batchsize": 4},
        baseline_steps=4,
        round_steps=2,
        prompts=6,
        eval_provocative=3,
        eval_random=3,
        ppl_examples=4,
        classifier=f"{__name__}:_flag_by_length",
        judge="lexicon",
        empty_side="keep",
    )


@pytest.mark.integration
@pytest.mark.parametrize("task", TASKS)
def test_tiny_loop_on_paper_fixture(task: str, datapath: str, tmp_path: Path) -> None:
    cfg = _config(task, datapath)
    report = Loop(cfg, tmp_path / "run").run()
    methods = [m["method"] for m in report["rounds"]]
    assert methods == ["baseline (MLE)", "CRINGE (single iteration)", "CRINGE (iteration 2)"]
    run = tmp_path / "run"
    assert not (run / "round_1" / "generations.jsonl").exists()  # round 1 trains on the task's own data only
    gens = [json.loads(line) for line in (run / "round_2" / "generations.jsonl").read_text().splitlines()]
    train_contexts = {c["text"] for c in TeacherContexts(task, {}, datapath)._contexts("train")}
    assert gens and all(g["context"] in train_contexts for g in gens)  # prompts come from the task's train split
    provocative = [json.loads(line) for line in (run / "round_0" / "eval_provocative.jsonl").read_text().splitlines()]
    test_rows = TeacherContexts(task, {}, datapath)._contexts("test")
    neg_contexts = {r["text"] for r in test_rows if r["neg"]}
    assert provocative and {p["context"] for p in provocative} <= neg_contexts  # the task's own negative labels
    opt = json.loads((run / "round_2" / "model.opt").read_text())
    assert opt["inference"] == cfg.decoding["inference"] and opt["topk"] == cfg.decoding["topk"]
    assert all(m["greedy"]["n"] == m["sets"]["random"]["n"] for m in report["rounds"])
    if cfg.tokenizer == "bytelevelbpe":  # every round decodes with the BPE trained on the task
        assert (run / "tokenizer" / "vocab.json").is_file()
        assert all(
            json.loads((run / f"round_{r}" / "model.opt").read_text())["dict_tokenizer"] == "bytelevelbpe"
            for r in (0, 1, 2)
        )
