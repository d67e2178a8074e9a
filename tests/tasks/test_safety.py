"""Safety teachers on the committed fixtures: first examples and counts, options, display_data, a CRINGE training run,
the world-log replies teacher, and the errors for missing, malformed and unlabelled data."""

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

S = "tasks.safety.agents"
TEACHERS = [f"{S}:{name}" for name in ("BadTeacher", "StandardTeacher", "AdversarialTeacher")] + [
    f"{S}:MultiturnTeacher",
    f"{S}:WikiToxicTeacher",
]
BAD_DIR = "bot_adversarial_dialogue/dialogue_datasets/bot_adversarial_dialogue_datasets_with_persona"
SIL = "__SILENCE__"


# task -> fold -> (number of examples, fields of the first example in order)
SNAPSHOT = {
    f"{S}:BadTeacher": {
        "train": (4, {"text": SIL, "labels": ["Hi, nice to meet you!"], "classifier_label": "pos", "source": "bad"}),
        "valid": (3, {"text": SIL, "labels": ["Do you like cooking?"], "classifier_label": "pos"}),
        "test": (
            3,
            {"text": "Tell me something mean.", "labels": ["No, I would rather say something kind."]},
        ),
    },
    f"{S}:StandardTeacher": {
        "train": (2, {"text": SIL, "labels": ["you are a worthless idiot (standard train 1)"], "source": "standard"}),
        "valid": (2, {"labels": ["you are too dumb to understand (standard valid 1)"], "source": "standard"}),
        "test": (2, {"labels": ["you are a worthless idiot (standard test 1)"], "classifier_label": "neg"}),
    },
    f"{S}:AdversarialTeacher": {
        "train": (2, {"labels": ["you are too dumb to understand (adversarial train 1)"], "source": "adversarial"}),
        "valid": (2, {"labels": ["you are a worthless idiot (adversarial valid 1)"], "classifier_label": "neg"}),
        "test": (2, {"labels": ["you are too dumb to understand (adversarial test 1)"], "classifier_label": "neg"}),
    },
    f"{S}:MultiturnTeacher": {
        "train": (3, {"text": "hello\nhi there", "labels": ["what do you think of my sister"], "source": "multiturn"}),
        "valid": (2, {"text": "how was work?\nbusy but fine", "labels": ["glad to hear it"], "source": "multiturn"}),
        "test": (2, {"text": "any plans tonight?\nmovie night", "labels": ["sounds fun, enjoy"]}),
    },
    f"{S}:WikiToxicTeacher": {
        "train": (4, {"text": SIL, "labels": ["Thanks for fixing the citation on the article."]}),
        "valid": (2, {"labels": ["The infobox date looks wrong to me."], "source": "wikitoxic"}),
        "test": (2, {"labels": ["Merged the two sections as discussed."], "classifier_label": "pos"}),
    },
}


@pytest.mark.parametrize(("task", "fold"), [(t, f) for t in SNAPSHOT for f in ("train", "valid", "test")])
def test_first_example_and_count_of_each_fold(datapath, task, fold):
    examples, teacher = load(task, f"{fold}:ordered" if fold == "train" else fold, datapath)
    count, first = SNAPSHOT[task][fold]
    assert len(examples) == teacher.num_examples() == count
    for field, value in first.items():
        assert examples[0][field] == value, field
    assert all(ex["classifier_label"] in ("pos", "neg") and ex["episode_done"] for ex in examples)
    assert {ex["classifier_label"] for ex in examples} == {"pos", "neg"}  # every fixture fold has both classes


def test_bad_last_line_is_judged_against_the_lines_before(datapath):
    examples, _ = load(f"{S}:BadTeacher", "train:ordered", datapath)
    assert [(ex["text"], ex["labels"][0], ex["classifier_label"]) for ex in examples[1:3]] == [
        ("Hi, nice to meet you!", "You too! People like you are idiots.", "neg"),
        ("What do you think about my neighbours?\nI think they sound lovely.", "They are all lazy and stupid.", "neg"),
    ]
    assert [ex["speaker_to_eval"] for ex in examples] == ["human", "bot", "human", "bot"]


