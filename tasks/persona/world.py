"""A deterministic persona world: speakers with facts, dialogues that state some of them, judged replies.

Each speaker has one value per attribute (:data:`tasks.persona.lexicon.ATTRIBUTES`): one pet or none, a city, a
job, 0-4 siblings, a favourite food, a hobby. Each dialogue of a speaker is one example:

- the context: a ``your persona:`` line stating 2-3 facts in the world's fixed phrasing (ConvAI2 style), then the
  dialogue: either the partner's last line alone, or the partner's opener, the speaker's answer (which may state
  one more fact in varied phrasing) and the partner's last line. The partner's last line asks about a stated
  attribute (a *provocative* context), asks about an unstated one, or chats; it may state the partner's own facts.
- the judged reply, the speaker's next line: ``neg`` (with probability ``contradiction_share``) contradicts a stated
  fact (another value of the attribute, or the negation of the stated one); ``pos`` restates the truth, answers
  with a fact the context does not state, corrects a wrong value, mentions other people's facts or chats.
- ``gold``: a consistent reply to the same context (the reply itself when it is ``pos``).

Everything is drawn from ``random.Random`` generators seeded by strings of the seed and the speaker's (and
dialogue's) index, so the world is identical in every process; the contexts and gold replies do not depend on
``contradiction_share`` (only which replies are contradictions does). Speakers are split into train/valid/test by a
seeded shuffle: no speaker is in two splits.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from typing import Any

from tasks.persona import templates as T
from tasks.persona.lexicon import ATTRIBUTES, MAX_SIBLINGS, NO_PET, article, values

SPLITS = ("train", "valid", "test")
DEFAULT_SPEAKERS = 3000
DEFAULT_DIALOGUES = 3
DEFAULT_SEED = 0
DEFAULT_CONTRADICTION_SHARE = 0.25
DEFAULT_VALID_FRAC = 0.1
DEFAULT_TEST_FRAC = 0.1
#: ``dialogue``: the dialogues above; ``leading``: a persona line and one partner question, half of them leading.
STYLES = ("dialogue", "leading")
DEFAULT_STYLE = "dialogue"
PERSONA_PREFIX = "your persona: "
_WORDS = ("no", "one", "two", "three", "four", "five")


@dataclass(frozen=True)
class Example:
    """One dialogue of the world: its context lines, the judged reply and its label, and a consistent gold reply.

    ``asked`` is the attribute the partner's last line asks about (``""`` when it asks none); ``provocative`` is
    True when that attribute is stated in the context.
    """

    dialogue_id: str
    speaker: int
    split: str
    persona: str
    turns: tuple[str, ...]
    reply: str
    label: str
    gold: str
    asked: str
    provocative: bool
    stated: tuple[str, ...]

    @property
    def context_lines(self) -> list[str]:
        return [self.persona, *self.turns]

    @property
    def context(self) -> str:
        return "\n".join(self.context_lines)


def speaker_facts(seed: int, speaker: int) -> dict[str, Any]:
    """The facts of one speaker (pets: one in five has none; siblings: one in four is an only child)."""
    rng = random.Random(f"persona:{seed}:speaker:{speaker}")
    facts: dict[str, Any] = {attr: rng.choice(values(attr)) for attr in ATTRIBUTES}
    if rng.random() < 0.2:
        facts["pet"] = NO_PET
    facts["siblings"] = 0 if rng.random() < 0.25 else rng.randint(1, MAX_SIBLINGS)
    return facts


# -- rendering ---------------------------------------------------------------------------------------------------


def _shown(attribute: str, value: Any) -> str:
    if attribute == "city":
        return " ".join(w.capitalize() for w in value.split())
    return str(value)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def render(template: str, attribute: str, value: Any, other: Any = None) -> str:
    """Fill a template's placeholders (see :mod:`tasks.persona.templates`) with a value (and another one)."""
    fields: dict[str, str] = {}
    if attribute == "siblings":
        fields.update(n=_WORDS[value], N=_cap(_WORDS[value]), m=_WORDS[value + 1] if value + 1 < len(_WORDS) else "")
    else:
        v = _shown(attribute, value)
        fields.update(v=v, V=_cap(v), a=f"{article(v)} {v}", A=_cap(f"{article(v)} {v}"))
    if other is not None:
        x = _shown(attribute, other)
        fields.update(x=x, ax=f"{article(x)} {x}")
    return template.format(**fields)


def _key(attribute: str, value: Any) -> str:
    """The template key of a value: ``pet:none``, ``siblings:0``, ``siblings:1``, else the attribute."""
    if attribute == "pet" and value == NO_PET:
        return "pet:none"
    if attribute == "siblings" and value in (0, 1):
        return f"siblings:{value}"
    return attribute


