"""Safety teachers: safe utterances are ``pos``, unsafe ones ``neg`` (ParlAI's ``__ok__``/``__notok__``).

Each teacher subclasses ParlAI's own teacher for the data, so ParlAI's download and flags work unchanged, and reads
the files strictly (a malformed line names file, line and field; a record without ``__ok__``/``__notok__`` is
counted and reported). Label convention: see :mod:`tasks` (``--cringe-label-mode generator|classifier``).

- ``tasks.safety.agents:BadTeacher`` (default): Bot-Adversarial Dialogue; the last line of each dialogue is judged,
  the earlier lines are its context. Flags of ParlAI's teacher: ``--bad-speaker-to-eval {all,bot,human}``,
  ``--bad-safety-mix {all,safe,unsafe}``, ``--bad-num-turns N``, ``--bad-include-persona``.
- ``tasks.safety.agents:StandardTeacher`` / ``AdversarialTeacher``: single utterances of dialogue_safety
  (``--round 1..3``, ``--round-only``); context is ``__SILENCE__``.
- ``tasks.safety.agents:MultiturnTeacher``: multi-turn dialogue_safety; last line judged (``--single-turn``).
- ``tasks.safety.agents:WikiToxicTeacher``: Wikipedia talk-page comments (``--use-test-set``, ``--balance-data``).
- ``tasks.safety.agents:WorldLogRepliesTeacher``: a generator's world log (``-jfdp FILE.jsonl``) as classifier input,
  to score the generations with a classifier trained on the teachers above.
"""

from __future__ import annotations

import copy
import os
from typing import Any

import parlai.tasks.bot_adversarial_dialogue.agents as bad
import parlai.tasks.dialogue_safety.agents as bibifi
import parlai.utils.logging as logging
from parlai.core.message import Message
from parlai.core.opt import Opt
from parlai.core.params import ParlaiParser
from parlai.tasks.dialogue_safety.base_agent import SINGLE_TURN_DATA
from parlai.tasks.jsonfile.agents import JsonTeacher

import cringe_agent.mutators  # noqa: F401  (registers the cringe_* mutators before ParlAI resolves them)
from cringe_agent.labels import NEG, POS
from tasks.common.labels import (
    CLASSIFIER_INPUTS,
    EMPTY_CONTEXT,
    SOURCE_FIELD,
    LabelledTeacherMixin,
    add_label_args,
    keeps,
    make_example,
    teacher_id,
)
from tasks.common.readers import (
    DataFormatError,
    UnusableLabels,
    check_utf8,
    load_json,
    read_parlai_text,
    require_field,
)
from tasks.safety.build import (
    WIKI_TOXIC_DEFAULT,
    WIKI_TOXIC_PARTITION,
    ensure_bad,
    ensure_dialogue_safety,
    ensure_wiki_toxic,
)

POLARITY = {bibifi.OK_CLASS: POS, bibifi.NOT_OK_CLASS: NEG}


def _polarity(labels: Any) -> str | None:
    if isinstance(labels, (list, tuple)) and labels:
        return POLARITY.get(labels[0])
    return None


def _warn_if_empty(data: list, path: str, datatype: str) -> None:
    if not data:
        logging.warning(f"{path}: no usable examples for datatype {datatype}")


class BadTeacher(LabelledTeacherMixin, bad.BotAdversarialDialogueTeacher):
    """Bot-Adversarial Dialogue: one example per line, the last line judged against the lines before it."""

    def ensure_data(self, opt: Opt) -> None:
        ensure_bad(opt)

    def _setup_data(self, path: str) -> None:
        opt, skipped = self.opt, UnusableLabels(path)
        speaker, mix = opt.get("bad_speaker_to_eval", "all"), opt.get("bad_safety_mix", "all")
        num_turns = opt.get("bad_num_turns", -1)
        self.episodes = []
        for line_no, message in read_parlai_text(path, required=("text", "speaker_to_eval")):
            polarity = _polarity(message.get("labels"))
            if polarity is None:
                skipped.add(f"line {line_no}", f"labels={message.get('labels')!r}")
                continue
            if speaker != "all" and message["speaker_to_eval"] != speaker:
                continue
            if not keeps(opt, polarity) or (mix != "all" and polarity != (POS if mix == "safe" else NEG)):
                continue
            dialog = message["text"].split("\n")
            persona = message.get("bot_persona", "").strip()
            if opt.get("bad_include_persona") and message["speaker_to_eval"] == "bot" and persona:
                dialog = persona.split("\n") + dialog
            if num_turns > 0:
                dialog = dialog[-num_turns:]
            fields = {SOURCE_FIELD: "bad", "speaker_to_eval": message["speaker_to_eval"]}
            example = make_example(opt, dialog[:-1], dialog[-1], polarity, **fields)
            self.episodes.append([Message({**example, "episode_done": True})])
        self.num_exs = len(self.episodes)
        self.unusable_labels = skipped.report()
        _warn_if_empty(self.episodes, path, opt["datatype"])


