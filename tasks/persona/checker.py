"""The exact contradiction checker of the persona task: does a reply contradict the persona its context states?

``contradicts(context, reply)`` is a fixed, deterministic function of the two strings (no model, no randomness); it
agrees with the label of every example the generator (:mod:`tasks.persona.world`) makes. ``judge`` wraps it as a
classifier (spec ``tasks.persona.checker:judge``): 1.0 for a contradiction, else 0.0.

**Normalisation** (of the context's lines and of the reply alike), so that free text from a small model is read the
same way as clean text:

1. BPE artefacts go: subword-nmt's ``@@`` joins (``par@@ is`` -> ``paris``), byte-level BPE's visible bytes
   ``Ġ`` (space), ``Ċ``/``ĉ`` (newline, tab) and ``âĢĻ`` (a curly apostrophe).
2. Lower case; curly and back-quote apostrophes become ``'``; spaces around an apostrophe are removed
   (``i ' m`` -> ``i'm``); contractions are expanded (``n't`` -> `` not``, ``can't`` -> ``can not``, ``'m`` ->
   `` am``, ``'ve`` -> `` have``, ``'re`` -> `` are``, ``'s`` after it/that/what/... -> `` is``, else `` s``).
3. Every character but letters and digits becomes a space; runs of spaces collapse (punctuation and odd spacing
   between words do not matter). Contractions written without an apostrophe are expanded too (``im``, ``ive``,
   ``dont``, ``doesnt``, ``didnt``, ``cant``, ``cannot``, ``wont``, ``havent``, ``whats``, ``thats``), and
   ``favourite`` -> ``favorite``.

A value must appear as whole tokens (``paris``, ``new york``, ``guinea pigs``); a word split inside (``par is``)
is not read.

**Claims.** A *claim* is a match, in the normalised reply, of one of the cue patterns of :data:`PATTERNS` (each
attribute's table below names them in full); every match is one claim ``(attribute, op, value)``:

- ``eq``: the speaker's value is ``value`` (``i live in rome``, ``my favorite food is sushi``, ``i have a dog``,
  ``my dog ...``, ``i do not have any pets`` = pet ``none``, ``i am an only child`` = siblings 0,
  ``i have two siblings`` = 2, ``i am one of three kids`` = 2);
- ``ne``: the speaker's value is not ``value`` (``i do not live in paris``, ``i am not a nurse``, ``i do not have a
  dog``, ``i do not like sushi``, ``i hate chess``, ``sushi is not my favorite``);
- ``ge``: siblings at least ``value`` (``my sister`` = 1, ``my brothers`` = 2, ``i have two brothers`` = 2,
  ``my three siblings`` = 3, ``i am not an only child`` = 1).

Free text from a pretrained model is read with a few more frames: ``i am still/currently/now in X`` (city), ``i am
actually a skilled X`` (job, with ``actually``/``really``/``still``/``currently``/``now``/``also`` and up to two
of a fixed list of job adjectives before it; ``a doctor's assistant`` is not a job claim).

Every cue is about the speaker: it starts with ``i``/``my`` or ends with ``my <attribute noun>``. A value named in
any other frame is not a claim: ``my friend lives in rome``, ``my neighbour has a cat``, ``i want to visit rome``,
``i used to live in rome``, ``i love sushi`` (liking is not "favourite"), ``my sister has a cat`` (a claim of a
sibling, not of a pet). Each speaker of the world has exactly one value per attribute (one pet or none, one city,
one job, one favourite food, one hobby), so a second pet or a second hobby is a contradiction.

*Answer claims.* When the partner's line (the context's last line) asks about an attribute (:data:`QUESTIONS`),
a value of that attribute at the start of the reply is an ``eq`` claim: ``rome``, ``oh rome``, ``a dog``,
``two`` (siblings). Only the fillers of :data:`ANSWER_FILLERS` may come before it (at most
:data:`MAX_FILLERS`), and a value already read by a cue pattern (``sushi is not my favorite``) is not read twice.
A bare ``yes``/``no`` is not a claim.

**Stated facts.** The context's lines are the persona lines (starting ``your persona:``) and the dialogue lines;
the last dialogue line is the partner's, and going back from it the lines alternate speaker, partner, ... The
stated value of an attribute is that of the first ``eq`` claim found in the persona lines, else in the speaker's
earlier lines, in order. Partner lines are never facts of the speaker (the partner may live in Rome).

**Contradiction.** ``contradicts`` is True iff the reply makes a claim on an attribute with a stated value that
conflicts with it: ``eq v`` with v != stated, ``ne v`` with v == stated, ``ge n`` with stated < n. Claims on
attributes the context does not state never contradict.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tasks.persona.lexicon import NO_PET, NUMBERS, surface_forms

PERSONA_PREFIX = "your persona"


@dataclass(frozen=True)
class Claim:
    """One claim about the speaker: ``op`` is ``eq``, ``ne`` or ``ge``; ``span`` is where the value was read."""

    attribute: str
    op: str
    value: str | int
    span: tuple[int, int] = (0, 0)


# -- normalisation -----------------------------------------------------------------------------------------------

_BPE = (("@@ ", ""), ("@@", ""), ("âĢĻ", "'"), ("Ġ", " "), ("Ċ", " "), ("ĉ", " "))
_APOSTROPHES = re.compile(r"[’‘`´]")
_IS_AFTER = r"(?:it|that|what|there|here|who|where|he|she|how|which|this)"
_CONTRACTIONS = (
    (re.compile(r"\bcan't\b"), "can not"),
    (re.compile(r"\bwon't\b"), "will not"),
    (re.compile(r"n't\b"), " not"),
    (re.compile(r"'m\b"), " am"),
    (re.compile(r"'ve\b"), " have"),
    (re.compile(r"'re\b"), " are"),
    (re.compile(r"'d\b"), " would"),
    (re.compile(r"'ll\b"), " will"),
    (re.compile(rf"\b{_IS_AFTER}'s\b"), lambda m: m.group(0)[:-2] + " is"),
    (re.compile(r"'s\b"), " s"),
)
_BARE_CONTRACTIONS = {
    "im": "i am",
    "ive": "i have",
    "dont": "do not",
    "doesnt": "does not",
    "didnt": "did not",
    "cant": "can not",
    "cannot": "can not",
    "wont": "will not",
    "havent": "have not",
    "whats": "what is",
    "thats": "that is",
    "favourite": "favorite",
    "favourites": "favorites",
}


def normalize(text: str) -> str:
    """The normalised form of a text (see the module docstring): lower-case words separated by single spaces."""
    for old, new in _BPE:
        text = text.replace(old, new)
    text = _APOSTROPHES.sub("'", text.lower())
    text = re.sub(r"\s*'\s*", "'", text)
    for pattern, repl in _CONTRACTIONS:
        text = pattern.sub(repl, text)
    words = re.sub(r"[^a-z0-9]+", " ", text).split()
    return " ".join(_BARE_CONTRACTIONS.get(w, w) for w in words)


# -- the cue patterns --------------------------------------------------------------------------------------------


def _alt(forms: Sequence[str]) -> str:
    """A regex alternation of whole-word forms, longest first (so ``guinea pigs`` wins over ``guinea pig``)."""
    return "(?:" + "|".join(re.escape(f) for f in sorted(set(forms), key=lambda f: (-len(f), f))) + ")"


def _fill(words: Sequence[str], most: int) -> str:
    """Up to ``most`` optional filler words, each followed by a space."""
    return f"(?:{_alt(words)} ){{0,{most}}}"


_FORMS = {attr: surface_forms(attr) for attr in ("pet", "city", "job", "food", "hobby")}
_V = {attr: f"(?P<v>{_alt(list(forms))})" for attr, forms in _FORMS.items()}
_NUM = f"(?P<v>{_alt(list(NUMBERS))})"
_NOT = "(?:do not|does not|did not|never|have never|would never|will never|could never|can not|no longer)"
_ART = "(?:a |an |the )?"
_PET_MOD = _fill(["pet", "little", "old", "sweet", "lovely", "new", "cute", "big", "young", "baby", "two", "three"], 2)
_JOB_MOD = _fill(["full time", "part time", "freelance", "senior", "junior", "retired", "school", "high school",
                  "head", "professional", "trained", "qualified", "skilled", "experienced", "licensed", "certified",
                  "registered", "pastry", "local", "successful", "passionate", "dedicated"], 2)  # fmt: skip
_NOW = "(?:actually |really |still |currently |now |also )?"
_FAV = _fill(["favorite", "all time", "go to", "number one", "main", "absolute"], 2)
_HOBBY_MOD = _fill(["favorite", "main", "only", "real", "biggest", "big", "true", "one", "number one", "absolute"], 2)
_SIB = "(?:siblings|sibling|brothers and sisters|brothers or sisters|brother or sister)"
_SIB_MOD = _fill(["older", "younger", "little", "big", "twin", "baby", "elder", "only"], 1)
_NO_PET_WORDS = "(?:pets|pet|animals|animal)"


def _p(attribute: str, op: str, pattern: str, convert: Callable[[str], Any] | None = None) -> tuple:
    return (attribute, op, re.compile(rf"\b{pattern}\b"), convert)


def _number(word: str) -> int:
    return NUMBERS[word]


def _fixed(value: Any) -> Callable[[str], Any]:
    return lambda _word: value


#: (attribute, op, compiled pattern, value converter or None for the surface form's value); group ``v`` is the value.
PATTERNS: tuple[tuple, ...] = (
    # pet
    _p("pet", "eq", rf"i (?:have|have got|own|got|adopted|have adopted) {_ART}{_PET_MOD}{_V['pet']}"),
    _p("pet", "eq", rf"my {_PET_MOD}{_V['pet']}"),
    _p("pet", "eq", rf"my (?:only )?pet is {_ART}{_V['pet']}"),
    _p("pet", "eq", rf"i {_NOT} (?:have|had|own|owned) (?:any |a |an )?(?P<v>{_NO_PET_WORDS})", _fixed(NO_PET)),
    _p("pet", "eq", rf"i (?:have|own) no (?P<v>{_NO_PET_WORDS})", _fixed(NO_PET)),
    _p("pet", "ne", rf"i {_NOT} (?:have|had|own|owned) (?:a |an |any )?{_V['pet']}"),
    # city
    _p(
        "city",
        "eq",
        rf"i (?:live|am living|have lived|have been living|reside|am based) in "
        rf"(?:the city of )?{_V['city']}",
    ),  # fmt: skip
    _p("city", "eq", rf"i am (?:still|currently|now) (?:living |based )?in {_V['city']}"),
    _p("city", "eq", rf"my home is in {_V['city']}"),
    _p("city", "eq", rf"home for me is {_V['city']}"),
    _p("city", "eq", rf"i call {_V['city']} home"),
    _p("city", "eq", rf"{_V['city']} is (?:my home|where i live|home for me|my home town|my city)"),
    _p("city", "ne", rf"i {_NOT} (?:live|lived|reside|resided) in {_V['city']}"),
    _p("city", "ne", rf"i am not (?:living|based) in {_V['city']}"),
    # job
    _p(
        "job",
        "eq",
        rf"i {_NOW}(?:am|work as|am working as|have been|make a living as|earn a living as|work full time"
        rf" as) {_NOW}{_ART}{_JOB_MOD}{_V['job']}(?! s\b)",
    ),  # fmt: skip
    _p("job", "eq", rf"my (?:job|profession|occupation) is (?:being )?{_ART}{_JOB_MOD}{_V['job']}"),
    _p("job", "ne", rf"i am (?:definitely |certainly |really )?not {_ART}{_V['job']}"),
    _p("job", "ne", rf"i am no longer {_ART}{_V['job']}"),
    _p("job", "ne", rf"i {_NOT} (?:work|worked) as {_ART}{_V['job']}"),
    _p("job", "ne", rf"i have never been {_ART}{_V['job']}"),
    _p("job", "ne", rf"my job is not {_ART}{_V['job']}"),
    # siblings
    _p("siblings", "eq", r"i (?:am|was|grew up as) (?:an |the )?(?P<v>only child)", _fixed(0)),
    _p("siblings", "eq", rf"i {_NOT} (?:have|had) (?:any )?(?P<v>{_SIB})", _fixed(0)),
    _p("siblings", "eq", rf"i have {_NUM} {_SIB}", _number),
    _p("siblings", "eq", rf"i grew up with {_NUM} {_SIB}", _number),
    _p("siblings", "eq", rf"i am one of {_NUM} (?:kids|children|siblings)", lambda w: _number(w) - 1),
    _p("siblings", "ge", r"i am not (?:an |the )?(?P<v>only child)", _fixed(1)),
    _p("siblings", "ge", rf"my {_SIB_MOD}(?P<v>brother|sister|sibling)", _fixed(1)),
    _p("siblings", "ge", rf"my {_SIB_MOD}(?P<v>brothers|sisters|siblings)", _fixed(2)),
    _p("siblings", "ge", rf"i have {_NUM} {_SIB_MOD}(?:brothers|sisters|brother|sister)", _number),
    _p("siblings", "ge", rf"my {_NUM} {_SIB_MOD}(?:siblings|brothers|sisters|brothers and sisters)", _number),
    # food
    _p("food", "eq", rf"my {_FAV}(?:food|dish|meal|thing to eat) is {_ART}{_V['food']}"),
    _p("food", "eq", rf"{_V['food']} is (?:definitely |easily )?my {_FAV}(?:food|dish|meal)"),
    _p("food", "eq", rf"{_V['food']} is (?:definitely |easily )?my (?:favorite|go to)"),
    _p("food", "eq", rf"i could eat {_V['food']} every day"),
    _p("food", "eq", rf"nothing beats {_ART}(?:good )?{_V['food']}"),
    _p("food", "eq", rf"i love {_V['food']} more than any(?:thing| other food)"),
    _p("food", "ne", rf"i {_NOT} (?:like|eat|stand|enjoy|liked|ate) {_V['food']}"),
    _p("food", "ne", rf"i (?:hate|dislike|detest) {_V['food']}"),
    _p("food", "ne", rf"{_V['food']} is not my (?:favorite|go to)"),
    _p("food", "ne", rf"my {_FAV}(?:food|dish|meal) is not {_V['food']}"),
    # hobby
    _p("hobby", "eq", rf"my {_HOBBY_MOD}(?:hobby|pastime) is {_V['hobby']}"),
    _p("hobby", "eq", rf"{_V['hobby']} is my {_HOBBY_MOD}(?:hobby|pastime)"),
    _p("hobby", "eq", rf"i spend (?:all |most )?(?:of )?my free time (?:on |doing )?{_V['hobby']}"),
    _p("hobby", "ne", rf"i {_NOT} (?:like|enjoy|do|tried|try|liked|enjoyed) {_V['hobby']}"),
    _p("hobby", "ne", rf"i (?:hate|dislike|detest) {_V['hobby']}"),
    _p("hobby", "ne", rf"i am not into {_V['hobby']}"),
    _p("hobby", "ne", rf"{_V['hobby']} is not my {_HOBBY_MOD}(?:hobby|pastime|thing)"),
    _p("hobby", "ne", rf"my {_HOBBY_MOD}(?:hobby|pastime) is not {_V['hobby']}"),
)

#: attribute -> the partner's question patterns (on the normalised partner line).
QUESTIONS: dict[str, re.Pattern] = {
    attr: re.compile(rf"\b(?:{pattern})\b")
    for attr, pattern in {
        "city": r"where do you live|where are you (?:based|living)|(?:which|what) city do you live in|where is home"
        r"|where do you call home|what city are you in",
        "job": r"what do you do for (?:a )?(?:living|work)|what is your (?:job|profession|occupation|line of work)"
        r"|what do you work as|what kind of work do you do|what is it that you do for work",
        "pet": r"do you have (?:any |a )?pets?|do you own (?:any |a )?pets?|^any pets|any pets at home"
        r"|what (?:kind of )?pets? do you",
        "siblings": rf"do you have (?:any )?{_SIB}|how many {_SIB}|are you an only child|^any siblings"
        r"|how big is your family",
        "food": r"what is your (?:favorite|go to) (?:food|dish|meal)|what (?:kind of )?food do you (?:like|love)"
        r"|what do you (?:like|love) to eat",
        "hobby": r"what (?:is|are) your (?:favorite )?(?:hobby|hobbies|pastime)|what do you do for fun"
        r"|what do you do in your (?:free|spare) time|do you have (?:any |a )?hobby|do you have (?:any )?hobbies"
        r"|how do you spend your (?:free|spare) time",
    }.items()
}

#: Words that may come before the value of an answer claim.
ANSWER_FILLERS = frozenset(
    "oh well um uh hmm yes yeah yep sure haha ha lol actually so ah i think guess mostly definitely probably it is "
    "a an the just one only my right now currently good question that would be say ok okay".split()
)
MAX_FILLERS = 6
_BARE_SIBLINGS = {w: n for w, n in NUMBERS.items() if w not in ("a", "an", "no", "a single")}
_BARE: dict[str, dict[str, Any]] = {**_FORMS, "siblings": _BARE_SIBLINGS}
_BARE_MAX_WORDS = {attr: max(len(f.split()) for f in forms) for attr, forms in _BARE.items()}


# -- reading claims and facts ------------------------------------------------------------------------------------


def cue_claims(text: str) -> list[Claim]:
    """Every claim of a cue pattern in ``text`` (normalised first), in the order of :data:`PATTERNS`."""
    norm = normalize(text)
    claims = []
    for attribute, op, pattern, convert in PATTERNS:
        for match in pattern.finditer(norm):
            word = match.group("v")
            value = convert(word) if convert else _FORMS[attribute][word]
            claims.append(Claim(attribute, op, value, match.span("v")))
    return claims


def asked_attributes(partner_line: str) -> list[str]:
    """The attributes a partner's line asks about (see :data:`QUESTIONS`)."""
    norm = normalize(partner_line)
    return [attr for attr, pattern in QUESTIONS.items() if pattern.search(norm)]


