"""DECODE contradiction teacher on the committed fixtures: first examples and counts, test types, label modes,
display_data, a CRINGE training run, and the errors for missing, malformed and unlabelled data."""

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

T = "tasks.contradiction.agents:DecodeTeacher"
DECODE_DIR = "decode/decode_v0.1"


SNAPSHOT = {  # fold -> (count, first example's fields, polarity of every example in order)
    "train": (
        4,
        {
            "text": "I have two cats at home.\nNice! What are their names?",
            "labels": ["I don't have any pets, actually."],
            "classifier_label": "neg",
            "source": "decode",
            "record_id": "train-1",
            "contradiction_indices": [0, 2],
        },
        ["neg", "pos", "neg", "pos"],
    ),
    "valid": (
        2,
        {"text": "My sister is a pilot.\nDoes she fly abroad?", "labels": ["I am an only child."]},
        ["neg", "pos"],
    ),
    "test": (
        2,
        {"text": "I am vegetarian.\nWhat is your favourite dish?", "labels": ["A big beef steak, rare."]},
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
    assert all(ex["episode_done"] for ex in examples)


def test_consistent_last_turn_is_positive_with_its_context(datapath):
    examples, _ = load("tasks.contradiction.agents", "train:ordered", datapath)  # DefaultTeacher
    assert examples[3]["text"] == "I work as a nurse.\nThat must be tiring."
    assert examples[3]["labels"] == ["Night shifts at the hospital are the hardest part."]
    assert examples[3]["classifier_label"] == "pos" and examples[3]["contradiction_indices"] == []


@pytest.mark.parametrize(
    ("test_type", "reply", "label"),
    [
        ("human-bot", "I have never owned a dog.", "neg"),
        ("a2t", "Green, mostly.", "pos"),
        ("rct", "I do not have a driving licence.", "neg"),
    ],
)
def test_test_types_read_their_own_file(datapath, test_type, reply, label):
    examples, _ = load(f"{T}:test_type={test_type}", "test", datapath)
    assert len(examples) == 1 and examples[0]["classifier_label"] == label
    assert examples[0]["labels"] == [reply]


def test_unknown_test_type_is_refused(datapath):
    with pytest.raises(ValueError, match="--test_type must be one of"):
        load(f"{T}:test_type=vanila", "test", datapath)


def test_classifier_mode_with_context(datapath):
    examples, _ = load(f"{T}:cringe_label_mode=classifier:cringe_classifier_input=context_reply", "valid", datapath)
    assert examples[0]["text"] == "My sister is a pilot.\nDoes she fly abroad?\nI am an only child."
    assert [ex["labels"] for ex in examples] == [["neg"], ["pos"]]
    negatives, teacher = load(f"{T}:cringe_keep=neg", "train:ordered", datapath)
    assert [ex["record_id"] for ex in negatives] == ["train-1", "train-3"] and teacher.num_examples() == 2


def test_parlai_own_teacher_reads_the_fixtures(datapath):
    """The fixtures are in ParlAI's on-disk format: its stock teacher loads them without downloading."""
    examples, _ = load("decode", "train:ordered", datapath)
    assert len(examples) == 12  # 4 dialogues of 3 turns
    assert [ex["labels"][0] for ex in examples[:3]] == ["none", "none", "contradiction"]


@pytest.mark.parametrize("task", [T, "tasks.contradiction.agents"])
def test_display_data(datapath, capsys, parlai_log, task):
    DisplayData.main(task=task, datapath=datapath, num_examples=50, display_add_fields="classifier_label")
    out = capsys.readouterr().out
    assert "loaded 4 episodes with a total of 4 examples" in parlai_log
    assert out.count("END OF EPISODE") == 4
    assert "[labels]: I don't have any pets, actually." in out and "[classifier_label]: neg" in out


@pytest.mark.integration
def test_cringe_agent_trains_on_decode(datapath, tmp_path):
    valid, test = train_cringe_steps(T, datapath, str(tmp_path / "model"), batchsize=2)
    assert int(valid["exs"]) == 2 and int(test["exs"]) == 2
    assert int(valid["total_train_updates"]) == 3
    assert int(test["neg_tokens"]) > 0 and int(test["pos_tokens"]) > 0  # classifier_label reached the loss


def test_world_log_replies_teacher_is_reexported(datapath, tmp_path):
    log = tmp_path / "gen.jsonl"
    teacher = {"text": "I have a cat.\nWhat is its name?", "eval_labels": ["Tom."], "episode_done": True}
    log.write_text(json.dumps({"dialog": [[teacher, {"id": "M", "text": "I have no pets."}]]}) + "\n")
    examples, _ = load(
        "tasks.contradiction.agents:WorldLogRepliesTeacher",
        "valid",
        datapath,
        jsonfile_datapath=str(log),
        cringe_classifier_input="context_reply",
    )
    assert [ex["text"] for ex in examples] == ["I have a cat.\nWhat is its name?\nI have no pets."]


def test_missing_data_offline_gives_one_clear_error(datapath, monkeypatch):
    def fail(url, path, fname, *args, **kwargs):
        raise RuntimeError("Connection broken too many times. Stopped retrying.")

    monkeypatch.setattr(build_data, "download", fail)
    shutil.rmtree(Path(datapath) / "decode")
    with pytest.raises(DataNotFoundError) as info:
        load(T, "valid", datapath)
    message = str(info.value)
    for part in ("DECODE", str(Path(datapath) / "decode"), "decode_v0.1/dev.jsonl", "'v0.1.1'", "decode_v0.1.zip"):
        assert part in message, part
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_truncated_line_and_missing_field_name_file_line_and_field(datapath):
    path = Path(datapath) / DECODE_DIR / "dev.jsonl"
    first, second = path.read_text().splitlines()
    path.write_text(first + "\n" + second[:80] + "\n")
    with pytest.raises(DataFormatError, match=r"dev\.jsonl, line 2 column \d+, field '\(JSON\)'"):
        load(T, "valid", datapath)
    record = json.loads(first)
    del record["turns"][1]["text"]
    path.write_text(json.dumps(record) + "\n")
    with pytest.raises(DataFormatError, match=r"dev\.jsonl, line 1, turns\[1\], field 'text': missing"):
        load(T, "valid", datapath)


def test_records_without_usable_label_are_counted_and_reported(datapath, parlai_log):
    path = Path(datapath) / DECODE_DIR / "train.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines()]
    records[1]["is_contradiction"] = None
    del records[2]["is_contradiction"]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    examples, teacher = load(T, "train:ordered", datapath)
    assert [ex["record_id"] for ex in examples] == ["train-1", "train-4"]
    assert teacher.unusable_labels == 2
    assert any("train.jsonl: skipped 2 record(s) with no usable label (line 2, line 3)" in m for m in parlai_log)


def test_byte_that_is_not_utf8_names_file_line_and_offset(datapath):
    path = Path(datapath) / DECODE_DIR / "dev.jsonl"
    first, second = path.read_bytes().split(b"\n")[:2]
    path.write_bytes(second + b"\n" + first.replace(b"pilot", b"pil\xf6t", 1) + b"\n")
    offset = len(second) + 1 + first.index(b"pilot") + 3
    with pytest.raises(DataFormatError, match=rf"dev\.jsonl, line 2 \(byte offset {offset}\), .*not valid UTF-8"):
        load(T, "valid", datapath)


def test_file_cut_after_a_whole_record_is_an_error(datapath):
    path = Path(datapath) / DECODE_DIR / "dev.jsonl"
    path.write_text(path.read_text().rstrip("\n"))
    with pytest.raises(DataFormatError, match=r"dev\.jsonl, line 2, .*file ends mid-line: truncated\?"):
        load(T, "valid", datapath)


def test_a_folder_with_an_old_built_is_left_untouched(datapath, monkeypatch):
    calls = []
    monkeypatch.setattr(build_data, "download", lambda *args, **kwargs: calls.append(args))
    folder = Path(datapath) / "decode"
    (folder / ".built").write_text("2020-01-01\nv0.1.0")
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    with pytest.raises(DataNotFoundError, match=r"version 'v0\.1\.0' \(expected 'v0\.1\.1'\).*left untouched"):
        load(T, "valid", datapath)
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before and not calls
