"""Human feedback from ``cringe-eval``: each annotated bot turn of the model-chat export, with its context.

``-t tasks.humaneval.agents --humaneval-export PATH`` reads ``cringe-eval export``'s ``model_chat/<task>.jsonl`` (or
every ``*.jsonl`` of a folder), ParlAI's model_chat saved-file layout. Each bot turn (``agent_idx`` 1) with
``problem_data`` yields one example: the context is the earlier turns of the conversation joined by ``\\n``, the
reply the bot turn; ``none_all_good`` is ``pos``, any of ``bad``, ``unsafe``, ``contradiction`` (or another problem
bucket) ``neg``. Turns with no bucket checked are skipped and counted. Every fold reads the same export.

Fields kept: ``feedback_type`` (the checked buckets, comma-joined), ``feedback_text``, ``final_rating``,
``worker_name``, ``model_nickname``, ``source`` (``humaneval``). Label convention: see :mod:`tasks`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import parlai.utils.logging as logging
from parlai.core.params import ParlaiParser
from parlai.core.teachers import DialogTeacher

from cringe_agent.labels import NEG, POS
from tasks.common.labels import SOURCE_FIELD, LabelledTeacherMixin, keeps, make_example
from tasks.common.readers import UnusableLabels, read_jsonl, require_field

GOOD = "none_all_good"


def export_files(path: str) -> list[str]:
    """The jsonl files of an export path (a file, or the ``*.jsonl`` of a folder, sorted)."""
    if os.path.isdir(path):
        files = sorted(os.path.join(path, f) for f in os.listdir(path) if f.endswith(".jsonl"))
        if not files:
            raise FileNotFoundError(f"--humaneval-export {path}: the folder holds no .jsonl file")
        return files
    if not os.path.isfile(path):
        raise FileNotFoundError(f"--humaneval-export {path}: no such file (run `cringe-eval export` first)")
    return [path]


class HumanEvalTeacher(LabelledTeacherMixin, DialogTeacher):
    """One example per annotated bot turn of a ``cringe-eval`` model-chat export."""

    @classmethod
    def add_cmdline_args(cls, parser: ParlaiParser, partial_opt: dict | None = None) -> ParlaiParser:
        super().add_cmdline_args(parser, partial_opt)
        parser.add_argument_group("cringe-eval feedback").add_argument(
            "--humaneval-export", type=str, default=None, help="model_chat jsonl of `cringe-eval export` (or folder)"
        )
        return parser

    def ensure_data(self, opt: dict) -> None:
        if not opt.get("humaneval_export"):
            raise ValueError("tasks.humaneval.agents needs --humaneval-export PATH (a cringe-eval model_chat export)")
        export_files(opt["humaneval_export"])

    def __init__(self, opt: dict, shared: dict | None = None) -> None:
        opt = dict(opt)
        opt["datafile"] = opt.get("humaneval_export")
        self.id = "humaneval"
        super().__init__(opt, shared)

    def setup_data(self, datafile: str) -> Iterator[tuple[dict, bool]]:
        for path in export_files(datafile):
            logging.info(f"loading: {path}")
            skipped = UnusableLabels(path)
            for line_no, chat in read_jsonl(path):
                for example in self._examples(chat, path, f"line {line_no}", skipped):
                    yield example, True
            skipped.report()

    def _examples(self, chat: dict, path: str, where: str, skipped: UnusableLabels) -> Iterator[dict]:
        dialog = require_field(chat, "dialog", list, path, where)
        model = (chat.get("task_description") or {}).get("model_nickname")
        workers = chat.get("workers") or [None]
        history: list[str] = []
        for i, turn in enumerate(dialog):
            at = f"{where}, dialog[{i}]"
            text = require_field(turn, "text", str, path, at)
            if turn.get("agent_idx") == 1:
                marks = [k for k, v in (turn.get("problem_data") or {}).items() if v]
                if not marks:
                    skipped.add(at, "no annotation")
                else:
                    polarity = POS if marks == [GOOD] else NEG
                    if keeps(self.opt, polarity):
                        yield make_example(
                            self.opt,
                            history,
                            text,
                            polarity,
                            feedback_type=",".join(marks),
                            feedback_text=str(turn.get("feedback_text") or ""),
                            final_rating=chat.get("final_rating"),
                            worker_name=workers[0],
                            model_nickname=model,
                            **{SOURCE_FIELD: "humaneval"},
                        )
            history.append(text)


class DefaultTeacher(HumanEvalTeacher):
    pass
