"""CringeTrainer: its loss equals cringe_loss, prompt tokens carry none, and training pushes negatives down."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from cringe_agent.hf import CringeCollator
from cringe_agent.loss import cringe_loss

pytest.importorskip("transformers")
pytest.importorskip("accelerate")

# Hand-built: two causal sequences, prompt tokens labelled -100, one positive and one negative, right padding.
CAUSAL = {
    "input_ids": torch.tensor([[9, 10, 14, 6, 14, 6, 10, 11, 7, 2], [9, 10, 14, 8, 14, 8, 10, 11, 5, 2]]),
    "attention_mask": torch.tensor([[1] * 10, [1] * 10]),
    "labels": torch.tensor([[-100] * 4 + [14, 6, 10, 11, 7, 2], [-100] * 4 + [14, 8, 10, 11, 5, 2]]),
    "feedback": torch.tensor([1, 0]),
}
SEQ2SEQ = {
    "input_ids": torch.tensor([[9, 10, 14, 6, 2], [9, 10, 14, 8, 0]]),
    "attention_mask": torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]]),
    "labels": torch.tensor([[14, 6, 10, 11, 7, 2], [14, 8, 10, 11, 2, -100]]),
    "feedback": torch.tensor([0, 1]),
}


def _trainer(model: torch.nn.Module, tmp_path: Path, **kwargs: Any) -> Any:
    from transformers import TrainingArguments

    from cringe_agent.hf import CringeTrainer

    args = TrainingArguments(output_dir=str(tmp_path), use_cpu=True, report_to="none", disable_tqdm=True)
    return CringeTrainer(model=model, args=args, **kwargs)


@pytest.mark.integration
def test_package_imports_neither_parlai_nor_transformers() -> None:
    code = (
        "import sys, cringe_agent.hf\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('parlai', 'transformers', 'datasets'))\n"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("kind", ["causal", "seq2seq"])
def test_trainer_loss_equals_cringe_loss_on_hand_built_batch(
    kind: str, tokenizer: Any, tmp_path: Path, tiny: Any
) -> None:
    model = tiny.make_model(kind, len(tokenizer)).eval()  # no dropout: the two forward passes must agree
    batch = CAUSAL if kind == "causal" else SEQ2SEQ
    trainer = _trainer(model, tmp_path, alpha=0.7, k=3)
    torch.manual_seed(5)
    loss = trainer.compute_loss(model, dict(batch))

    labels = batch["labels"]
    if kind == "causal":
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, :-1]
        targets = labels[:, 1:]
    else:
        decoder_input_ids = torch.cat([torch.zeros_like(labels[:, :1]), labels[:, :-1].clamp(min=0)], dim=1)
        outputs = model(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], decoder_input_ids=decoder_input_ids
        )
        logits, targets = outputs.logits, labels
    feedback = batch["feedback"].unsqueeze(-1).expand_as(targets)
    torch.manual_seed(5)  # the same top-k samples
    expected = cringe_loss(
        logits.reshape(-1, logits.size(-1)), targets.reshape(-1), feedback.reshape(-1), alpha=0.7, k=3
    ).mean()
    torch.testing.assert_close(loss, expected)
    assert trainer.compute_loss(model, {**batch, "feedback": torch.tensor([0, 0])}) > 0


@pytest.mark.parametrize("kind", ["causal", "seq2seq"])
def test_positive_only_loss_is_the_models_own_cross_entropy(
    kind: str, tokenizer: Any, tmp_path: Path, tiny: Any
) -> None:
    model = tiny.make_model(kind, len(tokenizer)).eval()
    batch = {**(CAUSAL if kind == "causal" else SEQ2SEQ), "feedback": torch.tensor([1, 1])}
    loss = _trainer(model, tmp_path, alpha=1.0, k=3).compute_loss(model, dict(batch))
    own = model(**{key: value for key, value in batch.items() if key != "feedback"}).loss
    torch.testing.assert_close(loss, own)


def test_prompt_tokens_carry_no_loss(tokenizer: Any, tmp_path: Path, tiny: Any) -> None:
    model = tiny.make_model("causal", len(tokenizer)).eval()
    kept: list[torch.Tensor] = []

    def keep(_module: Any, _inputs: Any, output: torch.Tensor) -> None:
        output.retain_grad()
        kept.append(output)

    model.lm_head.register_forward_hook(keep)
    _trainer(model, tmp_path, alpha=1.0, k=3).compute_loss(model, dict(CAUSAL)).backward()
    grad = kept[0].grad.abs().sum(-1)  # (B, T): position t predicts token t + 1
    predicts_completion = CAUSAL["labels"][:, 1:] != -100
    assert grad[:, :-1][~predicts_completion].eq(0).all()  # positions predicting prompt tokens: no gradient
    assert grad[:, :-1][predicts_completion].gt(0).all()
    assert grad[:, -1].eq(0).all()  # the last position predicts nothing


def test_tokenised_rows_put_loss_on_completion_tokens_only(tokenizer: Any, tiny: Any) -> None:
    from cringe_agent.hf import cringe_batch_loss

    model = tiny.make_model("causal", len(tokenizer)).eval()
    examples = tiny.tokenize("causal", tiny.kto_rows(), tokenizer)
    output = cringe_batch_loss(model, CringeCollator(0)(examples), alpha=1.0, k=3)
    completion_tokens = sum(len(tokenizer(row["completion"])["input_ids"]) + 1 for row in tiny.kto_rows())
    assert int(output.num_tokens) == completion_tokens
    assert int(output.negative_mask.sum()) == completion_tokens // 2


@pytest.mark.integration
@pytest.mark.parametrize("kind", ["causal", "seq2seq"])
def test_cringe_pushes_negatives_down_against_alpha_zero(kind: str, trained: dict) -> None:
    mle, cringe = trained[kind, 0.0], trained[kind, 1.0]
    print(f"{kind}: negatives' mean completion log-prob alpha 0 {mle['neg']:.3f}, alpha 1 {cringe['neg']:.3f}; "
          f"positives {mle['pos']:.3f} / {cringe['pos']:.3f}")  # fmt: skip
    assert cringe["neg"] < mle["neg"] - 1.0
    assert cringe["neg"] < cringe["pos"] - 1.0


@pytest.mark.integration
@pytest.mark.parametrize("kind", ["causal", "seq2seq"])
def test_saved_model_reloads_with_from_pretrained(kind: str, trained: dict, tiny: Any) -> None:
    from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer

    run = trained[kind, 1.0]
    auto = AutoModelForCausalLM if kind == "causal" else AutoModelForSeq2SeqLM
    model = auto.from_pretrained(run["dir"])
    tokenizer = AutoTokenizer.from_pretrained(run["dir"])
    assert tiny.mean_logprob(model, kind, False, tokenizer) == pytest.approx(run["neg"], abs=1e-5)


@pytest.mark.integration
def test_trainer_keeps_feedback_of_a_datasets_dataset(tokenizer: Any, tmp_path: Path, tiny: Any) -> None:
    datasets = pytest.importorskip("datasets")
    from transformers import TrainingArguments

    from cringe_agent.hf import CringeTrainer

    data = datasets.Dataset.from_list(tiny.tokenize("seq2seq", tiny.kto_rows(), tokenizer))
    args = TrainingArguments(
        output_dir=str(tmp_path), use_cpu=True, report_to="none", disable_tqdm=True, max_steps=2, save_strategy="no"
    )  # remove_unused_columns stays at its default, True
    model = tiny.make_model("seq2seq", len(tokenizer))
    trainer = CringeTrainer(model=model, args=args, train_dataset=data, data_collator=CringeCollator(0))
    assert trainer.train().global_step == 2
