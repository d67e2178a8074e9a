#!/usr/bin/env bash
# ruff, then the default test suite (slow tests excluded: `scripts/test.sh -m slow` runs them).
# pytest exits 5 when the selection holds no test (e.g. `-m slow` with none marked): that is reported, not failed.
set -uo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check . || exit 1
.venv/bin/python -m pytest -q --durations=15 "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "pytest: no test matched the selection ($*); nothing ran" >&2
  exit 0
fi
exit "$rc"
