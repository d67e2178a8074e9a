"""The database: tables (SQLAlchemy 2 ORM), engines and Alembic migrations.

Identifiers follow ParlAI's analyses (see ``humaneval_formats.md`` §4): a task has a ``task_name`` (the ACUTE run id)
and a ``task_run_id``; each worker's session on a task is a :class:`Unit` with ``assignment_id``, ``unit_id`` and
``agent_id``; a worker's ``worker_name`` is the study-link participant id.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, sessionmaker

DB_ENV = "CRINGE_EVAL_DB"
DEFAULT_DB = "cringe_eval.sqlite"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def utcnow() -> dt.datetime:
    """The current time in UTC, without tzinfo (as stored)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    """Declarative base of every table."""


class Setting(Base):
    """Key/value settings of the app (the session-signing secret)."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Worker(Base):
    """A crowd worker, known by the participant id of the study link."""

    __tablename__ = "workers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    worker_name: Mapped[str] = mapped_column(String(128), unique=True, index=True)
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    block_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    task_limit: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Task(Base):
    """A model-chat or pairwise task; ``config`` holds its settings (model file, turns, question, ...)."""

    __tablename__ = "tasks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_name: Mapped[str] = mapped_column(String(128), unique=True)
    task_run_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # model_chat | pairwise
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    pairs: Mapped[list[Pair]] = relationship(back_populates="task", order_by="Pair.pair_id")


class Unit(Base):
    """One worker's session on a task (Mephisto's assignment/unit/agent), ended by a completion code."""

    __tablename__ = "units"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id"), index=True)
    assignment_id: Mapped[str] = mapped_column(String(64), unique=True)
    unit_id: Mapped[str] = mapped_column(String(64), unique=True)
    agent_id: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="in_progress")  # in_progress | completed
    current_pair_id: Mapped[int | None] = mapped_column(ForeignKey("pairs.id"), nullable=True)
    task_start: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    task_end: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    task: Mapped[Task] = relationship()
    worker: Mapped[Worker] = relationship()


class CompletionCode(Base):
    """The code a worker pastes back into the crowd platform; one per completed unit."""

    __tablename__ = "completion_codes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), unique=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Conversation(Base):
    """A model chat: a worker's turns and the model's, rated 1-5 at the end."""

    __tablename__ = "conversations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), unique=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id"), index=True)
    final_rating: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="in_progress")  # in_progress | completed
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    turns: Mapped[list[Turn]] = relationship(order_by="Turn.idx", back_populates="conversation")
    unit: Mapped[Unit] = relationship()
    task: Mapped[Task] = relationship()


class Turn(Base):
    """One utterance; bot turns carry the worker's annotation (``problem_data``: bucket -> bool, ``feedback``)."""

    __tablename__ = "turns"
    __table_args__ = (UniqueConstraint("conversation_id", "idx", name="uq_turn_idx"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    idx: Mapped[int] = mapped_column(Integer)
    agent_idx: Mapped[int] = mapped_column(Integer)  # 0 human, 1 bot
    text: Mapped[str] = mapped_column(Text)
    problem_data: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    feedback: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    conversation: Mapped[Conversation] = relationship(back_populates="turns")


class Pair(Base):
    """One ACUTE pairing (a line of a pairings jsonl); ``pair_id`` is its 0-based line index in the task."""

    __tablename__ = "pairs"
    __table_args__ = (UniqueConstraint("task_id", "pair_id", name="uq_pair_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    pair_id: Mapped[int] = mapped_column(Integer)
    is_onboarding: Mapped[bool] = mapped_column(Boolean, default=False)
    correct_answer: Mapped[str | None] = mapped_column(String(128), nullable=True)
    left_first: Mapped[bool] = mapped_column(Boolean, default=True)  # dialogue_dicts[0] shown on the left
    pairing: Mapped[dict[str, Any]] = mapped_column(JSON)
    task: Mapped[Task] = relationship(back_populates="pairs")


class PairAnswer(Base):
    """A worker's choice on a pair: one per worker per pair."""

    __tablename__ = "pair_answers"
    __table_args__ = (UniqueConstraint("pair_pk", "worker_id", name="uq_answer_once"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pair_pk: Mapped[int] = mapped_column(ForeignKey("pairs.id"), index=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    subtask_idx: Mapped[int] = mapped_column(Integer)
    speaker_choice: Mapped[str] = mapped_column(String(128))
    text_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    pair: Mapped[Pair] = relationship()
    worker: Mapped[Worker] = relationship()
    unit: Mapped[Unit] = relationship()


def database_url(db: str | None = None) -> str:
    """A SQLAlchemy URL from ``--db``, else ``$CRINGE_EVAL_DB``, else ``cringe_eval.sqlite``; a bare path is SQLite."""
    value = db or os.environ.get(DB_ENV) or DEFAULT_DB
    if "://" in value:
        return value
    return f"sqlite:///{Path(value).expanduser().resolve()}"


def make_engine(url: str) -> Engine:
    """An engine; SQLite gets WAL journaling, foreign keys and a 30 s busy timeout (threads of one server)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(conn: Any, _record: Any) -> None:
            cursor = conn.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def migrate(url: str) -> None:
    """Run the pending Alembic migrations (``alembic upgrade head``) on the database at ``url``."""
    from alembic import command
    from alembic.config import Config

    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(config, "head")


def session_factory(engine: Engine) -> sessionmaker:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


def get_secret(sessions: sessionmaker) -> str:
    """The session-signing secret, made once and kept in the database so that a restart keeps workers' sessions."""
    import secrets

    with sessions() as db:
        row = db.get(Setting, "secret_key")
        if row is None:
            db.add(Setting(key="secret_key", value=secrets.token_hex(32)))
            try:
                db.commit()
            except Exception:  # another process made it first
                db.rollback()
            row = db.get(Setting, "secret_key")
        return row.value


def check(engine: Engine) -> str:
    """``ok``, or the error, from a trivial query (for ``/healthz``)."""
    try:
        with engine.connect() as conn:
            conn.execute(select(func.count()).select_from(Task.__table__))
        return "ok"
    except Exception as err:  # noqa: BLE001
        return f"error: {type(err).__name__}: {err}"
