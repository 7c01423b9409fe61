"""One benchmark run: train a model on one training set, test it on every task, write the
result file. ``tools/benchmark.py`` starts one process of this per run (a crash or a NaN stop
fails that run only), through ``tools/benchmark_run.py``:

    python tools/benchmark_run.py --profile cpu --model segformer --train-set joint --seed 0 \\
        --work-dir work_dirs/benchmark/cpu/segformer__joint__seed0 --out RESULT.json [--resume]

Under torchrun (``--launcher pytorch``, started by ``tools/benchmark.py --gpus N``) every process
trains and tests its share and rank 0 writes the file. A run started by the benchmark ends when
the benchmark does (``mmiml.benchmark.processes``).

The run trains through mmengine's Runner from the model's config adapted to the profile
(``mmiml.benchmark.profiles.apply_profile``), then tests the last checkpoint the way
``tools/test.py`` does (training-only branches dropped) on all four tasks' test splits, and
writes a "mmiml-benchmark/1" file (``mmiml.benchmark.result``).
"""
from __future__ import annotations

import argparse
import copy
import datetime
import json
import logging
import os
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from mmengine.config import Config, DictAction
from mmengine.dist import barrier, get_rank, get_world_size
from mmengine.logging import print_log
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from mmiml.engine import StrictLoadRunner, apply_mmengine_patches, checkpoint_record
from mmiml.engine.hooks.learning_curve_hook import CURVE_FILE, read_curve
from mmiml.evaluation.result_json import METRIC_SPEC_VERSION, SCHEMA_ID
from mmiml.utils.cli import run_cli
from mmiml.utils.config import drop_pretrained
from mmiml.utils.errors import CheckpointError, ConfigError
from mmiml.utils.setup_env import (
    adapt_cfg_to_device,
    drop_training_only_branches,
    register_all_modules,
    teardown_distributed,
)

from . import complexity, provenance
from .profiles import LOWER_BOUND_PREFIX, BenchmarkProfile, apply_profile, crop_of, get_profile
from .result import NO_TRAINING, write_benchmark_result
from .zoo import BY_KEY, JOINT, ZooModel

#: written into the work dir when training finished, so a killed test does not retrain
TRAIN_DONE = "train_done.json"

#: iterations left out of the training throughput (data-loader start, first-call overheads)
_WARMUP_ITERS = 5


def parse_cfg_options(options: Sequence[str] | None) -> dict[str, Any]:
    """``KEY=VALUE`` strings (``--cfg-options``, parsed as ``tools/train.py`` parses them) ->
    a dict for ``Config.merge_from_dict``; a string without ``=`` is a ConfigError."""
    if not options:
        return {}
    for item in options:
        if "=" not in item:
            raise ConfigError("--cfg-options", f"{item!r} is not KEY=VALUE")
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--o", nargs="+", action=DictAction)
    return dict(parser.parse_args(["--o", *options]).o)


def run_config(model: ZooModel, profile: BenchmarkProfile, train_set: str, seed: int,
               cfg_options: Sequence[str] | None = None) -> Config:
    """The resolved config of one run (work dir not set); ``cfg_options`` (``KEY=VALUE``)
    are merged after the profile, so they may change the model, the data or the budget."""
    cfg = apply_profile(Config.fromfile(model.config(profile.scale, train_set)), profile,
                        seed=seed)
    # the model's image score (ZooModel.image_score); "model": the predictions carry it and
    # the metric's pooling is only its fallback
    pooling = "max" if model.image_score == "model" else model.image_score
    for key in ("test_evaluator", "val_evaluator"):
        if isinstance(cfg.get(key), dict) and cfg[key].get("type") == "IMLMetric":
            cfg[key]["image_pooling"] = pooling
    if cfg_options:
        cfg.merge_from_dict(parse_cfg_options(cfg_options))
    return cfg


def _last_checkpoint(work_dir: Path) -> Path | None:
    marker = work_dir / "last_checkpoint"
    if not marker.is_file():
        return None
    path = Path(marker.read_text().strip())
    return path if path.is_file() else None


