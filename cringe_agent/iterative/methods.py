"""The training methods a loop's rounds can use (``cringe-loop --method``), and the comparison's baselines.

Round 0 is always the MLE baseline (or ``--init-model``); rounds r >= 1 fine-tune with the chosen method on the same
labelled data (the task's own labels, plus the labelled generations of rounds 2..r):

============  ==========================================================================================
``cringe``    the CRINGE agent (:mod:`cringe_agent.agents.transformer`), ``--alpha``/``--k`` and variants
``mle_pos``   maximum likelihood on positive (and unlabelled) labels only
``mle_all``   maximum likelihood on every label, negatives included (ParlAI's ``transformer/generator`` loss)
``unlikelihood``  token unlikelihood on negative labels, weight ``--alpha`` (ParlAI's reward trait)
``sigmoid``   the sigmoid-only loss, negative weight ``--alpha``
``director``  Director: a classifier head beside the LM head, combined at decoding (``--method-opt director_gamma=``)
``reranker``  no training: the previous round's model samples ``--rerank-candidates`` replies per context and the
              labelling classifier keeps the one it scores least negative
============  ==========================================================================================
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

CRINGE_AGENT = "cringe_agent.agents.transformer:CringeTransformerGeneratorAgent"
MLE_AGENT = "cringe_agent.agents.transformer:MleTransformerGeneratorAgent"
BASELINES = "cringe_agent.agents.baselines"
DIRECTOR_AGENT = "cringe_agent.agents.director:DirectorTransformerGeneratorAgent"
HF = "cringe_agent.agents.hf_causal"

#: The agent of each method over a pretrained Hugging Face causal LM (``cringe-loop --model``).
HF_AGENTS = {
    CRINGE_AGENT: f"{HF}:CringeHfCausalAgent",
    MLE_AGENT: f"{HF}:HfCausalAgent",
    f"{BASELINES}:MlePositivesAgent": f"{HF}:HfMlePositivesAgent",
    f"{BASELINES}:UnlikelihoodAgent": f"{HF}:HfUnlikelihoodAgent",
    f"{BASELINES}:SigmoidOnlyAgent": f"{HF}:HfSigmoidOnlyAgent",
    DIRECTOR_AGENT: "cringe_agent.agents.hf_director:HfDirectorAgent",
}


def _cringe_options(cfg: Any) -> dict[str, Any]:
    return {
        "cringe_alpha": cfg.alpha,
        "cringe_k": cfg.k,
        "cringe_ce_on_positives": cfg.ce_on_positives,
        "cringe_contrast_positives": cfg.contrast_positives,
        "cringe_detach_positive": cfg.detach_positive,
    }


def _none(cfg: Any) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Method:
    """One training method of the rounds.

    Attributes:
        name: The ``--method`` value.
        label: Its name in reports.
        agent: The ParlAI agent the rounds train with; None: the rounds do not train (a decoding-time method).
        options: The agent's options from the loop's config (e.g. ``cringe_alpha``).
        eval_agent: The agent that reads a round's model file to measure the positive labels' perplexity.
        ppl_metric: The metric of ``eval_agent`` that holds it.
        rerank: Whether evaluation reranks sampled candidates with the labelling classifier.
    """

    name: str
    label: str
    agent: str | None
    options: Callable[[Any], dict[str, Any]] = field(default=_none)
    eval_agent: str = CRINGE_AGENT
    ppl_metric: str = "ppl_pos"
    rerank: bool = False


METHODS: dict[str, Method] = {
    m.name: m
    for m in [
        Method("cringe", "CRINGE", CRINGE_AGENT, _cringe_options),
        Method("mle_pos", "MLE (positives only)", f"{BASELINES}:MlePositivesAgent"),
        Method("mle_all", "MLE (all data)", MLE_AGENT),
        Method("unlikelihood", "unlikelihood", f"{BASELINES}:UnlikelihoodAgent", lambda cfg: {"alpha": cfg.alpha}),
        Method(
            "sigmoid",
            "sigmoid-only",
            f"{BASELINES}:SigmoidOnlyAgent",
            lambda cfg: {"sigmoid_negative_weight": cfg.alpha},
        ),
        Method("director", "Director", DIRECTOR_AGENT, eval_agent=DIRECTOR_AGENT, ppl_metric="ppl"),
        Method("reranker", "reranker", None, rerank=True),
    ]
}


def method_of(name: str, pretrained: bool = False) -> Method:
    """The method called ``name`` (with ``pretrained``: its agents over a Hugging Face causal LM).

    Raises:
        ValueError: An unknown name (the message lists the valid ones), or a method with no pretrained agent.
    """
    try:
        method = METHODS[name]
    except KeyError:
        raise ValueError(f"unknown method {name!r}; valid methods: {', '.join(METHODS)}") from None
    if not pretrained:
        return method
    missing = [a for a in (method.agent, method.eval_agent) if a is not None and a not in HF_AGENTS]
    if missing:
        valid = [m for m, x in METHODS.items() if x.agent in HF_AGENTS or x.agent is None]
        raise ValueError(f"method {name!r} has no agent for --model; with --model use one of {', '.join(valid)}")
    return dataclasses.replace(
        method,
        agent=HF_AGENTS[method.agent] if method.agent else None,
        eval_agent=HF_AGENTS[method.eval_agent],
    )
