"""Shared test set-up: a fixed seed for every test, and ParlAI's data path inside the test's tmp dir."""

from __future__ import annotations

import random

import pytest
import torch


@pytest.fixture(autouse=True)
def _seed() -> None:
    random.seed(0)
    torch.manual_seed(0)
