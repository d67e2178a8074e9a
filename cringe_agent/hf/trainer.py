"""``CringeTrainer``: a transformers ``Trainer`` whose loss is CRINGE (Adolphs et al., 2022, arXiv:2211.05826).

Positive completions are trained with cross-entropy, negative ones with the contrastive term (Sec. 2, Eq. 1-3),
on the completion tokens only; the result is a normal ``save_pretrained`` model. Importing this module imports
transformers (and ``Trainer`` needs ``accelerate``): ``pip install 'cringe-agent[hf]'``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from torch import Tensor, nn
from transformers import Trainer, TrainingArguments

from cringe_agent.hf.collator import CringeCollator
from cringe_agent.hf.data import load_kto, tokenize_causal, tokenize_seq2seq
from cringe_agent.hf.forward import cringe_batch_loss, is_seq2seq
from cringe_agent.loss import check_alpha, check_k
from cringe_agent.settings import DEFAULTS

__all__ = ["CringeTrainer", "cringe_batch_loss", "train"]


class CringeTrainer(Trainer):
    r"""A ``transformers.Trainer`` that minimises the CRINGE loss (arXiv:2211.05826, Sec. 2, Eq. 1-3).

    .. math:: L = \frac{1}{|T|}\Big(\sum_{t \in T^+} -\log p(x_t) + \alpha \sum_{t \in T^-}
              \mathrm{softplus}(s_t^- - s_t^+)\Big)

    over the label tokens ``T`` of a batch: ``T^+`` those of positive (or unlabelled) examples, ``T^-`` those of
    negative ones, with :math:`s^+` the score of a token sampled from the model's top-k. The batches must carry
    ``labels`` (``-100`` where no loss is taken) and a per-example ``feedback`` (1/0/-1), as
    :class:`~cringe_agent.hf.collator.CringeCollator` makes them; causal models are scored on the shifted logits,
    encoder-decoder models on the decoder logits. The loss is the mean over each batch's tokens; with gradient
    accumulation the micro-batch means are averaged.

    Args:
        *args: Passed to ``transformers.Trainer``.
        alpha: Weight of the contrastive term; 0 trains the positives only (negatives then carry no loss).
        k: Top-k size for the sampled positive token (the paper's 5).
        loss_options: Further options of :func:`cringe_agent.loss.cringe_loss` (``detach_positive``, ...).
        **kwargs: Passed to ``transformers.Trainer``.
    """

    loss_is_scaled_for_ga = False  # a per-batch mean: the Trainer divides it by the accumulation steps

    def __init__(
        self,
        *args: Any,
        alpha: float = DEFAULTS.alpha,
        k: int = DEFAULTS.k,
        loss_options: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.alpha = check_alpha(alpha)
        self.k = check_k(k)
        self.loss_options = dict(loss_options or {})
        self.model_accepts_loss_kwargs = False  # older Trainers read this instead of loss_is_scaled_for_ga

    def _set_signature_columns_if_needed(self) -> None:
        """Keep the ``feedback`` column, which the model's ``forward`` does not take but the loss needs."""
        super()._set_signature_columns_if_needed()
        if "feedback" not in self._signature_columns:
            self._signature_columns.append("feedback")

    def compute_loss(
        self,
        model: nn.Module,
        inputs: dict[str, Tensor],
        return_outputs: bool = False,
        num_items_in_batch: Tensor | int | None = None,
        **kwargs: Any,
    ) -> Tensor | tuple[Tensor, dict[str, Tensor]]:
        """The CRINGE loss of the batch (:func:`~cringe_agent.hf.forward.cringe_batch_loss`), token mean."""
        if "feedback" not in inputs:
            raise ValueError("CringeTrainer batches need a 'feedback' tensor: use cringe_agent.hf.CringeCollator")
        output = cringe_batch_loss(model, inputs, alpha=self.alpha, k=self.k, **self.loss_options)
        loss = output.mean()
        return (loss, {"loss": loss}) if return_outputs else loss


def _pad_id(tokenizer: Any) -> int:
    for name in ("pad_token_id", "eos_token_id"):
        value = getattr(tokenizer, name, None)
        if value is not None:
            return int(value)
    raise ValueError("the tokenizer has neither a pad nor an EOS token: set tokenizer.pad_token")


def train(
    model: nn.Module,
    tokenizer: Any,
    rows: str | os.PathLike[str] | Iterable[Mapping[str, Any]],
    alpha: float = DEFAULTS.alpha,
    k: int = DEFAULTS.k,
    steps: int = 100,
    lr: float = 5e-5,
    output_dir: str | os.PathLike[str] = "cringe-model",
    batch_size: int = 8,
    max_length: int | None = None,
    seed: int = 0,
    **training_args: Any,
) -> CringeTrainer:
    """Fine-tune ``model`` with CRINGE on KTO rows and save it (and the tokenizer) to ``output_dir``.

    Args:
        model: A transformers causal LM or encoder-decoder model (``config.is_encoder_decoder`` picks the layout).
        tokenizer: Its tokenizer; without a pad token, the EOS id pads (padding never carries loss).
        rows: A KTO jsonl path, a ``datasets.Dataset`` or a list of ``{"prompt", "completion", "label"}`` dicts.
        alpha: Weight of the contrastive term on negatives.
        k: Top-k size for the sampled positive token.
        steps: Optimiser steps.
        lr: Learning rate (AdamW, linear decay unless ``lr_scheduler_type`` is given).
        output_dir: Where ``save_pretrained`` writes the model and tokenizer.
        batch_size: Examples per step.
        max_length: Longest tokenised sequence, or None.
        seed: Seed of the data order, dropout and the top-k sampling.
        **training_args: Further ``transformers.TrainingArguments``.

    Returns:
        The trainer, after training (``trainer.state.log_history`` holds the logged losses).
    """
    tokenize = tokenize_seq2seq if is_seq2seq(model) else tokenize_causal
    examples = tokenize(load_kto(rows), tokenizer, max_length)
    options: dict[str, Any] = {
        "max_steps": steps,
        "learning_rate": lr,
        "per_device_train_batch_size": batch_size,
        "save_strategy": "no",
        "report_to": "none",
        "logging_steps": max(1, steps // 10),
        "disable_tqdm": True,
        "seed": seed,
        "remove_unused_columns": False,
    }
    options.update(training_args)
    args = TrainingArguments(output_dir=os.fspath(output_dir), **options)
    collator = CringeCollator(_pad_id(tokenizer))
    trainer = CringeTrainer(model=model, args=args, train_dataset=examples, data_collator=collator, alpha=alpha, k=k)
    trainer.train()
    trainer.save_model(os.fspath(output_dir))
    tokenizer.save_pretrained(os.fspath(output_dir))
    return trainer
