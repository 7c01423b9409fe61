"""mmiml.datasets.stats and tools/dataset_stats.py on a handcrafted manifest."""
from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mmiml.datasets.stats import AREA_BINS, dataset_stats, final_jpeg, plot_stats, stats_markdown

ROOT = Path(__file__).resolve().parents[1]
SIDE = 20  # 400 pixels: 2 px = 0.5%, 8 px = 2%, 40 px = 10%, 100 px = 25%, 200 px = 50%


def _squeezed(markdown: str) -> str:
    """Markdown with runs of spaces made one (the table columns are padded to a width)."""
    return re.sub(r" +", " ", markdown)


def _write(tmp: Path) -> Path:
    """Seven samples over two tasks and all splits, with and without SynthIML keys."""
    (tmp / "img").mkdir()
    (tmp / "msk").mkdir()
    specs = [  # stem, suffix, task, split, tampered px, manipulation, post
        ("a", ".png", "natural", "train", 2, "splice", {"jpeg": [90, 75], "blur": 0.6}),
        ("b", ".png", "natural", "train", 8, "splice", {"jpeg": [95]}),
        ("c", ".png", "natural", "test", 40, "copy_move", {"resize": 0.8, "jpeg": []}),
        ("d", ".png", "document", "val", 100, None, None),
        ("e", ".png", "document", "test", 200, "inpaint", {"jpeg": [80, 70, 75]}),
        ("f", ".jpg", "document", "test", 0, "authentic", None),
        ("g", ".png", "natural", "test", 0, None, {"noise": 2.0}),
    ]
    lines = []
    for stem, suffix, task, split, px, manip, post in specs:
        gray = np.full((SIDE, SIDE, 3), 128, np.uint8)
        Image.fromarray(gray).save(tmp / "img" / f"{stem}{suffix}")
        line = {"image": f"img/{stem}{suffix}", "mask": None, "task": task, "source": "hand",
                "split": split}
        if px:
            mask = np.zeros(SIDE * SIDE, np.uint8)
            mask[:px] = 255
            Image.fromarray(mask.reshape(SIDE, SIDE)).save(tmp / "msk" / f"{stem}.png")
            line["mask"] = f"msk/{stem}.png"
        if manip is not None:
            line["manipulation"] = manip
        if post is not None:
            line["post"] = post
            line["provenance"] = ["src1", "src2"]
        lines.append(json.dumps(line))
    path = tmp / "manifest.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_final_jpeg_labels() -> None:
    assert final_jpeg({"image": "x.png", "post": {"jpeg": [90, 75]}}) == ("75", 2)
    assert final_jpeg({"image": "x.png", "post": {"jpeg": 88}}) == ("88", 1)
    assert final_jpeg({"image": "x.jpg", "post": {"blur": 1.0}}) == ("png", 0)
    assert final_jpeg({"image": "x.png"}) == ("png", 0)
    assert final_jpeg({"image": "x.JPG"}) == ("unknown", -1)


def test_counts_bins_and_jpeg(tmp_path: Path) -> None:
    stats = dataset_stats(_write(tmp_path))
    counts = stats["counts"]
    assert list(counts.index) == ["natural", "document", "all"]
    assert counts.loc["natural", ["train", "val", "test"]].tolist() == [2, 0, 2]
    assert counts.loc["document", ["train", "val", "test"]].tolist() == [0, 1, 2]
    assert counts.loc["all", ["tampered", "authentic", "total"]].tolist() == [5, 2, 7]

    manip = stats["manipulations"]
    assert manip.loc["splice", "natural"] == 2
    assert manip.loc["unknown", "document"] == 1  # tampered without a "manipulation" key
    assert manip.loc["authentic", "all"] == 2  # explicit and implied (mask null)
    assert manip.index[-1] == "authentic"

    area = stats["mask_area"]
    assert area.loc["all", list(AREA_BINS)].tolist() == [1, 1, 1, 1, 1]
    assert area.loc["natural", list(AREA_BINS)].tolist() == [1, 1, 1, 0, 0]
    assert area.loc["document", "n"] == 2
    assert area.loc["all", "q50"] == pytest.approx(0.10)
    assert area.loc["all", "mean"] == pytest.approx((0.005 + 0.02 + 0.10 + 0.25 + 0.5) / 5)

    q = stats["jpeg_quality"]
    assert list(q.index) == ["95", "75", "png", "unknown"]
    assert q["all"].tolist() == [1, 2, 3, 1]
    assert q.loc["75", "document"] == 1 and q.loc["75", "natural"] == 1
    passes = stats["jpeg_passes"]["all"]
    assert passes.to_dict() == {"none (png)": 3, "single": 1, "double": 1, "triple+": 1,
                                "unknown": 1}
    assert len(stats["samples"]) == 7


def test_no_masks_and_markdown_and_plot(tmp_path: Path) -> None:
    stats = dataset_stats(_write(tmp_path), load_masks=False)
    assert stats["mask_area"]["n"].sum() == 0
    md = stats_markdown(stats)
    assert "## Samples per task and split" in md and "| natural |" in _squeezed(md)
    out = plot_stats(stats, tmp_path / "p" / "s.png")
    assert Image.open(out).size[0] > 100


def test_cli_writes_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("mmiml_stats_tool",
                                                  ROOT / "tools" / "dataset_stats.py")
    tool = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = tool
    spec.loader.exec_module(tool)
    tool.main([str(_write(tmp_path)), "--out-dir", str(tmp_path / "out")])
    md = (tmp_path / "out" / "stats.md").read_text()
    assert md in capsys.readouterr().out
    assert "| all | 1 | 1 | 1 | 1 | 1 | 5 |" in _squeezed(md)
    assert (tmp_path / "out" / "stats.png").stat().st_size > 0