def _train(cfg: Config, work_dir: Path, resume: bool, launcher: str = "none"
           ) -> dict[str, Any]:
    """Train (resuming from the work dir's last checkpoint if asked); return timing."""
    cfg = copy.deepcopy(cfg)
    cfg.work_dir = str(work_dir)
    resumed = resume and _last_checkpoint(work_dir) is not None
    if resumed:
        cfg.resume, cfg.load_from = True, None
    else:  # a fresh training: no point of an earlier one may enter its curve
        (work_dir / CURVE_FILE).unlink(missing_ok=True)
    cfg.launcher = launcher
    adapt_cfg_to_device(cfg, launcher)
    runner = Runner.from_cfg(cfg)
    t0 = time.perf_counter()
    runner.train()
    wall = time.perf_counter() - t0
    times = runner.message_hub.get_scalar("train/time")
    values = list(times.data[0]) if times is not None else []
    steady = values[_WARMUP_ITERS:] or values
    batch = cfg.train_dataloader.batch_size * get_world_size()  # images per step, all processes
    ips = batch / (sum(steady) / len(steady)) if steady else None
    # after a resume, the wall time covers only the iterations this process trained
    return {"train_wall_s": wall, "train_images_per_s": ips, "resumed": resumed}


def evaluate_checkpoint(cfg: Config, work_dir: Path, checkpoint: Path, launcher: str = "none"
                        ) -> tuple[dict[str, Any] | None, float, int]:
    """Test ``checkpoint`` as tools/test.py does (loaded strictly, training-only branches
    dropped); return the metric result with its ``checkpoint`` block (``None`` on the ranks
    other than 0 of a distributed run), wall time and the number of test images."""
    cfg = copy.deepcopy(cfg)
    cfg.work_dir = str(work_dir)
    cfg.load_from = str(checkpoint)
    cfg.resume = False
    drop_training_only_branches(cfg)
    cfg.launcher = launcher
    adapt_cfg_to_device(cfg, launcher)
    runner = StrictLoadRunner.from_cfg(cfg)
    t0 = time.perf_counter()
    runner.test()
    wall = time.perf_counter() - t0
    metric = runner.test_evaluator.metrics[0]
    result = getattr(metric, "last_result", None)
    if get_rank() != 0:
        return None, wall, 0
    if result is None:
        raise RuntimeError(f"{type(metric).__name__} kept no result: the benchmark needs "
                           "IMLMetric as the test evaluator")
    result = {**result, "checkpoint": checkpoint_record(
        checkpoint, runner.load_report, shown_as=_shown_path(checkpoint), absolute=False)}
    return result, wall, result["num_images"]


def _shown_path(path: Path) -> str:
    """``path`` relative to the current folder when it lies below it, else its file name: a
    committed result file names no folder of the machine that wrote it."""
    try:
        return Path(path).resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return Path(path).name


def _complexity(cfg: Config, crop: int | None) -> dict[str, Any]:
    from mmseg.registry import MODELS

    train_cfg = copy.deepcopy(cfg)
    drop_pretrained(train_cfg.model)
    train_model = MODELS.build(train_cfg.model)
    params_train = sum(p.numel() for p in train_model.parameters()) / 1e6
    del train_model
    model, _ = complexity.load(cfg)
    size = crop or 256
    flops = complexity.gflops(model, size, "benchmark run")
    return {"params_m": complexity.inference_params_m(model), "params_train_m": params_train,
            "gflops": None if flops == complexity.NA else flops,
            "flops_input": f"{size}x{size}"}


def _manifest(cfg: Config) -> str:
    return cfg.test_dataloader.dataset.ann_file


def _provenance(config_hash: str | None, manifest: str, resumed: bool) -> dict[str, Any]:
    return {
        **provenance.code_state(),
        "config_hash": config_hash,
        "test_data": provenance.test_data_hashes(manifest),
        "metric_schema": SCHEMA_ID,
        "metric_spec_version": METRIC_SPEC_VERSION,
        "packages": provenance.package_versions(),
        "machine": provenance.machine(),
        "finished_at": datetime.datetime.now(datetime.timezone.utc).strftime(
            "%Y-%m-%dT%H:%M:%SZ"),
        "resumed": resumed,
    }


def _protocol_record(name: str) -> dict[str, Any]:
    from .protocols import read_prepared

    info = read_prepared(name)
    return {k: info[k] for k in ("protocol", "present", "missing", "task_weights", "counts")}


