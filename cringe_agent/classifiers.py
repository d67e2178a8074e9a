"""Classifiers that judge replies: one callable interface, built from a short spec string.

A :data:`Classifier` maps a batch of replies to P(negative) per reply::

    probs = classifier(texts, contexts=contexts, golds=golds)   # list[float], one per text, each in [0, 1]

``contexts`` (what the reply answers) and ``golds`` (a reference reply) are optional; a classifier that needs one
raises ``ValueError`` when it is missing. :func:`build_classifier` turns a spec into a classifier:

==================  ===================================================================================
spec                judge
==================  ===================================================================================
``profanity``       ``alt-profanity-check``'s linear model (``predict_prob``); the default labeller.
``lexicon``         the word list shipped with ``better-profanity``: 1.0 when the text holds a listed word
                    or phrase, else 0.0. An independent second judge (a fixed list, no learned weights).
``vader``           VADER sentiment (``vaderSentiment``, a rule-based lexicon): P = max(0, -compound), so a
                    reply is flagged at P > 0.5 when its compound sentiment is below -0.5. A second judge
                    independent of the labeller, which catches a model that swaps one negative word for another.
``f1``              FITS-style: 1.0 when the unigram F1 of the text against its gold is 0, else 0.0.
``parlai:PATH``     a ParlAI ``transformer/classifier`` model file; P(class ``neg`` or ``__notok__``).
``parlai+context:PATH``  the same, fed the context and the reply (``context\nreply``): for judges trained with
                    ``--cringe-classifier-input context_reply`` (contradiction: DECODE).
                    ``PATH`` may be ``zoo:cringe/<name>`` or a ParlAI ``zoo:`` path (see ``zoo/README.md``).
``module:function`` any importable callable with the signature above.
==================  ===================================================================================
"""

from __future__ import annotations

import importlib
import logging
import math
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from tqdm import tqdm

from cringe_agent.textstats import unigram_f1

logger = logging.getLogger(__name__)

#: Inputs at least this long get a progress bar (on a terminal).
PROGRESS_MIN_TEXTS = 2000
#: Class names read as "negative" in a ParlAI classifier, in order of preference.
PARLAI_NEG_CLASSES = ("neg", "__notok__")
VALID_SPECS = ("profanity", "lexicon", "vader", "f1", "parlai:PATH", "parlai+context:PATH", "module:function")


class Classifier(Protocol):
    """P(negative) for each text; ``contexts`` and ``golds``, when given, align with ``texts``."""

    def __call__(
        self, texts: Sequence[str], *, contexts: Sequence[str] | None = None, golds: Sequence[str] | None = None
    ) -> list[float]: ...


def _batches(texts: Sequence[str], size: int, desc: str) -> Iterator[tuple[int, Sequence[str]]]:
    """Yield ``(start, chunk)`` pairs, with a tqdm bar for long inputs on a terminal."""
    disable = len(texts) < PROGRESS_MIN_TEXTS or not sys.stderr.isatty()
    with tqdm(total=len(texts), desc=desc, unit="text", disable=disable) as bar:
        for start in range(0, len(texts), size):
            chunk = texts[start : start + size]
            yield start, chunk
            bar.update(len(chunk))


def _check_aligned(name: str, texts: Sequence[str], other: Sequence[str] | None, what: str) -> None:
    if other is not None and len(other) != len(texts):
        raise ValueError(f"classifier {name!r}: got {len(texts)} texts but {len(other)} {what}")


class ClassifierError(ValueError):
    """A classifier failed or returned something other than one probability per text; the message names it."""


class _Checked:
    """Wrap a raw classifier: check the inputs align and every output is a probability."""

    def __init__(self, name: str, fn: Callable[..., Sequence[float]]) -> None:
        self.name = name
        self.fn = fn

    def __call__(
        self, texts: Sequence[str], *, contexts: Sequence[str] | None = None, golds: Sequence[str] | None = None
    ) -> list[float]:
        texts = list(texts)
        _check_aligned(self.name, texts, contexts, "contexts")
        _check_aligned(self.name, texts, golds, "golds")
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"classifier {self.name!r}: text {i} is {type(text).__name__}, not str")
        if not texts:
            return []
        try:
            probs = [float(p) for p in self.fn(texts, contexts=contexts, golds=golds)]
        except ClassifierError:
            raise
        except Exception as err:  # a user's classifier may fail in any way; name it, keep the cause
            raise ClassifierError(
                f"classifier {self.name!r} failed on {len(texts)} texts: {type(err).__name__}: {err}"
            ) from err
        if len(probs) != len(texts):
            raise ClassifierError(f"classifier {self.name!r} returned {len(probs)} scores for {len(texts)} texts")
        for i, p in enumerate(probs):
            if not (math.isfinite(p) and 0.0 <= p <= 1.0):
                raise ClassifierError(f"classifier {self.name!r} returned {p!r} for text {i}; expected P in [0, 1]")
        return probs

    def __repr__(self) -> str:
        return f"Classifier({self.name!r})"