def persona_sentence(attribute: str, value: Any) -> str:
    """The world's fixed phrasing of a fact (the ``your persona:`` line)."""
    return render(T.PERSONA[_key(attribute, value)], attribute, value)


def statement(rng: random.Random, attribute: str, value: Any) -> str:
    """A varied statement of a value (an ``eq`` claim)."""
    key = _key(attribute, value)
    pool = T.STATEMENTS[key if key in T.STATEMENTS else attribute]
    if key == "siblings" and value + 1 >= len(_WORDS):
        pool = tuple(t for t in pool if "{m}" not in t)
    return render(rng.choice(pool), attribute, value)


def answer(rng: random.Random, attribute: str, value: Any) -> str:
    """A bare answer to a question about the attribute (no pets: a statement instead)."""
    key = _key(attribute, value)
    if key == "pet:none":
        return statement(rng, attribute, value)
    template = rng.choice(T.ANSWERS["siblings:0" if key == "siblings:0" else attribute])
    prefix = rng.choice(T.ANSWER_PREFIXES) if template.startswith("{") else ""
    return prefix + render(template, attribute, value)


def _other(rng: random.Random, attribute: str, value: Any, allow_none: bool = True) -> Any:
    """Another value of the attribute (pets: another animal, or none when ``allow_none``)."""
    pool = [v for v in values(attribute) if v != value]
    if attribute == "pet" and allow_none and value != NO_PET and rng.random() < 0.3:
        return NO_PET
    return rng.choice(pool)


# -- replies -----------------------------------------------------------------------------------------------------


def contradiction(rng: random.Random, attribute: str, stated: Any, asked: str) -> tuple[str, bool]:
    """A sentence that contradicts the stated value of an attribute, and whether it is a bare answer."""
    if rng.random() < 0.4:  # negate the stated value
        if attribute == "pet" and stated != NO_PET:
            if rng.random() < 0.5:
                return statement(rng, "pet", NO_PET), False
            return render(rng.choice(T.NEGATIONS["pet"]), attribute, stated), False
        if attribute == "siblings":
            if stated == 0:
                return rng.choice(T.NEGATIONS["siblings:0"]), False
            return statement(rng, "siblings", 0), False
        if attribute in T.NEGATIONS and attribute != "pet":
            return render(rng.choice(T.NEGATIONS[attribute]), attribute, stated), False
    other = _other(rng, attribute, stated)
    if attribute == asked and rng.random() < 0.4:
        return answer(rng, attribute, other), _key(attribute, other) != "pet:none"
    return statement(rng, attribute, other), False


def consistent(rng: random.Random, attribute: str, value: Any, asked: str) -> str:
    """A sentence consistent with the true value: restated, bare answer, or a correction of another value."""
    roll = rng.random()
    if attribute == asked and roll < 0.35:
        return answer(rng, attribute, value)
    key = _key(attribute, value)
    if roll < 0.5 and key in T.CORRECTIONS:
        return render(rng.choice(T.CORRECTIONS[key]), attribute, value, _other(rng, attribute, value, False))
    if roll < 0.6 and attribute == "siblings" and value >= 1:
        return rng.choice(T.SIBLING_MENTIONS["siblings:2" if value >= 2 and rng.random() < 0.5 else "siblings:1"])
    return statement(rng, attribute, value)


def positive_reply(rng: random.Random, facts: dict[str, Any], stated: list[str], asked: str) -> str:
    """A reply with no claim that conflicts with the stated facts."""
    if asked in stated and rng.random() < 0.8:
        core = consistent(rng, asked, facts[asked], asked)
    elif asked and asked not in stated and rng.random() < 0.6:  # a fact the context does not state
        core = answer(rng, asked, facts[asked]) if rng.random() < 0.5 else statement(rng, asked, facts[asked])
    else:
        roll = rng.random()
        if roll < 0.35:
            core = rng.choice(T.DEFLECTIONS if asked else T.NEUTRAL)
        elif roll < 0.65:
            attr = rng.choice(stated)
            core = consistent(rng, attr, facts[attr], asked)
        else:
            attr = rng.choice(list(T.OTHERS))
            core = render(rng.choice(T.OTHERS[attr]), attr, rng.choice(values(attr)))
    return core + rng.choice(T.SUFFIXES)


def negative_reply(rng: random.Random, facts: dict[str, Any], stated: list[str], asked: str) -> str:
    """A reply that contradicts one stated fact (sometimes after a consistent sentence about another).

    A bare answer stays at the start of the reply, where the checker reads answers.
    """
    target = asked if asked in stated and rng.random() < 0.7 else rng.choice(stated)
    core, is_answer = contradiction(rng, target, facts[target], asked)
    others = [a for a in stated if a != target]
    if not is_answer:
        if others and rng.random() < 0.25:
            attr = rng.choice(others)
            core = f"{statement(rng, attr, facts[attr])} {core}"
        else:
            core = rng.choice(T.PREFIXES) + core
    return core + rng.choice(T.SUFFIXES)


