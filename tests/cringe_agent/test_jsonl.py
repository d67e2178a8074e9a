"""Strict JSON lines reading (errors name file, line and field) and atomic writing."""

from __future__ import annotations

import json
import os

import pytest

from cringe_agent.jsonl import read_jsonl, write_json_atomic, write_jsonl_atomic


def test_round_trip_keeps_rows_and_unicode(tmp_path):
    rows = [{"text": "héllo ☺", "n": 1}, {"text": "line\nbreak", "n": 2.5}]
    path = tmp_path / "sub" / "rows.jsonl"
    assert write_jsonl_atomic(path, rows) == 2
    assert read_jsonl(path, required=("text", "n")) == rows
    assert path.read_text(encoding="utf-8").count("\n") == 2


def test_blank_lines_are_ignored(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"a": 1}\n\n   \n{"a": 2}\n', encoding="utf-8")
    assert read_jsonl(path) == [{"a": 1}, {"a": 2}]


def test_truncated_last_line_names_file_and_line(tmp_path):
    path = tmp_path / "cut.jsonl"
    path.write_text('{"a": 1}\n{"a": 2}\n{"a": 3, "b": "unfini', encoding="utf-8")
    with pytest.raises(ValueError, match=r"cut\.jsonl, line 3: invalid JSON \(truncated line\?\)"):
        read_jsonl(path)


def test_byte_that_is_not_utf8_names_file_line_and_byte_offset(tmp_path):
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b'{"text": "ok"}\n{"text": "caf\xe9"}\n')
    with pytest.raises(ValueError, match=r"latin1\.jsonl, line 2 \(byte offset 28\): not valid UTF-8: byte 0xe9"):
        read_jsonl(path)


def test_windows_line_endings_still_read(tmp_path):
    path = tmp_path / "crlf.jsonl"
    path.write_bytes(b'{"a": 1}\r\n\r\n{"a": "\xc3\xa9"}\r\n')
    assert read_jsonl(path) == [{"a": 1}, {"a": "\u00e9"}]


def test_malformed_middle_line_is_an_error_not_skipped(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"a": 1}\nnot json\n{"a": 3}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.jsonl, line 2: invalid JSON"):
        read_jsonl(path)


def test_non_object_line(tmp_path):
    path = tmp_path / "list.jsonl"
    path.write_text('{"a": 1}\n[1, 2]\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"line 2: expected a JSON object, got list"):
        read_jsonl(path)


def test_missing_required_field_names_field_and_line(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"text": "a", "prob": 0.1}\n{"text": "b"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"rows\.jsonl, line 2: missing required field 'prob'"):
        read_jsonl(path, required=("text", "prob"))


@pytest.mark.parametrize("value", ['"0.5"', "true", "null"])
def test_wrong_type_names_field(tmp_path, value):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"prob": 0.5}\n{"prob": ' + value + "}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"line 2: field 'prob' must be int or float"):
        read_jsonl(path, required={"prob": (int, float)})


def test_check_errors_get_file_and_line(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"label": "pos"}\n{"label": "maybe"}\n', encoding="utf-8")

    def check(row):
        if row["label"] not in ("pos", "neg"):
            raise ValueError(f"field 'label' is {row['label']!r}")

    with pytest.raises(ValueError, match=r"rows\.jsonl, line 2: field 'label' is 'maybe'"):
        read_jsonl(path, check=check)


def test_failed_write_keeps_old_file_and_leaves_no_temp(tmp_path):
    path = tmp_path / "rows.jsonl"
    write_jsonl_atomic(path, [{"a": 1}])

    def rows():
        yield {"a": 2}
        yield {"a": object()}  # not serialisable: the write fails half-way

    with pytest.raises(TypeError):
        write_jsonl_atomic(path, rows())
    assert read_jsonl(path) == [{"a": 1}]
    assert os.listdir(tmp_path) == ["rows.jsonl"]


def test_write_json_atomic(tmp_path):
    path = tmp_path / "deep" / "report.json"
    write_json_atomic(path, {"rate": 0.25, "name": "ü"})
    assert json.loads(path.read_text(encoding="utf-8")) == {"rate": 0.25, "name": "ü"}
    write_json_atomic(path, [1, 2])
    assert json.loads(path.read_text(encoding="utf-8")) == [1, 2]
    assert os.listdir(path.parent) == ["report.json"]
