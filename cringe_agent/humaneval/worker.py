"""The worker's routes: the study link, the model-chat and pairwise pages, and the completion code."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, redirect, render_template, request, session, url_for
from sqlalchemy import select

from cringe_agent.humaneval import service
from cringe_agent.humaneval.app import context
from cringe_agent.humaneval.db import CompletionCode, Conversation, Turn, Unit, utcnow
from cringe_agent.humaneval.presets import ANNOTATION_QUESTION
from cringe_agent.humaneval.responder import ModelTurnError
from cringe_agent.humaneval.service import Refusal

worker = Blueprint("worker", __name__)
MAX_MESSAGE = 1000


@worker.get("/start/<int:task_id>")
def start(task_id: int) -> Any:
    """The study link: sign the worker in (a signed cookie) and send them to their unit."""
    task = service.get_task(g.db, task_id)
    name = request.args.get("worker_id")
    unit = service.start_unit(g.db, task, name)
    session["worker"] = name
    return redirect(url_for("worker.unit_page", unit_key=unit.unit_id))


def _unit(unit_key: str) -> Unit:
    return service.owned_unit(g.db, unit_key, session.get("worker"))


def _done(unit: Unit) -> Any:
    code = g.db.scalar(select(CompletionCode).where(CompletionCode.unit_id == unit.id))
    return render_template("done.html", code=code.code if code else service.complete(g.db, unit))


@worker.get("/unit/<unit_key>")
def unit_page(unit_key: str) -> Any:
    """The unit's current page: the chat, the next pair, or the completion code."""
    unit = _unit(unit_key)
    if unit.status == "completed":
        return _done(unit)
    if unit.task.kind == "model_chat":
        return _chat_page(unit)
    return _pair_page(unit)


# --- model chat -----------------------------------------------------------------------------------------------


def _conversation(unit: Unit) -> Conversation:
    conversation = g.db.scalar(select(Conversation).where(Conversation.unit_id == unit.id))
    if conversation is None:
        raise Refusal(404, "this task session has no chat")
    return conversation


def _chat_page(unit: Unit, error: str | None = None, status: int = 200) -> Any:
    conversation = _conversation(unit)
    config = unit.task.config
    sent = service.human_turns(conversation)
    finishing = sent >= config["num_turns"] and service.last_bot_turn(conversation) is not None
    page = render_template(
        "chat.html",
        turns=conversation.turns,
        unit_key=unit.unit_id,
        num_turns=config["num_turns"],
        sent=sent,
        finishing=finishing,
        buckets=config["annotations_config"],
        annotation_question=ANNOTATION_QUESTION,
        rating_question=config["final_rating_question"],
        error=error,
    )
    return page, status


@worker.post("/unit/<unit_key>/message")
def message(unit_key: str) -> Any:
    """The worker's message (with the annotation of the model's last reply); the model answers before it is saved."""
    unit = _unit(unit_key)
    if unit.task.kind != "model_chat" or unit.status != "in_progress":
        raise Refusal(409, "this task session takes no chat messages")
    conversation = _conversation(unit)
    config = unit.task.config
    if service.human_turns(conversation) >= config["num_turns"]:
        raise Refusal(409, f"you have sent all {config['num_turns']} messages: rate the conversation to finish")
    text = (request.form.get("text") or "").strip()
    if not text:
        raise Refusal(400, "field 'text': write a message")
    if len(text) > MAX_MESSAGE:
        raise Refusal(400, f"field 'text': at most {MAX_MESSAGE} characters")
    prior = service.last_bot_turn(conversation)
    annotation = service.parse_annotation(request.form, config["annotations_config"]) if prior else None
    turns = [t.text for t in conversation.turns] + [text]
    pool = context()["pool"]
    try:
        reply = pool.reply(unit.task_id, config, turns, timeout=config["turn_timeout"])
    except ModelTurnError as err:
        return _chat_page(unit, error=str(err), status=503)
    if prior is not None and annotation is not None:
        prior.problem_data, prior.feedback = annotation
    start = len(conversation.turns)
    g.db.add(Turn(conversation_id=conversation.id, idx=start, agent_idx=0, text=text))
    g.db.add(Turn(conversation_id=conversation.id, idx=start + 1, agent_idx=1, text=reply))
    _commit_once("this message was sent already")
    return redirect(url_for("worker.unit_page", unit_key=unit.unit_id), code=303)


@worker.post("/unit/<unit_key>/finish")
def finish(unit_key: str) -> Any:
    """The annotation of the last reply and the 1-5 rating; ends the unit."""
    unit = _unit(unit_key)
    if unit.task.kind != "model_chat" or unit.status != "in_progress":
        raise Refusal(409, "this task session is completed already")
    conversation = _conversation(unit)
    config = unit.task.config
    prior = service.last_bot_turn(conversation)
    if service.human_turns(conversation) < config["num_turns"] or prior is None:
        raise Refusal(409, f"send {config['num_turns']} messages before rating the conversation")
    rating = request.form.get("rating", "")
    if rating not in {"1", "2", "3", "4", "5"}:
        raise Refusal(400, "field 'rating': choose a rating from 1 to 5")
    prior.problem_data, prior.feedback = service.parse_annotation(request.form, config["annotations_config"])
    conversation.final_rating, conversation.status = int(rating), "completed"
    conversation.finished_at = utcnow()
    g.db.commit()
    service.complete(g.db, unit)
    return redirect(url_for("worker.unit_page", unit_key=unit.unit_id), code=303)


def _commit_once(reason: str) -> None:
    from sqlalchemy.exc import IntegrityError

    try:
        g.db.commit()
    except IntegrityError:
        g.db.rollback()
        raise Refusal(409, reason) from None


# --- pairwise -------------------------------------------------------------------------------------------------


def _pair_page(unit: Unit, error: str | None = None, status: int = 200) -> Any:
    pair = service.next_pair(g.db, unit)
    if pair is None:
        return _done(unit)
    config = unit.task.config
    pairing = pair.pairing
    order = [0, 1] if pair.left_first else [1, 0]
    sides = []
    for position, index in zip(("left", "right"), order):
        name = pairing["speakers_to_eval"][index]
        label = f"Speaker {len(sides) + 1}"
        choice = config[f"s{len(sides) + 1}_choice"].replace(f"<{label}>", label)
        sides.append(
            {
                "position": position,
                "name": name,
                "dialogue": pairing["dialogue_dicts"][index]["dialogue"],
                "choice": choice,
            }
        )
    page = render_template(
        "pairwise.html",
        sides=sides,
        pair_id=pair.pair_id,
        unit_key=unit.unit_id,
        question=config["question"],
        require_reason=config.get("require_reason", True),
        error=error,
    )
    return page, status


@worker.post("/unit/<unit_key>/answer")
def answer(unit_key: str) -> Any:
    """The worker's choice on the pair shown; the next pair or the completion code follows."""
    unit = _unit(unit_key)
    if unit.task.kind != "pairwise":
        raise Refusal(409, "this task session takes no pairwise answers")
    try:
        service.record_answer(
            g.db,
            unit,
            request.form.get("pair_id"),
            request.form.get("speaker_choice"),
            request.form.get("text_reason"),
        )
    except Refusal as err:
        if err.status == 400 and unit.status == "in_progress":
            return _pair_page(unit, error=err.reason, status=400)
        raise
    if unit.worker.blocked:
        raise Refusal(403, "You cannot take part in this study (attention checks failed).")
    return redirect(url_for("worker.unit_page", unit_key=unit.unit_id), code=303)