def _profanity(texts: Sequence[str], **_: Any) -> list[float]:
    from profanity_check import predict_prob

    out: list[float] = []
    for _start, chunk in _batches(texts, 4096, "profanity"):
        out.extend(float(p) for p in predict_prob(list(chunk)))
    return out


class LexiconMatcher:
    """Whole-word match against better-profanity's word list (lower-cased; its leetspeak expansion is not used).

    A text is flagged when a whitespace token (stripped of surrounding punctuation), an alphanumeric piece of
    such a token (``shit's`` -> ``shit``, ``s``), or a run of consecutive tokens equals a listed entry.
    Matching is a set lookup, so scoring all chit-chat utterances takes about a second, where the package's own
    ``contains_profanity`` needs minutes.
    """

    _EDGE = ".,!?;:\"'()[]{}<>*`~“”‘’…"
    _PIECES = re.compile(r"[a-z0-9]+")

    def __init__(self, words: Sequence[str] | None = None) -> None:
        if words is None:
            from better_profanity.utils import get_complete_path_of_file, read_wordlist

            words = list(read_wordlist(get_complete_path_of_file("profanity_wordlist.txt")))
        entries = {w.strip().lower() for w in words if w.strip()}
        self.words = frozenset(w for w in entries if " " not in w)
        self.phrases = frozenset(w for w in entries if " " in w)
        self.max_phrase = max((len(p.split()) for p in self.phrases), default=1)

    def _tokens(self, text: str) -> list[str]:
        return [tok for tok in (raw.strip(self._EDGE) for raw in text.lower().split()) if tok]

    def match(self, text: str) -> str | None:
        """Return the first listed word or phrase found in ``text``, or ``None``."""
        tokens = self._tokens(text)
        for tok in tokens:
            if tok in self.words:
                return tok
            for piece in self._PIECES.findall(tok):
                if piece in self.words:
                    return piece
        for n in range(2, self.max_phrase + 1):
            for i in range(len(tokens) - n + 1):
                phrase = " ".join(tokens[i : i + n])
                if phrase in self.phrases:
                    return phrase
        return None

    def __call__(self, texts: Sequence[str], **_: Any) -> list[float]:
        return [0.0 if self.match(text) is None else 1.0 for text in texts]


def _vader(texts: Sequence[str], **_: Any) -> list[float]:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    return [max(0.0, -analyzer.polarity_scores(text)["compound"]) for text in texts]


def _f1(texts: Sequence[str], *, golds: Sequence[str] | None = None, **_: Any) -> list[float]:
    if golds is None:
        raise ValueError("classifier 'f1' needs golds: the reference reply of each text")
    return [1.0 if unigram_f1(text, gold) == 0.0 else 0.0 for text, gold in zip(texts, golds, strict=True)]