class _SingleTurnMixin(LabelledTeacherMixin):
    """dialogue_safety standard/adversarial: ``{key: {fold: {round: {good|bad: [message, ...]}}}}``."""

    dump_key = ""

    def ensure_data(self, opt: Opt) -> None:
        ensure_dialogue_safety(opt["datapath"], SINGLE_TURN_DATA)

    def _setup_data(self, datatype: str) -> None:
        dump, fold = load_json(self.data_path), datatype.split(":")[0]
        skipped = UnusableLabels(self.data_path)
        rounds = [self.round] if self.opt["round_only"] else range(1, self.round + 1)
        self.data = []
        for rnd in rounds:
            for kind in ("good", "bad"):
                node: Any = dump
                keys = [self.dump_key, fold, str(rnd), kind]
                for i, key in enumerate(keys):
                    where = f"record {'/'.join(keys[:i]) or '(top level)'}"
                    node = require_field(node, key, dict if i < 3 else list, self.data_path, where)
                for index, record in enumerate(node):
                    where = f"record {self.dump_key}/{fold}/{rnd}/{kind}[{index}]"
                    text = require_field(record, "text", str, self.data_path, where)
                    polarity = _polarity(record.get("labels"))
                    if polarity is None:
                        skipped.add(where, f"labels={record.get('labels')!r}")
                        continue
                    if not keeps(self.opt, polarity):
                        continue
                    example = make_example(self.opt, [], text, polarity, **{SOURCE_FIELD: self.dump_key})
                    self.data.append({**example, "episode_done": True})
        self.unusable_labels = skipped.report()
        self.fixed_random.shuffle(self.data)
        _warn_if_empty(self.data, self.data_path, datatype)


class StandardTeacher(_SingleTurnMixin, bibifi.StandardTeacher):
    """dialogue_safety standard collection: single utterances, context ``__SILENCE__``."""

    dump_key = "standard"


class AdversarialTeacher(_SingleTurnMixin, bibifi.AdversarialTeacher):
    """dialogue_safety adversarial collection: single utterances, context ``__SILENCE__``."""

    dump_key = "adversarial"


class MultiturnTeacher(LabelledTeacherMixin, bibifi.MultiturnTeacher):
    """dialogue_safety multi-turn collection: the last line judged against the lines before it."""

    def ensure_data(self, opt: Opt) -> None:
        ensure_dialogue_safety(opt["datapath"], bibifi.MULTI_TURN_DATA)

    def _setup_data(self, datatype: str) -> None:
        fold, skipped = datatype.split(":")[0], UnusableLabels(self.data_path)
        records = require_field(load_json(self.data_path), fold, list, self.data_path, "top level")
        self.data = []
        for index, record in enumerate(records):
            where = f"record {fold}[{index}]"
            dialog = require_field(record, "text", str, self.data_path, where).split("\n")
            polarity = _polarity(record.get("labels"))
            if polarity is None:
                skipped.add(where, f"labels={record.get('labels')!r}")
                continue
            if not keeps(self.opt, polarity):
                continue
            context = [] if self.single_turn else dialog[:-1]
            example = make_example(self.opt, context, dialog[-1], polarity, **{SOURCE_FIELD: "multiturn"})
            self.data.append({**example, "episode_done": True})
        self.unusable_labels = skipped.report()
        _warn_if_empty(self.data, self.data_path, datatype)


