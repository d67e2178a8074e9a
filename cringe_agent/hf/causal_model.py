"""A Hugging Face causal LM in the shape of ParlAI's generator models (no ParlAI import here).

:class:`HfCausalGeneratorModel` takes ParlAI's right-padded contexts and labels and returns the label positions'
logits, ``(B, T, V)``, as ParlAI's ``decode_forced`` does; it lays each example out as
``[left padding, context, label, right padding]`` so that the logits predicting the labels are the last ``T + 1``
positions less one, and only those are projected onto the vocabulary. :func:`prepare_trainable` chooses what trains
(the top N layers, LoRA adapters, or everything); the module's ``state_dict`` then holds only the trained
parameters, which is what a model file needs on top of the base checkpoint.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn


def decoder_layers(lm: nn.Module) -> nn.ModuleList:
    """The decoder's layer list: the ``ModuleList`` with ``config.num_hidden_layers`` entries."""
    n = getattr(lm.config, "num_hidden_layers", None) or getattr(lm.config, "n_layer", None)
    for module in lm.modules():
        if isinstance(module, nn.ModuleList) and len(module) == n:
            return module
    raise ValueError(f"cannot find the {n} decoder layers of {type(lm).__name__}")


def _final_norms(lm: nn.Module) -> list[nn.Module]:
    """The norm after the last layer (``norm``, ``ln_f`` or ``final_layernorm``), if the model has one."""
    base = getattr(lm, "base_model", lm)
    inner = getattr(base, "model", None) or getattr(base, "transformer", None) or base
    return [
        getattr(inner, n)
        for n in ("norm", "ln_f", "final_layernorm")
        if isinstance(getattr(inner, n, None), nn.Module)
    ]


def prepare_trainable(
    lm: nn.Module,
    *,
    train_layers: int = -1,
    lora_r: int = 0,
    lora_alpha: float = 16.0,
    lora_targets: Sequence[str] | None = None,
) -> nn.Module:
    """Choose the parameters that train; the rest get ``requires_grad = False``.

    Args:
        lm: A causal LM.
        train_layers: -1 trains every parameter; N >= 0 only the top N decoder layers and the final norm (with
            ``lora_r``: LoRA adapters in the top N layers only).
        lora_r: LoRA rank; 0 adds no adapters. With adapters, only they train.
        lora_alpha: LoRA scaling.
        lora_targets: Module names to adapt (None: peft's default for the architecture).

    Returns:
        The model (a peft model when ``lora_r`` > 0).

    Raises:
        ValueError: ``train_layers`` outside [-1, number of layers], or ``lora_r`` < 0.
    """
    layers = decoder_layers(lm)
    if not isinstance(train_layers, int) or not -1 <= train_layers <= len(layers):
        raise ValueError(f"--hf-train-layers must be -1 or 0..{len(layers)}, got {train_layers!r}")
    if not isinstance(lora_r, int) or lora_r < 0:
        raise ValueError(f"--hf-lora-r must be an integer >= 0, got {lora_r!r}")
    top = list(range(len(layers) - train_layers, len(layers))) if train_layers >= 0 else None
    if lora_r > 0:
        from peft import LoraConfig, get_peft_model

        config = LoraConfig(
            r=lora_r,
            lora_alpha=lora_alpha,
            lora_dropout=0.0,
            target_modules=list(lora_targets) if lora_targets else None,
            layers_to_transform=top,
            task_type="CAUSAL_LM",
        )
        return get_peft_model(lm, config)
    if top is not None:
        lm.requires_grad_(False)
        for i in top:
            layers[i].requires_grad_(True)
        for norm in _final_norms(lm):
            norm.requires_grad_(True)
    return lm


def decoding_kwargs(opt: Mapping[str, Any], *, beam_size: int, max_new_tokens: int) -> dict[str, Any]:
    """transformers ``generate`` arguments for ParlAI's decoding options.

    Raises:
        ValueError: An ``--inference`` this model cannot decode with.
    """
    inference = opt.get("inference", "greedy")
    kwargs: dict[str, Any] = {"max_new_tokens": int(max_new_tokens), "num_beams": 1, "do_sample": False}
    if inference == "beam":
        kwargs["num_beams"] = max(int(beam_size), 1)
    elif inference == "topk":
        kwargs.update(do_sample=True, top_k=int(opt.get("topk", 10)), top_p=1.0)
    elif inference == "nucleus":
        kwargs.update(do_sample=True, top_k=0, top_p=float(opt.get("topp", 0.9)))
    elif inference != "greedy":
        raise ValueError(f"--inference {inference}: this model decodes with greedy, beam, topk or nucleus")
    if kwargs["do_sample"]:
        kwargs["temperature"] = float(opt.get("temperature", 1.0))
    block = opt.get("beam_block_ngram", -1) or -1
    if block > 0:
        kwargs["no_repeat_ngram_size"] = int(block)
    min_length = opt.get("beam_min_length", 1) or 1
    if min_length > 1:
        kwargs["min_new_tokens"] = int(min_length)
    return kwargs


