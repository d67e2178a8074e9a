#!/usr/bin/env bash
# Serve cringe-eval on localhost with a model chat task on a loop run's last model (run `make demo` first), and,
# with RUN=runs/pretrained (`make eval-app-pretrained`), also a pairwise task: round 2's replies against the
# baseline's on the run's held-out provocative contexts (ACUTE "roleplay" question).
# RUN (runs/demo) or MODEL=path/to/model pick the model; PORT (8000), CRINGE_EVAL_DB (runs/eval/eval.sqlite) and
# CRINGE_EVAL_ADMIN_TOKEN (a random one is made and printed when unset) are read from the environment.
set -euo pipefail
cd "$(dirname "$0")/.."
run=${RUN:-runs/demo}
model=${MODEL:-$run/round_2/model}
db=${CRINGE_EVAL_DB:-runs/eval/eval.sqlite}
port=${PORT:-8000}
if [ ! -f "$model.opt" ]; then
  echo "no ParlAI model at $model (its .opt is missing): run 'make demo' (or 'make demo-pretrained') first," \
    "or set MODEL=path/to/model" >&2
  exit 2
fi
mkdir -p "$(dirname "$db")"
export CRINGE_EVAL_ADMIN_TOKEN=${CRINGE_EVAL_ADMIN_TOKEN:-$(.venv/bin/python -c 'import secrets; print(secrets.token_hex(16))')}
if [ ! -f "$db" ]; then
  spec=$(mktemp)
  printf '{"name": "%s_chat", "kind": "model_chat", "model_file": "%s", "num_turns": 6}\n' \
    "$(basename "$run")" "$(realpath "$model")" >"$spec"
  .venv/bin/cringe-eval --db "$db" create-task "$spec"
  if [ -f "$run/round_0/eval_provocative.jsonl" ] && [ -f "$run/round_2/eval_provocative.jsonl" ]; then
    pairs="$(dirname "$db")/$(basename "$run")_pairs.jsonl"
    .venv/bin/cringe-eval pairs-from-run "$run" --out "$pairs" --rounds 0,2
    printf '{"name": "%s_pairwise", "kind": "pairwise", "question": "roleplay", "pairings_file": "%s"}\n' \
      "$(basename "$run")" "$(realpath "$pairs")" >"$spec"
    .venv/bin/cringe-eval --db "$db" create-task "$spec"
    echo "pairwise (round 2 vs baseline): http://127.0.0.1:$port/start/2?worker_id=P1"
  fi
  rm -f "$spec"
fi
echo "worker (study link): http://127.0.0.1:$port/start/1?worker_id=P1"
echo "admin: http://127.0.0.1:$port/admin/?token=$CRINGE_EVAL_ADMIN_TOKEN"
exec .venv/bin/cringe-eval --db "$db" serve --port "$port"
