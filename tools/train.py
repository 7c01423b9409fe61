"""Train an mmiml model: ``python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]]``.

Distributed: ``bash tools/dist_train.sh CONFIG NUM_PROCS`` (gloo on CPU, nccl on GPU), or on
a slurm cluster ``bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG [WORK_DIR]`` (GPUs only).

The config is checked before anything is built: a config that cannot be read, a
``--cfg-options`` key the config does not have (unless ``--allow-new-keys``) or a schedule that
trains nothing (``max_iters`` below 1, say) is one ``error:`` line naming the config, exit 2.
"""

from __future__ import annotations

import argparse
import os

from mmengine.runner import Runner

from mmiml.engine import apply_mmengine_patches
from mmiml.utils.cli import run_cli
from mmiml.utils.config import check_schedule
from mmiml.utils.errors import ConfigError
from mmiml.utils.setup_env import (
    adapt_cfg_to_device,
    add_common_args,
    load_config,
    register_all_modules,
    teardown_distributed,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Train an mmiml localizer")
    parser.add_argument("config", help="config file")
    parser.add_argument(
        "--resume", nargs="?", const="auto", default=None,
        help="resume from CKPT, or from the latest checkpoint in the work dir when no path")
    parser.add_argument("--amp", action="store_true", help="automatic mixed precision")
    parser.add_argument(
        "--auto-scale-lr", action="store_true",
        help="scale the lr linearly by (processes x batch_size) / auto_scale_lr.base_batch_size")
    add_common_args(parser)
    args = parser.parse_args()
    os.environ.setdefault("LOCAL_RANK", str(args.local_rank))
    return args


def main() -> int:
    args = parse_args()
    cfg = load_config(args)  # before the registries: a bad config fails in a fraction of a second
    check_schedule(cfg, args.config)
    if args.auto_scale_lr and "base_batch_size" not in cfg.get("auto_scale_lr", {}):
        raise ConfigError(args.config, "--auto-scale-lr needs auto_scale_lr.base_batch_size")
    register_all_modules()
    apply_mmengine_patches()  # checkpoints load with weights_only=True
    if args.resume == "auto":
        cfg.resume, cfg.load_from = True, None
    elif args.resume:
        cfg.resume, cfg.load_from = True, args.resume
    if args.amp:
        cfg.optim_wrapper.type = "AmpOptimWrapper"
        cfg.optim_wrapper.setdefault("loss_scale", "dynamic")
    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    adapt_cfg_to_device(cfg, args.launcher)
    runner = Runner.from_cfg(cfg)
    runner.train()
    teardown_distributed()
    return 0


if __name__ == "__main__":
    run_cli(main)
