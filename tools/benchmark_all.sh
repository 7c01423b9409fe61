#!/usr/bin/env bash
# The benchmark, end to end: train and test every run of a profile, then regenerate the
# leaderboard from the result files.
#
#   bash tools/benchmark_all.sh [--profile smoke|cpu|cpu-long|paper] [--models a,b] [--tasks t,joint]
#                               [--seeds N] [--resume] [--force] [--jobs N]
#                               [--results-root DIR] [--leaderboard DIR]
#
# Sets up .venv first (tools/setup_env.sh) and fetches SynthIML's pinned sources
# (tools/fetch_sources.py) unless PYTHON names an interpreter to use.
# Default: the `cpu` profile (the nine models as tiny twins, joint runs, 3 seeds; fits 2 hours
# on 2 CPU cores). `--profile cpu-long`: every model and ablation, single-task too, at the
# learning-curve budget (hours).
# Options other than --leaderboard go to tools/benchmark.py (see its --help). Exit status: that
# of the benchmark (1 if any run failed, after the leaderboard is regenerated from what exists).
# SIGTERM, SIGINT or SIGHUP stops the benchmark and its runs (exit 128 + signal, no leaderboard).
set -uo pipefail
cd "$(dirname "$0")/.."
if [ -z "${PYTHON:-}" ]; then
  # from nothing: create or verify .venv (seconds once it exists; ~15 min the very first time)
  bash tools/setup_env.sh || { echo "benchmark_all: set-up failed (tools/setup_env.sh)" >&2; exit 2; }
  PY=.venv/bin/python
  # SynthIML's pinned sources (downloaded once; a check of stamps afterwards)
  "$PY" tools/fetch_sources.py || { echo "benchmark_all: SynthIML's sources could not be fetched (tools/fetch_sources.py)" >&2; exit 2; }
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
# In the background, so that a signal to this script reaches the benchmark: bash would die at
# once and leave it running. SIGTERM is what it gets (a background job ignores SIGINT until the
# benchmark sets its own handler); it stops its runs and exits with 128 + the signal.
"$PY" tools/benchmark.py "${BENCH_ARGS[@]}" &
bench=$!
trap 'kill -TERM "$bench" 2>/dev/null' TERM INT HUP
wait "$bench"
status=$?
while kill -0 "$bench" 2>/dev/null; do  # a signal ended `wait` early: wait for the benchmark
  wait "$bench"
  status=$?
done
trap - TERM INT HUP
if [ $status -eq 2 ]; then
  exit 2  # bad arguments: nothing ran
fi
if [ $status -ge 128 ]; then
  echo "benchmark_all: benchmark stopped (exit status $status); leaderboard not regenerated" >&2
  exit $status
fi
"$PY" tools/make_leaderboard.py --results-root "$RESULTS_ROOT" --out "$LEADERBOARD" || status=1
echo "benchmark_all: $(( ($(date +%s) - start) / 60 )) min $(( ($(date +%s) - start) % 60 )) s;" \
     "leaderboard: $LEADERBOARD/README.md; exit status $status"
exit $status