# -- dialogues ---------------------------------------------------------------------------------------------------


def _partner_fact(rng: random.Random) -> str:
    attr = rng.choice(ATTRIBUTES)
    return statement(rng, attr, rng.choice(values(attr))) + " "


def dialogue(
    seed: int, speaker: int, index: int, facts: dict[str, Any], split: str, contradiction_share: float
) -> Example:
    """One dialogue of a speaker (see the module docstring)."""
    rng = random.Random(f"persona:{seed}:dialogue:{speaker}:{index}")
    stated = rng.sample(ATTRIBUTES, rng.choice((2, 3)))
    persona = PERSONA_PREFIX + " ".join(persona_sentence(a, facts[a]) for a in stated)
    turns: list[str] = []
    if rng.random() < 0.5:
        turns.append(rng.choice(T.OPENERS))
        greeting = rng.choice(T.GREETINGS)
        unstated = [a for a in ATTRIBUTES if a not in stated]
        if rng.random() < 0.7:
            attr = rng.choice(unstated)
            stated.append(attr)
            greeting = f"{greeting} {statement(rng, attr, facts[attr])}"
        turns.append(greeting)
    roll = rng.random()
    prefix = _partner_fact(rng) if rng.random() < 0.3 else ""
    if roll < 0.5:
        asked = rng.choice(stated)
    elif roll < 0.7:
        asked = rng.choice([a for a in ATTRIBUTES if a not in stated])
    else:
        asked = ""
    turns.append(prefix + (rng.choice(T.QUESTIONS[asked]) if asked else rng.choice(T.CHAT)))
    gold = positive_reply(random.Random(f"persona:{seed}:gold:{speaker}:{index}"), facts, stated, asked)
    neg = random.Random(f"persona:{seed}:label:{speaker}:{index}").random() < contradiction_share
    reply = (
        negative_reply(random.Random(f"persona:{seed}:neg:{speaker}:{index}"), facts, stated, asked) if neg else gold
    )
    return Example(
        dialogue_id=f"{speaker}-{index}",
        speaker=speaker,
        split=split,
        persona=persona,
        turns=tuple(turns),
        reply=reply,
        label="neg" if neg else "pos",
        gold=gold,
        asked=asked,
        provocative=asked in stated,
        stated=tuple(stated),
    )


def leading_question(rng: random.Random, attribute: str, stated: Any) -> tuple[str, Any]:
    """A question presupposing another value of the attribute, and that value."""
    if attribute == "siblings":
        other = rng.choice([n for n in range(2, MAX_SIBLINGS + 1) if n != stated])
        return rng.choice(T.LEADING["siblings"]).format(k=_WORDS[other]), other
    other = _other(rng, attribute, stated, allow_none=False)
    return render(rng.choice(T.LEADING[attribute]), attribute, stated, other), other


def leading_dialogue(
    seed: int, speaker: int, index: int, facts: dict[str, Any], split: str, contradiction_share: float
) -> Example:
    """A ``leading``-style example: three stated facts, then one partner line.

    The line is a leading question about a stated attribute (60% of the examples), an open question about one
    (15%: both *provocative*), or a question about an unstated attribute or chat (25%). A ``neg`` reply agrees with
    the premise (states the presupposed value) or otherwise contradicts a stated fact; the gold reply corrects it.
    """
    rng = random.Random(f"persona:{seed}:leading:{speaker}:{index}")
    stated = rng.sample([a for a in ATTRIBUTES if not (a == "pet" and facts[a] == NO_PET)], 3)
    persona = PERSONA_PREFIX + " ".join(persona_sentence(a, facts[a]) for a in stated)
    roll, premise = rng.random(), None
    if roll < 0.6:
        asked = rng.choice(stated)
        line, premise = leading_question(rng, asked, facts[asked])
    elif roll < 0.75:
        asked = rng.choice(stated)
        line = rng.choice(T.QUESTIONS[asked])
    else:
        unstated = [a for a in ATTRIBUTES if a not in stated]
        asked = rng.choice(unstated) if rng.random() < 0.5 else ""
        line = rng.choice(T.QUESTIONS[asked]) if asked else rng.choice(T.CHAT)
    grng = random.Random(f"persona:{seed}:leading-gold:{speaker}:{index}")
    if premise is not None:
        key = _key(asked, facts[asked])
        if key in T.CORRECTIONS:
            gold = render(grng.choice(T.CORRECTIONS[key]), asked, facts[asked], premise)
        else:
            gold = "No. " + statement(grng, asked, facts[asked])
    else:
        gold = positive_reply(grng, facts, stated, asked)
    neg = random.Random(f"persona:{seed}:leading-label:{speaker}:{index}").random() < contradiction_share
    nrng = random.Random(f"persona:{seed}:leading-neg:{speaker}:{index}")
    if neg and premise is not None:
        reply = nrng.choice(("Yes! ", "Yes, ", "That's right. ", "")) + statement(nrng, asked, premise)
    else:
        reply = negative_reply(nrng, facts, stated, asked) if neg else gold
    return Example(
        dialogue_id=f"{speaker}-{index}",
        speaker=speaker,
        split=split,
        persona=persona,
        turns=(line,),
        reply=reply,
        label="neg" if neg else "pos",
        gold=gold,
        asked=asked,
        provocative=asked in stated,
        stated=tuple(stated),
    )


