"""The loop's tokenizer step: a byte-level BPE trained on the task's training texts, for replies that read as text.

ParlAI's default ``bpe`` dictionary lowercases and splits around punctuation, so a model's reply "I'm fine." comes
back as "i ' m fine ." in chat and in the reports. A byte-level BPE (HuggingFace ``tokenizers``, read by ParlAI's
``--dict-tokenizer bytelevelbpe``) keeps case, spacing and punctuation and never produces an unknown token.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

#: Tokenizer choices of the loop: ParlAI's dictionary as the model options say, or a byte-level BPE trained here.
TOKENIZERS = ("parlai", "bytelevelbpe")


def train_bytelevel_bpe(texts: Iterable[str], folder: Path, vocab_size: int) -> dict[str, Any]:
    """Train a byte-level BPE on ``texts``, save ``vocab.json`` and ``merges.txt`` in ``folder``.

    Args:
        texts: Training texts (contexts and replies).
        folder: Where the two files are written.
        vocab_size: Size of the vocabulary (the 256 bytes included).

    Returns:
        The ParlAI dictionary options that use it (``dict_tokenizer``, ``bpe_vocab``, ``bpe_merge``, ...).
    """
    from tokenizers import ByteLevelBPETokenizer

    tokenizer = ByteLevelBPETokenizer(add_prefix_space=True)
    tokenizer.train_from_iterator(list(texts), vocab_size=vocab_size, min_frequency=2, show_progress=False)
    folder.mkdir(parents=True, exist_ok=True)
    vocab, merges = tokenizer.save_model(str(folder))
    return bytelevel_opts(Path(vocab), Path(merges))


def bytelevel_opts(vocab: Path, merges: Path) -> dict[str, Any]:
    """ParlAI's options for a byte-level BPE from its two files (no lowercasing, no vocabulary filter)."""
    return {
        "dict_tokenizer": "bytelevelbpe",
        "bpe_vocab": str(vocab),
        "bpe_merge": str(merges),
        "bpe_add_prefix_space": True,
        "dict_lower": False,
        "dict_maxtokens": -1,
        "dict_minfreq": 0,
    }
