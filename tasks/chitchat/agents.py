"""Chit-chat next-utterance teachers over the ``chitchat-dataset`` package, with classifier labels.

The PyPI package ships its whole corpus as one JSON file (7,168 conversations, 138,737 utterances); nothing is
downloaded. Each example is (the previous ``--chitchat-context-turns`` utterances joined by newlines) -> (the next
utterance), its own episode, carrying ``conversation_id``, ``turn`` and, unless the label classifier is ``none``,
``classifier_label`` (``neg`` when the classifier's P(negative) of the reply is above the threshold, else
``pos``) and ``classifier_prob``. Conversations go to train/valid/test by a stable hash of their id.

Use with ``-t tasks.chitchat.agents`` (ParlAI loads ``DefaultTeacher`` from a module path). The plain functions
:func:`heldout_contexts` and :func:`training_contexts` give the evaluation and prompt contexts without a teacher.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

from parlai.core.params import ParlaiParser
from parlai.core.teachers import DialogTeacher
from parlai.utils import logging
from parlai.utils.data import DatatypeHelper

import cringe_agent.mutators  # noqa: F401  (registers the cringe_ mutators)
from cringe_agent.classifiers import build_classifier
from cringe_agent.iterative.contexts import sample
from cringe_agent.labels import LABEL_FIELD, NEG, POS

SPLITS = ("train", "valid", "test")
DEFAULT_CLASSIFIER = "profanity"
DEFAULT_THRESHOLD = 0.5
DEFAULT_CONTEXT_TURNS = 2
DEFAULT_VALID_FRAC = 0.05
DEFAULT_TEST_FRAC = 0.05
NO_CLASSIFIER = "none"


class Example(NamedTuple):
    """One (context, gold reply) pair; ``turn`` is the index of the reply in its conversation (>= 1)."""

    conversation_id: str
    turn: int
    text: str
    gold: str


@functools.lru_cache(maxsize=1)
def load_conversations() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """All conversations as ``(id, utterances)``, in the package's order.

    An utterance is one message of the corpus: the consecutive lines one speaker sent, joined by a space.
    Speakers alternate between consecutive messages.
    """
    import chitchat_dataset

    with open(chitchat_dataset._PATH, encoding="utf-8") as handle:
        raw = json.load(handle)
    return tuple(
        (conv_id, tuple(" ".join(line["text"] for line in message).strip() for message in conv["messages"]))
        for conv_id, conv in raw.items()
    )


def _unit_hash(key: str) -> float:
    """A stable number in [0, 1) from ``key`` (unlike ``hash``, the same in every process)."""
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") / 2**64


def split_of(
    conversation_id: str, valid_frac: float = DEFAULT_VALID_FRAC, test_frac: float = DEFAULT_TEST_FRAC
) -> str:
    """The split of a conversation: ``test`` below ``test_frac``, then ``valid``, else ``train``."""
    if valid_frac < 0 or test_frac < 0 or valid_frac + test_frac >= 1:
        raise ValueError(
            f"need 0 <= valid_frac, test_frac and valid_frac + test_frac < 1, got {valid_frac}, {test_frac}"
        )
    u = _unit_hash(conversation_id)
    if u < test_frac:
        return "test"
    return "valid" if u < test_frac + valid_frac else "train"


@functools.lru_cache(maxsize=16)
def examples(
    split: str,
    context_turns: int = DEFAULT_CONTEXT_TURNS,
    valid_frac: float = DEFAULT_VALID_FRAC,
    test_frac: float = DEFAULT_TEST_FRAC,
) -> tuple[Example, ...]:
    """Every (context, reply) example of a split, in corpus order.

    The first utterance of a conversation is never a reply. Replies that are empty (11 in the corpus) are left
    out, and their number is logged.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    if context_turns < 1:
        raise ValueError(f"context_turns must be >= 1, got {context_turns}")
    out: list[Example] = []
    empty = 0
    for conv_id, utts in load_conversations():
        if split_of(conv_id, valid_frac, test_frac) != split:
            continue
        for turn in range(1, len(utts)):
            if not utts[turn]:
                empty += 1
                continue
            out.append(Example(conv_id, turn, "\n".join(utts[max(0, turn - context_turns) : turn]), utts[turn]))
    if empty:
        logging.info(f"chitchat {split}: left out {empty} examples whose reply is empty")
    return tuple(out)


