"""The loop's training step: the first training in a fresh process equals a later one with the same seed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("parlai")

# Two trainings of the same tiny model in one fresh interpreter; prints each one's validation loss and token count.
_TWICE = """
import json, sys
from cringe_agent.iterative.train import train_round

folder = sys.argv[1]
opts = dict(n_layers=1, embedding_size=16, ffn_size=32, n_heads=2, dict_tokenizer="split", batchsize=8,
            learningrate=1e-2, optimizer="adam", lr_scheduler="fixed", truncate=32, text_truncate=32,
            label_truncate=16, dict_maxexs=500)
losses = []
for i in range(2):
    report = train_round(task="tasks.chitchat.agents", task_opts={"chitchat_max_examples": 200}, model_opts=opts,
                         model_file=f"{folder}/m{i}/model", datapath=f"{folder}/data", steps=6, seed=3)
    losses.append([report["valid"]["loss"], report["valid"]["exs"]])
print(json.dumps(losses))
"""


@pytest.mark.integration
def test_first_training_in_a_process_equals_a_later_one(tmp_path: Path) -> None:
    """Modules first imported inside ParlAI's training must not shift its random draws (``rich.style`` draws from
    Python's global generator at import): a round retrained after a kill must equal the uninterrupted one."""
    done = subprocess.run(
        [sys.executable, "-c", _TWICE, str(tmp_path)], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    first, second = json.loads(done.stdout.strip().splitlines()[-1])
    assert first[1] > 0
    assert first == second
