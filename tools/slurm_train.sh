#!/usr/bin/env bash
# Training on a slurm cluster, one task per GPU (as mmsegmentation's tools/slurm_train.sh):
#   [GPUS=4] [GPUS_PER_NODE=4] [CPUS_PER_TASK=5] [SRUN_ARGS="..."] \
#   bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG [WORK_DIR] [train.py args...]
# WORK_DIR is the 4th argument when it does not start with '-'; without it tools/train.py
# picks work_dirs/<config name>. srun itself is called by tools/slurm_run.sh.
set -euo pipefail
NAMES=(PARTITION JOB_NAME CONFIG)
if [ $# -lt 3 ]; then
  echo "usage: bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG [WORK_DIR] [train.py args...]" >&2
  echo "slurm_train.sh: missing ${NAMES[$#]}" >&2
  exit 2
fi
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
shift 3
WORK_DIR_ARGS=()
if [ $# -gt 0 ] && [[ $1 != -* ]]; then
  WORK_DIR_ARGS=("--work-dir=$1")
  shift
fi
exec bash "$(dirname "$0")/slurm_run.sh" "$PARTITION" "$JOB_NAME" "$(dirname "$0")/train.py" \
    "$CONFIG" ${WORK_DIR_ARGS[@]+"${WORK_DIR_ARGS[@]}"} --launcher=slurm "$@"
