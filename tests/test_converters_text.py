"""The DocTamper, T-SROIE, Tampered-IC13, OSTF and OpenForensics converters on tiny copies of
their shipped layouts (``dataset_fixtures_text.py``): counts per split, every defect reported,
mask polarity, a manifest that ``read_manifest`` and ``tools/check_dataset.py`` accept, and
DocTamper's byte-exact image export, compression records and safe pickle loading."""
from __future__ import annotations

import io
import json
import pickle
from pathlib import Path
from typing import Any

import cv2
import dataset_fixtures_text as fx
import numpy as np
import pytest
from helpers import load_tool
from PIL import Image

from mmiml.datasets.converters import CONVERTERS, ConversionReport, convert_dataset
from mmiml.datasets.converters.doctamper import doctamper_recompress
from mmiml.datasets.converters.safe_pickle import load_pickle
from mmiml.datasets.manifest import read_manifest
from mmiml.utils.errors import ConfigError, IMLDataError

#: report lists that must hold exactly the expected file names (empty when none is expected)
_FILE_LISTS = ("unpaired_images", "unpaired_masks", "empty_masks", "full_masks",
               "ignored_files")
_PAIR_LISTS = ("undecodable", "skipped")


@pytest.fixture(scope="module")
def check_dataset() -> Any:
    return load_tool("check_dataset")


def _convert(name: str, root: Path, tmp_path: Path, **options: Any
             ) -> tuple[Path, list[dict[str, Any]], ConversionReport]:
    out = tmp_path / "out" / f"{name}.jsonl"
    entries, report = convert_dataset(name, root, out, **options)
    return out, entries, report


def _matches(expected: list[str], found: list[str]) -> bool:
    """Each expected name appears in its own report line, and no line is unexpected."""
    return len(expected) == len(found) and all(
        any(name in line for line in found) for name in expected)


def _check(out: Path, entries: list[dict[str, Any]], report: ConversionReport,
           expected: dict[str, Any], check_dataset: Any) -> dict[str, dict[str, Any]]:
    """The checks every converter passes; returns the manifest's entries by ``orig_image``."""
    counts = {s: {k: report.counts[(s, k)] for k in ("tampered", "authentic")}
              for s in report.splits()}
    assert counts == expected["counts"]
    for key in _FILE_LISTS:
        assert _matches(expected.get(key, []), getattr(report, key)), (key, getattr(report, key))
    for key in _PAIR_LISTS:
        files = [f for f, _ in getattr(report, key)]
        assert _matches(expected.get(key, []), files), (key, getattr(report, key))
    assert not report.size_mismatches
    manifest = read_manifest(out)
    assert len(manifest) == len(entries) == report.num_entries
    by_orig = {e["orig_image"]: e for e in manifest}
    for e in manifest:
        assert (e["mask"] is None) == ("mask_encoding" not in e)
        if e["mask"] is not None:
            assert e["orig_mask"] and Path(e["mask"]).suffix == ".png"
    for orig, (inside, real) in expected["polarity"].items():
        mask = cv2.imread(by_orig[orig]["mask"], cv2.IMREAD_UNCHANGED)
        assert mask.ndim == 2 and set(np.unique(mask).tolist()) == {0, 255}
        assert mask[inside[1], inside[0]] == 255, orig  # (x, y) inside a tampered region
        if real is not None:
            assert mask[real[1], real[0]] == 0, orig  # inside real text / a real face
    assert check_dataset.main([str(out)]) == 0
    return by_orig


def test_registered_in_order() -> None:
    names = list(CONVERTERS)
    assert names[names.index("imd2020") + 1:][:5] == [
        "doctamper", "tsroie", "tampered_ic13", "ostf", "openforensics"]
    for name, task in (("doctamper", "document"), ("tsroie", "document"),
                       ("tampered_ic13", "scene_text"), ("ostf", "scene_text"),
                       ("openforensics", "face")):
        cls = CONVERTERS[name]
        assert cls.TASK == task and "omni" in cls.PROTOCOLS and cls.LAYOUT
    assert "doctamper" in CONVERTERS["doctamper"].PROTOCOLS


