"""Realism statistics of a manifest: noise mismatch, boundary sharpness, double-JPEG grids.

    python tools/analysis_tools/realism_stats.py MANIFEST [--split test] [--out FILE.md]

Prints (and writes) a markdown table per task and manipulation kind; the figures are defined in
``mmiml.datasets.realism``. Works on any manifest with region masks; the double-JPEG column
needs SynthIML's records.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mmiml.datasets.realism import realism_table, summarise_realism
from mmiml.utils.cli import run_cli
from mmiml.utils.errors import IMLDataError


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("manifest", type=Path)
    p.add_argument("--split", default="test", help="train, val, test or all")
    p.add_argument("--out", type=Path, help="also write the table to this markdown file")
    args = p.parse_args()
    table = realism_table(args.manifest, None if args.split == "all" else args.split)
    if table.empty:
        raise IMLDataError(args.manifest, f"no tampered records in split {args.split!r}")
    md = summarise_realism(table).to_markdown(index=False)
    print(md)
    print(f"\n{len(table)} tampered images of {args.manifest} ({args.split}); medians with "
          "10th..90th percentiles")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(md + "\n")
        print(f"written {args.out}")


if __name__ == "__main__":
    run_cli(main)
