"""SynthIML ``probe``: two balanced groups whose edit is visible either only in the compression
history (``compression``) or only in the pixels (``pixel``), deterministic, and the ``group``
carried from the manifest to each sample's metainfo."""

from __future__ import annotations

import io
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers import tree_digest
from PIL import Image

from mmiml import TASKS
from mmiml.datasets.manifest import check_entry_fields, read_manifest
from mmiml.datasets.synthesis.generator import (
    PROFILES,
    make_synthiml,
    profile_args,
    sample_rng,
)
from mmiml.datasets.synthesis.postprocess import decode, encode_jpeg
from mmiml.datasets.synthesis.probe import (
    GROUPS,
    generate_probe,
    probe_authentic,
    probe_group,
)
from mmiml.datasets.synthesis.sources import Sources, load_sources

PER_SPLIT = {"train": 10, "val": 0, "test": 20}
# Mean absolute RGB difference (grey levels, inside the mask) between a stored image and its
# authentic twin stored the same way. Measured on the full probe profile (840 tampered images
# per group): compression mean 4.5, max 10.6; pixel mean 54.7, min 11.6.
COMPRESSION_RGB_MAX = 12.0
COMPRESSION_RGB_MEAN_MAX = 6.0
PIXEL_RGB_MIN = 11.0
PIXEL_RGB_MEAN_MIN = 30.0


def _build(out: Path, seed: int = 0, workers: int = 1) -> Path:
    return make_synthiml(out, per_split=PER_SPLIT, size=128, seed=seed, workers=workers,
                         tasks=("natural",), design="probe", progress=False)


def _rgb(path: str) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def _mask(path: str) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im) > 0


def _ghost_ratio(img: np.ndarray, mask: np.ndarray, quality: int) -> float:
    """JPEG ghost: how much more a recompression at ``quality`` changes the pixels inside the
    mask than outside. A region that never went through that quality changes more."""
    change = np.abs(img.astype(np.int16) - decode(encode_jpeg(img, quality))).mean(axis=-1)
    return float(change[mask].mean() / max(change[~mask].mean(), 1e-6))


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    return _build(tmp_path_factory.mktemp("probe") / "a")


@pytest.fixture(scope="module")
def entries(built) -> list[dict]:
    return read_manifest(built)


@pytest.fixture(scope="module")
def sources() -> Sources:
    return load_sources()


def test_probe_profile_is_one_natural_task_in_two_designs_apart():
    prof = PROFILES["probe"]
    assert (prof.size, prof.design, prof.tasks) == (128, "probe", ("natural",))
    assert prof.per_split == {"train": 1600, "val": 100, "test": 400}
    assert profile_args("probe") == {"per_split": prof.per_split, "size": 128,
                                     "design": "probe", "tasks": ["natural"]}
    # the four-task profiles keep their arguments, hence their cache keys
    assert profile_args("cpu") == {"per_split": PROFILES["cpu"].per_split, "size": 128}


def test_same_arguments_same_bytes_whatever_the_workers(built, tmp_path):
    assert tree_digest(built.parent) == tree_digest(_build(tmp_path / "b", workers=2).parent)
    assert tree_digest(built.parent) != tree_digest(_build(tmp_path / "c", seed=1).parent)


def test_same_sample_twice_byte_for_byte(sources):
    for index in range(4):
        samples = [generate_probe(sample_rng(0, "natural", "test", index, design="probe"), 128,
                                  sources, probe_group(index), False) for _ in range(2)]
        assert samples[0].data == samples[1].data
        assert np.array_equal(samples[0].mask, samples[1].mask)
        assert samples[0].details == samples[1].details


def test_probe_streams_differ_from_the_natural_tasks():
    a = sample_rng(0, "natural", "train", 3).random(4)
    b = sample_rng(0, "natural", "train", 3, design="probe").random(4)
    assert not np.allclose(a, b)


