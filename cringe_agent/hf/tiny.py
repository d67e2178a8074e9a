"""A tiny random Llama chat model written to a folder: for tests and smoke runs, with nothing downloaded.

Its tokenizer is a byte-level BPE trained on the given texts, with SmolLM2's special tokens and ChatML template
(``<|im_start|>role\\n...<|im_end|>\\n``), so everything that reads a pretrained chat model reads it the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

CHATML_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + "
    "'\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
_DEFAULT_TEXTS = [
    "your persona: i live in paris. i have a dog. i am a doctor.",
    "do you have any pets? yes, i have a dog named max. where do you live? i live in rome.",
    "what do you do for a living? i work as a teacher. i am a nurse. i like pizza and hiking.",
    "hello, how are you today? i am fine, thank you. that is great to hear!",
]


def make_tiny_llama(
    folder: str | Path,
    texts: Iterable[str] | None = None,
    *,
    vocab_size: int = 320,
    layers: int = 2,
    hidden: int = 32,
    heads: int = 4,
    seed: int = 0,
    chat_template: str | None = CHATML_TEMPLATE,
) -> Path:
    """Write a random ``LlamaForCausalLM`` and its tokenizer to ``folder`` and return the folder.

    Args:
        folder: Where ``save_pretrained`` writes (created).
        texts: Texts to train the byte-level BPE on (a default handful when None).
        vocab_size: BPE vocabulary size (specials included).
        layers: Decoder layers.
        hidden: Hidden size (the MLP is 2x).
        heads: Attention heads (two key-value heads).
        seed: Seed of the weights.
        chat_template: The tokenizer's chat template; None writes a tokenizer without one.
    """
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(list(texts or _DEFAULT_TEXTS) * 4, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, unk_token="<|endoftext|>", bos_token="<|im_start|>", eos_token="<|im_end|>"
    )
    if chat_template:
        tokenizer.chat_template = chat_template
    tokenizer.save_pretrained(folder)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=2,
        max_position_embeddings=512,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=2,
        tie_word_embeddings=True,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.save_pretrained(folder)
    return folder
