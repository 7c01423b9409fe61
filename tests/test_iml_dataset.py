"""Tests for IMLDataset: data_info contract, filters, validation, skip_invalid logging."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from mmengine.logging import MMLogger
from PIL import Image

from mmiml import TASKS
from mmiml.datasets.iml_dataset import IMLDataset
from mmiml.utils.errors import IMLDataError

CONTRACT_KEYS = {
    "img_path", "sample_id", "seg_map_path", "task", "task_id", "source", "split", "img_label",
    "mask_inverted", "mask_threshold", "sample_idx", "label_map", "reduce_zero_label",
    "seg_fields",
}


def save(arr: np.ndarray, path: Path, **kw) -> str:
    Image.fromarray(arr).save(path, **kw)
    return path.name


def row(image: str, mask: str | None, task: str = "natural", split: str = "test", **kw) -> dict:
    return {"image": image, "mask": mask, "task": task, "source": "toy", "split": split, **kw}


def write(path: Path, rows: list) -> str:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return str(path)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    rgb = np.random.default_rng(0).integers(0, 256, (16, 20, 3), dtype=np.uint8)
    mask = np.zeros((16, 20), np.uint8)
    mask[2:6, 3:9] = 255
    f = {
        "a": save(rgb, tmp_path / "a.png"),
        "a_gt": save(mask, tmp_path / "a_gt.png"),
        "b": save(rgb, tmp_path / "b.jpg"),
        "c": save(rgb, tmp_path / "c.png"),
        "c_gt": save(255 - mask, tmp_path / "c_gt.png"),
        "d": save(rgb, tmp_path / "d.png"),
        "small": save(mask[:8], tmp_path / "small.png"),
    }
    trunc = tmp_path / "trunc.jpg"
    save(np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8), trunc)
    trunc.write_bytes(trunc.read_bytes()[:1500])
    f["trunc"] = trunc.name
    return f


def test_data_info_follows_contract(tmp_path: Path, files: dict[str, str]) -> None:
    m = write(tmp_path / "m.jsonl", [
        row(files["a"], files["a_gt"], manipulation="splice"),
        row(files["b"], None, task="document"),
        row(files["c"], files["c_gt"], task="scene_text", split="train", mask_inverted=True),
    ])
    ds = IMLDataset(ann_file=m, pipeline=[])
    assert len(ds) == 3 and ds.num_skipped == 0
    assert ds.metainfo["classes"] == ("authentic", "tampered")
    info = ds.get_data_info(0)
    assert set(info) == CONTRACT_KEYS
    assert info["img_path"] == str(tmp_path / "a.png")
    assert info["sample_id"] == "a.png"  # relative to the manifest: the same on every machine
    assert info["seg_map_path"] == str(tmp_path / "a_gt.png")
    assert (info["task"], info["task_id"], info["source"], info["split"]) == (
        "natural", 0, "toy", "test")
    assert info["img_label"] == 1 and info["mask_inverted"] is False
    assert info["mask_threshold"] is None and info["sample_idx"] == 0
    assert info["reduce_zero_label"] is False and info["seg_fields"] == []
    assert info["label_map"] is None
    b = ds.get_data_info(1)
    assert b["seg_map_path"] is None and b["img_label"] == 0
    assert b["task_id"] == TASKS.index("document")
    c = ds.get_data_info(2)
    assert c["mask_inverted"] is True and c["task_id"] == TASKS.index("scene_text")
    assert ds.task_counts() == {"natural": 1, "document": 1, "scene_text": 1}
    # The pipeline sees the same dict (plus what mmengine adds).
    assert ds[1]["img_path"] == str(tmp_path / "b.jpg")


def test_split_and_task_filters(tmp_path: Path, files: dict[str, str]) -> None:
    m = write(tmp_path / "m.jsonl", [
        row(files["a"], files["a_gt"]), row(files["b"], None, task="document"),
        row(files["d"], None, task="document", split="train"),
    ])
    assert len(IMLDataset(ann_file=m, split="test")) == 2
    ds = IMLDataset(ann_file=m, split="test", tasks=["document"])
    assert ds.task_counts() == {"document": 1}
    assert IMLDataset(ann_file=m, tasks="document").task_counts() == {"document": 2}
    with pytest.raises(IMLDataError) as e:
        IMLDataset(ann_file=m, split="val")
    assert str(e.value).startswith(m) and "no samples left" in str(e.value)
    with pytest.raises(ValueError, match="unknown task"):
        IMLDataset(ann_file=m, tasks=["faces"])


def test_bad_sample_raises_named_error(tmp_path: Path, files: dict[str, str]) -> None:
    m = write(tmp_path / "m.jsonl", [row(files["a"], files["a_gt"]), row(files["trunc"], None)])
    with pytest.raises(IMLDataError) as e:
        IMLDataset(ann_file=m)
    assert str(e.value).startswith(str(tmp_path / "trunc.jpg")) and "truncated" in str(e.value)

    m2 = write(tmp_path / "m2.jsonl", [row(files["a"], files["small"])])
    with pytest.raises(IMLDataError, match="differs from the image size"):
        IMLDataset(ann_file=m2)
    m3 = write(tmp_path / "m3.jsonl", [row(files["a"], None), "{not json"])
    with pytest.raises(IMLDataError) as e:
        IMLDataset(ann_file=m3)
    assert str(e.value).startswith(f"{m3}:2: invalid JSON")
    with pytest.raises(IMLDataError, match="max_pixels=100"):
        IMLDataset(ann_file=write(tmp_path / "m4.jsonl", [row(files["a"], None)]), max_pixels=100)


def test_skip_invalid_logs_counts_and_summarises(tmp_path: Path, files: dict[str, str]) -> None:
    log_file = tmp_path / "run.log"
    MMLogger.get_instance(f"iml_test_{tmp_path.name}", log_file=str(log_file), log_level="INFO")
    m = write(tmp_path / "m.jsonl", [
        row(files["a"], files["a_gt"]),
        row(files["trunc"], None),  # truncated image
        row("gone.png", files["small"]),  # missing image (its mask is still checked alone)
        row(files["b"], None, task="face"),
        "[1, 2]",  # not an object
    ])
    ds = IMLDataset(ann_file=m, skip_invalid=True)
    assert len(ds) == 2
    assert ds.num_skipped == 3
    paths = [p for p, _ in ds.skipped]
    assert paths == [f"{m}:5", str(tmp_path / "trunc.jpg"), str(tmp_path / "gone.png")]
    assert "not found" in ds.skipped[2][1]
    log = log_file.read_text()
    assert f"IMLDataset({m}): skipped 3 of 5 samples" in log
    assert "trunc.jpg" in log and "gone.png" in log and f"{m}:5" in log
    assert ds.task_counts() == {"natural": 1, "face": 1}


def test_validate_false_skips_file_checks(tmp_path: Path) -> None:
    m = write(tmp_path / "m.jsonl", [row("not_there.png", "not_there_gt.png")])
    ds = IMLDataset(ann_file=m, validate=False, serialize_data=False)
    assert ds.get_data_info(0)["img_path"] == str(tmp_path / "not_there.png")


def test_mask_options_and_lazy_init(tmp_path: Path, files: dict[str, str]) -> None:
    gy, gx = np.mgrid[:16, :20]
    soft = save(((gx * 12 + gy * 3) % 256).astype(np.uint8), tmp_path / "soft.png")
    m = write(tmp_path / "m.jsonl", [row(files["a"], soft)])
    with pytest.raises(IMLDataError, match="not a binary mask"):
        IMLDataset(ann_file=m)
    # a threshold on the manifest line works like the option
    per_line = write(tmp_path / "m_t.jsonl", [row(files["a"], soft, mask_threshold=100)])
    assert IMLDataset(ann_file=per_line).get_data_info(0)["mask_threshold"] == 100
    ds = IMLDataset(ann_file=m, mask_threshold=127.5, invert_masks=True, lazy_init=True)
    assert len(ds) == 1  # full_init on first use
    info = ds.get_data_info(0)
    assert info["mask_threshold"] == 127.5 and info["mask_inverted"] is True
    with pytest.raises(ValueError, match="reduce_zero_label"):
        IMLDataset(ann_file=m, reduce_zero_label=True)


def test_built_from_registry_with_data_root(tmp_path: Path, files: dict[str, str]) -> None:
    from mmseg.registry import DATASETS

    write(tmp_path / "m.jsonl", [row(files["a"], files["a_gt"])])
    ds = DATASETS.build(dict(type="IMLDataset", data_root=str(tmp_path), ann_file="m.jsonl",
                             pipeline=[], test_mode=True))
    assert isinstance(ds, IMLDataset) and len(ds) == 1


def test_mask_policy_entry_checks(tmp_path: Path, files: dict[str, str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty mask on a tampered entry is a bad sample (raised, or skipped and counted);
    a full mask is a logged warning; MMIML_MAX_PIXELS / max_pixels reach the validation."""
    black = save(np.zeros((16, 20), np.uint8), tmp_path / "black.png")
    white = save(np.full((16, 20), 255, np.uint8), tmp_path / "white.png")
    m = write(tmp_path / "m.jsonl", [row(files["a"], files["a_gt"]), row(files["c"], black)])
    with pytest.raises(IMLDataError) as e:
        IMLDataset(ann_file=m)
    assert str(e.value).startswith(str(tmp_path / "black.png"))
    assert "no tampered pixel" in str(e.value)
    ds = IMLDataset(ann_file=m, skip_invalid=True)
    assert len(ds) == 1 and ds.num_skipped == 1
    assert ds.skipped[0][0] == str(tmp_path / "black.png")

    m2 = write(tmp_path / "m2.jsonl", [row(files["a"], white)])
    ds = IMLDataset(ann_file=m2)
    assert len(ds) == 1 and ds.num_skipped == 0
    assert [p for p, _ in ds.mask_warnings] == [str(tmp_path / "white.png")]
    assert "every pixel" in ds.mask_warnings[0][1]
    # 0 = no limit; None = the default, which the environment can lower
    one = write(tmp_path / "m3.jsonl", [row(files["a"], None)])
    assert len(IMLDataset(ann_file=one, max_pixels=0)) == 1
    monkeypatch.setenv("MMIML_MAX_PIXELS", "100")
    with pytest.raises(IMLDataError, match="max_pixels=100"):
        IMLDataset(ann_file=one)
