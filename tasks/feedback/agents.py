"""Open-domain feedback teacher (FITS): bot replies the human marked bad are ``neg``, good (perfect) ones ``pos``.

``tasks.feedback.agents:FitsTeacher`` (default) subclasses ParlAI's ``fits`` teacher (its download and the
``--fits-task-version v1|v2`` and ``--unseen-task`` flags) and yields one example per bot reply. The context is the
conversation so far as the bot would see it after the human's corrections: the earlier human messages and
**perfect** bot replies, then the human message the bot answers (as in ParlAI's ``FitsSatisfactionTeacher``). A reply
whose ``improve_bucket`` is ``perfect`` is ``pos`` (the last bot turn counts as perfect, as in ParlAI); any other
bucket (``better_search_query``, ``better_search_doc``, ``better_history``, ``better_others``) is ``neg``. Texts are
normalised with FITS's own ``normalize_reply``.

Fields kept for the loop: ``feedback_type`` (the bucket), ``feedback_text`` (the human's written feedback on this
reply, empty when none), ``human_reply`` (the human's next message), ``task_uid``, ``topic``, ``domain``.
Label convention: see :mod:`tasks` (``--cringe-label-mode generator|classifier``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import parlai.tasks.fits.agents as fits
import parlai.utils.logging as logging
from parlai.core.opt import Opt
from parlai.tasks.fits.constants import FeedbackType
from parlai.tasks.fits.mutators import normalize_reply

import cringe_agent.mutators  # noqa: F401  (registers the cringe_* mutators before ParlAI resolves them)
from cringe_agent.labels import NEG, POS
from tasks.common.labels import SOURCE_FIELD, LabelledTeacherMixin, keeps, make_example
from tasks.common.readers import UnusableLabels, read_jsonl, require_field
from tasks.feedback.build import data_file

HUMAN_IDS = ("YOU", "Speaker 1")  # parlai/tasks/fits/agents.py: any other id is the bot
PERFECT = FeedbackType.PERFECT.value
BUCKETS = {kind.value for kind in FeedbackType} - {FeedbackType.NONE.value}


class FitsTeacher(LabelledTeacherMixin, fits.FitsBaseTeacher):
    """FITS: one example per bot reply, ``pos`` when the human found it perfect, ``neg`` otherwise."""

    def ensure_data(self, opt: Opt) -> None:
        data_file(opt, opt["datatype"])

    def setup_data(self, data_path: str) -> Iterator[tuple[dict, bool]]:
        path = data_file(self.opt, self.datatype)
        logging.info(f"loading: {path}")
        skipped = UnusableLabels(path)
        for line_no, chat in read_jsonl(path):
            for example in self._chat_examples(chat, path, f"line {line_no}", skipped):
                yield example, True
        self.unusable_labels = skipped.report()

    def _chat_examples(self, chat: Any, path: str, where: str, skipped: UnusableLabels) -> Iterator[dict]:
        dialog = require_field(chat, "dialog", list, path, where)
        meta = {key: chat.get(source) for key, source in (("task_uid", "chat_task_uid"), ("topic", "topic"))}
        meta["domain"] = chat.get("domain")
        history: list[str] = []  # normalised human messages and perfect bot replies
        opening: str | None = None  # the human message that the current bot attempts answer
        bot_replies = 0
        for i, utterance in enumerate(dialog):
            at = f"{where}, dialog[{i}]"
            text = require_field(utterance, "text", str, path, at)
            if utterance.get("id") in HUMAN_IDS:
                opening = normalize_reply(text) if opening is None else opening
                continue
            bot_replies += 1
            bucket = PERFECT if i == len(dialog) - 1 else utterance.get("improve_bucket", PERFECT)
            if bucket not in BUCKETS:
                skipped.add(at, f"improve_bucket={bucket!r}")
                continue
            polarity = POS if bucket == PERFECT else NEG
            following = dialog[i + 1] if i + 1 < len(dialog) and isinstance(dialog[i + 1], dict) else {}
            reply = normalize_reply(text)
            if keeps(self.opt, polarity):
                yield make_example(
                    self.opt,
                    [*history, opening or ""],
                    reply,
                    polarity,
                    feedback_type=bucket,
                    feedback_text=str(following.get("feedback_text") or ""),
                    human_reply=str(following.get("text") or ""),
                    **meta,
                    **{SOURCE_FIELD: "fits"},
                )
            if bucket == PERFECT:
                history += [opening or "", reply]
                opening = None
        if not bot_replies:  # nothing to label: counted, never dropped silently
            skipped.add(where, "dialog holds no bot reply" if dialog else "empty dialog")


class DefaultTeacher(FitsTeacher):
    pass
