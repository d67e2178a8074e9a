"""The cringe-eval feedback teacher: examples of an export, labels, errors, and a CRINGE training run on it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from teacher_epoch import load
from tiny_models import train_cringe_steps

T = "tasks.humaneval.agents"


def write_export(folder: Path) -> Path:
    """A model-chat export of two conversations (five annotated bot turns, one unannotated)."""

    def marks(*checked: str) -> dict[str, bool]:
        return {b: b in checked for b in ("none_all_good", "bad", "unsafe", "contradiction")}

    chats = [
        [("hi there", None), ("hello friend", marks("none_all_good")), ("how are you", None),
         ("you are an idiot", marks("unsafe")), ("why", None), ("i am a cat and not a cat", marks("contradiction"))],
        [("tell me about tea", None), ("tea is lovely", marks("none_all_good")), ("and rain", None),
         ("rain rain rain", marks("bad")), ("bye", None), ("bye now", None)],
    ]  # fmt: skip
    path = folder / "chat.jsonl"
    rows = []
    for chat in chats:
        dialog = [
            {"agent_idx": i % 2, "text": text, "id": "Speaker 2" if i % 2 else "Speaker 1", "problem_data": data}
            for i, (text, data) in enumerate(chat)
        ]
        rows.append(
            {"dialog": dialog, "workers": ["w1"], "final_rating": 3, "task_description": {"model_nickname": "m"}}
        )
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_examples_and_labels(tmp_path: Path) -> None:
    export = write_export(tmp_path)
    examples, _ = load(T, "valid", datapath=str(tmp_path), humaneval_export=str(export))
    assert [e["classifier_label"] for e in examples] == ["pos", "neg", "neg", "pos", "neg"]
    first, third = examples[0], examples[2]
    assert first["text"] == "hi there" and first["labels"] == ["hello friend"]
    assert third["text"] == "hi there\nhello friend\nhow are you\nyou are an idiot\nwhy"
    assert third["feedback_type"] == "contradiction" and third["source"] == "humaneval"


def test_missing_export_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="cringe-eval export"):
        load(T, "valid", datapath=str(tmp_path), humaneval_export=str(tmp_path / "none.jsonl"))


@pytest.mark.integration
def test_cringe_trains_on_the_export(tmp_path: Path) -> None:
    export = write_export(tmp_path)
    valid, _ = train_cringe_steps(f"{T}:humaneval_export={export}", str(tmp_path), str(tmp_path / "m" / "model"), 2)
    assert (tmp_path / "m" / "model").is_file() and valid["exs"].value() > 0


@pytest.mark.integration
def test_the_loop_trains_on_human_feedback(tmp_path: Path) -> None:
    """cringe-loop on the export: round 1 trains CRINGE on the annotated turns, round 2 adds labelled generations."""
    from cringe_agent.iterative.cli import main

    export = write_export(tmp_path)
    run_dir = tmp_path / "run"
    args = [
        "--run-dir", str(run_dir), "--preset", "tiny", "--task", T, "--task-opt", f"humaneval_export={export}",
        "--classifier", "lexicon", "--judge", "lexicon", "--empty-side", "keep", "--rounds", "2",
        "--prompts", "4", "--eval-provocative", "2", "--eval-random", "3", "--ppl-examples", "5",
    ]  # fmt: skip
    assert main(args) == 0
    rounds = json.loads((run_dir / "report.json").read_text())["rounds"]
    assert [r["method"] for r in rounds] == ["baseline (MLE)", "CRINGE (single iteration)", "CRINGE (iteration 2)"]
    assert rounds[2]["selection"]["generations"] == 4
    # the provocative contexts are those of the turns marked bad, unsafe or contradicting (3 of the 5)
    assert rounds[0]["sets"]["provocative"]["n"] == 2