def answer_claims(reply: str, asked: Sequence[str], taken: Sequence[tuple[int, int]] = ()) -> list[Claim]:
    """The ``eq`` claims of a reply that answers questions about ``asked`` with a bare value at its start.

    Args:
        reply: The reply.
        asked: Attributes the partner asked about.
        taken: Spans (in the normalised reply) of values already read by cue patterns.
    """
    words = normalize(reply).split()
    starts = [0]
    for word in words:
        starts.append(starts[-1] + len(word) + 1)
    claims = []
    for attribute in asked:
        forms = _BARE[attribute]
        for i in range(min(MAX_FILLERS, len(words)) + 1):
            found = None
            for n in range(min(_BARE_MAX_WORDS[attribute], len(words) - i), 0, -1):
                phrase = " ".join(words[i : i + n])
                if phrase in forms:
                    found = (phrase, (starts[i], starts[i] + len(phrase)))
                    break
            if found:
                phrase, span = found
                if not any(a < span[1] and span[0] < b for a, b in taken):
                    claims.append(Claim(attribute, "eq", forms[phrase], span))
                break
            if i >= len(words) or words[i] not in ANSWER_FILLERS:
                break
    return claims


def split_context(context: str) -> tuple[list[str], list[str], str]:
    """``(persona lines, the speaker's earlier lines, the partner's last line)`` of a context (oldest first)."""
    lines = [line for line in context.split("\n") if line.strip()]
    persona = [line for line in lines if normalize(line).startswith(PERSONA_PREFIX)]
    dialogue = [line for line in lines if not normalize(line).startswith(PERSONA_PREFIX)]
    partner = dialogue[-1] if dialogue else ""
    speaker = dialogue[-2::-2][::-1] if len(dialogue) > 1 else []
    return persona, speaker, partner


