"""Training logits at the label positions only (:mod:`cringe_agent.agents.label_logits`): the same loss, gradients
and metrics as the full ``(B, T, V)`` projection, on a batch of labels of different lengths."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("parlai")

from parlai.core.agents import create_agent  # noqa: E402
from parlai.core.message import Message  # noqa: E402
from parlai.core.params import ParlaiParser  # noqa: E402
from tiny_models import TINY  # noqa: E402

import cringe_agent.agents.cringe as cringe_module  # noqa: E402
import cringe_agent.agents.transformer as transformer_module  # noqa: E402
from cringe_agent.agents.label_logits import label_positions_only, supports_label_positions_only  # noqa: E402

AGENT = "cringe_agent.agents.transformer:CringeTransformerGeneratorAgent"
MLE_AGENT = "cringe_agent.agents.transformer:MleTransformerGeneratorAgent"
WORDS = "a b c d e f g h i j k l m n o p q r s t".split()
EXAMPLES = [  # (text, label, classifier_label): replies of 1 to 9 words, so that the batch holds much padding
    ("tell me a b", "a", "pos"),
    ("tell me c d", "c d e f g h i j k", "neg"),
    ("say e f", "e f", None),
    ("say g h", "g h i j", "neg"),
    ("ask k l", "k l m n o p", "pos"),
]


def _agent(k: int, agent: str = AGENT):
    tiny = [f"--{key.replace('_', '-')}={value}" for key, value in TINY.items()]
    flags = [f"--cringe-k={k}", "--cringe-alpha=1"] if agent == AGENT else []
    opt = ParlaiParser(True, True).parse_args(["-m", agent, *tiny, *flags])
    agent = create_agent(opt, requireModelExists=False)
    for word in WORDS + ["tell", "me", "say", "ask"]:
        agent.dict.add_token(word)
    agent.model = agent.build_model()
    return agent


def _batch(agent):
    observations = []
    for text, label, polarity in EXAMPLES:
        message = {"text": text, "labels": [label], "episode_done": True}
        if polarity:
            message["classifier_label"] = polarity
        observations.append(agent.observe(Message(message)))
        agent.reset()
    return agent.batchify(observations)


def _loss_and_grads(agent, batch, sparse: bool, monkeypatch):
    agent.model.zero_grad()
    agent.is_training = True
    agent._local_metrics.clear()  # ParlAI records each metric once per batch
    with monkeypatch.context() as patch:
        if not sparse:  # the full projection, as for a model that does not allow the label positions only
            patch.setattr(cringe_module, "supports_label_positions_only", lambda model: False)
            patch.setattr(transformer_module, "supports_label_positions_only", lambda model: False)
        loss = agent.compute_loss(batch)
    loss.backward()
    grads = {name: p.grad.clone() for name, p in agent.model.named_parameters() if p.grad is not None}
    metrics = {key: [m.value() for m in values] for key, values in agent._local_metrics.items()}
    return loss.detach(), grads, metrics


@pytest.mark.parametrize("agent_name", [AGENT, MLE_AGENT])
def test_label_positions_only_gives_the_full_projections_loss_and_gradients(agent_name: str, monkeypatch) -> None:
    """CRINGE (k = 1: the contrasted token is the best other one, no sampling) and the MLE baseline, whose full
    projection is ParlAI's own ``compute_loss``."""
    torch.manual_seed(0)
    agent = _agent(1, agent_name)
    batch = _batch(agent)
    assert batch.label_vec.eq(agent.NULL_IDX).float().mean() > 0.3  # much padding
    dense_loss, dense_grads, dense_metrics = _loss_and_grads(agent, batch, False, monkeypatch)
    sparse_loss, sparse_grads, sparse_metrics = _loss_and_grads(agent, batch, True, monkeypatch)
    assert sparse_loss.item() == pytest.approx(dense_loss.item(), rel=1e-5)
    assert sparse_grads.keys() == dense_grads.keys() and dense_grads
    for name, grad in dense_grads.items():
        assert torch.allclose(sparse_grads[name], grad, rtol=1e-4, atol=1e-6), name
    assert sparse_metrics.keys() == dense_metrics.keys()
    assert {"loss", "ppl", "token_acc", "token_em"} <= dense_metrics.keys()
    for key, values in dense_metrics.items():
        assert sparse_metrics[key] == pytest.approx(values, rel=1e-5), key


def test_the_model_gets_its_own_output_back_and_a_mismatched_mask_is_refused() -> None:
    agent = _agent(k=1)
    model = agent.model
    assert supports_label_positions_only(model)
    mask = torch.tensor([[True, False, True], [True, True, False]])
    with label_positions_only(model, mask):
        logits = model.output(torch.randn(2, 3, 16))
        assert logits.shape == (1, 4, len(agent.dict))
        with pytest.raises(ValueError, match="does not match the label mask"):
            model.output(torch.randn(2, 4, 16))
    assert "output" not in vars(model) and model.output(torch.randn(2, 3, 16)).shape == (2, 3, len(agent.dict))
    with pytest.raises(RuntimeError), label_positions_only(model, mask):
        raise RuntimeError("restored on error too")
    assert "output" not in vars(model)


def test_evaluation_keeps_the_full_projection() -> None:
    """In evaluation ``compute_loss`` returns ParlAI's ``(B, T, V)`` scores (token-level outputs read them)."""
    agent = _agent(k=1)
    batch = _batch(agent)
    agent.is_training = False
    _, (scores, preds, *_) = agent.compute_loss(batch, return_output=True)
    assert scores.shape[:2] == batch.label_vec.shape and preds.shape == batch.label_vec.shape
