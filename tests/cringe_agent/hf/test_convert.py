"""Converters between the KTO layout and the generations files of tasks/generations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cringe_agent.hf import convert_file, generations_to_kto, kto_to_generations, read_generations_file, read_kto

GENERATIONS = [
    {"context": "how is the food", "text": "the food is good", "prob": 0.1, "label": "pos", "gold": "g", "round": 2},
    {"context": "how is the film", "text": "the film is dull", "prob": 0.8, "label": "neg"},
]


def test_kto_to_generations_maps_fields_and_labels(tiny: Any) -> None:
    rows = kto_to_generations(tiny.kto_rows())
    assert rows[0] == {"context": "how is the food", "text": "the food is really good", "prob": 0.0, "label": "pos"}
    assert rows[-1]["label"] == "neg" and rows[-1]["prob"] == 1.0
    with pytest.raises(ValueError, match="row 1: field 'label' must be bool"):
        kto_to_generations([{"prompt": "a", "completion": "b", "label": "pos"}])


def test_generations_to_kto_maps_fields_and_keeps_extras() -> None:
    rows = generations_to_kto(GENERATIONS)
    assert rows[0] == {
        "prompt": "how is the food", "completion": "the food is good", "label": True, "prob": 0.1,
        "gold": "g", "round": 2,
    }  # fmt: skip
    assert rows[1]["label"] is False
    with pytest.raises(ValueError, match="row 1: field 'label' must be 'pos' or 'neg'"):
        generations_to_kto([{**GENERATIONS[0], "label": "bad"}])


def test_round_trips(tiny: Any) -> None:
    assert kto_to_generations(generations_to_kto(GENERATIONS)) == GENERATIONS
    back = generations_to_kto(kto_to_generations(tiny.kto_rows()))
    assert [{key: row[key] for key in ("prompt", "completion", "label")} for row in back] == tiny.kto_rows()


def test_convert_file_both_ways(tmp_path: Path, tiny: Any) -> None:
    kto = tmp_path / "kto.jsonl"
    kto.write_text("".join(json.dumps(row) + "\n" for row in tiny.kto_rows()), encoding="utf-8")
    assert convert_file(kto, tmp_path / "out" / "generations.jsonl", to="generations") == len(tiny.kto_rows())
    generations = read_generations_file(tmp_path / "out" / "generations.jsonl")
    assert [row["label"] for row in generations] == ["pos"] * 4 + ["neg"] * 4
    assert convert_file(tmp_path / "out" / "generations.jsonl", tmp_path / "back.jsonl", to="kto") == 8
    back = read_kto(tmp_path / "back.jsonl")
    assert [{key: row[key] for key in ("prompt", "completion", "label")} for row in back] == tiny.kto_rows()
    with pytest.raises(ValueError, match="to must be"):
        convert_file(kto, tmp_path / "x.jsonl", to="parlai")


def test_written_generations_pass_the_teachers_own_reader(tmp_path: Path, tiny: Any) -> None:
    pytest.importorskip("parlai")
    from cringe_agent.mutators.generations import read_generations

    kto = tmp_path / "kto.jsonl"
    kto.write_text("".join(json.dumps(row) + "\n" for row in tiny.kto_rows()), encoding="utf-8")
    convert_file(kto, tmp_path / "generations.jsonl", to="generations")
    assert read_generations(str(tmp_path / "generations.jsonl")) == kto_to_generations(tiny.kto_rows())


def test_bad_generations_file_names_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "g.jsonl"
    path.write_text(json.dumps(GENERATIONS[0]) + "\n" + json.dumps({**GENERATIONS[1], "prob": 2}) + "\n")
    with pytest.raises(ValueError, match=r"g\.jsonl, line 2: field 'prob' must be in \[0, 1\]"):
        read_generations_file(path)
    path.write_text(json.dumps({**GENERATIONS[1], "label": "maybe"}) + "\n")
    with pytest.raises(ValueError, match=r"line 1: field 'label' must be 'pos' or 'neg'"):
        convert_file(path, tmp_path / "k.jsonl", to="kto")
