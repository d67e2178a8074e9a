"""Fixtures of the human-eval app tests: an app on a temporary SQLite file with a fake model."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # humaneval_helpers

from humaneval_helpers import TOKEN, FakeModel  # noqa: E402

from cringe_agent.humaneval.app import create_app  # noqa: E402


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'eval.sqlite'}"


@pytest.fixture
def app(db_url: str):
    return create_app(db_url, TOKEN, responder_factory=lambda config: FakeModel())


@pytest.fixture
def client(app):
    return app.test_client()
