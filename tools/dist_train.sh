#!/usr/bin/env bash
# Distributed training: bash tools/dist_train.sh CONFIG NUM_PROCS [train.py args...]
set -euo pipefail
CONFIG=$1
NPROCS=$2
shift 2
exec bash "$(dirname "$0")/dist_run.sh" tools/train.py "$NPROCS" "$CONFIG" "$@"
