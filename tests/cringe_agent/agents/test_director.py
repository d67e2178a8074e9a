"""Director (Arora et al., 2022): the loss and decoding functions by hand, and the agent through ParlAI.

Unit tests check :func:`director_loss` and :func:`director_scores` against values computed here with plain math on
V = 3, the gradient masks of the two heads, the flags and the classifier head's shapes and zero start.

The integration tests train a tiny ``transformer/generator`` by maximum likelihood on a labelled task, fine-tune it as
Director (``--init-model``: the plain model file lacks the classifier head), then decode with the result. Contexts
"tell me about X" have a positive reply "lovely X indeed" and a negative one "awful X honestly"; "complain about X"
has the positive reply "awful X honestly" (so the classifier must read the context); "what about X" has the
unlabelled reply "X are fine".
"""

from __future__ import annotations

import io
import json
import logging
import math
import random
from pathlib import Path
from typing import Any

import pytest
import torch

pytest.importorskip("parlai")

from parlai.core.agents import create_agent, create_agent_from_model_file  # noqa: E402
from parlai.core.message import Message  # noqa: E402
from parlai.core.params import ParlaiParser  # noqa: E402
from parlai.scripts.eval_model import EvalModel  # noqa: E402
from parlai.scripts.train_model import TrainModel  # noqa: E402
from parlai.utils import logging as parlai_logging  # noqa: E402

from cringe_agent.agents.director import (  # noqa: E402
    DirectorTransformerGeneratorModel,
    director_flags,
    director_loss,
    director_scores,
)

AGENT = "cringe_agent.agents.director:DirectorTransformerGeneratorAgent"
THINGS = ["cats", "dogs", "rain", "music", "books", "tea", "snow", "trains"]
ARCH = dict(n_layers=1, n_heads=2, embedding_size=32, ffn_size=64, dict_tokenizer="split", lr_scheduler="fixed")
LN = math.log


# ---------------------------------------------------------------------------------------------------------------------
# The functions, by hand
# ---------------------------------------------------------------------------------------------------------------------


