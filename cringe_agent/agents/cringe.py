"""A mixin that turns a ParlAI ``TorchGeneratorAgent`` into one trained with the CRINGE loss.

Each training message's ``classifier_label`` (``pos`` / ``neg``; absent = unlabelled, trained as positive) becomes a
per-token feedback value; :func:`cringe_agent.loss.cringe_loss` does the rest. Wrapping another ParlAI generator takes
a few lines::

    class CringeBartAgent(CringeAgentMixin, BartAgent):
        pass
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import nullcontext
from typing import Any

import torch
from parlai.core.metrics import AverageMetric, SumMetric
from parlai.core.opt import Opt
from parlai.core.params import ParlaiParser
from parlai.core.torch_generator_agent import PPLMetric

from cringe_agent.agents.label_logits import label_positions_only, supports_label_positions_only
from cringe_agent.labels import Feedback, feedback_of
from cringe_agent.loss import CringeLoss, check_alpha, check_k
from cringe_agent.settings import DEFAULTS


def cringe_flags(opt: Mapping[str, Any]) -> tuple[float, int]:
    """``--cringe-alpha`` and ``--cringe-k`` from ``opt``, checked; a missing or None value takes its default.

    Model files saved before a flag existed lack it, hence the defaults.

    Args:
        opt: ParlAI's opt (or any mapping).

    Returns:
        ``(alpha, k)``: a finite float >= 0 and an int >= 1 (``k < V`` is checked by ``compute_loss``, since an
        agent may be built before its dictionary is).

    Raises:
        ValueError: A value of the wrong type or range; the message names the flag.
    """
    alpha = opt.get("cringe_alpha")
    k = opt.get("cringe_k")
    try:
        alpha = check_alpha(DEFAULTS.alpha if alpha is None else alpha)
    except (TypeError, ValueError):
        raise ValueError(f"--cringe-alpha must be a finite number >= 0, got {alpha!r}") from None
    try:
        k = check_k(DEFAULTS.k if k is None else k)
    except (TypeError, ValueError):
        raise ValueError(f"--cringe-k must be an integer >= 1 (and smaller than the vocabulary), got {k!r}") from None
    return alpha, k


class FeedbackBatchMixin:
    """Puts each example's feedback (from its ``classifier_label``) into ParlAI's batch, for a labelled loss."""

    def batchify(self, obs_batch: list[dict[str, Any]], sort: bool = False) -> Any:
        """ParlAI's batch plus ``feedback``: a ``(B,)`` tensor of -1/0/1 from each message's ``classifier_label``."""
        batch = super().batchify(obs_batch, sort=sort)
        if batch.valid_indices is not None and len(batch.valid_indices) > 0:
            values = [int(feedback_of(obs_batch[i])) for i in batch.valid_indices.tolist()]
            batch["feedback"] = torch.tensor(values, dtype=torch.long)
        return batch

    def batch_feedback(self, batch: Any) -> torch.Tensor:
        """The ``(B, T)`` feedback of every label token (unlabelled when the batch has none)."""
        labels = batch.label_vec
        feedback = batch.get("feedback")
        if feedback is None:
            feedback = torch.full((labels.size(0),), int(Feedback.UNLABELLED), dtype=torch.long)
        return feedback.to(labels.device).unsqueeze(-1).expand_as(labels)

    def record_label_metrics(
        self, labels: torch.Tensor, preds: torch.Tensor, nll: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor
    ) -> torch.Tensor:
        """Record the perplexities, token accuracies and token counts every labelled loss reports.

        ``ppl`` and ``ppl_pos`` cover positive and unlabelled label tokens, ``ppl_neg`` negative ones, ``ppl_all``
        all of them; ``token_acc``/``token_em`` all label tokens (as ParlAI computes them), ``token_acc_pos`` and
        ``token_acc_neg`` each side. Returns the number of label tokens of each example, ``(B,)``.
        """
        notnull = labels.ne(self.NULL_IDX)
        correct = labels == preds
        self.record_local_metric("ppl", PPLMetric.from_mask(nll, pos))  # positive and unlabelled tokens only
        self.record_local_metric("ppl_all", PPLMetric.from_mask(nll, notnull))
        self.record_local_metric("token_acc", AverageMetric.from_mask(correct, notnull))
        num_tokens = notnull.long().sum(dim=-1)
        self.record_local_metric("token_em", AverageMetric.many((correct * notnull).sum(dim=-1) == num_tokens))
        self.record_local_metric("ppl_pos", PPLMetric.from_mask(nll, pos))
        self.record_local_metric("ppl_neg", PPLMetric.from_mask(nll, neg))
        self.record_local_metric("token_acc_pos", AverageMetric.from_mask(correct, pos))
        self.record_local_metric("token_acc_neg", AverageMetric.from_mask(correct, neg))
        self.record_local_metric("pos_tokens", SumMetric.many(pos.long().sum(dim=-1)))
        self.record_local_metric("neg_tokens", SumMetric.many(neg.long().sum(dim=-1)))
        return num_tokens


class CringeAgentMixin(FeedbackBatchMixin):
    """Adds the ``--cringe-*`` flags, per-example feedback in the batch, and the CRINGE ``compute_loss``.

    Flags (defaults from :data:`cringe_agent.settings.DEFAULTS`): ``--cringe-alpha``, ``--cringe-k``,
    ``--cringe-detach-positive``, ``--cringe-contrast-positives`` and ``--cringe-ce-on-positives``; see
    :class:`cringe_agent.settings.CringeSettings` for what each does. A ``--cringe-alpha`` that is not a finite number
    >= 0, or a ``--cringe-k`` that is not an integer >= 1, raises ``ValueError`` naming the flag when the agent is
    built (:func:`cringe_flags`); a ``--cringe-k`` not below the vocabulary size does so at the first loss.

    Metrics: ``loss`` is the optimised CRINGE loss (per label token). ``ppl`` is the perplexity over the label tokens
    of positive and unlabelled examples only (the tokens trained with likelihood by default; also with
    ``--cringe-ce-on-positives false``, where labelled positives get no CE), so that ParlAI's validation on
    ``ppl`` is not driven by negative labels; ``ppl_pos`` is the same value under an explicit name, ``ppl_neg`` the
    perplexity of negative label tokens and ``ppl_all`` the perplexity over all label tokens (what ParlAI's own
    ``ppl`` would report). ``token_acc`` and ``token_em`` cover all label tokens, as ParlAI computes them. Beside
    them: ``ce_loss`` over the tokens that got cross-entropy, ``cr_loss`` on negative tokens, ``token_acc_pos``,
    ``token_acc_neg`` (how often the model's top prediction is the negative token), and the counts ``pos_tokens`` /
    ``neg_tokens``.
    """

    @classmethod
    def add_cmdline_args(cls, parser: ParlaiParser, partial_opt: Opt | None = None) -> ParlaiParser:
        """Add the CRINGE flags to the parent agent's."""
        super().add_cmdline_args(parser, partial_opt=partial_opt)
        group = parser.add_argument_group("CRINGE loss (Adolphs et al., 2022)")
        group.add_argument(
            "--cringe-alpha",
            type=float,
            default=DEFAULTS.alpha,
            help="weight of the contrastive term on negative tokens (paper: 0.5 to 5; authors' code: 1)",
        )
        group.add_argument(
            "--cringe-k",
            type=int,
            default=DEFAULTS.k,
            help="sample the contrasted token from the top-k predictions (paper: 5; authors' code default: 1)",
        )
        group.add_argument(
            "--cringe-detach-positive",
            type="bool",
            default=DEFAULTS.detach_positive,
            help="stop the gradient through the sampled token's score (s+ on negatives, s- on contrasted positives)",
        )
        group.add_argument(
            "--cringe-contrast-positives",
            type="bool",
            default=DEFAULTS.contrast_positives,
            help="also contrast tokens of labelled positives (classifier_label pos) against a sampled top-k "
            "alternative (CT loss); unlabelled tokens are not contrasted",
        )
        group.add_argument(
            "--cringe-ce-on-positives",
            type="bool",
            default=DEFAULTS.ce_on_positives,
            help="cross-entropy on labelled positives (classifier_label pos); false: only on unlabelled examples",
        )
        return parser

    def __init__(self, opt: Opt, shared: dict[str, Any] | None = None) -> None:
        alpha, k = cringe_flags(opt)  # before the model is built: a bad flag fails at once
        super().__init__(opt, shared)
        self.cringe = CringeLoss(
            alpha=alpha,
            k=k,
            ignore_index=self.NULL_IDX,
            detach_positive=opt.get("cringe_detach_positive", DEFAULTS.detach_positive),
            contrast_positives=opt.get("cringe_contrast_positives", DEFAULTS.contrast_positives),
            ce_on_positives=opt.get("cringe_ce_on_positives", DEFAULTS.ce_on_positives),
        )

    def compute_loss(self, batch: Any, return_output: bool = False) -> Any:
        """The CRINGE loss of a batch: sum over label tokens divided by their number, as the authors reduce it.

        In training, models that allow it project only the label positions onto the vocabulary
        (:mod:`cringe_agent.agents.label_logits`): the same loss, without the padding's share of the arithmetic.
        """
        if batch.label_vec is None:
            raise ValueError("Cannot compute loss without a label.")
        labels = batch.label_vec  # (B, T)
        shape, notnull = labels.shape, labels.ne(self.NULL_IDX)
        sparse = self.is_training and not return_output and supports_label_positions_only(self.model)
        with label_positions_only(self.model, notnull) if sparse else nullcontext():
            model_output = self.model(*self._model_input(batch), ys=labels)
        scores, preds, *_ = model_output
        feedback = self.batch_feedback(batch)
        vocab = scores.size(-1)
        if self.cringe.k >= vocab:  # checked here: an agent may be built before its dictionary is
            raise ValueError(f"--cringe-k must be smaller than the vocabulary ({vocab} tokens), got {self.cringe.k}")
        if sparse:  # scores (1, N, V): the label tokens in row-major order
            out = self.cringe(scores.squeeze(0), labels[notnull], feedback[notnull])
        else:
            out = self.cringe(scores.reshape(-1, vocab), labels.reshape(-1), feedback.reshape(-1))

        def full(values: torch.Tensor, fill: float | int = 0) -> torch.Tensor:
            """``values`` of the loss's tokens as a ``(B, T)`` tensor (``fill`` at the padding when sparse)."""
            if not sparse:
                return values.view(shape)
            grid = values.new_full(shape, fill)
            grid[notnull] = values
            return grid

        loss, ce, cr, nll = (full(x.detach()) for x in (out.loss, out.ce, out.cr, out.nll))
        pos, neg, ce_mask = (full(x, False) for x in (out.positive_mask, out.negative_mask, out.ce_mask))
        self.record_local_metric("loss", AverageMetric.from_mask(loss, full(out.loss_mask, False)))
        self.record_local_metric("ce_loss", AverageMetric.from_mask(ce, ce_mask))
        self.record_local_metric("cr_loss", AverageMetric.from_mask(cr, neg))
        self.record_label_metrics(
            labels, full(preds.squeeze(0), self.NULL_IDX) if sparse else preds, nll, pos, neg
        )
        self.record_per_token_metrics(batch, nll)
        total = out.mean()  # divided by the tokens that carry a loss term (all of them with the defaults)
        return (total, model_output) if return_output else total
