#!/usr/bin/env bash
# Set up .venv in the repo: CPU torch, ParlAI 1.7.2 without its 2023 pins, the runtime deps, cringe-agent itself.
# Idempotent: a second run with unchanged requirements does nothing. GPU users: see README ("GPU").
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
stamp=.venv/.cringe-setup
want=$(cat requirements.txt requirements-dev.txt setup.py | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
start=$(date +%s)
[ -x .venv/bin/python ] || "$PY" -m venv .venv
# Never let a resolver choose torch (an unpinned torch is a multi-GB CUDA build): keep the one in .venv, else the
# CPU wheel.
.venv/bin/python -c "import torch" 2>/dev/null || .venv/bin/python -m pip install -q "torch==2.13.0"
.venv/bin/python -m pip install -q -r requirements.txt -r requirements-dev.txt
.venv/bin/python -m pip install -q --no-deps parlai==1.7.2
.venv/bin/python -m pip install -q --no-deps --no-build-isolation -e .
.venv/bin/python -c "import cringe_agent.agents.transformer" >/dev/null
echo "$want" > "$stamp"
echo "set-up done in $(( $(date +%s) - start )) s"
