"""The Flask app factory: database, responder pool, worker and admin blueprints, error pages and ``/healthz``."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from flask import Flask, g, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from cringe_agent.humaneval import db as dbm
from cringe_agent.humaneval.responder import Responder, ResponderPool, parlai_factory
from cringe_agent.humaneval.service import Refusal

TOKEN_ENV = "CRINGE_EVAL_ADMIN_TOKEN"


class MissingAdminToken(RuntimeError):
    """The admin token is not set: the server does not start."""


def create_app(
    db_url: str,
    admin_token: str | None = None,
    *,
    responder_factory: Callable[[dict[str, Any]], Responder] = parlai_factory,
    run_migrations: bool = True,
) -> Flask:
    """Build the app on the database at ``db_url`` (pending migrations run first unless ``run_migrations`` is False).

    Args:
        db_url: A SQLAlchemy URL (see :func:`cringe_agent.humaneval.db.database_url`).
        admin_token: The token of the admin routes; None reads ``$CRINGE_EVAL_ADMIN_TOKEN``.
        responder_factory: Makes a task's model from its config (a ParlAI model file by default).
        run_migrations: Run ``alembic upgrade head`` before starting.

    Raises:
        MissingAdminToken: No token given and ``$CRINGE_EVAL_ADMIN_TOKEN`` unset or empty: the app refuses to start,
            since its admin routes would be open or unusable.
    """
    token = admin_token if admin_token is not None else os.environ.get(TOKEN_ENV, "")
    if not token:
        raise MissingAdminToken(
            f"set the environment variable {TOKEN_ENV} to a secret token: the admin routes (/admin/...) need it, and "
            "the server does not start without it"
        )
    if run_migrations:
        dbm.migrate(db_url)
    engine = dbm.make_engine(db_url)
    sessions = dbm.session_factory(engine)
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=dbm.get_secret(sessions),
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
        ADMIN_TOKEN=token,
    )
    app.extensions["cringe_eval"] = {"engine": engine, "sessions": sessions, "pool": ResponderPool(responder_factory)}

    @app.before_request
    def _open_session() -> None:
        g.db = sessions()

    @app.teardown_request
    def _close_session(_exc: BaseException | None) -> None:
        session = g.pop("db", None)
        if session is not None:
            session.close()

    @app.get("/healthz")
    def healthz() -> Any:
        status = dbm.check(engine)
        return jsonify(status="ok" if status == "ok" else "error", db=status), 200 if status == "ok" else 503

    @app.errorhandler(Refusal)
    def _refusal(err: Refusal) -> Any:
        return _error_page(err.status, err.reason)

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException) -> Any:
        return _error_page(err.code or 500, err.description or err.name)

    from cringe_agent.humaneval.admin import admin
    from cringe_agent.humaneval.worker import worker

    app.register_blueprint(worker)
    app.register_blueprint(admin, url_prefix="/admin")
    return app


def _error_page(status: int, reason: str) -> Any:
    """The error as JSON for admin and API requests, else as a page; ``status`` is kept."""
    if request.path.startswith("/admin") or request.accept_mimetypes.best == "application/json":
        return jsonify(error=reason, status=status), status
    titles = {400: "Bad request", 403: "Not allowed", 404: "Not found", 409: "Already done", 503: "Try again"}
    return render_template("message.html", title=titles.get(status, "Error"), reason=reason), status


def context(app: Flask | None = None) -> dict[str, Any]:
    """The app's engine, session factory and responder pool."""
    from flask import current_app

    return (app or current_app).extensions["cringe_eval"]