def test_director_loss_by_hand() -> None:
    # Token 1: positive, target 0; p_LM = 1/3 each; classifier logit ln 3 -> sigmoid 3/4.
    # Token 2: negative, target 1; no CE; classifier logit ln 3 -> sigmoid 3/4, target 0.
    # Token 3: unlabelled, target 2; p_LM(2) = 1 / (1 + 3 + 1); no BCE.
    # Token 4: padding.
    lm = torch.tensor([[0.0, 0.0, 0.0], [LN(2), 0.0, 0.0], [0.0, LN(3), 0.0], [5.0, 1.0, 2.0]], requires_grad=True)
    cls = torch.tensor([[LN(3), 0.0, 0.0], [0.0, LN(3), 0.0], [1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    targets = torch.tensor([0, 1, 2, -100])
    feedback = torch.tensor([1, 0, -1, 1])
    out = director_loss(lm, cls, targets, feedback, ignore_index=-100, classifier_weight=0.5)

    ce = (LN(3) + LN(5)) / 2
    bce = (-LN(3 / 4) - LN(1 - 3 / 4)) / 2
    assert out.ce.item() == pytest.approx(ce, rel=1e-6)
    assert out.bce.item() == pytest.approx(bce, rel=1e-6)
    assert out.loss.item() == pytest.approx(ce + 0.5 * bce, rel=1e-6)
    assert out.nll.tolist() == pytest.approx([LN(3), -LN(1 / 4), LN(5), 0.0], rel=1e-6)
    assert out.token_bce.tolist() == pytest.approx([-LN(3 / 4), LN(4), 0.0, 0.0], rel=1e-6)
    assert out.cls_prob[:2].tolist() == pytest.approx([3 / 4, 3 / 4], rel=1e-6)
    assert out.cls_correct.tolist() == [True, False, False, False]  # the negative's 3/4 is on the wrong side
    assert out.lm_mask.tolist() == [True, False, True, False]
    assert out.cls_mask.tolist() == [True, True, False, False]
    assert out.negative_mask.tolist() == [False, True, False, False]


def test_director_loss_takes_per_sequence_feedback_and_empty_terms_are_zero() -> None:
    lm, cls = torch.randn(2, 3, 5), torch.randn(2, 3, 5)
    targets = torch.tensor([[1, 2, 0], [3, 0, 0]])
    per_token = director_loss(lm, cls, targets, torch.tensor([[1, 1, 1], [-1, -1, -1]]), ignore_index=0)
    per_sequence = director_loss(lm, cls, targets, torch.tensor([[1], [-1]]), ignore_index=0)
    assert torch.equal(per_token.loss, per_sequence.loss)
    only_unlabelled = director_loss(lm, cls, targets, torch.tensor([[-1], [-1]]), ignore_index=0)
    assert only_unlabelled.bce.item() == 0.0 and only_unlabelled.loss.item() == only_unlabelled.ce.item()
    only_negative = director_loss(lm, cls, targets, torch.tensor([[0], [0]]), ignore_index=0)
    assert only_negative.ce.item() == 0.0 and only_negative.bce.item() > 0


def test_director_loss_rejects_bad_inputs() -> None:
    lm, cls, targets = torch.randn(4, 3), torch.randn(4, 3), torch.tensor([0, 1, 2, 0])
    with pytest.raises(ValueError, match="feedback values must be -1, 0 or 1"):
        director_loss(lm, cls, targets, torch.tensor([1, 2, 0, -1]))
    with pytest.raises(ValueError, match="does not broadcast"):
        director_loss(lm, cls, targets, torch.tensor([1, 0]))
    with pytest.raises(ValueError, match="must both be"):
        director_loss(lm, torch.randn(4, 2), targets, torch.tensor([1, 1, 1, 1]))
    with pytest.raises(ValueError, match="classifier_weight must be a finite number >= 0"):
        director_loss(lm, cls, targets, torch.tensor([1, 1, 1, 1]), classifier_weight=-1.0)


def test_director_scores_by_hand() -> None:
    # p_LM = (1/4, 1/4, 1/2); sigmoid(c) = (3/4, 1/2, 1/4).
    lm = torch.tensor([0.0, 0.0, LN(2)])
    cls = torch.tensor([LN(3), 0.0, -LN(3)])
    # gamma 1: (1/4 * 3/4, 1/4 * 1/2, 1/2 * 1/4) = (3, 2, 2) / 16, renormalised (3, 2, 2) / 7.
    assert director_scores(lm, cls, gamma=1.0).exp().tolist() == pytest.approx([3 / 7, 2 / 7, 2 / 7], rel=1e-6)
    # gamma 2: (1/4 * 9/16, 1/4 * 1/4, 1/2 * 1/16) = (9, 4, 2) / 64, renormalised (9, 4, 2) / 15.
    assert director_scores(lm, cls, gamma=2.0).exp().tolist() == pytest.approx([9 / 15, 4 / 15, 2 / 15], rel=1e-6)


def test_gamma_zero_is_exactly_the_language_model() -> None:
    lm, cls = torch.randn(2, 4, 7), torch.randn(2, 4, 7) * 10
    assert torch.equal(director_scores(lm, cls, gamma=0.0), torch.log_softmax(lm, dim=-1))
    with pytest.raises(ValueError, match="gamma must be a finite number >= 0"):
        director_scores(lm, cls, gamma=float("nan"))


def test_negatives_give_the_lm_no_gradient_and_unlabelled_give_the_classifier_none() -> None:
    lm = torch.randn(6, 5, requires_grad=True)
    cls = torch.randn(6, 5, requires_grad=True)
    targets = torch.tensor([0, 1, 2, 3, 4, 1])
    feedback = torch.tensor([1, 0, -1, 0, 1, -1])
    director_loss(lm, cls, targets, feedback, classifier_weight=1.0).loss.backward()
    negative, unlabelled = feedback == 0, feedback == -1
    assert torch.all(lm.grad[negative] == 0)
    assert torch.all(lm.grad[~negative].abs().sum(dim=-1) > 0)
    assert torch.all(cls.grad[unlabelled] == 0)
    # Labelled tokens train the classifier logit of their target token only.
    for row in torch.nonzero(~unlabelled).flatten().tolist():
        nonzero = torch.nonzero(cls.grad[row]).flatten().tolist()
        assert nonzero == [targets[row].item()], row


# ---------------------------------------------------------------------------------------------------------------------
# The agent, without training
# ---------------------------------------------------------------------------------------------------------------------


def _opt(*args: str) -> dict:
    arch = [f"--{key.replace('_', '-')}={value}" for key, value in ARCH.items()]
    return ParlaiParser(True, True).parse_args(["-m", AGENT, *arch, *args])


def test_flags_have_their_defaults_and_bad_values_name_the_flag() -> None:
    opt = _opt()
    assert (opt["director_gamma"], opt["director_classifier_weight"], opt["director_shared_head"]) == (1.0, 1.0, False)
    assert director_flags({}) == (1.0, 1.0)  # a model file saved before the flags existed
    for flag in ["--director-gamma", "--director-classifier-weight"]:
        for value in ["-1", "inf"]:
            with pytest.raises(ValueError, match=f"^{flag} must be a finite number >= 0"):
                create_agent(_opt(f"{flag}={value}"), requireModelExists=False)


@pytest.mark.parametrize("shared", [False, True])
def test_untrained_head_is_zero_and_decodes_as_the_language_model(shared: bool) -> None:
    agent = create_agent(_opt(f"--director-shared-head={shared}", "--director-gamma=3"), requireModelExists=False)
    model = agent.model
    assert isinstance(model, DirectorTransformerGeneratorModel) and model.gamma == 3.0
    vocab, dim = model.embeddings.weight.shape
    head = model.classifier_head
    assert head.weight.shape == ((dim, dim) if shared else (vocab, dim)) and head.bias.shape == (vocab,)
    assert not head.weight.any() and not head.bias.any()
    latent = torch.randn(2, 3, dim)
    lm_logits, cls_logits = model.heads(latent)
    assert not cls_logits.any()
    torch.testing.assert_close(model.output(latent), torch.log_softmax(lm_logits, dim=-1))
    # Once trained, the shared head is E (A h) + b, with the LM's output embedding E.
    with torch.no_grad():
        head.weight.normal_()
        head.bias.normal_()
    expected = (latent @ head.weight.T @ model.embeddings.weight.T if shared else latent @ head.weight.T) + head.bias
    torch.testing.assert_close(model.heads(latent)[1], expected)


# ---------------------------------------------------------------------------------------------------------------------
# Through ParlAI: MLE, then Director fine-tuned from it; evaluation and decoding
# ---------------------------------------------------------------------------------------------------------------------


def _line(text: str, label: str, polarity: str | None) -> str:
    field = f"\tclassifier_label:{polarity}" if polarity else ""
    return f"text:{text}\tlabels:{label}{field}\tepisode_done:True\n"


def _write_task(folder: Path) -> Path:
    """Train on everything; valid holds the labelled positives and negatives, test the negatives only."""
    rows = []
    for thing in THINGS:
        rows.append((f"tell me about {thing}", f"lovely {thing} indeed", "pos"))
        rows.append((f"tell me about {thing}", f"awful {thing} honestly", "neg"))
        rows.append((f"complain about {thing}", f"awful {thing} honestly", "pos"))
        rows.append((f"what about {thing}", f"{thing} are fine", None))
    (folder / "task_train.txt").write_text("".join(_line(*row) for row in rows))
    (folder / "task_valid.txt").write_text("".join(_line(*row) for row in rows if row[2]))
    (folder / "task_test.txt").write_text("".join(_line(*row) for row in rows if row[2] == "neg"))
    return folder / "task"


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _classifier_probs(model_file: Path, rows: list[tuple[str, str, str]]) -> torch.Tensor:
    """Mean classifier probability ``sigmoid(c_{t, x_t})`` over the label tokens of each (text, label, polarity)."""
    agent = create_agent_from_model_file(str(model_file))
    agent.model.eval()
    observations = []
    for text, label, _ in rows:
        observations.append(agent.observe(Message({"text": text, "labels": [label], "episode_done": True})))
        agent.reset()
    batch = agent.batchify(observations)
    with torch.no_grad():
        lm_logits, _, _, cls_logits = agent.model(*agent._model_input(batch), ys=batch.label_vec)
    feedback = torch.tensor([1 if p == "pos" else 0 for _, _, p in rows]).unsqueeze(-1)
    out = director_loss(lm_logits, cls_logits, batch.label_vec, feedback, ignore_index=agent.NULL_IDX)
    return (out.cls_prob * out.cls_mask).sum(dim=-1) / out.cls_mask.sum(dim=-1)


def _value(metric) -> float:
    return metric.value() if hasattr(metric, "value") else float(metric)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A plain MLE ``transformer/generator``, and Director fine-tuned from it; Director evaluated on valid/test."""
    random.seed(0)  # module fixtures are set up before the test's own _seed
    torch.manual_seed(0)
    tmp = tmp_path_factory.mktemp("director")
    base = _write_task(tmp)
    data = dict(
        task="fromfile:parlaiformat",
        fromfile_datapath=str(base),
        fromfile_datatype_extension=True,
        datapath=str(tmp / "data"),
    )
    training = dict(
        batchsize=16,
        learningrate=5e-3,
        optimizer="adam",
        validation_every_n_epochs=100,
        short_final_eval=True,
        skip_generation=True,
        log_every_n_secs=100,
        **ARCH,
    )
    mle = tmp / "mle"
    TrainModel.main(model="transformer/generator", model_file=str(mle), num_epochs=10, **data, **training)
    director = tmp / "director"
    records = _Records()
    parlai_logging.logger.addHandler(records)
    try:
        TrainModel.main(model=AGENT, model_file=str(director), init_model=str(mle), num_epochs=20, **data, **training)
    finally:
        parlai_logging.logger.removeHandler(records)
    generating = dict(inference="greedy", skip_generation=False)
    valid = EvalModel.main(model_file=str(director), **data, datatype="valid", **generating)
    test = EvalModel.main(model_file=str(director), **data, datatype="test", skip_generation=True)
    return dict(tmp=tmp, data=data, mle=mle, director=director, log=records.messages, valid=valid, test=test)


TELL_POS = [(f"tell me about {t}", f"lovely {t} indeed", "pos") for t in THINGS]
TELL_NEG = [(f"tell me about {t}", f"awful {t} honestly", "neg") for t in THINGS]
COMPLAIN_POS = [(f"complain about {t}", f"awful {t} honestly", "pos") for t in THINGS]


@pytest.mark.integration
def test_fine_tuning_from_a_plain_generator_loads_it_and_starts_the_head_at_zero(runs: dict) -> None:
    head_lines = [m for m in runs["log"] if "no classifier head" in m]
    assert len(head_lines) == 1 and "classifier_head.bias, classifier_head.weight" in head_lines[0], runs["log"]
    mle = create_agent_from_model_file(str(runs["mle"]))
    assert "classifier_head.weight" not in mle.model.state_dict()
    # Copy the MLE model into a Director agent: the body is the MLE model's, the head zero, decoding the same.
    opt = json.loads(Path(f"{runs['mle']}.opt").read_text())
    fresh = create_agent(_opt(f"--init-model={runs['mle']}", f"--dict-file={opt['dict_file']}"))
    for key, value in mle.model.state_dict().items():
        assert torch.equal(fresh.model.state_dict()[key], value), key
    assert not fresh.model.classifier_head.weight.any()
    latent = torch.randn(2, 3, ARCH["embedding_size"])
    with torch.no_grad():
        torch.testing.assert_close(fresh.model.output(latent), torch.log_softmax(mle.model.output(latent), dim=-1))


@pytest.mark.integration
def test_training_pushes_the_classifier_probability_of_negatives_down(runs: dict) -> None:
    neg = _classifier_probs(runs["director"], TELL_NEG)
    pos = _classifier_probs(runs["director"], TELL_POS + COMPLAIN_POS)
    summary = {"neg": neg.tolist(), "pos": pos.tolist()}
    # From exactly 0.5 at the zero start; "awful X honestly" is negative after "tell me about" and positive after
    # "complain about": the classifier reads the context.
    assert neg.max() < 0.3 and pos.min() > 0.7, summary
    test, valid = runs["test"], runs["valid"]
    assert _value(test["director_acc"]) > 0.9 and _value(test["neg_tokens"]) > 0
    assert "pos_tokens" not in test or _value(test["pos_tokens"]) == 0  # test holds negatives only: no ppl tokens
    for key in ["loss", "ppl", "ce_loss", "director_bce", "director_acc", "pos_tokens", "neg_tokens", "f1"]:
        assert key in valid, key
    assert _value(valid["ppl"]) < 2.0, valid  # positives keep a high likelihood
    saved = json.loads(Path(f"{runs['director']}.opt").read_text())
    assert saved["model"] == AGENT and saved["director_gamma"] == 1.0


def _generator(model_file: Path, **overrides) -> Any:
    """The agent of ``model_file``, generating (the model was trained with ``--skip-generation``)."""
    return create_agent_from_model_file(str(model_file), {"skip_generation": False, **overrides})


def _reply(agent, text: str) -> str:
    agent.observe(Message({"text": text, "episode_done": True}))
    reply = agent.act()["text"]
    agent.reset()
    return reply


@pytest.mark.integration
def test_the_saved_model_decodes_greedily_and_by_sampling_with_the_head(runs: dict) -> None:
    greedy = _generator(runs["director"], inference="greedy")
    assert greedy.model.classifier_head.weight.any()  # the trained head came back with the model file
    assert _reply(greedy, "tell me about cats") == "lovely cats indeed"
    assert _reply(greedy, "complain about dogs") == "awful dogs honestly"
    topk = _generator(runs["director"], inference="topk", topk=3)
    replies = {_reply(topk, "tell me about tea") for _ in range(5)}
    assert all(reply.split() and "awful" not in reply for reply in replies), replies


@pytest.mark.integration
def test_incremental_decoding_scores_like_teacher_forcing(runs: dict) -> None:
    agent = _generator(runs["director"], inference="greedy", director_gamma=2.0, beam_length_penalty=0.0)
    agent.model.eval()
    batch = agent.batchify([agent.observe(Message({"text": "tell me about rain", "episode_done": True}))])
    with torch.no_grad():
        (tokens, score, _), *_ = agent._generate(batch, beam_size=1, max_ts=10)[0]
        ys = tokens[1:].unsqueeze(0)  # without the start token
        encoder_states = agent.model.encoder(*agent._encoder_input(batch))
        forced, preds = agent.model.decode_forced(encoder_states, ys)
        lm_logits, *_ = agent.model(*agent._encoder_input(batch), ys=ys)
    assert torch.equal(preds, ys)  # each greedy step is the argmax of the combined scores
    lm_only = torch.log_softmax(lm_logits, dim=-1).gather(-1, ys.unsqueeze(-1)).sum()
    assert abs(score.item() - lm_only.item()) > 1e-3  # and those scores are not the language model's alone
    # Without a length penalty, ParlAI's score of the reply is the sum of its tokens' (combined) log-probabilities.
    assert score.item() == pytest.approx(forced.gather(-1, ys.unsqueeze(-1)).sum().item(), rel=1e-4)


@pytest.mark.integration
@pytest.mark.parametrize("inference", ["greedy", "beam", "topk"])
def test_a_large_gamma_avoids_a_token_the_classifier_rejects(runs: dict, inference: str) -> None:
    # Beam and top-k search give at least 3 tokens, so they must find other words than the rejected one (rather than
    # stop at once); ParlAI's greedy search has no minimum length.
    overrides = {"inference": inference, "beam_size": 3 if inference == "beam" else 1, "topk": 3, "beam_min_length": 3}
    agent = _generator(runs["director"], **overrides, director_gamma=5.0)
    lovely = agent.dict["lovely"]
    assert _reply(agent, "tell me about snow").split()[0] == "lovely"
    with torch.no_grad():
        agent.model.classifier_head.bias[lovely] = -20.0  # log sigmoid = -20 for "lovely", everywhere
    replies = [_reply(agent, f"tell me about {thing}") for thing in THINGS for _ in range(2)]
    assert all("lovely" not in reply.split() for reply in replies), replies
    if inference != "greedy":
        assert all(len(reply.split()) >= 2 for reply in replies), replies
    agent.model.gamma = 0.0  # without the classifier, the language model says it again
    assert "lovely" in _reply(agent, "tell me about snow").split()


@pytest.mark.integration
def test_interactive_uses_the_director_model(runs: dict, monkeypatch, capsys) -> None:
    from parlai.scripts.interactive import Interactive

    monkeypatch.setattr("sys.stdin", io.StringIO("tell me about books\n"))
    Interactive.main(model_file=str(runs["director"]), datapath=str(runs["tmp"] / "data"), inference="beam")
    out = capsys.readouterr().out
    reply = out.split("[DirectorTransformerGenerator]:")[1].splitlines()[0].strip()
    assert reply == "lovely books indeed", out[-2000:]


@pytest.mark.integration
def test_shared_head_trains_saves_and_reloads(runs: dict) -> None:
    model_file = runs["tmp"] / "shared"
    TrainModel.main(
        model=AGENT,
        model_file=str(model_file),
        director_shared_head=True,
        max_train_steps=3,
        batchsize=8,
        validation_every_n_steps=100,
        skip_generation=True,
        **runs["data"],
        **ARCH,
    )
    agent = create_agent_from_model_file(str(model_file))
    head = agent.model.classifier_head
    assert head.shared and head.weight.shape == (ARCH["embedding_size"],) * 2 and head.weight.any()
    with pytest.raises(RuntimeError, match="size mismatch"):  # not silently reinitialised in a separate head
        create_agent_from_model_file(str(model_file), {"director_shared_head": False})
