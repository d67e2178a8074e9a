"""The CRINGE generator agent trained end to end through ParlAI's ``train_model`` on a tiny labelled task.

Data: ParlAI-format text files (``-t fromfile:parlaiformat``, which keeps every field of a line). Contexts
"tell me about X" have a positive reply "lovely X indeed" and a negative one "awful X honestly"; contexts
"complain about Y" (other things) have the positive reply "awful Y honestly", so every word of the negatives is an
ordinary, trained word. Trained with alpha = 1 the model must give the negative labels a clearly lower
log-probability than the same run with alpha = 0 (negatives get no loss), while the perplexity of the positive
labels stays within 10%.

Also: the ``--cringe-*`` flags take their defaults from ``cringe_agent.settings.DEFAULTS`` and reach the loss, and
ParlAI's ``ppl`` covers positive and unlabelled label tokens only (``ppl_all`` all of them), checked on a few training
steps of a small task whose valid and test sets mix positive, negative and unlabelled examples.
"""

from __future__ import annotations

import io
import json
import math
import random
import re
from pathlib import Path

import pytest
import torch

pytest.importorskip("parlai")

from parlai.core.agents import create_agent  # noqa: E402
from parlai.core.message import Message  # noqa: E402
from parlai.core.params import ParlaiParser  # noqa: E402
from parlai.scripts.display_data import DisplayData  # noqa: E402
from parlai.scripts.eval_model import EvalModel  # noqa: E402
from parlai.scripts.train_model import TrainModel  # noqa: E402
from tiny_models import THINGS, TINY, line, train_cringe_steps, write_pos_neg_task  # noqa: E402

from cringe_agent.agents.cringe import cringe_flags  # noqa: E402
from cringe_agent.settings import DEFAULTS  # noqa: E402

AGENT = "cringe_agent.agents.transformer:CringeTransformerGeneratorAgent"


def _train(tmp_path: Path, base: Path, alpha: float) -> tuple[Path, dict]:
    model_file = tmp_path / f"model_alpha{alpha}"
    common = dict(
        task="fromfile:parlaiformat",
        fromfile_datapath=str(base),
        fromfile_datatype_extension=True,
        datapath=str(tmp_path / "data"),
    )
    TrainModel.main(
        model=AGENT,
        model_file=str(model_file),
        **common,
        cringe_alpha=alpha,
        cringe_k=5,
        n_layers=1,
        embedding_size=32,
        ffn_size=64,
        n_heads=2,
        batchsize=16,
        num_epochs=20,
        learningrate=5e-3,
        optimizer="adam",
        lr_scheduler="fixed",
        dict_tokenizer="split",
        validation_every_n_epochs=100,
        short_final_eval=True,
        skip_generation=True,
        log_every_n_secs=100,
    )
    valid = EvalModel.main(model_file=str(model_file), **common, datatype="valid", skip_generation=True)
    test = EvalModel.main(model_file=str(model_file), **common, datatype="test", skip_generation=True)
    return model_file, {"valid": valid, "test": test}


