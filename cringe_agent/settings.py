"""The settings of the CRINGE loss and their defaults, in one place (pure Python: no torch or ParlAI import).

:func:`cringe_agent.loss.cringe_loss`, :class:`cringe_agent.loss.CringeLoss` and the ``--cringe-*`` flags of
:class:`cringe_agent.agents.cringe.CringeAgentMixin` take their defaults from :data:`DEFAULTS`.

Adolphs et al., *The CRINGE Loss: Learning what language not to model*, arXiv:2211.05826 (2022).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CringeSettings:
    """Hyper-parameters and variants of the CRINGE loss; each field is documented below it."""

    alpha: float = 1.0  # paper and authors' code
    """Weight of the contrastive term, ``L = L_CE + alpha * L_Cr``. 1.0 in the authors' released code; the paper
    sweeps {0.5, 1, 2, 5} on the BlenderBot 1 tasks and uses 0.5 for FITS."""

    k: int = 5  # paper's k; the authors' released code defaults to k=1
    """Size of the top-k (the target token excluded) that the contrasted token is sampled from, by softmax at
    temperature 1. The paper uses k = 5 (our default); the authors' released code defaults to k = 1, which makes the
    sample deterministic (the highest-scoring token other than the target)."""

    detach_positive: bool = False
    """Stop the gradient through the sampled token's score: ``s+`` on negative tokens, and ``s-`` on contrasted
    positive tokens (see ``contrast_positives``). A variant of the authors' release, not ablated in the paper; off,
    the gradient flows into both scores."""

    contrast_positives: bool = False
    """Also apply the two-way contrast to tokens of classifier-labelled positive sequences (feedback 1): the gold
    token as ``s+`` against a token sampled from the top-k without the gold as ``s-``, as in the CT loss of Jiang et
    al. (2022). Unlabelled tokens (feedback -1) are never contrasted. A variant of the authors' release."""

    ce_on_positives: bool = True
    """Train tokens of classifier-labelled positive sequences (feedback 1) with cross-entropy. Off: cross-entropy on
    unlabelled tokens (feedback -1) only, as a variant of the authors' release; labelled positives then carry no loss
    term (unless ``contrast_positives``) and are left out of the token count of the reduction, which counts the
    tokens that carry a term."""


DEFAULTS = CringeSettings()
"""The default of every CRINGE setting: alpha 1, k 5 (the paper's), no variant switched on."""