def stated_facts(context: str) -> dict[str, Any]:
    """Attribute -> the stated value: the first ``eq`` claim of the persona lines, else of the speaker's lines."""
    persona, speaker, _ = split_context(context)
    facts: dict[str, Any] = {}
    for line in [*persona, *speaker]:
        for claim in cue_claims(line):
            if claim.op == "eq":
                facts.setdefault(claim.attribute, claim.value)
    return facts


def reply_claims(context: str, reply: str) -> list[Claim]:
    """Every claim of the reply: its cue claims, then its answer claims to the partner's last line."""
    claims = cue_claims(reply)
    _, _, partner = split_context(context)
    return claims + answer_claims(reply, asked_attributes(partner), [c.span for c in claims])


def conflicts(claim: Claim, stated: Any) -> bool:
    """Whether a claim conflicts with the stated value of its attribute."""
    if claim.op == "eq":
        return claim.value != stated
    if claim.op == "ne":
        return claim.value == stated
    if claim.op == "ge":
        return stated < claim.value
    raise ValueError(f"unknown claim op {claim.op!r}")


def contradictions(context: str, reply: str) -> list[Claim]:
    """The reply's claims that conflict with a fact the context states."""
    facts = stated_facts(context)
    return [c for c in reply_claims(context, reply) if c.attribute in facts and conflicts(c, facts[c.attribute])]


