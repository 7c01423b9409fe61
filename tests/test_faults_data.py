"""Fault tests for the data side: masks, manifests, predictions and pixel limits.

Each case drives a tool the way a user meets the fault (``tools/check_dataset.py``,
``tools/score.py``, ``tools/dataset_stats.py`` through ``fault_harness.run_tool``) and checks
that it is a named problem, never a silent decode: ``check_dataset`` exits 1 with a
``PROBLEM`` line naming the file and a summary counting it; the other tools exit non-zero with
the file named in their last line and leave existing output files untouched.
"""
from __future__ import annotations

import json
import pickle
import re
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from fault_harness import ToolRun, assert_fails_naming, assert_unchanged, run_tool, snapshot
from PIL import Image

pytestmark = pytest.mark.faults

SIDE = 32
# A 0/1 mask with a blob of tampered pixels (the audit's example had ~517).
_YY, _XX = np.mgrid[:SIDE, :SIDE]
BLOB = (((_YY - 15) ** 2 + (_XX - 14) ** 2) < 81).astype(np.uint8)  # 241 pixels


# ---------------------------------------------------------------- building blocks


def _rgb(path: Path, h: int = SIDE, w: int = SIDE, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(path)
    return path


def _save(arr: np.ndarray, path: Path, **kw) -> Path:
    Image.fromarray(arr).save(path, **kw)
    return path


def _line(image: Path | str, mask: Path | str | None, task: str = "natural") -> str:
    return json.dumps({"image": str(image), "mask": None if mask is None else str(mask),
                       "task": task, "source": "unit", "split": "test"})


def _manifest(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def _one_sample(tmp: Path, mask: np.ndarray | None, mask_name: str = "mask.png",
                **save_kw) -> tuple[Path, Path | None]:
    """A manifest with one 32x32 image and ``mask`` (saved as ``mask_name``)."""
    img = _rgb(tmp / "img.png")
    mask_path = None if mask is None else _save(mask, tmp / mask_name, **save_kw)
    return _manifest(tmp / "m.jsonl", _line(img, mask_path)), mask_path


def _bomb_png(path: Path) -> Path:
    """A 13000x13000 PNG (169 Mpx) that is small on disk and cheap to write."""
    Image.new("1", (13000, 13000)).save(path)
    return path


def assert_check_flags(run: ToolRun, culprit: Path | str, *words: str,
                       kind: str = "PROBLEM") -> str:
    """check_dataset listed ``culprit`` on a ``kind`` line with ``words`` and counted it."""
    name = Path(culprit).name
    flagged = [s for s in run.stdout.splitlines()
               if s.startswith(f"{kind} ") and name in s and all(w in s for w in words)]
    assert flagged, f"no {kind} line naming {name} with {words}\n{run}"
    assert "Traceback" not in run.stdout + run.stderr, str(run)
    if kind == "PROBLEM":
        assert run.rc == 1, str(run)
        assert re.search(r"^problems: [1-9]", run.stdout, re.M), str(run)
    else:
        assert re.search(r"^warnings: [1-9]", run.stdout, re.M), str(run)
    return flagged[0]


# ---------------------------------------------------------------- masks via check_dataset


def _stray_255(tmp: Path) -> tuple[Path, Path, tuple[str, ...]]:
    m = BLOB.copy()
    m[0, 0] = 255  # one stray pixel in a 0/1 mask
    manifest, mask = _one_sample(tmp, m, "stray_mask.png")
    return manifest, mask, ("1 stray pixel", "255")


def _uniform_grey(tmp: Path) -> tuple[Path, Path, tuple[str, ...]]:
    manifest, mask = _one_sample(tmp, np.full((SIDE, SIDE), 128, np.uint8), "grey_mask.png")
    return manifest, mask, ("uniform", "128")


def _empty_mask(tmp: Path) -> tuple[Path, Path, tuple[str, ...]]:
    manifest, mask = _one_sample(tmp, np.zeros((SIDE, SIDE), np.uint8), "black_mask.png")
    return manifest, mask, ("no tampered pixel",)


def _wrong_size(tmp: Path) -> tuple[Path, Path, tuple[str, ...]]:
    manifest, mask = _one_sample(tmp, BLOB[:20] * 255, "short_mask.png")
    return manifest, mask, ("differs from the image size",)


def _soft_mask(tmp: Path) -> tuple[Path, Path, tuple[str, ...]]:
    ramp = ((_XX * 8 + _YY * 2) % 256).astype(np.uint8)
    manifest, mask = _one_sample(tmp, ramp, "soft_mask.png")
    return manifest, mask, ("not a binary mask", "threshold")


def _mid_levels(tmp: Path) -> tuple[Path, Path, tuple[str, ...]]:
    # values 0, 20, 40: nothing near 255 and not a 0/1 mask either
    m = (BLOB * 20).astype(np.uint8)
    m[:4] = 40
    manifest, mask = _one_sample(tmp, m, "dim_mask.png")
    return manifest, mask, ("not a binary mask",)


def _bomb_image(tmp: Path) -> tuple[Path, Path, tuple[str, ...]]:
    img = _bomb_png(tmp / "huge.png")
    manifest = _manifest(tmp / "m.jsonl", _line(img, None))
    return manifest, img, ("13000x13000", "169000000", "MMIML_MAX_PIXELS")


MASK_CASES: dict[str, Callable[[Path], tuple[Path, Path, tuple[str, ...]]]] = {
    "stray-255": _stray_255,
    "uniform-grey": _uniform_grey,
    "empty-mask-tampered": _empty_mask,
    "wrong-size-mask": _wrong_size,
    "soft-mask-no-threshold": _soft_mask,
    "dim-levels-mask": _mid_levels,
    "bomb-image": _bomb_image,
}


@pytest.mark.parametrize("case", list(MASK_CASES), ids=list(MASK_CASES))
def test_check_dataset_flags_bad_sample(case: str, tmp_path: Path) -> None:
    manifest, culprit, words = MASK_CASES[case](tmp_path)
    start = time.perf_counter()
    run = run_tool("check_dataset", manifest)
    assert_check_flags(run, culprit, *words)
    # the task row counts the sample as having a problem
    assert any(s.split() == ["natural", "1", *s.split()[2:4], "1"] for s in
               run.stdout.splitlines() if s.startswith("natural")), str(run)
    if case == "bomb-image":  # refused from the header: no 169 Mpx decode
        assert time.perf_counter() - start < 5.0


def test_full_mask_is_a_counted_warning(tmp_path: Path) -> None:
    """full-mask: every pixel tampered is reported and counted (a warning: our choice)."""
    manifest, mask = _one_sample(tmp_path, np.full((SIDE, SIDE), 255, np.uint8), "full_mask.png")
    run = run_tool("check_dataset", manifest)
    assert_check_flags(run, mask, "every pixel", kind="WARNING")


def test_jpeg_01_mask_is_read_on_its_own_scale(tmp_path: Path) -> None:
    """jpeg01-mask: a 0/1 mask saved as JPEG keeps its tampered pixels (not cut at 127)."""
    manifest, mask = _one_sample(tmp_path, BLOB, "mask01.jpg", quality=90)
    raw = np.asarray(Image.open(mask))
    assert raw.max() <= 3 and len(np.unique(raw)) >= 2  # the case is what it claims
    run = run_tool("check_dataset", manifest)
    assert run.rc == 0, str(run)
    # lossy 0/1 masks are read with tolerance, and that is reported and counted
    assert_check_flags(run, mask, "0/1", kind="WARNING")
    from mmiml.datasets.io import load_mask

    got = load_mask(mask)  # JPEG itself moves a few border pixels of a 0/1 mask
    assert (got & BLOB).sum() >= 0.9 * BLOB.sum()
    assert (got != BLOB).sum() <= 0.05 * BLOB.size


# ---------------------------------------------------------------- manifests via check_dataset


def test_check_dataset_empty_manifest(tmp_path: Path) -> None:
    """empty-manifest: a 0-entry manifest is an error naming it."""
    manifest = tmp_path / "empty.jsonl"
    manifest.write_bytes(b"")
    run = run_tool("check_dataset", manifest)
    assert_fails_naming(run, manifest)
    assert "no entries" in run.last_line


def test_check_dataset_blank_lines_manifest(tmp_path: Path) -> None:
    """blank-lines-manifest: only blank lines is as empty as no lines."""
    manifest = tmp_path / "blank.jsonl"
    manifest.write_text("\n   \n\t\n\n", encoding="utf-8")
    run = run_tool("check_dataset", manifest)
    assert_fails_naming(run, manifest)
    assert "no entries" in run.last_line


def test_check_dataset_deep_json_line(tmp_path: Path) -> None:
    """deep-json-line: a 100,000-deep JSON line is a named problem, not a RecursionError."""
    img = _rgb(tmp_path / "img.png")
    manifest = _manifest(tmp_path / "deep.jsonl", _line(img, None), "[" * 100_000)
    run = run_tool("check_dataset", manifest)
    line = assert_check_flags(run, manifest, "nested too deeply")
    assert f"{manifest.name}:2" in line


def test_check_dataset_non_utf8_manifest(tmp_path: Path) -> None:
    """non-utf8-manifest: named, one line, non-zero exit."""
    manifest = tmp_path / "latin1.jsonl"
    manifest.write_bytes(b'{"image": "caf\xe9.png", "mask": null, "task": "natural", '
                         b'"source": "unit", "split": "test"}\n')
    run = run_tool("check_dataset", manifest)
    assert_fails_naming(run, manifest)
    assert "UTF-8" in run.last_line


def test_pixel_limit_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """env-pixel-limit: MMIML_MAX_PIXELS lowers (or raises) the limit for every read."""
    manifest, _ = _one_sample(tmp_path, BLOB * 255)
    monkeypatch.setenv("MMIML_MAX_PIXELS", "100")
    run = run_tool("check_dataset", manifest)
    assert_check_flags(run, tmp_path / "img.png", "32x32", "100")
    monkeypatch.setenv("MMIML_MAX_PIXELS", "lots")
    run = run_tool("check_dataset", manifest)
    assert_fails_naming(run, "MMIML_MAX_PIXELS")


# ---------------------------------------------------------------- predictions via score.py


def _score_setup(tmp: Path, mask: np.ndarray | None = None, mask_name: str = "mask.png",
                 **save_kw) -> tuple[Path, Path, Path, Path | None]:
    """(manifest, pred dir, existing result.json, mask path) for one tampered 32x32 image."""
    manifest, mask_path = _one_sample(tmp, BLOB * 255 if mask is None else mask, mask_name,
                                      **save_kw)
    pred = tmp / "pred"
    pred.mkdir()
    out = tmp / "result.json"
    out.write_text('{"earlier": "result"}\n')
    return manifest, pred, out, mask_path


def _npz_as_npy(pred: Path) -> Path:
    p = pred / "img.npy"
    with open(p, "wb") as f:
        np.savez(f, pred=BLOB.astype(np.float32))
    return p


def _zero_npy(pred: Path) -> Path:
    p = pred / "img.npy"
    p.write_bytes(b"")
    return p


def _zero_png(pred: Path) -> Path:
    p = pred / "img.png"
    p.write_bytes(b"")
    return p


def _pickle_npy(pred: Path) -> Path:
    p = pred / "img.npy"
    p.write_bytes(pickle.dumps(BLOB.astype(np.float32)))
    return p


def _object_npy(pred: Path) -> Path:
    p = pred / "img.npy"
    arr = np.empty((SIDE, SIDE), dtype=object)
    arr[:] = 0.5
    np.save(p, arr, allow_pickle=True)
    return p


def _int_npy(pred: Path) -> Path:
    p = pred / "img.npy"
    np.save(p, BLOB.astype(np.int64))
    return p


def _text_npy(pred: Path) -> Path:
    p = pred / "img.npy"
    p.write_text("0.5 0.5\n0.5 0.5\n")
    return p


def _truncated_npy(pred: Path) -> Path:
    p = pred / "img.npy"
    np.save(p, BLOB.astype(np.float32))
    p.write_bytes(p.read_bytes()[:300])
    return p


def _bomb_pred(pred: Path) -> Path:
    return _bomb_png(pred / "img.png")


PRED_CASES: dict[str, tuple[Callable[[Path], Path], tuple[str, ...]]] = {
    "npz-as-npy": (_npz_as_npy, (".npz",)),
    "zero-byte-npy": (_zero_npy, ("0 bytes",)),
    "zero-byte-png-pred": (_zero_png, ("0 bytes",)),
    "pickle-npy": (_pickle_npy, ("pickle",)),
    "object-npy": (_object_npy, ("object",)),
    "wrong-dtype-npy": (_int_npy, ("int64",)),
    "text-as-npy": (_text_npy, ("not a .npy",)),
    "truncated-npy": (_truncated_npy, ("truncated",)),
    "bomb-pred-png": (_bomb_pred, ("13000x13000", "limit")),
}


@pytest.mark.parametrize("case", list(PRED_CASES), ids=list(PRED_CASES))
def test_score_refuses_bad_prediction(case: str, tmp_path: Path) -> None:
    manifest, pred, out, _ = _score_setup(tmp_path)
    make, words = PRED_CASES[case]
    culprit = make(pred)
    snap = snapshot(out)
    start = time.perf_counter()
    run = run_tool("score", "--pred", pred, "--manifest", manifest, "--out", out)
    assert_fails_naming(run, culprit, *words)
    assert_unchanged(snap)
    if case == "bomb-pred-png":
        assert time.perf_counter() - start < 5.0


def test_score_oversize_npy_prediction(tmp_path: Path) -> None:
    """oversize-npy: a .npy map over --max-pixels is refused from its header, by name."""
    img = _rgb(tmp_path / "img.png", 16, 16)
    mask = _save(BLOB[:16, 6:22] * 255, tmp_path / "mask.png")
    manifest = _manifest(tmp_path / "m.jsonl", _line(img, mask))
    pred = tmp_path / "pred"
    pred.mkdir()
    np.save(pred / "img.npy", np.full((SIDE, SIDE), 0.5, np.float32))
    out = tmp_path / "result.json"
    out.write_text("{}\n")
    snap = snapshot(out)
    run = run_tool("score", "--pred", pred, "--manifest", manifest, "--out", out,
                   "--max-pixels", "500")
    assert_fails_naming(run, pred / "img.npy", "32x32", "max_pixels=500")
    assert_unchanged(snap)


@pytest.mark.parametrize("case", ["empty-mask-tampered", "stray-255", "uniform-grey"])
def test_score_refuses_bad_ground_truth(case: str, tmp_path: Path) -> None:
    """A tampered entry whose mask reads as nothing is never scored as authentic."""
    masks = {"empty-mask-tampered": np.zeros((SIDE, SIDE), np.uint8),
             "stray-255": np.where(np.arange(SIDE * SIDE).reshape(SIDE, SIDE) == 0, 255,
                                   BLOB).astype(np.uint8),
             "uniform-grey": np.full((SIDE, SIDE), 128, np.uint8)}
    manifest, pred, out, mask = _score_setup(tmp_path, masks[case], "gt_mask.png")
    np.save(pred / "img.npy", BLOB.astype(np.float32))
    snap = snapshot(out)
    run = run_tool("score", "--pred", pred, "--manifest", manifest, "--out", out)
    assert_fails_naming(run, mask)
    assert_unchanged(snap)


def test_score_bomb_ground_truth_image(tmp_path: Path) -> None:
    """bomb-gt-image: the ground-truth image size read respects the pixel limit."""
    img = _bomb_png(tmp_path / "huge.png")
    manifest = _manifest(tmp_path / "m.jsonl", _line(img, None))
    pred = tmp_path / "pred"
    pred.mkdir()
    np.save(pred / "huge.npy", np.zeros((4, 4), np.float32))
    out = tmp_path / "result.json"
    run = run_tool("score", "--pred", pred, "--manifest", manifest, "--out", out)
    assert_fails_naming(run, img, "13000x13000", "limit")
    assert not out.exists()


def test_score_jpeg_01_ground_truth(tmp_path: Path) -> None:
    """jpeg01-mask (score): a perfect prediction against a 0/1 JPEG mask scores ~1, and the
    image counts as tampered, not authentic."""
    manifest, pred, out, _ = _score_setup(tmp_path, BLOB, "gt01.jpg", quality=90)
    np.save(pred / "img.npy", BLOB.astype(np.float32))
    run = run_tool("score", "--pred", pred, "--manifest", manifest, "--out", out)
    assert run.rc == 0, str(run)
    res = json.loads(out.read_text())
    assert res["num_authentic"] == 0 and res["num_tampered"] == 1, res
    assert res["per_task"]["natural"]["pixel_f1_image"] > 0.9, res


# ---------------------------------------------------------------- dataset_stats


def _stats_run(tmp: Path, manifest: Path) -> tuple[ToolRun, dict]:
    out_dir = tmp / "stats"
    out_dir.mkdir()
    (out_dir / "stats.md").write_text("earlier stats\n")
    snap = snapshot(out_dir)
    return run_tool("dataset_stats", manifest, "--out-dir", out_dir), snap


@pytest.mark.parametrize("case", ["stray-255", "empty-mask-tampered", "uniform-grey"])
def test_dataset_stats_refuses_bad_mask(case: str, tmp_path: Path) -> None:
    manifest, culprit, _ = MASK_CASES[case](tmp_path)
    run, snap = _stats_run(tmp_path, manifest)
    assert_fails_naming(run, culprit)
    assert_unchanged(snap)


def test_dataset_stats_empty_manifest(tmp_path: Path) -> None:
    """stats-empty-manifest: nothing to describe is an error naming the manifest."""
    manifest = _manifest(tmp_path / "none.jsonl", "", "  ")
    run, snap = _stats_run(tmp_path, manifest)
    assert_fails_naming(run, manifest)
    assert_unchanged(snap)


# ---------------------------------------------------------------- positive controls


@pytest.mark.parametrize("kind", ["png-0-255", "png-0-1", "jpeg-0-255", "bilevel"])
def test_good_masks_pass_with_their_tampered_pixels(kind: str, tmp_path: Path) -> None:
    from mmiml.datasets.io import load_mask

    if kind == "png-0-255":
        manifest, mask = _one_sample(tmp_path, BLOB * 255, "good.png")
    elif kind == "png-0-1":
        manifest, mask = _one_sample(tmp_path, BLOB, "good01.png")
    elif kind == "jpeg-0-255":
        manifest, mask = _one_sample(tmp_path, BLOB * 255, "good.jpg", quality=75)
    else:
        manifest, mask = _one_sample(tmp_path, BLOB.astype(bool), "good1bit.png")
    run = run_tool("check_dataset", manifest)
    assert run.rc == 0 and "PROBLEM" not in run.stdout, str(run)
    got = load_mask(mask)
    if kind == "jpeg-0-255":
        assert abs(int(got.sum()) - int(BLOB.sum())) <= 0.05 * BLOB.sum()
        assert (got != BLOB).sum() <= 0.02 * BLOB.size
        # the compression noise is counted, not hidden
        noisy = int(((np.asarray(Image.open(mask)) % 255) != 0).sum())
        assert f"masks read with tolerance: 1 ({noisy} pixels" in run.stdout, str(run)
    else:
        assert "masks read with tolerance: 0 (0 pixels" in run.stdout, str(run)
        np.testing.assert_array_equal(got, BLOB)
