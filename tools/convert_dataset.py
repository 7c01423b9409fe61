"""Convert an existing dataset layout into an mmiml manifest.

Usage::

    python tools/convert_dataset.py benco data/CASIAv1.json --task natural --source CASIAv1 \
        --split test --out data/casiav1.jsonl
    python tools/convert_dataset.py tpgt data/CASIA2 --task natural --source CASIAv2 \
        --split train --out data/casiav2.jsonl [--mask-suffix _gt --mask-suffix _mask]

Prints the counts and every unpaired or unusable file. Exits 1 when nothing was paired (no
sample at all, or tampered images/masks exist but none could be paired), 0 otherwise; the
manifest is written only when there is something to write.
"""
from __future__ import annotations

import argparse
import sys

from mmiml import TASKS
from mmiml.datasets.importers import DEFAULT_MASK_SUFFIXES, import_benco_json, import_tp_gt
from mmiml.datasets.manifest import SPLITS, write_manifest
from mmiml.utils.cli import run_cli
from mmiml.utils.errors import IMLDataError


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("format", choices=("benco", "tpgt"),
                   help="benco: IMDL-BenCo JSON list; tpgt: folder with Tp/ + Gt/ (+ Au/)")
    p.add_argument("input", help="the JSON file (benco) or the dataset folder (tpgt)")
    p.add_argument("--task", required=True, choices=TASKS)
    p.add_argument("--source", required=True, help="dataset name stored in each entry")
    p.add_argument("--split", required=True, choices=SPLITS)
    p.add_argument("--out", required=True, help="manifest to write (.jsonl)")
    p.add_argument("--mask-suffix", action="append", dest="mask_suffixes", default=None,
                   help="suffix of mask stems (repeatable; case-insensitive; "
                        f"default: {' '.join(DEFAULT_MASK_SUFFIXES)})")
    p.add_argument("--mask-inverted", action="store_true",
                   help="masks mark authentic pixels white (NIST style): store mask_inverted")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.format == "benco":
        if args.mask_suffixes:
            print("note: --mask-suffix is ignored for the benco format", file=sys.stderr)
        entries, report = import_benco_json(
            args.input, task=args.task, source=args.source, split=args.split
        )
    else:
        entries, report = import_tp_gt(
            args.input, task=args.task, source=args.source, split=args.split,
            mask_suffixes=tuple(args.mask_suffixes or DEFAULT_MASK_SUFFIXES),
        )
    for line in report.lines():
        print(line)
    if args.mask_inverted:
        for e in entries:
            if e["mask"] is not None:
                e["mask_inverted"] = True
    nothing_paired = not entries or (report.num_tampered == 0 and report.num_unpaired > 0)
    if entries:
        n = write_manifest(entries, args.out)
        print(f"wrote {n} entries to {args.out}")
    if nothing_paired:
        raise IMLDataError(args.input, "nothing was paired; check the folder layout and "
                                       "--mask-suffix")
    return 0


if __name__ == "__main__":
    run_cli(main)
