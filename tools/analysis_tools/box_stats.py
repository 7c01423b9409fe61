"""Box statistics of a manifest's masks as Anomaly Enhancement trains on them, and anchors that fit.

    python tools/analysis_tools/box_stats.py MANIFEST [--config CONFIG] [--split train]
        [--crop 128] [--scale 1] [--min-side 4] [--pos-iou 0.7] [--low-iou 0.3]
        [--max-anchors 12] [--out FILE.json]

The boxes are made the way training makes them: each mask is read under the mask policy
(``load_mask``), optionally resized by ``--scale`` (nearest; to ask what a larger image profile
would look like), cropped by ``GridAlignedRandomCrop`` at the training crop (seeded), and turned
into the 8-connected components' boxes by ``boxes_from_seg_map``; boxes whose side
``sqrt(w * h)`` is under ``--min-side`` are left out, as ``AnomalyEnhancement(min_box_side=)``
does. Printed (markdown):

* per task: images, boxes per tampered image, box side quantiles (5/25/50/75/95%) and the
  aspect ratio h/w (5/50/95%), plus the boxes the side limit drops (share of boxes and of
  their area);
* anchor sets (mmdet ``AnchorGenerator``: one set of scales on every level, anchor side
  ``stride * scale``, ratio ``h / w``): the configured one, Faster R-CNN's, the fewest scales
  per octave whose sides span the 5-95% box sides, and the suggestion; each with the share of
  boxes whose best anchor reaches IoU 0.7, ``--pos-iou`` (RPN positive), 0.5 and
  ``--low-iou`` (the assigner's ``min_pos_iou``: below it a box gets no positive anchor at
  all, even with ``match_low_quality``), and per task at ``--pos-iou``. The best anchor of a
  box is searched where the RPN has them: on every level, centred on the grid point nearest
  the box centre (for a fixed anchor shape IoU only falls with the centre offset, so this is
  the exact maximum over the whole grid);
* the suggestion (our rule, :func:`suggest`), searched over 1-3 scales per octave spanning 1-3
  octaves and two ratio sets (0.5/1/2 and powers of 2 reaching the 5-95% aspect ratios), at
  most ``--max-anchors`` per location: (nearly) every box reachable at ``--low-iou``, then the
  most boxes at ``--pos-iou``, then the fewest anchors;
* the level RoI Align reads each box from (mmdet's ``finest_scale`` rule).

``--config`` reads the crop (``GridAlignedRandomCrop``), strides, anchors, ``min_box_side``,
the RPN assigner thresholds and RoI Align's ``finest_scale`` from a training config and shows
its anchors as the first row; explicit options win over the config.
"""
from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

try:
    import mmiml  # noqa: F401
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from mmiml import TASKS
from mmiml.datasets.manifest import SPLITS
from mmiml.evaluation.result_json import write_json
from mmiml.utils.cli import run_cli
from mmiml.utils.errors import ConfigError, IMLDataError

QUANTILES: tuple[int, ...] = (5, 25, 50, 75, 95)
#: Faster R-CNN's anchors and RPN assigner (mmdet ``faster-rcnn_r50_fpn.py``)
FASTER_RCNN = dict(scales=(8.0,), ratios=(0.5, 1.0, 2.0), pos_iou=0.7, low_iou=0.3)
DEFAULT_STRIDES: tuple[int, ...] = (4, 8, 16, 32)
#: mmdet ``SingleRoIExtractor`` default
DEFAULT_FINEST_SCALE = 56
#: the suggestion takes the fewest anchors per location within this much of the best share
SUGGEST_TOLERANCE = 0.01


