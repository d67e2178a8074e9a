"""What the routes do, without HTTP: tasks, workers' units, pair assignment, answers and completion codes.

Every function takes an open SQLAlchemy session; errors a worker or admin can fix raise :class:`Refusal` with the HTTP
status and a reason.
"""

from __future__ import annotations

import re
import secrets
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cringe_agent.humaneval import pairings as pairing_lib
from cringe_agent.humaneval.db import (
    CompletionCode,
    Conversation,
    Pair,
    PairAnswer,
    Task,
    Turn,
    Unit,
    Worker,
    utcnow,
)
from cringe_agent.humaneval.presets import ANNOTATIONS_CONFIG, FINAL_RATING_QUESTION, question_config

KINDS = ("model_chat", "pairwise")
WORKER_NAME = re.compile(r"^[A-Za-z0-9_.@:-]{1,128}$")
MIN_REASON_CHARS = 5  # ParlAI's UI asks for more than 4 characters


class Refusal(Exception):
    """A request the app refuses: ``status`` (4xx) and a reason for the person who sent it."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


def _int(spec: dict[str, Any], field: str, default: int, low: int, high: int) -> int:
    value = spec.get(field, default)
    if type(value) is not int or not low <= value <= high:
        raise Refusal(400, f"field {field!r} must be an integer from {low} to {high}, got {value!r}")
    return value


def create_task(db: Session, spec: dict[str, Any]) -> Task:
    """Create a task from a spec (see the README of projects/human_eval for the fields).

    Raises:
        Refusal: A field is missing or malformed (400), or the name is taken (409).
    """
    if not isinstance(spec, dict):
        raise Refusal(400, "the task spec must be a JSON object")
    name = spec.get("name")
    if not isinstance(name, str) or not WORKER_NAME.match(name):
        raise Refusal(400, "field 'name' must be 1-128 letters, digits or _.@:-")
    kind = spec.get("kind")
    if kind not in KINDS:
        raise Refusal(400, f"field 'kind' must be one of {KINDS}, got {kind!r}")
    if db.scalar(select(Task).where(Task.task_name == name)) is not None:
        raise Refusal(409, f"a task named {name!r} exists already")
    config: dict[str, Any] = {"max_units_per_worker": _int(spec, "max_units_per_worker", 1, 1, 10_000)}
    pairings: list[dict[str, Any]] = []
    if kind == "model_chat":
        model_file = spec.get("model_file")
        if not isinstance(model_file, str) or not model_file:
            raise Refusal(400, "field 'model_file' is required for a model_chat task")
        if not spec.get("skip_model_check") and not Path(f"{model_file}.opt").is_file():
            raise Refusal(400, f"field 'model_file': no ParlAI model at {model_file} (no {model_file}.opt)")
        overrides = spec.get("overrides", {})
        if not isinstance(overrides, dict):
            raise Refusal(400, "field 'overrides' must be an object of ParlAI options")
        config.update(
            model_file=model_file,
            model_nickname=str(spec.get("model_nickname") or Path(model_file).name),
            overrides=overrides,
            num_turns=_int(spec, "num_turns", 6, 1, 50),
            turn_timeout=float(_int(spec, "turn_timeout", 30, 1, 600)),
            annotations_config=ANNOTATIONS_CONFIG,
            final_rating_question=FINAL_RATING_QUESTION,
        )
    else:
        try:
            question = question_config(spec.get("question", "engaging"))
        except ValueError as err:
            raise Refusal(400, f"field 'question': {err}") from None
        config.update(
            question_key=spec.get("question", "engaging"),
            **question,
            subtasks_per_unit=_int(spec, "subtasks_per_unit", 5, 1, 100),
            onboarding_threshold=float(spec.get("onboarding_threshold", 0.75)),
            require_reason=bool(spec.get("require_reason", True)),
        )
        pairings = _spec_pairings(spec)
    task = Task(task_name=name, task_run_id=uuid.uuid4().hex[:12], kind=kind, config=config)
    db.add(task)
    db.flush()
    sides = pairing_lib.left_right(len(pairings))
    for index, (pairing, left_first) in enumerate(zip(pairings, sides)):
        db.add(
            Pair(
                task_id=task.id,
                pair_id=index,
                is_onboarding=pairing["is_onboarding"],
                correct_answer=pairing.get("correct_answer"),
                left_first=left_first,
                pairing=pairing,
            )
        )
    db.commit()
    return task


def _spec_pairings(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The pairings of a pairwise spec: ``pairings`` (inline list), ``pairings_file``, ``logs`` and ``onboarding``."""
    found: list[dict[str, Any]] = []
    try:
        if "pairings" in spec:
            if not isinstance(spec["pairings"], list):
                raise ValueError("field 'pairings' must be a list of pairings")
            found += [pairing_lib.validate_pairing(p, f"pairings[{i}]") for i, p in enumerate(spec["pairings"])]
        if "pairings_file" in spec:
            found += pairing_lib.read_pairings(str(spec["pairings_file"]))
        if "logs" in spec:
            logs = spec["logs"]
            if not isinstance(logs, dict) or not all(isinstance(v, str) for v in logs.values()):
                raise ValueError("field 'logs' must map model names to jsonl paths")
            found += pairing_lib.pairs_from_logs(
                logs, max_pairs_per_matchup=spec.get("max_pairs_per_matchup"), speaker_idx=spec.get("speaker_idx", 0)
            )
        if "onboarding" in spec:
            found += [p for p in pairing_lib.read_pairings(str(spec["onboarding"])) if p["is_onboarding"]]
    except (OSError, ValueError) as err:
        raise Refusal(400, str(err)) from None
    if not any(not p["is_onboarding"] for p in found):
        raise Refusal(400, "a pairwise task needs pairs to evaluate: give 'pairings', 'pairings_file' or 'logs'")
    return pairing_lib.ordered(found)


