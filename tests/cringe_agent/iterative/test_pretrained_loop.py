"""``cringe-loop --model`` on a tiny random Llama: the pretrained preset's rounds, agents and report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("transformers")

from cringe_agent.hf.tiny import make_tiny_llama  # noqa: E402
from cringe_agent.iterative.cli import build_parser, config_from_args, main  # noqa: E402

SMALL = ["--round-steps", "4", "--prompts", "24", "--eval-provocative", "12", "--eval-random", "8"]
SMALL += ["--ppl-examples", "8", "--model-opt", "hf_train_layers=1", "--model-opt", "label_truncate=8"]
SMALL += ["--empty-side", "keep", "--positive-threshold", "0.5"]  # a random model: train on whatever it said


@pytest.fixture(scope="module")
def llama(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_llama(tmp_path_factory.mktemp("llama") / "model")


def test_pretrained_preset_replaces_the_tiny_model_options() -> None:
    args = build_parser().parse_args(["--run-dir", "x", "--preset", "pretrained"])
    cfg = config_from_args(args)
    assert cfg.hf_model == "smollm2-135m-instruct" and cfg.baseline_steps == 0
    assert "n_layers" not in cfg.model and cfg.model["hf_train_layers"] == 4
    assert cfg.classifier != cfg.judge
    args = build_parser().parse_args(["--run-dir", "x", "--model", "some/folder"])
    assert config_from_args(args).model == {}


def test_unknown_model_name_fails_before_anything_is_written(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rc = main(["--run-dir", str(tmp_path / "run"), "--preset", "pretrained", "--model", "gpt-17"])
    err = capsys.readouterr().err
    assert rc == 2 and "unknown model 'gpt-17'" in err and "smollm2-135m-instruct" in err and "folder" in err
    assert not (tmp_path / "run").exists()


@pytest.mark.integration
def test_loop_on_a_pretrained_model(llama: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert main(["--run-dir", str(run), "--preset", "pretrained", "--model", str(llama), *SMALL]) == 0
    report = json.loads((run / "report.json").read_text())
    methods = [r["method"] for r in report["rounds"]]
    assert methods == ["baseline (pretrained)", "CRINGE (single iteration)", "CRINGE (iteration 2)"]
    opt = json.loads((run / "round_1" / "model.opt").read_text())
    assert opt["model"] == "cringe_agent.agents.hf_causal:CringeHfCausalAgent" and opt["hf_model"] == str(llama)
    assert opt["inference"] == "topk"  # the loop's decoding is saved in every round's model
    assert not (run / "tokenizer").exists()  # the model's own tokenizer: no BPE is trained
    for r in (1, 2):  # the pretrained preset trains on the model's own generations from round 1 on
        generations = [
            json.loads(line) for line in (run / f"round_{r}" / "generations.jsonl").read_text().splitlines()
        ]
        assert len(generations) == 24 and report["rounds"][r]["selection"]["generations"] == 24
    train_opt = json.loads((run / "round_2" / "model.opt").read_text())
    assert train_opt["task"] == "tasks.generations.agents,tasks.chitchat.agents"  # replay of human replies
    assert train_opt["multitask_weights"] == [1, 1]
    assert train_opt["cringe_generations"].split(",") == [str(run / f"round_{r}" / "selection.jsonl") for r in (1, 2)]
    # A second invocation reads everything back and writes nothing.
    before = {p: p.stat().st_mtime_ns for p in run.rglob("*") if p.is_file()}
    assert main(["--run-dir", str(run), "--preset", "pretrained", "--model", str(llama), *SMALL]) == 0
    assert before == {p: p.stat().st_mtime_ns for p in run.rglob("*") if p.is_file()}


def test_positive_threshold_leaves_unsure_generations_out(tmp_path: Path) -> None:
    from cringe_agent.iterative.config import LoopConfig, validate
    from cringe_agent.iterative.loop import Loop

    rows = [
        {"context": f"c{i}", "text": f"reply {i}", "prob": p, "label": "neg" if p > 0.5 else "pos", "round": 1}
        for i, p in enumerate([1.0, 1.0, 0.5, 0.5, 0.5, 0.0])
    ]
    cfg = LoopConfig(positive_threshold=0.0)
    selected = Loop(cfg, tmp_path).select(1, rows)
    assert sorted(r["prob"] for r in selected) == [0.0, 1.0]  # one sure positive, balanced with one negative
    assert len(Loop(LoopConfig(), tmp_path).select(1, rows)) == 4  # by default every unflagged one is a positive
    with pytest.raises(ValueError, match="--positive-threshold must be a number in"):
        validate(LoopConfig(positive_threshold=0.7))


@pytest.mark.integration
def test_compare_on_a_pretrained_model(llama: Path, tmp_path: Path) -> None:
    """``cringe-compare --model``: every arm fine-tunes the same pretrained round 0 with its method's HF agent."""
    from cringe_agent.iterative.cli import compare_main

    run = tmp_path / "compare"
    args = ["--run-dir", str(run), "--preset", "pretrained", "--model", str(llama), *SMALL, "--rounds", "2"]
    args += ["--seeds", "0", "--methods", "unlikelihood,director,reranker,cringe", "--tune", "false"]
    assert compare_main([*args, "--rerank-candidates", "2"]) == 0
    doc = json.loads((run / "comparison.json").read_text())
    steps = {r["method"]: r["steps"] for r in doc["methods"] if "steps" in r}
    assert steps == {
        "unlikelihood": 8,
        "unlikelihood (iteration 2)": 8,
        "unlikelihood round 1 of 2 (4 steps)": 4,
        "Director": 8,
        "reranker": 0,
        "CRINGE (single iteration)": 8,
        "CRINGE (iteration 2)": 8,
        "CRINGE round 1 of 2 (4 steps)": 4,
    }
    assert "baseline (pretrained)" in {r["method"] for r in doc["methods"]}
    for arm, agent in [("unlikelihood", "hf_causal:HfUnlikelihoodAgent"), ("director", "hf_director:HfDirectorAgent")]:
        opt = json.loads((run / "seed_0" / arm / "round_1" / "model.opt").read_text())
        assert opt["model"] == f"cringe_agent.agents.{agent}"
    assert set(doc["paired"]["methods"]["Director"]) >= {"judge", "f1", "answered", "seeds"}