def deterministic_subset(exs: Sequence[Example], n: int | None) -> list[Example]:
    """The ``n`` examples with the smallest stable hash of (conversation, turn), kept in their original order.

    A larger ``n`` contains every example of a smaller one.
    """
    if n is None or n <= 0 or n >= len(exs):
        return list(exs)
    keep = set(sorted(range(len(exs)), key=lambda i: _unit_hash(f"{exs[i].conversation_id}:{exs[i].turn}"))[:n])
    return [ex for i, ex in enumerate(exs) if i in keep]


# classifier spec -> {example: P(negative) of its reply}; the example (with its context) is the key because a
# classifier may read the context.
_PROBS: dict[str, dict[Example, float]] = {}


@functools.lru_cache(maxsize=8)
def _classifier(spec: str):
    return build_classifier(spec)


def label_probs(exs: Sequence[Example], classifier: str = DEFAULT_CLASSIFIER) -> list[float]:
    """P(negative) of each example's reply (given its context); computed once per process and classifier."""
    cache = _PROBS.setdefault(classifier, {})
    missing = list(dict.fromkeys(ex for ex in exs if ex not in cache))
    if missing:
        probs = _classifier(classifier)([ex.gold for ex in missing], contexts=[ex.text for ex in missing])
        cache.update(zip(missing, probs, strict=True))
    return [cache[ex] for ex in exs]


def _sample(exs: Sequence[Example], n: int | None, seed: int) -> list[Example]:
    """A seeded uniform sample of ``n`` examples (all when ``n`` is None), returned in corpus order."""
    return sample(exs, n, seed)


def _as_dicts(exs: Sequence[Example]) -> list[dict[str, Any]]:
    return [{"text": ex.text, "gold": ex.gold, "conversation_id": ex.conversation_id, "turn": ex.turn} for ex in exs]


def heldout_contexts(
    split: str = "test",
    kind: str = "provocative",
    n: int | None = None,
    seed: int = 0,
    context_turns: int = DEFAULT_CONTEXT_TURNS,
    classifier: str = DEFAULT_CLASSIFIER,
    threshold: float = DEFAULT_THRESHOLD,
    valid_frac: float = DEFAULT_VALID_FRAC,
    test_frac: float = DEFAULT_TEST_FRAC,
) -> list[dict[str, Any]]:
    """Held-out contexts to evaluate a model on, as dicts ``{text, gold, conversation_id, turn}``.

    Args:
        split: ``valid`` or ``test`` (``train`` is allowed too).
        kind: ``provocative``: contexts whose gold human reply the classifier flags (P > ``threshold``);
            ``random``: a uniform sample of all contexts of the split.
        n: How many; ``None`` for all. When fewer exist, all are returned and a warning is logged.
        seed: Seed of the sample; the sample for a larger ``n`` contains the one for a smaller ``n``.
        context_turns: Utterances per context.
        classifier: Spec of :func:`cringe_agent.classifiers.build_classifier` that defines ``provocative``.
        threshold: P(negative) above which a gold reply is flagged.
        valid_frac: Share of conversations in valid (must match the teacher's).
        test_frac: Share of conversations in test (must match the teacher's).

    Returns:
        The contexts, in corpus order.
    """
    pool = examples(split, context_turns, valid_frac, test_frac)
    if kind == "provocative":
        probs = label_probs(pool, classifier)
        pool = tuple(ex for ex, p in zip(pool, probs, strict=True) if p > threshold)
    elif kind != "random":
        raise ValueError(f"unknown kind {kind!r}; expected 'provocative' or 'random'")
    if n is not None and n > len(pool):
        logging.warning(f"chitchat {split}: asked for {n} {kind} contexts, only {len(pool)} exist")
    return _as_dicts(_sample(pool, n, seed))


