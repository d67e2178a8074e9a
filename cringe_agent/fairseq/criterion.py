"""The fairseq criterion ``cringe``: cross-entropy on positive examples, the CRINGE loss on negative ones.

Each batch must carry ``sample["feedback"]``, one integer label per example (:class:`cringe_agent.labels.Feedback`:
1 positive, 0 negative, -1 unlabelled, trained as positive); the task ``cringe_translation``
(:mod:`cringe_agent.fairseq.task`) adds it from a labels file beside the binarised data. The loss per token is
:func:`cringe_agent.loss.cringe_loss` (padding ignored); it is summed over the batch, and fairseq divides the
gradient by the number of target tokens (or of sentences with ``--sentence-avg``), the authors' reduction.
"""

# No ``from __future__ import annotations``: fairseq reads the config dataclass's field types at run time.
import math
from dataclasses import dataclass, field
from typing import Any

import torch
from fairseq import utils
from fairseq.criterions import FairseqCriterion, register_criterion
from fairseq.dataclass import FairseqDataclass
from fairseq.logging import metrics
from omegaconf import II
from torch import Tensor

from cringe_agent.loss import CringeOutput, check_alpha, check_k, cringe_loss
from cringe_agent.settings import DEFAULTS

FEEDBACK_KEY = "feedback"
"""Key of the per-example labels in a fairseq sample: a ``(batch,)`` integer tensor of Feedback values."""


@dataclass
class CringeCriterionConfig(FairseqDataclass):
    """Options of the ``cringe`` criterion (``--cringe-alpha``, ``--cringe-k``)."""

    cringe_alpha: float = field(
        default=DEFAULTS.alpha,
        metadata={"help": "weight of the contrastive term on negative examples' tokens (L = L_CE + alpha * L_Cr)"},
    )
    cringe_k: int = field(
        default=DEFAULTS.k,
        metadata={"help": "the contrasted token is sampled from the model's top-k predictions, the target excluded"},
    )
    sentence_avg: bool = II("optimization.sentence_avg")


@register_criterion("cringe", dataclass=CringeCriterionConfig)
class CringeCriterion(FairseqCriterion):
    """CRINGE (Adolphs et al., 2022): cross-entropy on positive tokens, ``alpha`` times the contrastive loss on
    negative tokens.

    Args:
        task: The fairseq task; its target dictionary gives the padding index.
        cringe_alpha: Weight of the contrastive term; a finite number >= 0 (0 leaves negative examples untrained).
        cringe_k: Size of the top-k the contrasted token is sampled from; an int >= 1, below the vocabulary size.
        sentence_avg: Divide the gradient by the number of sentences instead of target tokens.

    Raises:
        TypeError, ValueError: ``cringe_alpha`` or ``cringe_k`` out of range (see :func:`cringe_agent.loss.check_alpha`
            and :func:`cringe_agent.loss.check_k`).
    """

    def __init__(self, task: Any, cringe_alpha: float, cringe_k: int, sentence_avg: bool) -> None:
        super().__init__(task)
        self.alpha = check_alpha(cringe_alpha)
        self.k = check_k(cringe_k)
        self.sentence_avg = sentence_avg

    def forward(self, model: Any, sample: dict[str, Any], reduce: bool = True) -> tuple[Tensor, Any, dict[str, Any]]:
        """Compute the loss of one batch.

        Args:
            model: A fairseq encoder-decoder or decoder model.
            sample: A fairseq batch with ``net_input``, ``target``, ``ntokens`` and ``feedback``.
            reduce: Sum the per-token losses; if False, return them flat, ``(batch * target length,)``.

        Returns:
            The loss, the sample size fairseq divides the gradient by, and the logging outputs.
        """
        net_output = model(**sample["net_input"])
        out = self.compute_loss(model, net_output, sample)
        loss = out.loss.sum() if reduce else out.loss
        sample_size = sample["target"].size(0) if self.sentence_avg else sample["ntokens"]
        positive, negative = out.positive_mask, out.negative_mask
        logging_output = {
            "loss": loss.data if reduce else out.loss.data.sum(),
            "ce_loss": out.ce.data.sum(),
            "cr_loss": out.cr.data.sum(),
            "pos_nll": out.nll[positive].sum(),
            "neg_nll": out.nll[negative].sum(),
            "pos_tokens": positive.sum().item(),
            "neg_tokens": negative.sum().item(),
            "ntokens": sample["ntokens"],
            "nsentences": sample["target"].size(0),
            "sample_size": sample_size,
        }
        return loss, sample_size, logging_output

    def compute_loss(self, model: Any, net_output: Any, sample: dict[str, Any]) -> CringeOutput:
        """Apply :func:`cringe_agent.loss.cringe_loss` to every target token of the batch, padding ignored.

        The model's log-probabilities stand in for its logits: the loss depends on the scores only through
        differences within a row, so both give the same loss and the same gradient (and adaptive-softmax models,
        whose output is not full logits, work too).

        Raises:
            KeyError: The batch has no ``feedback``: use the task ``cringe_translation`` or add it in your own task.
        """
        if FEEDBACK_KEY not in sample:
            raise KeyError(
                f"criterion 'cringe' needs per-example labels in sample[{FEEDBACK_KEY!r}]: train with "
                "--task cringe_translation and a <split>.label file beside the binarised data"
            )
        lprobs = model.get_normalized_probs(net_output, log_probs=True)
        targets = model.get_targets(sample, net_output)
        feedback = sample[FEEDBACK_KEY].to(device=targets.device, dtype=torch.long)
        if feedback.shape != targets.shape[:1]:
            raise ValueError(
                f"sample[{FEEDBACK_KEY!r}] must hold one label per example, shape {tuple(targets.shape[:1])}; "
                f"got {tuple(feedback.shape)}"
            )
        return cringe_loss(
            lprobs.reshape(-1, lprobs.size(-1)),
            targets.reshape(-1),
            feedback.unsqueeze(-1).expand_as(targets).reshape(-1),
            alpha=self.alpha,
            k=self.k,
            ignore_index=self.padding_idx,
        )

    @staticmethod
    def reduce_metrics(logging_outputs: list[dict[str, Any]]) -> None:
        """Aggregate the logging outputs: ``loss`` as fairseq's criteria report it (base 2, per sample-size unit);
        ``nll_loss`` and ``ppl`` on positive tokens, ``neg_nll_loss`` on negative ones, ``cr_loss`` per negative
        token (all base 2)."""

        def total(key: str) -> float:
            return float(sum(log.get(key, 0) for log in logging_outputs))

        sample_size, pos_tokens, neg_tokens = total("sample_size"), total("pos_tokens"), total("neg_tokens")
        metrics.log_scalar("loss", total("loss") / max(sample_size, 1) / math.log(2), sample_size, round=3)
        if pos_tokens:
            metrics.log_scalar("nll_loss", total("pos_nll") / pos_tokens / math.log(2), pos_tokens, round=3)
            metrics.log_derived("ppl", lambda meters: utils.get_perplexity(meters["nll_loss"].avg))
        if neg_tokens:
            metrics.log_scalar("neg_nll_loss", total("neg_nll") / neg_tokens / math.log(2), neg_tokens, round=3)
            metrics.log_scalar("cr_loss", total("cr_loss") / neg_tokens / math.log(2), neg_tokens, round=3)

    @staticmethod
    def logging_outputs_can_be_summed() -> bool:
        """Every logging output is a sum, so workers' outputs may be summed before :meth:`reduce_metrics`."""
        return True
