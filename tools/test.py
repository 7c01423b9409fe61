"""Test a checkpoint: ``python tools/test.py CONFIG CHECKPOINT [--out result.json]``.

Writes the same result JSON as tools/score.py (schema mmiml-result/1) and prints the per-task
table. Distributed: ``bash tools/dist_test.sh CONFIG CHECKPOINT NUM_PROCS``, or on a slurm
cluster ``bash tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT`` (GPUs only).
"""

from __future__ import annotations

import argparse
import os

from mmengine.runner import Runner

from mmiml.engine import apply_mmengine_patches
from mmiml.utils.setup_env import (
    adapt_cfg_to_device,
    add_common_args,
    drop_training_only_branches,
    load_config,
    register_all_modules,
    teardown_distributed,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Test an mmiml localizer")
    parser.add_argument("config")
    parser.add_argument("checkpoint")
    parser.add_argument("--out", help="write the result JSON here")
    add_common_args(parser)
    args = parser.parse_args()
    os.environ.setdefault("LOCAL_RANK", str(args.local_rank))
    return args


def main() -> None:
    args = parse_args()
    if not os.path.isfile(args.checkpoint):
        raise SystemExit(f"{args.checkpoint}: checkpoint file not found")
    register_all_modules()
    apply_mmengine_patches()  # checkpoints load with weights_only=True
    cfg = load_config(args)
    cfg.load_from = args.checkpoint
    drop_training_only_branches(cfg)
    if args.out:
        cfg.test_evaluator["out_file"] = args.out
    adapt_cfg_to_device(cfg, args.launcher)
    runner = Runner.from_cfg(cfg)
    runner.test()
    teardown_distributed()
    if args.out:
        print(f"result JSON: {args.out}")


if __name__ == "__main__":
    main()
