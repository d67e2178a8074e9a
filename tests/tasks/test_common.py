"""tasks.common: the strict readers (bytes that are not UTF-8, files cut mid-line, skipped records counted) and
require_data, which never lets ParlAI's build delete or overwrite files placed by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasks.common.data import DataNotFoundError, built_version, require_data
from tasks.common.readers import DataFormatError, UnusableLabels, load_json, read_jsonl, read_parlai_text

# ---------------------------------------------------------------------------------------------------------------
# readers


def test_parlai_text_byte_that_is_not_utf8_names_file_line_and_offset(tmp_path):
    path = tmp_path / "train.txt"
    path.write_bytes(b"text:hi\tlabels:__ok__\n" + b"text:caf\xe9\tlabels:__ok__\n")
    with pytest.raises(
        DataFormatError,
        match=r"train\.txt, line 2 \(byte offset 30\), field '\(encoding\)': not valid UTF-8: byte 0xe9",
    ):
        list(read_parlai_text(str(path)))


def test_jsonl_byte_that_is_not_utf8_names_file_line_and_offset(tmp_path):
    path = tmp_path / "dev.jsonl"
    path.write_bytes(b'{"a": 1}\n{"a": 2}\n{"a": "\xff"}\n')
    with pytest.raises(DataFormatError, match=r"dev\.jsonl, line 3 \(byte offset 25\), field '\(encoding\)'"):
        list(read_jsonl(str(path)))


def test_json_byte_that_is_not_utf8_names_file_line_and_offset(tmp_path):
    path = tmp_path / "single.json"
    path.write_bytes(b'{\n  "a": [\n    "caf\xe9"\n  ]\n}\n')
    with pytest.raises(DataFormatError, match=r"single\.json, line 3 \(byte offset 19\), field '\(encoding\)'"):
        load_json(str(path))


@pytest.mark.parametrize(
    "tail",
    [
        b"text:cut here\tlabels:__ok__\tepisode_done:True\tspeaker_to_eval:hum",  # cut inside a field
        b"text:cut here\tlabels:__ok__\tepisode_done:True",  # cut at a field boundary: still parses
    ],
)
def test_parlai_text_cut_mid_line_is_an_error(tmp_path, tail):
    path = tmp_path / "train.txt"
    path.write_bytes(b"text:hi\tlabels:__ok__\tepisode_done:True\tspeaker_to_eval:human\n" + tail)
    with pytest.raises(DataFormatError, match=r"train\.txt, line 2, .*file ends mid-line: truncated\?"):
        list(read_parlai_text(str(path)))


def test_jsonl_cut_after_a_whole_record_without_newline_is_an_error(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text('{"a": 1}\n{"a": 2}', encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"train\.jsonl, line 2, .*file ends mid-line: truncated\?"):
        list(read_jsonl(str(path)))


def test_complete_files_read_with_blank_lines_and_crlf(tmp_path):
    text = tmp_path / "train.txt"
    text.write_bytes(b"text:caf\xc3\xa9\tlabels:__ok__\n\ntext:b\tlabels:__notok__\n")
    assert [(n, m["text"]) for n, m in read_parlai_text(str(text))] == [(1, "caf\u00e9"), (3, "b")]
    lines = tmp_path / "train.jsonl"
    lines.write_bytes(b'{"a": 1}\r\n\r\n{"a": 2}\r\n')
    assert list(read_jsonl(str(lines))) == [(1, {"a": 1}), (3, {"a": 2})]
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    assert list(read_jsonl(str(empty))) == []


def test_unusable_labels_keep_every_reason():
    skipped = UnusableLabels("f.jsonl")
    skipped.add("line 1", "labels=None")
    skipped.add("line 2", "empty dialog")
    skipped.add("line 3", "labels=None")
    assert len(skipped) == 3 and skipped.reason == "labels=None"
    assert skipped.reasons == ["labels=None", "empty dialog"]


# ---------------------------------------------------------------------------------------------------------------
# require_data


def _folder(tmp_path: Path, built: str | None) -> Path:
    folder = tmp_path / "dataset"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "train.txt").write_text("mine\n")
    (folder / "notes.md").write_text("placed by hand\n")
    if built is not None:
        (folder / ".built").write_text(f"2020-01-01\n{built}" if built else "2020-01-01")
    return folder


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(
    ("built", "state"),
    [
        ("v0.1", r"its \.built holds version 'v0\.1' \(expected 'v0\.2'\)"),
        ("", r"its \.built holds version '\(none\)' \(expected 'v0\.2'\)"),
        (None, r"no \.built \(expected version 'v0\.2'\)"),
    ],
)
def test_a_folder_with_files_and_no_built_of_the_version_is_never_built(tmp_path, built, state):
    folder = _folder(tmp_path, built)
    before = _snapshot(folder)
    calls = []

    def build():  # what ParlAI's build does to a folder with an old .built
        calls.append(1)
        raise AssertionError("the build must not run")

    with pytest.raises(DataNotFoundError, match=state) as info:
        require_data("Demo", str(folder), "v0.2", ["sub/train.txt", "sub/valid.txt"], build, "Get it somewhere.")
    message = str(info.value)
    assert str(folder) in message and "left untouched" in message and "notes.md, sub/train.txt" in message
    assert "Missing: sub/valid.txt" in message
    assert not calls and _snapshot(folder) == before
    assert built_version(str(folder)) == (built if built is not None else None)


@pytest.mark.parametrize("content", ["absent", "empty", "only .built"])
def test_an_absent_or_empty_folder_is_built(tmp_path, content):
    folder = tmp_path / "dataset"
    if content != "absent":
        folder.mkdir()
    if content == "only .built":
        (folder / ".built").write_text("2020-01-01\nv0.1")

    def build():
        folder.mkdir(exist_ok=True)
        (folder / "train.txt").write_text("downloaded\n")
        (folder / ".built").write_text("2024-01-01\nv0.2")

    require_data("Demo", str(folder), "v0.2", ["train.txt"], build, "Get it somewhere.")
    assert (folder / "train.txt").read_text() == "downloaded\n"


def test_another_datasets_folder_inside_does_not_stop_a_build_without_built(tmp_path):
    folder = tmp_path / "dialogue_safety"
    (folder / "wiki-toxic-comments").mkdir(parents=True)
    (folder / "wiki-toxic-comments" / "train.csv").write_text("id,comment_text\n")
    calls = []

    def build():
        calls.append(1)
        (folder / "single.json").write_text("{}")
        (folder / ".built").write_text("2024-01-01\nv1.0")

    require_data("Demo", str(folder), "v1.0", ["single.json"], build, "x", other_datasets=["wiki-toxic-comments"])
    assert calls and (folder / "wiki-toxic-comments" / "train.csv").exists()
    (folder / ".built").write_text("2020-01-01\nv0.9")  # now ParlAI's build would delete the whole folder
    with pytest.raises(DataNotFoundError, match=r"wiki-toxic-comments/train\.csv.*left untouched"):
        require_data("Demo", str(folder), "v1.0", ["single.json"], build, "x", other_datasets=["wiki-toxic-comments"])
    assert len(calls) == 1 and (folder / "wiki-toxic-comments" / "train.csv").exists()


def test_a_build_that_keeps_files_runs_on_a_folder_with_files(tmp_path):
    folder = _folder(tmp_path, None)
    calls = []

    def build():
        calls.append(1)
        (folder / "derived.json").write_text("[]")
        (folder / ".built").write_text("2024-01-01\nv1.0")

    require_data("Demo", str(folder), "v1.0", ["derived.json"], build, "x", build_keeps_files=True)
    assert calls and (folder / "notes.md").exists()


def test_a_built_folder_missing_a_file_names_it_without_building(tmp_path):
    folder = _folder(tmp_path, "v0.2")
    with pytest.raises(DataNotFoundError, match=r"Missing: sub/valid\.txt"):
        require_data("Demo", str(folder), "v0.2", ["sub/train.txt", "sub/valid.txt"], lambda: 1 / 0, "x")
