"""NIST Nimble 2016 (NC2016_Test0613), the manipulation task.

``reference/manipulation/NC2016-manipulation-ref.csv`` is pipe-separated: one row per probe
with ``ProbeFileName`` (``probe/NC2016_xxxx.jpg``), ``ProbeMaskFileName`` (a PNG under
``reference/manipulation/mask/``, empty for authentic probes), ``IsTarget`` (``Y``: manipulated)
and three ``Y``/``N`` columns of the manipulation type (``IsManipulationTypeRemoval``,
``...Splice``, ``...CopyClone``). In the probe masks **black marks manipulated pixels**; they
are stored with ``mask_inverted`` and read by the mask policy. Mask file ids differ from probe
ids, so only the CSV pairs them.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from mmiml.utils.errors import IMLDataError

from .base import ConversionContext, DatasetConverter

REF_CSV = "reference/manipulation/NC2016-manipulation-ref.csv"
TYPE_COLUMNS: dict[str, str] = {
    "IsManipulationTypeRemoval": "removal",
    "IsManipulationTypeSplice": "splice",
    "IsManipulationTypeCopyClone": "copy-clone",
}
REQUIRED_COLUMNS = ("ProbeFileName", "ProbeMaskFileName", "IsTarget")


class NIST16Converter(DatasetConverter):
    """NIST16: the rows of the manipulation reference CSV.

    Each tampered entry records ``manipulation``: the types its row marks ``Y``, joined by
    ``+`` (``splice``, ``removal``, ``copy-clone``; ``unknown`` when none is marked, which is
    reported). Probes on disk but in no row are reported as unpaired images; rows whose probe
    or mask file is missing are reported as skipped.
    """

    NAME = "nist16"
    SOURCE = "NIST16"
    TASK = "natural"
    SPLIT = "test"
    LAYOUT = f"{REF_CSV} (pipe-separated), probe/*.jpg, reference/manipulation/mask/*.png"
    PROTOCOLS = ("mvss", "catnet")

    def convert(self, ctx: ConversionContext) -> list[dict[str, Any]]:
        split = self.split_of()
        ref = ctx.root / REF_CSV
        if not ref.is_file():
            raise IMLDataError(str(ref), "NIST16 reference CSV not found: is this the "
                                         "NC2016_Test0613 root?")
        with open(ref, encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f, delimiter="|"))
        missing = [c for c in REQUIRED_COLUMNS if rows and c not in rows[0]]
        if not rows or missing:
            raise IMLDataError(str(ref), "expected a pipe-separated table with columns "
                                         f"{', '.join(REQUIRED_COLUMNS)}"
                               + (f"; missing {', '.join(missing)}" if missing else
                                  "; it has no rows"))
        entries: list[dict[str, Any]] = []
        listed: set[Path] = set()
        for i, row in enumerate(rows, start=2):
            where = f"{REF_CSV}:{i}"
            probe = ctx.root / row["ProbeFileName"]
            if probe.resolve() in listed:
                ctx.report.skipped.append((where, f"{row['ProbeFileName']} listed twice"))
                continue
            listed.add(probe.resolve())
            if not probe.is_file():
                ctx.report.skipped.append((where, f"probe {row['ProbeFileName']} not found"))
                continue
            target = (row.get("IsTarget") or "").strip().upper()
            if target == "N":
                entry = ctx.authentic(probe, split)
            elif target == "Y":
                entry = self._tampered(ctx, row, probe, split, where)
            else:
                ctx.report.skipped.append((where, f"IsTarget is {row.get('IsTarget')!r}, "
                                                  "expected Y or N"))
                continue
            if entry:
                entries.append(entry)
        probe_dir = ctx.find_dir("probe", required=False)
        if probe_dir is not None:
            ctx.report.unpaired_images += sorted(
                ctx.rel(p) for p in probe_dir.iterdir()
                if p.is_file() and not p.name.startswith(".") and p.resolve() not in listed)
        return entries

    @staticmethod
    def _tampered(ctx: ConversionContext, row: dict[str, str], probe: Path, split: str,
                  where: str) -> dict[str, Any] | None:
        mask_name = (row.get("ProbeMaskFileName") or "").strip()
        mask = ctx.root / mask_name if mask_name else None
        if mask is None or not mask.is_file():
            ctx.report.unpaired_images.append(ctx.rel(probe))
            ctx.report.skipped.append((where, f"mask {mask_name or '(none given)'} not found"))
            return None
        kinds = [name for col, name in TYPE_COLUMNS.items()
                 if (row.get(col) or "").strip().upper() == "Y"]
        if not kinds:
            ctx.report.defects.append(f"{where}: manipulated probe {row['ProbeFileName']} marks "
                                      "no manipulation type")
        return ctx.tampered(probe, mask, split, inverted=True,
                            encoding="NIST probe mask, black = manipulated (mask_inverted)",
                            manipulation="+".join(kinds) or "unknown")
