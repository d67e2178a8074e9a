"""The exact contradiction checker of the persona task: does a reply contradict the persona its context states?

``contradicts(context, reply)`` is a fixed, deterministic function of the two strings (no model, no randomness); it
agrees with the label of every example the generator (:mod:`tasks.persona.world`) makes. ``judge`` wraps it as a
classifier (spec ``tasks.persona.checker:judge``): 1.0 for a contradiction, else 0.0. ``answers`` wraps
:func:`affirms` the same way (spec ``tasks.persona.checker:answers``): 1.0 for a reply that states a persona fact
right, so that its flagged rate is the rate of right answers.

**Normalisation** (of the context's lines and of the reply alike), so that free text from a small model is read the
same way as clean text:

1. BPE artefacts go: subword-nmt's ``@@`` joins (``par@@ is`` -> ``paris``), byte-level BPE's visible bytes
   ``Ġ`` (space), ``Ċ``/``ĉ`` (newline, tab) and ``âĢĻ`` (a curly apostrophe).
2. Lower case; curly and back-quote apostrophes become ``'``; spaces around an apostrophe are removed
   (``i ' m`` -> ``i'm``); contractions are expanded (``n't`` -> `` not``, ``can't`` -> ``can not``, ``'m`` ->
   `` am``, ``'ve`` -> `` have``, ``'re`` -> `` are``, ``'s`` after it/that/what/... -> `` is``, else `` s``).
3. Every character but letters and digits becomes a space; runs of spaces collapse (punctuation and odd spacing
   between words do not matter). Contractions written without an apostrophe are expanded too (``im``, ``ive``,
   ``dont``, ``doesnt``, ``didnt``, ``cant``, ``cannot``, ``wont``, ``havent``, ``isnt``, ``whats``, ...), and
   ``favourite`` -> ``favorite``.

A value must appear as whole tokens (``paris``, ``new york``, ``guinea pigs``); a word split inside (``par is``)
is not read. Before punctuation goes, :func:`read` notes where it was: which words follow a break (``, . ! ? ; :``
or a line break) and which words are *asked* rather than asserted (see *Questions* below).

**Claims.** A *claim* is a match, in the normalised reply, of one of the cue patterns of :data:`PATTERNS`; every
match is one claim ``(attribute, op, value)``:

- ``eq``: the speaker's value is ``value`` (``i live in rome``, ``my favorite food is sushi``, ``i have a dog``,
  ``my dog ...``, ``i do not have any pets`` = pet ``none``, ``i am an only child`` = siblings 0,
  ``i have two siblings`` = 2, ``i am one of three kids`` = 2);
- ``ne``: the speaker's value is not ``value`` (``i do not live in paris``, ``i am not a nurse``, ``i do not have a
  dog``, ``i have no dog``, ``i do not like sushi``, ``i hate chess``, ``sushi is not my favorite``);
- ``ge``: siblings at least ``value`` (``my sister`` = 1, ``my brothers`` = 2, ``i have two brothers`` = 2,
  ``my three siblings`` = 3, ``i am not an only child`` = 1, ``i have a brother and a sister`` = 2).

Every cue is about the speaker: it starts with ``i``/``my`` or ends with ``my <attribute noun>``. A value named in
any other frame is not a claim: ``my friend lives in rome``, ``my neighbour has a cat``, ``i want to visit rome``,
``i used to live in rome``, ``i love sushi`` (liking is not "favourite"), ``my sister has a cat`` (a claim of a
sibling, not of a pet), ``i am a doctor s assistant`` and ``my dog walker`` (the value is a modifier of another
noun: a possessive ``s`` or a noun of :data:`_JOB_TAIL` / :data:`_PET_TAIL` follows it). Each speaker of the world
has exactly one value per attribute (one pet or none, one city, one job, one favourite food, one hobby), so a second
pet or a second hobby is a contradiction: after ``i have a dog`` / ``my dog`` a list goes on being read (``and a
cat``, ``two cats and a hamster``), and so after ``my hobbies are`` / ``include``; after a negation the list is read
with ``or``/``nor`` (``i do not have a dog or a cat``).

*Free-text frames* (replies of pretrained chat models), beside the world's phrasings:

- adverbs between ``i`` and the verb, and after a negation: ``i actually live in``, ``i also have a cat``, ``i do
  not even have a dog``, ``i am really not a nurse``;
- a job after up to three words of a closed list of job adjectives (:data:`JOB_ADJECTIVES`: ``retired``, ``busy``,
  ``full time``, ``high school``, ``senior``, ...); an adjective outside it is not read (``a good cook``, ``a
  former nurse``, ``an aspiring doctor`` are skills, past or wishes, not jobs). ``i am no doctor`` is ``ne``;
- **moves and origins.** The world has one place attribute, ``city`` = where the speaker *lives now* (persona ``I
  live in {v}``); it has no origin. So a move *to* X is a claim that the speaker lives in X now (``i moved to X``,
  ``i just relocated to X`` = ``eq``), a move *away* from X that they do not (``i moved away from X``, ``i moved
  out of X``, ``i moved here from X`` = ``ne``), and both are read only when no childhood time follows them (``i
  moved to X when i was five`` says nothing of today). ``i have never been to X`` / ``never visited X`` = ``ne``
  (nobody lives in a city they never went to). An origin is **not** a claim on ``city``: ``i am from X``, ``i am
  originally from X``, ``i grew up in X``, ``i was born (and raised) in X`` never contradict the persona (one can
  be from Paris and live in Rome, and the world states no origin) and do not affirm it either; nor is ``X is my
  home town``. Only an origin tied to the present is read: ``i grew up in X and still live there`` = ``eq`` X,
  ``i grew up in X and now live in Y`` = ``eq`` Y.
  Planned moves (``i am moving to X``, ``i want to move to X``) are not claims.

*Questions are not claims.* A claim in a question of the reply is dropped: the reply that repeats the partner's
wrong question (``Do I live in Paris? No, I live in Rome.``, ``Paris? No, Rome.``, ``My cat? I have a dog.``) asserts
only what follows it. The asked words of a sentence ending in ``?`` run from its last interrogative opener (a
wh-word, an auxiliary before a pronoun: ``do i``, ``are you``, with a wh-phrase just before it: ``where do i``;
a closing ``you?``/``and you?``) to its end; with no
opener, or with only a tag question after a comma (``right?``, ``do i?``, ``is that right?``), the whole sentence is
asked. So ``I live in Rome, what about you?`` and ``I have a cat, do you?`` keep their claims; ``did you know`` /
``have i told you`` before a claim leave it asserted. Without punctuation, a claim starting ``i`` right after an
auxiliary (``do i live in paris``, ``have i got a dog``), after ``if``/``whether``/``wish`` or after ``you think`` /
``you said`` (reported speech), and ``how is my dog``, are not claims either.

*Answer claims.* When the partner's line (the context's last line) asks about an attribute (:data:`QUESTIONS`) or
presupposes a value of it (a *proposal*: the partner's line with ``you``/``your`` read as ``i``/``my`` makes a
claim, e.g. ``You live in Paris, right?``, ``How is your cat?``, ``You have two siblings, right?``), a value of that
attribute at the start of the reply (after its asked words) is an ``eq`` claim: ``rome``, ``oh rome``, ``a dog``,
``two`` (siblings), ``a retired doctor``, ``Paris? No, Rome.``. Only the fillers of :data:`ANSWER_FILLERS` (and,
for a job or a pet, its adjectives) may come before it (at most :data:`MAX_FILLERS`), and a value already read by a
cue pattern is not read twice. A negated answer is ``ne``: ``not paris``, ``definitely not a nurse``, ``no, not
sushi``, ``no dog`` (``no`` right before the value). After ``no`` and a break, a value the partner proposed is
``ne`` (``No, Paris is too expensive``) and another one ``eq`` (``No, Rome``). For the pet, ``none`` and ``no
pets`` are pet ``none``; for siblings ``no siblings`` is 0.

*Yes and no.* A bare ``yes``/``no`` (:data:`YES_WORDS`, :data:`NO_WORDS`, at the start of the reply) is a claim only
where the partner's line makes it one, and only on an attribute the reply claims nothing else about: ``yes`` to a
proposal is ``eq`` its value, ``no`` is ``ne`` it (``You live in Paris, right?`` / ``Yes!``); to the questions of
:data:`YES_NO` (``do you have any pets``, ``any siblings``, ``are you an only child``) they answer the existence of a
pet or a sibling. ``sure`` is not a ``yes`` (chat models open any reply with it), and a proposal that is itself a
negation or "none" (``You don't have pets, right?``) is not answered by yes/no (English is ambiguous there).

**Stated facts.** The context's lines are the persona lines (starting ``your persona:``) and the dialogue lines;
the last dialogue line is the partner's, and going back from it the lines alternate speaker, partner, ... The
stated value of an attribute is that of the first ``eq`` claim found in the persona lines, else in the speaker's
earlier lines, in order. Partner lines are never facts of the speaker (the partner may live in Rome).

**Contradiction.** ``contradicts`` is True iff the reply makes a claim on an attribute with a stated value that
conflicts with it: ``eq v`` with v != stated, ``ne v`` with v == stated, ``ge n`` with stated < n. Claims on
attributes the context does not state never contradict.
"""

