"""Director over a Hugging Face causal LM (:mod:`cringe_agent.agents.hf_director`), on a tiny random Llama.

Unit tests build the model around a tiny Llama (:func:`cringe_agent.hf.tiny.make_tiny_llama`) and check the head's
start, what trains and saves, Director's combined scores with hand-set head weights (a token the head rejects loses
probability and greedy decoding avoids it), and left padding in the teacher-forced pass and in ``generate``.

The integration tests train the agent through ``parlai train_model`` on the labelled task of
:func:`tiny_models.write_pos_neg_task` ("tell me about X": positive "lovely X indeed", negative "awful X honestly";
"complain about Y": positive "awful Y honestly", so the head must read the context), then evaluate, reload and
decode with the model file.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
import torch

pytest.importorskip("transformers")
pytest.importorskip("parlai")

from parlai.core.agents import create_agent, create_agent_from_model_file  # noqa: E402
from parlai.core.params import ParlaiParser  # noqa: E402
from parlai.scripts.eval_model import EvalModel  # noqa: E402
from parlai.scripts.train_model import TrainModel  # noqa: E402
from tiny_models import task_texts, write_pos_neg_task  # noqa: E402
from transformers import AutoModelForCausalLM  # noqa: E402

from cringe_agent.agents.director import director_scores  # noqa: E402
from cringe_agent.agents.hf_director import HfDirectorAgent, HfDirectorGeneratorModel  # noqa: E402
from cringe_agent.hf.causal_model import prepare_trainable  # noqa: E402
from cringe_agent.hf.tiny import make_tiny_llama  # noqa: E402

AGENT = "cringe_agent.agents.hf_director:HfDirectorAgent"
NULL, END = 0, 2
CONTEXTS = [[5, 6, 7, 8, 9], [10, 11]]


@pytest.fixture(scope="module")
def task(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The tiny labelled task and a tiny Llama whose tokenizer was trained on its texts."""
    folder = tmp_path_factory.mktemp("hf_director")
    base = write_pos_neg_task(folder)
    model = make_tiny_llama(folder / "llama", task_texts(base), vocab_size=400, layers=2, hidden=32)
    common = dict(
        task="fromfile:parlaiformat",
        fromfile_datapath=str(base),
        fromfile_datatype_extension=True,
        datapath=str(folder / "data"),
        hf_model=str(model),
    )
    return folder, common


def _model(common: dict[str, Any], **kwargs: Any) -> HfDirectorGeneratorModel:
    train_layers = kwargs.pop("train_layers", -1)
    lm = AutoModelForCausalLM.from_pretrained(common["hf_model"], dtype=torch.float32).eval()
    return HfDirectorGeneratorModel(
        prepare_trainable(lm, train_layers=train_layers), null_idx=NULL, end_idx=END, **kwargs
    )


def _padded(rows: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(r) for r in rows)
    return torch.tensor([r + [NULL] * (width - len(r)) for r in rows]), torch.tensor([len(r) for r in rows])


def _greedy(model: HfDirectorGeneratorModel, contexts: list[list[int]], n: int = 4) -> list[list[int]]:
    replies, _ = model.generate_replies(*_padded(contexts), max_new_tokens=n, num_beams=1, do_sample=False)
    return [r.tolist() for r in replies]


# -- the model ---------------------------------------------------------------------------------------------------


def test_head_starts_as_the_lm_head_always_trains_and_is_saved(task: tuple[Path, dict[str, Any]]) -> None:
    _, common = task
    model = _model(common, train_layers=1)
    lm_head = model.lm.get_output_embeddings()
    torch.testing.assert_close(model.classifier_head.weight, lm_head.weight)
    assert model.classifier_head.weight.data_ptr() != lm_head.weight.data_ptr()  # a copy, not tied
    assert not model.classifier_head.bias.any()
    state = model.state_dict()
    assert {"classifier_head.weight", "classifier_head.bias"} <= set(state)
    assert set(state) == {n for n, p in model.named_parameters() if p.requires_grad}
    assert not any(".layers.0." in k for k in state)  # the frozen layer is still left out
    xs, lengths = _padded(CONTEXTS)
    ys = torch.tensor([[12, 13, END], [14, END, NULL]])
    lm_logits, preds, _, cls_logits = model(xs, lengths, ys=ys)
    assert cls_logits.shape == lm_logits.shape == (2, 3, lm_head.weight.shape[0])
    torch.testing.assert_close(cls_logits, lm_logits)  # c = s at the start: the head reads the LM head's input
    torch.testing.assert_close(preds, lm_logits.argmax(-1))
    zero = _model(common, head_init="zero")
    assert not zero.classifier_head.weight.any() and zero.all_trained
    lora = HfDirectorGeneratorModel(
        prepare_trainable(AutoModelForCausalLM.from_pretrained(common["hf_model"]), lora_r=2),
        null_idx=NULL,
        end_idx=END,
    )
    assert {"classifier_head.weight", "classifier_head.bias"} <= lora.trained_names
    assert all("lora_" in n or n.startswith("classifier_head.") for n in lora.trained_names)


