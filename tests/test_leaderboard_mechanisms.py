"""The leaderboard's view of Omni-IML's mechanisms and of the zoo: Modal Gate routing (share and
mean probability) and the DWD mixing spread, mean ± std over seeds; ablation rows from the zoo;
result files of models the zoo no longer defines counted and listed, never dropped; and the
committed result files still valid under the extended result schema."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from helpers import ROOT, benchmark_doc, load_tool, write_benchmark_docs

from mmiml import TASKS
from mmiml.benchmark import report
from mmiml.benchmark.result import load_results
from mmiml.benchmark.zoo import BY_KEY, OMNI, ZOO, ZooModel
from mmiml.evaluation.result_json import validate_result

RETIRED = f"{OMNI}-ae-off"  # split into two rows by the patched zoo below


def _doc(model: str, seed: int = 0, **kwargs: Any) -> dict[str, Any]:
    return benchmark_doc(model, seed, **kwargs)


def _write(folder: Path, docs: list[dict[str, Any]]) -> None:
    write_benchmark_docs(folder, docs)


def _gate(shares: tuple[float, ...], probs: tuple[float, ...]) -> dict[str, tuple[float, float]]:
    return dict(zip(TASKS, zip(shares, probs, strict=True), strict=True))


def _mechanism_docs() -> list[dict[str, Any]]:
    return [
        # Omni-IML, two seeds: routing and spread differ between them
        _doc(OMNI, 0, gate=_gate((0.5, 1.0, 0.0, 1.0), (0.6, 0.9, 0.2, 0.8)), spread=0.1),
        _doc(OMNI, 1, gate=_gate((1.0, 1.0, 0.0, 1.0), (0.8, 0.9, 0.4, 0.8)), spread=0.3),
        # gate bypassed: no gate figures, filters still mix
        _doc(f"{OMNI}-force-rgb", 0, spread=0.05),
        # no Dynamic Weight Filters: gate figures only
        _doc(f"{OMNI}-dwd-off", 0, gate=_gate((1.0, 1.0, 1.0, 1.0), (0.7, 0.7, 0.7, 0.7))),
        # a model without either mechanism is no row
        _doc("segformer", 0),
    ]


def _row(table, name: str) -> dict[str, str]:
    rows = table[table["model"] == name]
    assert len(rows) == 1, list(table["model"])
    return rows.iloc[0].to_dict()


def test_mechanism_table_shows_routing_probability_and_spread_over_seeds(tmp_path: Path):
    _write(tmp_path, _mechanism_docs())
    table = report.mechanism_table(report.frame(load_results(tmp_path)))
    assert list(table["model"]) == [BY_KEY[k].name for k in
                                    (OMNI, f"{OMNI}-force-rgb", f"{OMNI}-dwd-off")]
    omni = _row(table, "Omni-IML")
    assert omni["seeds"] == "2"
    # natural: shares .5 and 1 -> 0.75 ± 0.35 (sample std); probabilities .6 and .8
    assert omni["RGB+DCT natural"] == "0.75 ± 0.35"
    assert omni["gate p natural"] == "0.70 ± 0.14"
    assert omni["RGB+DCT document"] == "1.00 ± 0.00"
    assert omni["gate p face"] == "0.30 ± 0.14"
    assert omni["DWD spread"] == "0.200 ± 0.141"
    rgb = _row(table, BY_KEY[f"{OMNI}-force-rgb"].name)  # one seed: no ±
    assert rgb["DWD spread"] == "0.050"
    assert rgb["RGB+DCT natural"] == "-" and rgb["gate p natural"] == "-"
    off = _row(table, BY_KEY[f"{OMNI}-dwd-off"].name)
    assert off["gate p scene_text"] == "0.70" and off["DWD spread"] == "-"
    # results without any mechanism figure: no table
    assert report.mechanism_table(report.frame([_doc("segformer")])).empty


def _leaderboard() -> ModuleType:
    return load_tool("make_leaderboard")


def test_leaderboard_page_renders_routing_probability_and_spread(tmp_path: Path):
    _write(tmp_path / "res" / "cpu", _mechanism_docs())
    warnings: list[str] = []
    _leaderboard().generate(tmp_path / "res", tmp_path / "out", warn=warnings.append)
    text = (tmp_path / "out" / "README.md").read_text()
    section = text.split("### Modal Gate routing and DWD mixing")[1].split("\n### ")[0]
    header = next(line for line in section.splitlines() if line.startswith("| model"))
    for column in ("RGB+DCT natural", "gate p natural", "gate p scene_text", "DWD spread"):
        assert column in header
    omni = next(line for line in section.splitlines() if line.startswith("| Omni-IML "))
    assert "0.75 ± 0.35" in omni and "0.70 ± 0.14" in omni and "0.200 ± 0.141" in omni
    assert "SegFormer" not in section
    assert (tmp_path / "out" / "cpu" / "gate_routing.png").is_file()
    assert warnings == []  # every model is in the zoo


@pytest.fixture
def split_zoo(monkeypatch: pytest.MonkeyPatch) -> tuple[tuple[ZooModel, ...], ModuleType]:
    """The zoo with the AE ablation split in two (box supervision off; block off), as the
    leaderboard would see it after that change; ``RETIRED`` is then no zoo model. Returns the
    patched zoo and the make_leaderboard module that sees it."""
    base = next(m for m in ZOO if m.ablation_of == OMNI)
    ablations = [
        dataclasses.replace(base, key=f"{OMNI}-force-rgb", name="Omni-IML w/o frequency"),
        dataclasses.replace(base, key=f"{OMNI}-ae-box-off",
                            name="AE: box supervision off (block kept)"),
        dataclasses.replace(base, key=f"{OMNI}-ae-block-off",
                            name="AE: block off (box supervision on backbone features)"),
    ]
    zoo = (*(m for m in ZOO if m.ablation_of is None), *ablations)
    by_key = {m.key: m for m in zoo}
    lb = _leaderboard()
    for module in (report, lb):
        monkeypatch.setattr(module, "ZOO", zoo)
        monkeypatch.setattr(module, "BY_KEY", by_key)
    monkeypatch.setattr(report, "_ZOO_ORDER", {m.key: i for i, m in enumerate(zoo)})
    return zoo, lb


def test_ablation_rows_follow_the_zoo_and_retired_models_are_listed(tmp_path: Path, split_zoo):
    zoo, lb = split_zoo
    docs = [_doc(OMNI, iou=0.30), _doc(f"{OMNI}-force-rgb", iou=0.25),
            _doc(RETIRED, name="Omni-IML w/o AE", iou=0.35)]
    _write(tmp_path / "res" / "cpu", docs)
    loaded = load_results(tmp_path / "res" / "cpu")
    kept, stray = report.split_by_zoo(loaded)
    assert [d["model"] for d in stray] == [RETIRED] and len(kept) == 2
    table = report.ablation_table(report.frame(kept))
    # rows: the full model, then the zoo's ablations in the zoo's order, run or not
    assert list(table["model"]) == ["Omni-IML", "Omni-IML w/o frequency",
                                    "AE: box supervision off (block kept)",
                                    "AE: block off (box supervision on backbone features)"]
    assert list(table["seeds"]) == ["1", "1", "0", "0"]
    assert table["IoU natural"].iloc[1] == "0.250 (-5.0)"
    assert table["IoU natural"].iloc[2] == "-"
    # the page: the retired result is in no table, but counted and listed with its file
    warnings: list[str] = []
    lb.generate(tmp_path / "res", tmp_path / "out", warn=warnings.append)
    text = (tmp_path / "out" / "README.md").read_text()
    tables, listed = text.split("### Results of models not in the zoo")
    assert "Omni-IML w/o AE" not in tables.split("### Provenance")[0]
    assert "1 result file of a model no longer in the zoo" in tables
    assert f"`{RETIRED}__joint__seed0.json`" in listed.split("### Provenance")[0]
    assert "0.350" in listed.split("### Provenance")[0]  # its figure is shown there
    assert f"`{RETIRED}__joint__seed0.json`" in listed  # and in the provenance of every run
    assert len(warnings) == 1 and f"{RETIRED}__joint__seed0.json" in warnings[0]
    assert "1 result file of a model not in the model zoo" in warnings[0]


def test_leaderboard_tool_warns_about_retired_models_and_exits_0(tmp_path: Path, split_zoo,
                                                                 capsys: pytest.CaptureFixture):
    _, lb = split_zoo
    _write(tmp_path / "res" / "cpu", [_doc(OMNI), _doc(RETIRED, name="Omni-IML w/o AE")])
    assert lb.main(["--results-root", str(tmp_path / "res"), "--out",
                    str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    assert "not in the model zoo" in err and f"{RETIRED}__joint__seed0.json" in err


def test_committed_result_files_stay_valid():
    """Result files written before the mechanism and group keys existed still validate."""
    files = sorted(ROOT.glob("configs/*/results/*.json"))
    assert files
    for path in files:
        validate_result(json.loads(path.read_text()))
    profiles = [p for p in (ROOT / "leaderboard" / "results").iterdir() if p.is_dir()]
    assert profiles
    for profile in profiles:
        assert load_results(profile)  # schema, embedded result and checksum of each file
