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
    assert label([reply], contexts=[context]) == [1.0 if flagged else 0.0]


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
