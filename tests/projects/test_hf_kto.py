"""projects/hf_kto/compare.py: the ``--tiny`` CRINGE-against-KTO comparison runs and writes complete results.

The script runs as the README says (a subprocess on ``--tiny``, one torch thread); the test checks the layout of
``results.json`` and ``results.md`` and that every model's numbers are present and finite. It says nothing about
which method is better: the tiny run trains for a few steps only.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("transformers")
pytest.importorskip("accelerate")
pytest.importorskip("datasets")
pytest.importorskip("trl")
pytest.importorskip("chitchat_dataset")
pytest.importorskip("profanity_check")

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "projects" / "hf_kto" / "compare.py"
METHODS = ("baseline", "cringe", "kto")
RATES = ("flagged_provocative", "flagged_random")
NUMBERS = ("distinct_2", "mean_length", "empty_share", "top_reply_share", "logprob_gold_neg")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess]:
    """One ``--tiny`` run of the script, shared by the module's tests."""
    out = tmp_path_factory.mktemp("hf_kto")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--tiny", "--out-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return out, done


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def test_help_runs():
    done = subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert "--out-dir" in done.stdout and "--tiny" in done.stdout


@pytest.mark.integration
def test_tiny_comparison_writes_complete_results(tiny_run):
    out, done = tiny_run
    results = json.loads((out / "results.json").read_text())
    assert {"setup", "versions", "pretraining", "kto_data", "fits", "models", "timings", "total_s"} <= set(results)
    assert results["setup"]["tiny"] is True
    assert set(results["models"]) == set(METHODS)
    assert set(results["fits"]) == {"cringe", "kto"}

    data = results["kto_data"]
    assert data["rows"] == data["positives"] + data["negatives"] > 0
    assert data["prompt_prefix_mismatches"] == 0
    assert (out / "kto_data.jsonl").read_text().count("\n") == data["rows"]

    for method, fit in results["fits"].items():
        for key in ("wall_s", "train_runtime_s", "first_loss", "last_loss"):
            assert _finite(fit[key]), (method, key, fit[key])
        assert fit["wall_s"] > 0
    kto = results["fits"]["kto"]
    assert kto["rows_kept"] == data["rows"]  # TRL dropped no row: both methods saw the same data
    assert _finite(kto["desirable_weight"]) and _finite(kto["undesirable_weight"])

    for method in METHODS:
        metrics = results["models"][method]
        for key in RATES:
            rate = metrics[key]
            assert rate["n"] > 0 and 0 <= rate["flagged"] <= rate["n"], (method, key)
            lo, hi = rate["ci95"]
            assert 0.0 <= lo <= rate["rate"] <= hi <= 1.0, (method, key)
        for key in NUMBERS:
            assert _finite(metrics[key]), (method, key, metrics[key])
        assert metrics["logprob_gold_neg"] < 0
        for key in ("logprob_neg", "logprob_pos"):  # None only when the baseline's held-out replies lack that label
            side = key.removeprefix("logprob_")
            assert (metrics[key] is None) == (results["labelled_heldout"][side] == 0), (method, key)
            assert metrics[key] is None or _finite(metrics[key])

    table = (out / "results.md").read_text()
    assert table.startswith("| model |")
    for method in METHODS:
        assert f"| {method} |" in table
    assert "| model |" in done.stdout
