"""The natural-image dataset converters on fixtures in their shipped layouts: pairing, mask
polarity, every defect reported, and manifests that tools/check_dataset.py accepts."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from dataset_fixtures import FIXTURES, make_casia2, make_coverage
from helpers import load_tool

from mmiml.datasets.converters import CONVERTERS, convert_dataset
from mmiml.datasets.converters.columbia import columbia_mask
from mmiml.datasets.io import read_mask
from mmiml.datasets.manifest import read_manifest
from mmiml.utils.errors import ConfigError, IMLDataError

LISTS = ("unpaired_images", "unpaired_masks", "empty_masks", "undecodable", "skipped",
         "ignored_files", "defects")


def _texts(report: Any, key: str) -> list[str]:
    items = getattr(report, key)
    return [" ".join(map(str, x)) if isinstance(x, tuple) else str(x) for x in items]


def _check(name: str, root: Path, out: Path, expected: dict[str, Any], **kw: Any):
    entries, report = convert_dataset(name, root, out, **kw)
    counts = {s: (report.counts[(s, "tampered")], report.counts[(s, "authentic")])
              for s in report.splits()}
    assert counts == expected["counts"], report.lines()
    for key in LISTS:
        texts = _texts(report, key)
        for want in expected.get(key, []):
            assert any(want in t for t in texts), (key, want, texts)
        if key in ("unpaired_images", "unpaired_masks", "empty_masks", "undecodable"):
            assert len(texts) == len(expected.get(key, [])), (key, texts)
    mismatches = {m.mask: m.decision for m in report.size_mismatches}
    want = expected.get("size_mismatches", {})
    assert set(mismatches) == set(want), mismatches
    for mask, word in want.items():
        assert word in mismatches[mask], mismatches[mask]
    # every file seen is an entry or a line of the report
    manifest = read_manifest(out)
    assert len(manifest) == len(entries) == report.num_entries
    by_orig = {e["orig_image"]: e for e in manifest}
    for image, (x, y) in expected.get("inside", {}).items():
        assert _mask_at(by_orig[image], x, y) == 1, image
    for image, (x, y) in expected.get("outside", {}).items():
        assert _mask_at(by_orig[image], x, y) == 0, image
    for e in manifest:
        assert e["source"] == CONVERTERS[name].SOURCE and e["task"] == CONVERTERS[name].TASK
        if e["mask"] is not None:
            assert e["mask_encoding"] and e["orig_mask"]
    stored = json.loads(out.with_name(out.name + ".report.json").read_text())
    assert stored["entries"] == len(entries)
    tool = load_tool("check_dataset")
    assert tool.main([str(out)]) == 0
    return manifest, report


def _mask_at(entry: dict[str, Any], x: int, y: int) -> int:
    reading = read_mask(entry["mask"], inverted=entry["mask_inverted"],
                        threshold=entry.get("mask_threshold"))
    return int(reading.mask[y, x])


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_converter_on_its_fixture(name: str, tmp_path: Path):
    root = tmp_path / "data"
    expected = FIXTURES[name](root)
    _check(name, root, tmp_path / "out" / f"{name}.jsonl", expected)


def test_casia2_with_catnet_lists_takes_their_splits(tmp_path: Path):
    root = tmp_path / "data"
    expected = make_casia2(root, lists=True)
    _check("casia2", root, tmp_path / "casia2.jsonl", expected, lists=expected["lists"])
    with pytest.raises(IMLDataError, match="CASIA_v2_test_list.txt"):
        (expected["lists"] / "CASIA_v2_test_list.txt").unlink()
        convert_dataset("casia2", root, tmp_path / "again.jsonl", lists=expected["lists"])


def test_casia2_transposed_mask_is_never_squashed(tmp_path: Path):
    root = tmp_path / "data"
    make_casia2(root)
    _, report = convert_dataset("casia2", root, tmp_path / "m.jsonl", size_policy="resize")
    transposed = [m for m in report.size_mismatches if m.mask_size == m.image_size[::-1]]
    assert len(transposed) == 1 and transposed[0].decision.startswith("skipped")


@pytest.mark.parametrize("policy, kept", [("resize", 2), ("crop", 2), ("skip", 1)])
def test_size_policy_decides_and_reports(policy: str, kept: int, tmp_path: Path):
    root = tmp_path / "data"
    make_coverage(root)  # mask/2forged.tif is larger than its image
    entries, report = convert_dataset("coverage", root, tmp_path / "c.jsonl",
                                      size_policy=policy)
    assert sum(e["mask"] is not None for e in entries) == kept
    (mismatch,) = report.size_mismatches
    assert mismatch.decision.split()[0] == {"resize": "resized", "crop": "cropped",
                                            "skip": "skipped"}[policy]
    if policy != "skip":
        entry = next(e for e in entries if e["orig_image"] == "image/2t.tif")
        mask = read_mask(entry["mask"]).mask
        assert mask.shape == (32, 48) and "derived" not in entry["mask"]
        assert Path(entry["mask"]).parent.name == "image"  # under <out>_masks/image/


def test_columbia_green_is_the_spliced_part():
    rgb = np.zeros((2, 4, 3), np.uint8)
    rgb[0] = [(200, 0, 0), (255, 0, 0), (0, 200, 0), (0, 255, 0)]
    rgb[1] = [(0, 0, 0), (255, 255, 255), (30, 140, 20), (180, 170, 10)]  # JPEG-ish noise
    assert columbia_mask(rgb).tolist() == [[0, 0, 1, 1], [0, 0, 1, 0]]


def test_nist16_records_the_manipulation_type_and_inverted_masks(tmp_path: Path):
    root = tmp_path / "data"
    expected = FIXTURES["nist16"](root)
    manifest, _ = _check("nist16", root, tmp_path / "n.jsonl", expected)
    for e in manifest:
        if e["orig_image"] in expected["manipulation"]:
            assert e["manipulation"] == expected["manipulation"][e["orig_image"]]
            assert e["mask_inverted"] is True


def test_bad_roots_and_options_are_named(tmp_path: Path):
    with pytest.raises(IMLDataError, match="dataset folder not found"):
        convert_dataset("casia1", tmp_path / "nope", tmp_path / "o.jsonl")
    (tmp_path / "empty").mkdir()
    with pytest.raises(IMLDataError, match="4cam_splc"):
        convert_dataset("columbia", tmp_path / "empty", tmp_path / "o.jsonl")
    with pytest.raises(IMLDataError, match="NC2016-manipulation-ref.csv"):
        convert_dataset("nist16", tmp_path / "empty", tmp_path / "o.jsonl")
    with pytest.raises(ConfigError, match="--size-mismatch"):
        convert_dataset("coverage", tmp_path / "empty", tmp_path / "o.jsonl", size_policy="pad")
    with pytest.raises(ConfigError, match="unknown dataset 'casia3'"):
        convert_dataset("casia3", tmp_path / "empty", tmp_path / "o.jsonl")


def test_cli_converts_reports_and_refuses_misplaced_options(tmp_path: Path, capsys):
    tool = load_tool("convert_dataset")
    root = tmp_path / "data"
    FIXTURES["casia1"](root)
    out = tmp_path / "casia1.jsonl"
    assert tool.main(["casia1", str(root), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "test: 2 tampered, 2 authentic" in printed
    assert "Sp_D_NRN_A_cha0011_sec0011_0542" in printed and "casia1.jsonl.report.json" in printed
    with pytest.raises(SystemExit):
        tool.main(["casia1", str(root), "--out", str(out), "--task", "natural"])
    with pytest.raises(SystemExit):
        tool.main(["coverage", str(root), "--out", str(out), "--catnet-lists", str(root)])
    # a folder of another dataset: nothing converts, and the error names the layout
    cov = tmp_path / "cov"
    (cov / "image").mkdir(parents=True)
    (cov / "mask").mkdir()
    with pytest.raises(IMLDataError, match="nothing was converted"):
        tool.main(["coverage", str(cov), "--out", str(tmp_path / "c.jsonl")])
    assert "casia1" in tool._datasets_help() and "tpgt" in tool._datasets_help()
