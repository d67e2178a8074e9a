"""Fixtures shared by the teacher tests: a copy of the ParlAI data fixtures, and ParlAI's log messages."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import parlai.utils.logging as parlai_logging
import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "parlai_data"


@pytest.fixture
def datapath(tmp_path: Path) -> str:
    """A copy of the fixtures, so that ParlAI's build never writes into the repository."""
    shutil.copytree(FIXTURES, tmp_path / "data")
    return str(tmp_path / "data")


@pytest.fixture
def parlai_log():
    """Messages logged by ParlAI's logger during the test (its handler writes to the stdout of import time)."""
    records: list[str] = []
    handler = logging.Handler(level=logging.INFO)
    handler.emit = lambda record: records.append(record.getMessage())
    parlai_logging.logger.addHandler(handler)
    yield records
    parlai_logging.logger.removeHandler(handler)
