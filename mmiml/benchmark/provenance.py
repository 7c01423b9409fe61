"""Provenance of a benchmark result: code, config, data and software it came from."""
from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mmengine.config import Config

from mmiml.datasets.manifest import OPTIONAL_PATH_KEYS, read_manifest
from mmiml.utils.versions import installed_versions

ROOT = Path(__file__).resolve().parents[2]

#: the code a result depends on; a commit that changes none of these (docs, the leaderboard)
#: keeps the code hash, so results from before and after it are still "one commit of the code"
CODE_PATHS: tuple[str, ...] = ("mmiml", "configs", "tools")

PACKAGES: tuple[str, ...] = ("torch", "mmengine", "mmcv", "mmsegmentation", "mmdet", "numpy",
                             "jpeglib", "pillow")

#: keys of a resolved config that say where a run is, not what it computes
_VOLATILE_CONFIG_KEYS: tuple[str, ...] = ("work_dir", "launcher", "resume", "load_from",
                                          "filename")


def _git(*args: str) -> str:
    out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed in {ROOT}: {out.stderr.strip()}")
    return out.stdout.strip()


def code_state() -> dict[str, Any]:
    """``git_commit``, ``code_hash`` (the git trees of CODE_PATHS at HEAD, hashed together) and
    ``code_dirty`` (uncommitted changes under CODE_PATHS)."""
    try:
        commit = _git("rev-parse", "HEAD")
        trees = [_git("rev-parse", f"HEAD:{p}") for p in CODE_PATHS]
        dirty = bool(_git("status", "--porcelain", "--", *CODE_PATHS))
    except (RuntimeError, FileNotFoundError):
        return {"git_commit": "unknown", "code_hash": "unknown", "code_dirty": True}
    code_hash = hashlib.sha256("\n".join(trees).encode()).hexdigest()[:16]
    return {"git_commit": commit, "code_hash": code_hash, "code_dirty": dirty}


def config_hash(cfg: Config) -> str:
    """sha256 (16 hex) of the resolved config, without the keys that only say where it runs."""
    d = {k: v for k, v in cfg.to_dict().items() if k not in _VOLATILE_CONFIG_KEYS}
    text = json.dumps(d, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _sha_files(paths: Iterable[Path], h: Any) -> None:
    for p in paths:
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)


def test_data_hashes(manifest: str | Path, split: str = "test") -> dict[str, str]:
    """Per task: sha256 (16 hex) of the manifest records of ``split`` and of every image and
    mask file they name (the changed-pixel mask too), in manifest order; a changed pixel
    changes the hash."""
    manifest = Path(manifest)
    folder = manifest.resolve().parent
    by_task: dict[str, Any] = {}
    for rec in read_manifest(manifest, split=split):
        h = by_task.setdefault(rec["task"], hashlib.sha256())
        files = [Path(rec["image"])] + [Path(rec[k]) for k in ("mask", *OPTIONAL_PATH_KEYS)
                                         if rec.get(k)]
        # relative paths: the hash must not depend on where the checkout lives
        record = {k: v for k, v in rec.items()
                  if k not in ("image", "mask", "line", *OPTIONAL_PATH_KEYS)}
        record["files"] = [os.path.relpath(f, folder) for f in files]
        h.update(json.dumps(record, sort_keys=True, default=str).encode())
        _sha_files(files, h)
    if not by_task:
        raise ValueError(f"{manifest}: no {split!r} records to hash")
    return {task: h.hexdigest()[:16] for task, h in sorted(by_task.items())}


def package_versions() -> dict[str, str]:
    return {"python": platform.python_version(), **installed_versions(PACKAGES)}


def machine() -> str:
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (f"{platform.machine()}, {os.cpu_count()} CPUs, {gpu}, torch threads "
            f"{torch.get_num_threads()}")
