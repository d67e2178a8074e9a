"""The persona contradiction task: the exact checker by hand, the generated world, its teachers, its context source,
the labelling classifier's training and a tiny loop judged by the checker."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from teacher_epoch import load

from cringe_agent.classifiers import build_classifier
from cringe_agent.iterative.contexts import context_source
from tasks.persona import checker, world
from tasks.persona.agents import PersonaContexts
from tasks.persona.checker import Claim, contradicts

REPO = Path(__file__).resolve().parents[2]
T = "tasks.persona.agents"
SMALL = {"persona_speakers": 60}

CTX = "your persona: I live in Paris. I have a dog. I work as a nurse. I have two siblings.\nWhere do you live?"
CHAT = "your persona: I live in Paris. I have a dog. I am an only child.\nThe weather is lovely today, isn't it?"


@pytest.mark.parametrize(
    ("context", "reply", "expected"),
    [
        # the stated value restated, in any phrasing or as a bare answer
        (CTX, "I live in Paris.", False),
        (CTX, "Paris, born and raised.", False),
        (CTX, "I've lived in Paris for years now.", False),
        # another value of a stated attribute
        (CTX, "I live in Rome.", True),
        (CTX, "Rome.", True),
        (CTX, "Oh, rome!", True),
        (CTX, "I'm a teacher.", True),
        (CTX, "I have a cat.", True),
        (CTX, "I have three siblings.", True),
        # negations
        (CTX, "I don't have any pets.", True),
        (CTX, "I don't have a dog.", True),
        (CTX, "I don't have a cat.", False),
        (CTX, "I'm not a nurse.", True),
        (CTX, "I'm not a lawyer, I'm a nurse.", False),
        (CTX, "I'm an only child.", True),
        (CHAT, "My sister lives nearby.", True),
        (CHAT, "I'm not an only child.", True),
        (CTX, "My sister lives nearby.", False),
        (CTX, "My brothers are coming over later.", False),
        # unrelated, or a value that is not the speaker's: no claim
        (CTX, "That sounds like fun!", False),
        (CTX, "My friend lives in Rome.", False),
        (CTX, "My neighbour has a cat and my cousin works as a lawyer.", False),
        (CTX, "I'd love to visit Rome someday.", False),
        (CTX, "I used to live in Rome.", False),
        (CTX, "I love sushi.", False),
        # claims about attributes the context does not state never contradict
        (CTX, "My favourite food is pizza. My hobby is chess.", False),
        # garbled model output: case, punctuation, spacing, BPE artefacts
        (CTX, "i  live   in   ROME!!!", True),
        (CTX, "ĠI Ġlive Ġin ĠRome", True),
        (CTX, "i ' m not a nurse", True),
        (CTX, "im a teacher lol", True),
        (CTX, "i live in ro@@ me", True),
        (CTX, "i live in par@@ is", False),
        (CTX, "i l ive in rome", False),  # a word split inside is not read
        (CTX, "live live in in the the", False),
        (CTX, "", False),
    ],
)
def test_checker_by_hand(context, reply, expected):
    assert contradicts(context, reply) is expected


def test_partner_facts_are_not_the_speakers():
    context = "your persona: I live in Paris.\nI live in Rome. Where do you live?"
    assert not contradicts(context, "Paris.")
    assert contradicts(context, "Rome, like you!")


def test_speaker_turns_state_facts_and_questions_come_from_the_partner_line():
    context = (
        "your persona: I have a dog.\nHi! How are you today?\nI'm good, thanks! My favourite food is sushi.\n"
        "What do you like to eat?"
    )
    assert checker.stated_facts(context) == {"pet": "dog", "food": "sushi"}
    assert contradicts(context, "Pizza.") and not contradicts(context, "Sushi, always.")
    assert contradicts(context, "Sushi is not my favourite.")
    assert checker.contradictions(context, "Pizza.") == [Claim("food", "eq", "pizza", (0, 5))]
    # a bare value answers only the attribute asked
    assert not contradicts("your persona: I have a dog.\nWhere do you live?", "Cat.")


def test_judge_is_a_classifier_spec_that_needs_contexts():
    judge = build_classifier("tasks.persona.checker:judge")
    assert judge(["Rome.", "Paris."], contexts=[CTX, CTX]) == [1.0, 0.0]
    with pytest.raises(ValueError, match="needs the context"):
        checker.judge(["Rome."])
    with pytest.raises(ValueError, match="1 replies but 2 contexts"):
        checker.judge(["Rome."], contexts=[CTX, CTX])


def _digest(exs) -> str:
    rows = "".join(f"{ex.dialogue_id}|{ex.split}|{ex.context}|{ex.reply}|{ex.label}|{ex.gold}\n" for ex in exs)
    return hashlib.sha256(rows.encode()).hexdigest()


@pytest.mark.integration
def test_world_is_the_same_in_another_process():
    here = _digest([ex for exs in world.build(speakers=200).values() for ex in exs])
    code = (
        "import hashlib\nfrom tasks.persona import world\n"
        "exs = [ex for exs in world.build(speakers=200).values() for ex in exs]\n"
        "rows = ''.join(f'{e.dialogue_id}|{e.split}|{e.context}|{e.reply}|{e.label}|{e.gold}\\n' for e in exs)\n"
        "print(hashlib.sha256(rows.encode()).hexdigest())"
    )
    env = dict(os.environ, PYTHONHASHSEED="12345", PYTHONPATH=str(REPO))
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == here
    assert _digest(world.build(speakers=200, seed=1)["train"]) != _digest(world.build(speakers=200)["train"])


def test_splits_are_disjoint_by_speaker_and_cover_every_speaker():
    built = world.build(speakers=500)
    speakers = {split: {ex.speaker for ex in exs} for split, exs in built.items()}
    assert not speakers["train"] & speakers["valid"] and not speakers["train"] & speakers["test"]
    assert not speakers["valid"] & speakers["test"]
    assert set().union(*speakers.values()) == set(range(500))
    assert {split: len(s) for split, s in speakers.items()} == {"train": 400, "valid": 50, "test": 50}
    assert all(len(exs) == 3 * len(speakers[split]) for split, exs in built.items())


def test_contradiction_share_changes_labels_only():
    none, half, every = (world.build(speakers=100, contradiction_share=s)["train"] for s in (0.0, 0.5, 1.0))
    assert [ex.context for ex in none] == [ex.context for ex in every] == [ex.context for ex in half]
    assert [ex.gold for ex in none] == [ex.gold for ex in every]
    assert {ex.label for ex in none} == {"pos"} and {ex.label for ex in every} == {"neg"}
    assert 0.35 < sum(ex.label == "neg" for ex in half) / len(half) < 0.65
    train = world.build()["train"]
    assert 0.2 <= sum(ex.label == "neg" for ex in train) / len(train) <= 0.3  # the default, uncurated mix


@pytest.mark.parametrize(
    ("settings", "option"),
    [
        ({"contradiction_share": 1.5}, "--persona-contradiction-share"),
        ({"speakers": 3}, "--persona-speakers"),
        ({"dialogues": 0}, "--persona-dialogues"),
        ({"valid_frac": 0.6, "test_frac": 0.5}, "--persona-valid-frac"),
    ],
)
def test_bad_settings_name_their_option(settings, option):
    with pytest.raises(ValueError, match=option):
        world.build(**settings)


def test_checker_agrees_with_every_generated_label():
    """Every reply of the default world (9,000) is flagged by the checker iff it is labelled neg, and every gold
    reply of the held-out splits is consistent."""
    built = world.build()
    exs = [ex for split in built.values() for ex in split]
    wrong = [ex.dialogue_id for ex in exs if contradicts(ex.context, ex.reply) != (ex.label == "neg")]
    assert not wrong, wrong[:10]
    assert not any(contradicts(ex.context, ex.gold) for split in ("valid", "test") for ex in built[split])


def test_templates_are_varied():
    from tasks.persona import templates

    for attr in ("city", "pet", "job", "siblings", "food", "hobby"):
        assert len(templates.STATEMENTS[attr]) >= 5 and len(templates.QUESTIONS[attr]) >= 5, attr
        assert len(templates.NEGATIONS.get(attr, templates.NEGATIONS["siblings:0"])) >= 5, attr


def test_teacher_generator_mode(tmp_path):
    examples, teacher = load(T, "valid", str(tmp_path), **SMALL)
    expected = world.examples("valid", speakers=60)
    assert len(examples) == teacher.num_examples() == len(expected) == 18
    first, ex = examples[0], expected[0]
    assert first["text"] == ex.context and first["labels"] == [ex.reply]
    assert first["classifier_label"] == ex.label and first["source"] == "persona"
    assert first["text"].startswith("your persona: ") and all(e["episode_done"] for e in examples)
    assert [e["classifier_label"] for e in examples] == [x.label for x in expected]


def test_teacher_classifier_mode_and_keep(tmp_path):
    task = f"{T}:cringe_label_mode=classifier:cringe_classifier_input=context_reply"
    examples, _ = load(task, "test", str(tmp_path), **SMALL)
    expected = world.examples("test", speakers=60)
    assert [e["text"] for e in examples] == [f"{x.context}\n{x.reply}" for x in expected]
    assert [e["labels"] for e in examples] == [[x.label] for x in expected]
    negatives, teacher = load(f"{T}:cringe_keep=neg", "train:ordered", str(tmp_path), **SMALL)
    assert negatives and {e["classifier_label"] for e in negatives} == {"neg"}
    assert teacher.id == "persona.keep_neg"
    with pytest.raises(ValueError, match="--persona-contradiction-share"):
        load(T, "valid", str(tmp_path), persona_contradiction_share=2.0)


def test_context_source_hook(tmp_path):
    source = context_source(T, SMALL, str(tmp_path), None, "tasks.persona.checker:judge", 0.5)
    assert isinstance(source, PersonaContexts) and source.train_opts() == {}
    prompts = source.training_prompts(20, seed=0)
    assert prompts == source.training_prompts(20, seed=0) != source.training_prompts(20, seed=1)
    train = {ex.context for ex in world.examples("train", speakers=60)}
    assert len(prompts) == 20 and all(p["text"] in train for p in prompts)
    by_context = {ex.context: ex for ex in world.examples("test", speakers=60)}
    provocative = source.heldout("provocative", None, seed=0)
    assert provocative and all(by_context[c["text"]].provocative for c in provocative)
    randoms = source.heldout("random", 5, seed=0)
    assert len(randoms) == 5 and all(c["text"] in by_context for c in randoms)
    assert not any(contradicts(c["text"], c["gold"]) for c in provocative + randoms)
    with pytest.raises(ValueError, match="unknown kind"):
        source.heldout("easy", 5, seed=0)


@pytest.mark.integration
def test_classifier_trains_and_labels_as_parlai_context_spec(tmp_path):
    from tasks.persona.classifier import measure, train_classifier

    model_file = str(tmp_path / "clf" / "model")
    tiny = dict(n_layers=1, n_heads=2, embedding_size=16, ffn_size=32, n_positions=128, truncate=128)
    train_classifier(model_file, str(tmp_path / "dp"), steps=5, task_opts=SMALL, **tiny)
    result = measure(model_file, "test", task_opts=SMALL)
    assert result["n"] == 18 and 0.0 <= result["accuracy"] <= 1.0
    probs = build_classifier(f"parlai+context:{model_file}")(["Rome."], contexts=[CTX])
    assert len(probs) == 1 and 0.0 <= probs[0] <= 1.0


@pytest.mark.integration
def test_tiny_loop_judged_by_the_checker(tmp_path):
    from cringe_agent.iterative.cli import PRESETS
    from cringe_agent.iterative.config import LoopConfig
    from cringe_agent.iterative.loop import Loop

    (tmp_path / "dp").mkdir()
    cfg = LoopConfig(
        tokenizer="parlai",
        task=T,
        task_opts={"persona_speakers": 40},
        datapath=str(tmp_path / "dp"),
        model={**PRESETS["tiny"]["model"], "batchsize": 4, "text_truncate": 64, "truncate": 64},
        baseline_steps=4,
        round_steps=2,
        prompts=6,
        eval_provocative=3,
        eval_random=3,
        ppl_examples=4,
        classifier="tasks.persona.checker:judge",
        judge="tasks.persona.checker:judge",
        empty_side="keep",
    )
    report = Loop(cfg, tmp_path / "run").run()
    methods = [m["method"] for m in report["rounds"]]
    assert methods == ["baseline (MLE)", "CRINGE (single iteration)", "CRINGE (iteration 2)"]
    for metrics in report["rounds"]:
        assert metrics["flagged_rate"] == metrics["judge_flagged_rate"]  # the same exact checker twice
        assert metrics["sets"]["provocative"]["n"] == 3 and metrics["sets"]["random"]["n"] == 3
    assert (tmp_path / "run" / "report.md").is_file()
