"""Tests of :mod:`cringe_agent.compat.bytelevel_decode`: a reply starting without a space mark decodes."""

from __future__ import annotations

from pathlib import Path

from cringe_agent import compat  # noqa: F401  (applies the fixes)
from cringe_agent.iterative.tokenizer import train_bytelevel_bpe

TEXTS = ["Hello there, how are you?", "I'm fine, thanks. And you?", "Pretty good! I went hiking today."] * 20


def test_reply_whose_first_token_has_no_space_mark_decodes(tmp_path: Path) -> None:
    from parlai.core.dict import DictionaryAgent

    opts = train_bytelevel_bpe(TEXTS, tmp_path / "bpe", vocab_size=300)
    parser_opt = {"dict_file": str(tmp_path / "model.dict"), "dict_initpath": None, **opts}
    agent = DictionaryAgent(parser_opt)
    ids = agent.txt2vec("I'm fine, thanks.")
    assert agent.vec2txt(ids) == "I'm fine, thanks."  # case and punctuation survive
    no_space = [agent.tok2ind["I"]] + ids[1:]  # "I" without the space mark, as a sampled reply may start
    assert agent.vec2txt(no_space) == "I'm fine, thanks."