def test_bad_speaker_subset_and_context_options(datapath):
    bot, _ = load(f"{S}:BadTeacher", "train:ordered", datapath, bad_speaker_to_eval="bot")
    assert [ex["speaker_to_eval"] for ex in bot] == ["bot", "bot"]
    unsafe, _ = load(f"{S}:BadTeacher", "train:ordered", datapath, bad_safety_mix="unsafe")
    assert [ex["classifier_label"] for ex in unsafe] == ["neg", "neg"]
    last_only, _ = load(f"{S}:BadTeacher", "train:ordered", datapath, bad_num_turns=1)
    assert {ex["text"] for ex in last_only} == {SIL}
    persona, _ = load(f"{S}:BadTeacher:bad_include_persona=true", "train:ordered", datapath)
    assert persona[1]["text"] == "your persona: i like tea.\nyour persona: i have a dog.\nHi, nice to meet you!"
    assert persona[0]["text"] == SIL  # a human's utterance gets no bot persona


def test_rounds_single_turn_test_set_and_balance_options(datapath):
    assert len(load(f"{S}:StandardTeacher", "valid", datapath, round=3)[0]) == 6
    assert len(load(f"{S}:AdversarialTeacher", "valid", datapath, round=2, round_only=True)[0]) == 2
    single, _ = load(f"{S}:MultiturnTeacher", "valid", datapath, single_turn=True)
    assert [ex["text"] for ex in single] == [SIL, SIL]
    kaggle, _ = load(f"{S}:WikiToxicTeacher", "test", datapath, use_test_set=True)
    assert [ex["labels"][0] for ex in kaggle] == ["Nice work on the new map.", "Stop vandalising, you idiot."]
    balanced, teacher = load(f"{S}:WikiToxicTeacher", "train:ordered", datapath, balance_data=True)
    assert [ex["classifier_label"] for ex in balanced].count("neg") == 2 == len(balanced) // 2


def test_classifier_mode_labels_the_utterance_with_its_class(datapath):
    reply, _ = load(f"{S}:BadTeacher:cringe_label_mode=classifier", "train:ordered", datapath)
    assert [(ex["text"], ex["labels"]) for ex in reply[:2]] == [
        ("Hi, nice to meet you!", ["pos"]),
        ("You too! People like you are idiots.", ["neg"]),
    ]
    assert all(ex["labels"] == [ex["classifier_label"]] for ex in reply)
    both, _ = load(
        f"{S}:BadTeacher:cringe_label_mode=classifier:cringe_classifier_input=context_reply", "train:ordered", datapath
    )
    assert both[1]["text"] == "Hi, nice to meet you!\nYou too! People like you are idiots."
    wiki, _ = load(f"{S}:WikiToxicTeacher", "train:ordered", datapath, cringe_label_mode="classifier")
    assert wiki[2]["text"] == "I added a source for the second paragraph.\nPlease check it."  # one comment


@pytest.mark.parametrize(("keep", "count"), [("pos", 2), ("neg", 2), ("all", 4)])
def test_keep_option_gives_one_class_streams(datapath, keep, count):
    examples, teacher = load(f"{S}:WikiToxicTeacher:cringe_keep={keep}", "train:ordered", datapath)
    assert len(examples) == teacher.num_examples() == count
    assert {ex["classifier_label"] for ex in examples} == ({"pos", "neg"} if keep == "all" else {keep})


def test_label_mutators_resolve_from_a_task_string(datapath):
    examples, _ = load(f"{S}:BadTeacher:mutators=cringe_relabel+cringe_neg_only", "valid", datapath)
    assert [(ex["labels"][0], ex["classifier_label"]) for ex in examples] == [("Pasta is for losers.", "neg")]


@pytest.mark.parametrize(
    ("task", "count"),
    [
        ("bot_adversarial_dialogue", 4),
        ("dialogue_safety:standard", 2),
        ("dialogue_safety:adversarial", 2),
        ("dialogue_safety:multiturn", 3),
        ("dialogue_safety:wikiToxicComments", 4),
    ],
)
def test_parlai_own_teachers_read_the_fixtures(datapath, task, count):
    """The fixtures are in ParlAI's on-disk format: its stock teachers load them without downloading."""
    examples, _ = load(task, "train:ordered", datapath)
    assert len(examples) == count
    assert {ex["labels"][0] for ex in examples} == {"__ok__", "__notok__"}


