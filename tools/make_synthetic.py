"""Generate SynthIML, the offline four-task tampering benchmark (or its ``probe`` profile).

    python tools/make_synthetic.py --profile cpu          # into the cache data/synthiml/cpu
    python tools/make_synthetic.py --profile probe        # the routing probe, data/synthiml/probe
    python tools/make_synthetic.py --profile cpu --out DIR
    python tools/make_synthetic.py --out data/synthiml --per-task 500 --size 160 --seed 0 \
        --workers 2 --authentic-ratio 0.2 [--photos DIR] [--faces DIR] [--fonts DIR]

Writes images, binary PNG masks (region masks in masks/, changed-pixel masks in masks_changed/),
manifest.jsonl plus train/val/test.jsonl (manifest format of docs/metrics.md, with manipulation,
provenance, details and post per line) and synthiml.json. The same arguments give
byte-identical output on every machine with the pinned stack (sources from
tools/fetch_sources.py):

    python tools/make_synthetic.py --profile smoke --out /tmp/smoke --check-reference
"""

from __future__ import annotations

import argparse
import json
import os
import time

from mmiml import TASKS
from mmiml.datasets.synthesis.generator import (
    PROFILES,
    REFERENCE_PATH,
    compare_with_reference,
    content_hashes,
    ensure_synthiml,
    make_synthiml,
    split_counts,
    write_reference,
)
from mmiml.utils.cli import run_cli
from mmiml.utils.errors import IMLDataError


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", help="output folder; with --profile alone, the cache that "
                                          "configs read (data/synthiml/<profile>)")
    parser.add_argument("--profile", choices=sorted(PROFILES),
                        help="preset sizes; --per-task/--size override it")
    parser.add_argument("--per-task", type=int, help="images per task, split 70/10/20")
    parser.add_argument("--size", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--authentic-ratio", type=float, default=0.2)
    parser.add_argument("--tasks", help="comma-separated tasks (default: the profile's, else all "
                                         "four)")
    parser.add_argument("--photos", action="append", default=[], help="extra photo folder")
    parser.add_argument("--faces", action="append", default=[],
                        help="extra face folder (NAME_label.png beside a face: parsing map)")
    parser.add_argument("--fonts", action="append", default=[], help="extra font folder")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--content-hash", action="store_true",
                        help="print the content hash per split and task after generating")
    parser.add_argument("--check-reference", action="store_true",
                        help="with --profile smoke: compare the content hashes with the ones "
                             "committed in mmiml/datasets/synthesis/content_hashes.json")
    parser.add_argument("--write-reference", action="store_true",
                        help="with --profile smoke: record the content hashes as the committed "
                             "reference (after a deliberate change to the generator)")
    args = parser.parse_args()
    if (args.check_reference or args.write_reference) and (
            args.profile != "smoke" or args.out is None or args.seed != 0):
        parser.error("--check-reference/--write-reference need --profile smoke --out DIR "
                     "(seed 0)")
    if args.profile is None and (args.per_task is None or args.size is None):
        parser.error("give --profile, or both --per-task and --size")
    custom = (args.per_task, args.size, args.photos, args.faces, args.fonts)
    if args.out is None:
        if args.profile is None or any(custom) or args.tasks is not None \
                or args.authentic_ratio != 0.2:
            parser.error("--out is required unless only --profile (and --seed) are given")
        start = time.perf_counter()
        manifest = ensure_synthiml(args.profile, seed=args.seed, workers=args.workers)
        print(f"{manifest} ready in {time.perf_counter() - start:.1f}s")
        return
    profile = PROFILES[args.profile] if args.profile else None
    per_split = split_counts(args.per_task) if args.per_task else dict(profile.per_split)
    size = args.size or profile.size
    design = profile.design if profile else "tasks"
    tasks = args.tasks.split(",") if args.tasks else list(profile.tasks if profile else TASKS)
    start = time.perf_counter()
    manifest = make_synthiml(
        args.out, per_split=per_split, size=size, seed=args.seed, workers=args.workers,
        authentic_ratio=args.authentic_ratio, tasks=tasks, design=design,
        photo_dirs=args.photos, face_dirs=args.faces, font_dirs=args.fonts,
        progress=not args.no_progress)
    total = sum(per_split.values()) * len(tasks)
    print(f"wrote {manifest}: {total} images ({per_split} per task) at {size}px "
          f"in {time.perf_counter() - start:.1f}s")
    if args.content_hash or args.check_reference or args.write_reference:
        hashes = content_hashes(manifest)
        print(json.dumps(hashes, indent=1, sort_keys=True))
    if args.write_reference:
        write_reference(hashes)
        print(f"recorded as the reference in {REFERENCE_PATH}")
    if args.check_reference:
        problems = compare_with_reference(hashes)
        if problems:
            raise IMLDataError(manifest, "content differs from the committed reference: "
                                         + "; ".join(problems))
        print(f"content hashes match {REFERENCE_PATH}")


if __name__ == "__main__":
    run_cli(main)
