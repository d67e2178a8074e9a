"""``python -m cringe_agent.hf``: one process, and two under ``torchrun`` (DDP over gloo on CPU)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("transformers")

from cringe_agent.hf.__main__ import main  # noqa: E402
from cringe_agent.hf.tiny import make_tiny_llama  # noqa: E402


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("hf_cli")
    rows = []
    for thing in ["dogs", "cats", "rain", "tea", "trains", "music", "books", "pizza"]:
        rows.append({"prompt": f"tell me about {thing}", "completion": f"lovely {thing} indeed", "label": True})
        rows.append({"prompt": f"tell me about {thing}", "completion": f"awful {thing} honestly", "label": False})
    (folder / "kto.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return make_tiny_llama(folder / "llama"), folder / "kto.jsonl"


def test_one_process_trains_and_saves(data: tuple[Path, Path], tmp_path: Path) -> None:
    llama, kto = data
    out = tmp_path / "out"
    args = ["--model", str(llama), "--data", str(kto), "--output-dir", str(out), "--steps", "3", "--batch-size", "4"]
    assert main([*args, "--train-layers", "1", "--chat-template"]) == 0
    summary = json.loads((out / "cringe_train.json").read_text())
    assert summary["world_size"] == 1 and len(summary["losses"]) == 3
    assert (out / "config.json").is_file()


def test_bad_data_is_refused_before_the_model_loads(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    out = tmp_path / "out"
    assert main(["--model", "no-such-model", "--data", str(empty), "--output-dir", str(out)]) == 2
    assert "empty.jsonl: no rows" in capsys.readouterr().err and not out.exists()


@pytest.mark.integration
def test_torchrun_two_cpu_processes(data: tuple[Path, Path], tmp_path: Path) -> None:
    llama, kto = data
    out = tmp_path / "ddp"
    torchrun = Path(sys.executable).with_name("torchrun")
    cmd = [str(torchrun), "--nproc_per_node", "2", "-m", "cringe_agent.hf", "--model", str(llama), "--data", str(kto),
           "--output-dir", str(out), "--steps", "3", "--batch-size", "2"]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads((out / "cringe_train.json").read_text())
    assert summary["world_size"] == 2 and len(summary["losses"]) == 3