class HfCausalGeneratorModel(nn.Module):
    """A causal LM behind ParlAI's generator-model calls.

    Args:
        lm: The causal LM (possibly a peft model).
        null_idx: ParlAI's padding id (never a label token).
        end_idx: The end-of-turn id (ends generation).
    """

    def __init__(self, lm: nn.Module, *, null_idx: int, end_idx: int) -> None:
        super().__init__()
        self.lm = lm
        self.NULL_IDX = null_idx
        self.END_IDX = end_idx
        self.trained_names = {n for n, p in self.named_parameters() if p.requires_grad}
        self.all_trained = self.trained_names == {n for n, _ in self.named_parameters()}

    def left_pad(self, xs: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Right-padded ``(B, L)`` contexts as left-padded ids and their attention mask."""
        width = int(lengths.max())
        ids = xs.new_full((xs.size(0), width), self.NULL_IDX)
        mask = torch.zeros_like(ids)
        for i, n in enumerate(lengths.tolist()):
            if n:
                ids[i, width - n :] = xs[i, :n]
                mask[i, width - n :] = 1
        return ids, mask

    def forward(
        self, xs: torch.Tensor, lengths: torch.Tensor, ys: torch.Tensor | None = None, **_: Any
    ) -> tuple[torch.Tensor, torch.Tensor, None]:
        """Logits of the label tokens, teacher-forced.

        Args:
            xs: ``(B, L)`` right-padded context ids.
            lengths: ``(B,)`` context lengths.
            ys: ``(B, T)`` label ids, right-padded with ``NULL_IDX``.

        Returns:
            ``(scores, preds, None)``: ``(B, T, V)`` logits at the label positions and their argmax.
        """
        if ys is None:
            raise ValueError("HfCausalGeneratorModel.forward needs labels (generation uses generate_replies)")
        ctx, ctx_mask = self.left_pad(xs, lengths)
        ids = torch.cat([ctx, ys], dim=1)
        mask = torch.cat([ctx_mask, ys.ne(self.NULL_IDX).long()], dim=1)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        out = self.lm(input_ids=ids, attention_mask=mask, position_ids=positions, logits_to_keep=ys.size(1) + 1)
        scores = out.logits[:, :-1]
        return scores, scores.argmax(dim=-1), None

    @torch.no_grad()
    def generate_replies(
        self, xs: torch.Tensor, lengths: torch.Tensor, **kwargs: Any
    ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Each context's reply ids (ending with ``END_IDX`` when it finished) and its score (0 unless beam)."""
        from transformers import GenerationConfig

        ctx, mask = self.left_pad(xs, lengths)
        config = GenerationConfig(
            eos_token_id=self.END_IDX, pad_token_id=self.NULL_IDX, return_dict_in_generate=True, **kwargs
        )
        beam = kwargs.get("num_beams", 1) > 1
        out = self.lm.generate(
            input_ids=ctx,
            attention_mask=mask,
            generation_config=config,
        )
        new = out.sequences[:, ctx.size(1) :]
        replies, scores = [], []
        for i, row in enumerate(new):
            ends = (row == self.END_IDX).nonzero()
            keep = row[: int(ends[0]) + 1] if len(ends) else row[row.ne(self.NULL_IDX)]
            replies.append(keep)
            score = out.sequences_scores[i] if beam and getattr(out, "sequences_scores", None) is not None else None
            scores.append(score.detach().cpu() if score is not None else torch.zeros(()))
        return replies, scores

    def state_dict(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """The trained parameters only (all of them under full fine-tuning); buffers are rebuilt from the base."""
        full = super().state_dict(*args, **kwargs)
        if self.all_trained:
            return full
        prefix = kwargs.get("prefix", "")
        return {k: v for k, v in full.items() if k[len(prefix) :] in self.trained_names}

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False) -> Any:
        """Load saved parameters over the base model: every saved key must exist, every trained one be present."""
        result = super().load_state_dict(state_dict, strict=False, assign=assign)
        missing_trained = sorted(set(result.missing_keys) & self.trained_names)
        if result.unexpected_keys or (strict and missing_trained):
            raise RuntimeError(
                "the model file does not match --hf-model and its --hf-train-layers/--hf-lora-* settings: "
                f"unexpected {result.unexpected_keys[:5]}, missing trained {missing_trained[:5]}"
            )
        return result
