"""Score saved prediction maps of any tool with IMLMetric (used by tools/score.py and
tools/lower_bounds.py; one code path with tools/test.py)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample
from PIL import Image

from mmiml.datasets.io import load_mask
from mmiml.datasets.manifest import read_manifest
from mmiml.evaluation.metrics.iml_metric import IMLMetric
from mmiml.utils.errors import IMLDataError

PRED_SUFFIXES = (".png", ".npy")
BATCH = 8  # samples per IMLMetric.process call: bounds memory for large originals


def index_predictions(pred_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Map file stem -> prediction file under ``pred_dir`` (recursive); a stem found twice is an
    error naming both files, since the match would be a guess."""
    root = Path(pred_dir)
    if not root.is_dir():
        raise IMLDataError(root, "prediction folder not found")
    index: dict[str, Path] = {}
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.suffix.lower() not in PRED_SUFFIXES:
            continue
        if path.stem in index:
            raise IMLDataError(path, f"ambiguous prediction stem {path.stem!r}: also "
                                     f"{index[path.stem]}")
        index[path.stem] = path
    return index


def load_prediction(path: str | os.PathLike[str]) -> np.ndarray:
    """Read a probability map as an HxW float32 array in [0, 1]."""
    path = Path(path)
    if path.suffix.lower() == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise IMLDataError(path, f"unreadable .npy prediction: {e}") from e
        while arr.ndim > 2 and arr.shape[0] == 1:
            arr = arr[0]
        if arr.ndim != 2:
            raise IMLDataError(path, f"prediction must be HxW or 1xHxW, got shape {arr.shape}")
        if arr.dtype == np.bool_:
            arr = arr.astype(np.float32)
        elif arr.dtype == np.uint8:
            arr = arr.astype(np.float32) / 255.0
        elif not np.issubdtype(arr.dtype, np.floating):
            raise IMLDataError(path, f"prediction dtype {arr.dtype} is not float, uint8 or bool")
        arr = arr.astype(np.float32, copy=False)
        lo, hi = float(arr.min()), float(arr.max())
        if not (lo >= 0.0 and hi <= 1.0):  # also catches NaN
            raise IMLDataError(path, f"prediction values must be probabilities in [0, 1] "
                                     f"(found {lo}..{hi}); logits need a sigmoid first")
        return arr
    try:
        with Image.open(path) as img:
            img.load()
            mode = img.mode
            arr = np.asarray(img)
    except (OSError, ValueError, SyntaxError) as e:
        raise IMLDataError(path, f"unreadable PNG prediction: {e}") from e
    if mode == "L":
        return arr.astype(np.float32) / 255.0
    if mode.startswith("I;16") or mode == "I":
        return arr.astype(np.float32) / 65535.0
    if mode in ("LA", "RGB", "RGBA"):
        color = arr[..., :1] if mode == "LA" else arr[..., :3]
        if not (color == color[..., :1]).all():
            raise IMLDataError(path, f"{mode} prediction is not grey (channels differ); save a "
                                     "single-channel probability map")
        return color[..., 0].astype(np.float32) / 255.0
    raise IMLDataError(path, f"unsupported PNG mode {mode!r}; expected 8-bit grey (L)")


def _image_shape(path: str) -> tuple[int, int]:
    try:
        with Image.open(path) as img:  # header only: the pixels are not needed
            w, h = img.size
    except (OSError, ValueError, SyntaxError) as e:
        raise IMLDataError(path, f"cannot read image size: {e}") from e
    return h, w


def _ground_truth(entry: dict[str, Any]) -> np.ndarray:
    shape = _image_shape(entry["image"])
    if entry["mask"] is None:
        return np.zeros(shape, dtype=np.uint8)
    return load_mask(entry["mask"], inverted=bool(entry.get("mask_inverted", False)),
                     threshold=entry.get("mask_threshold"), expected_shape=shape)


def _sample(entry: dict[str, Any], pred_path: Path, resize: bool) -> SegDataSample:
    gt = _ground_truth(entry)
    prob = load_prediction(pred_path)
    if prob.shape != gt.shape and not resize:
        raise IMLDataError(pred_path, f"prediction is {prob.shape[1]}x{prob.shape[0]} (WxH) but "
                                      f"the ground truth of {entry['image']} is "
                                      f"{gt.shape[1]}x{gt.shape[0]}; pass --resize to resize it")
    sample = SegDataSample(metainfo={
        "img_path": entry["image"],
        "seg_map_path": entry["mask"],
        "task": entry["task"],
        "source": entry.get("source"),
        "ori_shape": gt.shape,
        "pred_path": str(pred_path),
    })
    sample.pred_prob = PixelData(data=torch.from_numpy(prob)[None])
    sample.gt_sem_seg = PixelData(data=torch.from_numpy(gt)[None])
    return sample


def score(
    pred_dir: str | os.PathLike[str],
    manifest: str | os.PathLike[str],
    *,
    split: str | None = "test",
    threshold: float = 0.5,
    authentic_policy: str = "exclude",
    image_pooling: str = "max",
    skip_missing: bool = False,
    resize: bool = False,
) -> dict[str, Any]:
    """Score the predictions in ``pred_dir`` against ``manifest``; returns the result dict."""
    entries = read_manifest(manifest, split=split)
    if not entries:
        raise IMLDataError(manifest, f"no manifest entries for split {split!r}")
    by_stem: dict[str, dict[str, Any]] = {}
    for entry in entries:
        stem = Path(entry["image"]).stem
        if stem in by_stem:
            raise IMLDataError(entry["image"], f"ambiguous image stem {stem!r}: also "
                                               f"{by_stem[stem]['image']}; predictions cannot be "
                                               "matched by stem")
        by_stem[stem] = entry
    preds = index_predictions(pred_dir)

    metric = IMLMetric(threshold=threshold, authentic_policy=authentic_policy,
                       image_pooling=image_pooling, log_table=False)
    skipped: list[str] = []
    batch: list[SegDataSample] = []
    for stem, entry in by_stem.items():
        pred_path = preds.get(stem)
        if pred_path is None:
            if skip_missing:
                skipped.append(stem)
                continue
            raise IMLDataError(entry["image"], f"no prediction named {stem}.png or {stem}.npy "
                                               f"under {pred_dir} (use --skip-missing to skip)")
        batch.append(_sample(entry, pred_path, resize))
        if len(batch) == BATCH:
            metric.process(None, batch)
            batch = []
    if batch:
        metric.process(None, batch)
    if not metric.results:
        raise IMLDataError(pred_dir, "no prediction matched any manifest entry")
    metric.evaluate(len(metric.results))
    result = dict(metric.last_result or {})
    result["num_skipped"] = len(skipped)
    result["skipped"] = skipped
    result["inputs"] = {"pred": os.fspath(pred_dir), "manifest": os.fspath(manifest),
                        "split": split or "all"}
    return result
