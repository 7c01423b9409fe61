"""Descriptive statistics of a manifest: counts, manipulation kinds, mask areas, JPEG history.

Works on any manifest (docs/metrics.md). The SynthIML keys ``manipulation``,
``provenance``, ``post`` and ``size`` are optional; a missing key is reported as such
('unknown') rather than guessed, except that an image whose mask is null is 'authentic'.
"""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mmiml import TASKS

from .io import read_mask, tampered_mask_findings
from .manifest import SPLITS, read_manifest

__all__ = [
    "AREA_BINS",
    "AREA_EDGES",
    "AREA_QUANTILES",
    "dataset_stats",
    "final_jpeg",
    "plot_stats",
    "sample_table",
    "stats_markdown",
]

# Mask area as a fraction of the image; bins are right-open: [0, 1%), [1%, 5%), ...
AREA_BINS: tuple[str, ...] = ("tiny", "small", "medium", "large", "huge")
AREA_EDGES: tuple[float, ...] = (0.0, 0.01, 0.05, 0.15, 0.40, np.inf)
AREA_QUANTILES: tuple[float, ...] = (0.1, 0.25, 0.5, 0.75, 0.9)
_JPEG_SUFFIXES = (".jpg", ".jpeg", ".jpe", ".jfif")


def final_jpeg(entry: Mapping[str, Any]) -> tuple[str, int]:
    """(final JPEG quality label, number of JPEG compressions) of one manifest entry.

    The label is the last quality of ``post.jpeg`` ('95'), 'png' when the entry says no JPEG
    was applied (``post`` present without qualities, or no ``post`` and a non-JPEG file), and
    'unknown' for a JPEG file whose manifest line does not record the quality (count -1).
    """
    post = entry.get("post")
    jpeg: Any = post.get("jpeg") if isinstance(post, Mapping) else None
    if isinstance(jpeg, (int, float)) and not isinstance(jpeg, bool):
        jpeg = [jpeg]  # tolerate a single quality written as a number
    if isinstance(jpeg, Sequence) and not isinstance(jpeg, str) and len(jpeg) > 0:
        return str(int(jpeg[-1])), len(jpeg)
    if isinstance(post, Mapping):
        return "png", 0
    if Path(str(entry.get("image", ""))).suffix.lower() in _JPEG_SUFFIXES:
        return "unknown", -1
    return "png", 0


def _passes_label(n: int) -> str:
    return {-1: "unknown", 0: "none (png)", 1: "single", 2: "double"}.get(n, "triple+")


def _mask_area(entry: Mapping[str, Any]) -> float:
    """Tampered share of an entry's mask, read under the mask policy (docs/data_contract.md).

    A mask the policy refuses, or one with no tampered pixel on this (tampered) entry, raises
    IMLDataError naming the file: an area of 0 would be reported as a "tiny" region otherwise.
    """
    if entry.get("mask") is None:
        return 0.0
    reading = read_mask(entry["mask"], inverted=bool(entry.get("mask_inverted", False)),
                        threshold=entry.get("mask_threshold"))
    errors, _ = tampered_mask_findings(reading, entry["mask"])
    if errors:
        raise errors[0]
    return float(reading.mask.mean()) if reading.mask.size else 0.0


def sample_table(entries: Sequence[Mapping[str, Any]], *, load_masks: bool = True) -> pd.DataFrame:
    """One row per sample: task, split, tampered, manipulation, mask_area, jpeg_final,
    jpeg_passes. ``mask_area`` is NaN for authentic images and when ``load_masks`` is False."""
    rows = []
    for e in entries:
        tampered = e.get("mask") is not None
        final, passes = final_jpeg(e)
        manip = e.get("manipulation")
        rows.append({
            "task": e["task"],
            "split": e["split"],
            "tampered": tampered,
            "manipulation": str(manip) if manip else ("unknown" if tampered else "authentic"),
            "mask_area": _mask_area(e) if (tampered and load_masks) else np.nan,
            "jpeg_final": final,
            "jpeg_passes": passes,
        })
    cols = ["task", "split", "tampered", "manipulation", "mask_area", "jpeg_final", "jpeg_passes"]
    return pd.DataFrame(rows, columns=cols)


def _task_order(df: pd.DataFrame) -> list[str]:
    present = set(df["task"])
    return [t for t in TASKS if t in present]


def _crosstab(df: pd.DataFrame, row: str, order: Sequence[str] | None = None) -> pd.DataFrame:
    """Counts of ``row`` values (rows) per task (columns) plus an 'all' column."""
    tasks = _task_order(df)
    tab = pd.crosstab(df[row], df["task"]).reindex(columns=tasks, fill_value=0)
    if order is not None:
        tab = tab.reindex([o for o in order if o in tab.index])
    tab["all"] = tab.sum(axis=1)
    tab.index.name = row
    return tab.astype(int)


def _quality_order(labels: Sequence[str]) -> list[str]:
    nums = sorted((lab for lab in labels if lab.isdigit()), key=int, reverse=True)
    return nums + [lab for lab in ("png", "unknown") if lab in labels]