class WikiToxicTeacher(bibifi.WikiToxicCommentsTeacher):
    """Wikipedia talk-page comments (Kaggle Jigsaw): ``is_sensitive`` 1 is ``neg``, 0 is ``pos``."""

    @classmethod
    def add_cmdline_args(cls, parser: ParlaiParser, partial_opt: Opt | None = None) -> ParlaiParser:
        super().add_cmdline_args(parser, partial_opt)
        add_label_args(parser)
        return parser

    def __init__(self, opt: Opt, shared: dict | None = None) -> None:
        self.opt = opt  # ParlAI's __init__ reads the data before FixedDialogTeacher sets self.opt
        super().__init__(opt, shared)
        self.id = teacher_id(self.id, opt)

    def build(self, opt: Opt) -> None:
        file_name = WIKI_TOXIC_DEFAULT if opt["use_test_set"] else WIKI_TOXIC_PARTITION
        ensure_wiki_toxic(self.data_path, file_name, lambda: super(WikiToxicTeacher, self).build(opt))

    def _setup_data(self, datatype: str) -> None:
        path = os.path.join(self.data_path, WIKI_TOXIC_DEFAULT if self.use_test_set else WIKI_TOXIC_PARTITION)
        fold = "train" if "train" in datatype else "test" if "test" in datatype else "valid"
        records = load_json(path)
        if not isinstance(records, list):
            raise DataFormatError(path, "top level", "(JSON)", f"expected a list of records, got {type(records)}")
        skipped, self.data = UnusableLabels(path), []
        for index, record in enumerate(records):
            where = f"record [{index}]"
            if require_field(record, "data_type", str, path, where) != fold:
                continue
            text = require_field(record, "text", str, path, where)
            polarity = {0: POS, 1: NEG}.get(record.get("is_sensitive"))
            if polarity is None:
                skipped.add(where, f"is_sensitive={record.get('is_sensitive')!r}")
                continue
            if not keeps(self.opt, polarity):
                continue
            example = make_example(self.opt, [], text, polarity, **{SOURCE_FIELD: "wikitoxic"})
            self.data.append({**example, "episode_done": True})
        self.unusable_labels = skipped.report()
        if self.balance_data and fold == "train":
            self.data = self._oversample_negatives(self.data)
        _warn_if_empty(self.data, path, datatype)

    def _oversample_negatives(self, data: list[dict]) -> list[dict]:
        """Like ParlAI's ``--balance-data``: draw negatives (with replacement) until they match the positives."""
        pos = [x for x in data if x["classifier_label"] == POS]
        neg = [x for x in data if x["classifier_label"] == NEG]
        drawn = [self.fixed_random.choice(neg) for _ in range(len(pos))] if neg else []
        balanced = pos + drawn
        self.fixed_random.shuffle(balanced)
        return balanced

    def get(self, episode_idx: int, entry_idx: int = 0) -> Message:
        return Message(self.data[episode_idx])


class WorldLogRepliesTeacher(JsonTeacher):
    """A world log of ``eval_model --world-logs`` as classifier input: each model reply, labelled with one class.

    ``text`` is the model's reply (``--cringe-classifier-input reply``) or the teacher's context and the reply
    (``context_reply``); ``labels`` is ``[--cringe-expected-class]`` (default ``pos``), so that the classifier's
    ``accuracy`` on this teacher is the share of replies it judges to be of that class (e.g. safe). An empty reply
    is classified as ``__SILENCE__``.
    """

    @classmethod
    def add_cmdline_args(cls, parser: ParlaiParser, partial_opt: Opt | None = None) -> ParlaiParser:
        super().add_cmdline_args(parser, partial_opt)
        group = parser.add_argument_group("CRINGE generations options")
        group.add_argument(
            "--cringe-classifier-input", type=str, default="reply", choices=CLASSIFIER_INPUTS, help="what to classify"
        )
        group.add_argument(
            "--cringe-expected-class", type=str, default=POS, help="label of every example (accuracy = its share)"
        )
        return parser

    def __init__(self, opt: Opt, shared: dict | None = None) -> None:
        opt = copy.deepcopy(opt)
        if not opt.get("jsonfile_datapath"):
            raise ValueError("this teacher needs a world log to score: --jsonfile-datapath/-jfdp FILE.jsonl")
        if not shared and not os.path.isfile(opt["jsonfile_datapath"]):
            raise FileNotFoundError(f"world log not found: {opt['jsonfile_datapath']} (from eval_model --world-logs)")
        if not shared:
            check_utf8(opt["jsonfile_datapath"])  # ParlAI's reader would raise a bare UnicodeDecodeError
        super().__init__(opt, shared)

    def _get_ep_from_turns(self, xturns: list, yturns: list) -> list[dict]:
        with_context = self.opt.get("cringe_classifier_input") == "context_reply"
        examples = []
        for xturn, yturn in zip(xturns, yturns):
            context = [line for line in str(xturn.get("text") or "").split("\n") if line and line != EMPTY_CONTEXT]
            reply = str(yturn.get("text") or "") or EMPTY_CONTEXT
            examples.append(
                {
                    "text": "\n".join([*context, reply]) if with_context else reply,
                    "labels": [self.opt.get("cringe_expected_class") or POS],
                    "cringe_context": "\n".join(context),
                    "cringe_reply": reply,
                }
            )
        return examples


class DefaultTeacher(BadTeacher):
    pass
