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


def test_generation_runs_with_numpy_dispatch_off(tmp_path):
    """NumPy's CPU-dispatched kernels round differently on other processors: the generator
    runs without them, in a child process when this one has them on (the recorded state says
    which), and the child refuses to write anything if the switch did not take."""
    import json

    import pytest

    from mmiml.datasets.synthesis import generator

    manifest = make_synthiml(tmp_path / "tiny", per_split={"train": 0, "val": 0, "test": 1},
                             size=32, seed=0, workers=1, progress=False, tasks=("natural",))
    info = json.loads((manifest.parent / "synthiml.json").read_text())
    assert info["numpy_dispatch"] == "off (baseline kernels only)"
    if not generator.numpy_dispatch_active():
        pytest.skip("this machine's NumPy dispatches to no SIMD target")
    args = tmp_path / "args.json"
    args.write_text(json.dumps({"out_dir": str(tmp_path / "never"), "per_split": {"test": 1},
                                "size": 32}))
    with pytest.raises(SystemExit, match="still dispatches"):
        generator._main([str(args)])
    assert not (tmp_path / "never").exists()
