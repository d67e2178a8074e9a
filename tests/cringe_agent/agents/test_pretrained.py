"""CRINGE over ParlAI's pretrained-model agents: BART (:mod:`cringe_agent.agents.bart`) and BlenderBot 1
(:mod:`cringe_agent.agents.blenderbot`), as tiny randomly initialised models with the real architecture options.

Data: the labelled tiny task of ``tiny_models.write_pos_neg_task`` (test split = the negative labels only), with a
byte-level BPE trained on its texts, so that neither agent downloads a dictionary (BART's GPT-2 BPE and BlenderBot's
byte-level BPE are both byte-level BPEs). Each agent is trained twice through ParlAI's ``train_model``, same seed,
data and steps, with ``--cringe-alpha 0`` and ``1``: with alpha 1 the negative labels must get a lower mean
log-probability per token. Then the alpha-1 model file is reloaded and generates a reply.
"""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import pytest
import torch

pytest.importorskip("parlai")

from parlai.core.agents import create_agent_from_model_file  # noqa: E402
from parlai.core.params import ParlaiParser  # noqa: E402
from parlai.scripts.eval_model import EvalModel  # noqa: E402
from parlai.scripts.train_model import TrainModel  # noqa: E402
from tiny_models import task_texts, write_pos_neg_task  # noqa: E402

from cringe_agent.agents.bart import CringeBartAgent  # noqa: E402
from cringe_agent.agents.blenderbot import (  # noqa: E402
    BLENDER_ARCHS,
    CringeBlenderBot1BdistillAgent,
    CringeBlenderBot3BAgent,
    CringeBlenderBot9BAgent,
    CringeBlenderBot90MAgent,
    CringeBlenderBotAgent,
)
from cringe_agent.iterative.tokenizer import train_bytelevel_bpe  # noqa: E402

BART = "cringe_agent.agents.bart:CringeBartAgent"
BLENDER = "cringe_agent.agents.blenderbot:CringeBlenderBotAgent"
SIZES = dict(embedding_size=32, ffn_size=64, n_heads=2)
#: Per agent: its ``-m`` and the tiny sizes; every other architecture option keeps the agent's own default.
AGENTS: dict[str, dict[str, Any]] = {
    "bart": dict(model=BART, bart_zoo_init=False, n_encoder_layers=1, n_decoder_layers=1, n_positions=64, **SIZES),
    "blenderbot": dict(model=BLENDER, n_encoder_layers=1, n_decoder_layers=2, **SIZES),
}


