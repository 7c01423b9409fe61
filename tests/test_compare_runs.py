"""tools/analysis_tools/compare_runs.py: two variants over seeds, B - A with a Welch interval."""

from __future__ import annotations

import importlib.util

import pytest
from helpers import ROOT
from test_benchmark import _result

from mmiml.benchmark.result import write_benchmark_result
from mmiml.benchmark.zoo import OMNI
from mmiml.utils.errors import IMLDataError

spec = importlib.util.spec_from_file_location(
    "compare_runs", ROOT / "tools" / "analysis_tools" / "compare_runs.py")
compare_runs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(compare_runs)


def _write(folder, ious, options=None):
    for seed, iou in enumerate(ious):
        doc = _result(OMNI, "document", seed, ious={"natural": 0.1, "document": iou,
                                                    "face": 0.1, "scene_text": 0.1})
        if options:
            doc["cfg_options"] = options
        write_benchmark_result(doc, folder / f"{OMNI}__document__seed{seed}.json")
    return folder


def test_close_sets_are_within_noise_and_far_ones_are_not(tmp_path, capsys):
    a = _write(tmp_path / "a", [0.30, 0.32, 0.31])
    near = _write(tmp_path / "near", [0.31, 0.29, 0.33], ["x=1"])
    far = _write(tmp_path / "far", [0.45, 0.46, 0.44], ["x=1"])
    out = tmp_path / "r.md"
    assert compare_runs.main(["--a", str(a), "--b", str(near), "--task", "document",
                              "--label-a", "block", "--label-b", "pixel", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert out.read_text() == text
    assert "| block | 3 | 30.0 (s0), 32.0 (s1), 31.0 (s2) | 31.0 ± 1.0 |" in text
    assert "pixel - block: +0.0 points" in text and "within seed noise" in text
    compare_runs.main(["--a", str(a), "--b", str(far), "--task", "document"])
    text = capsys.readouterr().out
    assert "B - A: +14.0 points" in text and "larger than seed noise" in text
    diff, lo, hi = compare_runs.welch_interval([0.30, 0.32, 0.31], [0.45, 0.46, 0.44])
    assert lo < diff < hi and diff == pytest.approx(0.14)


def test_mixed_sets_and_missing_figures_are_refused_by_name(tmp_path):
    a = _write(tmp_path / "a", [0.30, 0.32])
    b = _write(tmp_path / "b", [0.30, 0.32], ["x=1"])
    with pytest.raises(IMLDataError, match="mixes runs"):
        compare_runs.collect([str(a), str(b)])
    with pytest.raises(IMLDataError, match="holds a seed twice"):
        compare_runs.collect([str(a), str(a / f"{OMNI}__document__seed0.json")])
    with pytest.raises(IMLDataError, match="has no 'pixel_iou_image' for task 'text'"):
        compare_runs.values(compare_runs.collect([str(a)]), "text", "pixel_iou_image")
    with pytest.raises(IMLDataError, match="no such file"):
        compare_runs.collect([str(tmp_path / "nope")])
