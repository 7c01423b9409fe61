#!/usr/bin/env bash
# Shared torchrun launcher: bash tools/dist_run.sh SCRIPT NUM_PROCS [script args...]
# The script (tools/train.py or tools/test.py) uses gloo on CPU and nccl on GPU.
set -euo pipefail
SCRIPT=$1
NPROCS=$2
shift 2
cd "$(dirname "$0")/.."
PYTHONPATH="$(pwd):${PYTHONPATH:-}" \
"${PYTHON:-python}" -m torch.distributed.run \
    --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" --master_port="${PORT:-29500}" \
    --nproc_per_node="$NPROCS" "$SCRIPT" "$@" --launcher pytorch
