"""Tests for mmiml.datasets.manifest: schema, path resolution, named errors, round trip."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmiml import TASKS
from mmiml.datasets.manifest import read_manifest, write_manifest
from mmiml.utils.errors import IMLDataError


def write_lines(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def row(image: str, mask: str | None = None, task: str = "natural", split: str = "test",
        **extra) -> dict:
    return {"image": image, "mask": mask, "task": task, "source": "toy", "split": split, **extra}


def test_read_resolves_paths_and_keeps_extras(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    m = write_lines(tmp_path / "sub" / "m.jsonl", [
        row("../img/a.jpg", "../gt/a.png", manipulation="splice"),
        "",  # blank lines are ignored
        row("/abs/b.jpg", None, task="document", split="train", mask_inverted=True),
    ])
    entries = read_manifest(m)
    assert [e["line"] for e in entries] == [1, 3]
    a, b = entries
    assert a["image"] == str(tmp_path / "img" / "a.jpg")
    assert a["mask"] == str(tmp_path / "gt" / "a.png")
    assert a["mask_inverted"] is False and a["manipulation"] == "splice"
    assert b["image"] == "/abs/b.jpg" and b["mask"] is None and b["mask_inverted"] is True
    assert (b["task"], b["source"], b["split"]) == ("document", "toy", "train")
    assert [e["image"] for e in read_manifest(m, split="train")] == ["/abs/b.jpg"]
    assert read_manifest(m, split="val") == []


def test_invalid_json_names_line(tmp_path: Path) -> None:
    m = write_lines(tmp_path / "m.jsonl", [row("a.jpg"), '{"image": "b.jpg",'])
    with pytest.raises(IMLDataError) as e:
        read_manifest(m)
    assert str(e.value).startswith(f"{m}:2: invalid JSON")


def test_missing_key_and_types(tmp_path: Path) -> None:
    bad = row("a.jpg")
    del bad["source"]
    m = write_lines(tmp_path / "m.jsonl", [bad])
    with pytest.raises(IMLDataError) as e:
        read_manifest(m)
    assert str(e.value).startswith(f"{m}:1:") and "missing key source" in str(e.value)
    m2 = write_lines(tmp_path / "m2.jsonl", [row("a.jpg", mask=3), [1, 2]])
    problems: list[IMLDataError] = []
    assert read_manifest(m2, collect_problems=problems) == []
    assert "'mask' must be a non-empty string or null" in str(problems[0])
    assert str(problems[1]).startswith(f"{m2}:2: expected a JSON object")


def test_unknown_task_lists_valid_ones(tmp_path: Path) -> None:
    m = write_lines(tmp_path / "m.jsonl", [row("a.jpg"), row("b.jpg", task="natrual")])
    with pytest.raises(IMLDataError) as e:
        read_manifest(m)
    msg = str(e.value)
    assert msg.startswith(f"{m}:2:") and "unknown task 'natrual'" in msg
    assert all(t in msg for t in TASKS)


def test_unknown_split(tmp_path: Path) -> None:
    m = write_lines(tmp_path / "m.jsonl", [row("a.jpg", split="testing")])
    with pytest.raises(IMLDataError, match="unknown split 'testing'"):
        read_manifest(m)


def test_duplicate_entries_name_both_lines(tmp_path: Path) -> None:
    # Same file written two ways: the duplicate is found after path resolution.
    m = write_lines(tmp_path / "m.jsonl", [
        row("img/a.jpg"), row("img/b.jpg"), row("./img/../img/a.jpg", split="train")
    ])
    with pytest.raises(IMLDataError) as e:
        read_manifest(m)
    msg = str(e.value)
    assert msg.startswith(f"{m}:3: duplicate entry")
    assert "lines 1 and 3" in msg and str(tmp_path / "img" / "a.jpg") in msg


def test_collect_mode_reports_every_problem_and_keeps_good_lines(tmp_path: Path) -> None:
    m = write_lines(tmp_path / "m.jsonl", [
        row("a.jpg"), "not json", row("b.jpg", task="faces"), row("a.jpg"), row("c.jpg")
    ])
    problems: list[IMLDataError] = []
    entries = read_manifest(m, collect_problems=problems)
    assert [e["line"] for e in entries] == [1, 5]
    assert [p.path for p in problems] == [f"{m}:2", f"{m}:3", f"{m}:4"]
    assert "invalid JSON" in problems[0].problem
    assert "unknown task 'faces'" in problems[1].problem
    assert "duplicate entry" in problems[2].problem


def test_missing_manifest(tmp_path: Path) -> None:
    with pytest.raises(IMLDataError, match="manifest file not found"):
        read_manifest(tmp_path / "none.jsonl")


def test_write_then_read_round_trip_relative(tmp_path: Path) -> None:
    data = tmp_path / "data"
    entries = [
        row(str(data / "Tp" / "a.jpg"), str(data / "Gt" / "a_gt.png"), provenance={"v": 1}),
        row(str(data / "Au" / "b.jpg"), None, task="face", mask_inverted=False),
        row(str(data / "Tp" / "c.jpg"), str(data / "Gt" / "c.png"), mask_inverted=True),
    ]
    out = tmp_path / "manifests" / "m.jsonl"
    assert write_manifest(entries, out) == 3
    lines = [json.loads(s) for s in out.read_text().splitlines()]
    assert lines[0]["image"] == "../data/Tp/a.jpg" and lines[0]["mask"] == "../data/Gt/a_gt.png"
    assert list(lines[0])[:5] == ["image", "mask", "task", "source", "split"]
    assert "mask_inverted" not in lines[1] and lines[2]["mask_inverted"] is True
    back = read_manifest(out)
    for orig, got in zip(entries, back):
        assert got["image"] == orig["image"] and got["mask"] == orig["mask"]
        assert got["task"] == orig["task"]
    assert back[0]["provenance"] == {"v": 1}


def test_write_rejects_invalid_entries(tmp_path: Path) -> None:
    out = tmp_path / "m.jsonl"
    with pytest.raises(IMLDataError, match="entry 1: unknown task 'x'"):
        write_manifest([row("/a.jpg"), row("/b.jpg", task="x")], out)
    with pytest.raises(IMLDataError, match="entry 1: duplicate image"):
        write_manifest([row("/a.jpg"), row("/a.jpg")], out)
    assert not out.exists()


def test_empty_manifest_only_when_asked(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    blank = write_lines(tmp_path / "blank.jsonl", ["", "   ", "\t"])
    for m, what in ((empty, "empty file"), (blank, "only blank lines")):
        assert read_manifest(m) == []  # a split file may legitimately be empty
        with pytest.raises(IMLDataError) as e:
            read_manifest(m, allow_empty=False)
        assert str(e.value).startswith(f"{m}: manifest has no entries ({what})")


def test_deep_non_utf8_and_bom_lines(tmp_path: Path) -> None:
    deep = write_lines(tmp_path / "deep.jsonl", [row("a.jpg"), "[" * 100_000])
    with pytest.raises(IMLDataError) as e:
        read_manifest(deep)
    assert str(e.value).startswith(f"{deep}:2: invalid JSON: nested too deeply")
    problems: list[IMLDataError] = []
    assert len(read_manifest(deep, collect_problems=problems)) == 1 and len(problems) == 1
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes(json.dumps(row("a.jpg")).encode() + b"\n" + b'{"image": "caf\xe9.jpg"}\n')
    with pytest.raises(IMLDataError) as e:
        read_manifest(latin)
    assert str(e.value).startswith(f"{latin}: manifest is not UTF-8 text") and "line 2" in str(
        e.value)
    bom = tmp_path / "bom.jsonl"
    bom.write_bytes(b"\xef\xbb\xbf" + json.dumps(row("a.jpg")).encode() + b"\n")
    assert [e["line"] for e in read_manifest(bom)] == [1]


def test_mask_threshold_key_must_be_a_number(tmp_path: Path) -> None:
    m = write_lines(tmp_path / "m.jsonl", [row("a.jpg", "a.png", mask_threshold=127.5),
                                           row("b.jpg", "b.png", mask_threshold="high")])
    problems: list[IMLDataError] = []
    (entry,) = read_manifest(m, collect_problems=problems)
    assert entry["mask_threshold"] == 127.5
    assert "'mask_threshold' must be a number" in str(problems[0])