from __future__ import annotations

import bisect
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
    "hasnt": "has not",
    "hadnt": "had not",
    "isnt": "is not",
    "arent": "are not",
    "wasnt": "was not",
    "wouldnt": "would not",
    "couldnt": "could not",
    "youre": "you are",
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


# -- reading a text: its words, breaks and questions -------------------------------------------------------------

#: BPE artefacts as :func:`read` undoes them: as :data:`_BPE`, but ``Ċ`` is a line break (it ends a sentence).
_READ_BPE = (("@@ ", ""), ("@@", ""), ("âĢĻ", "'"), ("Ġ", " "), ("Ċ", "\n"), ("ĉ", " "))
_PUNCTUATION = re.compile(r"([.!?;:,\n]+)")
_SENTENCE_END = re.compile(r"[.!?\n]")
_WH = frozenset("what where when why who whom whose which how".split())
_AUX = frozenset(
    "do does did are is am was were have has had can could would will should shall may might must".split()
)
_PRONOUNS = frozenset("you i it that this there he she they we your my".split())
#: A last piece (after a comma) that is one of these asks about the partner: the claims before it stand.
_YOU_TAGS = frozenset({"you", "and you", "yourself", "and yourself", "you too", "what about you", "how about you"})
#: A last piece that is one of these asks back about the whole sentence: ``I live in Paris, right?``.
_TAGS = frozenset(
    {
        "right", "really", "huh", "eh", "correct", "true", "or what", "or not", "is that right", "is that so",
        "is that true", "is that correct", "is not it", "is it", "do i", "did i", "am i", "have i", "do not i",
        "am not i", "you ask", "you say", "you mean", "you think", "you said", "you asked",
    }
)  # fmt: skip
#: After one of these in a question, what follows is asserted: ``did you know i live in paris``.
_FACTIVE = frozenset("know knew tell told mention mentioned hear heard remember".split())


