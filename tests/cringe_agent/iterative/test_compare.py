"""The loop's baseline methods (``--method``) and the comparison command on the tiny preset."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

pytest.importorskip("parlai")

from cringe_agent.iterative.cli import PRESETS, compare_main, config_from_args, main  # noqa: E402
from cringe_agent.iterative.compare import Comparison, arms  # noqa: E402
from cringe_agent.iterative.config import LoopConfig  # noqa: E402
from cringe_agent.iterative.methods import METHODS  # noqa: E402
from cringe_agent.iterative.rerank import pick_least_negative  # noqa: E402


def _method_args(run_dir: Path, judge: str, init: Path, method: str) -> list[str]:
    return [
        "--run-dir", str(run_dir), "--preset", "tiny", "--classifier", judge, "--judge", "lexicon",
        "--init-model", str(init), "--evaluate-init", "false", "--rounds", "1", "--method", method,
    ]  # fmt: skip


def _eval(run_dir: Path, r: int, kind: str = "provocative") -> list[dict]:
    lines = (run_dir / f"round_{r}" / f"eval_{kind}.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


@pytest.mark.integration
@pytest.mark.parametrize("method", ["mle_pos", "mle_all", "unlikelihood", "sigmoid", "director"])
def test_each_training_method_fine_tunes_the_baseline(method: str, tiny_run: Path, tmp_path: Path, fake_judge: str):
    init = tiny_run / "round_0" / "model"
    run_dir = tmp_path / method
    assert main(_method_args(run_dir, fake_judge, init, method)) == 0
    (row,) = json.loads((run_dir / "report.json").read_text())["rounds"]
    assert row["round"] == 1 and row["method"] == METHODS[method].label
    assert not (run_dir / "round_0").exists()  # the init model is neither trained nor evaluated again
    opt = json.loads((run_dir / "round_1" / "model.opt").read_text())
    assert opt["model"] == METHODS[method].agent and opt["init_model"] == str(init)
    assert opt["dict_tokenizer"] == json.loads(Path(f"{init}.opt").read_text())["dict_tokenizer"]
    assert row["ppl_pos"] > 1 and len(_eval(run_dir, 1)) == PRESETS["tiny"]["eval_provocative"]


def test_pick_least_negative_takes_the_lowest_score_and_the_first_on_ties() -> None:
    picked = pick_least_negative([["a", "b", "c"], ["d", "e"]], [[0.7, 0.2, 0.2], [0.4, 0.4]])
    assert picked == ["b", "d"]
    with pytest.raises(ValueError, match="context 0: 2 candidates and 1 scores"):
        pick_least_negative([["a", "b"]], [[0.1]])


@pytest.mark.integration
def test_reranker_trains_nothing_and_never_picks_worse_than_the_baseline_sample(
    tiny_run: Path, tmp_path: Path, fake_judge: str
) -> None:
    init = tiny_run / "round_0" / "model"
    run_dir = tmp_path / "reranker"
    assert main([*_method_args(run_dir, fake_judge, init, "reranker"), "--rerank-candidates", "4"]) == 0
    assert not (run_dir / "round_1" / "train.json").exists()
    (row,) = json.loads((run_dir / "report.json").read_text())["rounds"]
    assert row["method"] == "reranker" and row["model_file"] == str(init)
    baseline, reranked = _eval(tiny_run, 0), _eval(run_dir, 1)
    # The first candidate is the baseline's own sample (same seed and decoding), so no pick scores worse.
    assert [b["context"] for b in baseline] == [r["context"] for r in reranked]
    assert all(r["prob"] <= b["prob"] for b, r in zip(baseline, reranked, strict=True))
    assert sum(r["flagged"] for r in reranked) < sum(b["flagged"] for b in baseline), (baseline, reranked)
    greedy_base, greedy = _eval(tiny_run, 0, "random_greedy"), _eval(run_dir, 1, "random_greedy")
    assert [g["text"] for g in greedy] == [g["text"] for g in greedy_base]  # greedy decoding is not reranked


def test_reranker_needs_one_round_and_evaluate_init_needs_an_init_model(tmp_path: Path) -> None:
    assert main(["--run-dir", str(tmp_path / "a"), "--preset", "tiny", "--method", "reranker"]) == 2
    assert main(["--run-dir", str(tmp_path / "b"), "--preset", "tiny", "--evaluate-init", "false"]) == 2
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_every_arm_gets_the_iterative_budget() -> None:
    cfg = LoopConfig(rounds=2, round_steps=60, k=5)
    found = {a.key: a for a in arms(["mle_pos", "unlikelihood", "reranker", "director", "cringe"], True, cfg)}
    assert list(found) == [
        "mle_pos", "unlikelihood", "unlikelihood_iter", "reranker", "director", "cringe_single", "cringe", "cringe_k1",
    ]  # fmt: skip
    total = {key: a.rounds * a.steps for key, a in found.items() if key != "reranker"}
    assert set(total.values()) == {120}  # one round of 120 steps, or two of 60: the same fine-tuning budget
    assert (found["cringe"].rounds, found["unlikelihood_iter"].rounds) == (2, 2)
    assert found["cringe"].label == "CRINGE (iteration 2)" and found["cringe_single"].rounds == 1
    assert found["cringe"].first_label == "CRINGE round 1 of 2 (60 steps)"
    assert found["cringe_k1"].overrides == {"k": 1} and found["cringe_k1"].group == "ablations"
    assert {a.tuned for a in found.values()} == {None, "unlikelihood", "reranker", "director", "cringe"}
    one_round = [a.key for a in arms(["unlikelihood", "cringe"], False, LoopConfig(rounds=1))]
    assert one_round == ["unlikelihood", "cringe_single"]  # nothing to iterate


@pytest.mark.parametrize(
    ("methods", "message"),
    [
        (["nope"], "unknown methods nope"),
        (["cringe", "", ""], "empty names"),
        ([], "empty names"),
        (["cringe", "cringe"], "names a method twice"),
    ],
)
def test_bad_method_lists_are_refused(methods, message) -> None:
    with pytest.raises(ValueError, match=message):
        arms(methods, False, LoopConfig())


@pytest.mark.integration
def test_comparison_runs_every_arm_on_each_seed_and_resumes(tmp_path: Path, fake_judge: str, capsys) -> None:
    run_dir = tmp_path / "cmp"
    args = [
        "--run-dir", str(run_dir), "--preset", "tiny", "--classifier", fake_judge, "--judge", "lexicon",
        "--seeds", "0,1", "--methods", "mle_pos,reranker,cringe", "--ablations", "false", "--rerank-candidates", "2",
    ]  # fmt: skip
    assert compare_main(args) == 0
    doc = json.loads((run_dir / "comparison.json").read_text())
    methods = [(r["method"], r["seed"]) for r in doc["methods"]]
    expected = ["baseline (MLE)", "MLE (positives only)", "reranker"]
    expected += ["CRINGE (single iteration)", "CRINGE (iteration 2)", "CRINGE round 1 of 2 (5 steps)"]
    assert methods == [(m, s) for m in expected for s in (0, 1)]
    for r in doc["methods"]:
        assert {"flagged_rate", "judge_rate", "f1", "ppl_pos", "distinct_2", "top_reply_share"} <= set(r)
        assert (run_dir / f"{r['model_file']}.opt").is_file(), r["model_file"]
    rounds = [json.loads((run_dir / "seed_0" / "cringe" / f"round_{r}" / "timings.json").read_text()) for r in (1, 2)]
    iterative = next(r for r in doc["methods"] if r["method"] == "CRINGE (iteration 2)" and r["seed"] == 0)
    assert iterative["train_seconds"] == sum(t["train"] for t in rounds)  # the cost of both rounds
    steps = {r["method"]: r.get("steps") for r in doc["methods"]}
    assert steps["MLE (positives only)"] == steps["CRINGE (single iteration)"] == steps["CRINGE (iteration 2)"] == 10
    # Every arm of a seed fine-tuned that seed's baseline; one-round arms for the whole budget.
    opt = json.loads((run_dir / "seed_1" / "mle_pos" / "round_1" / "model.opt").read_text())
    assert opt["init_model"] == str((run_dir / "seed_1" / "baseline" / "round_0" / "model").resolve())
    assert json.loads((run_dir / "seed_1" / "mle_pos" / "config.json").read_text())["round_steps"] == 10
    # Tuning ran on the valid split, seed 0's baseline, and its choice is what the test rows used.
    tuned = json.loads((run_dir / "tuning.json").read_text())
    assert set(tuned["methods"]) == {"reranker", "cringe"} and len(tuned["methods"]["cringe"]["results"]) == 3
    chosen = tuned["methods"]["cringe"]["results"][tuned["methods"]["cringe"]["chosen"]]["point"]
    grid_run = json.loads((run_dir / "tune" / "cringe" / "alpha4" / "config.json").read_text())
    assert grid_run["eval_datatype"] == "valid" and grid_run["alpha"] == 4.0 and grid_run["seed"] == 0
    assert json.loads((run_dir / "seed_1" / "cringe" / "config.json").read_text())["alpha"] == chosen["alpha"]
    setting = {r["method"]: r.get("setting") for r in doc["methods"]}
    assert setting["CRINGE (iteration 2)"] == f"alpha={chosen['alpha']:g}"
    # Every other method is paired with iterative CRINGE on the same contexts.
    paired = doc["paired"]
    assert paired["reference"] == "CRINGE (iteration 2)"
    judge = paired["methods"]["reranker"]["judge"]
    assert judge["n"] == 2 * PRESETS["tiny"]["eval_provocative"] and 0 <= judge["p_value"] <= 1
    assert paired["methods"]["reranker"]["seeds"] == [0, 1]
    for name in ("comparison.md", "comparison.csv", "comparison.png", "tuning.md"):
        assert (run_dir / name).stat().st_size > 0
    out = capsys.readouterr().out
    assert "| MLE (positives only)" in out and "Δ judge vs ref" in out
    # A rerun reads everything back and rewrites nothing.
    stamps = {p: p.stat().st_mtime_ns for p in run_dir.rglob("*") if p.is_file()}
    assert compare_main(args) == 0
    assert {p: p.stat().st_mtime_ns for p in run_dir.rglob("*") if p.is_file()} == stamps
    # Other shared settings are refused, naming them; nothing is written.
    assert compare_main([*args, "--round-steps", "3"]) == 2
    assert "round_steps differ" in capsys.readouterr().err


def test_comparison_refuses_a_foreign_directory(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    cfg = config_from_args(_parser_args(["--run-dir", str(tmp_path), "--preset", "tiny"]))
    with pytest.raises(ValueError, match="holds no comparison"):
        Comparison(cfg, tmp_path, seeds=[0], methods=["cringe"], ablations=False).run()
    assert os.listdir(tmp_path) == ["notes.txt"]


def _parser_args(argv: list[str]):  # noqa: ANN202
    from cringe_agent.iterative.cli import build_parser

    return build_parser().parse_args(argv)


@pytest.mark.integration
def test_an_arm_another_process_runs_is_skipped_and_named(tmp_path: Path, fake_judge: str, capsys) -> None:
    """Two cringe-compare processes on one directory: an arm locked by a live process is skipped, not failed."""
    run_dir = tmp_path / "cmp"
    args = [
        "--run-dir", str(run_dir), "--preset", "tiny", "--classifier", fake_judge, "--judge", "lexicon",
        "--seeds", "0", "--methods", "mle_pos,mle_all,cringe", "--ablations", "false", "--tune", "false",
    ]  # fmt: skip
    loop_args = _parser_args(args[:8])  # the loop flags alone: the comparison's shared settings
    Comparison(config_from_args(loop_args), run_dir, seeds=[0], methods=["cringe"], tune=False)._check_dir()
    busy = run_dir / "seed_0" / "mle_pos"
    busy.mkdir(parents=True)
    other = {"pid": os.getppid(), "host": __import__("socket").gethostname(), "started": "now"}  # a live process
    (busy / ".lock").write_text(json.dumps(other))
    assert compare_main(args) == 3
    captured = capsys.readouterr()
    assert "running in other processes: seed 0 mle_pos" in captured.out
    methods = [r["method"] for r in json.loads((run_dir / "comparison.json").read_text())["methods"]]
    assert "MLE (all data)" in methods and "MLE (positives only)" not in methods
    (busy / ".lock").unlink()  # the other process finished (here: never started); the same command completes it
    assert compare_main(args) == 0
    methods = [r["method"] for r in json.loads((run_dir / "comparison.json").read_text())["methods"]]
    assert "MLE (positives only)" in methods


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--methods", "mle_pos,nope"], "unknown methods nope"),
        (["--methods", "cringe,,"], "empty names"),
        (["--seeds", "0,0"], "seeds must be distinct"),
        (["--judge", "profanity"], "is the labeller"),
    ],
)
def test_bad_comparison_flags_get_a_clear_error_and_write_nothing(tmp_path: Path, capsys, flags, message) -> None:
    run_dir = tmp_path / "cmp"
    assert compare_main(["--run-dir", str(run_dir), "--preset", "tiny", *flags]) == 2
    assert message in capsys.readouterr().err
    assert not run_dir.exists()


def test_a_run_dir_under_a_file_or_where_nothing_can_be_written_is_refused(tmp_path: Path, capsys) -> None:
    (tmp_path / "file").write_text("mine")
    for run_dir, message in [
        (tmp_path / "file" / "cmp", "is a file, not a directory"),
        (tmp_path / "file", "is a file, not a directory"),
        (Path("/proc/cringe_compare_test/cmp"), "cannot write there"),  # read-only even for root
    ]:
        assert compare_main(["--run-dir", str(run_dir), "--preset", "tiny", "--judge", "lexicon"]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, err
    assert (tmp_path / "file").read_text() == "mine" and sorted(os.listdir(tmp_path)) == ["file"]