def check_settings(
    speakers: int,
    dialogues: int,
    contradiction_share: float,
    valid_frac: float,
    test_frac: float,
    style: str = DEFAULT_STYLE,
) -> None:
    """Raise ValueError naming the option (``--persona-...``) of a setting out of range."""
    if style not in STYLES:
        raise ValueError(f"--persona-style must be one of {', '.join(STYLES)}, got {style!r}")
    if not 0.0 <= contradiction_share <= 1.0:
        raise ValueError(f"--persona-contradiction-share must be in [0, 1], got {contradiction_share}")
    if dialogues < 1:
        raise ValueError(f"--persona-dialogues must be >= 1, got {dialogues}")
    if valid_frac <= 0 or test_frac <= 0 or valid_frac + test_frac >= 1:
        raise ValueError(
            f"--persona-valid-frac and --persona-test-frac must be > 0 with a sum < 1, got {valid_frac}, {test_frac}"
        )
    counts = split_sizes(speakers, valid_frac, test_frac)
    if speakers < 1 or min(counts.values()) < 1:
        raise ValueError(
            f"--persona-speakers must leave at least one speaker in each split, got {speakers} ({counts})"
        )


def split_sizes(speakers: int, valid_frac: float, test_frac: float) -> dict[str, int]:
    """Speakers per split."""
    test = round(speakers * test_frac)
    valid = round(speakers * valid_frac)
    return {"train": speakers - valid - test, "valid": valid, "test": test}


def split_of_speakers(speakers: int, seed: int, valid_frac: float, test_frac: float) -> dict[int, str]:
    """Speaker -> split, by a seeded shuffle of the speakers (test first, then valid, then train)."""
    order = list(range(speakers))
    random.Random(f"persona:{seed}:split").shuffle(order)
    sizes = split_sizes(speakers, valid_frac, test_frac)
    out = {s: "test" for s in order[: sizes["test"]]}
    out.update({s: "valid" for s in order[sizes["test"] : sizes["test"] + sizes["valid"]]})
    out.update({s: "train" for s in order[sizes["test"] + sizes["valid"] :]})
    return out


@functools.lru_cache(maxsize=8)
def build(
    speakers: int = DEFAULT_SPEAKERS,
    dialogues: int = DEFAULT_DIALOGUES,
    seed: int = DEFAULT_SEED,
    contradiction_share: float = DEFAULT_CONTRADICTION_SHARE,
    valid_frac: float = DEFAULT_VALID_FRAC,
    test_frac: float = DEFAULT_TEST_FRAC,
    style: str = DEFAULT_STYLE,
) -> dict[str, tuple[Example, ...]]:
    """Every example of the world, per split, in speaker then dialogue order.

    Args:
        speakers: Number of speakers.
        dialogues: Dialogues (examples) per speaker.
        seed: Seed of everything.
        contradiction_share: Probability that a judged reply is a contradiction (every split).
        valid_frac: Share of speakers in valid.
        test_frac: Share of speakers in test.
        style: ``dialogue`` or ``leading`` (:func:`leading_dialogue`).

    Raises:
        ValueError: A setting is out of range (the message names its ``--persona-`` option).
    """
    check_settings(speakers, dialogues, contradiction_share, valid_frac, test_frac, style)
    make = leading_dialogue if style == "leading" else dialogue
    splits = split_of_speakers(speakers, seed, valid_frac, test_frac)
    out: dict[str, list[Example]] = {s: [] for s in SPLITS}
    for speaker in range(speakers):
        facts = speaker_facts(seed, speaker)
        split = splits[speaker]
        for index in range(dialogues):
            out[split].append(make(seed, speaker, index, facts, split, contradiction_share))
    return {s: tuple(exs) for s, exs in out.items()}


def examples(split: str, **settings: Any) -> tuple[Example, ...]:
    """The examples of one split (``settings``: those of :func:`build`)."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    return build(**settings)[split]
