#!/usr/bin/env bash
# Serve cringe-eval on localhost with a model chat task on the main job's last model (run `make demo` first).
# MODEL=path/to/model picks another model file; PORT (8000), CRINGE_EVAL_DB (runs/eval/eval.sqlite) and
# CRINGE_EVAL_ADMIN_TOKEN (a random one is made and printed when unset) are read from the environment.
set -euo pipefail
cd "$(dirname "$0")/.."
model=${MODEL:-runs/demo/round_2/model}
db=${CRINGE_EVAL_DB:-runs/eval/eval.sqlite}
port=${PORT:-8000}
if [ ! -f "$model.opt" ]; then
  echo "no ParlAI model at $model (its .opt is missing): run 'make demo' first, or set MODEL=path/to/model" >&2
  exit 2
fi
mkdir -p "$(dirname "$db")"
export CRINGE_EVAL_ADMIN_TOKEN=${CRINGE_EVAL_ADMIN_TOKEN:-$(.venv/bin/python -c 'import secrets; print(secrets.token_hex(16))')}
if [ ! -f "$db" ]; then
  spec=$(mktemp)
  printf '{"name": "demo_chat", "kind": "model_chat", "model_file": "%s", "num_turns": 6}\n' \
    "$(realpath "$model")" >"$spec"
  .venv/bin/cringe-eval --db "$db" create-task "$spec"
  rm -f "$spec"
fi
echo "worker (study link): http://127.0.0.1:$port/start/1?worker_id=P1"
echo "admin: http://127.0.0.1:$port/admin/?token=$CRINGE_EVAL_ADMIN_TOKEN"
exec .venv/bin/cringe-eval --db "$db" serve --port "$port"
