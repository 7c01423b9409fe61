"""Check every sample of a manifest in one pass and report every problem.

Usage::

    python tools/check_dataset.py data/casiav2.jsonl [--max-pixels N] [--mask-threshold T] \
        [--invert-masks]

Manifest-level problems (bad JSON, missing keys, unknown tasks, duplicates) and per-sample
problems (missing, truncated or corrupt files, size mismatches, masks that are not binary,
images over the pixel limit) are all listed; then a summary by task. Exits 1 if there is any
problem, 0 otherwise.
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter

from mmiml import TASKS
from mmiml.datasets.io import validate_entry
from mmiml.datasets.manifest import read_manifest
from mmiml.utils.errors import IMLDataError


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("manifest", help="manifest (.jsonl) to check")
    p.add_argument("--max-pixels", type=int, default=None,
                   help="report images with more pixels than this")
    p.add_argument("--mask-threshold", type=float, default=None,
                   help="binarise soft masks at value > T (0..255) instead of reporting them")
    p.add_argument("--invert-masks", action="store_true",
                   help="all masks mark authentic pixels white (NIST style)")
    return p.parse_args(argv)


def check(args: argparse.Namespace) -> tuple[list[str], list[str], list[dict]]:
    """Manifest-level problems, per-sample problems (messages) and the entries read."""
    manifest_errors: list[IMLDataError] = []
    entries = read_manifest(args.manifest, collect_problems=manifest_errors)
    sample_problems: list[str] = []
    for entry in entries:
        found = validate_entry(
            entry,
            max_pixels=args.max_pixels,
            mask_threshold=args.mask_threshold,
            invert_masks=args.invert_masks,
        )
        entry["_ok"] = not found
        # Prefix the manifest line so a problem can be traced back to its entry.
        sample_problems += [f"[{args.manifest}:{entry['line']}] {msg}" for msg in found]
    return [str(e) for e in manifest_errors], sample_problems, entries


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        manifest_problems, sample_problems, entries = check(args)
    except IMLDataError as e:  # the manifest itself is missing or unreadable
        print(f"error: {e}", file=sys.stderr)
        return 1
    problems = manifest_problems + sample_problems
    for msg in problems:
        print(f"PROBLEM {msg}")

    tampered = Counter(e["task"] for e in entries if e["mask"] is not None)
    authentic = Counter(e["task"] for e in entries if e["mask"] is None)
    bad = Counter(e["task"] for e in entries if not e["_ok"])
    print(f"\nsummary of {args.manifest}")
    print(f"{'task':<12}{'samples':>9}{'tampered':>10}{'authentic':>11}{'with problems':>15}")
    for task in TASKS:
        n = tampered[task] + authentic[task]
        if n:
            print(f"{task:<12}{n:>9}{tampered[task]:>10}{authentic[task]:>11}{bad[task]:>15}")
    print(f"{'all':<12}{len(entries):>9}{sum(tampered.values()):>10}"
          f"{sum(authentic.values()):>11}{sum(bad.values()):>15}")
    print(f"problems: {len(problems)} ({len(manifest_problems)} in manifest lines, "
          f"{len(sample_problems)} in samples)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
