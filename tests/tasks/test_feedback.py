"""FITS feedback teacher on the committed fixtures: first examples and counts, feedback fields, versions, display_data,
a CRINGE training run, and the errors for missing, malformed and unlabelled data."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import parlai.core.build_data as build_data
import pytest
from parlai.scripts.display_data import DisplayData
from teacher_epoch import load
from tiny_models import train_cringe_steps

from tasks import DataFormatError, DataNotFoundError

T = "tasks.feedback.agents:FitsTeacher"
CHATS = "fits/human_model_chats"


SNAPSHOT = {  # fold -> (count, first example's fields, polarity of every example in order)
    "train": (
        4,
        {
            "text": "Who wrote dracula?",
            "labels": ["Dracula was written by mary shelley."],
            "classifier_label": "neg",
            "feedback_type": "better_others",
            "feedback_text": "Dracula was written by Bram Stoker in 1897.",
            "human_reply": "That's wrong, it was Bram Stoker.",
            "task_uid": 7,
            "topic": "Gothic novels",
            "domain": "Literature",
            "source": "fits",
        },
        ["neg", "pos", "pos", "pos"],
    ),
    "valid": (
        2,
        {
            "text": "What is the capital of australia?",
            "labels": ["The capital of australia is sydney."],
            "feedback_type": "better_search_query",
            "feedback_text": "capital of australia",
        },
        ["neg", "pos"],
    ),
    "test": (
        2,
        {"text": "How long should I boil an egg?", "labels": ["Eggs are a good source of protein."]},
        ["neg", "pos"],
    ),
}


@pytest.mark.parametrize("fold", ["train", "valid", "test"])
def test_first_example_and_count_of_each_fold(datapath, fold):
    examples, teacher = load(T, f"{fold}:ordered" if fold == "train" else fold, datapath)
    count, first, polarities = SNAPSHOT[fold]
    assert len(examples) == teacher.num_examples() == count
    for field, value in first.items():
        assert examples[0][field] == value, field
    assert [ex["classifier_label"] for ex in examples] == polarities


def test_context_holds_perfect_replies_only(datapath):
    examples, _ = load("tasks.feedback.agents", "train:ordered", datapath)  # DefaultTeacher
    corrected, later = examples[1], examples[2]
    assert corrected["text"] == "Who wrote dracula?"  # the bad attempt and the feedback are not in the context
    assert corrected["labels"] == ["You're right, bram stoker wrote dracula in 1897."]
    assert (corrected["feedback_type"], corrected["feedback_text"]) == ("perfect", "")
    assert later["text"].split("\n") == [
        "Who wrote dracula?",
        "You're right, bram stoker wrote dracula in 1897.",
        "Thanks! When was he born?",
    ]
    assert later["human_reply"] == ""  # the last bot turn: no human turn follows


def test_unseen_tasks_and_classifier_mode(datapath):
    unseen, _ = load(T, "test", datapath, unseen_task=True)
    assert [ex["labels"] for ex in unseen] == [["Mercury is the closest planet to the sun."]]
    with pytest.raises(ValueError, match="datatype test only"):
        load(T, "train", datapath, unseen_task=True)
    classified, _ = load(f"{T}:cringe_label_mode=classifier:cringe_keep=neg", "valid", datapath)
    assert [(ex["text"], ex["labels"]) for ex in classified] == [("The capital of australia is sydney.", ["neg"])]


def test_parlai_own_teachers_read_the_fixtures(datapath):
    """The fixtures are in ParlAI's on-disk format: its stock teachers load them without downloading."""
    base, _ = load("fits", "train:ordered", datapath)
    assert [ex["labels"][0] for ex in base] == [
        "You're right, bram stoker wrote dracula in 1897.",
        "Bram stoker was born in 1847 in dublin.",
        "Give it at least six hours of sunlight and water when the top inch of soil is dry.",
    ]
    satisfaction, _ = load("fits:FitsSatisfactionTeacher", "train:ordered", datapath)
    assert sorted(ex["labels"][0] for ex in satisfaction) == ["__notok__", "__ok__", "__ok__", "__ok__"]


def test_display_data(datapath, capsys, parlai_log):
    DisplayData.main(task=T, datapath=datapath, num_examples=50, display_add_fields="classifier_label,feedback_text")
    out = capsys.readouterr().out
    assert "loaded 4 episodes with a total of 4 examples" in parlai_log
    assert out.count("END OF EPISODE") == 4
    assert "[labels]: Dracula was written by mary shelley." in out
    assert "[feedback_text]: Dracula was written by Bram Stoker in 1897." in out