def get_task(db: Session, task_id: int) -> Task:
    """The task, or a 404 refusal."""
    task = db.get(Task, task_id)
    if task is None:
        raise Refusal(404, f"no task {task_id}")
    return task


def start_unit(db: Session, task: Task, worker_name: str | None) -> Unit:
    """The worker's open unit on the task, or a new one when the limits allow it.

    Raises:
        Refusal: No or a malformed worker id (400), a blocked worker or a limit reached (403).
    """
    if not worker_name or not WORKER_NAME.match(worker_name):
        raise Refusal(400, "the study link needs a worker_id of 1-128 letters, digits or _.@:-")
    worker = db.scalar(select(Worker).where(Worker.worker_name == worker_name))
    if worker is None:
        worker = Worker(worker_name=worker_name)
        db.add(worker)
        try:
            db.commit()
        except IntegrityError:  # the same worker arrived twice at once
            db.rollback()
            worker = db.scalar(select(Worker).where(Worker.worker_name == worker_name))
    if worker.blocked:
        raise Refusal(
            403, "You cannot take part in this study." + (f" ({worker.block_reason})" if worker.block_reason else "")
        )
    open_unit = db.scalar(
        select(Unit).where(Unit.task_id == task.id, Unit.worker_id == worker.id, Unit.status == "in_progress")
    )
    if open_unit is not None:
        return open_unit
    done_here = db.scalar(select(func.count()).where(Unit.task_id == task.id, Unit.worker_id == worker.id)) or 0
    if done_here >= task.config["max_units_per_worker"]:
        raise Refusal(403, "You have already completed this task as many times as allowed. Thank you!")
    if worker.task_limit is not None:
        done_all = db.scalar(select(func.count()).where(Unit.worker_id == worker.id)) or 0
        if done_all >= worker.task_limit:
            raise Refusal(403, f"You have reached your limit of {worker.task_limit} task(s). Thank you!")
    unit = Unit(
        task_id=task.id,
        worker_id=worker.id,
        assignment_id=uuid.uuid4().hex,
        unit_id=uuid.uuid4().hex,
        agent_id=uuid.uuid4().hex,
    )
    db.add(unit)
    db.flush()
    if task.kind == "model_chat":
        db.add(Conversation(task_id=task.id, unit_id=unit.id, worker_id=worker.id))
    db.commit()
    return unit


