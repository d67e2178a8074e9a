"""Selection of generations (cringe_agent.selection): balance, repeated positives, the empty-side rule, no ParlAI."""

from __future__ import annotations

import ast
import json
import logging
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from cringe_agent import selection
from cringe_agent.selection import EMPTY_SIDE_RULES, select_generations

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "generations"
ROUND1 = FIXTURES / "round1.jsonl"  # 3 neg; 7 pos of which 4 are the same "i don't know"
NO_NEGATIVES = FIXTURES / "no_negatives.jsonl"  # 4 pos: "hi" twice, "fine" twice


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _rows() -> list[dict]:
    return _read(ROUND1)


@pytest.mark.integration
def test_module_imports_neither_parlai_nor_torch():
    tree = ast.parse(Path(selection.__file__).read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert not {name for name in imported if name.split(".")[0] in ("parlai", "torch")}
    code = "import cringe_agent.selection, sys; assert 'parlai' not in sys.modules, sorted(sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2])


def test_same_seeded_results_as_before_the_move():
    """Indices into round1.jsonl, as the selection in cringe_agent.mutators.generations returned them."""
    rows = _rows()
    expected = [
        ({"seed": 0}, [4, 0, 8, 2, 1, 9]),
        ({"seed": 7}, [0, 4, 5, 2, 9, 1]),
        ({"seed": 3, "balance": False}, [1, 4, 3, 9, 2, 8, 0, 7]),
        ({"seed": 1, "max_pos_copies": 0}, [0, 4, 9, 8, 1, 2]),
    ]
    for kwargs, indices in expected:
        assert [rows.index(r) for r in select_generations(rows, **kwargs)] == indices, kwargs


def test_balance_keeps_every_negative_and_as_many_positives():
    rows = _rows()
    sel = select_generations(rows, seed=0)
    assert Counter(r["label"] for r in sel) == {"neg": 3, "pos": 3}
    assert [r for r in rows if r["label"] == "neg"] == sorted(
        (r for r in sel if r["label"] == "neg"), key=lambda r: rows.index(r)
    )
    assert all(r in rows for r in sel)  # context, text, prob, label, gold, round kept together


def test_rows_are_copied():
    rows = _rows()
    sel = select_generations(rows, seed=0)
    sel[0]["text"] = "changed"
    assert all(r["text"] != "changed" for r in rows)


def test_repeated_positives_kept_at_most_twice():
    rows = _rows()
    sel = select_generations(rows, balance=False, max_pos_copies=2)
    texts = Counter(r["text"] for r in sel if r["label"] == "pos")
    assert texts["i don't know"] == 2
    assert sum(texts.values()) == 5  # 7 positives, 2 repeats of "i don't know" dropped
    assert len(select_generations(rows, balance=False, max_pos_copies=0)) == 10
    assert len(select_generations(rows, balance=False, max_pos_copies=None)) == 10
    assert Counter(r["text"] for r in select_generations(rows, balance=False, max_pos_copies=1))["i don't know"] == 1


def test_dropped_repeats_are_chosen_by_seed():
    rows = _rows()
    kept_contexts = {
        frozenset(r["context"] for r in select_generations(rows, balance=False, seed=s) if r["text"] == "i don't know")
        for s in range(10)
    }
    assert len(kept_contexts) > 1


def test_selection_is_deterministic():
    rows = _rows()
    assert select_generations(rows, seed=3) == select_generations(rows, seed=3)
    assert len({tuple(r["text"] for r in select_generations(rows, seed=s)) for s in range(5)}) > 1


@pytest.mark.parametrize("balance", [True, False])
def test_empty_side_skip_selects_nothing_and_warns(balance, caplog):
    caplog.set_level(logging.WARNING, logger="cringe_agent.selection")
    assert EMPTY_SIDE_RULES == ("skip", "keep")
    assert select_generations(_read(NO_NEGATIVES), balance=balance) == []  # skip is the default
    assert len(caplog.records) == 1
    message = caplog.records[0].getMessage()
    assert "0 negatives and 3 positives" in message and "none are selected" in message
    negatives_only = [r for r in _rows() if r["label"] == "neg"]
    assert select_generations(negatives_only, balance=balance, empty_side="skip") == []


def test_empty_side_keep_keeps_the_other_side_whole(caplog):
    caplog.set_level(logging.WARNING, logger="cringe_agent.selection")
    sel = select_generations(_read(NO_NEGATIVES), empty_side="keep")
    assert Counter(r["text"] for r in sel) == {"hi": 1, "fine": 2}  # "fine" x3 cut to 2 copies
    assert len(caplog.records) == 1 and "keeping the other whole" in caplog.records[0].getMessage()
    negatives_only = [r for r in _rows() if r["label"] == "neg"]
    assert sorted(r["text"] for r in select_generations(negatives_only, empty_side="keep")) == sorted(
        r["text"] for r in negatives_only
    )


def test_both_sides_present_logs_no_warning(caplog):
    caplog.set_level(logging.INFO, logger="cringe_agent.selection")
    select_generations(_rows())
    assert [r.levelno for r in caplog.records] == [logging.INFO]
    assert "selected 3 negatives and 3 positives from 10 rows (2 repeated positives dropped)" in caplog.text


def test_unknown_empty_side_is_an_error():
    with pytest.raises(ValueError, match=r"empty_side must be one of \('skip', 'keep'\), got 'drop'"):
        select_generations(_rows(), empty_side="drop")


def test_negative_max_pos_copies_is_an_error():
    with pytest.raises(ValueError, match="max_pos_copies must be >= 0"):
        select_generations(_rows(), max_pos_copies=-1)


def test_empty_rows_are_an_error():
    with pytest.raises(ValueError, match="no generations"):
        select_generations([])
    with pytest.raises(ValueError, match="no generations"):
        select_generations([], empty_side="keep")


def test_bad_rows_are_errors():
    with pytest.raises(ValueError, match="generation 1 needs"):
        select_generations([{"text": "a", "label": "neg"}, {"text": "b", "label": "bad"}])
    with pytest.raises(ValueError, match="generation 0 needs"):
        select_generations([{"text": 3, "label": "neg"}])