# ------------------------------------------------------------------------------------ boxes
def training_boxes(mask: np.ndarray, crop: tuple[int, int], scale: float = 1.0) -> np.ndarray:
    """``(N, 4)`` xyxy boxes of ``mask`` (HxW, 1 = tampered) after the training crop.

    ``scale`` resizes the mask first (nearest). The crop is ``GridAlignedRandomCrop``'s (it
    draws from ``np.random``: seed it for repeatable figures); padding is ignore (255), which
    ``boxes_from_seg_map`` counts as authentic, as in training.
    """
    import cv2

    from mmiml.datasets.transforms.augment import GridAlignedRandomCrop
    from mmiml.datasets.transforms.loading import boxes_from_seg_map

    if scale != 1.0:
        h, w = mask.shape[:2]
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        mask = cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST)
    results = {"img": np.zeros((*mask.shape[:2], 1), dtype=np.uint8),
               "gt_seg_map": mask, "seg_fields": ["gt_seg_map"]}
    results = GridAlignedRandomCrop(crop_size=crop).transform(results)
    boxes, _ = boxes_from_seg_map(results["gt_seg_map"])
    return boxes


def box_sides(boxes: np.ndarray) -> np.ndarray:
    """``sqrt(w * h)`` of xyxy boxes (the anchor generator's notion of size)."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return np.sqrt((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))


def box_aspects(boxes: np.ndarray) -> np.ndarray:
    """``h / w`` of xyxy boxes (mmdet's anchor ratio)."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return (boxes[:, 3] - boxes[:, 1]) / (boxes[:, 2] - boxes[:, 0])


@dataclass
class ImageBoxes:
    """The training boxes of one manifest entry."""

    task: str
    tampered: bool
    boxes: np.ndarray  # (N, 4) kept boxes
    dropped: int  # boxes under the side limit
    dropped_area: float = 0.0  # their summed box area (px)


def collect_boxes(entries: Iterable[Mapping[str, Any]], crop: tuple[int, int], scale: float,
                  min_side: float, seed: int = 0) -> list[ImageBoxes]:
    """:func:`training_boxes` of every entry; authentic entries have none (their masks are
    empty). Masks are read under the mask policy; a refused mask stops with its file named."""
    from mmiml.datasets.io import load_mask

    np.random.seed(seed)  # GridAlignedRandomCrop draws its offsets from np.random
    out = []
    for e in entries:
        if e.get("mask") is None:
            out.append(ImageBoxes(e["task"], False, np.zeros((0, 4), np.float32), 0))
            continue
        mask = load_mask(e["mask"], inverted=bool(e.get("mask_inverted", False)),
                         threshold=e.get("mask_threshold"))
        boxes = training_boxes(mask, crop, scale)
        side = box_sides(boxes)
        keep = side >= min_side
        out.append(ImageBoxes(e["task"], True, boxes[keep], int((~keep).sum()),
                              float((side[~keep] ** 2).sum())))
    return out


# ---------------------------------------------------------------------------------- anchors
def anchor_shapes(scales: Sequence[float], ratios: Sequence[float],
                  stride: int) -> np.ndarray:
    """``(A, 2)`` (w, h) of mmdet ``AnchorGenerator``'s base anchors of one level: side
    ``stride * scale``, ``h / w = ratio``, ratio-major order as mmdet's ``scale_major=True``
    puts them (the order does not matter here)."""
    h_ratio = np.sqrt(np.asarray(ratios, dtype=np.float64))
    sc = np.asarray(scales, dtype=np.float64)
    w = (stride * (1.0 / h_ratio)[:, None] * sc[None, :]).reshape(-1)
    h = (stride * h_ratio[:, None] * sc[None, :]).reshape(-1)
    return np.stack([w, h], axis=1)


def max_anchor_iou(boxes: np.ndarray, scales: Sequence[float], ratios: Sequence[float],
                   strides: Sequence[int], input_size: tuple[int, int]) -> np.ndarray:
    """Best IoU of each xyxy box with any RPN anchor of an ``input_size`` (h, w) input.

    mmdet (``center_offset=0``) puts level ``l``'s anchors at ``(i * s, j * s)`` for
    ``i < ceil(w / s)``, ``j < ceil(h / s)``. For one anchor shape IoU does not grow with the
    centre offset along either axis, so the grid point nearest the box centre (clipped to the
    grid) holds that shape's best anchor: the result equals the maximum over the full grid.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    best = np.zeros(len(boxes))
    if not len(boxes):
        return best
    cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    for stride in strides:
        n_x, n_y = math.ceil(input_size[1] / stride), math.ceil(input_size[0] / stride)
        gx = np.clip(np.round(cx / stride), 0, n_x - 1) * stride
        gy = np.clip(np.round(cy / stride), 0, n_y - 1) * stride
        for w, h in anchor_shapes(scales, ratios, stride):
            iw = np.minimum(gx + w / 2, boxes[:, 2]) - np.maximum(gx - w / 2, boxes[:, 0])
            ih = np.minimum(gy + h / 2, boxes[:, 3]) - np.maximum(gy - h / 2, boxes[:, 1])
            inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
            best = np.maximum(best, inter / (w * h + area - inter))
    return best


def roi_levels(boxes: np.ndarray, finest_scale: float, num_levels: int) -> np.ndarray:
    """Level ``SingleRoIExtractor`` reads each box from: ``floor(log2(side / finest_scale))``
    clamped to the levels (side < 2 * finest_scale: level 0)."""
    side = box_sides(boxes)
    lvl = np.floor(np.log2(side / finest_scale + 1e-6))
    return np.clip(lvl, 0, num_levels - 1).astype(int)


def octave_ratios(aspects: np.ndarray) -> tuple[float, ...]:
    """Ratios ``2**k`` (and 1) reaching the 5% and 95% aspect quantiles to within half an
    octave (our rule: the spacing of Faster R-CNN's 0.5 / 1 / 2)."""
    lo, hi = np.percentile(np.log2(aspects), [5, 95])
    ks = range(min(0, round(lo)), max(0, round(hi)) + 1)
    return tuple(float(2.0 ** k) for k in ks)


@dataclass(frozen=True)
class AnchorSet:
    """One candidate: ``scales`` on every level, ``ratios``; ``label`` says where it is from."""

    label: str
    scales: tuple[float, ...]
    ratios: tuple[float, ...]

    @property
    def per_location(self) -> int:
        return len(self.scales) * len(self.ratios)

    def sizes(self, strides: Sequence[int]) -> list[float]:
        return sorted(s * c for s in strides for c in self.scales)


def candidate_sets(ratio_sets: Sequence[tuple[float, ...]],
                   max_per_location: int = 12) -> list[AnchorSet]:
    """The search space (our choice): ``n`` scales per octave (1, 2, 3) over 1, 2 or 3
    octaves, starting at ``2**(j/4)`` for ``j = 0..16`` (scale 1 to 16), with each ratio set;
    at most ``max_per_location`` anchors per location. Scales are rounded to two decimals, as
    they would be written in a config."""
    out = []
    for ratios in ratio_sets:
        for n in (1, 2, 3):
            for octaves in (1, 2, 3):
                if n * octaves * len(ratios) > max_per_location:
                    continue
                for j in range(17):
                    base = 2.0 ** (j / 4)
                    scales = tuple(round(base * 2.0 ** (k / n), 2) for k in range(n * octaves))
                    out.append(AnchorSet(f"{n}/octave x {octaves}", scales, tuple(ratios)))
    return out


def range_rule(q5: float, q95: float, strides: Sequence[int],
               ratios: tuple[float, ...]) -> AnchorSet | None:
    """Fewest scales per octave (1 to 3) whose anchor sides span the 5%..95% box sides: the
    smallest anchor ``strides[0] * scale[0] <= q5`` (the largest such start on the
    ``2**(j/4)`` grid) and the largest ``strides[-1] * scale[-1] >= q95``. None if 3 per
    octave do not span it."""
    for n in (1, 2, 3):
        starts = [2.0 ** (j / 4) for j in range(-8, 25) if strides[0] * 2.0 ** (j / 4) <= q5]
        if not starts:
            return None
        base = max(starts)
        scales = tuple(round(base * 2.0 ** (k / n), 2) for k in range(n))
        if strides[-1] * scales[-1] >= q95:
            return AnchorSet(f"span 5-95% ({n}/octave)", scales, ratios)
    return None


def coverage(boxes: np.ndarray, anchors: AnchorSet, strides: Sequence[int],
             input_size: tuple[int, int], thresholds: Sequence[float]) -> list[float]:
    """Share of ``boxes`` whose best anchor reaches each IoU threshold."""
    best = max_anchor_iou(boxes, anchors.scales, anchors.ratios, strides, input_size)
    return [float((best >= t).mean()) if len(best) else float("nan") for t in thresholds]


def suggest(boxes: np.ndarray, candidates: Sequence[AnchorSet], strides: Sequence[int],
            input_size: tuple[int, int], pos_iou: float, low_iou: float) -> AnchorSet:
    """Our rule, in this order: (1) give (nearly) every box a positive anchor: keep the
    candidates within ``SUGGEST_TOLERANCE`` of the best share at ``low_iou``; (2) among them
    the most boxes at ``pos_iou``, to within ``SUGGEST_TOLERANCE``; (3) the fewest anchors per
    location, then the most boxes at ``low_iou`` and at ``pos_iou``."""
    if not candidates:
        raise ValueError("no anchor candidates to choose from")
    scored = [(c, *coverage(boxes, c, strides, input_size, (pos_iou, low_iou)))
              for c in candidates]
    floor = max(s[2] for s in scored) - SUGGEST_TOLERANCE
    kept = [s for s in scored if s[2] >= floor]
    top = max(s[1] for s in kept)
    near = [s for s in kept if s[1] >= top - SUGGEST_TOLERANCE]
    return min(near, key=lambda s: (s[0].per_location, -s[2], -s[1], s[0].scales,
                                    s[0].ratios))[0]


# ----------------------------------------------------------------------------------- report
def _fmt(x: float, digits: int = 1) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def task_order(tasks: Iterable[str]) -> list[str]:
    present = set(tasks)
    return [t for t in TASKS if t in present] + sorted(present - set(TASKS))


def box_table(images: Sequence[ImageBoxes], min_side: float) -> tuple[str, dict[str, Any]]:
    """Per-task (and all) box statistics, as markdown and as a dict."""
    stats: dict[str, Any] = {}
    groups = {t: [i for i in images if i.task == t] for t in task_order(i.task for i in images)}
    groups["all"] = list(images)
    rows = []
    for name, group in groups.items():
        tampered = [i for i in group if i.tampered]
        boxes = np.concatenate([i.boxes for i in group]) if group else np.zeros((0, 4))
        counts = np.array([len(i.boxes) for i in tampered])
        side = np.percentile(box_sides(boxes), QUANTILES) if len(boxes) else [math.nan] * 5
        aspect = (np.percentile(box_aspects(boxes), (5, 50, 95)) if len(boxes)
                  else [math.nan] * 3)
        dropped = sum(i.dropped for i in group)
        dropped_area = sum(i.dropped_area for i in group)
        area_share = dropped_area / max(1e-9, dropped_area + float((box_sides(boxes) ** 2).sum()))
        stats[name] = {
            "images": len(group), "tampered": len(tampered), "boxes": int(len(boxes)),
            "dropped_small": int(dropped), "dropped_box_area_share": area_share,
            "tampered_without_box": int((counts == 0).sum()) if len(counts) else 0,
            "boxes_per_tampered_image": {
                "mean": float(counts.mean()) if len(counts) else math.nan,
                "p50": float(np.percentile(counts, 50)) if len(counts) else math.nan,
                "p95": float(np.percentile(counts, 95)) if len(counts) else math.nan,
                "max": int(counts.max()) if len(counts) else 0},
            "side_quantiles": dict(zip([f"p{q}" for q in QUANTILES], map(float, side),
                                       strict=True)),
            "aspect_quantiles": dict(zip(("p5", "p50", "p95"), map(float, aspect), strict=True)),
        }
        per = stats[name]["boxes_per_tampered_image"]
        rows.append([name, str(len(group)), str(len(tampered)), str(len(boxes)),
                     f"{dropped} ({_fmt(100 * dropped / max(1, dropped + len(boxes)), 0)}% / "
                     f"{_fmt(100 * area_share)}%)",
                     f"{_fmt(per['mean'], 2)} / {_fmt(per['p50'], 0)} / {_fmt(per['p95'], 0)}"
                     f" / {per['max']}",
                     *(_fmt(float(s)) for s in side), *(_fmt(float(a), 2) for a in aspect)])
    header = ["task", "images", "tampered", "boxes",
              f"dropped: side < {min_side:g} (% of boxes / % of box area)",
              "boxes per tampered image (mean / 50% / 95% / max)",
              *(f"side {q}%" for q in QUANTILES), "h/w 5%", "h/w 50%", "h/w 95%"]
    return _table(header, rows), stats


def anchor_table(images: Sequence[ImageBoxes], rows_sets: Sequence[AnchorSet],
                 strides: Sequence[int], input_size: tuple[int, int], pos_iou: float,
                 low_iou: float) -> tuple[str, list[dict[str, Any]]]:
    """Coverage of each anchor set: all boxes at pos / 0.5 / low IoU, each task at pos IoU."""
    tasks = task_order(i.task for i in images)
    by_task = {t: _stack([i.boxes for i in images if i.task == t]) for t in tasks}
    every = _stack([i.boxes for i in images])
    thresholds = sorted({FASTER_RCNN["pos_iou"], pos_iou, 0.5, low_iou}, reverse=True)
    rows, out = [], []
    for a in rows_sets:
        cov = coverage(every, a, strides, input_size, thresholds)
        per_task = {t: coverage(b, a, strides, input_size, (pos_iou,))[0]
                    for t, b in by_task.items()}
        sizes = a.sizes(strides)
        out.append({"label": a.label, "scales": list(a.scales), "ratios": list(a.ratios),
                    "per_location": a.per_location, "anchor_sides": [min(sizes), max(sizes)],
                    "share_at_iou": {f"{t:g}": c for t, c in zip(thresholds, cov, strict=True)},
                    "share_at_pos_iou_per_task": per_task})
        rows.append([a.label, ", ".join(f"{s:g}" for s in a.scales),
                     ", ".join(f"{r:g}" for r in a.ratios), str(a.per_location),
                     f"{min(sizes):.1f}-{max(sizes):.1f}",
                     *(_fmt(100 * c) for c in cov), *(_fmt(100 * per_task[t]) for t in tasks)])
    header = ["anchors", "scales", "ratios (h/w)", "per location", "sides (px)",
              *(f"% IoU>={t:g}" for t in thresholds), *(f"{t} % IoU>={pos_iou:g}" for t in tasks)]
    return _table(header, rows), out


def _stack(arrays: Sequence[np.ndarray]) -> np.ndarray:
    return np.concatenate(arrays) if arrays else np.zeros((0, 4), np.float32)


# ---------------------------------------------------------------------------------- config
def settings_from_config(path: str) -> dict[str, Any]:
    """Crop, strides, anchors, side limit, RPN assigner thresholds and RoI ``finest_scale`` of
    a training config (defaults where the config leaves mmdet's / ours in place)."""
    from mmiml.utils.config import read_config

    cfg = read_config(path)
    neck = cfg.model.get("neck")
    if not neck or neck.get("type") != "AnomalyEnhancement":
        raise ConfigError(path, "model.neck is not an AnomalyEnhancement: no anchors to study")
    dataset = cfg.get("train_dataloader", {}).get("dataset", {})
    pipeline = dataset.get("pipeline") or cfg.get("train_pipeline") or []
    crops = [t["crop_size"] for t in pipeline if t.get("type") == "GridAlignedRandomCrop"]
    if not crops:
        raise ConfigError(path, "train pipeline has no GridAlignedRandomCrop: give --crop")
    crop = crops[0]
    crop = (crop, crop) if isinstance(crop, int) else tuple(crop)
    assigner = (neck.get("train_cfg") or {}).get("rpn", {}).get("assigner", {})
    extractor = (neck.get("roi_head") or {}).get("bbox_roi_extractor", {})
    return {
        "crop": (int(crop[0]), int(crop[1])),
        "strides": tuple(int(s) for s in neck.get("strides", DEFAULT_STRIDES)),
        "scales": tuple(float(s) for s in neck.get("anchor_scales", FASTER_RCNN["scales"])),
        "ratios": tuple(float(r) for r in neck.get("anchor_ratios", FASTER_RCNN["ratios"])),
        "min_side": float(neck.get("min_box_side", 0.0)),
        "pos_iou": float(assigner.get("pos_iou_thr", FASTER_RCNN["pos_iou"])),
        "low_iou": float(assigner.get("min_pos_iou", FASTER_RCNN["low_iou"])),
        "finest_scale": float(extractor.get("finest_scale", DEFAULT_FINEST_SCALE)),
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("manifest", help="manifest (JSON lines)")
    p.add_argument("--config", help="training config: crop, strides, anchors, side limit, RPN "
                                    "thresholds and finest_scale from it (its anchors are the "
                                    "first row)")
    p.add_argument("--split", default="train", choices=SPLITS,
                   help="manifest split (default: train)")
    p.add_argument("--crop", type=int, nargs="+", help="training crop, 1 or 2 numbers "
                                                       "(h w); default 128 or the config's")
    p.add_argument("--scale", type=float, default=1.0,
                   help="resize masks by this factor before the crop (e.g. 4: a 512 px "
                        "profile from 128 px statistics)")
    p.add_argument("--min-side", type=float, help="leave out boxes with sqrt(w*h) under this "
                                                  "(default 4 or the config's min_box_side)")
    p.add_argument("--strides", type=int, nargs="+", help="default 4 8 16 32")
    p.add_argument("--pos-iou", type=float, help="RPN positive IoU (default 0.7 or the config's)")
    p.add_argument("--low-iou", type=float,
                   help="RPN min_pos_iou (default 0.3 or the config's)")
    p.add_argument("--max-anchors", type=int, default=12,
                   help="most anchors per location a suggestion may have (default 12: 3 "
                        "scales x 4 ratios; Faster R-CNN has 3, RetinaNet 9)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random crops")
    p.add_argument("--out", help="also write the figures as JSON here")
    args = p.parse_args(argv)
    if args.crop and (len(args.crop) > 2 or min(args.crop) < 1):
        p.error(f"--crop takes 1 or 2 positive numbers, got {args.crop}")
    if args.scale <= 0 or args.max_anchors < 1:
        p.error("--scale must be positive and --max-anchors at least 1")
    return args


def _json_safe(value: Any) -> Any:
    """NaN (a task without boxes) -> None, recursively: JSON has no NaN."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Print the box statistics, the anchor table and the suggestion."""
    from mmiml.datasets.manifest import read_manifest

    args = parse_args(argv)
    settings = dict(crop=(128, 128), strides=DEFAULT_STRIDES, scales=FASTER_RCNN["scales"],
                    ratios=FASTER_RCNN["ratios"], min_side=4.0, pos_iou=FASTER_RCNN["pos_iou"],
                    low_iou=FASTER_RCNN["low_iou"], finest_scale=DEFAULT_FINEST_SCALE)
    if args.config:
        settings.update(settings_from_config(args.config))
    if args.crop:
        settings["crop"] = (args.crop[0], args.crop[-1])
    for key in ("min_side", "pos_iou", "low_iou"):
        if getattr(args, key) is not None:
            settings[key] = getattr(args, key)
    if args.strides:
        settings["strides"] = tuple(args.strides)
    crop, strides = settings["crop"], settings["strides"]
    pos_iou, low_iou, min_side = settings["pos_iou"], settings["low_iou"], settings["min_side"]

    entries = read_manifest(args.manifest, split=args.split, allow_empty=False)
    if not entries:
        raise IMLDataError(args.manifest, f"no entries in split {args.split!r}")
    images = collect_boxes(entries, crop, args.scale, min_side, args.seed)
    every = _stack([i.boxes for i in images])
    if not len(every):
        raise IMLDataError(args.manifest, f"no box of side >= {min_side:g} in split "
                                          f"{args.split!r}: nothing to size anchors for")
    print(f"# Boxes of {args.manifest} ({args.split}, {len(images)} images), masks x{args.scale:g}"
          f", crop {crop[0]}x{crop[1]}, strides {'/'.join(map(str, strides))}\n")
    table, box_stats = box_table(images, min_side)
    print(table)

    q5, q95 = np.percentile(box_sides(every), [5, 95])
    ratios_data = octave_ratios(box_aspects(every))
    ratio_sets = [FASTER_RCNN["ratios"]] + ([ratios_data] if ratios_data != FASTER_RCNN[
        "ratios"] else [])
    best = suggest(every, candidate_sets(ratio_sets, args.max_anchors), strides, crop,
                   pos_iou, low_iou)
    best = AnchorSet("suggested", best.scales, best.ratios)
    faster_rcnn = AnchorSet("Faster R-CNN", FASTER_RCNN["scales"], FASTER_RCNN["ratios"])
    shown = [faster_rcnn]
    if args.config:
        configured = AnchorSet("configured", tuple(settings["scales"]), tuple(settings["ratios"]))
        shown = [configured] + ([faster_rcnn] if (configured.scales, configured.ratios) != (
            faster_rcnn.scales, faster_rcnn.ratios) else [])
    for ratios in ratio_sets:
        spanning = range_rule(q5, q95, strides, ratios)
        if spanning is not None:
            shown.append(spanning)
    shown.append(best)
    print(f"\n## Anchors: best-anchor IoU per box (RPN positive IoU {pos_iou:g}, min_pos_iou "
          f"{low_iou:g}); box sides 5-95%: {q5:.1f}-{q95:.1f} px\n")
    table, anchor_stats = anchor_table(images, shown, strides, crop, pos_iou, low_iou)
    print(table)

    levels = roi_levels(every, settings["finest_scale"], len(strides))
    level_share = {int(lv): float((levels == lv).mean()) for lv in range(len(strides))}
    print(f"\nRoI Align levels (finest_scale {settings['finest_scale']:g}): " + ", ".join(
        f"stride {strides[lv]}: {100 * s:.1f}%" for lv, s in level_share.items()))
    print(f"\nsuggested: neck=dict(anchor_scales={best.scales}, anchor_ratios={best.ratios})")
    if args.out:
        doc = {"manifest": args.manifest, "split": args.split, "scale": args.scale,
               "settings": {k: (list(v) if isinstance(v, tuple) else v)
                            for k, v in settings.items()},
               "boxes": box_stats, "anchors": anchor_stats,
               "suggested": {"anchor_scales": list(best.scales),
                             "anchor_ratios": list(best.ratios)},
               "roi_level_share": {str(strides[k]): v for k, v in level_share.items()}}
        print(f"written {write_json(_json_safe(doc), args.out, indent=1)}")
    return 0


if __name__ == "__main__":
    run_cli(main)
