"""One finished tiny loop run, shared by the loop tests (read-only; tests that change a run work on a copy)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

FAKE = """
def prob(texts, contexts=None, golds=None):
    return [0.9 if sum(map(ord, t)) % 3 == 0 else 0.1 for t in texts]
"""


@pytest.fixture(scope="session")
def fake_judge(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A classifier spec flagging a text by a hash of its characters: every round has negatives and positives."""
    folder = tmp_path_factory.mktemp("fake_judge")
    (folder / "fake_judge.py").write_text(FAKE)
    sys.path.insert(0, str(folder))
    os.environ["PYTHONPATH"] = f"{folder}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"
    return "fake_judge:prob"


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory, fake_judge: str) -> Path:
    """The run directory of a finished tiny loop (baseline, single iteration, iteration 2); do not modify it."""
    from cringe_agent.iterative.cli import main

    run_dir = tmp_path_factory.mktemp("tiny") / "run"
    args = ["--run-dir", str(run_dir), "--preset", "tiny", "--classifier", fake_judge, "--judge", "lexicon"]
    assert main(args) == 0
    return run_dir
