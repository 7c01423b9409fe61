"""The robustness protocol: test images degraded before the model reads them.

The grid follows IMDL-BenCo's robustness test (JPEG quality, Gaussian blur, Gaussian noise), plus
resizing (our addition):

=========  ================================  ==============================================
kind       levels                            what is done to the image
=========  ================================  ==============================================
``jpeg``   quality 50, 60, 70, 80, 90, 100   saved as a JPEG at that quality (IJG tables,
                                             4:2:0, as Pillow and OpenCV write it);
                                             the model reads the new file, so a DCT model
                                             reads the degraded compression history
``blur``   kernel 3, 7, 11, 15, 19, 23       Gaussian blur, square kernel of that size, sigma
                                             from the size as OpenCV derives it
``noise``  variance 3, 7, 11, 15, 19, 23     zero-mean Gaussian noise of that variance (grey
                                             levels squared), per pixel and channel, rounded
                                             and clipped to 0..255
``resize`` factor 0.5, 0.75, 1.5             bilinear resize of both sides (area for
                                             shrinking); the mask is resized alike (nearest
                                             neighbour), so the figures are at the new size
=========  ================================  ==============================================

Images of the three pixel degradations are saved losslessly (PNG), so the named degradation is
the only change to the pixels; a DCT model then reads a re-encoding at quality 100, as for any
PNG (``LoadJpegDCT``). Noise is drawn from a generator seeded by the image's id and the level,
so a degraded set is the same bytes on every run. Masks are not changed.

How this maps to IMDL-BenCo's albumentations settings (for comparing figures): its
``JpegCompression(quality_lower=q-1, quality_upper=q)`` picks q-1 or q at random, in memory,
and its models read pixels; ours is exactly q, through a file. ``GaussianBlur(blur_limit=(k,
k))`` with the default sigma is the same kernel as ours. ``GaussNoise(var_limit=(v, v))`` adds
noise of variance v in grey levels on uint8 images, as ours does.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from mmiml.datasets.manifest import OPTIONAL_PATH_KEYS, read_manifest, sample_id, write_manifest
from mmiml.datasets.synthesis.postprocess import encode_jpeg
from mmiml.utils.errors import IMLDataError

GRID: dict[str, tuple[float, ...]] = {
    "jpeg": (50, 60, 70, 80, 90, 100),
    "blur": (3, 7, 11, 15, 19, 23),
    "noise": (3, 7, 11, 15, 19, 23),
    "resize": (0.5, 0.75, 1.5),
}
"""The default grid: kind -> levels, mildest effect last for jpeg, first for the others."""

LEVEL_NAMES = {"jpeg": "quality", "blur": "kernel", "noise": "variance", "resize": "factor"}

#: Order of severity: for each kind, levels from mild to strong (for the area score).
SEVERITY_ORDER = {"jpeg": "descending", "blur": "ascending", "noise": "ascending",
                  "resize": "distance_from_1"}


@dataclass(frozen=True)
class Setting:
    """One degradation: a kind and a level of :data:`GRID`."""

    kind: str
    level: float

    def __post_init__(self) -> None:
        if self.kind not in GRID:
            raise ValueError(f"unknown degradation {self.kind!r}; expected one of "
                             f"{', '.join(GRID)}")
        check_level(self.kind, self.level)

    @property
    def name(self) -> str:
        level = f"{self.level:g}".replace(".", "p")
        return f"{self.kind}_{level}"

    @property
    def suffix(self) -> str:
        return ".jpg" if self.kind == "jpeg" else ".png"


def check_level(kind: str, level: float) -> None:
    """A level that the degradation can apply, or a ``ValueError`` naming it."""
    if kind == "jpeg" and not (1 <= level <= 100 and float(level).is_integer()):
        raise ValueError(f"jpeg quality must be an integer in 1..100, got {level}")
    if kind == "blur" and not (level >= 1 and float(level).is_integer() and int(level) % 2):
        raise ValueError(f"blur kernel must be an odd integer >= 1, got {level}")
    if kind == "noise" and not level >= 0:
        raise ValueError(f"noise variance must be >= 0, got {level}")
    if kind == "resize" and not level > 0:
        raise ValueError(f"resize factor must be > 0, got {level}")


def settings(kinds: Iterable[str] | None = None,
             grid: Mapping[str, Sequence[float]] | None = None) -> list[Setting]:
    """The settings of ``kinds`` (default: all) over ``grid`` (default :data:`GRID`)."""
    grid = grid or GRID
    wanted = list(kinds) if kinds is not None else list(grid)
    return [Setting(k, float(v)) for k in wanted for v in grid[k]]


def _noise_rng(image_id: str, level: float) -> np.random.Generator:
    digest = hashlib.sha256(f"{image_id}|noise|{level:g}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def degrade(rgb: np.ndarray, setting: Setting, image_id: str = "") -> np.ndarray | bytes:
    """Apply ``setting`` to an HxWx3 uint8 RGB image.

    Returns the JPEG file's bytes for ``jpeg`` (the compression must reach the model through
    the file), else the degraded RGB array.
    """
    img = np.ascontiguousarray(rgb)
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 uint8 image, got {img.dtype} {img.shape}")
    kind, level = setting.kind, setting.level
    if kind == "jpeg":
        return encode_jpeg(img, int(level))
    if kind == "blur":
        k = int(level)
        return cv2.GaussianBlur(img, (k, k), 0, borderType=cv2.BORDER_REFLECT_101)
    if kind == "noise":
        noise = _noise_rng(image_id, level).normal(0.0, np.sqrt(level), img.shape)
        return np.clip(np.rint(img.astype(np.float64) + noise), 0, 255).astype(np.uint8)
    h, w = img.shape[:2]
    size = (max(1, round(w * level)), max(1, round(h * level)))
    interp = cv2.INTER_AREA if level < 1 else cv2.INTER_LINEAR
    return cv2.resize(img, size, interpolation=interp)


def write_degraded_split(manifest: str | os.PathLike[str], setting: Setting | None,
                         out_dir: str | os.PathLike[str], split: str = "test",
                         tasks: Sequence[str] | None = None, per_task: int | None = None
                         ) -> Path:
    """Write the degraded images of ``split`` under ``out_dir`` and a manifest listing them;
    return the manifest path (:func:`_write_degraded_split`, under a lock on ``out_dir``)."""
    with _locked(Path(out_dir)):
        return _write_degraded_split(manifest, setting, out_dir, split, tasks, per_task)


def _write_degraded_split(manifest: str | os.PathLike[str], setting: Setting | None,
                         out_dir: str | os.PathLike[str], split: str = "test",
                         tasks: Sequence[str] | None = None, per_task: int | None = None
                         ) -> Path:
    """Write the degraded images of ``split`` under ``out_dir`` and a manifest listing them;
    return the manifest path.

    Each image keeps its path relative to the source manifest (with the setting's suffix), so
    its ``sample_id`` names the same image in every degraded set; masks are referenced where
    they are. ``setting=None`` lists the original files (the clean reference of the subset).
    ``per_task`` keeps the first N images of each task (manifest order). A finished folder
    (``done.json`` matching the source) is reused.
    """
    src = Path(manifest)
    out = Path(out_dir)
    entries = read_manifest(src, split=split)
    if tasks is not None:
        entries = [e for e in entries if e["task"] in set(tasks)]
    if per_task is not None:
        kept, count = [], dict.fromkeys({e["task"] for e in entries}, 0)
        for e in entries:
            if count[e["task"]] < per_task:
                kept.append(e)
                count[e["task"]] += 1
        entries = kept
    if not entries:
        raise IMLDataError(src, f"no {split!r} entries to degrade"
                                + (f" for tasks {list(tasks)}" if tasks else ""))
    stamp = {"source": str(src.resolve()), "source_mtime": src.stat().st_mtime_ns,
             "setting": setting.name if setting else "clean", "split": split,
             "tasks": sorted(tasks) if tasks else None,
             "per_task": per_task, "images": len(entries)}
    done = out / "done.json"
    target = out / "manifest.jsonl"
    if done.is_file() and target.is_file():
        try:
            if json.loads(done.read_text()) == stamp:
                return target
        except json.JSONDecodeError:
            pass
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for entry in entries:
        if setting is None:
            rows.append(dict(entry))
            continue
        sid = sample_id(entry["image"], src)
        rel = Path(sid).with_suffix(setting.suffix)
        if rel.is_absolute() or ".." in rel.parts:
            rel = Path("images") / Path(sid).name
            rel = rel.with_suffix(setting.suffix)
        dest = out / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            with Image.open(entry["image"]) as im:
                rgb = np.asarray(im.convert("RGB"))
        except OSError as err:
            raise IMLDataError(entry["image"], f"cannot be decoded for the {setting.name} "
                                               f"degradation: {err}") from err
        degraded = degrade(rgb, setting, sid)
        if isinstance(degraded, bytes):
            dest.write_bytes(degraded)
        else:
            Image.fromarray(degraded).save(dest, format="PNG", compress_level=1)
        row = {k: v for k, v in entry.items() if k not in ("image",)}
        row["image"] = str(dest)
        if setting.kind == "resize":
            # the dataset requires a mask of the image's size: resized alike (nearest, so the
            # values and their meaning are kept); the other masks are left out, not mis-sized
            for key in OPTIONAL_PATH_KEYS:
                row.pop(key, None)
            if entry["mask"] is not None:
                row["mask"] = str(_resized_mask(entry["mask"], out / "masks" / rel.with_suffix(
                    ".png"), degraded.shape[1::-1]))
        row["degradation"] = {"kind": setting.kind, LEVEL_NAMES[setting.kind]: setting.level}
        rows.append(row)
    write_manifest(rows, target)
    done.write_text(json.dumps(stamp, indent=1) + "\n")
    return target


@contextmanager
def _locked(out: Path) -> Iterator[None]:
    """An exclusive lock on ``out``'s folder: two benchmark runs at once degrade a set once."""
    import fcntl

    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.parent / f".{out.name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _resized_mask(src: str, dest: Path, size: tuple[int, int]) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        with Image.open(src) as im:
            im.resize(size, Image.Resampling.NEAREST).save(dest, format="PNG")
    except OSError as err:
        raise IMLDataError(src, f"mask cannot be decoded for resizing: {err}") from err
    return dest


def severity_sorted(kind: str, levels: Sequence[float]) -> list[float]:
    """``levels`` from the mildest to the strongest."""
    order = SEVERITY_ORDER[kind]
    if order == "descending":
        return sorted(levels, reverse=True)
    if order == "ascending":
        return sorted(levels)
    return sorted(levels, key=lambda v: (abs(np.log(v)), v))


def area_under_degradation(kind: str, curve: Mapping[float, float]) -> float:
    """Mean IoU over a kind's levels, as the trapezoid area under IoU against the severity
    rank (levels equally spaced, mild to strong) divided by its width; a single level gives its
    value. Our choice: IMDL-BenCo plots curves but defines no single score."""
    levels = severity_sorted(kind, list(curve))
    values = np.array([curve[v] for v in levels], dtype=np.float64)
    if len(values) == 1:
        return float(values[0])
    return float(np.trapezoid(values, dx=1.0) / (len(values) - 1))


def robustness_score(curves: Mapping[str, Mapping[float, float]]) -> float:
    """The mean over kinds of :func:`area_under_degradation`: one figure per model."""
    if not curves:
        raise ValueError("no degradation curve")
    return float(np.mean([area_under_degradation(k, c) for k, c in curves.items()]))


def describe(kinds: Sequence[str] | None = None) -> dict[str, Any]:
    """The grid as recorded in a robustness result."""
    return {k: {"levels": list(GRID[k]), "level": LEVEL_NAMES[k]} for k in (kinds or GRID)}


ROBUSTNESS_SCHEMA = "mmiml-robustness/1"


def _figures(result: Mapping[str, Any]) -> dict[str, Any]:
    """IoU and F1 (``image`` aggregation) per task and averaged, from an ``mmiml-result``."""
    def pick(scores: Mapping[str, Any]) -> dict[str, float | None]:
        return {"iou": scores.get("pixel_iou_image"), "f1": scores.get("pixel_f1_image")}

    return {"num_images": result["num_images"],
            "per_task": {t: pick(s) for t, s in result["per_task"].items()},
            "avg": pick(result["avg"])}


def run_protocol(evaluate: Any, manifest: str | os.PathLike[str], data_dir: str | os.PathLike[str],
                 kinds: Sequence[str] | None = None, split: str = "test",
                 tasks: Sequence[str] | None = None, per_task: int | None = None,
                 log: Any = print) -> dict[str, Any]:
    """Score a model on the clean split and on every degradation of the grid.

    Args:
        evaluate: ``evaluate(manifest_path) -> mmiml-result dict``: tests the model on a
            manifest's ``split`` (``tools/test_robustness.py`` builds it from a config and a
            checkpoint).
        manifest: the source manifest; data_dir: where the degraded sets are written (reused
            when already there).
        kinds: degradations of :data:`GRID` (default all); per_task: first N images per task.

    Returns the robustness record (``mmiml-robustness/1`` without the caller's keys): ``clean``,
    ``curves`` (kind -> one entry per level with IoU/F1 per task and averaged), ``area`` (kind ->
    :func:`area_under_degradation` of the average IoU) and ``score`` (their mean).
    """
    data = Path(data_dir)
    clean_manifest = write_degraded_split(manifest, None, data / "clean", split, tasks,
                                          per_task)
    log(f"robustness: clean ({clean_manifest})")
    clean = _figures(evaluate(clean_manifest))
    curves: dict[str, list[dict[str, Any]]] = {}
    for setting in settings(kinds):
        path = write_degraded_split(manifest, setting, data / setting.name, split, tasks,
                                    per_task)
        log(f"robustness: {setting.name} ({path})")
        curves.setdefault(setting.kind, []).append(
            {"level": setting.level, **_figures(evaluate(path))})
    area = {}
    for kind, points in curves.items():
        values = {p["level"]: p["avg"]["iou"] for p in points}
        if all(v is not None for v in values.values()):
            area[kind] = area_under_degradation(kind, values)
    return {"schema": ROBUSTNESS_SCHEMA, "grid": describe(list(curves)),
            "subset": {"split": split, "tasks": list(tasks) if tasks else None,
                       "per_task": per_task, "num_images": clean["num_images"]},
            "clean": clean, "curves": curves, "area": area,
            "score": float(np.mean(list(area.values()))) if area else None}