def dataset_stats(
    manifest: str | os.PathLike[str] | Sequence[Mapping[str, Any]],
    *,
    load_masks: bool = True,
) -> dict[str, pd.DataFrame]:
    """Statistics of a manifest (path or already read entries) as named DataFrames.

    Keys: ``counts`` (rows task + 'all'; per-split totals, tampered, authentic, total),
    ``manipulations`` (kind x task), ``mask_area`` (rows task + 'all': tampered images with a
    readable mask per area bin, then n, mean and quantiles of the area fraction),
    ``jpeg_quality`` (final quality x task), ``jpeg_passes`` (single/double... x task) and
    ``samples`` (one row per sample, see :func:`sample_table`).

    Raises:
        IMLDataError: the manifest file has no entries, a line is invalid, or (``load_masks``)
            a mask cannot be read or is empty on its tampered entry; the message names the file.
    """
    entries = (read_manifest(manifest, allow_empty=False)
               if isinstance(manifest, (str, os.PathLike)) else list(manifest))
    df = sample_table(entries, load_masks=load_masks)
    tasks = _task_order(df)

    # counts: splits as columns so the usual "how big is each split" question is one row.
    groups = [(t, df[df["task"] == t]) for t in tasks] + [("all", df)]
    counts = pd.DataFrame(
        {
            **{s: [int((g["split"] == s).sum()) for _, g in groups] for s in SPLITS},
            "tampered": [int(g["tampered"].sum()) for _, g in groups],
            "authentic": [int((~g["tampered"].astype(bool)).sum()) for _, g in groups],
            "total": [len(g) for _, g in groups],
        },
        index=pd.Index([n for n, _ in groups], name="task"),
    )

    manip = _crosstab(df, "manipulation")
    # authentic last: the interesting rows are the manipulation kinds.
    manip = manip.loc[sorted(manip.index, key=lambda k: (k == "authentic", k))]

    area_rows = {}
    for name, g in groups:
        a = g["mask_area"].dropna().to_numpy(dtype=float)
        binned = pd.cut(a, bins=list(AREA_EDGES), labels=list(AREA_BINS), right=False)
        row: dict[str, Any] = pd.Series(binned).value_counts().reindex(
            list(AREA_BINS), fill_value=0).astype(int).to_dict()
        row["n"] = int(a.size)
        row["mean"] = float(a.mean()) if a.size else np.nan
        for q in AREA_QUANTILES:
            row[f"q{int(q * 100)}"] = float(np.quantile(a, q)) if a.size else np.nan
        area_rows[name] = row
    mask_area = pd.DataFrame.from_dict(area_rows, orient="index")
    mask_area.index.name = "task"

    jpeg_quality = _crosstab(df, "jpeg_final", _quality_order(list(set(df["jpeg_final"]))))
    passes = df.assign(jpeg_passes=df["jpeg_passes"].map(_passes_label))
    jpeg_passes = _crosstab(passes, "jpeg_passes",
                            ["none (png)", "single", "double", "triple+", "unknown"])
    return {"counts": counts, "manipulations": manip, "mask_area": mask_area,
            "jpeg_quality": jpeg_quality, "jpeg_passes": jpeg_passes, "samples": df}


def _cell(v: Any) -> str:
    if isinstance(v, float | np.floating):
        return "-" if np.isnan(v) else f"{v:.4f}"
    return str(v)


def markdown_table(df: pd.DataFrame) -> str:
    """``df`` as a markdown table (``DataFrame.to_markdown``), the index as first column;
    floats with 4 decimals, NaN as ``-``."""
    # map cell by cell: a row of ints and floats would otherwise be upcast to floats
    cells = df.map(_cell) if hasattr(df, "map") else df.applymap(_cell)
    return cells.to_markdown(disable_numparse=True)


_SECTIONS = (
    ("counts", "Samples per task and split"),
    ("manipulations", "Manipulation kinds per task"),
    ("mask_area", "Mask area (fraction of the image, tampered images): bins tiny <1%, "
                  "small 1-5%, medium 5-15%, large 15-40%, huge >40%"),
    ("jpeg_quality", "Final JPEG quality (last entry of post.jpeg; 'png' = none, "
                     "'unknown' = JPEG file without a recorded quality)"),
    ("jpeg_passes", "JPEG compressions per image"),
)


def stats_markdown(stats: Mapping[str, pd.DataFrame], title: str | None = None) -> str:
    """The tables of :func:`dataset_stats` as one markdown document."""
    parts = [f"# {title}" if title else "# Dataset statistics"]
    for key, heading in _SECTIONS:
        if key in stats:
            parts += ["", f"## {heading}", "", markdown_table(stats[key])]
    return "\n".join(parts) + "\n"


def plot_stats(stats: Mapping[str, pd.DataFrame], path: str | os.PathLike[str]) -> Path:
    """Save a PNG: mask-area bin counts per task (left) and manipulation counts (right)."""
    import matplotlib

    matplotlib.use("Agg")  # headless: no display on servers
    import matplotlib.pyplot as plt

    fig, (ax_area, ax_manip) = plt.subplots(1, 2, figsize=(12, 4.5))
    area = stats["mask_area"].drop(index="all", errors="ignore")[list(AREA_BINS)]
    if len(area) and area.to_numpy().sum() > 0:
        area.T.plot.bar(ax=ax_area, rot=0)
    else:
        ax_area.text(0.5, 0.5, "no tampered masks", ha="center", va="center")
    ax_area.set_title("Mask area (fraction of image) per task")
    ax_area.set_xlabel("area bin: <1%, 1-5%, 5-15%, 15-40%, >40%")
    ax_area.set_ylabel("images")
    manip = stats["manipulations"].drop(columns="all", errors="ignore")
    if manip.size:
        manip.plot.bar(ax=ax_manip, rot=30)
    ax_manip.set_title("Manipulation kinds per task")
    ax_manip.set_ylabel("images")
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
