#!/usr/bin/env bash
# The benchmark, end to end: train and test every run of a profile, then regenerate the
# leaderboard from the result files.
#
#   bash tools/benchmark_all.sh [--profile smoke|cpu|paper] [--models a,b] [--tasks t,joint]
#                               [--seeds N] [--resume] [--force] [--jobs N]
#                               [--results-root DIR] [--leaderboard DIR]
#
# Sets up .venv first (tools/setup_env.sh) unless PYTHON names an interpreter to use.
# Default: the `cpu` profile (every model as its tiny twin on SynthIML `cpu`, 2 CPU cores).
# Options other than --leaderboard go to tools/benchmark.py (see its --help). Exit status: that
# of the benchmark (1 if any run failed, after the leaderboard is regenerated from what exists).
set -uo pipefail
cd "$(dirname "$0")/.."
if [ -z "${PYTHON:-}" ]; then
  # from nothing: create or verify .venv (seconds once it exists; ~15 min the very first time)
  bash tools/setup_env.sh || { echo "benchmark_all: set-up failed (tools/setup_env.sh)" >&2; exit 2; }
  PY=.venv/bin/python
else
  PY=$PYTHON
fi

RESULTS_ROOT=leaderboard/results
LEADERBOARD=leaderboard
BENCH_ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --leaderboard) LEADERBOARD=$2; shift 2 ;;
    --leaderboard=*) LEADERBOARD=${1#*=}; shift ;;
    --results-root) RESULTS_ROOT=$2; BENCH_ARGS+=("$1" "$2"); shift 2 ;;
    --results-root=*) RESULTS_ROOT=${1#*=}; BENCH_ARGS+=("$1"); shift ;;
    -h|--help) sed -n '2,/^set -uo/{/^#/p}' "$0"; "$PY" tools/benchmark.py --help; exit 0 ;;
    *) BENCH_ARGS+=("$1"); shift ;;
  esac
done

start=$(date +%s)
"$PY" tools/benchmark.py "${BENCH_ARGS[@]}"
status=$?
if [ $status -eq 2 ]; then
  exit 2  # bad arguments: nothing ran
fi
"$PY" tools/make_leaderboard.py --results-root "$RESULTS_ROOT" --out "$LEADERBOARD" || status=1
echo "benchmark_all: $(( ($(date +%s) - start) / 60 )) min $(( ($(date +%s) - start) % 60 )) s;" \
     "leaderboard: $LEADERBOARD/README.md; exit status $status"
exit $status