class ParlAIClassifier:
    """A ParlAI ``transformer/classifier`` (any ``TorchClassifierAgent``) model file, scored in batches.

    The model sees each text alone (as ParlAI's single-turn safety classifiers do), or with ``with_context`` the
    context and the text joined by a newline (as the teachers' ``context_reply`` classifier input); it is loaded
    lazily on the first call. ``print_scores`` makes the agent return the softmax of every class in ``probs``.
    """

    def __init__(self, model_file: str, batch_size: int = 64, with_context: bool = False) -> None:
        self.model_file = model_file
        self.batch_size = batch_size
        self.with_context = with_context
        self._agent: Any = None
        self._neg_index = -1

    def _load(self) -> None:
        from parlai.core.agents import create_agent_from_model_file

        from cringe_agent import compat  # noqa: F401  (ParlAI fixes first)

        agent = create_agent_from_model_file(
            self.model_file, {"print_scores": True, "interactive_mode": True, "batchsize": self.batch_size}
        )
        if agent is None:
            raise ValueError(f"no ParlAI model at {self.model_file!r} (its .opt file is missing)")
        classes = list(getattr(agent, "class_list", []))
        neg = next((c for c in PARLAI_NEG_CLASSES if c in classes), None)
        if neg is None:
            raise ValueError(
                f"ParlAI model {self.model_file!r} has classes {classes}; none of {list(PARLAI_NEG_CLASSES)} "
                "names the negative class"
            )
        self._neg_index = classes.index(neg)
        self._agent = agent
        self._clones = [agent.clone() for _ in range(self.batch_size)]

    def __call__(self, texts: Sequence[str], *, contexts: Sequence[str] | None = None, **_: Any) -> list[float]:
        if self.with_context:
            if contexts is None:
                raise ValueError(f"classifier parlai+context:{self.model_file} needs the context of each text")
            texts = [f"{c}\n{t}" if c else t for c, t in zip(contexts, texts, strict=True)]
        if self._agent is None:
            self._load()
        out: list[float] = []
        for _start, chunk in _batches(texts, self.batch_size, f"parlai:{self.model_file}"):
            clones = self._clones[: len(chunk)]
            observations = [c.observe({"text": t, "episode_done": True}) for c, t in zip(clones, chunk)]
            replies = self._agent.batch_act(observations)
            for clone, reply in zip(clones, replies):
                clone.self_observe(reply)
                if reply.get("probs") is None:
                    raise RuntimeError(f"ParlAI model {self.model_file!r} returned no class probabilities")
                out.append(float(reply["probs"][self._neg_index]))
        return out


def _import_callable(spec: str) -> Callable[..., Sequence[float]]:
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise ValueError(f"classifier spec {spec!r}: cannot import module {module_name!r}: {err}") from err
    fn = module
    for part in attr.split("."):
        fn = getattr(fn, part, None)
        if fn is None:
            raise ValueError(f"classifier spec {spec!r}: module {module_name!r} has no attribute {attr!r}")
    if not callable(fn):
        raise ValueError(f"classifier spec {spec!r}: {attr!r} is not callable")
    return fn


#: Entry-point group of ``zoo:`` path resolvers (``resolve(path) -> model file``); this distribution installs its
#: ``zoo.resolve`` there (setup.py), so the library never imports the zoo itself.
PATH_RESOLVERS = "cringe_agent.path_resolvers"


def installed_path_resolver() -> Callable[[str], str] | None:
    """The ``zoo:`` path resolver installed under the entry-point group :data:`PATH_RESOLVERS`, if any."""
    from importlib.metadata import entry_points

    found = sorted(entry_points(group=PATH_RESOLVERS), key=lambda ep: ep.name)
    return found[0].load() if found else None


def build_classifier(spec: str, resolve_path: Callable[[str], str] | None = None) -> Classifier:
    """Build a classifier from its spec (see the module docstring for the table of specs).

    Args:
        spec: The classifier spec.
        resolve_path: Turns the path of ``parlai:PATH`` into a model file (e.g. ``zoo.resolve`` for ``zoo:``
            paths). None: plain paths are used as they are and ``zoo:`` paths go to the installed resolver
            (:func:`installed_path_resolver`).

    Raises:
        ValueError: The spec is unknown (the message lists the valid ones) or names a missing module/function.
    """
    spec = spec.strip()
    if spec == "profanity":
        return _Checked(spec, _profanity)
    if spec == "lexicon":
        return _Checked(spec, LexiconMatcher())
    if spec == "vader":
        return _Checked(spec, _vader)
    if spec == "f1":
        return _Checked(spec, _f1)
    if spec.startswith(("parlai:", "parlai+context:")):
        prefix, _, path = spec.partition(":")
        if not path:
            raise ValueError(f"classifier spec '{prefix}:PATH' needs a model file path after '{prefix}:'")
        if resolve_path is None and path.startswith("zoo:"):
            resolve_path = installed_path_resolver()
            if resolve_path is None:
                raise ValueError(
                    f"classifier spec {spec!r}: no resolver of zoo: paths is installed ({PATH_RESOLVERS})"
                )
        model_file = resolve_path(path) if resolve_path else path
        if not os.path.isfile(f"{model_file}.opt"):
            raise ValueError(f"classifier spec {spec!r}: no ParlAI model at {model_file} (its .opt file is missing)")
        return _Checked(spec, ParlAIClassifier(model_file, with_context=prefix == "parlai+context"))
    module_name, sep, attr = spec.partition(":")
    if sep and module_name and attr:
        return _Checked(spec, _import_callable(spec))
    raise ValueError(f"unknown classifier spec {spec!r}; valid specs: {', '.join(VALID_SPECS)}")