def _train(folder: Path, common: dict[str, Any], agent: str, alpha: float) -> dict[str, Any]:
    model_file = folder / f"{agent}_alpha{alpha:g}" / "model"
    random.seed(0)
    torch.manual_seed(0)
    TrainModel.main(
        **AGENTS[agent],
        **common,
        model_file=str(model_file),
        cringe_alpha=alpha,
        cringe_k=5,
        batchsize=16,
        num_epochs=10,
        learningrate=5e-3,
        optimizer="adam",
        lr_scheduler="fixed",
        validation_every_n_epochs=100,
        short_final_eval=True,
        skip_generation=True,
        log_every_n_secs=100,
    )
    test = EvalModel.main(model_file=str(model_file), **common, datatype="test", skip_generation=True)
    valid = EvalModel.main(model_file=str(model_file), **common, datatype="valid", skip_generation=True)
    return {
        "logp_neg": -math.log(test["ppl_neg"].value()),
        "ppl_pos": valid["ppl_pos"].value(),
        "model_file": str(model_file),
    }


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[float, dict[str, Any]]]:
    """Each agent trained with alpha 0 and 1 on the tiny task (a download attempt fails the run)."""
    folder = tmp_path_factory.mktemp("pretrained")
    base = write_pos_neg_task(folder)
    common = dict(
        task="fromfile:parlaiformat",
        fromfile_datapath=str(base),
        fromfile_datatype_extension=True,
        datapath=str(folder / "data"),
        **train_bytelevel_bpe(task_texts(base), folder / "bpe", vocab_size=320),
    )

    def no_download(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("the tiny model must not download zoo:bart")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("parlai.agents.bart.bart.download", no_download)
        results = {agent: {alpha: _train(folder, common, agent, alpha) for alpha in (0.0, 1.0)} for agent in AGENTS}
    print({agent: {alpha: r["logp_neg"] for alpha, r in by_alpha.items()} for agent, by_alpha in results.items()})
    return results


@pytest.mark.integration
@pytest.mark.parametrize("agent", sorted(AGENTS))
def test_cringe_pushes_negatives_below_alpha_zero(runs: dict, agent: str) -> None:
    mle, cringe = runs[agent][0.0], runs[agent][1.0]
    summary = {"logp_neg": (mle["logp_neg"], cringe["logp_neg"]), "ppl_pos": (mle["ppl_pos"], cringe["ppl_pos"])}
    print(agent, summary)
    assert cringe["logp_neg"] < mle["logp_neg"] - 0.5, summary
    assert math.isfinite(cringe["ppl_pos"]), summary


#: Architecture options each tiny model keeps from its agent's defaults (BART's are ParlAI's ``BART_ARGS``).
ARCHITECTURE = {
    "bart": dict(variant="bart", activation="gelu", learn_positional_embeddings=True, embeddings_scale=False),
    "blenderbot": {
        key: BLENDER_ARCHS["blender_400Mdistill"][key]
        for key in ("variant", "activation", "learn_positional_embeddings", "embeddings_scale", "n_positions")
    },
}


@pytest.mark.integration
@pytest.mark.parametrize(("agent", "cls"), [("bart", CringeBartAgent), ("blenderbot", CringeBlenderBotAgent)])
def test_model_file_reloads_and_replies(runs: dict, agent: str, cls: type) -> None:
    overrides = {"inference": "greedy", "skip_generation": False}
    reloaded = create_agent_from_model_file(runs[agent][1.0]["model_file"], overrides)
    assert type(reloaded) is cls
    assert reloaded.opt["cringe_alpha"] == 1.0
    assert {key: reloaded.opt[key] for key in ARCHITECTURE[agent]} == ARCHITECTURE[agent]
    reloaded.observe({"text": "tell me about dogs", "episode_done": True})
    reply = reloaded.act()
    print(agent, repr(reply["text"]))
    assert reply["text"].strip() and "awful" not in reply["text"], reply  # a reply, and not the negative one


def test_blenderbot_defaults_are_each_models_architecture() -> None:
    classes = {
        "blender_90M": CringeBlenderBot90MAgent,
        "blender_400Mdistill": CringeBlenderBotAgent,
        "blender_1Bdistill": CringeBlenderBot1BdistillAgent,
        "blender_3B": CringeBlenderBot3BAgent,
        "blender_9B": CringeBlenderBot9BAgent,
    }
    assert set(classes) == set(BLENDER_ARCHS)
    for name, cls in classes.items():
        opt = ParlaiParser(True, True).parse_args(["-m", f"{cls.__module__}:{cls.__name__}"])
        assert {key: opt[key] for key in BLENDER_ARCHS[name]} == BLENDER_ARCHS[name], name
        assert "cringe_alpha" in opt
    # A flag given on the command line still wins over the architecture's default.
    opt = ParlaiParser(True, True).parse_args(["-m", BLENDER, "--variant", "aiayn", "--n-decoder-layers", "1"])
    assert (opt["variant"], opt["n_decoder_layers"], opt["n_encoder_layers"]) == ("aiayn", 1, 2)


def test_bart_keeps_parlai_defaults_and_zoo_init() -> None:
    opt = ParlaiParser(True, True).parse_args(["-m", BART])
    assert (opt["variant"], opt["dict_tokenizer"], opt["embedding_size"]) == ("bart", "gpt2", 1024)
    assert opt["bart_zoo_init"] is True and "cringe_alpha" in opt
