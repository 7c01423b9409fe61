"""Converters from the layouts public IML datasets ship in to mmiml manifests.

One module per dataset family; :data:`CONVERTERS` maps the CLI name
(``python tools/convert_dataset.py NAME ROOT --out MANIFEST``) to its class. docs/datasets.md
says where each dataset comes from, its layout, the defects handled and the protocols it serves.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from mmiml.datasets.manifest import write_manifest
from mmiml.utils.errors import ConfigError

from .base import (
    SIZE_POLICIES,
    ConversionContext,
    ConversionReport,
    DatasetConverter,
    SizeMismatch,
)
from .casia import CASIAv1Converter, CASIAv2Converter
from .columbia import ColumbiaConverter
from .coverage import CoverageConverter
from .doctamper import DocTamperConverter
from .imd2020 import IMD2020Converter
from .nist16 import NIST16Converter
from .openforensics import OpenForensicsConverter
from .ostf import OSTFConverter
from .tampered_ic13 import TamperedIC13Converter
from .tsroie import TSROIEConverter

__all__ = [
    "CONVERTERS",
    "SIZE_POLICIES",
    "ConversionContext",
    "ConversionReport",
    "DatasetConverter",
    "SizeMismatch",
    "convert_dataset",
    "get_converter",
]

CONVERTERS: dict[str, type[DatasetConverter]] = {
    c.NAME: c for c in (
        CASIAv1Converter, CASIAv2Converter, ColumbiaConverter, CoverageConverter,
        NIST16Converter, IMD2020Converter, DocTamperConverter, TSROIEConverter,
        TamperedIC13Converter, OSTFConverter, OpenForensicsConverter)
}


def get_converter(name: str) -> type[DatasetConverter]:
    if name not in CONVERTERS:
        raise ConfigError("NAME", f"unknown dataset {name!r}; expected one of "
                                  f"{', '.join(CONVERTERS)}")
    return CONVERTERS[name]


def convert_dataset(name: str, root: str | os.PathLike, out: str | os.PathLike, *,
                    split: str | None = None, size_policy: str = "resize",
                    **options: Any) -> tuple[list[dict[str, Any]], ConversionReport]:
    """Convert the dataset ``name`` unpacked at ``root``; write the manifest ``out`` (when
    there is an entry) and its report ``<out>.report.json``; return both.

    ``split`` overrides the split of every entry (a dataset with splits of its own keeps them
    when it is None); ``options`` are the converter's own (see its class).
    """
    converter = get_converter(name)(split=split, **options)
    ctx = converter.context(root, out, size_policy)
    entries = converter.convert(ctx)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if entries:
        write_manifest(entries, out)
    report_path = out.with_name(out.name + ".report.json")
    report_path.write_text(json.dumps(ctx.report.to_dict(), indent=1) + "\n", encoding="utf-8")
    return entries, ctx.report
