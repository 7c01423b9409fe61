"""Time and peak memory of generating a SynthIML profile.

    python benchmarks/synthiml_generation.py [--profile cpu] [--workers 2]

Prints wall time, images/s and peak resident memory of the parent and of the largest worker
(ru_maxrss of RUSAGE_SELF and RUSAGE_CHILDREN). Target for ``cpu`` on 2 cores: < 5 min, < 2 GB.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from mmiml.datasets.synthesis.generator import (  # noqa: E402
    PROFILES,
    make_synthiml,
    profile_args,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profile", default="cpu", choices=sorted(PROFILES))
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    prof = PROFILES[args.profile]
    # the four-task profiles count per task; the probe's sizes are its groups' total
    total = sum(prof.per_split.values()) * len(prof.tasks)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        make_synthiml(Path(tmp) / "synthiml", workers=args.workers, progress=False,
                      **profile_args(args.profile))
        wall = time.perf_counter() - start
        disk = sum(p.stat().st_size for p in Path(tmp).rglob("*") if p.is_file())
    self_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"profile {args.profile}: {total} images at {prof.size}px, {args.workers} workers")
    print(f"wall {wall:.1f} s ({total / wall:.1f} images/s), on disk {disk / 2**20:.1f} MiB")
    print(f"peak RSS: parent {self_mb:.0f} MiB, largest worker {child_mb:.0f} MiB")


if __name__ == "__main__":
    main()
