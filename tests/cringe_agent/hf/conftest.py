"""Tiny tokenizer, models and KTO data for the transformers tests, all built here (nothing downloaded)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
import torch

PROMPTS = ["how is the food", "how is the film", "how is the weather", "how is the team"]
GOOD = ["the food is really good", "the film is really fun", "the weather is really warm", "the team is really strong"]
BAD = ["the food is really awful", "the film is really dull", "the weather is really awful", "the team is really dull"]


def kto_rows() -> list[dict[str, Any]]:
    """Good and bad completions of the same prompts; the bad ones share all but one word with the good ones."""
    rows = [{"prompt": p, "completion": g, "label": True} for p, g in zip(PROMPTS, GOOD)]
    return rows + [{"prompt": p, "completion": b, "label": False} for p, b in zip(PROMPTS, BAD)]


def make_tokenizer() -> Any:
    """A word-level fast tokenizer over the words of the data: [PAD] 0, [UNK] 1, </s> 2."""
    pytest.importorskip("transformers")  # the optional extra: pip install -r requirements-hf.txt
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = sorted({word for text in PROMPTS + GOOD + BAD for word in text.split()})
    vocab = {token: index for index, token in enumerate(["[PAD]", "[UNK]", "</s>", *words])}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=backend, pad_token="[PAD]", unk_token="[UNK]", eos_token="</s>")


@pytest.fixture(scope="session")
def tiny() -> SimpleNamespace:
    """This module's helpers, for the test modules (a conftest is not importable by name under importlib mode)."""
    return SimpleNamespace(kto_rows=kto_rows, make_model=make_model, tokenize=tokenize, mean_logprob=mean_logprob)


@pytest.fixture(scope="session")
def tokenizer() -> Any:
    """The tokenizer of :func:`make_tokenizer`, built once."""
    return make_tokenizer()


def make_model(kind: str, vocab_size: int, seed: int = 0) -> torch.nn.Module:
    """A randomly initialised one-layer GPT-2 (``causal``) or T5 (``seq2seq``) with 32-dim embeddings."""
    pytest.importorskip("transformers")
    from transformers import GPT2Config, GPT2LMHeadModel, T5Config, T5ForConditionalGeneration

    torch.manual_seed(seed)
    if kind == "causal":
        config = GPT2Config(
            n_layer=1, n_embd=32, n_head=2, n_positions=32, vocab_size=vocab_size, bos_token_id=2, eos_token_id=2
        )
        return GPT2LMHeadModel(config)
    config = T5Config(
        vocab_size=vocab_size, d_model=32, d_kv=16, d_ff=64, num_layers=1, num_heads=2,
        pad_token_id=0, eos_token_id=2, decoder_start_token_id=0,
    )  # fmt: skip
    return T5ForConditionalGeneration(config)


def tokenize(kind: str, rows: list[dict[str, Any]], tokenizer: Any) -> list[dict[str, Any]]:
    """Tokenise rows for a model kind."""
    from cringe_agent.hf import tokenize_causal, tokenize_seq2seq

    return (tokenize_causal if kind == "causal" else tokenize_seq2seq)(rows, tokenizer)


def mean_logprob(model: torch.nn.Module, kind: str, label: bool, tokenizer: Any) -> float:
    """Mean over the rows with ``label`` of their mean completion-token log-probability."""
    from cringe_agent.hf import completion_logprobs

    examples = tokenize(kind, [row for row in kto_rows() if row["label"] is label], tokenizer)
    scores = completion_logprobs(model, examples, tokenizer.pad_token_id)
    return sum(scores) / len(scores)


@pytest.fixture(scope="session")
def trained(tokenizer: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, float], dict[str, Any]]:
    """Each model kind trained with alpha 0 and alpha 1 on the same data, seed and budget (40 steps).

    Returns:
        ``{(kind, alpha): {"dir": output folder, "neg": mean neg log-prob, "pos": mean pos log-prob}}``.
    """
    from cringe_agent.hf import train

    runs: dict[tuple[str, float], dict[str, Any]] = {}
    for kind in ("causal", "seq2seq"):
        for alpha in (0.0, 1.0):
            out = tmp_path_factory.mktemp(f"{kind}-alpha{alpha:g}")
            model = make_model(kind, len(tokenizer))
            train(model, tokenizer, kto_rows(), alpha=alpha, k=3, steps=40, lr=1e-2, output_dir=out, use_cpu=True)
            runs[kind, alpha] = {
                "dir": out,
                "neg": mean_logprob(model, kind, False, tokenizer),
                "pos": mean_logprob(model, kind, True, tokenizer),
            }
    return runs