@dataclass(frozen=True)
class Reading:
    """A text read for claims: the normalised words, which follow a break, and which are asked, not asserted."""

    norm: str
    words: tuple[str, ...]
    starts: tuple[int, ...]
    breaks: frozenset[int]
    asked: tuple[bool, ...]

    def word_at(self, offset: int) -> int:
        """The index of the word at a character offset of :attr:`norm`."""
        return max(bisect.bisect_right(self.starts, offset) - 1, 0)


def _is_opener(words: Sequence[str], j: int, end: int) -> bool:
    """Whether an interrogative opener starts at word ``j`` of a question ending before word ``end``."""
    if words[j] in _WH or " ".join(words[j:end]) in _YOU_TAGS:
        return True
    if words[j] in _AUX:
        k = j + 1 + (j + 1 < end and words[j + 1] == "not")
        return k < end and words[k] in _PRONOUNS
    return False


def _question_span(words: Sequence[str], start: int, end: int, pieces: Sequence[int]) -> tuple[int, int]:
    """The asked words ``[a, b)`` of a question sentence ``words[start:end]`` whose pieces start at ``pieces``."""
    last = max(p for p in pieces if p < end)
    tail = " ".join(words[last:end])
    limit = last if last > start and tail in _TAGS else end
    first = start
    for j in range(start, limit):
        if _is_opener(words, j, end):
            first = j
            if " ".join(words[j:end]) in _YOU_TAGS:
                break
    for j in range(first - 1, max(start, first - 5) - 1, -1):  # the wh-phrase of the opener: "what city do i"
        if words[j] in ("i", "my"):
            break
        if words[j] in _WH:
            first = j
    stop = end
    for j in range(first, end - 1):
        if words[j] in _FACTIVE:
            stop = j + 1
            break
    return first, stop


def read(text: str) -> Reading:
    """Read a text: its normalised words (as :func:`normalize`), the breaks between them and its asked words."""
    for old, new in _READ_BPE:
        text = text.replace(old, new)
    parts = _PUNCTUATION.split(text)
    words: list[str] = []
    breaks: set[int] = set()
    questions: list[tuple[int, int]] = []
    sentence, pieces = 0, [0]
    for k, part in enumerate(parts):
        if k % 2 == 0:
            words.extend(normalize(part).split())
            continue
        if words:
            breaks.add(len(words))
        if _SENTENCE_END.search(part):
            if "?" in part and len(words) > sentence:
                questions.append(_question_span(words, sentence, len(words), pieces))
            sentence, pieces = len(words), [len(words)]
        else:
            pieces.append(len(words))
    asked = [False] * len(words)
    for a, b in questions:
        asked[a:b] = [True] * (b - a)
    starts, offset = [], 0
    for word in words:
        starts.append(offset)
        offset += len(word) + 1
    breaks.discard(len(words))
    return Reading(" ".join(words), tuple(words), tuple(starts), frozenset(breaks), tuple(asked))


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
_NUM_FORMS = _alt(list(NUMBERS))
#: Adverbs between ``i`` and its verb (``i actually live in``, ``i do have``, ``i also have``).
_ADV = _fill(["actually", "really", "definitely", "certainly", "honestly", "truly", "absolutely", "just", "still",
              "also", "currently", "now", "even", "totally", "literally", "do", "already", "recently", "finally",
              "only"], 2)  # fmt: skip
_NOT = (
    "(?:do not|does not|did not|never|have never|had never|have not|has not|had not|would never|will never"
    "|could never|can not|no longer|have not ever|do not ever|have still never)"
)
#: Adverbs after a negation (``i do not even have``); not ``just``/``only`` (``not just a nurse`` is no denial).
_NADV = _fill(["really", "actually", "even", "ever", "currently", "exactly", "personally", "yet"], 1)
_ART = "(?:a |an |the )?"
_PET_MOD = _fill(["pet", "little", "old", "sweet", "lovely", "new", "cute", "big", "young", "baby", "two", "three",
                  "rescue", "adopted", "small", "tiny", "fluffy", "lazy", "black", "white", "brown", "grey", "gray",
                  "beautiful", "senior", "four", "adorable", "crazy"], 2)  # fmt: skip
