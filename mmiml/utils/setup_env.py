"""Registration and device set-up shared by tools/train.py and tools/test.py."""

from __future__ import annotations

import argparse
import os

import torch
import torch.distributed as dist
from mmengine.config import Config, DictAction
from mmengine.logging import print_log

from .config import iter_dicts, merge_overrides, read_config
from .errors import ConfigError


def register_all_modules() -> None:
    """Import every mmiml module so its classes are in mmseg's/mmdet's registries."""
    from mmseg.utils import register_all_modules as register_mmseg

    import mmiml.datasets  # noqa: F401
    import mmiml.engine  # noqa: F401
    import mmiml.evaluation  # noqa: F401
    import mmiml.models  # noqa: F401
    import mmiml.visualization  # noqa: F401

    register_mmseg(init_default_scope=False)


def load_config(args: argparse.Namespace) -> Config:
    """Config from ``args.config`` with ``--cfg-options``, launcher and work dir applied.

    A config that cannot be read, or an option naming a key the config does not have (unless
    ``--allow-new-keys``), is a :class:`~mmiml.utils.errors.ConfigError` naming the file.
    """
    cfg = read_config(args.config)
    cfg.launcher = args.launcher
    if "work_dir" not in cfg:  # set below in any case, so an option may name it
        cfg.work_dir = None
    if args.cfg_options:
        merge_overrides(cfg, args.cfg_options, args.config,
                        allow_new_keys=getattr(args, "allow_new_keys", False))
    cfg.work_dir = args.work_dir or cfg.get("work_dir") or os.path.join(
        "./work_dirs", os.path.splitext(os.path.basename(args.config))[0])
    return cfg


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """The options tools/train.py and tools/test.py share (mmseg's names)."""
    parser.add_argument("--work-dir", help="where logs and checkpoints go")
    parser.add_argument(
        "--cfg-options", nargs="+", action=DictAction,
        help="override config keys, e.g. train_cfg.max_iters=100 (a key the config does not "
             "have is an error, see --allow-new-keys)")
    parser.add_argument(
        "--allow-new-keys", action="store_true",
        help="let --cfg-options add keys the config does not have (otherwise an error, as a "
             "new key is usually a typo)")
    parser.add_argument(
        "--launcher", choices=["none", "pytorch", "slurm", "mpi"], default="none")
    parser.add_argument("--local_rank", "--local-rank", type=int, default=0)


def replace_syncbn(cfg: Config | dict) -> int:
    """Turn every ``SyncBN`` norm config in ``cfg`` into ``BN`` in place; return how many.

    Only for CPU runs with several processes: there the Runner builds the model and wraps it
    in DDP in one step, so :func:`mmengine.model.revert_sync_batchnorm` has no built model to
    act on in between, and SyncBN cannot synchronise without CUDA. Everywhere else the built
    model is reverted instead (mmengine's Runner does it by itself for one-process runs).
    """
    changed = 0
    for node in iter_dicts(cfg):
        if node.get("type") == "SyncBN":
            node["type"] = "BN"
            changed += 1
    return changed


def adapt_cfg_to_device(cfg: Config, launcher: str) -> None:
    """Make a GPU-minded config run on CPU-only torch, in one process or several (gloo).

    mmengine's pytorch launcher calls ``torch.cuda.set_device`` and fails on CPU-only torch,
    so without a GPU we initialise the gloo group ourselves before the Runner exists, wrap the
    model in DDP without device ids, and use BN instead of SyncBN (SyncBN needs CUDA; in one
    process mmengine's Runner reverts SyncBN layers itself). mmengine's slurm launcher needs
    GPUs, so ``slurm`` without one is refused here with the reason.
    """
    if torch.cuda.is_available() or launcher == "none":
        return
    if launcher == "slurm":
        raise ConfigError("--launcher slurm", "needs GPUs (mmengine's slurm launcher binds "
                          "one GPU per task) but torch sees none; use tools/dist_train.sh or "
                          "tools/dist_test.sh for CPU processes")
    changed = replace_syncbn(cfg)
    if changed:
        print_log(f"no GPU: replaced {changed} SyncBN config(s) with BN", logger="current")
    cfg.env_cfg.setdefault("dist_cfg", {})["backend"] = "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend="gloo", init_method="env://")
    cfg.model_wrapper_cfg = dict(
        type="MMDistributedDataParallel",
        device_ids=None,
        broadcast_buffers=False,
        find_unused_parameters=cfg.get("find_unused_parameters", False),
    )
    print_log(
        f"no GPU: gloo process group rank {dist.get_rank()}/{dist.get_world_size()} "
        f"(LOCAL_RANK={os.environ.get('LOCAL_RANK')})",
        logger="current",
    )


def drop_training_only_branches(cfg: Config) -> int:
    """Build the test-time model without training-only parts (Omni-IML's Anomaly Enhancement
    detection branch, docs/design/omni_iml.md section 4); returns how many were switched off."""
    dropped = 0
    for part in iter_dicts(cfg.model.get("neck")):
        if part.get("type") == "AnomalyEnhancement" and part.get("with_detection", True):
            part["with_detection"] = False
            dropped += 1
    if dropped:
        print_log("test model: Anomaly Enhancement detection branch left out (training only)",
                  logger="current")
    return dropped


def teardown_distributed() -> None:
    """Leave the process group cleanly: exiting with gloo threads alive can abort a rank."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
