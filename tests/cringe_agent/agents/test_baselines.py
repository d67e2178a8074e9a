"""The baseline agents (MLE on positives, unlikelihood, sigmoid-only): hand-checked batch losses through the agents'
own ``compute_loss`` (a stub model returns fixed scores), and a tiny training through ParlAI's ``train_model`` in which
each baseline gives the negative labels a lower log-probability than MLE on everything (``transformer/generator``).
"""

from __future__ import annotations

import io
import math
import random
from pathlib import Path

import pytest
import torch

pytest.importorskip("parlai")

from parlai.core.agents import create_agent  # noqa: E402
from parlai.core.message import Message  # noqa: E402
from parlai.core.params import ParlaiParser  # noqa: E402
from parlai.scripts.eval_model import EvalModel  # noqa: E402
from parlai.scripts.train_model import TrainModel  # noqa: E402
from tiny_models import TINY, write_pos_neg_task  # noqa: E402

MODULE = "cringe_agent.agents.baselines"
AGENTS = {name: f"{MODULE}:{name}" for name in ("MlePositivesAgent", "UnlikelihoodAgent", "SigmoidOnlyAgent")}


def _agent(name: str, *args: str):  # noqa: ANN202
    tiny = [f"--{key.replace('_', '-')}={value}" for key, value in TINY.items()]
    opt = ParlaiParser(True, True).parse_args(["-m", AGENTS[name], *tiny, *args])
    return create_agent(opt, requireModelExists=False)  # no dictionary: 4 special tokens, every word is __unk__


def _batch_with_scores(agent, scores: torch.Tensor):  # noqa: ANN001, ANN202
    """A batch of a positive, a negative and an unlabelled example of 2 tokens each, and a model returning scores."""
    messages = [
        {"text": "a", "labels": ["x y"], "classifier_label": "pos", "episode_done": True},
        {"text": "b", "labels": ["x y"], "classifier_label": "neg", "episode_done": True},
        {"text": "c", "labels": ["x y"], "episode_done": True},
    ]
    observations = []
    for m in messages:
        agent.reset()
        observations.append(agent.observe(Message(m)))
    batch = agent.batchify(observations)
    assert batch.label_vec.shape == (3, 3)  # "x y" = unk unk, then end-of-sentence

    def model(*_args, ys):  # noqa: ANN001, ANN202
        return scores, scores.argmax(-1)

    agent.model = model
    agent.is_training = True
    return batch


SCORES = torch.tensor(
    [
        [[0.0, 0.0, 1.0, 2.0], [0.0, 1.0, 3.0, 0.5], [0.0, 0.0, 0.0, 0.0]],
        [[0.0, 0.0, 0.5, 1.5], [0.0, 0.0, 2.0, -1.0], [1.0, 0.0, 0.0, 0.0]],
        [[0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 2.0, 0.0]],
    ]
)


def _logp(row: list[float], i: int) -> float:
    return row[i] - math.log(sum(math.exp(v) for v in row))


def _token_logps(label_vec: torch.Tensor) -> list[list[float]]:
    return [[_logp(SCORES[b, t].tolist(), int(label_vec[b, t])) for t in range(3)] for b in range(3)]


def test_mle_positives_averages_over_positive_and_unlabelled_tokens() -> None:
    agent = _agent("MlePositivesAgent")
    batch = _batch_with_scores(agent, SCORES)
    logp = _token_logps(batch.label_vec)
    expected = -(sum(logp[0]) + sum(logp[2])) / 6  # the negative example's 3 tokens neither count nor train
    assert agent.compute_loss(batch).item() == pytest.approx(expected, rel=1e-6)


def test_unlikelihood_is_parlai_reward_trait_on_negative_labels() -> None:
    agent = _agent("UnlikelihoodAgent", "--alpha=0.5")
    batch = _batch_with_scores(agent, SCORES)
    assert batch.rewards.tolist() == [0.0, -1.0, 0.0]
    logp = _token_logps(batch.label_vec)
    mle = -(sum(logp[0]) + sum(logp[2])) / 6
    ul = -sum(math.log(1 - math.exp(v)) for v in logp[1]) / 3
    assert agent.compute_loss(batch).item() == pytest.approx(mle + 0.5 * ul, rel=1e-6)


def _sigmoid_only_expected(labels: list[list[int]], pos_w: float, neg_w: float, others_w: float, mean: bool) -> float:
    """The batch loss written out: every token's terms, summed, over the 9 label tokens."""

    def softplus(x: float) -> float:  # -log(1 - sigma(x)); -log sigma(x) = softplus(-x)
        return math.log(1 + math.exp(x))

    total = 0.0
    for b in range(3):
        for t in range(3):
            row, target = SCORES[b, t].tolist(), labels[b][t]
            if b == 1:  # negative: neg_w * -log(1 - sigma(s_target))
                total += neg_w * softplus(row[target])
            else:  # pos_w * -log sigma(s_target) + others_w * sum (or mean) over the V - 1 = 3 other tokens
                others = sum(softplus(v) for i, v in enumerate(row) if i != target)
                total += pos_w * softplus(-row[target]) + others_w * (others / 3 if mean else others)
    return total / 9


