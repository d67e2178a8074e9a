#!/usr/bin/env bash
# Set up .venv-fairseq for the fairseq criterion (cringe_agent.fairseq): CPU torch pinned as in scripts/setup.sh,
# fairseq-fixed 0.12.3.1 built from source against it, its dependencies (requirements-fairseq.txt), cringe-agent
# itself (editable, without the ParlAI dependencies) and pytest. Idempotent: a second run with unchanged
# requirements does nothing. Needs a C++ compiler (Debian: apt-get install g++) for fairseq's extensions.
set -euo pipefail
cd "$(dirname "$0")/.."
FAIRSEQ=fairseq-fixed==0.12.3.1
TORCH=torch==2.13.0
PY=${PYTHON:-python3}
venv=.venv-fairseq
stamp=$venv/.cringe-setup
want=$( (echo "$FAIRSEQ $TORCH"; cat requirements-fairseq.txt setup.py) | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
if ! command -v c++ >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing g++ (apt-get) to build fairseq's extensions"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends g++ >/dev/null 2>&1 ||
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends g++ >/dev/null; }
  else
    echo "fairseq's extensions need a C++ compiler: sudo apt-get install g++" >&2
    exit 1
  fi
fi
start=$(date +%s)
[ -x $venv/bin/python ] || "$PY" -m venv $venv
pip=($venv/bin/python -m pip install -q)
# Never let a resolver choose torch (an unpinned torch is a multi-GB CUDA build): keep the one in the venv, else the
# CPU wheel, and pin whichever it is while the rest is resolved.
$venv/bin/python -c "import torch" 2>/dev/null || "${pip[@]}" "$TORCH"
pin=$(mktemp)
trap 'rm -f "$pin"' EXIT
$venv/bin/python -c "import torch; print('torch==' + torch.__version__.split('+')[0])" 2>/dev/null > "$pin"
"${pip[@]}" -c "$pin" -r requirements-fairseq.txt
# From source (--no-binary), without build isolation: an isolated build would fetch its own, unpinned torch and build
# the extensions against it. CUDA_HOME is unset so that only the CPU extensions are built.
env -u CUDA_HOME "${pip[@]}" --no-deps --no-build-isolation --no-binary fairseq-fixed "$FAIRSEQ"
"${pip[@]}" --no-deps --no-build-isolation -e .
$venv/bin/python -c "import cringe_agent.fairseq" >/dev/null
echo "$want" > "$stamp"
echo "fairseq set-up done in $(( $(date +%s) - start )) s"
