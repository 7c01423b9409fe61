"""DemoSplices is deterministic, covers the four tasks and passes the dataset checker."""

import hashlib

import numpy as np

from mmiml import TASKS
from mmiml.datasets.demo_splices import make_demo_splices
from mmiml.datasets.io import load_image, load_mask, validate_entry
from mmiml.datasets.manifest import read_manifest


def _digest(folder):
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            h.update(path.name.encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def test_same_arguments_same_bytes(tmp_path):
    make_demo_splices(tmp_path / "a", num_train=8, num_test=4, size=64, seed=3)
    make_demo_splices(tmp_path / "b", num_train=8, num_test=4, size=64, seed=3)
    make_demo_splices(tmp_path / "c", num_train=8, num_test=4, size=64, seed=4)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")


def test_manifest_is_valid_and_masks_mark_changed_pixels(tmp_path):
    manifest = make_demo_splices(tmp_path, num_train=16, num_test=8, size=64, seed=0)
    entries = read_manifest(manifest)
    assert len(entries) == 24
    assert {e["task"] for e in entries} == set(TASKS)
    assert sum(e["split"] == "test" for e in entries) == 8
    assert all(validate_entry(e) == [] for e in entries)
    tampered = [e for e in entries if e["mask"] is not None]
    assert tampered and len(tampered) < len(entries)  # both classes present
    for e in tampered:
        mask = load_mask(e["mask"], expected_shape=(64, 64))
        assert 0 < mask.mean() < 0.5
        assert load_image(e["image"]).shape == (64, 64, 3)
    assert {e["manipulation"] for e in tampered} <= {"splice", "copy_move"}
    assert np.isin([e["image"][-4:] for e in entries], [".png", ".jpg"]).all()
