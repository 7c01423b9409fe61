"""Test a checkpoint: ``python tools/test.py CONFIG CHECKPOINT [--out result.json]
[--save-pred DIR] [--show-dir DIR]``.

Writes the same result JSON as tools/score.py (schema mmiml-result/1) and prints the per-task
table. Distributed: ``bash tools/dist_test.sh CONFIG CHECKPOINT NUM_PROCS``, or on a slurm
cluster ``bash tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT`` (GPUs only).

The checkpoint loads strictly: every tensor of the model must be in it with the same shape, and
it must hold nothing else (tensors of a training-only branch that the test model leaves out,
such as Omni-IML's detection branch, are ignored and counted). Anything else stops the run with
one line naming the checkpoint and the keys that do not fit, before any figure is computed.
``--non-strict`` loads what fits instead. The result JSON's ``checkpoint`` block records the
file (path, sha256, size), whether it loaded strictly, and the key counts.
"""

from __future__ import annotations

import argparse
import os

from mmengine.dist import get_rank

from mmiml.engine import (
    StrictLoadRunner,
    apply_mmengine_patches,
    checkpoint_record,
    read_checkpoint_weights,
)
from mmiml.evaluation.result_json import write_result
from mmiml.utils.cli import run_cli
from mmiml.utils.errors import ConfigError
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
    parser.add_argument(
        "--save-pred", metavar="DIR",
        help="save every test image's tampering probability map as DIR/<image stem>.npy "
             "(float32, the image's original size): exactly what the metric scored, in the "
             "format tools/score.py reads back")
    parser.add_argument(
        "--show-dir", metavar="DIR",
        help="draw a panel per test image to DIR/<image stem>.png: image, ground truth, heat "
             "map and overlay, with the image's IoU in the title")
    parser.add_argument(
        "--non-strict", action="store_true",
        help="load the checkpoint tensors that fit the model and test anyway (the result JSON "
             "records strict=false and how many keys were missing, unexpected or of another "
             "shape); by default any of these is an error")
    add_common_args(parser)
    args = parser.parse_args()
    os.environ.setdefault("LOCAL_RANK", str(args.local_rank))
    return args


def main() -> int:
    args = parse_args()
    cfg = load_config(args)
    # fail on a file that holds no weights before anything is built (the Runner reads it
    # again when it loads it into the model)
    apply_mmengine_patches()  # checkpoints load with weights_only=True
    read_checkpoint_weights(args.checkpoint)
    register_all_modules()
    cfg.load_from = args.checkpoint
    cfg.resume = False
    drop_training_only_branches(cfg)
    if args.out:  # written below, with the checkpoint block, once the test has run
        if not isinstance(cfg.test_evaluator, dict):
            raise ConfigError(args.config, "--out needs test_evaluator to be one IMLMetric")
        cfg.test_evaluator["out_file"] = None
    if args.save_pred or args.show_dir:
        cfg.custom_hooks = [*(cfg.get("custom_hooks") or []),
                            dict(type="SavePredictionsHook", pred_dir=args.save_pred,
                                 show_dir=args.show_dir)]
    if args.show_dir:
        cfg.visualizer = dict(type="IMLLocalVisualizer", name="visualizer",
                              vis_backends=[dict(type="LocalVisBackend")])
    adapt_cfg_to_device(cfg, args.launcher)
    runner = StrictLoadRunner.from_cfg(cfg)
    runner.strict_load = not args.non_strict
    runner.test()
    if args.out and get_rank() == 0:
        result = getattr(runner.test_evaluator.metrics[0], "last_result", None)
        if result is None:
            raise ConfigError(args.config, "--out needs test_evaluator to be one IMLMetric")
        result = dict(result)
        result["checkpoint"] = checkpoint_record(args.checkpoint, runner.load_report)
        write_result(result, args.out)
        print(f"result JSON: {args.out}")
    teardown_distributed()
    return 0


if __name__ == "__main__":
    run_cli(main)
