"""Download, check and unpack SynthIML's pinned sources (photographs, faces, scans, fonts).

    python tools/fetch_sources.py                 # into $MMIML_SOURCES or ~/.cache/mmiml/sources
    python tools/fetch_sources.py --cache DIR
    python tools/fetch_sources.py --verify        # re-hash every unpacked file, download nothing
    python tools/fetch_sources.py --list          # packages, versions, licences and file counts
    python tools/fetch_sources.py --markdown docs/synthiml/sources.md

Every package is pinned by registry, version and sha256 in
``mmiml/datasets/synthesis/sources.json``; only the listed files are unpacked, each checked by
its own sha256. A second run skips what is already there. See docs/synthiml/sources.md.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from mmiml.datasets.synthesis.source_catalog import (
    catalog_markdown,
    default_cache,
    fetch_sources,
    load_catalog,
    verify_sources,
)
from mmiml.utils.cli import run_cli
from mmiml.utils.errors import IMLDataError


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cache", type=Path, default=None,
                   help="cache folder (default: $MMIML_SOURCES or ~/.cache/mmiml/sources)")
    p.add_argument("--verify", action="store_true", help="only re-hash the unpacked files")
    p.add_argument("--list", action="store_true", help="print the catalog and exit")
    p.add_argument("--markdown", type=Path, help="write the catalog as markdown to this file "
                                                 "and exit (docs/synthiml/sources.md)")
    args = p.parse_args()
    cache = args.cache or default_cache()
    packages = load_catalog()
    if args.markdown:
        args.markdown.write_text(catalog_markdown(packages))
        print(f"written {args.markdown}")
        return
    if args.list:
        for pkg in packages:
            uses = sorted({u for f in pkg.files for u in f.use})
            print(f"{pkg.registry:6} {pkg.name} {pkg.version}: {len(pkg.files)} files "
                  f"({', '.join(uses)}), {pkg.size / 1e6:.1f} MB, licence {pkg.licence}")
        return
    if args.verify:
        problems = verify_sources(cache, packages)
        for line in problems:
            print(line)
        n = sum(len(p.files) for p in packages)
        print(f"[sources] {n - len(problems)} of {n} files match their pinned sha256 in {cache}")
        if problems:
            raise IMLDataError(cache, f"{len(problems)} source file(s) missing or changed; "
                                      "run `python tools/fetch_sources.py`")
        return
    start = time.time()
    report = fetch_sources(cache, packages)
    print(f"[sources] {report['packages']} packages ({report['skipped']} already there), "
          f"{report['files']} files unpacked ({report['bytes'] / 1e6:.1f} MB) into {cache} "
          f"in {time.time() - start:.1f} s")


if __name__ == "__main__":
    run_cli(main)
