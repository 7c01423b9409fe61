#!/usr/bin/env bash
# Short GPU check of the paper-scale Omni-IML (under 8 minutes on one GPU): inference images/s at
# 512x512 (fp32; bf16 + channels_last) and a few training iterations. Needs the project's
# environment (tools/setup_env.sh, or any env with torch+CUDA, mmcv with ops, mmseg, mmdet).
#   bash benchmarks/gpu_check.sh [extra args for benchmarks/gpu_check.py]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python)}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
timeout 470 "$PY" benchmarks/gpu_check.py "$@"
