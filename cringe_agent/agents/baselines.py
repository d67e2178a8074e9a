"""The paper's training baselines as ParlAI generator agents, on the same labelled data as the CRINGE agent.

Every agent reads each message's ``classifier_label`` (``pos``/``neg``; absent = unlabelled, trained as positive):

- :class:`MlePositivesAgent`: maximum likelihood on positive and unlabelled labels; negatives are ignored.
  (MLE on *all* labels, negatives included, is ParlAI's own ``transformer/generator``: it ignores the field.)
- :class:`UnlikelihoodAgent`: token-level unlikelihood on negative labels (Welleck et al., 2020), reusing the
  ``RewardUnlikelihoodAgentTrait`` of ParlAI's ``projects.dialogue_unlikelihood`` (shipped in ParlAI's wheel): a
  negative label becomes ``reward -1``, any other ``reward 0``.
- :class:`SigmoidOnlyAgent`: the sigmoid-only loss of :func:`cringe_agent.baselines.sigmoid_only_loss` (the paper's
  summed others-term by default; flags ``--sigmoid-*``, see :class:`SigmoidOnlyMixin`).

Director (a classifier head beside the LM head) lives in :mod:`cringe_agent.agents.director`.

    parlai train_model -m cringe_agent.agents.baselines:UnlikelihoodAgent -t TASK --alpha 1.0 -mf /tmp/ul
"""

from __future__ import annotations

from typing import Any

import torch
from parlai.agents.transformer.transformer import TransformerGeneratorAgent
from parlai.core.metrics import AverageMetric
from parlai.core.opt import Opt
from parlai.core.params import ParlaiParser
from projects.dialogue_unlikelihood.agents import RewardUnlikelihoodAgentTrait

from cringe_agent.agents.cringe import FeedbackBatchMixin
from cringe_agent.baselines import SIGMOID_OTHERS_REDUCTIONS, TokenLosses, mle_positives_loss, sigmoid_only_loss
from cringe_agent.labels import Feedback


class _TokenLossMixin(FeedbackBatchMixin):
    """``compute_loss`` from a per-token loss (:meth:`token_losses`), reduced as a mean over :meth:`reduce_mask`."""

    def token_losses(self, logits: torch.Tensor, targets: torch.Tensor, feedback: torch.Tensor) -> TokenLosses:
        raise NotImplementedError

    def reduce_mask(self, out: TokenLosses) -> torch.Tensor:
        """The tokens the loss is averaged over: every label token, by default."""
        return out.positive_mask | out.negative_mask

    def compute_loss(self, batch: Any, return_output: bool = False) -> Any:
        """The batch's loss: the sum of the per-token losses divided by the number of tokens of :meth:`reduce_mask`."""
        if batch.label_vec is None:
            raise ValueError("Cannot compute loss without a label.")
        model_output = self.model(*self._model_input(batch), ys=batch.label_vec)
        scores, preds, *_ = model_output
        labels = batch.label_vec
        out = self.token_losses(
            scores.reshape(-1, scores.size(-1)), labels.reshape(-1), self.batch_feedback(batch).reshape(-1)
        )
        shape = labels.shape
        loss, pos, neg = out.loss.view(shape), out.positive_mask.view(shape), out.negative_mask.view(shape)
        nll = out.nll.view(shape)
        reduce = self.reduce_mask(out).view(shape)
        self.record_local_metric("loss", AverageMetric.from_mask(loss, reduce))
        self.record_label_metrics(labels, preds, nll, pos, neg)
        self.record_per_token_metrics(batch, nll)
        total = loss.sum() / reduce.sum().clamp(min=1)
        return (total, model_output) if return_output else total


class MlePositivesMixin(_TokenLossMixin):
    """Maximum likelihood on positive and unlabelled labels only, over any ParlAI generator."""

    def token_losses(self, logits: torch.Tensor, targets: torch.Tensor, feedback: torch.Tensor) -> TokenLosses:
        return mle_positives_loss(logits, targets, feedback, ignore_index=self.NULL_IDX)

    def reduce_mask(self, out: TokenLosses) -> torch.Tensor:
        return out.positive_mask


