"""Shared test set-up: one CPU thread for torch, a fixed seed for every test, and artefacts trained once per session.

Session artefacts (trained once, in a ``tmp_path_factory`` folder) are shared by every test that asks for them: read
them only; a test that changes model files works on a copy (``tiny_models.copy_model``).
"""

from __future__ import annotations

import os
import random
from pathlib import Path

# Tiny models on a few shared cores: torch's thread pool only adds contention (a 3-step CRINGE training took 5-7 s with
# the default threads and 1 s with one, on a loaded 2-core machine). Set before torch loads; subprocesses inherit it.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))


@pytest.fixture(autouse=True)
def _seed() -> None:
    random.seed(0)
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def tiny_classifier(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Model file of a 1-layer ``transformer/classifier`` (classes pos/neg) trained once on ``tiny_models.POS_TEXTS``
    and ``NEG_TEXTS``. Shared: read only (``tiny_models.copy_model`` gives a copy to change or move)."""
    from tiny_models import NEG_TEXTS, POS_TEXTS, train_tiny_classifier

    folder = tmp_path_factory.mktemp("tiny_classifier")
    model_file = folder / "model" / "clf"
    random.seed(0)  # session fixtures are set up before the test's own _seed
    torch.manual_seed(0)
    train_tiny_classifier(POS_TEXTS, NEG_TEXTS, folder, str(model_file), str(folder / "dp"))
    return model_file
