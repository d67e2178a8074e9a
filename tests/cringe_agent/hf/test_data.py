"""KTO reading (strict), tokenisation for causal and seq2seq models, and the collator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from cringe_agent.hf import CringeCollator, load_kto, read_kto, tokenize_causal, tokenize_seq2seq, validate_kto


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_read_kto_reads_rows_in_order(tmp_path: Path, tiny: Any) -> None:
    path = _write(tmp_path / "kto.jsonl", [json.dumps(row) for row in tiny.kto_rows()])
    assert read_kto(path) == tiny.kto_rows()
    assert load_kto(str(path)) == tiny.kto_rows()


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"prompt": "a", "label": true}', "line 2: missing required field 'completion'"),
        ('{"prompt": "a", "completion": "b", "label": 1}', "line 2: field 'label' must be bool"),
        ('{"prompt": "a", "completion": "b", "label": "true"}', "line 2: field 'label' must be bool"),
        ('{"prompt": 3, "completion": "b", "label": true}', "line 2: field 'prompt' must be str"),
        ('{"prompt": "a", "completion": "b", "lab', "line 2: invalid JSON"),
    ],
)
def test_read_kto_names_file_line_and_field(tmp_path: Path, line: str, message: str, tiny: Any) -> None:
    path = _write(tmp_path / "bad.jsonl", [json.dumps(tiny.kto_rows()[0]), line])
    with pytest.raises(ValueError, match=message) as err:
        read_kto(path)
    assert str(path) in str(err.value)


def test_validate_kto_names_row_and_field(tiny: Any) -> None:
    rows = tiny.kto_rows()
    rows[2] = {**rows[2], "label": 0}
    with pytest.raises(ValueError, match=r"row 3: field 'label' must be bool"):
        validate_kto(rows)
    with pytest.raises(ValueError, match=r"row 1: missing required field 'prompt'"):
        validate_kto([{"completion": "x", "label": True}])
    with pytest.raises(ValueError, match="DatasetDict"):
        validate_kto({"train": rows})


def test_load_kto_accepts_a_datasets_dataset(tiny: Any) -> None:
    datasets = pytest.importorskip("datasets")
    data = datasets.Dataset.from_list(tiny.kto_rows())
    assert load_kto(data) == tiny.kto_rows()


def test_causal_prompt_tokens_carry_no_label(tokenizer: Any) -> None:
    row = {"prompt": "how is the food", "completion": "the food is really awful", "label": False}
    (example,) = tokenize_causal([row], tokenizer)
    prompt = tokenizer("how is the food")["input_ids"]
    completion = tokenizer("the food is really awful", add_special_tokens=False)["input_ids"]
    eos = tokenizer.eos_token_id
    assert example["input_ids"] == prompt + completion + [eos]
    assert example["labels"] == [-100] * len(prompt) + completion + [eos]
    assert example["attention_mask"] == [1] * (len(prompt) + len(completion) + 1)
    assert example["feedback"] == 0
    assert tokenize_causal([{**row, "label": True}], tokenizer)[0]["feedback"] == 1


def test_causal_truncation_keeps_the_completion_end_of_prompt(tokenizer: Any) -> None:
    row = {"prompt": "how is the food", "completion": "the food is good", "label": True}
    (example,) = tokenize_causal([row], tokenizer, max_length=7)
    assert example["labels"][:2] == [-100, -100]  # the last two prompt tokens
    assert example["input_ids"][:2] == tokenizer("the food")["input_ids"]
    assert len(example["input_ids"]) == 7


def test_empty_completion_is_an_error(tokenizer: Any) -> None:
    with pytest.raises(ValueError, match="row 1: field 'completion' gives no tokens"):
        tokenize_causal([{"prompt": "how", "completion": "", "label": True}], tokenizer, add_eos=False)


def test_seq2seq_prompt_to_encoder_completion_to_labels(tokenizer: Any) -> None:
    row = {"prompt": "how is the film", "completion": "the film is really dull", "label": False}
    (example,) = tokenize_seq2seq([row], tokenizer)
    eos = tokenizer.eos_token_id
    assert example["input_ids"] == tokenizer("how is the film")["input_ids"]
    assert example["labels"] == tokenizer("the film is really dull")["input_ids"] + [eos]
    assert example["feedback"] == 0
    # a tokenizer that already ends with EOS is not given a second one
    ended = tokenize_seq2seq([{**row, "completion": "the film </s>"}], tokenizer)[0]["labels"]
    assert ended.count(eos) == 1


def test_collator_pads_right_and_carries_feedback(tokenizer: Any, tiny: Any) -> None:
    examples = tokenize_causal(tiny.kto_rows()[3:5], tokenizer)
    batch = CringeCollator(pad_token_id=0, pad_to_multiple_of=4)(examples)
    lengths = [len(example["input_ids"]) for example in examples]
    assert batch["input_ids"].shape == (2, -(-max(lengths) // 4) * 4)
    assert batch["feedback"].tolist() == [1, 0]
    assert batch["feedback"].dtype == torch.long
    for row, length in enumerate(lengths):
        assert batch["input_ids"][row, length:].eq(0).all()
        assert batch["attention_mask"][row, length:].eq(0).all() and batch["attention_mask"][row, :length].all()
        assert batch["labels"][row, length:].eq(-100).all()
        assert batch["labels"][row, :length].tolist() == examples[row]["labels"]
    with pytest.raises(ValueError, match="feedback"):
        CringeCollator(0)([{"input_ids": [1], "labels": [1]}])


def test_empty_or_whitespace_completion_is_refused_naming_the_row(tmp_path: Path) -> None:
    path = tmp_path / "kto.jsonl"
    rows = [
        {"prompt": "hi", "completion": "hello", "label": True},
        {"prompt": "hi", "completion": " \n", "label": False},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(ValueError, match=r"kto.jsonl, row 2: field 'completion' is empty or whitespace"):
        read_kto(path)
    with pytest.raises(ValueError, match=r"row 2: field 'completion' is empty"):
        load_kto(rows)


def test_empty_file_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("")
    with pytest.raises(ValueError, match=r"empty.jsonl: no rows"):
        load_kto(path)
    from cringe_agent.hf import train

    out = tmp_path / "out"
    with pytest.raises(ValueError, match="no rows"):
        train(None, None, path, output_dir=out)  # refused before the model or tokenizer is touched
    assert not out.exists()
