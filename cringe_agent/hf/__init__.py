"""CRINGE for Hugging Face transformers (Adolphs et al., 2022, arXiv:2211.05826).

Unpaired good/bad completions in the KTO layout (``{"prompt", "completion", "label": true|false}``) train causal
and sequence-to-sequence models: positives with cross-entropy, negatives with the CRINGE contrastive term, on the
completion tokens only. Importing this package imports neither ParlAI nor transformers; :class:`CringeTrainer` and
:func:`train` import transformers when first used.
"""

from __future__ import annotations

from typing import Any

from cringe_agent.hf.collator import CringeCollator
from cringe_agent.hf.convert import convert_file, generations_to_kto, kto_to_generations, read_generations_file
from cringe_agent.hf.data import (
    KTO_FIELDS,
    load_kto,
    read_kto,
    tokenize_causal,
    tokenize_seq2seq,
    validate_kto,
)
from cringe_agent.hf.forward import aligned_logits, cringe_batch_loss
from cringe_agent.hf.scoring import completion_logprobs

_LAZY = {"CringeTrainer", "train"}

__all__ = [
    "KTO_FIELDS",
    "aligned_logits",
    "CringeCollator",
    "CringeTrainer",
    "completion_logprobs",
    "convert_file",
    "cringe_batch_loss",
    "generations_to_kto",
    "kto_to_generations",
    "load_kto",
    "read_generations_file",
    "read_kto",
    "tokenize_causal",
    "tokenize_seq2seq",
    "train",
    "validate_kto",
]


def __getattr__(name: str) -> Any:
    """Import :mod:`cringe_agent.hf.trainer` (and so transformers) only when one of its names is asked for."""
    if name in _LAZY:
        from cringe_agent.hf import trainer

        return getattr(trainer, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
