"""Convert a dataset you have unpacked into an mmiml manifest.

Usage::

    python tools/convert_dataset.py NAME ROOT --out MANIFEST [--split S] [--size-mismatch P]

NAME is a public dataset read in the layout it ships in (listed below; docs/datasets.md says
where each comes from and what it fixes), or one of two generic layouts:

    python tools/convert_dataset.py casia2 ~/data/CASIA2 --out data/casia2.jsonl \
        [--catnet-lists ~/CAT-Net/Splicing/data]
    python tools/convert_dataset.py doctamper ~/data/DocTamper --out data/doctamper.jsonl \
        [--doctamper-min-quality 75]
    python tools/convert_dataset.py benco data/CASIAv1.json --task natural --source CASIAv1 \
        --split test --out data/casiav1.jsonl
    python tools/convert_dataset.py tpgt data/CASIA2 --task natural --source CASIAv2 \
        --split train --out data/casiav2.jsonl [--mask-suffix _gt --mask-suffix _mask]

Prints the counts per split and every file that is not in the manifest and why (unpaired,
undecodable, empty mask, size mismatch and the decision taken, not an image), and writes the
same as ``MANIFEST.report.json``. Masks that had to be derived (colour codes, polygons, other
sizes, LMDB records) go to ``<MANIFEST stem>_masks/`` beside the manifest. Exits 1 when
nothing was converted, 0 otherwise; then check the result with tools/check_dataset.py.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

try:
    import mmiml  # noqa: F401
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mmiml import TASKS
from mmiml.datasets.converters import CONVERTERS, SIZE_POLICIES, convert_dataset
from mmiml.datasets.importers import DEFAULT_MASK_SUFFIXES, import_benco_json, import_tp_gt
from mmiml.datasets.manifest import SPLITS, write_manifest
from mmiml.utils.cli import run_cli
from mmiml.utils.errors import IMLDataError

GENERIC = {"benco": "IMDL-BenCo JSON list [[image, mask or \"Negative\"], ...]",
           "tpgt": "a folder with Tp/ + Gt/ (+ Au/), paired by file stem"}


def _datasets_help() -> str:
    lines = ["datasets:"]
    for name, conv in CONVERTERS.items():
        lines.append(f"  {name:14s} {conv.SOURCE} ({conv.TASK}; default split {conv.SPLIT}): "
                     f"{conv.LAYOUT}")
    lines.append("generic layouts (need --task, --source, --split):")
    lines += [f"  {name:14s} {text}" for name, text in GENERIC.items()]
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, epilog=_datasets_help(),
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("name", choices=[*CONVERTERS, *GENERIC], metavar="NAME",
                   help="the dataset (see the list below)")
    p.add_argument("root", help="the folder the dataset was unpacked into (for benco: the "
                                "JSON file)")
    p.add_argument("--out", required=True, help="manifest to write (.jsonl)")
    p.add_argument("--split", choices=SPLITS,
                   help="the split of every entry (default: the dataset's own, or its "
                        "default above)")
    p.add_argument("--size-mismatch", choices=SIZE_POLICIES, default="resize",
                   help="a mask of another size than its image: resize it by nearest "
                        "neighbour (default), crop it (top-left) or skip the pair; a "
                        "transposed mask is always skipped; every case is reported")
    p.add_argument("--catnet-lists", metavar="DIR",
                   help="casia2: the folder of CAT-Net's CASIA_v2_*_list.txt; each image "
                        "gets the split its list names")
    p.add_argument("--doctamper-min-quality", type=int, choices=(75, 80, 85, 90),
                   help="doctamper: attach each test sample's JPEG qualities from "
                        "pks/<subset>_<Q>.pk (the DocTamper test protocol)")
    p.add_argument("--doctamper-pks", metavar="DIR",
                   help="doctamper: the folder of the .pk files (default: ROOT/pks)")
    generic = p.add_argument_group("generic layouts (benco, tpgt)")
    generic.add_argument("--task", choices=TASKS)
    generic.add_argument("--source", help="dataset name stored in each entry")
    generic.add_argument("--mask-suffix", action="append", dest="mask_suffixes", default=None,
                         help="tpgt: suffix of mask stems (repeatable; case-insensitive; "
                              f"default: {' '.join(DEFAULT_MASK_SUFFIXES)})")
    generic.add_argument("--mask-inverted", action="store_true",
                         help="masks mark authentic pixels white (NIST style)")
    args = p.parse_args(argv)
    if args.name in GENERIC:
        missing = [f"--{k}" for k in ("task", "source", "split") if not getattr(args, k)]
        if missing:
            p.error(f"{args.name} needs {', '.join(missing)}")
    else:
        used = [f for f, v in (("--task", args.task), ("--source", args.source),
                               ("--mask-suffix", args.mask_suffixes),
                               ("--mask-inverted", args.mask_inverted)) if v]
        if used:
            p.error(f"{', '.join(used)}: only for the generic layouts; {args.name} knows its "
                    "own task, source and masks")
    if args.catnet_lists and args.name != "casia2":
        p.error("--catnet-lists is for casia2")
    if (args.doctamper_min_quality or args.doctamper_pks) and args.name != "doctamper":
        p.error("--doctamper-min-quality and --doctamper-pks are for doctamper")
    return args


def _generic(args: argparse.Namespace) -> int:
    if args.name == "benco":
        if args.mask_suffixes:
            print("note: --mask-suffix is ignored for the benco format", file=sys.stderr)
        entries, report = import_benco_json(
            args.root, task=args.task, source=args.source, split=args.split)
    else:
        entries, report = import_tp_gt(
            args.root, task=args.task, source=args.source, split=args.split,
            mask_suffixes=tuple(args.mask_suffixes or DEFAULT_MASK_SUFFIXES))
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
        raise IMLDataError(args.root, "nothing was paired; check the folder layout and "
                                      "--mask-suffix")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.name in GENERIC:
        return _generic(args)
    options = {}
    if args.catnet_lists:
        options["lists"] = args.catnet_lists
    if args.doctamper_min_quality:
        options["min_quality"] = args.doctamper_min_quality
    if args.doctamper_pks:
        options["pks"] = args.doctamper_pks
    entries, report = convert_dataset(args.name, args.root, args.out, split=args.split,
                                      size_policy=args.size_mismatch, **options)
    for line in report.lines():
        print(line)
    print(f"{report.num_left_out} file(s) or record(s) not in the manifest (listed above); "
          f"report: {args.out}.report.json")
    if not entries:
        raise IMLDataError(args.root, f"nothing was converted: is this the "
                                      f"{report.dataset} root? (layout: "
                                      f"{CONVERTERS[args.name].LAYOUT})")
    print(f"wrote {len(entries)} entries to {args.out}; next: python tools/check_dataset.py "
          f"{args.out}")
    return 0


if __name__ == "__main__":
    run_cli(main)
