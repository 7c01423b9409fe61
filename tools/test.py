"""Test a checkpoint: ``python tools/test.py CONFIG CHECKPOINT [--out result.json]``.

Writes the same result JSON as tools/score.py (schema mmiml-result/1) and prints the per-task
table.
"""

from __future__ import annotations

import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from mmiml.utils.setup_env import adapt_cfg_to_device, register_all_modules


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Test an mmiml localizer")
    parser.add_argument("config")
    parser.add_argument("checkpoint")
    parser.add_argument("--out", help="write the result JSON here")
    parser.add_argument("--work-dir")
    parser.add_argument(
        "--cfg-options", nargs="+", action=DictAction,
        help="override config keys, e.g. test_evaluator.threshold=0.4")
    parser.add_argument(
        "--launcher", choices=["none", "pytorch", "slurm", "mpi"], default="none")
    parser.add_argument("--local_rank", "--local-rank", type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault("LOCAL_RANK", str(args.local_rank))
    return args


def main() -> None:
    args = parse_args()
    register_all_modules()
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.work_dir = args.work_dir or cfg.get("work_dir") or osp.join(
        "./work_dirs", osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    if not osp.isfile(args.checkpoint):
        raise SystemExit(f"{args.checkpoint}: checkpoint file not found")
    if args.out:
        cfg.test_evaluator["out_file"] = args.out
    adapt_cfg_to_device(cfg, args.launcher)
    runner = Runner.from_cfg(cfg)
    runner.test()
    metric = runner.test_evaluator.metrics[0]
    result = getattr(metric, "last_result", None)
    if result is not None:
        from mmiml.evaluation.result_json import format_task_table

        print(format_task_table(result))
    if args.out:
        print(f"result JSON: {args.out}")


if __name__ == "__main__":
    main()
