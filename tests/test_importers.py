"""Tests for mmiml.datasets.importers and tools/convert_dataset.py."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mmiml.datasets.importers import import_benco_json, import_tp_gt
from mmiml.datasets.manifest import read_manifest
from mmiml.utils.errors import IMLDataError

REPO = Path(__file__).resolve().parents[1]


def img(path: Path, value: int = 0, size: tuple[int, int] = (8, 6)) -> Path:
    """A small image whose pixels all equal ``value`` (so pairs can be told apart)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size[1], size[0]), value, np.uint8)).save(path)
    return path


def test_benco_json_relative_absolute_and_negative(tmp_path: Path) -> None:
    a = img(tmp_path / "ds" / "Tp" / "a.png")
    img(tmp_path / "ds" / "Gt" / "a.png")
    au = img(tmp_path / "elsewhere" / "au.png")
    items = [["Tp/a.png", "Gt/a.png"], [str(au), "Negative"],
             ["Tp/missing.png", "Gt/a.png"], ["only-one"], ["Tp/a.png", "Gt/a.png"]]
    j = tmp_path / "ds" / "list.json"
    j.write_text(json.dumps(items))
    entries, report = import_benco_json(j, task="natural", source="toy", split="test")
    assert [(e["image"], e["mask"]) for e in entries] == [
        (str(a), str(tmp_path / "ds" / "Gt" / "a.png")), (str(au), None)
    ]
    assert all(e["task"] == "natural" and e["source"] == "toy" and e["split"] == "test"
               for e in entries)
    assert (report.num_tampered, report.num_authentic) == (1, 1)
    assert len(report.problems) == 3
    assert "file not found" in report.problems[0] and "missing.png" in report.problems[0]
    assert "list.json[3]" in report.problems[1]
    assert "duplicate image" in report.problems[2]


def test_benco_bad_file(tmp_path: Path) -> None:
    j = tmp_path / "x.json"
    j.write_text('{"a": 1}')
    with pytest.raises(IMLDataError, match="expected a JSON list"):
        import_benco_json(j, task="natural", source="toy", split="test")
    with pytest.raises(ValueError, match="unknown task"):
        import_benco_json(j, task="nature", source="toy", split="test")


def make_tp_gt(root: Path) -> None:
    # Sorted orders differ between Tp and Gt: zip(sorted(Tp), sorted(Gt)) would mis-pair.
    # (image stem, mask file, shared pixel value)
    pairs = [("b_2", "b_2_gt.png", 20), ("a_10", "a_10_GT.png", 10),
             ("a_9", "a_9_mask.png", 90), ("c", "c.png", 30)]
    for stem, mask, value in pairs:
        img(root / "Tp" / f"{stem}.jpg", value)
        img(root / "Gt" / mask, value)
    img(root / "Tp" / "a_0.jpg", 1)  # no mask; sorts first, shifting any zip of sorted lists
    img(root / "Gt" / "orphan_gt.png", 2)  # no image
    (root / "Gt" / "notes.txt").write_text("not an image")
    (root / "Gt" / ".DS_Store").write_bytes(b"\0")
    img(root / "Au" / "au1.jpg")
    img(root / "Au" / "au2.png")


def test_tp_gt_pairs_by_stem_not_sorted_order(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    make_tp_gt(root)
    entries, report = import_tp_gt(root, task="document", source="toy", split="train")
    tampered = [e for e in entries if e["mask"] is not None]
    assert len(tampered) == 4 and report.num_tampered == 4
    for e in tampered:  # each image got the mask with the same pixel value
        assert np.asarray(Image.open(e["image"]))[0, 0] == np.asarray(Image.open(e["mask"]))[0, 0]
        assert os.path.isabs(e["image"]) and os.path.isabs(e["mask"])
    assert report.unpaired_images == [str(root / "Tp" / "a_0.jpg")]
    assert report.unpaired_masks == [str(root / "Gt" / "orphan_gt.png")]
    assert report.ignored_files == [str(root / "Gt" / "notes.txt")]
    authentic = [e["image"] for e in entries if e["mask"] is None]
    assert authentic == [str(root / "Au" / "au1.jpg"), str(root / "Au" / "au2.png")]
    assert report.num_authentic == 2
    text = "\n".join(report.lines())
    assert "a_0.jpg" in text and "orphan_gt.png" in text
    # The layout really defeats pairing by sorted order.
    zipped = zip(sorted((root / "Tp").iterdir()), sorted((root / "Gt").glob("*.png")))
    assert all(i.stem not in m.stem for i, m in zipped)


def test_tp_gt_custom_suffix_and_ambiguity(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    img(root / "Tp" / "x.jpg")
    img(root / "Gt" / "x-label.png")
    entries, report = import_tp_gt(root, task="natural", source="t", split="val")
    assert entries == [] and report.unpaired_images and report.unpaired_masks
    entries, report = import_tp_gt(root, task="natural", source="t", split="val",
                                   mask_suffixes=("-label",))
    assert len(entries) == 1 and report.num_unpaired == 0

    img(root / "Gt" / "x.png")  # now two masks match x: left unpaired, reported
    entries, report = import_tp_gt(root, task="natural", source="t", split="val",
                                   mask_suffixes=("-label",))
    assert entries == []
    assert any("ambiguous" in p and "x-label.png" in p and "x.png" in p for p in report.problems)
    assert len(report.unpaired_masks) == 2


def test_tp_gt_missing_folder(tmp_path: Path) -> None:
    img(tmp_path / "Tp" / "a.jpg")
    with pytest.raises(IMLDataError, match="no 'Gt' folder"):
        import_tp_gt(tmp_path, task="natural", source="t", split="val")


def run_tool(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(REPO)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    return subprocess.run([sys.executable, str(REPO / "tools" / "convert_dataset.py"), *args],
                          capture_output=True, text=True, env=env, timeout=300)


def test_convert_cli(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    make_tp_gt(root)
    out = tmp_path / "m.jsonl"
    r = run_tool("tpgt", str(root), "--task", "face", "--source", "toy", "--split", "test",
                 "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "tampered (paired): 4" in r.stdout and "authentic: 2" in r.stdout
    assert "a_0.jpg" in r.stdout and "orphan_gt.png" in r.stdout
    entries = read_manifest(out)
    assert len(entries) == 6 and {e["task"] for e in entries} == {"face"}

    # Nothing pairs: non-zero exit, every unpaired file printed.
    bad = tmp_path / "bad"
    img(bad / "Tp" / "p.jpg")
    img(bad / "Gt" / "q.png")
    r = run_tool("tpgt", str(bad), "--task", "face", "--source", "toy", "--split", "test",
                 "--out", str(tmp_path / "bad.jsonl"))
    assert r.returncode != 0
    assert "p.jpg" in r.stdout and "q.png" in r.stdout and "nothing was paired" in r.stderr