def test_bad_settings_are_refused(task: tuple[Path, dict[str, Any]]) -> None:
    _, common = task
    with pytest.raises(ValueError, match="--director-gamma"):
        _model(common, gamma=-1.0)
    with pytest.raises(ValueError, match="--director-head-init"):
        _model(common, head_init="random")
    parser = ParlaiParser(True, True)
    opt = parser.parse_kwargs(model=AGENT, director_classifier_weight=float("nan"), **common)
    with pytest.raises(ValueError, match="--director-classifier-weight"):
        create_agent(opt)


def test_a_token_the_head_rejects_loses_probability_and_greedy_avoids_it(task: tuple[Path, dict[str, Any]]) -> None:
    """Hand-set head: ``W = 0`` and a bias of -8 on the LM's greedy choice, 0 elsewhere."""
    _, common = task
    model = _model(common, head_init="zero", gamma=0.0)
    ids = torch.tensor([CONTEXTS[0]])
    with torch.no_grad():
        lm_logits = model.lm(input_ids=ids).logits[0, -1]  # gamma 0: the LM's own logits
        rejected = int(lm_logits.argmax())
        model.classifier_head.bias[rejected] = -8.0
        assert _greedy(model, CONTEXTS[:1], n=1) == [[rejected]]
        model.gamma = 1.0
        combined = model.lm(input_ids=ids).logits[0, -1]
    expected = director_scores(lm_logits, model.classifier_head.bias.detach(), gamma=1.0)
    torch.testing.assert_close(combined, expected)
    lm_logprobs = lm_logits.log_softmax(-1)
    assert combined[rejected] < lm_logprobs[rejected] - 5  # log sigmoid(-8) ~ -8, less the renormalisation
    others = torch.arange(combined.numel()) != rejected
    assert (combined[others] > lm_logprobs[others]).all()  # the mass it lost goes to the others, in proportion
    assert torch.allclose(combined.exp().sum(), torch.tensor(1.0))
    assert _greedy(model, CONTEXTS[:1], n=1) == [[int(lm_logprobs.masked_fill(~others, -1e9).argmax())]]


def test_left_padding_changes_neither_the_heads_nor_generation(task: tuple[Path, dict[str, Any]]) -> None:
    """A batch of different lengths gives each example's classifier logits and greedy reply as it alone does."""
    _, common = task
    model = _model(common, gamma=2.0)
    torch.manual_seed(0)
    with torch.no_grad():
        model.classifier_head.weight.add_(torch.randn_like(model.classifier_head.weight))
        model.classifier_head.bias.normal_()
        labels = [[12, 13, END], [14, END]]
        xs, lengths = _padded(CONTEXTS)
        ys, _ = _padded(labels)
        _, _, _, cls_logits = model(xs, lengths, ys=ys)
        for i, (ctx, lab) in enumerate(zip(CONTEXTS, labels)):
            _, _, _, alone = model(*_padded([ctx]), ys=torch.tensor([lab]))
            torch.testing.assert_close(cls_logits[i, : len(lab)], alone[0], atol=1e-4, rtol=1e-4)
    batch = _greedy(model, CONTEXTS, n=5)
    assert batch == [_greedy(model, [ctx], n=5)[0] for ctx in CONTEXTS]
    model.gamma = 0.0
    assert _greedy(model, CONTEXTS, n=5) != batch  # the head (random here) changes what is decoded


