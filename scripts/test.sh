#!/usr/bin/env bash
# Run the default test suite; pytest's exit code 5 (no tests collected) counts as a failure of the set-up.
set -uo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check . || exit 1
.venv/bin/python -m pytest -q "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: check tests/ and the marker expression" >&2
fi
exit "$rc"
