"""ParlAI-format exports: model-chat conversations (saved-file layout), ACUTE answer rows and pairings, unit records.

Only completed conversations and units' answers are exported; the identifiers are those of ``humaneval_formats.md``
§4 (``hit_ids`` holds the task_run_id, ``workers`` the study-link participant id).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cringe_agent.humaneval.db import Conversation, Pair, PairAnswer, Task, Unit
from cringe_agent.humaneval.presets import BOT_ID, HUMAN_ID
from cringe_agent.jsonl import write_json_atomic, write_jsonl_atomic

ANSWER_FIELDS = [
    "worker", "worker_name", "unit_id", "assignment_id", "task_name", "task_run_id", "task_start", "time_taken",
    "question", "correct", "winner", "loser", "eval_choice_0", "eval_choice_1", "reason", "is_onboarding", "matchup",
    "pairing_id", "subtask_idx", "speaker_choice",
]  # fmt: skip


def _epoch(value: Any) -> float | None:
    import datetime as dt

    return value.replace(tzinfo=dt.UTC).timestamp() if value is not None else None


def conversation_record(conversation: Conversation) -> dict[str, Any]:
    """One conversation in ParlAI's model_chat saved-file layout (worlds.py), plus the unit's identifiers."""
    task, unit = conversation.task, conversation.unit
    config = task.config
    dialog = []
    bot_turns = [t for t in conversation.turns if t.agent_idx == 1]
    for turn in conversation.turns:
        entry: dict[str, Any] = {
            "agent_idx": turn.agent_idx,
            "text": turn.text,
            "id": BOT_ID if turn.agent_idx else HUMAN_ID,
        }
        if turn.agent_idx == 1:
            entry["problem_data"] = turn.problem_data
            entry["feedback_text"] = turn.feedback or ""
            if bot_turns and turn is bot_turns[-1] and conversation.final_rating is not None:
                entry["final_rating"] = str(conversation.final_rating)
        dialog.append(entry)
    return {
        "dialog": dialog,
        "workers": [unit.worker.worker_name],
        "bad_workers": [],
        "acceptability_violations": [None],
        "hit_ids": [task.task_run_id],
        "assignment_ids": [unit.assignment_id],
        "task_description": {
            "annotations_config": json.dumps(config["annotations_config"]),
            "model_nickname": config["model_nickname"],
            "model_file": config["model_file"],
            "model_opt": config.get("overrides") or {},
        },
        "personas": None,
        "context_dataset": None,
        "person1_seed_utterance": None,
        "person2_seed_utterance": None,
        "additional_context": None,
        "final_rating": conversation.final_rating,
        "task_name": task.task_name,
        "task_run_id": task.task_run_id,
        "unit_id": unit.unit_id,
        "agent_id": unit.agent_id,
        "worker_name": unit.worker.worker_name,
        "status": conversation.status,
        "task_start": _epoch(unit.task_start),
        "task_end": _epoch(unit.task_end),
    }


def conversations(db: Session, task: Task | None = None) -> list[dict[str, Any]]:
    """The completed conversations (of one task, or all), oldest first."""
    query = select(Conversation).where(Conversation.status == "completed").order_by(Conversation.id)
    if task is not None:
        query = query.where(Conversation.task_id == task.id)
    return [conversation_record(c) for c in db.scalars(query)]


def answer_rows(db: Session, task: Task | None = None) -> list[dict[str, Any]]:
    """One ACUTE analysis row per answer (analysis.py's fields), in answer order."""
    query = select(PairAnswer).join(Pair).order_by(PairAnswer.id)
    if task is not None:
        query = query.where(Pair.task_id == task.id)
    rows = []
    for a in db.scalars(query):
        pair, unit = a.pair, a.unit
        names = sorted(pair.pairing["speakers_to_eval"])
        loser = next(n for n in names if n != a.speaker_choice)
        rows.append(
            {
                "worker": a.worker_id,
                "worker_name": a.worker.worker_name,
                "unit_id": unit.unit_id,
                "assignment_id": unit.assignment_id,
                "task_name": pair.task.task_name,
                "task_run_id": pair.task.task_run_id,
                "task_start": _epoch(unit.task_start),
                "time_taken": round((a.created_at - unit.task_start).total_seconds(), 3),
                "question": pair.task.config["question"],
                "correct": int(a.speaker_choice == pair.correct_answer) if pair.is_onboarding else -1,
                "winner": a.speaker_choice,
                "loser": loser,
                "eval_choice_0": names[0],
                "eval_choice_1": names[1],
                "reason": a.text_reason,
                "is_onboarding": pair.is_onboarding,
                "matchup": f"{names[0]}__vs__{names[1]}",
                "pairing_id": pair.pair_id,
                "subtask_idx": a.subtask_idx,
                "speaker_choice": a.speaker_choice,
            }
        )
    return rows


def answers_csv(rows: list[dict[str, Any]]) -> str:
    """The answer rows as CSV text."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=ANSWER_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def pairings(task: Task) -> list[dict[str, Any]]:
    """The task's pairings jsonl rows, line ``pair_id``."""
    return [p.pairing for p in task.pairs]


def unit_records(db: Session) -> list[dict[str, Any]]:
    """Mephisto-style unit records (worker_id, worker_name, unit_id, assignment_id, status, task_start, ...)."""
    return [
        {
            "worker_id": u.worker_id,
            "worker_name": u.worker.worker_name,
            "task_name": u.task.task_name,
            "task_run_id": u.task.task_run_id,
            "unit_id": u.unit_id,
            "assignment_id": u.assignment_id,
            "agent_id": u.agent_id,
            "status": u.status,
            "task_start": _epoch(u.task_start),
            "task_end": _epoch(u.task_end),
        }
        for u in db.scalars(select(Unit).order_by(Unit.id))
    ]


def export_all(db: Session, out: str | Path) -> dict[str, int]:
    """Write every task's exports under ``out``; return the counts written.

    Layout: ``model_chat/<task>.jsonl`` (one conversation a line) and ``model_chat/<task>/<YYYY_MM_DD>/
    <YYYYmmdd_HHMMSS>_<n>_live.json`` (ParlAI's saved files), ``pairwise/<task>.answers.csv``,
    ``pairwise/<task>.pairings.jsonl``, and ``units.jsonl``.
    """
    out = Path(out)
    counts = {"conversations": 0, "answers": 0, "pairings": 0}
    for task in db.scalars(select(Task).order_by(Task.id)):
        if task.kind == "model_chat":
            records = conversations(db, task)
            counts["conversations"] += write_jsonl_atomic(out / "model_chat" / f"{task.task_name}.jsonl", records)
            for n, record in enumerate(records):
                import datetime as dt

                end = dt.datetime.fromtimestamp(record["task_end"] or 0, dt.UTC)
                folder = out / "model_chat" / task.task_name / end.strftime("%Y_%m_%d")
                write_json_atomic(folder / f"{end.strftime('%Y%m%d_%H%M%S')}_{n % 1000}_live.json", record)
        else:
            rows = answer_rows(db, task)
            path = out / "pairwise" / f"{task.task_name}.answers.csv"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(answers_csv(rows), encoding="utf-8")
            counts["answers"] += len(rows)
            counts["pairings"] += write_jsonl_atomic(
                out / "pairwise" / f"{task.task_name}.pairings.jsonl", pairings(task)
            )
    write_jsonl_atomic(out / "units.jsonl", unit_records(db))
    return counts
