"""Director over a pretrained Hugging Face causal LM: a classifier head beside the LM head, combined at decoding.

The method of :mod:`cringe_agent.agents.director` (Arora et al., 2022, arXiv:2206.07694; see that module for the
equations and the choice of flags) over the causal LMs of :mod:`cringe_agent.agents.hf_causal`, trained on the same
``classifier_label`` data::

    parlai train_model -m cringe_agent.agents.hf_director:HfDirectorAgent --hf-model smollm2-135m-instruct \\
        -t TASK --hf-train-layers 4 --director-classifier-weight 1.0 -mf /tmp/smol_director/model
    parlai interactive -mf /tmp/smol_director/model --director-gamma 2

- **The head**: ``c_t = W h_t + b``, a new ``Linear(hidden, vocab)`` over the hidden state that the LM head reads
  (after the final norm). ``--director-head-init lm`` (default) starts ``W`` as a copy of the LM head's weights and
  ``b`` at zero (or the LM head's bias, when it has one); ``zero`` starts both at zero, as the transformer Director
  does (an untrained head then decodes as the LM). The head always trains, whatever ``--hf-train-layers`` /
  ``--hf-lora-r`` freeze, and the model file saves it with the other trained parameters.
- **Training**: :func:`~cringe_agent.agents.director.director_loss`: LM cross-entropy on positive and unlabelled
  labels plus ``--director-classifier-weight`` times the head's binary cross-entropy at each label token (target 1
  for positive labels, 0 for negative ones; unlabelled labels do not train the head).
- **Decoding**: a forward hook on the model's output embedding (the LM head) turns its logits into
  :func:`~cringe_agent.agents.director.director_scores`, ``log_softmax(log softmax(s)[v] + gamma log sigmoid(c_v))``,
  computed from the same hidden states that the LM head received. transformers' ``generate`` (key-value cache, left
  padding, ``logits_to_keep``) therefore decodes with them under every ``--inference``; ``--temperature`` divides
  the combined log-probabilities, and beam scores add them up. ``--director-gamma 0`` leaves the LM's logits
  untouched. The teacher-forced pass of the loss reads the LM's logits and the head's apart.
- **Reload**: ``--init-model`` may name an :class:`~cringe_agent.agents.hf_causal.HfCausalAgent` model file of the
  same ``--hf-model`` and trained parameters: it has no head, which is then initialised (per ``--director-head-init``)
  from the loaded LM head.

Metrics: those of the transformer Director (``loss``, ``ppl`` over the label tokens of positive and unlabelled
examples, ``ce_loss``, ``director_bce``, ``director_acc``, ``token_acc``, ``token_em``, ``pos_tokens``,
``neg_tokens``), the labelled-loss metrics of the other agents (``ppl_pos`` = ``ppl``, ``ppl_neg``, ``ppl_all``,
``token_acc_pos``, ``token_acc_neg``), and ``director_prob_pos`` / ``director_prob_neg``: the mean of
``sigmoid(c_{t, x_t})`` over the label tokens of positive / negative examples.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import torch
from parlai.core.metrics import AverageMetric
from parlai.core.opt import Opt
from parlai.core.params import ParlaiParser
from parlai.utils import logging
from torch import Tensor, nn

from cringe_agent.agents.cringe import FeedbackBatchMixin
from cringe_agent.agents.director import (
    DEFAULT_GAMMA,
    _check_weight,
    add_director_flags,
    director_flags,
    director_loss,
    director_scores,
)
from cringe_agent.agents.hf_causal import HfCausalAgent
from cringe_agent.hf.causal_model import HfCausalGeneratorModel

#: ``--director-head-init`` values: a copy of the LM head (default), or zeros.
HEAD_INITS = ("lm", "zero")
HEAD_PREFIX = "classifier_head."


class HfDirectorGeneratorModel(HfCausalGeneratorModel):
    """A causal LM with Director's classifier head, behind ParlAI's generator-model calls.

    ``forward`` (the loss's teacher-forced pass) returns ``(lm_logits, preds, None, cls_logits)``; any other call of
    the LM (``generate``, or ``lm(...)`` itself) returns Director's combined log-probabilities in place of the logits
    (the LM's own logits when ``gamma`` is 0).

    Args:
        lm: The causal LM (possibly a peft model), its trainable parameters already chosen.
        null_idx: ParlAI's padding id.
        end_idx: The end-of-turn id.
        gamma: The decoding weight of the classifier (``--director-gamma``); may be changed at any time.
        head_init: ``"lm"``: the head starts as a copy of the LM head (zero bias unless the LM head has one);
            ``"zero"``: at zero.

    Raises:
        ValueError: A bad ``gamma`` or ``head_init``, or an LM without an output embedding.
    """

    def __init__(
        self, lm: nn.Module, *, null_idx: int, end_idx: int, gamma: float = DEFAULT_GAMMA, head_init: str = "lm"
    ) -> None:
        super().__init__(lm, null_idx=null_idx, end_idx=end_idx)
        if head_init not in HEAD_INITS:
            raise ValueError(f"--director-head-init must be one of {', '.join(HEAD_INITS)}, got {head_init!r}")
        self.gamma = _check_weight(gamma, "--director-gamma")
        self.head_init = head_init
        lm_head = lm.get_output_embeddings()
        if lm_head is None or getattr(lm_head, "weight", None) is None:
            raise ValueError(f"{type(lm).__name__} has no output embedding (LM head) for Director's head to join")
        vocab_size, dim = lm_head.weight.shape
        self.classifier_head = nn.Linear(dim, vocab_size, device=lm_head.weight.device, dtype=lm_head.weight.dtype)
        self.reset_classifier_head()
        # The head always trains: the saved (trained) parameters are recounted with it.
        self.trained_names = {n for n, p in self.named_parameters() if p.requires_grad}
        self.all_trained = self.trained_names == {n for n, _ in self.named_parameters()}
        self._captured: list[Tensor] | None = None
        self._hook = lm_head.register_forward_hook(self._lm_head_hook)

    @torch.no_grad()
    def reset_classifier_head(self) -> None:
        """Set the head to its start (``head_init``): a copy of the LM head as it is now, or zeros."""
        lm_head = self.lm.get_output_embeddings()
        if self.head_init == "lm":
            self.classifier_head.weight.copy_(lm_head.weight)
            bias = getattr(lm_head, "bias", None)
            if isinstance(bias, Tensor):
                self.classifier_head.bias.copy_(bias)
            else:
                self.classifier_head.bias.zero_()
        else:
            self.classifier_head.weight.zero_()
            self.classifier_head.bias.zero_()

    def _lm_head_hook(self, module: nn.Module, args: tuple[Any, ...], output: Tensor) -> Tensor | None:
        """Keep the LM head's input (teacher-forced pass), or return Director's scores in place of its logits."""
        hidden = args[0]
        if self._captured is not None:
            self._captured.append(hidden)
            return None
        if self.gamma == 0:
            return None
        return director_scores(output, self.classifier_head(hidden), gamma=self.gamma)

    @contextmanager
    def _capture(self) -> Iterator[list[Tensor]]:
        """Within the block the LM returns its own logits and the LM head's inputs are collected in the list."""
        self._captured = captured = []
        try:
            yield captured
        finally:
            self._captured = None

    def forward(
        self, xs: Tensor, lengths: Tensor, ys: Tensor | None = None, **_: Any
    ) -> tuple[Tensor, Tensor, None, Tensor]:
        """The label tokens' LM and classifier logits, teacher-forced.

        Args:
            xs: ``(B, L)`` right-padded context ids.
            lengths: ``(B,)`` context lengths.
            ys: ``(B, T)`` label ids, right-padded with ``NULL_IDX``.

        Returns:
            ``(lm_logits, preds, None, cls_logits)``: ``(B, T, V)`` LM logits at the label positions, their argmax
            and the ``(B, T, V)`` classifier logits at the same positions.
        """
        with self._capture() as captured:
            scores, preds, _ = super().forward(xs, lengths, ys=ys)
        if len(captured) != 1:
            raise RuntimeError(f"expected one call of the LM head in the forward pass, saw {len(captured)}")
        hidden = captured[0][:, -scores.size(1) - 1 : -1]  # the positions of ``scores`` (the label predictions)
        return scores, preds, None, self.classifier_head(hidden)


class HfDirectorAgent(FeedbackBatchMixin, HfCausalAgent):
    """A Hugging Face causal LM trained and decoded as Director; see the module's docstring.

    Flags: ``--director-gamma`` (decoding weight of the classifier, default 1), ``--director-classifier-weight``
    (weight of the classifier's loss, default 1) and ``--director-head-init`` (``lm`` or ``zero``, default ``lm``),
    beside :class:`~cringe_agent.agents.hf_causal.HfCausalAgent`'s ``--hf-*`` flags. A bad value raises
    ``ValueError`` naming the flag when the agent is built.
    """

    @classmethod
    def add_cmdline_args(cls, parser: ParlaiParser, partial_opt: Opt | None = None) -> ParlaiParser:
        """Add the Director flags to the Hugging Face causal LM agent's."""
        super().add_cmdline_args(parser, partial_opt=partial_opt)
        group = add_director_flags(parser)
        group.add_argument(
            "--director-head-init",
            type=str,
            default="lm",
            choices=list(HEAD_INITS),
            help="start of the classifier head: a copy of the LM head's weights with zero bias (lm), or zeros "
            "(zero, as the transformer Director)",
        )
        return parser

    def __init__(self, opt: Opt, shared: dict[str, Any] | None = None) -> None:
        _, self.director_classifier_weight = director_flags(opt)  # before the model is built: a bad flag fails at once
        super().__init__(opt, shared)

    def build_model(self) -> HfDirectorGeneratorModel:
        """The causal LM with its trained parameters chosen (as :class:`HfCausalAgent` builds it), plus the head."""
        base = super().build_model()
        gamma, _ = director_flags(self.opt)
        return HfDirectorGeneratorModel(
            base.lm,
            null_idx=self.NULL_IDX,
            end_idx=self.END_IDX,
            gamma=gamma,
            head_init=self.opt.get("director_head_init") or "lm",
        )

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Load a model file's trained parameters; one without the head (an ``HfCausalAgent`` file as
        ``--init-model``) loads the LM's, and the head then starts from the loaded LM head (``--director-head-init``).
        """
        model = self.model.module if hasattr(self.model, "module") else self.model
        own = model.state_dict()
        head_keys = {key for key in own if key.startswith(HEAD_PREFIX)}
        if head_keys & state_dict.keys():
            model.load_state_dict(state_dict)
            return
        logging.info(
            f"Director: the loaded weights have no classifier head; {', '.join(sorted(head_keys))} start from "
            f"--director-head-init {model.head_init} over the loaded LM"
        )
        model.load_state_dict({**state_dict, **{key: own[key] for key in head_keys}})
        model.reset_classifier_head()

    def compute_loss(self, batch: Any, return_output: bool = False) -> Any:
        """Director's loss of a batch (:func:`~cringe_agent.agents.director.director_loss`) and its metrics.

        The returned model output is ParlAI's usual ``(lm_logits, preds, None)``.
        """
        if batch.label_vec is None:
            raise ValueError("Cannot compute loss without a label.")
        labels = batch.label_vec
        lm_logits, preds, _, cls_logits = self.model(*self._model_input(batch), ys=labels)
        out = director_loss(
            lm_logits,
            cls_logits,
            labels,
            self.batch_feedback(batch),
            ignore_index=self.NULL_IDX,
            classifier_weight=self.director_classifier_weight,
        )
        positive_labelled = out.cls_mask & ~out.negative_mask
        self.record_local_metric("loss", AverageMetric.many([out.loss.detach()] * labels.size(0)))
        self.record_local_metric("ce_loss", AverageMetric.from_mask(out.nll, out.lm_mask))
        self.record_local_metric("director_bce", AverageMetric.from_mask(out.token_bce, out.cls_mask))
        self.record_local_metric("director_acc", AverageMetric.from_mask(out.cls_correct, out.cls_mask))
        self.record_local_metric("director_prob_pos", AverageMetric.from_mask(out.cls_prob, positive_labelled))
        self.record_local_metric("director_prob_neg", AverageMetric.from_mask(out.cls_prob, out.negative_mask))
        self.record_label_metrics(labels, preds, out.nll, out.lm_mask, out.negative_mask)
        self.record_per_token_metrics(batch, out.nll)
        model_output = (lm_logits, preds, None)
        return (out.loss, model_output) if return_output else out.loss
