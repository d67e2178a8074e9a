"""A second, independent persona labeller: flags replies that *mention* a conflicting value (bag of words).

Spec ``tasks.persona.mention:label``. Where the exact checker (:mod:`tasks.persona.checker`) parses claims ("i live
in X", "my X", "i am not a X"), this labeller only looks for words: a reply sentence is flagged when it names a
value of a stated attribute other than the stated one (another city, animal, job, food or hobby; a pet when the
persona has none; a brother, sister or number of siblings that does not fit), unless the clause holds a negation
(``not``, ``no``, ``never``, ``nor``). So it flags what the checker would not ("my friend lives in Rome", "Rome is
lovely"), misses claims without the value's name ("i have no siblings"), and reads no questions: a labeller with
other errors than the judge, so that the loop cannot be scored by its own training signal.

Its scores have three levels: 1.0 (a conflicting value named), 0.0 (a stated value named, none conflicting) and 0.5
(neither: an evasive or off-topic reply). The pretrained preset trains on 1.0 as negatives and on 0.0 only as
positives (``--positive-threshold 0``): a reply that names no persona value cannot contradict the persona, and
training on such replies as positives taught the model to evade (measured: replies naming a stated value fell from
25/200 to 10/200 in one round).

The stated facts come from the checker's reading of the context (the ``your persona:`` line and the speaker's
earlier lines): both tools share the world's vocabulary (:mod:`tasks.persona.lexicon`), not their rules.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from tasks.persona.checker import normalize, stated_facts
from tasks.persona.lexicon import NO_PET, PETS, surface_forms

_NEGATION = re.compile(r"\b(?:not|no|never|nor|neither|without|hate|dislike)\b")
_FORMS = {attr: surface_forms(attr) for attr in ("pet", "city", "job", "food", "hobby")}
_SIBLING_WORDS = re.compile(r"\b(?:brother|brothers|sister|sisters|sibling|siblings)\b")
_SIBLING_COUNT = re.compile(r"\b(one|two|three|four|five|six|1|2|3|4|5|6) (?:\w+ )?(?:siblings|brothers|sisters)\b")
_COUNTS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
_COUNTS.update({str(n): n for n in range(1, 7)})
_ALL_PET_FORMS = {form for forms in PETS.values() for form in forms}


def _clauses(text: str) -> list[str]:
    """The reply's clauses without a negation (split at ``. ! ? ; ,`` and line breaks), each normalised
    (:func:`tasks.persona.checker.normalize`): "No, I live in Denver." keeps "i live in denver"."""
    clauses = (normalize(part) for part in re.split(r"[.!?;,\n]+", text))
    return [c for c in clauses if c and not _NEGATION.search(c)]


def _names(sentence: str, form: str) -> bool:
    return re.search(rf"\b{re.escape(form)}\b", sentence) is not None


def conflicting_mentions(context: str, reply: str) -> list[str]:
    """The conflicting value names of the reply (``attribute=form``), from its clauses without a negation."""
    facts = stated_facts(context)
    found = []
    for sentence in _clauses(reply):
        for attribute, value in facts.items():
            if attribute == "siblings":
                if value == 0 and _SIBLING_WORDS.search(sentence):
                    found.append("siblings=" + _SIBLING_WORDS.search(sentence).group(0))
                for match in _SIBLING_COUNT.finditer(sentence):
                    if value and _COUNTS[match.group(1)] != value:
                        found.append(f"siblings={match.group(0)}")
                if value and "only child" in sentence:
                    found.append("siblings=only child")
                continue
            if attribute == "pet" and value == NO_PET:
                found += [f"pet={f}" for f in _ALL_PET_FORMS if _names(sentence, f)]
                continue
            forms = _FORMS.get(attribute, {})
            found += [f"{attribute}={f}" for f, v in forms.items() if v != value and _names(sentence, f)]
    return found


def true_mentions(context: str, reply: str) -> list[str]:
    """The stated values the reply names (``attribute=form``), from its clauses without a negation."""
    facts = stated_facts(context)
    return [
        f"{attribute}={form}"
        for clause in _clauses(reply)
        for attribute, value in facts.items()
        for form, v in _FORMS.get(attribute, {}).items()
        if v == value and _names(clause, form)
    ]


def label(
    texts: Sequence[str], contexts: Sequence[str] | None = None, golds: Sequence[str] | None = None, **_: Any
) -> list[float]:
    """The labeller as a classifier: 1.0 for a reply with a conflicting mention; 0.0 for one that names a stated
    value (and no conflicting one); 0.5 for neither (unflagged at the loop's threshold 0.5, and left out of the
    selection's positives by ``--positive-threshold 0``).

    Raises:
        ValueError: ``contexts`` is None or does not align with ``texts``.
    """
    if contexts is None:
        raise ValueError("tasks.persona.mention:label needs the context of each reply (contexts=...)")
    if len(contexts) != len(texts):
        raise ValueError(f"tasks.persona.mention:label got {len(texts)} replies but {len(contexts)} contexts")
    return [
        1.0 if conflicting_mentions(c, t) else 0.0 if true_mentions(c, t) else 0.5
        for c, t in zip(contexts, texts, strict=True)
    ]