#: Nouns after which an animal names no pet of the speaker (``a dog walker``, ``a cat person``, ``dog food``).
_PET_TAIL = (
    r"(?! (?:person|people|lover|lovers|walker|walkers|sitter|sitters|sitting|walking|food|treat|treats|bed|park"
    r"|trainer|groomer|show|shows|whisperer|allergy|allergies|hair|fur|toy|toys|shelter|breeder|daycare|hotel"
    r"|costume|tattoo|mug|shirt|video|videos|meme|memes)\b)"
)
#: Job adjectives read before a job (``a retired doctor``, ``a busy nurse``, ``a full time high school teacher``).
JOB_ADJECTIVES = (
    "full time", "part time", "freelance", "senior", "junior", "retired", "school", "high school", "head",
    "professional", "trained", "qualified", "skilled", "experienced", "licensed", "certified", "registered",
    "pastry", "local", "successful", "passionate", "dedicated", "busy", "hard working", "hardworking", "overworked",
    "tired", "exhausted", "proud", "happy", "new", "young", "newly qualified", "fully qualified", "practicing",
    "practising", "working", "veteran", "seasoned", "self employed", "independent", "private", "personal", "staff",
    "lead", "chief", "general", "family", "emergency", "er", "icu", "pediatric", "paediatric", "surgical", "trauma",
    "elementary", "elementary school", "middle school", "primary school", "kindergarten", "preschool", "substitute",
    "math", "maths", "music", "science", "english", "history", "art", "spanish", "french", "software", "civil",
    "mechanical", "electrical", "commercial", "airline", "line", "sous", "volunteer", "night shift", "hospital",
    "public school", "criminal", "corporate", "wedding", "sports", "contract", "master", "apprentice",
)  # fmt: skip
_JOB_MOD = _fill(JOB_ADJECTIVES, 3)
#: Nouns after which a job names no job of the speaker (``a doctor s assistant``, ``a nurse aide``).
_JOB_TAIL = (
    r"(?! (?:s|assistant|assistants|aide|aides|helper|helpers|wife|husband|girlfriend|boyfriend|office|show|shows"
    r"|fan|fans|kit|costume|character|in training|student|students|school|wannabe)\b)"
)
_PET_V = _V["pet"] + _PET_TAIL
_JOB_V = _V["job"] + _JOB_TAIL
_FAV = _fill(["favorite", "all time", "go to", "number one", "main", "absolute"], 2)
_HOBBY_MOD = _fill(["favorite", "main", "only", "real", "biggest", "big", "true", "one", "number one", "absolute"], 2)
_SIB = "(?:siblings|sibling|brothers and sisters|brothers or sisters|brother or sister)"
_SIB_MOD = _fill(["older", "younger", "little", "big", "twin", "baby", "elder", "only"], 1)
_SIB_ONE = f"(?:{_NUM_FORMS}) {_SIB_MOD}(?:brothers|brother|sisters|sister)"
_NO_PET_WORDS = "(?:pets|pet|animals|animal)"
#: A move or a leaving that a childhood time follows says nothing of where the speaker lives now.
_NOT_CHILDHOOD = (
    r"(?!(?: \w+){0,4} (?:when i was|as a (?:kid|child|boy|girl|teenager|teen|baby)|in my (?:childhood|teens|youth)"
    r"|growing up)\b)"
)
_MOVED = "(?:have |had )?(?:just |recently |finally |eventually |since |also |then )?(?:moved|relocated)"
#: What may follow one value of a list: ``(and) a cat``, ``two cats``; after a negation ``or``/``nor``.
_MORE_EQ = "(?:and |plus |as well as |and also |along with |and then )?"
_MORE_NE = "(?:or |nor |and |or even )?"
#: A pet's name between two items of a list: ``a dog named max and a cat``.
_NAMED = r"(?:(?:named|called) \w+ )?"


def _p(
    attribute: str, op: str, pattern: str, convert: Callable[[str], Any] | None = None, more: str | None = None
) -> tuple:
    """One cue: ``more``, if given, is the pattern of a further list item read after the match (group ``v``)."""
    return (attribute, op, re.compile(rf"\b{pattern}\b"), convert, re.compile(rf" {more}\b") if more else None)


def _number(word: str) -> int:
    return NUMBERS[word]


def _fixed(value: Any) -> Callable[[str], Any]:
    return lambda _word: value


def _sibling_sum(text: str) -> int:
    """``a brother and two sisters`` -> 3."""
    return sum(NUMBERS[n] for n in re.findall(rf"\b{_NUM_FORMS}(?= )", text) if n in NUMBERS)


_PET_ITEM = f"{_ART}{_PET_MOD}{_PET_V}"
_HOBBY_ITEM = _V["hobby"]

