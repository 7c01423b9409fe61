"""Describe a manifest: counts per task and split, manipulation kinds, mask areas, JPEG history.

    python tools/dataset_stats.py MANIFEST [--out-dir DIR] [--no-masks]

Prints markdown tables and writes DIR/stats.md and DIR/stats.png (default DIR: the manifest's
folder). The logic lives in ``mmiml.datasets.stats``. Masks are read under the mask policy
(docs/data_contract.md): a mask it refuses, or an empty mask on a tampered entry, stops the
tool with the file named (exit 2) and nothing is written; run tools/check_dataset.py for the
full list.
"""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

try:
    import mmiml  # noqa: F401
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mmiml.datasets.stats import dataset_stats, plot_stats, stats_markdown
from mmiml.utils.cli import run_cli


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("manifest", help="manifest (JSON lines)")
    p.add_argument("--out-dir", default=None, help="where stats.md / stats.png go "
                                                   "(default: the manifest's folder)")
    p.add_argument("--no-masks", action="store_true",
                   help="skip reading masks (no mask-area figures; fast on large sets)")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Describe the manifest; every file is read before anything is written."""
    args = parse_args(argv)
    stats = dataset_stats(args.manifest, load_masks=not args.no_masks)
    out_dir = Path(args.out_dir or os.path.dirname(os.path.abspath(args.manifest)))
    out_dir.mkdir(parents=True, exist_ok=True)
    md = stats_markdown(stats, title=f"Statistics of {args.manifest}")
    print(md)
    (out_dir / "stats.md").write_text(md, encoding="utf-8")
    plot_stats(stats, out_dir / "stats.png")
    print(f"written {out_dir / 'stats.md'} and {out_dir / 'stats.png'}")
    return 0


if __name__ == "__main__":
    run_cli(main)