# -- through ParlAI ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained(task: tuple[Path, dict[str, Any]]) -> dict[str, Any]:
    """Train the agent (every parameter, 30 epochs of the 60 examples) and evaluate on valid (positives only) and
    test (negatives only)."""
    folder, common = task
    model_file = str(folder / "director" / "model")
    random.seed(0)
    torch.manual_seed(0)
    TrainModel.main(
        model=AGENT,
        **common,
        model_file=model_file,
        director_classifier_weight=1.0,
        hf_train_layers=-1,
        batchsize=16,
        num_epochs=30,
        learningrate=1e-2,
        gradient_clip=-1,
        optimizer="adam",
        lr_scheduler="fixed",
        validation_every_n_epochs=100,
        short_final_eval=True,
        skip_generation=True,
        log_every_n_secs=100,
    )
    valid = EvalModel.main(model_file=model_file, **common, datatype="valid", skip_generation=True)
    test = EvalModel.main(model_file=model_file, **common, datatype="test", skip_generation=True)
    return {"model_file": model_file, "valid": valid, "test": test}


@pytest.mark.integration
def test_the_head_learns_to_reject_negative_labels(trained: dict[str, Any]) -> None:
    pos = trained["valid"]["director_prob_pos"].value()
    neg = trained["test"]["director_prob_neg"].value()
    print({"director_prob_pos": pos, "director_prob_neg": neg})
    assert pos > 0.7 and neg < 0.3
    assert trained["test"]["director_acc"].value() > 0.8


@pytest.mark.integration
def test_reports_the_positive_perplexity_as_ppl(trained: dict[str, Any]) -> None:
    """``ppl`` (what the loop reads for Director) is the perplexity of the positive labels, as ``ppl_pos``."""
    valid = trained["valid"]
    assert 1.0 < valid["ppl"].value() < 50.0
    assert valid["ppl"].value() == pytest.approx(valid["ppl_pos"].value())
    assert trained["test"]["neg_tokens"].value() > 0 and trained["test"]["pos_tokens"].value() == 0


@pytest.mark.integration
def test_model_file_reloads_with_its_head_and_decodes_with_it(trained: dict[str, Any]) -> None:
    model_file = trained["model_file"]
    saved = torch.load(model_file, map_location="cpu", weights_only=False)["model"]
    agent = create_agent_from_model_file(
        model_file, {"inference": "greedy", "skip_generation": False, "director_gamma": 3.0}
    )
    assert type(agent) is HfDirectorAgent and agent.model.gamma == 3.0
    assert {"classifier_head.weight", "classifier_head.bias"} <= set(saved)
    weights = agent.model.state_dict()
    for key, value in saved.items():
        torch.testing.assert_close(weights[key], value)
    assert not torch.equal(saved["classifier_head.weight"], saved["lm.lm_head.weight"])  # the head trained apart

    # the first token of the negative reply "awful ..." after "tell me about dogs" loses probability with gamma
    awful = agent.dict.txt2vec("awful")[0]
    ids = torch.tensor([agent.dict.chat_ids(["tell me about dogs"])])
    with torch.no_grad():
        director = agent.model.lm(input_ids=ids).logits[0, -1]
        agent.model.gamma = 0.0
        lm_only = agent.model.lm(input_ids=ids).logits[0, -1].log_softmax(-1)
        agent.model.gamma = 3.0
    assert director[awful] < lm_only[awful] - 1.0

    agent.observe({"text": "tell me about dogs", "episode_done": True})
    reply = agent.act()
    assert isinstance(reply["text"], str) and reply["text"].strip() and "awful" not in reply["text"]


def test_init_model_without_a_head_starts_it_from_the_loaded_lm_head(task: tuple[Path, dict[str, Any]]) -> None:
    """An ``HfCausalAgent`` model file (no head) fine-tunes as Director; the head copies its (changed) LM head."""
    folder, common = task
    parser = ParlaiParser(True, True)
    plain_file = str(folder / "plain" / "model")
    plain = create_agent(
        parser.parse_kwargs(model="cringe_agent.agents.hf_causal:HfCausalAgent", model_file=plain_file, **common)
    )
    with torch.no_grad():
        plain.model.lm.get_output_embeddings().weight.mul_(2.0)
    plain.save(plain_file)
    parser = ParlaiParser(True, True)
    opt = parser.parse_kwargs(
        model=AGENT, init_model=plain_file, model_file=str(folder / "ft" / "model"), optimizer="adam", **common
    )
    agent = create_agent(opt)
    lm_head = agent.model.lm.get_output_embeddings().weight
    torch.testing.assert_close(lm_head, plain.model.lm.get_output_embeddings().weight)
    torch.testing.assert_close(agent.model.classifier_head.weight, lm_head)
    in_optimizer = {id(p) for group in agent.optimizer.param_groups for p in group["params"]}
    assert {id(p) for p in agent.model.classifier_head.parameters()} <= in_optimizer