#: (attribute, op, compiled pattern, value converter or None for the surface form's value, compiled list-item
#: pattern or None); group ``v`` is the value.
PATTERNS: tuple[tuple, ...] = (
    # pet
    _p(
        "pet",
        "eq",
        rf"i {_ADV}(?:have|have got|own|got|adopted|have adopted|keep|rescued|have rescued) {_PET_ITEM}",
        more=_NAMED + _MORE_EQ + _PET_ITEM,
    ),
    _p("pet", "eq", rf"my {_PET_MOD}{_PET_V}", more=f"{_NAMED}{_MORE_EQ}(?:my )?{_PET_MOD}{_PET_V}"),
    _p("pet", "eq", rf"my (?:only )?pet is {_ART}{_PET_V}"),
    _p(
        "pet",
        "eq",
        rf"i {_ADV}{_NOT} {_NADV}(?:have|had|own|owned|got|have got|kept|keep) (?:any |a |an )?"
        rf"(?P<v>{_NO_PET_WORDS})",
        _fixed(NO_PET),
    ),
    _p("pet", "eq", rf"i {_ADV}(?:have|own|have got) no (?P<v>{_NO_PET_WORDS})", _fixed(NO_PET)),
    _p(
        "pet",
        "ne",
        rf"i {_ADV}{_NOT} {_NADV}(?:have|had|own|owned|got|have got|kept|keep) (?:a |an |any )?"
        rf"{_PET_MOD}{_PET_V}",
        more=f"{_MORE_NE}{_PET_ITEM}",
    ),
    _p("pet", "ne", rf"i {_ADV}(?:have|own|have got) no {_PET_MOD}{_PET_V}", more=f"{_MORE_NE}{_PET_ITEM}"),
    # city
    _p(
        "city",
        "eq",
        rf"i {_ADV}(?:live|am living|have lived|have been living|reside|am residing|am based|have settled"
        rf"|settled) (?:here |right |just |now |currently )?(?:in|out of) (?:the city of |downtown |central )?"
        rf"{_V['city']}",
    ),
    _p("city", "eq", rf"i am (?:still|currently|now) (?:living |based )?in {_V['city']}"),
    _p(
        "city",
        "eq",
        rf"i {_ADV}{_MOVED}(?: back| over| here| down| up| out)? to (?:the city of )?{_V['city']}"
        rf"{_NOT_CHILDHOOD}",
    ),
    _p(
        "city",
        "eq",
        rf"i (?:was born|was born and raised|grew up|was raised|am originally from|am from|come from)"
        rf"(?: in)? {_V['city']} (?:and|where) (?:i )?(?:still |now |currently )?(?:live|am living|reside)"
        rf"(?: there| here)?(?! (?:in|near|outside|close)\b)",
    ),
    _p(
        "city",
        "eq",
        rf"i (?:was born|grew up|was raised|am originally from|am from|come from) (?:\w+ ){{1,3}}?"
        rf"(?:and|but) (?:i )?(?:now |currently )?(?:live|am living|reside) in {_V['city']}",
    ),
    _p("city", "eq", rf"my home is in {_V['city']}"),
    _p("city", "eq", rf"home for me is {_V['city']}"),
    _p("city", "eq", rf"i call {_V['city']} home"),
    _p("city", "eq", rf"{_V['city']} is (?:my home|where i live|home for me|my city)"),
    _p("city", "ne", rf"i {_ADV}{_NOT} {_NADV}(?:live|lived|reside|resided|have lived) in {_V['city']}"),
    _p("city", "ne", rf"i am {_ADV}not {_NADV}(?:living|based) in {_V['city']}"),
    _p(
        "city",
        "ne",
        rf"i {_ADV}{_MOVED}(?: back| over| here| away| out)? (?:from|out of) {_V['city']}"
        rf"{_NOT_CHILDHOOD}",
    ),
    _p(
        "city",
        "ne",
        rf"i {_ADV}(?:have never|never|have not|have not ever|had never|have still never) {_NADV}"
        rf"(?:been to|gone to|visited|travelled to|traveled to|set foot in) {_V['city']}",
    ),
    _p("city", "ne", rf"i {_ADV}(?:have never|never|had never) {_NADV}been in {_V['city']}"),
    # job
    _p(
        "job",
        "eq",
        rf"i {_ADV}(?:am|work as|am working as|work full time as|work part time as|have been|have been "
        rf"working as|make a living as|earn a living as|became|have become|am employed as|work professionally as) "
        rf"{_ADV}{_ART}{_JOB_MOD}{_JOB_V}",
    ),
    _p("job", "eq", rf"i {_ADV}work (?:at|in|for) (?:\w+ ){{1,4}}as {_ART}{_JOB_MOD}{_JOB_V}"),
    _p("job", "eq", rf"my (?:job|profession|occupation) is (?:being )?{_ART}{_JOB_MOD}{_JOB_V}"),
    _p("job", "ne", rf"i am {_ADV}not {_NADV}{_ART}{_JOB_MOD}{_JOB_V}"),
    _p("job", "ne", rf"i am no {_JOB_MOD}{_JOB_V}"),
    _p("job", "ne", rf"i am no longer {_ART}{_JOB_MOD}{_JOB_V}"),
    _p("job", "ne", rf"i {_ADV}{_NOT} {_NADV}(?:work|worked|am working) as {_ART}{_JOB_MOD}{_JOB_V}"),
    _p(
        "job",
        "ne",
        rf"i (?:have never|have not ever|had never|never) {_NADV}(?:been|worked as) {_ART}{_JOB_MOD}"
        rf"{_JOB_V}",
    ),
    _p("job", "ne", rf"my job is {_ADV}not {_ART}{_JOB_V}"),
    # siblings
    _p("siblings", "eq", r"i (?:am|was|grew up as) (?:an |the )?(?P<v>only child)", _fixed(0)),
    _p("siblings", "eq", rf"i {_ADV}{_NOT} {_NADV}(?:have|had) (?:any )?(?P<v>{_SIB})", _fixed(0)),
    _p("siblings", "eq", rf"i have {_NUM} {_SIB}", _number),
    _p("siblings", "eq", rf"i grew up with {_NUM} {_SIB}", _number),
    _p("siblings", "eq", rf"i am one of {_NUM} (?:kids|children|siblings)", lambda w: _number(w) - 1),
    _p("siblings", "ge", r"i am not (?:an |the )?(?P<v>only child)", _fixed(1)),
    _p("siblings", "ge", rf"my {_SIB_MOD}(?P<v>brother|sister|sibling)", _fixed(1)),
    _p("siblings", "ge", rf"my {_SIB_MOD}(?P<v>brothers|sisters|siblings)", _fixed(2)),
    _p("siblings", "ge", rf"i {_ADV}(?:have|have got|grew up with) (?P<v>{_SIB_ONE} and {_SIB_ONE})", _sibling_sum),
    _p("siblings", "ge", rf"i have {_NUM} {_SIB_MOD}(?:brothers|sisters|brother|sister)", _number),
    _p("siblings", "ge", rf"my {_NUM} {_SIB_MOD}(?:siblings|brothers|sisters|brothers and sisters)", _number),
    # food
    _p("food", "eq", rf"my {_FAV}(?:food|dish|meal|thing to eat) is {_ADV}{_ART}{_V['food']}"),
    _p("food", "eq", rf"{_V['food']} is (?:definitely |easily |probably |honestly )?my {_FAV}(?:food|dish|meal)"),
    _p("food", "eq", rf"{_V['food']} is (?:definitely |easily |probably |honestly )?my (?:favorite|go to)"),
    _p("food", "eq", rf"i could eat {_V['food']} every day"),
    _p("food", "eq", rf"nothing beats {_ART}(?:good )?{_V['food']}"),
    _p("food", "eq", rf"i love {_V['food']} more than any(?:thing| other food)"),
    _p("food", "ne", rf"i {_ADV}{_NOT} {_NADV}(?:like|eat|stand|enjoy|liked|ate|care for|love) {_V['food']}"),
    _p("food", "ne", rf"i {_ADV}(?:hate|dislike|detest|loathe|can not stand) {_V['food']}"),
    _p("food", "ne", rf"{_V['food']} is {_ADV}not my (?:favorite|go to)"),
    _p("food", "ne", rf"my {_FAV}(?:food|dish|meal) is {_ADV}not {_V['food']}"),
    # hobby
    _p("hobby", "eq", rf"my {_HOBBY_MOD}(?:hobby|pastime) is {_ADV}{_V['hobby']}"),
    _p(
        "hobby",
        "eq",
        rf"my {_HOBBY_MOD}(?:hobbies|pastimes) (?:are|include) {_ADV}{_HOBBY_ITEM}",
        more=_MORE_EQ + _HOBBY_ITEM,
    ),
    _p("hobby", "eq", rf"{_V['hobby']} is my {_HOBBY_MOD}(?:hobby|pastime)"),
    _p("hobby", "eq", rf"i spend (?:all |most )?(?:of )?my free time (?:on |doing )?{_V['hobby']}"),
    _p("hobby", "ne", rf"i {_ADV}{_NOT} {_NADV}(?:like|enjoy|do|tried|try|liked|enjoyed) {_V['hobby']}"),
    _p("hobby", "ne", rf"i {_ADV}(?:hate|dislike|detest|loathe) {_V['hobby']}"),
    _p("hobby", "ne", rf"i am {_ADV}not {_NADV}into {_V['hobby']}"),
    _p("hobby", "ne", rf"{_V['hobby']} is {_ADV}not my {_HOBBY_MOD}(?:hobby|pastime|thing)"),
    _p("hobby", "ne", rf"my {_HOBBY_MOD}(?:hobby|pastime) is {_ADV}not {_V['hobby']}"),
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

#: Yes/no questions of the partner about the existence of a pet or a sibling: (attribute, pattern on the
#: normalised partner line, (op, value) of a ``yes``, (op, value) of a ``no``).
YES_NO: tuple[tuple[str, re.Pattern, tuple[str, Any], tuple[str, Any]], ...] = (
    (
        "pet",
        re.compile(r"\b(?:do you (?:have|own)|have you got) (?:any |a )?(?:pets?|animals?)\b|^any pets\b"),
        ("ne", NO_PET),
        ("eq", NO_PET),
    ),
    (
        "siblings",
        re.compile(rf"\b(?:do you have|have you got) (?:any )?{_SIB}\b|^any siblings\b"),
        ("ge", 1),
        ("eq", 0),
    ),
    ("siblings", re.compile(r"\bare you (?:an |the )?only child\b"), ("eq", 0), ("ge", 1)),
)

#: Words that may come before the value of an answer claim.
ANSWER_FILLERS = frozenset(
    "oh well um uh hmm haha ha lol actually so ah i think guess mostly definitely probably it is "
    "a an the just one only my right now currently good question that would be say ok okay yes yeah yep".split()
)
MAX_FILLERS = 6
#: Words that open a bare ``yes`` / ``no`` (at the reply's start, after interjections and asked words).
YES_WORDS = ("yes", "yeah", "yep", "yup", "yea", "ya", "of course", "yes indeed", "that is right", "that is correct",
             "that is true", "correct", "exactly", "indeed", "absolutely", "definitely", "certainly", "you got it",
             "you bet", "i do", "i am", "i have", "i sure do", "i still do", "i still am")  # fmt: skip
NO_WORDS = ("no", "nope", "nah", "no way", "not really", "not at all", "of course not", "absolutely not",
            "definitely not", "certainly not", "not anymore", "not any more", "not exactly", "i do not", "i am not",
            "i have not", "never", "no i do not", "no i am not", "no i have not")  # fmt: skip
#: These open a yes/no even without a break after them (``yes i do``, ``no i do not``).
_LOOSE_YES_NO = frozenset({"yes", "yeah", "yep", "yup", "yea", "of course", "no", "nope", "nah"})
_AFTER_LOOSE_NO = frozenset({"i", "we", "not", "never", "sorry", "thanks", "thank", "it", "that"})
_INTERJECTIONS = frozenset("oh well um uh hmm haha ha lol ah ahh wow hey so".split())
_NEGATED_ANSWER_ADV = frozenset("definitely certainly absolutely surely probably really".split())
_BARE_SIBLINGS = {w: n for w, n in NUMBERS.items() if w not in ("a", "an", "no", "a single")}
_BARE: dict[str, dict[str, Any]] = {**_FORMS, "siblings": _BARE_SIBLINGS}
_BARE_MAX_WORDS = {attr: max(len(f.split()) for f in forms) for attr, forms in _BARE.items()}
#: Per attribute, words that may come before a bare value beside :data:`ANSWER_FILLERS` (``a retired doctor``).
_ANSWER_MODIFIERS = {
    "job": frozenset(w for adjective in JOB_ADJECTIVES for w in adjective.split()),
    "pet": frozenset(re.findall(r"[a-z]+", _PET_MOD)),
}
_TAIL_WORDS = {
    "pet": frozenset(re.findall(r"[a-z]+", _PET_TAIL)),
    "job": frozenset(re.findall(r"[a-z]+", _JOB_TAIL)) - {"in", "training"},
}
_NO_PET_ANSWER = re.compile(rf"^(?:none|no {_NO_PET_WORDS})\b")
_NO_SIBLINGS_ANSWER = re.compile(rf"^no {_SIB}\b")


# -- reading claims and facts ------------------------------------------------------------------------------------

_AUX_QUESTION = frozenset("do does did can could would will should shall may might must have has had".split())
_HYPOTHETICAL = frozenset("if whether unless wish imagine pretend suppose supposing".split())
_REPORTED = re.compile(
    r"\byou (?:just |really |probably )?(?:think|thought|said|say|says|assume|assumed|believe|believed|guess|guessed"
    r"|mean|meant|ask|asked|asking|suggest|suggested|heard|hear|claim|claimed|imply|implied|figured)"
    r"(?: that| if| whether)?$"
)
_MY_QUESTION = re.compile(r"\b(?:how is|how are|how s|what about|how about)$")


def _asserted(reading: Reading, start: int, value: tuple[int, int]) -> bool:
    """Whether the cue matched at ``start`` (its value at ``value``) is asserted, not asked, supposed or reported."""
    if reading.asked[reading.word_at(value[0])]:
        return False
    first = reading.word_at(start)
    clause_start = max([b for b in reading.breaks if b <= first], default=0)
    before = reading.words[clause_start:first]
    if not before:
        return True
    text = reading.norm[start:]
    if text.startswith("i "):
        aux = before[-2] if before[-1] == "not" and len(before) > 1 else before[-1]
        if aux in _AUX_QUESTION and not text.startswith("i am "):
            return False
        return before[-1] not in _HYPOTHETICAL and not _REPORTED.search(" ".join(before))
    if text.startswith("my "):
        return not _MY_QUESTION.search(" ".join(before))
    return True


def _cue_matches(reading: Reading, asserted_only: bool = True) -> list[tuple[Claim, str]]:
    """Every claim of a cue pattern (and of its list) in a reading, with the text of its match."""
    norm = reading.norm
    out = []
    for attribute, op, pattern, convert, more in PATTERNS:
        for match in pattern.finditer(norm):
            items = [match]
            while more is not None and (item := more.match(norm, items[-1].end())):
                items.append(item)
            for item in items:
                span = item.span("v")
                if asserted_only and not _asserted(reading, match.start(), span):
                    continue
                word = item.group("v")
                value = convert(word) if convert else _FORMS[attribute][word]
                out.append((Claim(attribute, op, value, span), match.group(0)))
    return out


def cue_claims(text: str | Reading) -> list[Claim]:
    """Every asserted claim of a cue pattern in ``text`` (read first), in the order of :data:`PATTERNS`."""
    reading = read(text) if isinstance(text, str) else text
    return [claim for claim, _ in _cue_matches(reading)]


def asked_attributes(partner_line: str) -> list[str]:
    """The attributes a partner's line asks about (see :data:`QUESTIONS`)."""
    norm = normalize(partner_line)
    return [attr for attr, pattern in QUESTIONS.items() if pattern.search(norm)]


_SWAP = {"i": "you", "me": "you", "my": "your", "mine": "yours", "myself": "yourself", "am": "are", "you": "i",
         "your": "my", "yours": "mine", "yourself": "myself"}  # fmt: skip


def _swap_persons(norm: str) -> str:
    """A normalised line with first and second person swapped: ``you are a nurse`` -> ``i am a nurse``."""
    words = norm.split()
    out = []
    for j, word in enumerate(words):
        if word == "are" and "you" in words[max(j - 1, 0) : j + 2]:
            out.append("am")
        else:
            out.append(_SWAP.get(word, word))
    return " ".join(out)


def proposals(partner_line: str) -> list[Claim]:
    """The values the partner's line presupposes of the speaker: its second-person claims (``You live in Paris,
    right?`` -> city ``eq paris``; ``How is your cat?`` -> pet ``eq cat``), questions included."""
    swapped = read(_swap_persons(normalize(partner_line)))
    first_person = re.compile(r"\b(?:i|my|me)\b")
    return [claim for claim, text in _cue_matches(swapped, asserted_only=False) if first_person.search(text)]


def _value_at(reading: Reading, attribute: str, i: int) -> tuple[Any, int] | None:
    """The value of ``attribute`` whose form starts at word ``i`` (the longest), and the index after it."""
    words, forms = reading.words, _BARE[attribute]
    for n in range(min(_BARE_MAX_WORDS[attribute], len(words) - i), 0, -1):
        phrase = " ".join(words[i : i + n])
        if phrase in forms:
            if i + n < len(words) and words[i + n] in _TAIL_WORDS.get(attribute, ()):
                return None
            return forms[phrase], i + n
    return None


def _answer(reading: Reading, attribute: str, taken: Sequence[tuple[int, int]], proposed: Sequence[Any]):
    """The answer claim on ``attribute`` at the start of a reply, or None (see the module docstring)."""
    words, starts = reading.words, reading.starts

    def claim(op: str, value: Any, i: int, j: int) -> Claim | None:
        span = (starts[i], starts[j - 1] + len(words[j - 1]))
        return None if any(a < span[1] and span[0] < b for a, b in taken) else Claim(attribute, op, value, span)

    fillers, after_no, i = 0, False, 0
    modifiers = _ANSWER_MODIFIERS.get(attribute, frozenset())
    while i < len(words):
        if reading.asked[i]:
            i += 1
            continue
        found = _value_at(reading, attribute, i)
        if found:
            return claim("ne" if after_no and found[0] in proposed else "eq", found[0], i, found[1])
        word, rest = words[i], " ".join(words[i : i + 5])
        if word == "no" and i + 1 < len(words) and i + 1 not in reading.breaks:
            if attribute == "pet" and _NO_PET_ANSWER.match(rest):
                return claim("eq", NO_PET, i, i + 2)
            if attribute == "siblings" and (none := _NO_SIBLINGS_ANSWER.match(rest)):
                return claim("eq", 0, i, i + len(none.group(0).split()))
            found = _value_at(reading, attribute, i + 1)
            if found:
                return claim("ne", found[0], i + 1, found[1])
        if attribute == "pet" and word == "none":
            return claim("eq", NO_PET, i, i + 1)
        if word == "not":
            j = i + 1
            if j < len(words) and words[j] in ("really", "exactly", "quite", "even"):
                j += 1
            if j < len(words) and words[j] in ("a", "an", "the"):
                j += 1
            found = _value_at(reading, attribute, j) if j < len(words) else None
            return claim("ne", found[0], j, found[1]) if found else None
        if word in ("no", "nope", "nah"):
            after_no = True
        elif word not in ANSWER_FILLERS and word not in modifiers and word not in _NEGATED_ANSWER_ADV:
            return None
        fillers += 1
        if fillers > MAX_FILLERS:
            return None
        i += 1
    return None


def answer_claims(
    reply: str | Reading,
    asked: Sequence[str],
    taken: Sequence[tuple[int, int]] = (),
    proposed: Sequence[Claim] = (),
) -> list[Claim]:
    """The claims of a reply that answers questions about ``asked`` with a bare value at its start.

    Args:
        reply: The reply (or its :func:`read` reading).
        asked: Attributes the partner asked about.
        taken: Spans (in the normalised reply) of values already read by cue patterns.
        proposed: The partner's proposals (:func:`proposals`): after ``no``, a proposed value is denied.
    """
    reading = read(reply) if isinstance(reply, str) else reply
    claims = []
    for attribute in asked:
        values = [c.value for c in proposed if c.attribute == attribute and c.op == "eq"]
        found = _answer(reading, attribute, taken, values)
        if found:
            claims.append(found)
    return claims


def _polarity(reading: Reading) -> tuple[bool, tuple[int, int]] | None:
    """``(True, span)`` for a reply that opens with a bare yes, ``(False, span)`` for a bare no, else None."""
    words, i = reading.words, 0
    while i < len(words) and (reading.asked[i] or words[i] in _INTERJECTIONS):
        i += 1
    for yes, phrases in ((True, YES_WORDS), (False, NO_WORDS)):
        for phrase in sorted(phrases, key=lambda p: -len(p.split())):
            n = len(phrase.split())
            if " ".join(words[i : i + n]) != phrase:
                continue
            end = i + n
            loose = phrase in _LOOSE_YES_NO and (yes or words[end] in _AFTER_LOOSE_NO) if end < len(words) else True
            if end == len(words) or end in reading.breaks or loose:
                return yes, (reading.starts[i], reading.starts[end - 1] + len(words[end - 1]))
    return None


def _yes_no_claims(reading: Reading, partner: str, proposed: Sequence[Claim], claimed: set[str]) -> list[Claim]:
    """The claims of a bare yes/no: on the partner's proposals and :data:`YES_NO` questions (module docstring)."""
    polarity = _polarity(reading)
    if polarity is None:
        return []
    yes, span = polarity
    out = [
        Claim(c.attribute, "eq" if yes else "ne", c.value, span)
        for c in proposed
        if c.op == "eq" and c.value not in (NO_PET, 0) and c.attribute not in claimed
    ]
    done = claimed | {c.attribute for c in proposed}
    norm = normalize(partner)
    for attribute, pattern, on_yes, on_no in YES_NO:
        if attribute not in done and pattern.search(norm):
            op, value = on_yes if yes else on_no
            out.append(Claim(attribute, op, value, span))
            done.add(attribute)
    return out


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
    """Every claim of the reply: its cue claims, its answer claims to the partner's last line, then its yes/no."""
    reading = read(reply)
    claims = cue_claims(reading)
    _, _, partner = split_context(context)
    proposed = proposals(partner)
    asked = asked_attributes(partner)
    asked += [a for a in dict.fromkeys(c.attribute for c in proposed) if a not in asked]
    claims += answer_claims(reading, asked, [c.span for c in claims], proposed)
    return claims + _yes_no_claims(reading, partner, proposed, {c.attribute for c in claims})


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


def _check_contexts(spec: str, texts: Sequence[str], contexts: Sequence[str] | None) -> Sequence[str]:
    if contexts is None:
        raise ValueError(f"{spec} needs the context of each reply (contexts=...)")
    if len(contexts) != len(texts):
        raise ValueError(f"{spec} got {len(texts)} replies but {len(contexts)} contexts")
    return contexts


def judge(
    texts: Sequence[str], contexts: Sequence[str] | None = None, golds: Sequence[str] | None = None
) -> list[float]:
    """The checker as a classifier (spec ``tasks.persona.checker:judge``): 1.0 per contradicting reply, else 0.0.

    Raises:
        ValueError: ``contexts`` is None or does not align with ``texts``.
    """
    contexts = _check_contexts("tasks.persona.checker:judge", texts, contexts)
    return [1.0 if contradicts(c, t) else 0.0 for c, t in zip(contexts, texts, strict=True)]


def answers(
    replies: Sequence[str], contexts: Sequence[str] | None = None, golds: Sequence[str] | None = None, **_: Any
) -> list[float]:
    """The right-answer judge as a classifier (spec ``tasks.persona.checker:answers``): 1.0 per reply that
    :func:`affirms` its context (states a stated persona fact right and contradicts none), else 0.0; so its flagged
    rate (P > 0.5) is the rate of right answers. ``golds`` is not used.

    Raises:
        ValueError: ``contexts`` is None or does not align with ``replies``.
    """
    contexts = _check_contexts("tasks.persona.checker:answers", replies, contexts)
    return [1.0 if affirms(c, r) else 0.0 for c, r in zip(contexts, replies, strict=True)]


__all__ = [
    "ANSWER_FILLERS",
    "JOB_ADJECTIVES",
    "NO_WORDS",
    "PATTERNS",
    "QUESTIONS",
    "YES_NO",
    "YES_WORDS",
    "Claim",
    "Reading",
    "affirms",
    "answers",
    "contradicts",
    "contradictions",
    "judge",
    "normalize",
    "proposals",
    "read",
    "reply_claims",
    "stated_facts",
]