def owned_unit(db: Session, unit_key: str, worker_name: str | None) -> Unit:
    """The unit with this ``unit_id`` if it belongs to the signed-in worker; 404 otherwise (never revealing others)."""
    unit = db.scalar(select(Unit).where(Unit.unit_id == unit_key))
    if unit is None or worker_name is None or unit.worker.worker_name != worker_name:
        raise Refusal(404, "no such task session for you: open your study link again")
    if unit.worker.blocked:
        raise Refusal(403, "You cannot take part in this study.")
    return unit


def complete(db: Session, unit: Unit) -> str:
    """Mark the unit completed and return its completion code (made once)."""
    code = db.scalar(select(CompletionCode).where(CompletionCode.unit_id == unit.id))
    if code is None:
        code = CompletionCode(unit_id=unit.id, code=secrets.token_hex(4).upper())
        db.add(code)
        unit.status, unit.task_end = "completed", utcnow()
        db.commit()
    return code.code


# --- pairwise -------------------------------------------------------------------------------------------------


def answered_pairs(db: Session, worker_id: int, task_id: int) -> list[PairAnswer]:
    """The worker's answers on the task's pairs."""
    return list(
        db.scalars(select(PairAnswer).join(Pair).where(PairAnswer.worker_id == worker_id, Pair.task_id == task_id))
    )


def next_pair(db: Session, unit: Unit) -> Pair | None:
    """The pair to show: the unit's current one, else onboarding pairs not yet answered, else the least-answered pair
    this worker has not seen, avoiding dialogues they have seen (None when the unit is done)."""
    if unit.current_pair_id is not None:
        return db.get(Pair, unit.current_pair_id)
    task = unit.task
    answers = answered_pairs(db, unit.worker_id, task.id)
    in_unit = sum(1 for a in answers if a.unit_id == unit.id and not a.pair.is_onboarding)
    if in_unit >= task.config["subtasks_per_unit"]:
        return None
    seen = {a.pair_pk for a in answers}
    seen_dialogues = {i for a in answers for i in a.pair.pairing.get("dialogue_ids") or []}
    pairs = [p for p in task.pairs if p.id not in seen]
    choice = next((p for p in pairs if p.is_onboarding), None)
    if choice is None:
        counts = _load(db, task.id)
        fresh = [p for p in pairs if not p.is_onboarding and not seen_dialogues & set(p.pairing["dialogue_ids"])]
        choice = min(fresh, key=lambda p: (counts.get(p.id, 0), p.pair_id), default=None)
    if choice is not None:
        unit.current_pair_id = choice.id
        db.commit()
    return choice


def _load(db: Session, task_id: int) -> dict[int, int]:
    """Per pair: answers given plus units showing it now, so that concurrent workers spread over the pairs."""
    answers = select(PairAnswer.pair_pk, func.count()).join(Pair).where(Pair.task_id == task_id)
    shown = select(Unit.current_pair_id, func.count()).where(
        Unit.task_id == task_id, Unit.current_pair_id.is_not(None)
    )
    counts: dict[int, int] = {}
    for query in (answers.group_by(PairAnswer.pair_pk), shown.group_by(Unit.current_pair_id)):
        for pk, n in db.execute(query).all():
            counts[pk] = counts.get(pk, 0) + n
    return counts


