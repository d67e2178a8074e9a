"""``cringe-eval``: ``serve`` the app, ``create-task`` from a JSON spec, ``export`` the data, ``analyze`` it."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from cringe_agent.humaneval import db as dbm


def _serve(args: argparse.Namespace) -> int:
    from cringe_agent.humaneval.app import MissingAdminToken, create_app

    try:
        app = create_app(dbm.database_url(args.db))
    except MissingAdminToken as err:
        print(f"cringe-eval serve: {err}", file=sys.stderr)
        return 2
    print(f"cringe-eval: serving {dbm.database_url(args.db)} on http://{args.host}:{args.port} (admin: /admin/)")
    app.run(host=args.host, port=args.port, threaded=True, debug=False)
    return 0


def _open(db: str | None):
    url = dbm.database_url(db)
    dbm.migrate(url)
    return dbm.session_factory(dbm.make_engine(url))


def _create(args: argparse.Namespace) -> int:
    from cringe_agent.humaneval.service import Refusal, create_task

    with open(args.spec, encoding="utf-8") as f:
        spec = json.load(f)
    with _open(args.db)() as db:
        try:
            task = create_task(db, spec)
        except Refusal as err:
            print(f"cringe-eval create-task: {args.spec}: {err.reason}", file=sys.stderr)
            return 2
        print(f"task {task.id} ({task.kind}): study link /start/{task.id}?worker_id=PARTICIPANT_ID")
    return 0


def _export(args: argparse.Namespace) -> int:
    from cringe_agent.humaneval.export import export_all

    with _open(args.db)() as db:
        counts = export_all(db, args.out)
    print(f"exported to {args.out}: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    return 0


def _analyze(args: argparse.Namespace) -> int:
    from cringe_agent.humaneval.analyze import analyze
    from cringe_agent.humaneval.export import answer_rows, conversations

    with _open(args.db)() as db:
        result = analyze(answer_rows(db), conversations(db), args.out)
    print(result["markdown"])
    print(f"wrote {args.out}/report.md and {args.out}/report.png")
    return 0


def _pairs_from_run(args: argparse.Namespace) -> int:
    from cringe_agent.humaneval.from_run import pairings_from_run
    from cringe_agent.jsonl import write_jsonl_atomic

    try:
        first, second = (int(r) for r in args.rounds.split(","))
        pairings = pairings_from_run(args.run_dir, (first, second), args.eval_set, args.limit)
    except ValueError as err:
        print(f"cringe-eval: error: {err}", file=sys.stderr)
        return 2
    write_jsonl_atomic(args.out, pairings)
    print(f"wrote {len(pairings)} pairings ({args.eval_set} contexts, rounds {args.rounds}) to {args.out}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``cringe-eval``; returns the exit status."""
    parser = argparse.ArgumentParser(prog="cringe-eval", description=__doc__)
    parser.add_argument("--db", help=f"database path or SQLAlchemy URL (default ${dbm.DB_ENV} or {dbm.DEFAULT_DB})")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run pending migrations and serve the app (needs $CRINGE_EVAL_ADMIN_TOKEN)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    create = sub.add_parser("create-task", help="create a task from a JSON spec file")
    create.add_argument("spec")
    for name, text in (("export", "write ParlAI-format exports"), ("analyze", "write the analysis report")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--out", required=True, help="output folder")
    pairs = sub.add_parser("pairs-from-run", help="pairings jsonl of two loop rounds' replies to the same contexts")
    pairs.add_argument("run_dir")
    pairs.add_argument("--out", required=True, help="pairings jsonl to write")
    pairs.add_argument("--rounds", default="0,2", help="the two rounds, comma-separated (default: 0,2)")
    pairs.add_argument("--eval-set", default="provocative", choices=("provocative", "random"))
    pairs.add_argument("--limit", type=int, default=None, help="at most this many pairs")
    for p in sub.choices.values():
        p.add_argument("--db", default=argparse.SUPPRESS, help="database path or SQLAlchemy URL")
    args = parser.parse_args(argv)
    handlers = {
        "serve": _serve,
        "create-task": _create,
        "export": _export,
        "analyze": _analyze,
        "pairs-from-run": _pairs_from_run,
    }
    return handlers[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
