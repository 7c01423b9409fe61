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

from mmiml.datasets.io import (
    check_pixels,
    image_size,
    open_image,
    read_mask,
    resolve_max_pixels,
    tampered_mask_findings,
)
from mmiml.datasets.manifest import read_manifest, sample_id
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


_PICKLE_PROTOCOLS = frozenset(range(2, 6))


def _load_npy(path: Path, max_pixels: int | None) -> np.ndarray:
    """A ``.npy`` map, checked from its header (kind, dtype, shape, pixel limit) before reading.

    ``np.load`` alone would return an archive for a renamed ``.npz``, raise ``EOFError`` for an
    empty file and only refuse object arrays after parsing them; every such case is named here.
    """
    size = path.stat().st_size
    if size == 0:
        raise IMLDataError(path, "empty .npy prediction (0 bytes)")
    with open(path, "rb") as f:
        head = f.read(8)
        if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
            raise IMLDataError(path, "a .npz archive (zip) named .npy, not a .npy array; save "
                                     "each map with np.save(path, array)")
        if head[:1] == b"\x80" and len(head) > 1 and head[1] in _PICKLE_PROTOCOLS:
            raise IMLDataError(path, "a Python pickle named .npy, not a .npy array; pickled "
                                     "predictions are refused (loading them can run code): save "
                                     "with np.save(path, array)")
        if not head.startswith(b"\x93NUMPY"):
            raise IMLDataError(path, "not a .npy file (no NumPy header); save each map with "
                                     "np.save(path, array)")
        f.seek(0)
        try:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(f)
            else:
                raise ValueError(f"unsupported .npy format version {version[0]}.{version[1]}")
        except (ValueError, OSError, EOFError) as e:
            raise IMLDataError(path, f"unreadable .npy header: {e}") from None
    if dtype.hasobject:
        raise IMLDataError(path, f"prediction holds Python objects (dtype {dtype}, a pickled "
                                 f"object array); save a float, uint8 or bool array")
    if not (dtype == np.bool_ or dtype == np.uint8 or np.issubdtype(dtype, np.floating)):
        raise IMLDataError(path, f"prediction dtype {dtype} is not float, uint8 or bool")
    squeezed = tuple(shape)
    while len(squeezed) > 2 and squeezed[0] == 1:
        squeezed = squeezed[1:]
    if len(squeezed) != 2:
        raise IMLDataError(path, f"prediction must be HxW or 1xHxW, got shape {tuple(shape)}")
    h, w = squeezed
    if h == 0 or w == 0:
        raise IMLDataError(path, f"empty prediction map (shape {tuple(shape)})")
    # the same limit, and message, as prediction images
    check_pixels(path, "prediction", w, h, max_pixels)
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:
        raise IMLDataError(path, f"truncated or unreadable .npy prediction: {e}") from None
    return arr.reshape(h, w)


def load_prediction(path: str | os.PathLike[str], *,
                    max_pixels: int | None = None) -> np.ndarray:
    """Read a probability map as an HxW float32 array in [0, 1].

    ``.npy``: float maps in [0, 1], uint8 (/255) or bool; ``.png``: 8-bit grey (/255), 16-bit
    grey (/65535) or grey stored as RGB/LA. ``max_pixels`` is the pixel limit of images
    (None: the default, 0: none), checked from the header before the map is read.

    Raises:
        IMLDataError: naming the file, for anything that is not such a map (empty, truncated,
            an archive or pickle renamed .npy, wrong dtype or shape, over the pixel limit,
            values outside [0, 1]).
    """
    path = Path(path)
    if path.suffix.lower() == ".npy":
        arr = _load_npy(path, max_pixels)
        if arr.dtype == np.bool_:
            arr = arr.astype(np.float32)
        elif arr.dtype == np.uint8:
            arr = arr.astype(np.float32) / 255.0
        arr = arr.astype(np.float32, copy=False)
        lo, hi = float(arr.min()), float(arr.max())
        if not (lo >= 0.0 and hi <= 1.0):  # also catches NaN
            raise IMLDataError(path, f"prediction values must be probabilities in [0, 1] "
                                     f"(found {lo}..{hi}); logits need a sigmoid first")
        return arr
    # the one image reader: header-checked pixel limit, then a named decode failure
    with open_image(path, "prediction", max_pixels=max_pixels) as img:
        mode = img.mode
        arr = np.asarray(img)
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


def _image_shape(path: str, max_pixels: int | None = None) -> tuple[int, int]:
    w, h = image_size(path, "image", max_pixels=max_pixels)  # header only, limit checked
    return h, w


def _ground_truth(entry: dict[str, Any], max_pixels: int | None = None) -> np.ndarray:
    """The entry's ground truth at the image's size; an authentic entry is all zeros.

    A tampered entry's mask goes through the mask policy and its entry checks: a mask with no
    tampered pixel raises (it would otherwise be scored as an authentic image).
    """
    shape = _image_shape(entry["image"], max_pixels)
    if entry["mask"] is None:
        return np.zeros(shape, dtype=np.uint8)
    reading = read_mask(entry["mask"], inverted=bool(entry.get("mask_inverted", False)),
                        threshold=entry.get("mask_threshold"), expected_shape=shape,
                        max_pixels=max_pixels)
    errors, _ = tampered_mask_findings(reading, entry["mask"])
    if errors:
        raise errors[0]
    return reading.mask


def _sample(entry: dict[str, Any], pred_path: Path, resize: bool,
            max_pixels: int | None = None, manifest: str | os.PathLike[str] | None = None
            ) -> SegDataSample:
    gt = _ground_truth(entry, max_pixels)
    prob = load_prediction(pred_path, max_pixels=max_pixels)
    if prob.shape != gt.shape and not resize:
        raise IMLDataError(pred_path, f"prediction is {prob.shape[1]}x{prob.shape[0]} (WxH) but "
                                      f"the ground truth of {entry['image']} is "
                                      f"{gt.shape[1]}x{gt.shape[0]}; pass --resize to resize it")
    sample = SegDataSample(metainfo={
        "img_path": entry["image"],
        **({"sample_id": sample_id(entry["image"], manifest)} if manifest is not None else {}),
        "seg_map_path": entry["mask"],
        "task": entry["task"],
        "source": entry.get("source"),
        "ori_shape": gt.shape,
        "pred_path": str(pred_path),
        **({"group": entry["group"]} if entry.get("group") is not None else {}),
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
    max_pixels: int | None = None,
    group_by: str | None = None,
) -> dict[str, Any]:
    """Score the predictions in ``pred_dir`` against ``manifest``; returns the result dict.

    ``max_pixels`` is the pixel limit for images, masks and predictions (None: the default,
    ``$MMIML_MAX_PIXELS`` or ``mmiml.datasets.io.DEFAULT_MAX_PIXELS``; 0: none).
    ``group_by`` names a manifest key (e.g. ``manipulation``): each entry is then scored in the
    group ``<task>/<value>`` (``per_group`` of the result; a missing key reads ``unknown``),
    instead of the manifest's own ``group``.
    """
    max_pixels = resolve_max_pixels(max_pixels)
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
        if group_by is not None:
            entry = {**entry, "group": f"{entry['task']}/{entry.get(group_by) or 'unknown'}"}
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
        batch.append(_sample(entry, pred_path, resize, max_pixels, manifest))
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
    if group_by is not None:
        result["inputs"]["group_by"] = group_by
    return result