class SigmoidOnlyMixin(_TokenLossMixin):
    """The sigmoid-only loss (:func:`cringe_agent.baselines.sigmoid_only_loss`), over any ParlAI generator.

    Flags: ``--sigmoid-positive-weight`` (default 1), ``--sigmoid-negative-weight`` (1), ``--sigmoid-others-weight``
    (1) weigh the paper's three terms; ``--sigmoid-others-reduction`` is ``sum`` (default: the paper's sum over the
    V - 1 other tokens) or ``mean`` (this project's earlier form, the mean over them). The loss is averaged over every
    label token.
    """

    @classmethod
    def add_cmdline_args(cls, parser: ParlaiParser, partial_opt: Opt | None = None) -> ParlaiParser:
        super().add_cmdline_args(parser, partial_opt=partial_opt)
        group = parser.add_argument_group("Sigmoid-only loss (modified SCONES)")
        group.add_argument(
            "--sigmoid-positive-weight",
            type=float,
            default=1.0,
            help="weight of -log sigmoid(s_x) on positive and unlabelled tokens",
        )
        group.add_argument(
            "--sigmoid-negative-weight",
            type=float,
            default=1.0,
            help="weight of -log(1 - sigmoid(s_x)) on negative tokens",
        )
        group.add_argument(
            "--sigmoid-others-weight",
            type=float,
            default=1.0,
            help="weight of the other tokens' term -log(1 - sigmoid(s_v)), v != x, at positive positions",
        )
        group.add_argument(
            "--sigmoid-others-reduction",
            type=str,
            default="sum",
            choices=list(SIGMOID_OTHERS_REDUCTIONS),
            help="reduce the other tokens' term over the V-1 other tokens: sum (the paper's form) or mean",
        )
        return parser

    def token_losses(self, logits: torch.Tensor, targets: torch.Tensor, feedback: torch.Tensor) -> TokenLosses:
        return sigmoid_only_loss(
            logits,
            targets,
            feedback,
            positive_weight=float(self.opt.get("sigmoid_positive_weight", 1.0)),
            negative_weight=float(self.opt.get("sigmoid_negative_weight", 1.0)),
            others_weight=float(self.opt.get("sigmoid_others_weight", 1.0)),
            others_reduction=self.opt.get("sigmoid_others_reduction", "sum"),
            ignore_index=self.NULL_IDX,
        )


class UnlikelihoodMixin(FeedbackBatchMixin, RewardUnlikelihoodAgentTrait):
    r"""Token-level unlikelihood on negative labels (ParlAI's reward trait), over any ParlAI generator.

    ``L = L_MLE + alpha * L_UL`` with ``L_MLE = -log p(x_t)`` averaged over the tokens of positive and unlabelled
    labels and ``L_UL = -log(1 - p(x_t-))`` averaged over the tokens of negative labels (Welleck et al., 2020,
    "Neural text generation with unlikelihood training"; the CRINGE paper's Sec. 4 baseline). ``--alpha``
    (ParlAI's flag name, default 1) weighs the unlikelihood term. ParlAI's trait computes the loss; this class maps
    ``classifier_label: neg`` to its ``reward < 0``. Note the trait's own metrics: ``ppl`` over the MLE tokens in
    training and over all label tokens in evaluation, ``ul_loss`` on negative tokens.
    """

    def batchify(self, obs_batch: list[dict[str, Any]], sort: bool = False) -> Any:
        batch = super().batchify(obs_batch, sort=sort)
        feedback = batch.get("feedback")
        if feedback is not None:
            batch["rewards"] = (feedback == int(Feedback.NEGATIVE)).float().neg()  # -1 for negatives, 0 otherwise
        return batch


class MlePositivesAgent(MlePositivesMixin, TransformerGeneratorAgent):
    """``transformer/generator`` trained by maximum likelihood on positive and unlabelled labels only."""


class SigmoidOnlyAgent(SigmoidOnlyMixin, TransformerGeneratorAgent):
    """``transformer/generator`` trained with the sigmoid-only loss (flags ``--sigmoid-*``)."""


class UnlikelihoodAgent(UnlikelihoodMixin, TransformerGeneratorAgent):
    """``transformer/generator`` with token-level unlikelihood on negative labels (:class:`UnlikelihoodMixin`)."""