def test_sigmoid_only_defaults_are_the_papers_summed_form() -> None:
    agent = _agent("SigmoidOnlyAgent")
    assert agent.opt["sigmoid_others_reduction"] == "sum"
    assert (agent.opt["sigmoid_positive_weight"], agent.opt["sigmoid_negative_weight"]) == (1.0, 1.0)
    assert agent.opt["sigmoid_others_weight"] == 1.0
    batch = _batch_with_scores(agent, SCORES)
    expected = _sigmoid_only_expected(batch.label_vec.tolist(), 1.0, 1.0, 1.0, mean=False)
    assert agent.compute_loss(batch).item() == pytest.approx(expected, rel=1e-6)


def test_sigmoid_only_weights_and_summed_others_term_reach_the_loss() -> None:
    flags = ["--sigmoid-positive-weight=1.5", "--sigmoid-negative-weight=2", "--sigmoid-others-weight=0.25"]
    agent = _agent("SigmoidOnlyAgent", *flags, "--sigmoid-others-reduction=sum")
    batch = _batch_with_scores(agent, SCORES)
    expected = _sigmoid_only_expected(batch.label_vec.tolist(), 1.5, 2.0, 0.25, mean=False)
    assert agent.compute_loss(batch).item() == pytest.approx(expected, rel=1e-6)


def test_sigmoid_only_mean_reduction_stays_reachable() -> None:
    flags = ["--sigmoid-negative-weight=2", "--sigmoid-others-weight=0.5", "--sigmoid-others-reduction=mean"]
    agent = _agent("SigmoidOnlyAgent", *flags)
    batch = _batch_with_scores(agent, SCORES)
    expected = _sigmoid_only_expected(batch.label_vec.tolist(), 1.0, 2.0, 0.5, mean=True)
    assert agent.compute_loss(batch).item() == pytest.approx(expected, rel=1e-6)


def test_sigmoid_only_reduction_flag_refuses_other_values() -> None:
    with pytest.raises(SystemExit):
        _agent("SigmoidOnlyAgent", "--sigmoid-others-reduction=max")


def test_hf_sigmoid_only_agent_has_the_same_flags() -> None:
    """The Hugging Face agent reads the flags through the same mixin (parsing only: no model is loaded)."""
    model = "cringe_agent.agents.hf_causal:HfSigmoidOnlyAgent"
    flags = ["--sigmoid-others-weight=0.1", "--sigmoid-others-reduction=mean", "--sigmoid-positive-weight=2"]
    opt = ParlaiParser(True, True).parse_args(["-m", model, *flags])
    assert (opt["sigmoid_others_weight"], opt["sigmoid_others_reduction"]) == (0.1, "mean")
    assert (opt["sigmoid_positive_weight"], opt["sigmoid_negative_weight"]) == (2.0, 1.0)
    default = ParlaiParser(True, True).parse_args(["-m", model])
    assert default["sigmoid_others_reduction"] == "sum" and default["sigmoid_others_weight"] == 1.0


def _train(tmp_path: Path, base: Path, model: str, **extra) -> dict:
    model_file = tmp_path / model.rsplit(":", 1)[-1].replace("/", "_")
    common = dict(
        task="fromfile:parlaiformat",
        fromfile_datapath=str(base),
        fromfile_datatype_extension=True,
        datapath=str(tmp_path / "data"),
    )
    random.seed(0)
    torch.manual_seed(0)
    TrainModel.main(
        model=model,
        model_file=str(model_file),
        **common,
        **{**TINY, "embedding_size": 32, "ffn_size": 64},
        batchsize=16,
        num_epochs=20,
        learningrate=5e-3,
        optimizer="adam",
        validation_every_n_epochs=100,
        short_final_eval=True,
        skip_generation=True,
        log_every_n_secs=100,
        **extra,
    )
    # Every model file is scored by the CRINGE agent, whose ppl_neg is the perplexity of the negative labels.
    test = EvalModel.main(
        model="cringe_agent.agents.transformer:CringeTransformerGeneratorAgent",
        model_file=str(model_file),
        **common,
        datatype="test",
        skip_generation=True,
    )
    valid = EvalModel.main(
        model="cringe_agent.agents.transformer:CringeTransformerGeneratorAgent",
        model_file=str(model_file),
        **common,
        datatype="valid",
        skip_generation=True,
    )
    return {
        "logp_neg": -math.log(test["ppl_neg"].value()),
        "ppl_pos": valid["ppl_pos"].value(),
        "model_file": str(model_file),
    }


@pytest.mark.integration
def test_each_baseline_pushes_negatives_below_mle_on_everything(tmp_path: Path, monkeypatch, capsys) -> None:
    base = write_pos_neg_task(tmp_path)
    results = {"mle_all": _train(tmp_path, base, "transformer/generator")}
    for name, model in AGENTS.items():
        results[name] = _train(tmp_path, base, model)
    print(results)
    for name in AGENTS:
        assert results[name]["logp_neg"] < results["mle_all"]["logp_neg"] - 1.0, results
        assert math.isfinite(results[name]["ppl_pos"]), results
    # Each model file chats through ParlAI's own interactive script (input piped in).
    from parlai.scripts.interactive import Interactive

    for name in AGENTS:
        monkeypatch.setattr("sys.stdin", io.StringIO("tell me about cats\n"))
        Interactive.main(model_file=results[name]["model_file"], datapath=str(tmp_path / "data"), inference="greedy")
        out = capsys.readouterr().out
        agent_id = name.removesuffix("Agent")
        assert f"[{agent_id}]:" in out, out[-1500:]
        assert out.split(f"[{agent_id}]:")[1].splitlines()[0].split(), out[-1500:]  # a non-empty reply
