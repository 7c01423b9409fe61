"""The same bytes on every machine: the ``smoke`` profile's content hash is the committed one.

The reference (``mmiml/datasets/synthesis/content_hashes.json``) was made with the pinned
libraries and sources; a generator change that alters the data must update it deliberately:
``python tools/make_synthetic.py --profile smoke --out DIR --write-reference``.
"""

from __future__ import annotations

from mmiml.datasets.synthesis.generator import (
    PROFILES,
    compare_with_reference,
    content_hashes,
    make_synthiml,
)


def test_smoke_profile_matches_the_committed_content_hash(tmp_path):
    prof = PROFILES["smoke"]
    manifest = make_synthiml(tmp_path / "smoke", per_split=dict(prof.per_split), size=prof.size,
                             seed=0, workers=2, progress=False)
    assert compare_with_reference(content_hashes(manifest)) == []
