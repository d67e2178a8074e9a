"""Generation and labelling over worker processes give exactly one process's output."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest

pytest.importorskip("parlai")

import cringe_agent.iterative.loop as loop_module  # noqa: E402
from cringe_agent.classifiers import build_classifier  # noqa: E402
from cringe_agent.iterative.cli import main  # noqa: E402
from cringe_agent.iterative.generate import batch_seed, generate  # noqa: E402
from cringe_agent.iterative.parallel import SHARD_ALIGN, ShardedClassifier, shards  # noqa: E402

TOPK = {"inference": "topk", "topk": 10, "beam_size": 1}


def test_shards_cover_the_range_in_order_on_aligned_boundaries() -> None:
    assert shards(0, 4) == []
    assert shards(10, 4) == [(0, 10)]
    assert shards(1100, 2, align=512) == [(0, 1024), (1024, 1100)]
    assert shards(3000, 3, align=512) == [(0, 1024), (1024, 2048), (2048, 3000)]
    for n, workers in [(1, 1), (513, 2), (5000, 3), (4096, 8)]:
        parts = shards(n, workers, align=512)
        assert len(parts) <= workers
        assert [a for a, _ in parts] == [0] + [b for _, b in parts[:-1]] and parts[-1][1] == n
        assert all(a % 512 == 0 for a, _ in parts)


def test_batch_seeds_are_distinct_and_the_first_is_the_run_seed() -> None:
    assert batch_seed(7, 0) == 7
    seeds = {batch_seed(s, i) for s in range(5) for i in range(100)}
    assert len(seeds) == 500


@pytest.mark.integration
def test_two_workers_sample_the_same_replies_as_one_process(tiny_run: Path) -> None:
    model = str(tiny_run / "round_0" / "model")
    contexts = [f"do you like {w} ?" for w in ("dogs", "cats", "music", "rain", "films", "tea", "maths")] * 6
    one = generate(model, contexts, TOPK, batch_size=8, seed=3)
    two = generate(model, contexts, TOPK, batch_size=8, seed=3, workers=2)
    assert len(one) == len(contexts) and one == two
    assert len(set(one)) > 1  # sampled: the batches did not all decode alike
    assert generate(model, contexts, TOPK, batch_size=8, seed=4) != one


@pytest.mark.integration
@pytest.mark.parametrize("spec", ["lexicon", "parlai"])
def test_sharded_classifier_scores_as_one_process(spec: str, tiny_classifier: Path) -> None:
    spec = f"parlai:{tiny_classifier}" if spec == "parlai" else spec
    texts = [f"you are a {w} number {i}" for i, w in enumerate(["damn idiot", "good friend", "nice person"] * 400)]
    assert len(texts) > SHARD_ALIGN * 2
    sharded = ShardedClassifier(spec, workers=3)
    assert sharded(texts) == list(build_classifier(spec)(texts))


@pytest.mark.integration
def test_the_loop_with_two_workers_writes_the_same_report(tmp_path: Path, fake_judge: str, monkeypatch) -> None:
    """Batches of 8 so that every generation step has several (the loop's default is 128)."""
    monkeypatch.setattr(loop_module, "generate", functools.partial(generate, batch_size=8))
    reports = []
    for workers in (1, 2):
        run_dir = tmp_path / f"w{workers}"
        args = ["--run-dir", str(run_dir), "--preset", "tiny", "--classifier", fake_judge, "--judge", "lexicon"]
        assert main([*args, "--rounds", "2", "--workers", str(workers)]) == 0
        rounds = json.loads((run_dir / "report.json").read_text())["rounds"]
        reports.append([{k: v for k, v in m.items() if k != "seconds"} for m in rounds])
        reports[-1].append((run_dir / "round_2" / "generations.jsonl").read_text())
    assert reports[0] == reports[1]


def test_workers_below_one_is_a_clear_error(tmp_path: Path, capsys) -> None:
    assert main(["--run-dir", str(tmp_path / "run"), "--preset", "tiny", "--workers", "0"]) == 2
    assert "--workers must be an integer >= 1" in capsys.readouterr().err