def _value(metric) -> float:
    return metric.value() if hasattr(metric, "value") else float(metric)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Train the same tiny model twice, with alpha = 0 and alpha = 1, and evaluate both."""
    random.seed(0)
    torch.manual_seed(0)
    tmp_path = tmp_path_factory.mktemp("cringe_agent")
    base = write_pos_neg_task(tmp_path)
    mle_file, mle = _train(tmp_path, base, alpha=0.0)
    cringe_file, cringe = _train(tmp_path, base, alpha=1.0)
    return {"tmp": tmp_path, "base": base, "mle": mle, "cringe": cringe, "model_file": cringe_file}


@pytest.mark.integration
def test_cringe_pushes_negatives_down_and_keeps_positives(runs: dict) -> None:
    mle, cringe, model_file = runs["mle"], runs["cringe"], runs["model_file"]
    # Mean log-probability per token of the negative labels (test file = negatives only).
    logp_neg = {name: -math.log(_value(r["test"]["ppl_neg"])) for name, r in [("mle", mle), ("cringe", cringe)]}
    ppl_pos = {name: _value(r["valid"]["ppl_pos"]) for name, r in [("mle", mle), ("cringe", cringe)]}
    summary = {"logp_neg": logp_neg, "ppl_pos": ppl_pos}
    print(summary)
    assert logp_neg["cringe"] < logp_neg["mle"] - 1.0, summary
    assert abs(ppl_pos["cringe"] - ppl_pos["mle"]) <= 0.1 * ppl_pos["mle"], summary
    # The metrics the agent adds are all reported, with the token counts of each kind.
    assert _value(cringe["test"]["neg_tokens"]) > 0 and _value(cringe["test"].get("pos_tokens", 0)) == 0
    assert _value(cringe["valid"]["pos_tokens"]) > 0
    for key in ["cr_loss", "token_acc_neg"]:
        assert key in cringe["test"], key
    for key in ["ce_loss", "token_acc_pos", "ppl_pos"]:
        assert key in cringe["valid"], key
    # The saved options name our agent, so ParlAI's own scripts reload it.
    assert json.loads(Path(f"{model_file}.opt").read_text())["model"] == AGENT


@pytest.mark.integration
def test_model_file_works_with_interactive_and_display(runs: dict, monkeypatch, capsys) -> None:
    from parlai.scripts.interactive import Interactive

    monkeypatch.setattr("sys.stdin", io.StringIO("tell me about cats\n"))
    Interactive.main(model_file=str(runs["model_file"]), datapath=str(runs["tmp"] / "data"), inference="greedy")
    out = capsys.readouterr().out
    reply = out.split("[CringeTransformerGenerator]:")[1].splitlines()[0]
    assert reply.split() and "awful" not in reply, out[-2000:]  # a reply, and not the negative one
    DisplayData.main(
        task="fromfile:parlaiformat",
        fromfile_datapath=str(runs["base"]),
        fromfile_datatype_extension=True,
        datapath=str(runs["tmp"] / "data"),
        num_examples=2,
        display_add_fields="classifier_label",
    )
    assert "classifier_label" in capsys.readouterr().out


FLAGS = {  # flag -> (option, value different from the default)
    "--cringe-alpha": ("cringe_alpha", 0.25),
    "--cringe-k": ("cringe_k", 2),
    "--cringe-detach-positive": ("cringe_detach_positive", True),
    "--cringe-contrast-positives": ("cringe_contrast_positives", True),
    "--cringe-ce-on-positives": ("cringe_ce_on_positives", False),
}


def _parse(args: list[str]) -> dict:
    tiny = [f"--{key.replace('_', '-')}={value}" for key, value in TINY.items()]
    return ParlaiParser(True, True).parse_args(["-m", AGENT, *tiny, *args])


def test_flags_default_to_settings_and_reach_the_loss() -> None:
    defaults = _parse([])
    for option, _ in FLAGS.values():
        assert defaults[option] == getattr(DEFAULTS, option.removeprefix("cringe_")), option
    opt = _parse([f"{flag}={value}" for flag, (_, value) in FLAGS.items()])
    loss = create_agent(opt, requireModelExists=False).cringe
    for option, value in FLAGS.values():
        assert getattr(loss, option.removeprefix("cringe_")) == value, option


def _write_mixed_task(folder: Path) -> Path:
    """Every split holds positive, negative and unlabelled examples."""
    rows = []
    for thing in THINGS[:6]:
        rows.append(line(f"tell me about {thing}", f"lovely {thing} indeed", "pos"))
        rows.append(line(f"tell me about {thing}", f"awful {thing} honestly", "neg"))
        rows.append(f"text:what about {thing}\tlabels:{thing} are fine\tepisode_done:True\n")
    for split in ["train", "valid", "test"]:
        (folder / f"task_{split}.txt").write_text("".join(rows))
    return folder / "task"


def test_ppl_covers_positive_and_unlabelled_tokens_only(tmp_path: Path) -> None:
    base = _write_mixed_task(tmp_path)
    task = f"fromfile:parlaiformat:fromfile_datapath={base}:fromfile_datatype_extension=true"
    reports = train_cringe_steps(task, str(tmp_path / "data"), str(tmp_path / "model"), batchsize=4)
    for report in reports:
        values = {key: _value(report[key]) for key in ["ppl", "ppl_pos", "ppl_neg", "ppl_all"]}
        pos, neg = _value(report["pos_tokens"]), _value(report["neg_tokens"])
        assert pos > 0 and neg > 0, report
        assert values["ppl"] == pytest.approx(values["ppl_pos"], rel=1e-9), values
        assert abs(values["ppl_all"] - values["ppl"]) > 1e-3, values
        # ppl_all is the perplexity over every label token: the token-weighted mean of the log-perplexities.
        log_all = (pos * math.log(values["ppl_pos"]) + neg * math.log(values["ppl_neg"])) / (pos + neg)
        assert math.log(values["ppl_all"]) == pytest.approx(log_all, rel=1e-6), values


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--cringe-alpha", "nan", "--cringe-alpha must be a finite number >= 0, got nan"),
        ("--cringe-alpha", "inf", "--cringe-alpha must be a finite number >= 0, got inf"),
        ("--cringe-alpha", "-0.5", "--cringe-alpha must be a finite number >= 0, got -0.5"),
        ("--cringe-k", "0", "--cringe-k must be an integer >= 1 (and smaller than the vocabulary), got 0"),
    ],
)
def test_bad_flag_values_fail_when_the_agent_is_built(flag: str, value: str, message: str) -> None:
    opt = _parse([f"{flag}={value}"])
    with pytest.raises(ValueError, match=re.escape(message)):
        create_agent(opt, requireModelExists=False)


def test_flag_values_from_a_model_file_are_checked_too() -> None:
    assert cringe_flags({"cringe_alpha": None}) == (DEFAULTS.alpha, DEFAULTS.k)  # saved before the flag existed
    assert cringe_flags({"cringe_alpha": 2, "cringe_k": 3}) == (2.0, 3)
    for opt, flag in [
        ({"cringe_k": True}, "--cringe-k"),
        ({"cringe_k": 2.5}, "--cringe-k"),
        ({"cringe_alpha": "1"}, "--cringe-alpha"),
        ({"cringe_alpha": False}, "--cringe-alpha"),
    ]:
        with pytest.raises(ValueError, match=f"^{flag} must be"):
            cringe_flags(opt)


def test_k_not_below_the_vocabulary_names_the_flag() -> None:
    agent = create_agent(_parse(["--cringe-k=4"]), requireModelExists=False)  # no dictionary file: 4 special tokens
    assert len(agent.dict) == 4
    observation = agent.observe(Message({"text": "hi", "labels": ["there"], "episode_done": True}))
    batch = agent.batchify([observation])
    with pytest.raises(ValueError, match=r"--cringe-k must be smaller than the vocabulary \(4 tokens\), got 4"):
        agent.compute_loss(batch)