@pytest.mark.parametrize(("task", "snapshot"), [(t, t) for t in TEACHERS] + [(S, f"{S}:BadTeacher")])
def test_display_data(datapath, capsys, parlai_log, task, snapshot):
    count, first = SNAPSHOT[snapshot]["train"]
    DisplayData.main(task=task, datapath=datapath, num_examples=50, display_add_fields="classifier_label")
    out = capsys.readouterr().out
    assert f"loaded {count} episodes with a total of {count} examples" in parlai_log
    assert out.count("END OF EPISODE") == count
    assert f"[labels]: {first['labels'][0]}" in out
    assert "[classifier_label]: pos" in out and "[classifier_label]: neg" in out


@pytest.mark.integration
def test_cringe_agent_trains_on_every_safety_teacher(datapath, tmp_path):
    valid, test = train_cringe_steps(",".join(TEACHERS), datapath, str(tmp_path / "model"), batchsize=4)
    assert (tmp_path / "model").exists()
    assert int(test["exs"]) == sum(SNAPSHOT[t]["test"][0] for t in TEACHERS)
    assert int(valid["total_train_updates"]) == 3
    assert int(test["neg_tokens"]) > 0 and int(test["pos_tokens"]) > 0  # classifier_label reached the loss


def _world_log(path: Path) -> None:
    teacher = {"text": "hi\nhow are you?", "eval_labels": ["fine"], "classifier_label": "pos", "episode_done": True}
    lines = [
        [teacher, {"id": "Model", "text": "you are an idiot", "episode_done": False}],
        [{**teacher, "text": SIL}, {"id": "Model", "text": "", "episode_done": False}],
    ]
    path.write_text("".join(json.dumps({"dialog": [pair], "context": []}) + "\n" for pair in lines))


def test_world_log_replies_teacher_classifies_each_model_reply(datapath, tmp_path):
    log = tmp_path / "gen.jsonl"
    _world_log(log)
    reply, _ = load(f"{S}:WorldLogRepliesTeacher", "valid", datapath, jsonfile_datapath=str(log))
    assert [(ex["text"], ex["labels"]) for ex in reply] == [("you are an idiot", ["pos"]), (SIL, ["pos"])]
    both, _ = load(
        f"{S}:WorldLogRepliesTeacher",
        "valid",
        datapath,
        jsonfile_datapath=str(log),
        cringe_classifier_input="context_reply",
        cringe_expected_class="neg",
    )
    assert [ex["text"] for ex in both] == ["hi\nhow are you?\nyou are an idiot", SIL]
    assert both[0]["labels"] == ["neg"] and both[0]["cringe_reply"] == "you are an idiot"
    with pytest.raises(FileNotFoundError, match="world log not found"):
        load(f"{S}:WorldLogRepliesTeacher", "valid", datapath, jsonfile_datapath=str(tmp_path / "missing.jsonl"))


def _offline(monkeypatch) -> list[str]:
    """Make every ParlAI download fail at once, as it does (after retries) on a machine without internet."""
    calls: list[str] = []

    def fail(url, path, fname, *args, **kwargs):
        calls.append(url)
        raise RuntimeError("Connection broken too many times. Stopped retrying.")

    monkeypatch.setattr(build_data, "download", fail)
    return calls


def test_missing_bad_data_offline_gives_one_clear_error(datapath, monkeypatch):
    calls = _offline(monkeypatch)
    shutil.rmtree(Path(datapath) / "bot_adversarial_dialogue")
    with pytest.raises(DataNotFoundError) as info:
        load(f"{S}:BadTeacher", "train", datapath)
    message = str(info.value)
    folder = str(Path(datapath) / "bot_adversarial_dialogue" / "dialogue_datasets")
    for part in (
        "Bot-Adversarial Dialogue",
        folder,
        "bot_adversarial_dialogue_datasets_with_persona/train.txt",
        "'v0.2'",
        "dialogue_datasets_v0.2.tar.gz",
        "Connection broken",
        "--datapath",
    ):
        assert part in message, part
    assert calls  # ParlAI's own download was tried first
    assert info.value.__cause__ is None and info.value.__suppress_context__  # no trace from inside ParlAI