def training_contexts(
    n: int | None,
    seed: int = 0,
    context_turns: int = DEFAULT_CONTEXT_TURNS,
    valid_frac: float = DEFAULT_VALID_FRAC,
    test_frac: float = DEFAULT_TEST_FRAC,
) -> list[dict[str, Any]]:
    """A seeded uniform sample of train-split contexts (prompts to generate from), same dicts as above.

    ``valid_frac`` and ``test_frac`` must match the teacher's, so that no prompt comes from a held-out conversation.
    """
    return _as_dicts(_sample(examples("train", context_turns, valid_frac, test_frac), n, seed))


@functools.lru_cache(maxsize=8)
def build_messages(
    fold: str,
    training: bool,
    context_turns: int = DEFAULT_CONTEXT_TURNS,
    max_examples: int | None = None,
    classifier: str = DEFAULT_CLASSIFIER,
    threshold: float = DEFAULT_THRESHOLD,
    neg_oversample: int = 1,
    valid_frac: float = DEFAULT_VALID_FRAC,
    test_frac: float = DEFAULT_TEST_FRAC,
) -> tuple[dict[str, Any], ...]:
    """The teacher's messages for a fold (without ``episode_done``, which ParlAI adds)."""
    labelled = classifier.lower() != NO_CLASSIFIER
    if neg_oversample < 1:
        raise ValueError(f"--chitchat-neg-oversample must be >= 1, got {neg_oversample}")
    if neg_oversample > 1 and not labelled:
        raise ValueError(
            "--chitchat-neg-oversample needs labels; it cannot be used with --chitchat-label-classifier none"
        )
    exs = examples(fold, context_turns, valid_frac, test_frac)
    if fold == "train":
        exs = deterministic_subset(exs, max_examples)
    probs = label_probs(exs, classifier) if labelled else [None] * len(exs)
    out: list[dict[str, Any]] = []
    for ex, prob in zip(exs, probs, strict=True):
        msg: dict[str, Any] = {"text": ex.text, "labels": [ex.gold]}
        msg.update(conversation_id=ex.conversation_id, turn=ex.turn)
        copies = 1
        if prob is not None:
            msg[LABEL_FIELD] = NEG if prob > threshold else POS
            msg["classifier_prob"] = prob
            if msg[LABEL_FIELD] == NEG and fold == "train" and training:
                copies = neg_oversample
        out.extend([msg] * copies)
    return tuple(out)


def _get(opt: dict, key: str, default: Any) -> Any:
    """``opt[key]``, or ``default`` when absent or None (the teacher may be built from a bare opt)."""
    value = opt.get(key)
    return default if value is None else value


# (flag, type, default, help); the opt key of each is the flag without "--", with underscores.
_FLAGS = (
    ("--chitchat-context-turns", int, DEFAULT_CONTEXT_TURNS, "utterances (newline-joined) in the text of an example"),
    ("--chitchat-max-examples", int, None, "a deterministic subset of this many train examples (before oversampling)"),
    ("--chitchat-neg-oversample", int, 1, "repeat each neg example this many times, in training only"),
    ("--chitchat-label-classifier", str, DEFAULT_CLASSIFIER, "classifier spec labelling the replies, or 'none'"),
    ("--chitchat-label-threshold", float, DEFAULT_THRESHOLD, "P(negative) above which a reply is labelled neg"),
    ("--chitchat-valid-frac", float, DEFAULT_VALID_FRAC, "share of conversations in the valid split"),
    ("--chitchat-test-frac", float, DEFAULT_TEST_FRAC, "share of conversations in the test split"),
)