def contradicts(context: str, reply: str) -> bool:
    """True iff ``reply`` makes a claim that conflicts with a persona fact stated in ``context``."""
    if not isinstance(context, str) or not isinstance(reply, str):
        raise TypeError(f"contradicts needs two strings, got {type(context).__name__} and {type(reply).__name__}")
    return bool(contradictions(context, reply))


def affirms(context: str, reply: str) -> bool:
    """True iff ``reply`` states (an ``eq`` claim) the stated value of an attribute and contradicts nothing: an
    answer that is right, as opposed to one that merely avoids being wrong."""
    facts = stated_facts(context)
    claims = reply_claims(context, reply)
    right = any(c.op == "eq" and c.attribute in facts and c.value == facts[c.attribute] for c in claims)
    return right and not any(c.attribute in facts and conflicts(c, facts[c.attribute]) for c in claims)


def judge(
    texts: Sequence[str], contexts: Sequence[str] | None = None, golds: Sequence[str] | None = None
) -> list[float]:
    """The checker as a classifier (spec ``tasks.persona.checker:judge``): 1.0 per contradicting reply, else 0.0.

    Raises:
        ValueError: ``contexts`` is None or does not align with ``texts``.
    """
    if contexts is None:
        raise ValueError("tasks.persona.checker:judge needs the context of each reply (contexts=...)")
    if len(contexts) != len(texts):
        raise ValueError(f"tasks.persona.checker:judge got {len(texts)} replies but {len(contexts)} contexts")
    return [1.0 if contradicts(c, t) else 0.0 for c, t in zip(contexts, texts, strict=True)]


__all__ = [
    "ANSWER_FILLERS",
    "PATTERNS",
    "QUESTIONS",
    "Claim",
    "affirms",
    "contradicts",
    "contradictions",
    "judge",
    "normalize",
    "reply_claims",
    "stated_facts",
]