# ---------------------------------------------------------------------------------- DocTamper
def test_doctamper(tmp_path: Path, check_dataset: Any) -> None:
    root = tmp_path / "DocTamper"
    root.mkdir()
    expected = fx.make_doctamper(root)
    out, entries, report = _convert("doctamper", root, tmp_path)
    by_orig = _check(out, entries, report, expected, check_dataset)
    assert {e["subset"] for e in entries} == {"TrainingSet", "TestingSet"}
    # the exported images are the LMDB bytes, unchanged, named <subset>/<index><ext>
    export = out.parent / "doctamper_images"
    for e in entries:
        image = Path(e["image"])
        assert image.parent == export / e["subset"] and image.stem == str(e["lmdb_index"])
        assert image.read_bytes() == expected["lmdb"][e["subset"]][e["lmdb_index"]][0]
        assert "compression_qualities" not in e
    for (subset, index), ext in expected["extensions"].items():
        assert (export / subset / f"{index}{ext}").is_file()
    # only the manifest's images are exported (not the empty-label or undecodable ones)
    assert sorted(export.rglob("*.*")) == sorted(Path(e["image"]) for e in entries)
    # label scales reported once per subset
    line = next(d for d in report.defects if "DocTamperV1-TestingSet" in d)
    assert "0/1: 1" in line and "0/255: 1" in line and "max 2: 1" in line
    assert sum("DocTamperV1-TrainingSet" in d for d in report.defects) == 1
    # value-2 label binarised like the others
    assert by_orig["DocTamperV1-TestingSet/data.mdb#image-000000004"]["orig_mask"] == \
        "DocTamperV1-TestingSet/data.mdb#label-000000004"


def test_doctamper_compression_records(tmp_path: Path, check_dataset: Any) -> None:
    root = tmp_path / "DocTamper"
    root.mkdir()
    expected = fx.make_doctamper(root)
    out, entries, report = _convert("doctamper", root, tmp_path, min_quality=75)
    _check(out, entries, report, expected, check_dataset)
    tests = {e["lmdb_index"]: e for e in read_manifest(out) if e["subset"] == "TestingSet"}
    assert {i: e["compression_qualities"] for i, e in tests.items()} == expected["qualities"]
    assert all(e["doctamper_min_quality"] == 75 for e in tests.values())
    assert all("compression_qualities" not in e for e in entries if e["split"] == "train")
    with pytest.raises(ConfigError, match="doctamper-min-quality"):
        _convert("doctamper", root, tmp_path, min_quality=70)
    with pytest.raises(IMLDataError, match="DocTamperV1-TestingSet_80.pk"):
        _convert("doctamper", root, tmp_path, min_quality=80)


def test_doctamper_split_override_and_bad_root(tmp_path: Path) -> None:
    root = tmp_path / "DocTamper"
    root.mkdir()
    fx.make_doctamper(root)
    _, entries, _ = _convert("doctamper", root, tmp_path, split="val")
    assert {e["split"] for e in entries} == {"val"}
    with pytest.raises(IMLDataError, match="DocTamperV1"):
        _convert("doctamper", tmp_path / "out", tmp_path / "again")


def test_safe_pickle_refuses_code(tmp_path: Path) -> None:
    root = tmp_path / "DocTamper"
    root.mkdir()
    expected = fx.make_doctamper(root)
    with pytest.raises(IMLDataError, match=r"refused.*system"):
        load_pickle(expected["evil"])
    assert not expected["marker"].exists()
    tables = load_pickle(root / "pks" / "qt_table.pk")  # protocol 2, numpy arrays
    assert sorted(tables) == [75, 80, 85, 90, 95] and tables[75].tolist() == [75] * 64
    records = load_pickle(root / "pks" / "DocTamperV1-TestingSet_75.pk")
    assert records[2].tolist() == [95, 80, 75]
    (tmp_path / "junk.pk").write_bytes(b"not a pickle")
    with pytest.raises(IMLDataError, match="junk.pk"):
        load_pickle(tmp_path / "junk.pk")


def _gray_table(image: bytes, quality: int) -> dict[int, Any]:
    buf = io.BytesIO()
    Image.open(io.BytesIO(image)).convert("L").save(buf, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).quantization


def test_doctamper_recompress_known_answer() -> None:
    src = fx.jpeg_bytes(3)
    for qualities in ([90], [85, 75], [95, 80, 75], [60, 95, 80, 70]):
        out = doctamper_recompress(src, qualities)
        img = Image.open(io.BytesIO(out))
        assert img.format == "JPEG" and img.mode == "L"
        assert img.quantization == _gray_table(src, qualities[-1])
    # the intended sequence is not one compression at record[0]
    assert doctamper_recompress(src, [95, 80, 75]) != doctamper_recompress(src, [95])
    with pytest.raises(ValueError):
        doctamper_recompress(src, [])
    with pytest.raises(ValueError):
        doctamper_recompress(src, [0])