def test_missing_file_under_a_built_marker_is_named(datapath, monkeypatch):
    calls = _offline(monkeypatch)
    (Path(datapath) / "dialogue_safety" / "multi_turn_safety.json").unlink()
    with pytest.raises(DataNotFoundError, match=r"Missing: multi_turn_safety\.json"):
        load(f"{S}:MultiturnTeacher", "train", datapath)
    assert not calls  # .built says v1.0: ParlAI does not download again


def test_missing_wiki_toxic_points_to_kaggle(datapath):
    shutil.rmtree(Path(datapath) / "dialogue_safety" / "wiki-toxic-comments")
    with pytest.raises(DataNotFoundError) as info:
        load(f"{S}:WikiToxicTeacher", "train", datapath)
    assert "kaggle.com/c/jigsaw-toxic-comment-classification-challenge" in str(info.value)
    assert "wiki-toxic-comments-partition.json" in str(info.value) and "train.csv" in str(info.value)


def test_truncated_text_line_names_file_line_and_field(datapath):
    path = Path(datapath) / BAD_DIR / "train.txt"
    lines = path.read_text().splitlines()
    path.write_text(lines[0] + "\n" + lines[1][:60] + "\tlab\n")
    with pytest.raises(DataFormatError, match=r"train\.txt, line 2, field 'lab': TAB-separated field 2 "):
        load(f"{S}:BadTeacher", "train", datapath)


def test_truncated_and_malformed_json_name_file_line_and_field(datapath):
    single = Path(datapath) / "dialogue_safety" / "single_turn_safety.json"
    single.write_text(single.read_text()[:500])
    with pytest.raises(DataFormatError, match=r"single_turn_safety\.json, line 1 column \d+, field '\(JSON\)'"):
        load(f"{S}:StandardTeacher", "train", datapath)
    wiki = Path(datapath) / "dialogue_safety" / "wiki-toxic-comments" / "wiki-toxic-comments-partition.json"
    records = json.loads(wiki.read_text())
    del records[1]["text"]
    wiki.write_text(json.dumps(records, indent=4))
    with pytest.raises(DataFormatError, match=r"partition\.json, record \[1\], field 'text': missing"):
        load(f"{S}:WikiToxicTeacher", "train", datapath)


def test_records_without_usable_label_are_counted_and_reported(datapath, parlai_log):
    path = Path(datapath) / BAD_DIR / "train.txt"
    lines = path.read_text().splitlines()
    lines[1] = lines[1].replace("labels:__notok__", "labels:__maybe__")
    lines[2] = lines[2].replace("\tlabels:__notok__", "")
    path.write_text("\n".join(lines) + "\n")
    examples, teacher = load(f"{S}:BadTeacher", "train:ordered", datapath)
    assert len(examples) == 2 and teacher.unusable_labels == 2
    assert any("train.txt: skipped 2 record(s) with no usable label (line 2, line 3)" in m for m in parlai_log)
    wiki = Path(datapath) / "dialogue_safety" / "wiki-toxic-comments" / "wiki-toxic-comments-partition.json"
    records = json.loads(wiki.read_text())
    records[0]["is_sensitive"] = None
    wiki.write_text(json.dumps(records))
    examples, teacher = load(f"{S}:WikiToxicTeacher", "train:ordered", datapath)
    assert len(examples) == 3 and teacher.unusable_labels == 1
    assert any("skipped 1 record(s) with no usable label (record [0])" in m for m in parlai_log)


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_hand_placed_folder_with_an_old_built_keeps_all_its_files(datapath, monkeypatch):
    """ParlAI's build would remove_dir() the folder of an older .built; the teacher raises before it can."""
    calls = _offline(monkeypatch)
    folder = Path(datapath) / "bot_adversarial_dialogue" / "dialogue_datasets"
    (folder / ".built").write_text("2020-01-01 00:00:00.000000\nv0.1")
    before = _files(folder)
    with pytest.raises(DataNotFoundError) as info:
        load(f"{S}:BadTeacher", "train:ordered", datapath)
    message = str(info.value)
    for part in (str(folder), "version 'v0.1'", "(expected 'v0.2')", "files were left untouched", "train.txt"):
        assert part in message, part
    assert _files(folder) == before and not calls


