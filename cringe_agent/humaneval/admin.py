"""The admin routes (``/admin/...``): every request needs the token (header ``X-Admin-Token``, ``Authorization:
Bearer``, or the ``token`` query parameter)."""

from __future__ import annotations

import hmac
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, render_template, request, url_for
from sqlalchemy import func, select

from cringe_agent.humaneval import export as export_lib
from cringe_agent.humaneval import service
from cringe_agent.humaneval.db import Conversation, Pair, PairAnswer, Task, Turn, Unit, Worker
from cringe_agent.humaneval.service import Refusal

admin = Blueprint("admin", __name__)
EXPORTS = {"model_chat": ["conversations.jsonl"], "pairwise": ["answers.csv", "pairings.jsonl"]}


def _given_token() -> str:
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        return auth.removeprefix("Bearer ").strip()
    return request.headers.get("X-Admin-Token") or request.args.get("token") or ""


@admin.before_request
def _require_token() -> None:
    if not hmac.compare_digest(_given_token().encode(), current_app.config["ADMIN_TOKEN"].encode()):
        raise Refusal(401, "admin routes need the admin token (header X-Admin-Token, or ?token=)")


def progress(task: Task) -> dict[str, Any]:
    """Counts of a task: units started and completed, answers or turns, study link."""
    db = g.db
    started = db.scalar(select(func.count()).where(Unit.task_id == task.id)) or 0
    completed = db.scalar(select(func.count()).where(Unit.task_id == task.id, Unit.status == "completed")) or 0
    if task.kind == "pairwise":
        items = db.scalar(select(func.count()).select_from(PairAnswer).join(Pair).where(Pair.task_id == task.id)) or 0
    else:
        items = (
            db.scalar(select(func.count()).select_from(Turn).join(Conversation).where(Conversation.task_id == task.id))
            or 0
        )
    link = url_for("worker.start", task_id=task.id, _external=True) + "?worker_id={PARTICIPANT_ID}"
    return {
        "id": task.id,
        "task_name": task.task_name,
        "task_run_id": task.task_run_id,
        "kind": task.kind,
        "started": started,
        "completed": completed,
        "items": items,
        "link": link,
        "exports": EXPORTS[task.kind],
    }


@admin.get("/")
def index() -> Any:
    """The tasks and their progress (HTML; ``?format=json`` for JSON)."""
    tasks = [progress(t) for t in g.db.scalars(select(Task).order_by(Task.id))]
    if request.args.get("format") == "json":
        return jsonify(tasks=tasks)
    return render_template("admin.html", tasks=tasks, token=request.args.get("token"))


@admin.post("/tasks")
def create() -> Any:
    """Create a task from a JSON spec; answers its id and study link."""
    spec = request.get_json(silent=True)
    if spec is None:
        raise Refusal(400, "send the task spec as a JSON object (Content-Type: application/json)")
    task = service.create_task(g.db, spec)
    return jsonify(progress(task)), 201


@admin.get("/tasks/<int:task_id>")
def task_progress(task_id: int) -> Any:
    """One task's progress (JSON)."""
    return jsonify(progress(service.get_task(g.db, task_id)))


@admin.get("/tasks/<int:task_id>/export/<name>")
def export(task_id: int, name: str) -> Any:
    """``conversations.jsonl`` (model chat), ``answers.csv`` or ``pairings.jsonl`` (pairwise)."""
    import json

    task = service.get_task(g.db, task_id)
    if name not in EXPORTS[task.kind]:
        raise Refusal(404, f"a {task.kind} task exports {EXPORTS[task.kind]}, not {name!r}")
    if name == "answers.csv":
        return Response(export_lib.answers_csv(export_lib.answer_rows(g.db, task)), mimetype="text/csv")
    rows = export_lib.conversations(g.db, task) if name == "conversations.jsonl" else export_lib.pairings(task)
    body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    return Response(body, mimetype="application/jsonl")


@admin.post("/workers/<worker_name>")
def update_worker(worker_name: str) -> Any:
    """Block or unblock a worker, or set their task limit: JSON ``{blocked, reason, task_limit}``."""
    spec = request.get_json(silent=True)
    if not isinstance(spec, dict):
        raise Refusal(400, "send a JSON object with 'blocked' and/or 'task_limit'")
    if not service.WORKER_NAME.match(worker_name):
        raise Refusal(400, "malformed worker id")
    worker = g.db.scalar(select(Worker).where(Worker.worker_name == worker_name))
    if worker is None:
        worker = Worker(worker_name=worker_name)
        g.db.add(worker)
    if "blocked" in spec:
        if not isinstance(spec["blocked"], bool):
            raise Refusal(400, "field 'blocked' must be true or false")
        worker.blocked, worker.block_reason = spec["blocked"], spec.get("reason")
    if "task_limit" in spec:
        limit = spec["task_limit"]
        if limit is not None and (type(limit) is not int or limit < 0):
            raise Refusal(400, "field 'task_limit' must be a non-negative integer or null")
        worker.task_limit = limit
    g.db.commit()
    return jsonify(worker=worker.worker_name, blocked=worker.blocked, task_limit=worker.task_limit)