def test_manifest(profile: BenchmarkProfile) -> str:
    """The profile's test manifest (generated first if it is SynthIML and missing)."""
    from mmiml.datasets.synthesis.generator import ensure_synthiml

    cfg = run_config(BY_KEY["plain_convnext_uper"], profile, "joint", 0)
    spec = cfg.test_dataloader.dataset.get("synthiml")
    if spec:
        ensure_synthiml(**spec)
    return _manifest(cfg)


def run_lower_bound(profile_name: str, name: str, work_dir: str, out: str,
                    max_iters: int | None = None) -> dict[str, Any]:
    """Score the training-free predictor ``name`` on the profile's test splits and write it as
    a benchmark result of kind ``lower_bound`` (a reference row of the leaderboard)."""
    from mmiml.evaluation.lower_bounds import score_lower_bounds

    t_start = time.perf_counter()
    profile = get_profile(profile_name, max_iters)
    manifest = test_manifest(profile)
    t0 = time.perf_counter()
    result = score_lower_bounds(manifest, work_dir, split="test", predictors=[name])[name]
    result.pop("predictor", None)
    test_wall = time.perf_counter() - t0
    doc: dict[str, Any] = {
        "schema": "mmiml-benchmark/1", "profile": profile.name, "model": f"lower_bound-{name}",
        "model_name": f"lower bound: {name}", "train_set": NO_TRAINING, "seed": 0,
        "kind": "lower_bound", "ablation_of": None,
        "note": "training-free reference (mmiml.evaluation.lower_bounds)", "config": None,
        "budget": {"max_iters": None, "batch_size": None, "crop": None,
                   "description": "no training"},
        "result": result,
        "complexity": {"params_m": 0.0, "params_train_m": 0.0, "gflops": None,
                       "flops_input": None},
        "throughput": {"train_images_per_s": None,
                       "test_images_per_s": result["num_images"] / test_wall},
        "wall_time_s": {"train": 0.0, "test": test_wall,
                        "total": time.perf_counter() - t_start},
        "provenance": _provenance(None, manifest, False),
    }
    write_benchmark_result(doc, out)
    return doc


def run(profile_name: str, model_key: str, train_set: str, seed: int, work_dir: str,
        out: str, resume: bool = False, max_iters: int | None = None,
        launcher: str = "none", cfg_options: Sequence[str] | None = None
        ) -> dict[str, Any] | None:
    """Train, test and write one run's result file; return the document (``None`` on the
    ranks other than 0 of a distributed run: rank 0 writes the file)."""
    t_start = time.perf_counter()
    profile = get_profile(profile_name, max_iters)
    if model_key not in BY_KEY:
        raise ConfigError("--model", f"unknown model {model_key!r}; the zoo has "
                                     f"{', '.join(BY_KEY)}")
    model = BY_KEY[model_key]
    register_all_modules()
    apply_mmengine_patches()  # the test loads the checkpoint with weights_only=True
    init_default_scope("mmseg")
    cfg = run_config(model, profile, train_set, seed, cfg_options)
    config_hash = provenance.config_hash(cfg)
    work = Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    done_marker = work / TRAIN_DONE
    if done_marker.is_file() and json.loads(done_marker.read_text()).get(
            "config_hash") == config_hash and _last_checkpoint(work) is not None:
        timing = json.loads(done_marker.read_text())
    else:
        timing = _train(cfg, work, resume, launcher)
        timing["config_hash"] = config_hash
        if get_rank() == 0:
            done_marker.write_text(json.dumps(timing))
    barrier()  # every process reads the checkpoint rank 0 saved
    checkpoint = _last_checkpoint(work)
    if checkpoint is None:
        raise CheckpointError(work, "training ended without a checkpoint")
    if not re.search(rf"iter_{cfg.train_cfg.max_iters}\.pth$", checkpoint.name):
        raise CheckpointError(checkpoint, f"training stopped before iteration "
                                          f"{cfg.train_cfg.max_iters} (see the log in {work})")
    result, test_wall, n_test = evaluate_checkpoint(cfg, work, checkpoint, launcher)
    if result is None:
        return None
    crop = crop_of(cfg)
    doc: dict[str, Any] = {
        "schema": "mmiml-benchmark/1",
        "profile": profile.name,
        "model": model.key,
        "model_name": model.name,
        "train_set": train_set,
        "seed": seed,
        "kind": "ablation" if model.ablation_of else "model",
        "ablation_of": model.ablation_of,
        "note": model.note,
        "config": model.config(profile.scale, train_set),
        **({"cfg_options": list(cfg_options)} if cfg_options else {}),
        "budget": {"max_iters": int(cfg.train_cfg.max_iters),
                   "batch_size": int(cfg.train_dataloader.batch_size), "crop": crop,
                   "description": profile.budget(cfg)},
        "result": result,
        **({"learning_curve": curve} if (curve := read_curve(work)) else {}),
        **({"protocol": _protocol_record(profile.protocol)} if profile.protocol else {}),
        "complexity": _complexity(cfg, crop),
        "throughput": {"train_images_per_s": timing["train_images_per_s"],
                       "test_images_per_s": n_test / test_wall if test_wall > 0 else None},
        "wall_time_s": {"train": timing["train_wall_s"], "test": test_wall,
                        "total": time.perf_counter() - t_start},
        "provenance": _provenance(config_hash, _manifest(cfg), bool(timing["resumed"])),
    }
    if profile.robustness_per_task and train_set == JOINT and seed == 0:
        if get_world_size() > 1:  # rank 0 alone would wait for the others' test forever
            print_log("robustness protocol skipped: it runs in one process; run "
                      "tools/test_robustness.py on this run's checkpoint", logger="current",
                      level=logging.WARNING)
        else:
            doc["robustness"] = _robustness(cfg, work, checkpoint, profile, launcher)
            doc["wall_time_s"]["total"] = time.perf_counter() - t_start
    write_benchmark_result(doc, out)
    return doc