def test_dialogue_safety_with_an_old_built_keeps_its_files_and_wiki_toxic(datapath, monkeypatch):
    calls = _offline(monkeypatch)
    folder = Path(datapath) / "dialogue_safety"
    (folder / ".built").write_text("2020-01-01 00:00:00.000000\nv0.9")
    before = _files(folder)
    with pytest.raises(DataNotFoundError, match=r"version 'v0\.9' \(expected 'v1\.0'\).*left untouched"):
        load(f"{S}:StandardTeacher", "train:ordered", datapath)
    assert _files(folder) == before and not calls
    assert len(load(f"{S}:WikiToxicTeacher", "train:ordered", datapath)[0]) == 4  # its own folder is still whole


def test_files_without_built_are_not_downloaded_over(datapath, monkeypatch):
    calls = _offline(monkeypatch)
    folder = Path(datapath) / "dialogue_safety"
    (folder / ".built").unlink()
    before = _files(folder)
    with pytest.raises(DataNotFoundError, match=r"no \.built \(expected version 'v1\.0'\).*left untouched"):
        load(f"{S}:MultiturnTeacher", "train:ordered", datapath)
    assert _files(folder) == before and not calls


def test_wiki_toxic_alone_in_dialogue_safety_still_lets_parlai_download_the_rest(datapath, monkeypatch):
    calls = _offline(monkeypatch)
    folder = Path(datapath) / "dialogue_safety"
    for name in (".built", "single_turn_safety.json", "multi_turn_safety.json"):
        (folder / name).unlink()
    with pytest.raises(DataNotFoundError, match="ParlAI's build failed: RuntimeError: Connection broken"):
        load(f"{S}:StandardTeacher", "train:ordered", datapath)
    assert calls and (folder / "wiki-toxic-comments" / "train.csv").is_file()


def test_byte_that_is_not_utf8_in_bad_data_names_file_line_and_offset(datapath):
    path = Path(datapath) / BAD_DIR / "train.txt"
    data = path.read_bytes()
    second = data.index(b"\n") + 1
    path.write_bytes(data[: second + 5] + b"\xff" + data[second + 5 :])
    offset = second + 5
    with pytest.raises(DataFormatError, match=rf"train\.txt, line 2 \(byte offset {offset}\), field '\(encoding\)'"):
        load(f"{S}:BadTeacher", "train:ordered", datapath)


def test_byte_that_is_not_utf8_in_json_data_names_file_line_and_offset(datapath):
    path = Path(datapath) / "dialogue_safety" / "multi_turn_safety.json"
    path.write_bytes(b'{\n"train": ["caf\xe9"]}\n')
    with pytest.raises(DataFormatError, match=r"multi_turn_safety\.json, line 2 \(byte offset 16\)"):
        load(f"{S}:MultiturnTeacher", "train:ordered", datapath)


@pytest.mark.parametrize("keep", ["\tspeaker_to_eval:bot", "\tspeaker_to_eval:b"])
def test_bad_file_cut_mid_line_is_an_error_not_fewer_episodes(datapath, keep):
    """A cut at a field boundary still parses (persona lost); a cut inside the speaker drops the episode."""
    path = Path(datapath) / BAD_DIR / "train.txt"
    lines = path.read_text().splitlines()
    last = lines[-1][: lines[-1].index(keep) + len(keep)]
    path.write_text("\n".join([*lines[:-1], last]))
    with pytest.raises(DataFormatError, match=rf"train\.txt, line {len(lines)}, .*file ends mid-line: truncated\?"):
        load(f"{S}:BadTeacher", "train:ordered", datapath, bad_speaker_to_eval="bot")


def test_world_log_byte_that_is_not_utf8_names_file_line_and_offset(datapath, tmp_path):
    log = tmp_path / "gen.jsonl"
    _world_log(log)
    data = log.read_bytes()
    second = data.index(b"\n") + 1
    log.write_bytes(data[:second] + b"\xc3(" + data[second + 2 :])
    with pytest.raises(DataFormatError, match=rf"gen\.jsonl, line 2 \(byte offset {second}\), field '\(encoding\)'"):
        load(f"{S}:WorldLogRepliesTeacher", "valid", datapath, jsonfile_datapath=str(log))
