#!/usr/bin/env bash
# Run one cringe-compare in N processes of one thread each on the same run directory, then write its table.
# Usage (from the repository root): scripts/compare_parallel.sh N [cringe-compare flags, --run-dir included]
# Each process takes the runs no other process holds (a run directory's lock); one that finds only runs held by others
# exits 3 and is started again after a pause, until every run is done. The last invocation prints the table.
set -uo pipefail
procs="$1"
shift
export OMP_NUM_THREADS=1
worker() {
  local rc n="$1"
  shift
  while true; do
    .venv/bin/cringe-compare "$@" >>"$log.$n" 2>&1
    rc=$?
    [ "$rc" -ne 3 ] && return "$rc"
    sleep 15
  done
}
log="$(mktemp -d)/compare.log"
echo "logs: $log.<process>"
pids=()
for i in $(seq 1 "$procs"); do
  worker "$i" "$@" &
  pids+=($!)
  sleep 20  # the first process starts the directory; the others join it
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=$?; done
[ "$status" -eq 0 ] || { echo "a process failed (exit $status); see $log.*" >&2; exit "$status"; }
exec .venv/bin/cringe-compare "$@"
