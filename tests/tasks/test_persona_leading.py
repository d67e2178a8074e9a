"""The persona task's ``leading`` style, the word-mention labeller, and the checker's free-text frames."""

from __future__ import annotations

import re

import pytest

from tasks.persona import templates as T
from tasks.persona import world
from tasks.persona.checker import contradicts
from tasks.persona.mention import conflicting_mentions, label

PERSONA = "your persona: I live in Denver. I have a hamster. I work as a journalist."


def test_leading_style_labels_agree_with_the_checker_everywhere() -> None:
    for split in world.SPLITS:
        exs = world.examples(split, style="leading")
        disagree = [e for e in exs if (e.label == "neg") != contradicts(e.context, e.reply)]
        assert not disagree, disagree[:3]


def test_leading_style_shape() -> None:
    exs = world.examples("train", style="leading")
    assert all(len(e.turns) == 1 and len(e.stated) == 3 for e in exs)
    shapes = [re.escape(t).replace(r"\{x\}", ".+").replace(r"\{ax\}", ".+").replace(r"\{k\}", ".+")
              for forms in T.LEADING.values() for t in forms]  # fmt: skip
    leading = [e for e in exs if any(re.fullmatch(shape, e.turns[0]) for shape in shapes)]
    assert 0.55 < len(leading) / len(exs) < 0.65
    provocative = sum(e.provocative for e in exs) / len(exs)
    assert 0.7 < provocative < 0.8
    negatives = sum(e.label == "neg" for e in exs) / len(exs)
    assert 0.2 < negatives < 0.3
    assert world.examples("train")[0] != exs[0]  # the default style is unchanged and separate


def test_unknown_style_is_refused() -> None:
    with pytest.raises(ValueError, match="--persona-style must be one of dialogue, leading"):
        world.build(style="chat")


@pytest.mark.parametrize(
    ("reply", "flagged"),
    [
        ("Yes, I live in Rome now.", True),  # another city
        ("I don't live in Rome, I live in Denver.", False),  # a negated sentence is skipped
        ("My friend lives in Rome.", True),  # words, not claims: the checker would not flag this
        ("I love my hamster.", False),
        ("My dog is great.", True),
        ("I'm a nurse at the hospital.", True),
        ("Hello there!", False),
    ],
)
def test_mention_labeller(reply: str, flagged: bool) -> None:
    context = f"{PERSONA}\nYou live in Rome, right?"
    assert bool(conflicting_mentions(context, reply)) is flagged
    assert label([reply], contexts=[context])[0] == 1.0 if flagged else label([reply], contexts=[context])[0] < 1.0


def test_mention_labeller_levels() -> None:
    context = f"{PERSONA}\nYou live in Rome, right?"
    replies = ["Yes, Rome is home.", "No, I live in Denver.", "I like the weather.", "Denver. But Rome too."]
    assert label(replies, contexts=[context] * 4) == [1.0, 0.0, 0.5, 1.0]


def test_mention_labeller_siblings_and_no_pets() -> None:
    only = "your persona: I am an only child. I don't have any pets.\nHi!"
    assert conflicting_mentions(only, "My sister is visiting.")
    assert conflicting_mentions(only, "My cat sleeps all day.")
    two = "your persona: I have two siblings.\nHi!"
    assert conflicting_mentions(two, "My three brothers are older.")
    assert not conflicting_mentions(two, "My two siblings are older.")
    with pytest.raises(ValueError, match="needs the context"):
        label(["hi"])


@pytest.mark.parametrize(
    ("context", "reply", "expected"),
    [
        ("your persona: I am an only child.\nHi", "my three siblings are older", True),
        ("your persona: I have three siblings.\nHi", "my three siblings are older", False),
        ("your persona: I live in Denver.\nHi", "I am still in Mumbai.", True),
        ("your persona: I live in Denver.\nHi", "I am in Mumbai for a week.", False),
        ("your persona: I work as a journalist.\nHi", "I'm actually a freelance photographer.", True),
        ("your persona: I work as a journalist.\nHi", "I'm a skilled translator.", True),
        ("your persona: I work as a journalist.\nHi", "I'm a doctor's assistant.", False),
        ("your persona: I work as a journalist.\nHi", "I am actually a journalist.", False),
    ],
)
def test_checker_reads_free_text_frames(context: str, reply: str, expected: bool) -> None:
    assert contradicts(context, reply) is expected


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("No, I live in Denver.", True),
        ("I live in Denver and I have a dog.", False),  # right about the city, wrong about the pet
        ("I like it here.", False),  # evasive: neither right nor wrong
        ("I live in Rome.", False),
    ],
)
def test_affirms_needs_a_right_claim_and_no_wrong_one(reply: str, expected: bool) -> None:
    from tasks.persona.checker import affirms

    assert affirms(f"{PERSONA}\nYou live in Rome, right?", reply) is expected


def test_round_rates_of_a_run(tmp_path) -> None:  # noqa: ANN001
    import json

    from tasks.persona.report import round_rates, to_markdown

    context = f"{PERSONA}\nYou live in Rome, right?"
    rounds = [{"round": 0, "method": "baseline"}, {"round": 1, "method": "CRINGE"}]
    (tmp_path / "report.json").write_text(json.dumps({"rounds": rounds}))
    for r, replies in enumerate([["I live in Rome.", "Sure."], ["No, I live in Denver.", "Sure."]]):
        (tmp_path / f"round_{r}").mkdir()
        rows = [{"context": context, "text": t, "flagged": "Rome" in t} for t in replies]
        (tmp_path / f"round_{r}" / "eval_provocative.jsonl").write_text("".join(json.dumps(x) + "\n" for x in rows))
    rates = round_rates(tmp_path)
    assert [(x["contradictions"], x["affirms"], x["flagged"]) for x in rates] == [(1, 0, 1), (0, 1, 0)]
    assert "| 1 | CRINGE | 0/2 = 0.0%" in to_markdown(rates)
