"""Test a checkpoint on degraded test images: the robustness protocol.

    python tools/test_robustness.py CONFIG CHECKPOINT [--out ROBUSTNESS.json]
        [--kinds jpeg,blur,noise,resize] [--per-task N] [--data-dir DIR]

The config's test split is scored clean, then with each degradation of the grid applied to the
image files before the model reads them (IMDL-BenCo's JPEG quality, Gaussian blur and Gaussian
noise grids, plus resizing; ``mmiml/evaluation/robustness.py`` and docs/metrics.md). A JPEG
degradation writes a new JPEG, so a DCT model reads the degraded compression history. The
degraded sets are written once under ``--data-dir`` and reused. ``--per-task N`` scores the
first N test images of each task (a quicker check; the output records it).

The output (``mmiml-robustness/1``) holds the clean figures, each curve (IoU and F1 per task and
averaged, per level), the area under each curve and their mean, the robustness score.
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mmiml.benchmark.run import evaluate_checkpoint  # noqa: E402
from mmiml.engine import apply_mmengine_patches, read_checkpoint_weights  # noqa: E402
from mmiml.evaluation.result_json import write_json  # noqa: E402
from mmiml.evaluation.robustness import GRID, run_protocol  # noqa: E402
from mmiml.utils.cli import run_cli  # noqa: E402
from mmiml.utils.errors import ConfigError  # noqa: E402
from mmiml.utils.setup_env import (  # noqa: E402
    add_common_args,
    load_config,
    register_all_modules,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("config")
    p.add_argument("checkpoint")
    p.add_argument("--out", help="robustness JSON (default: WORK_DIR/robustness.json)")
    p.add_argument("--kinds", default=",".join(GRID),
                   help=f"degradations, comma-separated, from {', '.join(GRID)} (default all)")
    p.add_argument("--per-task", type=int, help="score the first N test images of each task")
    p.add_argument("--data-dir", help="where the degraded sets go (default "
                                      "work_dirs/robustness_data/<hash of the manifest>)")
    add_common_args(p)
    args = p.parse_args(argv)
    if args.per_task is not None and args.per_task < 1:
        p.error(f"--per-task must be at least 1, got {args.per_task}")
    return args


def source_manifest(cfg: Any, config: str) -> tuple[str, str, list[str] | None]:
    """(manifest, split, tasks) of the config's test set; SynthIML is generated if missing."""
    ds = cfg.test_dataloader.dataset
    if ds.get("type", "IMLDataset") != "IMLDataset":
        raise ConfigError(config, f"test_dataloader.dataset is {ds.get('type')}; the robustness "
                                  "protocol degrades the files of an IMLDataset manifest")
    spec = ds.get("synthiml")
    if spec:
        from mmiml.datasets.synthesis.generator import ensure_synthiml

        ensure_synthiml(**spec)
    manifest = ds.ann_file
    if ds.get("data_root") and not os.path.isabs(manifest):
        manifest = os.path.join(ds.data_root, manifest)
    tasks = ds.get("tasks")
    return manifest, ds.get("split", "test"), [tasks] if isinstance(tasks, str) else tasks


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in GRID]
    if unknown:
        raise ConfigError("--kinds", f"unknown degradation(s) {', '.join(unknown)}; expected "
                                     f"some of {', '.join(GRID)}")
    apply_mmengine_patches()  # checkpoints load with weights_only=True
    read_checkpoint_weights(args.checkpoint)
    register_all_modules()
    cfg = load_config(args)
    work_dir = Path(cfg.work_dir or Path("work_dirs") / "robustness" / Path(args.config).stem)
    manifest, split, tasks = source_manifest(cfg, args.config)
    tag = hashlib.sha256(os.path.abspath(manifest).encode()).hexdigest()[:12]
    data_dir = Path(args.data_dir or Path("work_dirs") / "robustness_data" / tag)
    checkpoint_block: dict[str, Any] = {}

    def evaluate(path: Path) -> dict[str, Any]:
        run_cfg = copy.deepcopy(cfg)
        ds = run_cfg.test_dataloader.dataset
        ds.ann_file = str(path)
        ds.pop("data_root", None)
        ds.pop("synthiml", None)
        result, _, _ = evaluate_checkpoint(run_cfg, work_dir, Path(args.checkpoint),
                                           args.launcher)
        checkpoint_block.update(result["checkpoint"])
        return result

    t0 = time.perf_counter()
    record = run_protocol(evaluate, manifest, data_dir, kinds, split, tasks, args.per_task)
    record = {**record, "config": args.config, "checkpoint": checkpoint_block,
              "wall_time_s": time.perf_counter() - t0}
    out = Path(args.out or work_dir / "robustness.json")
    write_json(record, out)
    clean = record["clean"]["avg"]["iou"]
    print(f"robustness: clean IoU {clean:.3f}; area per kind "
          + ", ".join(f"{k} {v:.3f}" for k, v in record["area"].items())
          + f"; score {record['score']:.3f}; {record['wall_time_s']:.0f} s; wrote {out}")
    return 0


if __name__ == "__main__":
    run_cli(main)
