"""The chit-chat teachers: split, counts, labels, oversampling, held-out contexts and ParlAI display."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from cringe_agent.classifiers import build_classifier
from tasks.chitchat import agents as chitchat

REPO = Path(__file__).resolve().parents[2]
UTTERANCES = 138_737
CONVERSATIONS = 7_168
EMPTY_REPLIES = 11


def _split_digest() -> str:
    ids = "".join(f"{cid}:{chitchat.split_of(cid)}\n" for cid, _ in chitchat.load_conversations())
    return hashlib.sha256(ids.encode()).hexdigest()


def test_corpus_size():
    convs = chitchat.load_conversations()
    assert len(convs) == CONVERSATIONS
    assert sum(len(utts) for _, utts in convs) == UTTERANCES


def test_splits_are_disjoint_by_conversation_and_add_up():
    by_split = {s: chitchat.examples(s) for s in chitchat.SPLITS}
    convs = {s: {ex.conversation_id for ex in exs} for s, exs in by_split.items()}
    assert not convs["train"] & convs["valid"]
    assert not convs["train"] & convs["test"]
    assert not convs["valid"] & convs["test"]
    # every utterance but the first of each conversation is a reply; empty replies are left out
    assert sum(len(exs) for exs in by_split.values()) == UTTERANCES - CONVERSATIONS - EMPTY_REPLIES
    shares = Counter(chitchat.split_of(cid) for cid, _ in chitchat.load_conversations())
    assert 0.03 < shares["valid"] / CONVERSATIONS < 0.07
    assert 0.03 < shares["test"] / CONVERSATIONS < 0.07


@pytest.mark.integration
def test_split_is_the_same_in_another_process():
    env = dict(os.environ, PYTHONHASHSEED="12345", PYTHONPATH=str(REPO))
    code = (
        "import hashlib\nfrom tasks.chitchat import agents as c\n"
        "ids = ''.join(f'{i}:{c.split_of(i)}\\n' for i, _ in c.load_conversations())\n"
        "print(hashlib.sha256(ids.encode()).hexdigest())"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == _split_digest()


def test_split_fractions_are_options():
    assert len(chitchat.examples("valid", valid_frac=0.2)) > 3 * len(chitchat.examples("valid"))
    with pytest.raises(ValueError):
        chitchat.split_of("x", valid_frac=0.6, test_frac=0.5)


def test_context_is_previous_turns():
    ex = chitchat.examples("valid", context_turns=2)[5]
    utts = dict(chitchat.load_conversations())[ex.conversation_id]
    assert ex.gold == utts[ex.turn]
    assert ex.text == "\n".join(utts[max(0, ex.turn - 2) : ex.turn])
    one = chitchat.examples("valid", context_turns=1)[5]
    assert one.text == utts[ex.turn - 1]


def test_messages_carry_labels_from_the_classifier():
    msgs = chitchat.build_messages("valid", training=False)
    assert len(msgs) == len(chitchat.examples("valid"))
    assert {m["classifier_label"] for m in msgs} == {"pos", "neg"}
    assert all((m["classifier_label"] == "neg") == (m["classifier_prob"] > 0.5) for m in msgs)
    flagged = sum(m["classifier_label"] == "neg" for m in msgs) / len(msgs)
    assert 0.005 < flagged < 0.05
    assert {"text", "labels", "conversation_id", "turn"} <= set(msgs[0])
    unlabelled = chitchat.build_messages("valid", training=False, classifier="none")
    assert "classifier_label" not in unlabelled[0] and "classifier_prob" not in unlabelled[0]


def test_neg_oversample_in_training_only():
    plain = chitchat.build_messages("train", training=True, max_examples=3000)
    assert len(plain) == 3000
    negs = sum(m["classifier_label"] == "neg" for m in plain)
    assert negs > 0
    over = chitchat.build_messages("train", training=True, max_examples=3000, neg_oversample=4)
    assert len(over) == 3000 + 3 * negs
    assert Counter(m["classifier_label"] for m in over)["neg"] == 4 * negs
    assert len(chitchat.build_messages("train", training=False, max_examples=3000, neg_oversample=4)) == 3000
    assert len(chitchat.build_messages("valid", training=False, neg_oversample=4)) == len(chitchat.examples("valid"))
    with pytest.raises(ValueError, match="needs labels"):
        chitchat.build_messages("train", training=True, max_examples=10, classifier="none", neg_oversample=2)


def test_max_examples_is_a_nested_deterministic_subset():
    small = chitchat.deterministic_subset(chitchat.examples("train"), 500)
    large = chitchat.deterministic_subset(chitchat.examples("train"), 2000)
    assert len(small) == 500 and len(large) == 2000
    assert set(small) <= set(large)
    assert small == chitchat.deterministic_subset(chitchat.examples("train"), 500)


def test_heldout_provocative_contexts_have_flagged_golds():
    ctx = chitchat.heldout_contexts("valid", "provocative", n=50, seed=1)
    assert len(ctx) == 50
    assert set(ctx[0]) == {"text", "gold", "conversation_id", "turn"}
    assert min(build_classifier("profanity")([c["gold"] for c in ctx])) > 0.5
    valid_ids = {ex.conversation_id for ex in chitchat.examples("valid")}
    assert {c["conversation_id"] for c in ctx} <= valid_ids
    assert ctx == chitchat.heldout_contexts("valid", "provocative", n=50, seed=1)
    more = chitchat.heldout_contexts("valid", "provocative", n=80, seed=1)
    key = lambda c: (c["conversation_id"], c["turn"])  # noqa: E731
    assert {key(c) for c in ctx} <= {key(c) for c in more}
    everything = chitchat.heldout_contexts("valid", "provocative", n=None)
    assert len(everything) == sum(m["classifier_label"] == "neg" for m in chitchat.build_messages("valid", False))


def test_heldout_random_and_training_contexts():
    ctx = chitchat.heldout_contexts("test", "random", n=200, seed=0)
    assert len(ctx) == 200
    assert ctx != chitchat.heldout_contexts("test", "random", n=200, seed=1)
    test_ids = {ex.conversation_id for ex in chitchat.examples("test")}
    assert {c["conversation_id"] for c in ctx} <= test_ids
    prompts = chitchat.training_contexts(100, seed=0)
    train_ids = {ex.conversation_id for ex in chitchat.examples("train")}
    assert len(prompts) == 100 and {c["conversation_id"] for c in prompts} <= train_ids
    with pytest.raises(ValueError, match="unknown kind"):
        chitchat.heldout_contexts("test", "spicy")


def _teacher(args):
    from parlai.core.params import ParlaiParser
    from parlai.core.teachers import create_task_agent_from_taskname

    opt = ParlaiParser(True, False).parse_args(args)
    return create_task_agent_from_taskname(opt)[0]


def test_stream_teacher_counts_without_lengths_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    teacher = _teacher(["-t", "tasks.chitchat.agents", "-dt", "valid:stream", "-dp", str(tmp_path)])
    seen = 0
    while True:
        act = teacher.act()
        seen += 1
        assert act["episode_done"] and len(act["eval_labels"]) == 1
        if teacher.epoch_done():
            break
    assert seen == teacher.num_examples() == len(chitchat.examples("valid"))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("task", ["tasks.chitchat.agents", "tasks.chitchat.agents:ChitchatTeacher"])
def test_display_data(task, capsys, tmp_path):
    from parlai.scripts.display_data import DisplayData

    DisplayData.main(
        task=task,
        num_examples=5,
        chitchat_max_examples=300,
        chitchat_neg_oversample=3,
        display_add_fields="classifier_label,conversation_id,turn",
        datapath=str(tmp_path),
    )
    out = capsys.readouterr().out
    assert out.count("[classifier_label]: ") == 5
    assert out.count("[chitchat]: ") == 5 and out.count("[labels]: ") == 5


def test_teacher_counts_oversampled_examples(tmp_path):
    negs = sum(m["classifier_label"] == "neg" for m in chitchat.build_messages("train", True, max_examples=300))
    assert negs > 0
    args = ["-t", "tasks.chitchat.agents", "--chitchat-max-examples", "300", "-dp", str(tmp_path)]
    teacher = _teacher([*args, "--chitchat-neg-oversample", "3", "-dt", "train:ordered"])
    assert teacher.num_examples() == 300 + 2 * negs
    assert _teacher([*args, "--chitchat-neg-oversample", "3", "-dt", "train:evalmode"]).num_examples() == 300


def test_generations_mutator_on_chitchat(capsys, tmp_path):
    from parlai.scripts.display_data import DisplayData

    gens = REPO / "tests" / "fixtures" / "generations" / "round1.jsonl"
    task = f"tasks.chitchat.agents:mutators=cringe_generations:cringe_generations={gens}"
    DisplayData.main(
        task=task,
        num_examples=6,
        chitchat_max_examples=100,
        display_add_fields="classifier_label,source",
        datapath=str(tmp_path),
    )
    assert capsys.readouterr().out.count("[source]: generations") == 3


class _RecordingOpt(dict):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.read = set()

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)


def test_every_flag_is_read_under_its_own_name():
    from parlai.core.params import ParlaiParser

    parser = ParlaiParser(False, False)
    before = {a.dest for a in parser._actions}
    chitchat.ChitchatTeacher.add_cmdline_args(parser, None)
    flags = {a.dest for a in parser._actions} - before
    ours = {f for f in flags if f.startswith("chitchat_")}
    assert len(ours) == 7
    opt = _RecordingOpt(datatype="valid", chitchat_context_turns=1)
    teacher = chitchat.ChitchatTeacher(opt)
    assert ours <= opt.read
    assert teacher.num_examples() == len(chitchat.examples("valid", context_turns=1))


def test_any_classifier_spec_labels_once_per_process(tmp_path, monkeypatch):
    (tmp_path / "question_judge.py").write_text(
        "CALLS = []\n\n"
        "def judge(texts, *, contexts=None, golds=None):\n"
        "    CALLS.append(len(texts))\n"
        "    return [1.0 if t.endswith('?') else 0.0 for t in texts]\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import question_judge

    spec = "question_judge:judge"
    msgs = chitchat.build_messages("test", training=False, classifier=spec)
    assert all((m["classifier_label"] == "neg") == m["labels"][0].endswith("?") for m in msgs)
    assert question_judge.CALLS == [len(msgs)]
    part = chitchat.examples("test")[:100]
    assert chitchat.label_probs(part, spec) == [1.0 if ex.gold.endswith("?") else 0.0 for ex in part]
    assert question_judge.CALLS == [len(msgs)]  # cached: the classifier is not called again
    shorter = [ex for ex in chitchat.examples("test", context_turns=1) if ex.turn >= 2][:10]
    chitchat.label_probs(shorter, spec)
    assert question_judge.CALLS == [len(msgs), 10]  # other contexts are other inputs