def record_answer(db: Session, unit: Unit, pair_id: Any, choice: Any, reason: Any) -> PairAnswer:
    """Store the worker's answer on the unit's current pair, once.

    Raises:
        Refusal: The pair is not the one shown (409), the choice is not one of its speakers (400), the reason is
            too short (400), or it was answered before (409).
    """
    task = unit.task
    if unit.status != "in_progress":
        raise Refusal(409, "this task session is completed already")
    current = db.get(Pair, unit.current_pair_id) if unit.current_pair_id else None
    if current is None or str(current.pair_id) != str(pair_id):
        raise Refusal(409, f"pair {pair_id!r} is not the pair shown to you now: reload the page")
    names = current.pairing["speakers_to_eval"]
    if choice not in names:
        raise Refusal(400, "field 'speaker_choice': pick one of the two speakers")
    reason = reason if isinstance(reason, str) else ""
    if task.config.get("require_reason", True) and len(reason.strip()) < MIN_REASON_CHARS:
        raise Refusal(400, f"field 'text_reason': please give a reason of at least {MIN_REASON_CHARS} characters")
    count = db.scalar(select(func.count()).where(PairAnswer.unit_id == unit.id)) or 0
    answer = PairAnswer(
        pair_pk=current.id,
        worker_id=unit.worker_id,
        unit_id=unit.id,
        subtask_idx=count,
        speaker_choice=choice,
        text_reason=reason.strip(),
    )
    db.add(answer)
    unit.current_pair_id = None
    try:
        db.commit()
    except IntegrityError:
        db.rollback()
        raise Refusal(409, "you have answered this pair already") from None
    if current.is_onboarding:
        _check_onboarding(db, unit)
    return answer


def _check_onboarding(db: Session, unit: Unit) -> None:
    """Block the worker (ParlAI's soft block) once all onboarding pairs are answered below the threshold."""
    onboarding = [p for p in unit.task.pairs if p.is_onboarding]
    answers = {a.pair_pk: a for a in answered_pairs(db, unit.worker_id, unit.task_id) if a.pair.is_onboarding}
    if len(answers) < len(onboarding):
        return
    correct = sum(answers[p.id].speaker_choice == p.correct_answer for p in onboarding)
    if correct / len(onboarding) < unit.task.config.get("onboarding_threshold", 0.75):
        unit.worker.blocked = True
        unit.worker.block_reason = "failed the attention checks"
        db.commit()


# --- model chat -----------------------------------------------------------------------------------------------


def parse_annotation(form: Any, buckets: list[dict[str, str]]) -> tuple[dict[str, bool], str]:
    """``problem_data`` ({bucket: bool}) and the feedback text from a form (``bucket`` values, ``feedback``).

    Raises:
        Refusal: No bucket chosen, an unknown bucket, or "good" chosen with a problem (400).
    """
    values = [b["value"] for b in buckets]
    chosen = form.getlist("bucket") if hasattr(form, "getlist") else list(form.get("bucket") or [])
    unknown = [c for c in chosen if c not in values]
    if unknown:
        raise Refusal(400, f"field 'bucket': unknown annotation {unknown[0]!r}")
    if not chosen:
        raise Refusal(400, "field 'bucket': mark the model's last reply (good, or what is wrong with it)")
    if values[0] in chosen and len(chosen) > 1:
        raise Refusal(400, "field 'bucket': a reply cannot be both good and have a problem")
    feedback = form.get("feedback") or ""
    if len(feedback) > 2000:
        raise Refusal(400, "field 'feedback': at most 2000 characters")
    return {v: v in chosen for v in values}, feedback.strip()


def last_bot_turn(conversation: Conversation) -> Turn | None:
    """The last turn if it is the bot's."""
    return conversation.turns[-1] if conversation.turns and conversation.turns[-1].agent_idx == 1 else None


def human_turns(conversation: Conversation) -> int:
    """How many messages the worker has sent."""
    return sum(1 for t in conversation.turns if t.agent_idx == 0)
