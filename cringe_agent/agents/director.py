"""Director: a generator-classifier, ParlAI's ``transformer/generator`` with a second, per-token classifier head.

Arora, Shuster, Sukhbaatar, Weston. *Director: Generator-Classifiers For Supervised Language Modeling.*
arXiv:2206.07694 (2022), AACL 2022. One of the baselines of the CRINGE paper (its §3), trained on the same
``classifier_label`` data as :class:`~cringe_agent.agents.transformer.CringeTransformerGeneratorAgent`::

    parlai train_model -m cringe_agent.agents.director:DirectorTransformerGeneratorAgent -t TASK \\
        --director-classifier-weight 1.0 --director-gamma 1.0 --model-file /tmp/director
    parlai interactive -mf /tmp/director --director-gamma 2

(Importing this module imports the package :mod:`cringe_agent.agents` first, which applies
:mod:`cringe_agent.compat`, ParlAI's fixes for this stack, before any ParlAI code loads.)

The model. Beside the language-model head (ParlAI's output layer: the decoder's final hidden state ``h_t`` times the
output embedding ``E``, ``s_t = E h_t``), a classifier head reads the same hidden state and gives one logit per
vocabulary token, ``c_t = W h_t + b`` (``W`` of shape ``V x d``): ``sigmoid(c_{t,v})`` is the probability that the
sequence stays positive if token ``v`` comes next.

Training (:func:`director_loss`), per label token ``x_t`` of a sequence with feedback ``f`` (1 positive, 0 negative,
-1 unlabelled, from the message's ``classifier_label``)::

    L_LM  = mean over tokens with f != 0  of  -log softmax(s_t)[x_t]            (positives and unlabelled)
    L_cls = mean over tokens with f in {0, 1}  of  BCE(sigmoid(c_{t, x_t}), f)   (labelled sequences only)
    L     = L_LM + w * L_cls                                                     (w: --director-classifier-weight)

Only the logit of the token that actually follows is trained; negative sequences give the LM no likelihood and
unlabelled ones give the classifier no target.

Decoding (:func:`director_scores`)::

    score_t(v) = log_softmax( log softmax(s_t)[v] + gamma * log sigmoid(c_{t,v}) )   (gamma: --director-gamma)

i.e. ``p(v) ∝ p_LM(v) * p_cls(v)^gamma``, renormalised over the vocabulary. The combination lives in the model's
``output`` layer, which ParlAI's tree search (``TorchGeneratorAgent._generate``) calls on the last hidden state at
every incremental decoding step, so greedy, beam, top-k, nucleus and delayed-beam search all use it; ParlAI's
``--temperature`` then divides the combined log-probabilities. ``decode_forced`` (which ParlAI also uses to rank
label candidates) returns the same combined scores; only the training forward pass returns the two heads apart.

Gammas. The Director release used a "train gamma" of 3 and an "inference gamma" of 1. The inference gamma is the
exponent of the classifier's probability in decoding: ``--director-gamma`` here (default 1). The train gamma is read
here as the weight of the classifier's loss against the LM's: ``--director-classifier-weight`` (default 1; set 3 to
follow the release). Both can be changed when fine-tuning or loading a model file (``--director-gamma`` is read at
every decoding step, e.g. ``parlai interactive -mf FILE --director-gamma 2``).

Initialisation. The head starts at zero (``W = 0``, ``b = 0``): every ``c_{t,v} = 0`` adds the same
``gamma * log(1/2)`` to all tokens, so an untrained head decodes as the language model does (up to float rounding).
``--init-model`` may name a plain ``transformer/generator`` model file with the same architecture: its state dict
lacks only the classifier head's keys, which then keep their zero start (logged); a Director model file reloads with
its head.

``--director-shared-head``: "Director shared" (named in the CRINGE paper's §3, which says only that it shares the
head's linear layer), implemented as a classifier head that reuses the LM's output embedding ``E`` (tied to ParlAI's
token embeddings) behind an added ``d x d`` linear layer ``A`` and its own per-token bias: ``c_t = E (A h_t) + b``.
It adds ``d^2 + V`` parameters instead of ``V d + V``, and the classifier's gradient reaches ``E``. ``A`` starts at
zero like the separate head.

Metrics: ``loss`` (the optimised total of each batch, counted once per example), ``ppl`` (LM perplexity over the
label tokens of positive and unlabelled examples), ``ce_loss`` (``L_LM``), ``director_bce`` (``L_cls``),
``director_acc`` (share of labelled tokens whose classifier probability ``sigmoid(c_{t,x_t})`` is on the side of 0.5
of the sequence's label: above 0.5 for positives, at most 0.5 for negatives), ``token_acc`` / ``token_em`` (the LM
head's argmax against every label token, as ParlAI computes them), ``pos_tokens`` (label tokens of positive and
unlabelled examples) and ``neg_tokens``.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from parlai.agents.transformer.modules import TransformerGeneratorModel
from parlai.agents.transformer.transformer import TransformerGeneratorAgent, _check_positional_embeddings
from parlai.core.dict import DictionaryAgent
from parlai.core.metrics import AverageMetric, SumMetric
from parlai.core.opt import Opt
from parlai.core.params import ParlaiParser
from parlai.core.torch_generator_agent import PPLMetric
from parlai.utils import logging
from torch import Tensor, nn

from cringe_agent.agents.cringe import FeedbackBatchMixin
from cringe_agent.labels import Feedback

# Plain ints for tensor comparisons; the values themselves live in cringe_agent.labels.Feedback only.
_UNLABELLED, _NEGATIVE, _POSITIVE = int(Feedback.UNLABELLED), int(Feedback.NEGATIVE), int(Feedback.POSITIVE)

DEFAULT_GAMMA = 1.0
DEFAULT_CLASSIFIER_WEIGHT = 1.0


# ----------------------------------------------------------------------------------------------------
# The per-token math (pure torch)
# ----------------------------------------------------------------------------------------------------


@dataclass
class DirectorOutput:
    """What :func:`director_loss` returns: the reduced loss and its per-token parts.

    Per-token tensors have the shape of ``targets``; they are detached (for metrics), except for the scalars.

    Attributes:
        loss: ``ce + classifier_weight * bce``, a scalar (float32).
        ce: The LM's cross-entropy, mean over ``lm_mask`` tokens (0 when there are none), a scalar.
        bce: The classifier's binary cross-entropy, mean over ``cls_mask`` tokens (0 when there are none), a scalar.
        nll: ``-log softmax(lm_logits)[target]`` at every target token (negative ones included), 0 at
            ``ignore_index``.
        token_bce: The classifier's BCE at each ``cls_mask`` token, 0 elsewhere.
        cls_prob: ``sigmoid(cls_logits[target])`` at every target token, 0 at ``ignore_index``.
        cls_correct: ``cls_prob > 0.5`` equals "the sequence is positive", on ``cls_mask`` tokens; False elsewhere.
        lm_mask: Target tokens of positive and unlabelled sequences (trained by cross-entropy).
        cls_mask: Target tokens of labelled (positive or negative) sequences (trained by the classifier's BCE).
        negative_mask: Target tokens of negative sequences.
    """

    loss: Tensor
    ce: Tensor
    bce: Tensor
    nll: Tensor
    token_bce: Tensor
    cls_prob: Tensor
    cls_correct: Tensor
    lm_mask: Tensor
    cls_mask: Tensor
    negative_mask: Tensor


def _check_weight(value: Any, name: str) -> float:
    """``value`` as a float if it is a finite real number >= 0 (bools excluded), else ``ValueError`` naming it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def director_loss(
    lm_logits: Tensor,
    cls_logits: Tensor,
    targets: Tensor,
    feedback: Tensor,
    ignore_index: int = -100,
    classifier_weight: float = DEFAULT_CLASSIFIER_WEIGHT,
) -> DirectorOutput:
    """Director's training loss (Arora et al., 2022, arXiv:2206.07694, §3): LM cross-entropy plus classifier BCE.

    With ``s`` the LM logits, ``c`` the classifier logits, ``x`` the target token and ``f`` its sequence's feedback::

        CE_t  = -log softmax(s_t)[x_t]                                  on tokens with f in {1, -1}
        BCE_t = -(f log sigmoid(c_{t,x_t}) + (1 - f) log(1 - sigmoid(c_{t,x_t})))   on tokens with f in {0, 1}
        loss  = mean(CE) + classifier_weight * mean(BCE)

    Each mean runs over its own tokens; a term without tokens is 0. Negative tokens send no gradient into
    ``lm_logits``, unlabelled ones none into ``cls_logits``; only the classifier logit of the target token is trained.

    Args:
        lm_logits: ``(..., V)`` language-model logits (a ``-inf`` for a token that cannot be generated is fine).
        cls_logits: ``(..., V)`` classifier logits, one per candidate next token.
        targets: ``(...)`` target token ids; ``ignore_index`` marks padding.
        feedback: Per-token (or broadcastable, e.g. ``(B, 1)``) feedback: 1 positive, 0 negative, -1 unlabelled.
        ignore_index: Target value that is not a token.
        classifier_weight: ``w`` >= 0, the weight of the classifier's loss.

    Returns:
        A :class:`DirectorOutput`; computed in float32 whatever the logits' dtype.

    Raises:
        ValueError: Shapes that do not match, feedback values other than -1/0/1, or a bad ``classifier_weight``.
    """
    weight = _check_weight(classifier_weight, "classifier_weight")
    if lm_logits.shape != cls_logits.shape or lm_logits.shape[:-1] != targets.shape:
        raise ValueError(
            f"lm_logits {tuple(lm_logits.shape)} and cls_logits {tuple(cls_logits.shape)} must both be "
            f"targets' shape {tuple(targets.shape)} plus a vocabulary dimension"
        )
    try:
        feedback = torch.broadcast_to(feedback.to(targets.device), targets.shape)
    except RuntimeError:
        raise ValueError(
            f"feedback {tuple(feedback.shape)} does not broadcast to targets {tuple(targets.shape)}"
        ) from None
    if not bool(((feedback == _UNLABELLED) | (feedback == _NEGATIVE) | (feedback == _POSITIVE)).all()):
        raise ValueError(f"feedback values must be -1, 0 or 1, got {sorted(set(feedback.unique().tolist()))}")

    valid = targets.ne(ignore_index)
    index = targets.masked_fill(~valid, 0).unsqueeze(-1)
    lm_mask = valid & feedback.ne(_NEGATIVE)
    cls_mask = valid & feedback.ne(_UNLABELLED)
    zero = torch.zeros((), device=targets.device)

    nll = -F.log_softmax(lm_logits, dim=-1, dtype=torch.float32).gather(-1, index).squeeze(-1)
    ce_tokens = torch.where(lm_mask, nll, zero)
    ce = ce_tokens.sum() / lm_mask.sum().clamp(min=1)

    target_logit = cls_logits.gather(-1, index).squeeze(-1).float()
    is_positive = feedback.eq(_POSITIVE)
    bce_tokens = F.binary_cross_entropy_with_logits(target_logit, is_positive.float(), reduction="none")
    bce_tokens = torch.where(cls_mask, bce_tokens, zero)
    bce = bce_tokens.sum() / cls_mask.sum().clamp(min=1)

    cls_prob = torch.where(valid, torch.sigmoid(target_logit), zero).detach()
    return DirectorOutput(
        loss=ce + weight * bce,
        ce=ce,
        bce=bce,
        nll=torch.where(valid, nll, zero).detach(),
        token_bce=bce_tokens.detach(),
        cls_prob=cls_prob,
        cls_correct=cls_mask & (cls_prob > 0.5).eq(is_positive),
        lm_mask=lm_mask,
        cls_mask=cls_mask,
        negative_mask=valid & feedback.eq(_NEGATIVE),
    )


def director_scores(lm_logits: Tensor, cls_logits: Tensor, gamma: float = DEFAULT_GAMMA) -> Tensor:
    """Director's decoding distribution (Arora et al., 2022, arXiv:2206.07694, §3), as log-probabilities.

    ::

        score(v) = log_softmax( log softmax(s)[v] + gamma * log sigmoid(c_v) )

    i.e. ``p(v) ∝ p_LM(v) * sigmoid(c_v) ** gamma``, renormalised over the vocabulary (last dimension). ``gamma = 0``
    returns ``log softmax(s)`` itself, exactly.

    Args:
        lm_logits: ``(..., V)`` language-model logits.
        cls_logits: ``(..., V)`` classifier logits.
        gamma: Weight >= 0 of the classifier's log-probability.

    Returns:
        ``(..., V)`` float32 log-probabilities.

    Raises:
        ValueError: Shapes that differ, or a ``gamma`` that is not a finite number >= 0.
    """
    gamma = _check_weight(gamma, "gamma")
    if lm_logits.shape != cls_logits.shape:
        raise ValueError(f"lm_logits {tuple(lm_logits.shape)} and cls_logits {tuple(cls_logits.shape)} must match")
    lm_logprobs = F.log_softmax(lm_logits, dim=-1, dtype=torch.float32)
    if gamma == 0:
        return lm_logprobs
    return F.log_softmax(lm_logprobs + gamma * F.logsigmoid(cls_logits.float()), dim=-1)


# ----------------------------------------------------------------------------------------------------
# The ParlAI model and agent
# ----------------------------------------------------------------------------------------------------


def add_director_flags(parser: Any) -> Any:
    """Add ``--director-gamma`` and ``--director-classifier-weight`` to a ParlAI parser; return their group."""
    group = parser.add_argument_group("Director (Arora et al., 2022)")
    group.add_argument(
        "--director-gamma",
        type=float,
        default=DEFAULT_GAMMA,
        help="decoding: log p_LM(v) + gamma * log sigmoid(c_v), renormalised (the Director release decoded "
        "with gamma 1; 0 decodes with the LM alone)",
    )
    group.add_argument(
        "--director-classifier-weight",
        type=float,
        default=DEFAULT_CLASSIFIER_WEIGHT,
        help="training: CE + w * BCE of the classifier head (the Director release's train gamma, 3 in its runs)",
    )
    return group


def director_flags(opt: Any) -> tuple[float, float]:
    """``--director-gamma`` and ``--director-classifier-weight`` from ``opt``, checked; missing or None: defaults.

    Args:
        opt: ParlAI's opt (or any mapping).

    Returns:
        ``(gamma, classifier_weight)``, both finite floats >= 0.

    Raises:
        ValueError: A value of the wrong type or range; the message names the flag.
    """
    gamma = opt.get("director_gamma")
    weight = opt.get("director_classifier_weight")
    return (
        _check_weight(DEFAULT_GAMMA if gamma is None else gamma, "--director-gamma"),
        _check_weight(DEFAULT_CLASSIFIER_WEIGHT if weight is None else weight, "--director-classifier-weight"),
    )


class DirectorClassifierHead(nn.Module):
    """The classifier head: ``c = W h + b`` (separate), or ``c = E (A h) + b`` with the LM's output embedding ``E``.

    Both start at zero, so that an untrained head leaves decoding unchanged. The shared variant does not hold ``E``
    (it would appear twice in the state dict); the model passes it at each call.

    Args:
        dim: Width ``d`` of the decoder's hidden states.
        vocab_size: ``V``.
        shared: Reuse the output embedding behind a ``d x d`` layer instead of a ``V x d`` one.
    """

    def __init__(self, dim: int, vocab_size: int, shared: bool = False) -> None:
        super().__init__()
        self.shared = shared
        self.weight = nn.Parameter(torch.zeros(dim if shared else vocab_size, dim))
        self.bias = nn.Parameter(torch.zeros(vocab_size))

    def forward(self, hidden: Tensor, output_embedding: Tensor) -> Tensor:
        """Classifier logits ``(..., V)`` of hidden states ``(..., d)``; ``output_embedding`` is ``E`` (``V x d``)."""
        if self.shared:
            return F.linear(F.linear(hidden, self.weight), output_embedding, self.bias)
        return F.linear(hidden, self.weight, self.bias)


class DirectorTransformerGeneratorModel(TransformerGeneratorModel):
    """ParlAI's transformer encoder-decoder with Director's classifier head on the decoder's final hidden states.

    ``output`` (used by generation and ``decode_forced``) returns :func:`director_scores`; ``forward`` with labels
    (training and evaluation losses) returns ``(lm_logits, preds, encoder_states, cls_logits)``, ``preds`` being the
    LM head's argmax.

    Attributes:
        gamma: The decoding weight of the classifier (``--director-gamma``); may be changed at any time.
        classifier_head: A :class:`DirectorClassifierHead`.
    """

    def __init__(self, opt: Opt, dictionary: DictionaryAgent, **kwargs: Any) -> None:
        super().__init__(opt, dictionary, **kwargs)
        self.gamma, _ = director_flags(opt)
        vocab_size, dim = self.embeddings.weight.shape
        self.classifier_head = DirectorClassifierHead(dim, vocab_size, shared=bool(opt.get("director_shared_head")))

    def heads(self, latent: Tensor) -> tuple[Tensor, Tensor]:
        """The LM logits (ParlAI's output layer) and the classifier logits of decoder states ``(B, T, d)``."""
        return super().output(latent), self.classifier_head(latent, self.embeddings.weight)

    def output(self, tensor: Tensor) -> Tensor:
        """Director's renormalised log-probabilities, the scores that ParlAI's tree search decodes with."""
        return director_scores(*self.heads(tensor), gamma=self.gamma)

    def _forced_latent(self, encoder_states: Any, ys: Tensor) -> Tensor:
        """Decoder states under teacher forcing on ``ys`` (as ParlAI's ``decode_forced`` computes them)."""
        if (ys[:, 0] == self.START_IDX).any():
            raise AssertionError("decode_forced adds the start token itself; the labels must not begin with it")
        inputs = self._get_initial_forced_decoder_input(ys.size(0), ys[:, :-1])
        latent, _ = self.decoder(inputs, encoder_states)
        return latent

    def decode_forced(self, encoder_states: Any, ys: Tensor) -> tuple[Tensor, Tensor]:
        """Director's scores of ``ys`` under teacher forcing and their argmax (ParlAI's candidate ranking uses it)."""
        scores = self.output(self._forced_latent(encoder_states, ys))
        return scores, scores.argmax(dim=-1)

    def forward(
        self, *xs: Any, ys: Tensor | None = None, prev_enc: Any = None, maxlen: Any = None, bsz: Any = None
    ) -> tuple[Tensor, Tensor, Any, Tensor]:
        """Teacher-forced pass for the loss: ``(lm_logits, preds, encoder_states, cls_logits)``."""
        if ys is None:
            raise ValueError("DirectorTransformerGeneratorModel.forward needs labels (ys); generate with the agent")
        self.longest_label = max(self.longest_label, ys.size(1))
        encoder_states = prev_enc if prev_enc is not None else self.encoder(*xs)
        lm_logits, cls_logits = self.heads(self._forced_latent(encoder_states, ys))
        return lm_logits, lm_logits.argmax(dim=-1), encoder_states, cls_logits


class DirectorTransformerGeneratorAgent(FeedbackBatchMixin, TransformerGeneratorAgent):
    """``transformer/generator`` trained and decoded as Director; see the module's docstring for the equations.

    Flags: ``--director-gamma`` (decoding weight of the classifier, default 1), ``--director-classifier-weight``
    (weight of the classifier's loss, default 1) and ``--director-shared-head`` (default false). A value that is not
    a finite number >= 0 raises ``ValueError`` naming the flag when the agent is built.
    """

    @classmethod
    def add_cmdline_args(cls, parser: ParlaiParser, partial_opt: Opt | None = None) -> ParlaiParser:
        """Add the Director flags to ``transformer/generator``'s."""
        super().add_cmdline_args(parser, partial_opt=partial_opt)
        group = add_director_flags(parser)
        group.add_argument(
            "--director-shared-head",
            type="bool",
            default=False,
            help="classifier head c = E (A h) + b reusing the LM's output embedding E behind a d x d layer A "
            "(Director shared), instead of a separate V x d layer",
        )
        return parser

    def __init__(self, opt: Opt, shared: dict[str, Any] | None = None) -> None:
        _, self.director_classifier_weight = director_flags(opt)  # before the model is built: a bad flag fails at once
        super().__init__(opt, shared)

    def build_model(self, states: Any = None) -> DirectorTransformerGeneratorModel:
        """Build the Director model (as ``TransformerGeneratorAgent.build_model`` builds its own)."""
        _check_positional_embeddings(self.opt)
        model = DirectorTransformerGeneratorModel(self.opt, self.dict)
        if self.opt["embedding_type"] != "random":
            self._copy_embeddings(model.encoder.embeddings.weight, self.opt["embedding_type"])
        return model

    def load_state_dict(self, state_dict: dict[str, Tensor]) -> None:
        """Load model weights; a state dict without any classifier-head keys (``--init-model`` of a plain
        ``transformer/generator``) loads with the head kept at its zero start. Any other mismatch fails as usual."""
        own = self.model.state_dict()
        head_keys = {key for key in own if key.startswith("classifier_head.")}
        if head_keys and not head_keys & state_dict.keys():
            logging.info(
                f"Director: the loaded weights have no classifier head; {', '.join(sorted(head_keys))} "
                "keep their zero initialisation (loaded non-strictly for these keys only)"
            )
            state_dict = {**state_dict, **{key: own[key] for key in head_keys}}
        super().load_state_dict(state_dict)

    def compute_loss(self, batch: Any, return_output: bool = False) -> Any:
        """Director's loss of a batch (:func:`director_loss`) and its metrics.

        The returned model output is ParlAI's usual ``(lm_logits, preds, encoder_states)``.
        """
        if batch.label_vec is None:
            raise ValueError("Cannot compute loss without a label.")
        lm_logits, preds, encoder_states, cls_logits = self.model(*self._model_input(batch), ys=batch.label_vec)
        labels = batch.label_vec
        feedback = batch.get("feedback")
        if feedback is None:  # e.g. ParlAI's dummy batches
            feedback = torch.full((labels.size(0),), _UNLABELLED, dtype=torch.long)
        out = director_loss(
            lm_logits,
            cls_logits,
            labels,
            feedback.to(labels.device).unsqueeze(-1),
            ignore_index=self.NULL_IDX,
            classifier_weight=self.director_classifier_weight,
        )
        notnull = labels.ne(self.NULL_IDX)
        correct = labels == preds
        self.record_local_metric("loss", AverageMetric.many([out.loss.detach()] * labels.size(0)))
        self.record_local_metric("ppl", PPLMetric.from_mask(out.nll, out.lm_mask))
        self.record_local_metric("ce_loss", AverageMetric.from_mask(out.nll, out.lm_mask))
        self.record_local_metric("director_bce", AverageMetric.from_mask(out.token_bce, out.cls_mask))
        self.record_local_metric("director_acc", AverageMetric.from_mask(out.cls_correct, out.cls_mask))
        self.record_local_metric("token_acc", AverageMetric.from_mask(correct, notnull))
        num_tokens = notnull.long().sum(dim=-1)
        self.record_local_metric("token_em", AverageMetric.many((correct & notnull).sum(dim=-1) == num_tokens))
        self.record_local_metric("pos_tokens", SumMetric.many(out.lm_mask.long().sum(dim=-1)))
        self.record_local_metric("neg_tokens", SumMetric.many(out.negative_mask.long().sum(dim=-1)))
        self.record_per_token_metrics(batch, out.nll)
        model_output = (lm_logits, preds, encoder_states)
        return (out.loss, model_output) if return_output else out.loss