@pytest.mark.integration
def test_cringe_agent_trains_on_fits(datapath, tmp_path):
    valid, test = train_cringe_steps(T, datapath, str(tmp_path / "model"), batchsize=2)
    assert int(valid["exs"]) == 2 and int(test["exs"]) == 2
    assert int(valid["total_train_updates"]) == 3
    assert int(test["neg_tokens"]) > 0 and int(test["pos_tokens"]) > 0  # classifier_label reached the loss


def test_missing_data_offline_gives_one_clear_error(datapath, monkeypatch):
    def fail(url, path, fname, *args, **kwargs):
        raise RuntimeError("Connection broken too many times. Stopped retrying.")

    monkeypatch.setattr(build_data, "download", fail)
    shutil.rmtree(Path(datapath) / "fits")
    with pytest.raises(DataNotFoundError) as info:
        load(T, "train", datapath)
    message = str(info.value)
    folder = str(Path(datapath) / "fits")
    for part in ("FITS", folder, "human_model_chats/train.txt", "'v0.1'", "fits_data_v0.1.tar.gz"):
        assert part in message, part
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_missing_version_folder_is_named(datapath):
    with pytest.raises(DataNotFoundError, match=r"Missing: human_model_chats_v2/train\.txt"):
        load(T, "train", datapath, fits_task_version="v2")


def test_malformed_chats_name_file_line_and_field(datapath):
    path = Path(datapath) / CHATS / "valid.txt"
    chat = json.loads(path.read_text())
    path.write_text(json.dumps({**chat, "dialog": "hello"}) + "\n")
    with pytest.raises(DataFormatError, match=r"valid\.txt, line 1, field 'dialog': expected list, got str"):
        load(T, "valid", datapath)
    del chat["dialog"][1]["text"]
    path.write_text(json.dumps(chat) + "\n")
    with pytest.raises(DataFormatError, match=r"valid\.txt, line 1, dialog\[1\], field 'text': missing"):
        load(T, "valid", datapath)


def test_records_without_usable_label_are_counted_and_reported(datapath, parlai_log):
    path = Path(datapath) / CHATS / "train.txt"
    chats = [json.loads(line) for line in path.read_text().splitlines()]
    chats[0]["dialog"][1]["improve_bucket"] = "meh"
    path.write_text("".join(json.dumps(c) + "\n" for c in chats))
    examples, teacher = load(T, "train:ordered", datapath)
    assert len(examples) == 3 and teacher.unusable_labels == 1
    assert any("train.txt: skipped 1 record(s) with no usable label (line 1, dialog[1])" in m for m in parlai_log)


def test_chats_without_a_bot_reply_are_counted_and_reported(datapath, parlai_log):
    path = Path(datapath) / CHATS / "train.txt"
    chats = [json.loads(line) for line in path.read_text().splitlines()]
    human_only = {**chats[0], "dialog": [turn for turn in chats[0]["dialog"] if turn.get("id") in ("YOU",)]}
    path.write_text("".join(json.dumps(c) + "\n" for c in [*chats, {**chats[0], "dialog": []}, human_only]))
    examples, teacher = load(T, "train:ordered", datapath)
    assert len(examples) == 4 and teacher.unusable_labels == 2
    last = len(chats) + 2
    assert any(
        f"train.txt: skipped 2 record(s) with no usable label (line {last - 1}, line {last}); empty dialog; "
        "dialog holds no bot reply" in m
        for m in parlai_log
    )


def test_byte_that_is_not_utf8_names_file_line_and_offset(datapath):
    path = Path(datapath) / CHATS / "valid.txt"
    data = path.read_bytes()
    path.write_bytes(b"\x80" + data)
    with pytest.raises(DataFormatError, match=r"valid\.txt, line 1 \(byte offset 0\), field '\(encoding\)'"):
        load(T, "valid", datapath)


def test_file_cut_mid_line_is_an_error(datapath):
    path = Path(datapath) / CHATS / "train.txt"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines) + "\n" + lines[0][:40])
    with pytest.raises(DataFormatError, match=rf"train\.txt, line {len(lines) + 1}, .*truncated\?"):
        load(T, "train:ordered", datapath)
