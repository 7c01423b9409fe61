"""SynthIML end to end: every task generates, deterministically, with binary masks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers import tree_digest

from mmiml import TASKS
from mmiml.datasets.io import load_mask, validate_entry
from mmiml.datasets.manifest import read_manifest
from mmiml.datasets.synthesis.generator import PROFILES, make_synthiml, split_counts

SMALL = {"train": 3, "val": 1, "test": 3}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "a"
    make_synthiml(out, per_split=SMALL, size=64, seed=5, workers=1, authentic_ratio=0.3,
                  progress=False)
    return out


def test_same_arguments_same_bytes_whatever_the_workers(built, tmp_path):
    other = tmp_path / "b"
    make_synthiml(other, per_split=SMALL, size=64, seed=5, workers=2, authentic_ratio=0.3,
                  progress=False)
    assert tree_digest(built) == tree_digest(other)
    third = tmp_path / "c"
    make_synthiml(third, per_split=SMALL, size=64, seed=6, workers=1, authentic_ratio=0.3,
                  progress=False)
    assert tree_digest(built) != tree_digest(third)


def test_manifests_cover_tasks_and_splits(built):
    entries = read_manifest(built / "manifest.jsonl")
    assert len(entries) == sum(SMALL.values()) * len(TASKS)
    for split, n in SMALL.items():
        part = read_manifest(built / f"{split}.jsonl")
        assert len(part) == n * len(TASKS)
        assert {e["task"] for e in part} == set(TASKS)
    for e in entries:
        assert validate_entry(e) == [], e["image"]
        assert e["provenance"], e["image"]
        assert "jpeg" in e["post"]
        assert (e["mask"] is None) == (e["manipulation"] == "authentic")
    info = json.loads((built / "synthiml.json").read_text())
    assert info["counts"] == {k: v * len(TASKS) for k, v in SMALL.items()}


def test_masks_are_binary_and_non_empty(built):
    for e in read_manifest(built / "manifest.jsonl"):
        if e["mask"] is None:
            continue
        raw = np.asarray(__import__("PIL.Image", fromlist=["Image"]).open(e["mask"]))
        assert set(np.unique(raw)) <= {0, 255}
        assert load_mask(e["mask"]).any()


def test_profiles_and_split_counts():
    assert split_counts(100) == {"train": 70, "val": 10, "test": 20}
    assert PROFILES["cpu"].per_split == {"train": 1000, "val": 100, "test": 300}
    assert PROFILES["smoke"].size < PROFILES["cpu"].size < PROFILES["paper"].size


def test_bad_arguments_are_named(tmp_path):
    with pytest.raises(ValueError, match="authentic_ratio"):
        make_synthiml(tmp_path, per_split=SMALL, size=64, authentic_ratio=1.5, progress=False)
    with pytest.raises(ValueError, match="unknown tasks"):
        make_synthiml(tmp_path, per_split=SMALL, size=64, tasks=["faces"], progress=False)


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_every_profile_size_generates_all_tasks(profile, tmp_path):
    size = PROFILES[profile].size
    manifest = make_synthiml(tmp_path / profile, per_split={"train": 1, "val": 1, "test": 1},
                             size=size, seed=1, workers=1, authentic_ratio=0.0, progress=False)
    entries = read_manifest(manifest)
    assert {e["task"] for e in entries} == set(TASKS)
    for e in entries:
        assert validate_entry(e) == [], e["image"]
        assert load_mask(e["mask"]).shape[0] <= size
