"""CRINGE for fairseq: the criterion ``cringe`` and the task ``cringe_translation`` (see README.md here).

Importing this package imports fairseq and registers both; importing :mod:`cringe_agent` or :mod:`cringe_agent.loss`
does not. fairseq's command-line tools load them with ``--user-dir`` set to :data:`USER_DIR`
(``cringe_agent/fairseq/user_dir/cringe_fairseq``): fairseq imports a user dir under its folder's name, which must
not clash with an imported module, so ``cringe_agent/fairseq`` itself cannot serve.
"""

import argparse
from pathlib import Path

import torch

from cringe_agent.fairseq.criterion import CringeCriterion, CringeCriterionConfig
from cringe_agent.fairseq.task import CringeTranslationTask, FeedbackDataset, read_labels

# fairseq saves the configuration of its argparse-registered architectures (``--arch transformer``, ...) as an
# argparse.Namespace, which torch.load refuses by default since torch 2.6 (weights_only): allow that one class, so that
# fairseq-train can resume and fairseq-generate and checkpoint_utils can load these checkpoints.
torch.serialization.add_safe_globals([argparse.Namespace])

USER_DIR = str(Path(__file__).resolve().parent / "user_dir" / "cringe_fairseq")
"""The folder to give fairseq's tools as ``--user-dir``: it registers ``cringe`` and ``cringe_translation``."""

__all__ = [
    "USER_DIR",
    "CringeCriterion",
    "CringeCriterionConfig",
    "CringeTranslationTask",
    "FeedbackDataset",
    "read_labels",
]