def test_groups_are_balanced_and_recorded(built, entries):
    assert {e["task"] for e in entries} == {"natural"}
    for split, n in PER_SPLIT.items():
        part = [e for e in entries if e["split"] == split]
        counts = {g: sum(e["group"] == g for e in part) for g in GROUPS}
        assert counts == {g: n // 2 for g in GROUPS}, (split, counts)
        for group in GROUPS:
            mine = [e for e in part if e["group"] == group]
            # exactly 20% authentic per group (two of ten)
            assert sum(e["mask"] is None for e in mine) == len(mine) // 5
    for e in entries:
        assert check_entry_fields({k: v for k, v in e.items() if k != "line"}) == []
        assert Path(e["image"]).name.startswith(e["group"])
        assert (e["mask"] is None) == (e["manipulation"] == "authentic")
        assert "jpeg" in e["post"]
        if e["group"] == "compression":
            assert e["manipulation"] in ("history_splice", "authentic")
            assert 50 <= e["details"]["host_jpeg"] <= 75 and 85 <= e["post"]["jpeg"][0] <= 95
        else:
            assert e["manipulation"] in ("splice", "copy_move", "authentic")
            assert e["details"]["laundering"] in ("resize_noise_jpeg", "png")
            assert (e["details"]["laundering"] == "png") == (e["post"]["jpeg"] == [])
    info = json.loads((built.parent / "synthiml.json").read_text())
    assert info["args"]["design"] == "probe"


def test_exact_authentic_share_per_group():
    for ratio, expected in ((0.2, 20), (0.0, 0), (1.0, 100), (0.25, 25)):
        for group in GROUPS:
            idx = [i for i in range(200) if probe_group(i) == group]
            assert sum(probe_authentic(i, ratio) for i in idx) == expected


def test_compression_edit_is_invisible_in_rgb_but_not_in_the_history(entries):
    tampered = [e for e in entries if e["group"] == "compression" and e["mask"]]
    ghosts = []
    for e in tampered:
        d = e["details"]
        assert max(d["rgb_diff_final"], d["rgb_diff_edit"]) < COMPRESSION_RGB_MAX
        img, mask = _rgb(e["image"]), _mask(e["mask"])
        assert img.shape == (128, 128, 3)  # on the 8x8 grid, never resized
        with Image.open(e["image"]) as im:  # the stored file is the recorded final quality
            table = im.quantization[0]
        buf = io.BytesIO(encode_jpeg(img, e["post"]["jpeg"][0]))
        with Image.open(buf) as ref:
            assert table == ref.quantization[0]
        ghosts.append(_ghost_ratio(img, mask, d["host_jpeg"]))
    assert np.mean([e["details"]["rgb_diff_final"] for e in tampered]) < COMPRESSION_RGB_MEAN_MAX
    # outside the region the image went through the host quality, inside it did not
    assert np.median(ghosts) > 3.0 and np.mean(np.array(ghosts) > 1.2) >= 0.9, ghosts


def test_pixel_edit_is_visible_and_its_history_says_nothing(entries):
    tampered = [e for e in entries if e["group"] == "pixel" and e["mask"]]
    ghosts = []
    for e in tampered:
        d = e["details"]
        assert min(d["rgb_diff_final"], d["rgb_diff_edit"]) > PIXEL_RGB_MIN
        img, mask = _rgb(e["image"]), _mask(e["mask"])
        ghosts.append(_ghost_ratio(img, mask, 60))
        if d["laundering"] == "resize_noise_jpeg":
            assert 0.6 <= e["post"]["resize"] <= 0.9 and e["image"].endswith(".jpg")
        else:
            assert e["image"].endswith(".png")
    assert np.mean([e["details"]["rgb_diff_final"] for e in tampered]) > PIXEL_RGB_MEAN_MIN
    assert np.median(ghosts) < 1.5, ghosts


def test_twin_is_the_authentic_sample_stored_the_same_way(sources):
    """The RGB figures compare with the right image: for the compression group the twin is
    exactly the authentic sample drawn from the same stream (same host, Q1 and Q2), and the
    stored edit equals it outside the JPEG blocks the region touches."""
    checked = 0
    for index in range(0, 12, 2):
        rng = sample_rng(0, "natural", "train", index, design="probe")
        sample = generate_probe(rng, 128, sources, "compression", False)
        rng = sample_rng(0, "natural", "train", index, design="probe")
        authentic = generate_probe(rng, 128, sources, "compression", True)
        assert np.array_equal(sample.twin, decode(authentic.data))
        stored = decode(sample.data)
        # 16x16 units (4:2:0 chroma) that neither the region nor a neighbour touches are
        # encoded and decoded alike (the decoder's chroma upsampling reads the neighbours)
        touched = sample.mask.reshape(8, 16, 8, 16).any(axis=(1, 3))
        near = cv2.dilate(touched.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
        far = ~np.kron(near, np.ones((16, 16), bool))
        assert far.any()
        assert np.array_equal(stored[far], sample.twin[far])
        inside = np.abs(stored.astype(np.int16) - sample.twin)[sample.mask > 0].mean()
        assert 0 < inside < COMPRESSION_RGB_MAX
        checked += 1
    assert checked == 6


def test_png_pixel_samples_differ_from_their_twin_only_in_the_mask(sources):
    seen_decoy = False
    for index in range(1, 60, 2):
        rng = sample_rng(0, "natural", "test", index, design="probe")
        sample = generate_probe(rng, 128, sources, "pixel", False)
        if sample.details["laundering"] != "png":
            continue
        stored = decode(sample.data)
        outside = sample.mask == 0
        assert np.array_equal(stored[outside], sample.twin[outside])
        decoy = sample.details["decoy"]
        if decoy is not None:
            seen_decoy = True
            assert 50 <= decoy["jpeg"] <= 70
    assert seen_decoy


def test_probe_design_refuses_other_tasks(tmp_path):
    with pytest.raises(ValueError, match="one task, natural"):
        make_synthiml(tmp_path, per_split=PER_SPLIT, size=64, tasks=TASKS, design="probe",
                      progress=False)
    with pytest.raises(ValueError, match="unknown design"):
        make_synthiml(tmp_path, per_split=PER_SPLIT, size=64, design="nope", progress=False)
    with pytest.raises(ValueError, match="unknown probe group"):
        generate_probe(np.random.default_rng(0), 64, Sources(), "frequency", False)


def test_manifest_group_field_is_checked():
    base = {"image": "a.png", "mask": None, "task": "natural", "source": "s", "split": "test"}
    assert check_entry_fields(base) == []
    assert check_entry_fields({**base, "group": "pixel"}) == []
    for bad in ("", 3, None, ["pixel"]):
        assert any("'group'" in p for p in check_entry_fields({**base, "group": bad})), bad


def test_dataset_carries_the_group_into_the_metainfo(built, tmp_path):
    from mmiml.datasets.iml_dataset import IMLDataset
    from mmiml.datasets.transforms.formatting import PackIMLInputs
    from mmiml.datasets.transforms.loading import (
        LoadIMLAnnotations,
        LoadIMLImageFromFile,
        LoadJpegDCT,
    )

    pipeline = [LoadIMLImageFromFile(), LoadIMLAnnotations(), LoadJpegDCT(),
                PackIMLInputs()]  # the default meta keys carry the group
    ds = IMLDataset(ann_file=str(built), split="test", pipeline=pipeline, test_mode=True)
    by_path = {e["image"]: e["group"] for e in read_manifest(built, split="test")}
    for i in (0, 1, 2, 3):
        info = ds.get_data_info(i)
        packed = ds[i]
        assert info["group"] == by_path[info["img_path"]]
        assert packed["data_samples"].metainfo["group"] == info["group"]
        assert packed["data_samples"].metainfo["task"] == "natural"
    # an entry without a group has no key (not None): grouped and ungrouped samples differ
    rows = [json.loads(line) for line in (built.parent / "test.jsonl").read_text().splitlines()]
    del rows[0]["group"]
    (built.parent / "nogroup.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    ds = IMLDataset(ann_file=str(built.parent / "nogroup.jsonl"), pipeline=pipeline,
                    test_mode=True)
    assert "group" not in ds.get_data_info(0) and "group" in ds.get_data_info(1)
    assert "group" not in ds[0]["data_samples"].metainfo