def _robustness(cfg: Config, work: Path, checkpoint: Path, profile: BenchmarkProfile,
                launcher: str) -> dict[str, Any]:
    """The robustness protocol on the first ``robustness_per_task`` test images of each task;
    the degraded sets are shared by the profile's runs (``<work root>/robustness_data``)."""
    from mmiml.evaluation.robustness import run_protocol

    def evaluate(path: Path) -> dict[str, Any]:
        run_cfg = copy.deepcopy(cfg)
        ds = run_cfg.test_dataloader.dataset
        ds.ann_file = str(path)
        ds.pop("synthiml", None)
        result, _, _ = evaluate_checkpoint(run_cfg, work / "robustness", checkpoint, launcher)
        return result

    t0 = time.perf_counter()
    record = run_protocol(evaluate, _manifest(cfg), work.parent / "robustness_data",
                          profile.robustness_kinds, "test", None, profile.robustness_per_task,
                          log=lambda m: print_log(m, logger="current"))
    record["wall_time_s"] = time.perf_counter() - t0
    return record


def main(argv: list[str] | None = None) -> int:
    """The command line of one run; returns the exit status (errors are raised, for
    :func:`mmiml.utils.cli.run_cli`)."""
    p = argparse.ArgumentParser(description="one benchmark run (see tools/benchmark.py)")
    p.add_argument("--profile", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--train-set", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--work-dir", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--resume", action="store_true",
                   help="continue from the work dir's last checkpoint")
    p.add_argument("--max-iters", type=int, help="another budget than the profile's")
    p.add_argument("--launcher", choices=["none", "pytorch"], default="none",
                   help="pytorch: one process per GPU under torchrun (tools/dist_run.sh)")
    p.add_argument("--local_rank", "--local-rank", type=int, default=0)
    p.add_argument("--cfg-options", nargs="+", metavar="KEY=VALUE",
                   help="config overrides after the profile's (a study of a variant that "
                        "has no zoo entry); recorded in the result file")
    args = p.parse_args(argv)
    os.environ.setdefault("LOCAL_RANK", str(args.local_rank))
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", torch.get_num_threads())))
    if args.model.startswith(LOWER_BOUND_PREFIX):
        doc = run_lower_bound(args.profile, args.model.removeprefix(LOWER_BOUND_PREFIX),
                              args.work_dir, args.out, args.max_iters)
    else:
        doc = run(args.profile, args.model, args.train_set, args.seed, args.work_dir, args.out,
                  args.resume, args.max_iters, args.launcher, args.cfg_options)
    teardown_distributed()
    if doc is None:  # not rank 0
        return 0
    avg = doc["result"]["avg"]
    print(f"[benchmark run] {args.model} {args.train_set} seed {args.seed}: "
          f"avg IoU {avg['pixel_iou_image']:.4f} F1 {avg['pixel_f1_image']:.4f} -> {args.out}",
          flush=True)
    return 0


if __name__ == "__main__":
    run_cli(main)
