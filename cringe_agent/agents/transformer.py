"""``CringeTransformerGeneratorAgent``: ParlAI's ``transformer/generator`` trained with the CRINGE loss; and
``MleTransformerGeneratorAgent``, the same network trained by maximum likelihood on every label (the loop's baseline).

    parlai train_model -m cringe_agent.agents.transformer:CringeTransformerGeneratorAgent -t TASK \\
        --cringe-alpha 1.0 --cringe-k 5 --model-file /tmp/model
"""

from __future__ import annotations

from typing import Any

import torch
from parlai.agents.transformer.transformer import TransformerGeneratorAgent
from parlai.core.metrics import AverageMetric
from parlai.core.torch_generator_agent import PPLMetric

from cringe_agent.agents.cringe import CringeAgentMixin
from cringe_agent.agents.label_logits import label_positions_only, supports_label_positions_only


class CringeTransformerGeneratorAgent(CringeAgentMixin, TransformerGeneratorAgent):
    """Transformer encoder-decoder whose labels marked ``classifier_label: neg`` are pushed down by CRINGE."""


class MleTransformerGeneratorAgent(TransformerGeneratorAgent):
    """ParlAI's ``transformer/generator`` (cross-entropy on every label, ``classifier_label`` ignored) that, in
    training, projects only the label tokens onto the vocabulary (:mod:`cringe_agent.agents.label_logits`).

    The loss and metrics are ParlAI's (``loss``, ``ppl``, ``token_acc``, ``token_em``); evaluation, and models that
    do not allow it, take ParlAI's own ``compute_loss``. The loop's MLE baseline.
    """

    def compute_loss(self, batch: Any, return_output: bool = False) -> Any:
        """ParlAI's loss (sum of the label tokens' cross-entropy over their number), without the padding's logits."""
        sparse = self.is_training and not return_output and supports_label_positions_only(self.model)
        if not sparse or batch.label_vec is None:
            return super().compute_loss(batch, return_output=return_output)
        labels = batch.label_vec
        notnull = labels.ne(self.NULL_IDX)
        with label_positions_only(self.model, notnull):
            scores, preds, *_ = self.model(*self._model_input(batch), ys=labels)
        token_loss = self.criterion(scores.squeeze(0), labels[notnull])  # (N,)
        loss_grid = token_loss.new_zeros(labels.shape)
        loss_grid[notnull] = token_loss.detach()
        correct = torch.zeros_like(notnull)
        correct[notnull] = preds.squeeze(0) == labels[notnull]
        num_tokens = notnull.long().sum(dim=-1)
        self.record_local_metric("loss", AverageMetric.from_mask(loss_grid, notnull))
        self.record_local_metric("ppl", PPLMetric.from_mask(loss_grid, notnull))
        self.record_local_metric("token_acc", AverageMetric.from_mask(correct, notnull))
        self.record_local_metric("token_em", AverageMetric.many(correct.sum(dim=-1) == num_tokens))
        self.record_per_token_metrics(batch, loss_grid)
        return token_loss.sum() / num_tokens.sum()
