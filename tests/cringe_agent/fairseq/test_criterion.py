"""The fairseq criterion ``cringe`` and task ``cringe_translation`` (run in .venv-fairseq: make test-fairseq).

A tiny copy task is binarised with ``fairseq-preprocess`` and a 1-layer, 32-dim transformer trained for 100 updates
with ``fairseq-train --criterion cringe`` at alpha 1 and alpha 0 (same seed): the contrastive term must lower the
log-probability of the negative examples' targets. The criterion's loss on a hand-built batch is checked against
:func:`cringe_agent.loss.cringe_loss` and plain cross-entropy; the labels file's errors name the file and line.
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch
import torch.nn.functional as F

pytest.importorskip("fairseq")  # the optional fairseq set-up: make setup-fairseq

from fairseq import checkpoint_utils  # noqa: E402
from fairseq.data import Dictionary  # noqa: E402

from cringe_agent.fairseq import USER_DIR, CringeCriterion, FeedbackDataset, read_labels  # noqa: E402
from cringe_agent.fairseq.task import CringeTranslationConfig, CringeTranslationTask  # noqa: E402
from cringe_agent.loss import cringe_loss  # noqa: E402

BIN = Path(sys.executable).parent  # the venv's fairseq-preprocess and fairseq-train
WORDS = [f"w{i}" for i in range(12)]
BAD = "bad"
POS_LABEL, NEG_LABEL = "pos", "neg"


def _copy_task(n: int, rng: random.Random) -> tuple[list[str], list[str], list[str]]:
    """Source lines, target lines and labels: positives copy the source, negatives copy it with one word ``bad``."""
    sources, targets, labels = [], [], []
    for _ in range(n):
        words = rng.choices(WORDS, k=rng.randint(3, 5))
        target = list(words)
        label = NEG_LABEL if rng.random() < 0.3 else POS_LABEL
        if label == NEG_LABEL:
            target[rng.randrange(len(target))] = BAD
        sources.append(" ".join(words))
        targets.append(" ".join(target))
        labels.append(label)
    return sources, targets, labels


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True, env=_env(), timeout=300)
    assert result.returncode == 0, f"{command[0]} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """The copy task binarised in ``bin/`` with ``train.label`` and ``valid.label`` beside it."""
    root = tmp_path_factory.mktemp("fairseq_data")
    rng = random.Random(0)
    labels = {}
    for split, n in (("train", 300), ("valid", 30)):
        sources, targets, labels[split] = _copy_task(n, rng)
        (root / f"{split}.src").write_text("\n".join(sources) + "\n")
        (root / f"{split}.tgt").write_text("\n".join(targets) + "\n")
    destdir = root / "bin"
    _run(
        [str(BIN / "fairseq-preprocess"), "--source-lang", "src", "--target-lang", "tgt", "--joined-dictionary"]
        + ["--trainpref", str(root / "train"), "--validpref", str(root / "valid"), "--destdir", str(destdir)]
        + ["--workers", "1"]
    )
    for split, split_labels in labels.items():
        (destdir / f"{split}.label").write_text("\n".join(split_labels) + "\n")
    return SimpleNamespace(root=root, bin=destdir, labels=labels["train"])


def _train(data: SimpleNamespace, alpha: float, save_dir: Path) -> Path:
    _run(
        [str(BIN / "fairseq-train"), str(data.bin), "--user-dir", USER_DIR, "--task", "cringe_translation"]
        + ["--arch", "transformer", "--share-all-embeddings", "--encoder-layers", "1", "--decoder-layers", "1"]
        + ["--encoder-embed-dim", "32", "--decoder-embed-dim", "32", "--encoder-ffn-embed-dim", "64"]
        + ["--decoder-ffn-embed-dim", "64", "--encoder-attention-heads", "2", "--decoder-attention-heads", "2"]
        + ["--dropout", "0", "--optimizer", "adam", "--lr", "0.005", "--batch-size", "32", "--max-update", "100"]
        + ["--criterion", "cringe", "--cringe-alpha", str(alpha), "--cringe-k", "5", "--seed", "1", "--cpu"]
        + ["--num-workers", "0", "--save-dir", str(save_dir), "--no-epoch-checkpoints"]
        + ["--log-format", "simple", "--log-interval", "10"]
    )
    return save_dir / "checkpoint_last.pt"


def _mean_target_logprob(checkpoint: Path, data: SimpleNamespace, label: str) -> float:
    """Mean over the training examples with ``label`` of the summed log-probability of their target tokens."""
    models, _, task = checkpoint_utils.load_model_ensemble_and_task([str(checkpoint)], {"data": str(data.bin)})
    model = models[0].eval()
    task.load_dataset("train")
    dataset = task.dataset("train")
    batch = dataset.collater([dataset[i] for i, value in enumerate(data.labels) if value == label])
    with torch.no_grad():
        lprobs = model.get_normalized_probs(model(**batch["net_input"]), log_probs=True)
    target = batch["target"]
    token_lprobs = lprobs.gather(-1, target.unsqueeze(-1)).squeeze(-1)
    return float(token_lprobs.masked_fill(target == task.target_dictionary.pad(), 0).sum(-1).mean())


def test_cringe_pushes_down_negative_targets(data: SimpleNamespace, tmp_path: Path) -> None:
    with_cringe = _train(data, 1.0, tmp_path / "alpha1")
    without = _train(data, 0.0, tmp_path / "alpha0")
    neg_cringe, neg_plain = (_mean_target_logprob(c, data, NEG_LABEL) for c in (with_cringe, without))
    pos_cringe, pos_plain = (_mean_target_logprob(c, data, POS_LABEL) for c in (with_cringe, without))
    print(f"negative targets' log-prob: alpha 1 {neg_cringe:.3f}, alpha 0 {neg_plain:.3f}")
    print(f"positive targets' log-prob: alpha 1 {pos_cringe:.3f}, alpha 0 {pos_plain:.3f}")
    assert neg_cringe < neg_plain - 3.0
    # The positives are still learned: what the contrast costs them is small beside what it takes from the negatives.
    assert neg_plain - neg_cringe > 3 * (pos_plain - pos_cringe)


class _FixedLogits(torch.nn.Module):
    """A stand-in fairseq model that returns fixed logits ``(batch, length, V)``."""

    def __init__(self, logits: torch.Tensor) -> None:
        super().__init__()
        self.logits = torch.nn.Parameter(logits.clone())

    def forward(self, **net_input: Any) -> tuple[torch.Tensor, None]:
        return self.logits, None

    def get_normalized_probs(self, net_output: Any, log_probs: bool) -> torch.Tensor:
        return F.log_softmax(net_output[0], dim=-1) if log_probs else F.softmax(net_output[0], dim=-1)

    def get_targets(self, sample: dict[str, Any], net_output: Any) -> torch.Tensor:
        return sample["target"]


def _hand_built() -> tuple[CringeCriterion, dict[str, Any], torch.Tensor, Dictionary]:
    dictionary = Dictionary()
    for word in WORDS:
        dictionary.add_symbol(word)
    pad = dictionary.pad()
    target = torch.tensor([[5, 6, 7, 2], [8, 9, 2, pad], [10, 2, pad, pad]])
    sample = {
        "net_input": {},
        "target": target,
        "ntokens": int((target != pad).sum()),
        "feedback": torch.tensor([1, 0, 0]),
    }
    logits = torch.randn(3, 4, len(dictionary)) * 3
    task = SimpleNamespace(target_dictionary=dictionary)
    criterion = CringeCriterion(task, cringe_alpha=0.7, cringe_k=1, sentence_avg=False)
    return criterion, sample, logits, dictionary


def test_loss_is_ce_on_positives_and_cringe_on_negatives() -> None:
    criterion, sample, logits, dictionary = _hand_built()
    target, pad = sample["target"], dictionary.pad()
    loss, sample_size, log = criterion(_FixedLogits(logits), sample)
    assert sample_size == sample["ntokens"] == 9
    assert (log["pos_tokens"], log["neg_tokens"], log["nsentences"]) == (4, 5, 3)

    valid = target != pad
    flat_logits, flat_target = logits[valid], target[valid]
    flat_feedback = sample["feedback"].unsqueeze(-1).expand_as(target)[valid]
    expected = cringe_loss(flat_logits, flat_target, flat_feedback, alpha=0.7, k=1).loss.sum()
    torch.testing.assert_close(loss, expected)

    # By hand: CE on the positive row; on negative rows softplus(s- - s+), s+ the best other token (k = 1).
    positive = flat_feedback == 1
    ce = F.cross_entropy(flat_logits[positive], flat_target[positive], reduction="sum")
    negative_logits, negative_target = flat_logits[~positive], flat_target[~positive]
    s_minus = negative_logits.gather(-1, negative_target.unsqueeze(-1)).squeeze(-1)
    s_plus = negative_logits.scatter(-1, negative_target.unsqueeze(-1), float("-inf")).max(-1).values
    torch.testing.assert_close(loss, ce + 0.7 * F.softplus(s_minus - s_plus).sum())

    # Padding is ignored: changing its logits changes nothing, and it gets no gradient.
    model = _FixedLogits(logits.masked_fill(~valid.unsqueeze(-1), 1e4))
    padded_loss, _, _ = criterion(model, sample)
    torch.testing.assert_close(padded_loss, loss)
    padded_loss.backward()
    assert model.logits.grad[~valid].abs().max() == 0

    per_token, _, _ = criterion(_FixedLogits(logits), sample, reduce=False)
    assert per_token.shape == (12,) and per_token.view(3, 4)[~valid].abs().max() == 0


def test_alpha_zero_is_cross_entropy_on_positives_only() -> None:
    criterion, sample, logits, dictionary = _hand_built()
    criterion.alpha = 0.0
    loss, _, _ = criterion(_FixedLogits(logits), sample)
    ce = F.cross_entropy(logits[0], sample["target"][0], reduction="sum")  # row 0 is the positive one, unpadded
    torch.testing.assert_close(loss, ce)


def test_criterion_needs_feedback_and_checks_options() -> None:
    criterion, sample, logits, _ = _hand_built()
    del sample["feedback"]
    with pytest.raises(KeyError, match="cringe_translation"):
        criterion(_FixedLogits(logits), sample)
    with pytest.raises(ValueError, match="alpha"):
        CringeCriterion(criterion.task, cringe_alpha=-1.0, cringe_k=5, sentence_avg=False)
    with pytest.raises(ValueError, match="k must be"):
        CringeCriterion(criterion.task, cringe_alpha=1.0, cringe_k=0, sentence_avg=False)


def test_read_labels_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "train.label"
    name = re.escape(str(path))
    path.write_text("pos\nneg\n pos \n")
    assert read_labels(path, 3).tolist() == [1, 0, 1]
    path.write_text("pos\nnegative\npos\n")
    with pytest.raises(ValueError, match=rf"{name}, line 2: unknown label 'negative'"):
        read_labels(path, 3)
    path.write_text("pos\nneg\n\n")
    with pytest.raises(ValueError, match=rf"{name}, line 3: unknown label ''"):
        read_labels(path, 3)
    path.write_text("pos\nneg\npos\nneg\n")
    with pytest.raises(ValueError, match=rf"{name}, line 4: more labels than the 3 examples"):
        read_labels(path, 3)
    path.write_text("pos\n")
    with pytest.raises(ValueError, match=rf"{name}, line 2: missing; the file has 1 labels for the 3 examples"):
        read_labels(path, 3)


def _task(data_dir: Path) -> CringeTranslationTask:
    cfg = CringeTranslationConfig(
        data=str(data_dir), source_lang="src", target_lang="tgt", train_subset="train", dataset_impl="mmap"
    )
    cfg.required_seq_len_multiple = 1
    return CringeTranslationTask.setup_task(cfg)


def test_task_adds_feedback_in_batch_order(data: SimpleNamespace) -> None:
    task = _task(data.bin)
    task.load_dataset("train")
    dataset = task.dataset("train")
    assert isinstance(dataset, FeedbackDataset) and len(dataset) == len(data.labels)
    batch = dataset.collater([dataset[i] for i in range(40)])
    expected = [1 if data.labels[i] == POS_LABEL else 0 for i in batch["id"].tolist()]
    assert batch["feedback"].tolist() == expected and 0 in expected and 1 in expected
    assert dataset.collater([]) == {}


def test_task_label_file_errors(data: SimpleNamespace, tmp_path: Path) -> None:
    copy = tmp_path / "bin"
    copy.mkdir()
    for item in data.bin.iterdir():
        if item.suffix != ".label":
            (copy / item.name).symlink_to(item)
    task = _task(copy)
    name = re.escape(str(copy / "train.label"))
    with pytest.raises(FileNotFoundError, match=rf"{name}: no labels file"):
        task.load_dataset("train")
    task.load_dataset("valid")  # a split other than the training one may go without labels: unlabelled
    assert set(task.dataset("valid").feedback.tolist()) == {-1}
    (copy / "train.label").write_text("\n".join(data.labels[:-1]) + "\n")
    with pytest.raises(ValueError, match=rf"{name}, line 300: missing; the file has 299 labels"):
        task.load_dataset("train")
    (copy / "train.label").write_text("\n".join(data.labels[:5] + ["maybe"] + data.labels[6:]) + "\n")
    with pytest.raises(ValueError, match=rf"{name}, line 6: unknown label 'maybe'"):
        task.load_dataset("train")


def test_importing_cringe_agent_does_not_import_fairseq() -> None:
    code = "import sys, cringe_agent, cringe_agent.loss; assert 'fairseq' not in sys.modules, sorted(sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True, env=_env(), timeout=120)