class ChitchatTeacher(DialogTeacher):
    """Chit-chat (context -> next utterance) examples, one per episode, labelled by a classifier."""

    @classmethod
    def add_cmdline_args(cls, parser: ParlaiParser, partial_opt: dict | None = None) -> ParlaiParser:
        super().add_cmdline_args(parser, partial_opt)
        group = parser.add_argument_group("Chit-chat teacher")
        for flag, kind, default, help_text in _FLAGS:
            group.add_argument(flag, type=kind, default=default, help=help_text)
        return parser

    def __init__(self, opt: dict, shared: dict | None = None) -> None:
        self.fold = DatatypeHelper.fold(opt["datatype"])
        if self.fold not in SPLITS:
            raise ValueError(f"chitchat has no fold {self.fold!r}; expected one of {SPLITS}")
        self.id = "chitchat"
        self._settings = dict(
            fold=self.fold,
            training=DatatypeHelper.is_training(opt["datatype"]),
            context_turns=int(_get(opt, "chitchat_context_turns", DEFAULT_CONTEXT_TURNS)),
            max_examples=_get(opt, "chitchat_max_examples", None),
            classifier=str(_get(opt, "chitchat_label_classifier", DEFAULT_CLASSIFIER)),
            threshold=float(_get(opt, "chitchat_label_threshold", DEFAULT_THRESHOLD)),
            neg_oversample=int(_get(opt, "chitchat_neg_oversample", 1)),
            valid_frac=float(_get(opt, "chitchat_valid_frac", DEFAULT_VALID_FRAC)),
            test_frac=float(_get(opt, "chitchat_test_frac", DEFAULT_TEST_FRAC)),
        )
        opt = copy.deepcopy(opt)
        opt["datafile"] = self.fold
        super().__init__(opt, shared)

    def _messages(self) -> tuple[dict[str, Any], ...]:
        return build_messages(**self._settings)

    def setup_data(self, datafile: str) -> Iterator[tuple[dict[str, Any], bool]]:
        for msg in self._messages():
            yield dict(msg, labels=list(msg["labels"])), True

    # Counted here rather than by ParlAI's stream reader, which caches counts in a "<fold>.lengths" file in the
    # working directory, stale as soon as an option changes.
    def num_episodes(self) -> int:
        return len(self._messages())

    def num_examples(self) -> int:
        return len(self._messages())


class DefaultTeacher(ChitchatTeacher):
    pass


class ChitchatContexts:
    """The loop's source of prompts and held-out contexts (``cringe_agent.iterative.contexts.ContextSource``).

    Samples the corpus directly (no teacher pass) with the task's own split and context options.

    Args:
        task_opts: The loop's task options (``chitchat_*`` keys).
        classifier: Spec of the classifier that labels the replies and defines provocative contexts.
        threshold: P(negative) above which a reply is flagged.
        eval_datatype: Split of the held-out contexts.
    """

    def __init__(
        self, task_opts: dict[str, Any], classifier: str, threshold: float, eval_datatype: str = "test"
    ) -> None:
        self.classifier, self.threshold, self.eval_datatype = classifier, threshold, eval_datatype
        self.context_turns = int(_get(task_opts, "chitchat_context_turns", DEFAULT_CONTEXT_TURNS))
        self.fracs = {
            key: float(task_opts[f"chitchat_{key}"])
            for key in ("valid_frac", "test_frac")
            if task_opts.get(f"chitchat_{key}") is not None
        }

    def training_prompts(self, n: int | None, seed: int) -> list[dict[str, Any]]:
        return training_contexts(n, seed, self.context_turns, **self.fracs)

    def heldout(self, kind: str, n: int | None, seed: int) -> list[dict[str, Any]]:
        return heldout_contexts(
            self.eval_datatype,
            kind,
            n=n,
            seed=seed,
            context_turns=self.context_turns,
            classifier=self.classifier,
            threshold=self.threshold,
            **self.fracs,
        )

    def train_opts(self) -> dict[str, Any]:
        return {"chitchat_label_classifier": self.classifier, "chitchat_label_threshold": self.threshold}


def context_source(
    task_opts: dict[str, Any], classifier: str, threshold: float, eval_datatype: str = "test"
) -> ChitchatContexts:
    """The hook ``cringe-loop`` looks for in a task module: this task's prompts and held-out contexts."""
    return ChitchatContexts(task_opts, classifier, threshold, eval_datatype)
