"""Contradiction teacher: DECODE's last utterance of each dialogue, ``neg`` when it contradicts the earlier turns.

``tasks.contradiction.agents:DecodeTeacher`` (default) subclasses ParlAI's ``decode`` teacher (its download and
``--test_type vanilla|human-bot|a2t|rct`` flag) and yields one example per dialogue: the context is every turn but
the last, the judged utterance is the last turn, ``classifier_label`` is ``neg`` when ``is_contradiction`` is true
and ``pos`` when it is false. Label convention: see :mod:`tasks` (``--cringe-label-mode generator|classifier``); a
contradiction classifier should see the context (``--cringe-classifier-input context_reply``).

``tasks.contradiction.agents:WorldLogRepliesTeacher`` scores a generator's world log with such a classifier.
"""

from __future__ import annotations

from collections.abc import Iterator

import parlai.tasks.decode.agents as decode
import parlai.utils.logging as logging
from parlai.core.opt import Opt

import cringe_agent.mutators  # noqa: F401  (registers the cringe_* mutators before ParlAI resolves them)
from cringe_agent.labels import NEG, POS
from tasks.common.labels import SOURCE_FIELD, LabelledTeacherMixin, keeps, make_example
from tasks.common.readers import DataFormatError, UnusableLabels, read_jsonl, require_field
from tasks.contradiction.build import data_file
from tasks.safety.agents import WorldLogRepliesTeacher  # noqa: F401  (re-exported: -t tasks.contradiction.agents:...)


class DecodeTeacher(LabelledTeacherMixin, decode.DecodeTeacher):
    """DECODE: (turns[:-1] -> turns[-1]), ``neg`` for a contradicting last turn, ``pos`` for a consistent one."""

    def ensure_data(self, opt: Opt) -> None:
        data_file(opt)

    def setup_data(self, path: str) -> Iterator[tuple[dict, bool]]:
        logging.info(f"loading: {path}")
        skipped = UnusableLabels(path)
        for line_no, record in read_jsonl(path):
            where = f"line {line_no}"
            turns = require_field(record, "turns", list, path, where)
            if not turns:
                raise DataFormatError(path, where, "turns", "empty dialogue")
            texts = [require_field(turn, "text", str, path, f"{where}, turns[{i}]") for i, turn in enumerate(turns)]
            contradiction = record.get("is_contradiction")
            if not isinstance(contradiction, bool):
                skipped.add(where, f"is_contradiction={contradiction!r}")
                continue
            if not keeps(self.opt, NEG if contradiction else POS):
                continue
            fields = {
                SOURCE_FIELD: "decode",
                "record_id": str(record.get("record_id", "")),
                "contradiction_indices": list(record.get("aggregated_contradiction_indices") or []),
            }
            yield make_example(self.opt, texts[:-1], texts[-1], NEG if contradiction else POS, **fields), True
        self.unusable_labels = skipped.report()


class DefaultTeacher(DecodeTeacher):
    pass
