"""Check every sample of a manifest in one pass and report every problem.

Usage::

    python tools/check_dataset.py data/casiav2.jsonl [--max-pixels N] [--mask-threshold T] \
        [--invert-masks]

Manifest-level problems (bad or too deeply nested JSON, missing keys, unknown tasks,
duplicates) and per-sample problems (missing, truncated or corrupt files, size mismatches,
images over the pixel limit, mask values the mask policy cannot read, a tampered entry whose
mask has no tampered pixel) are listed as PROBLEM lines; findings that do not stop a sample
from being used (a full mask, a 0/1 mask stored as JPEG) as WARNING lines. Then a summary by
task, the number of problems and warnings, and how many mask pixels needed the compression
tolerance (docs/data_contract.md, "Mask policy").

Exits 1 if there is any problem, 0 otherwise (warnings do not change it); 2 when the manifest
itself cannot be read or has no entries.
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

try:
    import mmiml  # noqa: F401
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mmiml import TASKS
from mmiml.datasets.io import (
    DEFAULT_MAX_PIXELS,
    MAX_PIXELS_ENV,
    EntryCheck,
    check_entry,
    resolve_max_pixels,
)
from mmiml.datasets.manifest import read_manifest
from mmiml.utils.cli import run_cli
from mmiml.utils.errors import IMLDataError


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("manifest", help="manifest (.jsonl) to check")
    p.add_argument("--max-pixels", type=int, default=None,
                   help=f"report images with more pixels than this (default: ${MAX_PIXELS_ENV} "
                        f"or {DEFAULT_MAX_PIXELS}; 0 = no limit)")
    p.add_argument("--mask-threshold", type=float, default=None,
                   help="binarise soft masks at value > T (0..255) instead of reporting them")
    p.add_argument("--invert-masks", action="store_true",
                   help="all masks mark authentic pixels white (NIST style)")
    return p.parse_args(argv)


def check(args: argparse.Namespace) -> tuple[list[str], list[str], list[str], list[dict]]:
    """Manifest-level problems, per-sample problems, per-sample warnings (messages) and the
    entries read (each with its :class:`EntryCheck` under ``"_check"``)."""
    max_pixels = resolve_max_pixels(args.max_pixels)  # a bad value stops here, once
    manifest_errors: list[IMLDataError] = []
    entries = read_manifest(args.manifest, collect_problems=manifest_errors, allow_empty=False)
    sample_problems: list[str] = []
    sample_warnings: list[str] = []
    for entry in entries:
        found = check_entry(
            entry,
            max_pixels=max_pixels,
            mask_threshold=args.mask_threshold,
            invert_masks=args.invert_masks,
        )
        entry["_check"] = found
        # Prefix the manifest line so a problem can be traced back to its entry.
        where = f"[{args.manifest}:{entry['line']}]"
        sample_problems += [f"{where} {e}" for e in found.errors]
        sample_warnings += [f"{where} {w}" for w in found.warnings]
    return [str(e) for e in manifest_errors], sample_problems, sample_warnings, entries


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    manifest_problems, sample_problems, sample_warnings, entries = check(args)
    problems = manifest_problems + sample_problems
    for msg in problems:
        print(f"PROBLEM {msg}")
    for msg in sample_warnings:
        print(f"WARNING {msg}")

    checks: list[EntryCheck] = [e["_check"] for e in entries]
    tampered = Counter(e["task"] for e in entries if e["mask"] is not None)
    authentic = Counter(e["task"] for e in entries if e["mask"] is None)
    bad = Counter(e["task"] for e, c in zip(entries, checks) if c.errors)
    print(f"\nsummary of {args.manifest}")
    print(f"{'task':<12}{'samples':>9}{'tampered':>10}{'authentic':>11}{'with problems':>15}")
    for task in TASKS:
        n = tampered[task] + authentic[task]
        if n:
            print(f"{task:<12}{n:>9}{tampered[task]:>10}{authentic[task]:>11}{bad[task]:>15}")
    print(f"{'all':<12}{len(entries):>9}{sum(tampered.values()):>10}"
          f"{sum(authentic.values()):>11}{sum(bad.values()):>15}")
    tolerant = [c for c in checks if c.tolerated_pixels]
    print(f"masks read with tolerance: {len(tolerant)} "
          f"({sum(c.tolerated_pixels for c in tolerant)} pixels not exactly on the mask's two "
          f"levels)")
    print(f"warnings: {len(sample_warnings)} (in {sum(bool(c.warnings) for c in checks)} "
          f"samples)")
    print(f"problems: {len(problems)} ({len(manifest_problems)} in manifest lines, "
          f"{len(sample_problems)} in samples)")
    return 1 if problems else 0


if __name__ == "__main__":
    run_cli(main)
