"""tools/check_dataset.py reports every problem of a dataset in one pass."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]


def run_check(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(REPO)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    return subprocess.run([sys.executable, str(REPO / "tools" / "check_dataset.py"), *args],
                          capture_output=True, text=True, env=env, timeout=300)


def save(arr: np.ndarray, path: Path, **kw) -> str:
    Image.fromarray(arr).save(path, **kw)
    return path.name


def row(image: str, mask: str | None, task: str = "natural") -> dict:
    return {"image": image, "mask": mask, "task": task, "source": "toy", "split": "test"}


def make_files(d: Path) -> dict[str, str]:
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    mask = np.zeros((20, 30), np.uint8)
    mask[5:10, 5:15] = 255
    f = {
        "img": save(rgb, d / "img.png"),
        "img2": save(rgb, d / "img2.png"),
        "au": save(rgb, d / "au.png"),
        "mask": save(mask, d / "mask.png"),
        "small_mask": save(mask[:10], d / "small_mask.png"),
        "photo_mask": save(rgb[..., 0], d / "photo_mask.png"),
        "doc": save(rgb, d / "doc.jpg"),
    }
    trunc = d / "trunc.jpg"
    save(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8), trunc, quality=90)
    trunc.write_bytes(trunc.read_bytes()[:2000])
    f["trunc"] = trunc.name
    return f


def write_manifest(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def test_clean_dataset_exits_zero(tmp_path: Path) -> None:
    f = make_files(tmp_path)
    m = write_manifest(tmp_path / "m.jsonl", [
        row(f["img"], f["mask"]), row(f["au"], None), row(f["doc"], None, task="document")
    ])
    r = run_check(str(m))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "PROBLEM" not in r.stdout
    assert "problems: 0" in r.stdout
    lines = r.stdout.splitlines()
    assert any(s.split() == ["natural", "2", "1", "1", "0"] for s in lines), r.stdout
    assert any(s.split() == ["document", "1", "0", "1", "0"] for s in lines), r.stdout


def test_every_problem_listed_in_one_pass(tmp_path: Path) -> None:
    f = make_files(tmp_path)
    m = write_manifest(tmp_path / "m.jsonl", [
        row(f["img"], f["mask"]),  # 1 fine
        row("missing.png", None),  # 2 missing image
        row(f["trunc"], None),  # 3 truncated image
        row(f["img2"], f["small_mask"]),  # 4 mask size mismatch
        row(f["au"], f["photo_mask"]),  # 5 not a binary mask
        row(f["doc"], None, task="forgery"),  # 6 unknown task
        row(f["img"], None),  # 7 duplicate of line 1
        "{oops",  # 8 invalid JSON
    ])
    r = run_check(str(m))
    assert r.returncode == 1
    out = r.stdout
    problems = [s for s in out.splitlines() if s.startswith("PROBLEM ")]
    assert len(problems) == 7, out
    expect = [
        (f"{m}:6", "unknown task 'forgery'"),
        (f"{m}:7", "duplicate entry"),
        (f"{m}:8", "invalid JSON"),
        (str(tmp_path / "missing.png"), "not found"),
        (str(tmp_path / "trunc.jpg"), "truncated"),
        (str(tmp_path / "small_mask.png"), "differs from the image size"),
        (str(tmp_path / "photo_mask.png"), "not a binary mask"),
    ]
    for where, what in expect:
        assert any(where in p and what in p for p in problems), (where, what, out)
    assert "problems: 7 (3 in manifest lines, 4 in samples)" in out
    # Summary counts the 5 readable entries (lines 1-5).
    assert any(s.split() == ["natural", "5", "3", "2", "4"] for s in out.splitlines()), out


def test_options_pixel_limit_threshold_invert(tmp_path: Path) -> None:
    f = make_files(tmp_path)
    m = write_manifest(tmp_path / "m.jsonl", [row(f["au"], f["photo_mask"])])
    assert run_check(str(m)).returncode == 1
    assert run_check(str(m), "--mask-threshold", "128").returncode == 0
    r = run_check(str(m), "--mask-threshold", "128", "--invert-masks", "--max-pixels", "100")
    assert r.returncode == 1 and "max_pixels=100" in r.stdout
    r = run_check(str(tmp_path / "none.jsonl"))
    assert r.returncode == 2 and "manifest file not found" in r.stderr
