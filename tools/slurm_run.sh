#!/usr/bin/env bash
# Shared srun launcher of tools/slurm_train.sh and tools/slurm_test.sh (which check the
# arguments), one task per GPU:
#   [GPUS=4] [GPUS_PER_NODE=4] [CPUS_PER_TASK=5] [SRUN_ARGS="..."] \
#   bash tools/slurm_run.sh PARTITION JOB_NAME SCRIPT [script args...]
# GPUS_PER_NODE is capped at GPUS (our choice: a 1-GPU job does not reserve a node's GPUs).
set -euo pipefail
PARTITION=$1
JOB_NAME=$2
SCRIPT=$3
shift 3
GPUS=${GPUS:-4}
GPUS_PER_NODE=${GPUS_PER_NODE:-4}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
for VAR in GPUS GPUS_PER_NODE CPUS_PER_TASK; do
  if ! [[ ${!VAR} =~ ^[1-9][0-9]*$ ]]; then
    echo "$(basename "$0"): $VAR must be a positive integer, got '${!VAR}'" >&2
    exit 2
  fi
done
if [ "$GPUS_PER_NODE" -gt "$GPUS" ]; then GPUS_PER_NODE=$GPUS; fi

# SRUN_ARGS is split into words on purpose: it carries several srun options
# shellcheck disable=SC2086
PYTHONPATH="$(dirname "$0")/..${PYTHONPATH:+:$PYTHONPATH}" \
srun -p "$PARTITION" \
    --job-name="$JOB_NAME" \
    --gres=gpu:"$GPUS_PER_NODE" \
    --ntasks="$GPUS" \
    --ntasks-per-node="$GPUS_PER_NODE" \
    --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 \
    $SRUN_ARGS \
    "${PYTHON:-python}" -u "$SCRIPT" "$@"
