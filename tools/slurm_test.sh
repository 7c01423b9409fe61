#!/usr/bin/env bash
# Testing on a slurm cluster, one task per GPU (as mmsegmentation's tools/slurm_test.sh):
#   [GPUS=4] [GPUS_PER_NODE=4] [CPUS_PER_TASK=5] [SRUN_ARGS="..."] \
#   bash tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py args...]
# srun itself is called by tools/slurm_run.sh.
set -euo pipefail
NAMES=(PARTITION JOB_NAME CONFIG CHECKPOINT)
if [ $# -lt 4 ]; then
  echo "usage: bash tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py args...]" >&2
  echo "slurm_test.sh: missing ${NAMES[$#]}" >&2
  exit 2
fi
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
CHECKPOINT=$4
shift 4
exec bash "$(dirname "$0")/slurm_run.sh" "$PARTITION" "$JOB_NAME" "$(dirname "$0")/test.py" \
    "$CONFIG" "$CHECKPOINT" --launcher=slurm "$@"
