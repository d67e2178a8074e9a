"""The CRINGE agent over a Hugging Face causal LM (:mod:`cringe_agent.agents.hf_causal`), on a tiny random Llama.

The model is built in memory and written to a folder (:func:`cringe_agent.hf.tiny.make_tiny_llama`: a byte-level
BPE with SmolLM2's special tokens and ChatML template), so nothing is downloaded and no wheel is needed.
"""

from __future__ import annotations

import math
import random
import re
import subprocess
import sys
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

from cringe_agent.agents.hf_causal import CringeHfCausalAgent, chat_messages  # noqa: E402
from cringe_agent.hf.causal_model import HfCausalGeneratorModel, decoding_kwargs, prepare_trainable  # noqa: E402
from cringe_agent.hf.tiny import make_tiny_llama  # noqa: E402

AGENT = "cringe_agent.agents.hf_causal:CringeHfCausalAgent"


@pytest.fixture(scope="module")
def task(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The tiny labelled task and a tiny Llama whose tokenizer was trained on its texts."""
    folder = tmp_path_factory.mktemp("hf_causal")
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


# -- pieces ------------------------------------------------------------------------------------------------------


def test_chat_messages_persona_to_system_and_last_line_is_the_user() -> None:
    lines = ["your persona: I live in Paris.\nyour persona: I have a dog.\nhello there", "hi! how are you?"]
    assert chat_messages(lines) == [
        {"role": "system", "content": "Your persona: I live in Paris. I have a dog."},
        {"role": "assistant", "content": "hello there"},  # going back from the last line: user, assistant, ...
        {"role": "user", "content": "hi! how are you?"},
    ]
    assert chat_messages(["a\nb\nc"]) == [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": "b"},
        {"role": "user", "content": "c"},
    ]


def test_decoding_kwargs_follow_parlai_flags() -> None:
    assert decoding_kwargs({"inference": "greedy"}, beam_size=1, max_new_tokens=7) == {
        "max_new_tokens": 7,
        "num_beams": 1,
        "do_sample": False,
    }
    topk = decoding_kwargs({"inference": "topk", "topk": 10, "beam_block_ngram": 3}, beam_size=1, max_new_tokens=5)
    assert topk["do_sample"] and topk["top_k"] == 10 and topk["no_repeat_ngram_size"] == 3
    assert decoding_kwargs({"inference": "beam"}, beam_size=4, max_new_tokens=5)["num_beams"] == 4
    with pytest.raises(ValueError, match="delayedbeam"):
        decoding_kwargs({"inference": "delayedbeam"}, beam_size=1, max_new_tokens=5)


def test_label_logits_equal_an_unpadded_forward(task: tuple[Path, dict[str, Any]]) -> None:
    """Left padding, position ids and label padding change no label logit: each example alone gives the same."""
    _, common = task
    lm = AutoModelForCausalLM.from_pretrained(common["hf_model"], dtype=torch.float32).eval()
    model = HfCausalGeneratorModel(lm, null_idx=0, end_idx=2)
    contexts = [[5, 6, 7, 8, 9], [10, 11]]
    labels = [[12, 13, 2], [14, 2]]
    xs = torch.tensor([c + [0] * (5 - len(c)) for c in contexts])
    ys = torch.tensor([y + [0] * (3 - len(y)) for y in labels])
    with torch.no_grad():
        scores, preds, _ = model(xs, torch.tensor([5, 2]), ys=ys)
        for i, (ctx, lab) in enumerate(zip(contexts, labels)):
            alone = lm(input_ids=torch.tensor([ctx + lab])).logits[0, len(ctx) - 1 : len(ctx) + len(lab) - 1]
            torch.testing.assert_close(scores[i, : len(lab)], alone, atol=1e-4, rtol=1e-4)
    assert scores.shape == (2, 3, lm.config.vocab_size) and preds.shape == (2, 3)


def test_top_layers_train_and_the_state_holds_only_them(task: tuple[Path, dict[str, Any]]) -> None:
    _, common = task
    lm = AutoModelForCausalLM.from_pretrained(common["hf_model"], dtype=torch.float32)
    model = HfCausalGeneratorModel(prepare_trainable(lm, train_layers=1), null_idx=0, end_idx=2)
    trained = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trained and all(".layers.1." in n or n.endswith("norm.weight") and ".layers." not in n for n in trained)
    state = model.state_dict()
    assert set(state) == trained
    fresh = HfCausalGeneratorModel(
        prepare_trainable(AutoModelForCausalLM.from_pretrained(common["hf_model"]), train_layers=1),
        null_idx=0,
        end_idx=2,
    )
    with torch.no_grad():
        next(p for n, p in model.named_parameters() if n in trained).add_(1.0)
    fresh.load_state_dict(model.state_dict())
    for name, value in fresh.state_dict().items():
        torch.testing.assert_close(value, model.state_dict()[name])
    with pytest.raises(RuntimeError, match="does not match"):
        other = HfCausalGeneratorModel(
            prepare_trainable(AutoModelForCausalLM.from_pretrained(common["hf_model"]), train_layers=2),
            null_idx=0,
            end_idx=2,
        )
        other.load_state_dict(state)  # its layer 0 is trained but absent from the file


def test_lora_trains_adapters_only_and_the_optimizer_holds_them(task: tuple[Path, dict[str, Any]]) -> None:
    folder, common = task
    parser = ParlaiParser(True, True)
    opt = parser.parse_kwargs(
        model=AGENT, model_file=str(folder / "lora" / "model"), hf_lora_r=4, optimizer="adam", **common
    )
    agent = create_agent(opt)
    trained = [n for n, p in agent.model.named_parameters() if p.requires_grad]
    assert trained and all("lora_" in n for n in trained)
    in_optimizer = {id(p) for group in agent.optimizer.param_groups for p in group["params"]}
    assert in_optimizer == {id(p) for p in agent.model.parameters() if p.requires_grad}
    agent.save(opt["model_file"])
    saved = torch.load(opt["model_file"], map_location="cpu", weights_only=False)["model"]
    assert set(saved) == {f"lm.{n}" if not n.startswith("lm.") else n for n in trained}
    reloaded = create_agent_from_model_file(opt["model_file"], {"skip_generation": False})
    for name, value in saved.items():
        torch.testing.assert_close(reloaded.model.state_dict()[name], value)


def test_bad_train_layers_is_refused(task: tuple[Path, dict[str, Any]]) -> None:
    _, common = task
    lm = AutoModelForCausalLM.from_pretrained(common["hf_model"])
    with pytest.raises(ValueError, match="--hf-train-layers must be -1 or 0..2"):
        prepare_trainable(lm, train_layers=5)


# -- through ParlAI ----------------------------------------------------------------------------------------------


def _train(folder: Path, common: dict[str, Any], alpha: float) -> dict[str, Any]:
    model_file = folder / f"alpha{alpha:g}" / "model"
    random.seed(0)
    torch.manual_seed(0)
    TrainModel.main(
        model=AGENT,
        **common,
        model_file=str(model_file),
        cringe_alpha=alpha,
        cringe_k=5,
        hf_train_layers=-1,  # every parameter: a random model's tiny (tied) embeddings must learn too
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
    test = EvalModel.main(model_file=str(model_file), **common, datatype="test", skip_generation=True)
    return {"logp_neg": -math.log(test["ppl_neg"].value()), "model_file": str(model_file)}


@pytest.fixture(scope="module")
def runs(task: tuple[Path, dict[str, Any]]) -> dict[float, dict[str, Any]]:
    folder, common = task
    return {alpha: _train(folder, common, alpha) for alpha in (0.0, 1.0)}


@pytest.mark.integration
def test_cringe_pushes_negatives_below_alpha_zero(runs: dict[float, dict[str, Any]]) -> None:
    mle, cringe = runs[0.0], runs[1.0]
    print({"logp_neg": (mle["logp_neg"], cringe["logp_neg"])})
    assert cringe["logp_neg"] < mle["logp_neg"] - 0.5


@pytest.mark.integration
def test_model_file_reloads_and_replies(runs: dict[float, dict[str, Any]]) -> None:
    model_file = runs[1.0]["model_file"]
    states = torch.load(model_file, map_location="cpu", weights_only=False)
    assert any("embed_tokens" in k for k in states["model"])  # full fine-tuning saves every weight
    agent = create_agent_from_model_file(model_file, {"inference": "greedy", "skip_generation": False})
    assert type(agent) is CringeHfCausalAgent and agent.opt["hf_train_layers"] == -1
    weights = {k: v for k, v in agent.model.state_dict().items()}
    for key, value in states["model"].items():
        torch.testing.assert_close(weights[key], value)
    agent.observe({"text": "tell me about dogs", "episode_done": True})
    reply = agent.act()
    assert isinstance(reply["text"], str) and reply["text"].strip()


@pytest.mark.integration
def test_generation_equals_transformers_generate(runs: dict[float, dict[str, Any]]) -> None:
    """Greedy replies of a batch of different lengths equal ``generate`` on each context alone."""
    agent = create_agent_from_model_file(
        runs[1.0]["model_file"], {"inference": "greedy", "skip_generation": False, "label_truncate": 8}
    )
    texts = ["tell me about dogs", "complain about the weather today please"]
    clones = [agent.clone() for _ in texts]
    observations = [c.observe({"text": t, "episode_done": True}) for c, t in zip(clones, texts)]
    replies = [r["text"] for r in agent.batch_act(observations)]
    lm = agent.model.lm
    for text, reply in zip(texts, replies):
        ids = agent.dict.chat_ids([text])
        out = lm.generate(
            input_ids=torch.tensor([ids]), max_new_tokens=8, do_sample=False, eos_token_id=agent.END_IDX,
            pad_token_id=agent.NULL_IDX,
        )  # fmt: skip
        assert agent.dict.vec2txt(out[0, len(ids) :].tolist()) == reply


@pytest.mark.integration
@pytest.mark.parametrize("script", ["interactive", "display_model"])
def test_parlai_scripts_run_the_model_file(runs: dict[float, dict[str, Any]], task: Any, script: str) -> None:
    _, common = task
    model_file = runs[1.0]["model_file"]
    parlai = [sys.executable, "-m", "parlai"]
    if script == "interactive":
        cmd = [*parlai, "interactive", "-mf", model_file, "--inference", "greedy"]
        done = subprocess.run(cmd, input="tell me about dogs\n", capture_output=True, text=True, timeout=300)
        assert "[CringeHfCausal]:" in done.stdout, done.stderr[-2000:]
    else:
        cmd = [*parlai, "display_model", "-mf", model_file, "-t", common["task"], "-n", "2", "--skip-generation",
               "false", "--fromfile-datapath", common["fromfile_datapath"], "--fromfile-datatype-extension", "true",
               "--datapath", common["datapath"]]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        replies = re.findall(r"^\s+model: (.*)$", done.stdout, flags=re.M)
        assert len(replies) == 2 and "No response" not in replies, done.stdout[-2000:]
