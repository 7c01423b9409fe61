"""Faults in result files, benchmark reports and dataset-conversion JSON: each tool stops with
one line naming the file, a non-zero exit, and nothing it would have written is overwritten."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fault_harness import ROOT, assert_fails_naming, assert_unchanged, run_tool, snapshot

pytestmark = pytest.mark.faults

CPU_RESULTS = ROOT / "leaderboard" / "results" / "cpu"
JOINT_RESULT = "segformer__joint__seed0.json"
DEEP_JSON = "[" * 100_000 + "]" * 100_000


def _results(tmp_path: Path, profile: str = "cpu", names: tuple[str, ...] = ()) -> Path:
    """A results root with a few committed (valid) result files of ``profile``."""
    root = tmp_path / "results"
    (root / profile).mkdir(parents=True)
    for name in names or (JOINT_RESULT, "segformer__joint__seed1.json"):
        shutil.copy(CPU_RESULTS / name, root / profile / name)
    return root


@pytest.fixture
def board(tmp_path: Path) -> Path:
    """An existing leaderboard page that a failed run must leave as it was."""
    out = tmp_path / "board"
    out.mkdir()
    (out / "README.md").write_text("the page before\n")
    return out


def test_valid_results_make_a_page(tmp_path: Path, board: Path) -> None:
    # positive control: the same inputs without the fault succeed
    run = run_tool("make_leaderboard", "--results-root", _results(tmp_path), "--out", board)
    assert run.rc == 0, run
    assert "SegFormer" in (board / "README.md").read_text()


def test_misspelled_results_root_writes_nothing(tmp_path: Path, board: Path) -> None:
    _results(tmp_path)
    snap = snapshot(board)
    run = run_tool("make_leaderboard", "--results-root", tmp_path / "reslts", "--out", board)
    assert_fails_naming(run, tmp_path / "reslts")
    assert_unchanged(snap)


def test_result_in_another_profiles_folder(tmp_path: Path, board: Path) -> None:
    root = _results(tmp_path)
    (root / "smoke").mkdir()
    shutil.copy(root / "cpu" / JOINT_RESULT, root / "smoke" / JOINT_RESULT)
    snap = snapshot(board)
    run = run_tool("make_leaderboard", "--results-root", root, "--out", board)
    assert_fails_naming(run, JOINT_RESULT, "'cpu'")
    assert "smoke" in run.last_line
    assert_unchanged(snap)


BAD_RESULT_FILES = {
    "deep-json": DEEP_JSON.encode(),
    "malformed-json": b'{"schema": "mmiml-benchmark/1",',
    "non-utf8": b'{"model": "\xff\xfe"}',
    "empty-file": b"",
    "json-list": b"[1, 2]",
    "hand-edited": None,  # a valid file with one figure changed: the checksum catches it
}


@pytest.mark.parametrize("tool", ["make_leaderboard", "degradation_report", "make_metafiles"])
@pytest.mark.parametrize("case", list(BAD_RESULT_FILES))
def test_bad_result_file_is_named(tmp_path: Path, board: Path, case: str, tool: str) -> None:
    root = _results(tmp_path)
    bad = root / "cpu" / "bad__joint__seed0.json"
    content = BAD_RESULT_FILES[case]
    if content is None:
        doc = json.loads((CPU_RESULTS / "cat_net__joint__seed0.json").read_text())
        doc["result"]["per_task"]["natural"]["pixel_iou_image"] = 0.99
        content = json.dumps(doc).encode()
    bad.write_bytes(content)
    snap = snapshot(board, tmp_path / "deg")
    if tool == "make_leaderboard":
        run = run_tool("make_leaderboard", "--results-root", root, "--out", board)
    elif tool == "degradation_report":
        run = run_tool("degradation_report", root, "--out-dir", tmp_path / "deg")
    else:  # make_metafiles reads the same result files
        run = run_tool("make_metafiles", "--results-root", root, "--check")
    assert_fails_naming(run, bad)
    assert_unchanged(snap)
    assert not (tmp_path / "deg").exists()


def test_degradation_report_without_results(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    run = run_tool("degradation_report", tmp_path / "empty", "--out-dir", tmp_path / "deg")
    assert_fails_naming(run, tmp_path / "empty")
    assert not (tmp_path / "deg").exists()


@pytest.mark.parametrize("content", [DEEP_JSON.encode(), b"\xff\xfe[]", b"[[\"a.jpg\","],
                         ids=["deep-json", "non-utf8", "malformed-json"])
def test_convert_dataset_bad_benco_json(tmp_path: Path, content: bytes) -> None:
    src = tmp_path / "CASIAv1.json"
    src.write_bytes(content)
    out = tmp_path / "casiav1.jsonl"
    out.write_text("kept\n")
    run = run_tool("convert_dataset", "benco", src, "--task", "natural", "--source", "C1",
                   "--split", "test", "--out", out)
    assert_fails_naming(run, src)
    assert out.read_text() == "kept\n"


def test_debug_shows_the_traceback(tmp_path: Path, board: Path) -> None:
    run = run_tool("make_leaderboard", "--results-root", tmp_path / "none", "--out", board,
                   "--debug")
    assert run.rc != 0
    assert "Traceback (most recent call last)" in run.stderr
    assert (board / "README.md").read_text() == "the page before\n"