# ---------------------------------------------------------------------------------- T-SROIE
def test_tsroie(tmp_path: Path, check_dataset: Any) -> None:
    root = tmp_path / "T-SROIE"
    root.mkdir()
    expected = fx.make_tsroie(root)
    out, entries, report = _convert("tsroie", root, tmp_path)
    by_orig = _check(out, entries, report, expected, check_dataset)
    assert by_orig["train/X001.jpg"]["orig_mask"] == "sroie_train_1011.json#image_id=1"
    assert by_orig["train/X002.jpg"]["mask"] is None  # only real text: authentic
    assert by_orig["test/X102.jpg"]["mask"] is None  # no annotation at all


def test_tsroie_bad_input(tmp_path: Path) -> None:
    with pytest.raises(IMLDataError, match="sroie_train_1011.json"):
        _convert("tsroie", tmp_path, tmp_path / "o")
    root = tmp_path / "T-SROIE"
    root.mkdir()
    fx.make_tsroie(root)
    path = root / "sroie_train_1011.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["annotations"][0]["segmentation"] = [1, 2, 3]
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(IMLDataError, match=r"sroie_train_1011.json#image_id=1, annotation 1"):
        _convert("tsroie", root, tmp_path / "o")


# ---------------------------------------------------------------------------------- Tampered-IC13
def test_tampered_ic13(tmp_path: Path, check_dataset: Any) -> None:
    root = tmp_path / "Tampered-IC13"
    root.mkdir()
    expected = fx.make_tampered_ic13(root)
    out, entries, report = _convert("tampered_ic13", root, tmp_path)
    by_orig = _check(out, entries, report, expected, check_dataset)
    assert by_orig["train_img/img_2.jpg"]["mask"] is None
    assert by_orig["test_img/img_10.jpg"]["orig_mask"] == "test_gt/gt_img_10.txt"


def test_tampered_ic13_malformed_line(tmp_path: Path) -> None:
    root = tmp_path / "Tampered-IC13"
    root.mkdir()
    expected = fx.make_tampered_ic13(root, malformed=True)
    with pytest.raises(IMLDataError, match=expected["malformed_at"]):
        _convert("tampered_ic13", root, tmp_path)


# ---------------------------------------------------------------------------------- OSTF
def test_ostf(tmp_path: Path, check_dataset: Any) -> None:
    root = tmp_path / "OSTF"
    root.mkdir()
    expected = fx.make_ostf(root)
    out, entries, report = _convert("ostf", root, tmp_path)
    by_orig = _check(out, entries, report, expected, check_dataset)
    for orig, method in expected["methods"].items():
        assert by_orig[orig]["method"] == method
    assert by_orig["mmacc/srnet/b.jpg"]["mask"] is None
    why = dict(report.skipped)["mmacc/srnet/c.jpg"]
    assert "100x80" in why and f"{fx.W}x{fx.H}" in why


def test_ostf_malformed_record(tmp_path: Path) -> None:
    root = tmp_path / "OSTF"
    root.mkdir()
    fx.make_ostf(root)
    with open(root / "mmacc" / "srnet_test.pk", "wb") as f:
        pickle.dump({"srnet/d.jpg": {"w": fx.W, "h": fx.H, "b": [[1, 2, 3, 4, 7]]}}, f)
    with pytest.raises(IMLDataError, match=r"srnet_test.pk.*'srnet/d.jpg', box 0"):
        _convert("ostf", root, tmp_path)


# ---------------------------------------------------------------------------------- OpenForensics
def test_openforensics(tmp_path: Path, check_dataset: Any) -> None:
    root = tmp_path / "OpenForensics"
    root.mkdir()
    expected = fx.make_openforensics(root)
    out, entries, report = _convert("openforensics", root, tmp_path)
    by_orig = _check(out, entries, report, expected, check_dataset)
    for orig, subset in expected["subsets"].items():
        assert by_orig[orig]["subset"] == subset
    assert by_orig["Images/Train/b.jpg"]["mask"] is None
    assert "RLE" in by_orig["Images/Train/c.jpg"]["mask_encoding"]
    assert "compressed RLE" in dict(report.skipped)["Images/Train/d.jpg"]


def test_openforensics_release_folder(tmp_path: Path) -> None:
    release = tmp_path / "OpenForensics" / "Release" / "1.0.0"
    release.mkdir(parents=True)
    expected = fx.make_openforensics(release)
    _, entries, report = _convert("openforensics", tmp_path / "OpenForensics", tmp_path)
    assert len(entries) == sum(sum(c.values()) for c in expected["counts"].values())
    with pytest.raises(IMLDataError, match="_poly.json"):
        _convert("openforensics", tmp_path / "out", tmp_path / "again")
