"""The classifier recipes of projects/classifiers, run as written on the fixtures with tiny model sizes.

Each recipe script runs under bash with ``parlai`` replaced by a shell function that records its arguments after
the shell expanded them; every recorded command then runs in this process through ParlAI's own ``parlai`` entry
point (``superscript_main``), which saves a fresh interpreter per command.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from parlai.core.script import superscript_main
from parlai.scripts.train_model import TrainModel

ROOT = Path(__file__).resolve().parents[2]
RECIPES = ROOT / "projects" / "classifiers"
FIXTURES = ROOT / "tests" / "fixtures" / "parlai_data"
TINY = ["--n-layers", "1", "--n-heads", "2", "--embedding-size", "16", "--ffn-size", "32", "--batchsize", "4"]
TINY += ["--max-train-steps", "4", "--dict-tokenizer", "split"]
SHIM = 'parlai() { printf "%s\\0" "$@" >> "$RECORD"; printf "\\n\\0" >> "$RECORD"; }; export -f parlai; bash "$@"'


def parlai_commands(script: Path, *args: str, tmp: Path, env: dict[str, str] | None = None) -> list[list[str]]:
    """Run a recipe script and return the argument lists of the ``parlai`` commands it runs, in order."""
    record = tmp / f"{script.stem}.commands"
    record.unlink(missing_ok=True)
    environ = {**os.environ, "RECORD": str(record), **(env or {})}
    subprocess.run(["bash", "-c", SHIM, "bash", str(script), *args], env=environ, check=True)
    commands, current = [], []
    for item in record.read_text().split("\0")[:-1]:
        if item == "\n":
            commands.append(current)
            current = []
        else:
            current.append(item)
    return commands


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """One copy of the fixtures for the module, so that ParlAI's build never writes into the repository."""
    root = tmp_path_factory.mktemp("recipes")
    shutil.copytree(FIXTURES, root / "data")
    return root


@pytest.fixture(scope="module")
def safety_classifier(workdir: Path) -> tuple[Path, list[list[str]], dict]:
    model = workdir / "safety" / "model"
    commands = parlai_commands(
        RECIPES / "train_safety_classifier.sh", "-mf", str(model), "-dp", str(workdir / "data"), *TINY, tmp=workdir
    )
    _, test = superscript_main(args=commands[0])
    return model, commands, test


@pytest.mark.integration
def test_safety_recipe_trains_a_pos_neg_classifier(safety_classifier):
    model, commands, test = safety_classifier
    assert len(commands) == 1 and commands[0][:3] == ["train_model", "-o", str(RECIPES / "safety_classifier.opt")]
    saved = json.loads(Path(f"{model}.opt").read_text())
    assert saved["model"] == "transformer/classifier" and saved["classes"] == ["pos", "neg"]
    assert saved["n_layers"] == 1  # the command-line overrides won over the recipe's sizes
    assert int(test["exs"]) == 3 + 2 + 2 + 2 + 2  # every test example of the five teachers, pos and neg streams
    assert {"accuracy", "class_pos_recall", "class_neg_recall"} <= set(test)  # ParlAI's classifier metrics


@pytest.mark.integration
def test_contradiction_recipe_trains_a_pos_neg_classifier(workdir):
    model = workdir / "contradiction" / "model"
    script = RECIPES / "train_contradiction_classifier.sh"
    commands = parlai_commands(script, "-mf", str(model), "-dp", str(workdir / "data"), *TINY, tmp=workdir)
    assert commands[0][:3] == ["train_model", "-o", str(RECIPES / "contradiction_classifier.opt")]
    _, test = superscript_main(args=commands[0])
    saved = json.loads(Path(f"{model}.opt").read_text())
    assert saved["classes"] == ["pos", "neg"] and "cringe_classifier_input=context_reply" in saved["task"]
    assert int(test["exs"]) == 2
    assert {"class_pos_recall", "class_neg_recall"} <= set(test)


@pytest.mark.integration
def test_scoring_recipe_judges_each_generated_reply(workdir, safety_classifier):
    generator = workdir / "generator" / "model"
    TrainModel.main(
        model="cringe_agent.agents.transformer:CringeTransformerGeneratorAgent",
        task="tasks.safety.agents:BadTeacher",
        datapath=str(workdir / "data"),
        model_file=str(generator),
        n_layers=1,
        n_heads=2,
        embedding_size=16,
        ffn_size=32,
        max_train_steps=2,
        text_truncate=16,
        label_truncate=8,  # also the longest reply greedy search generates: keeps the scoring step short
        lr_scheduler="fixed",
        skip_generation=True,
        validation_metric="loss",
        validation_metric_mode="min",
        dict_tokenizer="split",
    )
    out = workdir / "scores"
    task = "tasks.safety.agents:BadTeacher"
    commands = parlai_commands(
        RECIPES / "score_generations.sh",
        *(str(generator), str(safety_classifier[0]), task, str(out)),
        *("-dp", str(workdir / "data"), "--inference", "greedy"),
        tmp=workdir,
    )
    assert [c[0] for c in commands] == ["eval_model", "eval_model"]
    assert commands[1][commands[1].index("-t") + 1] == "tasks.safety.agents:WorldLogRepliesTeacher"
    for command in commands:
        superscript_main(args=command)
    logs = [json.loads(line) for line in (out / "generations.jsonl").read_text().splitlines()]
    assert len(logs) == 3  # BAD's valid fold
    assert all(log["dialog"][0][1]["text"] for log in logs)  # the generator did generate
    report = json.loads((out / "classifier_report.json").read_text())["report"]
    assert report["exs"] == 3
    assert report["accuracy"] == pytest.approx(report["class_pos_recall"])  # every label is pos: share judged pos


def test_readme_points_at_every_recipe_file():
    readme = (RECIPES / "README.md").read_text()
    named = set(re.findall(r"projects/classifiers/([\w.]+\.(?:sh|opt))", readme))
    on_disk = {p.name for p in RECIPES.iterdir() if p.suffix in (".sh", ".opt")}
    assert named == on_disk
    for name in on_disk:
        assert not (name.endswith(".sh") and not os.access(RECIPES / name, os.X_OK)), f"{name} is not executable"
