"""Fix of ``--dict-tokenizer bytelevelbpe`` decoding a sampled reply whose first token has no leading space.

Mends ``parlai/utils/bpe.py:235-237`` (ParlAI 1.7.2): ``BPEHelper.decode`` asserts that the decoded text of a
prefix-space byte-level BPE starts with a space before stripping it. A reply a model samples may begin with a token
that carries no space mark (``Ġ``), so decoding such a generation fails with a bare ``AssertionError`` in the middle
of ``batch_act``. The replacement strips the space when it is there and keeps the text as it is otherwise.
"""

from __future__ import annotations

import types
from typing import Any

from cringe_agent.compat import _hooks


def _decode(self: Any, tokens: list[str], token_ids: list[int], delimiter: str = " ") -> str:
    """``BPEHelper.decode`` of ParlAI 1.7.2 without the assertion on the leading space."""
    if self.debug:
        return delimiter.join(tokens)
    for i, token in enumerate(tokens):
        if token in self._special_tokens:
            left = self.helper_decode(tokens[:i], token_ids[:i], delimiter)
            right = self.decode(
                tokens[min(len(token_ids), i + 1) :], token_ids[min(len(token_ids), i + 1) :], delimiter
            )
            return left + token + right
    text = self.helper_decode(tokens, token_ids, delimiter)
    if self.add_prefix_space:
        text = text.lstrip(" ")
    return text


def _fix_bpe(module: types.ModuleType) -> None:
    """Replace ``BPEHelper.decode`` of ``parlai.utils.bpe``."""
    _hooks.replace(module.BPEHelper, "decode", _decode)


FIXES: dict[str, _hooks.Fix] = {"parlai.utils.bpe": _fix_bpe}
"""The ParlAI module this fix mends, with its fix (applied by :func:`cringe_agent.compat.apply`)."""
