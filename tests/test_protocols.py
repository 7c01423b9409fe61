"""Real-data protocols on fixture datasets: preparation (converted, missing sets named), the
profile's data, and one command from a data root to a leaderboard section."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from dataset_fixtures import make_casia1, make_casia2, make_columbia
from helpers import ROOT, load_tool, subprocess_env

from mmiml.benchmark.profiles import PROFILES, apply_profile
from mmiml.benchmark.protocols import (
    PROTOCOL_ROOT_ENV,
    PROTOCOLS,
    prepare_protocol,
    read_prepared,
)
from mmiml.datasets.manifest import read_manifest
from mmiml.utils.errors import IMLDataError


def _data_root(tmp_path: Path) -> Path:
    """CASIA v2 to train, CASIA v1 and Columbia to test; COVERAGE, NIST16, IMD2020 absent."""
    root = tmp_path / "datasets"
    make_casia2(root / "CASIAv2")
    make_casia1(root / "CASIAv1")
    make_columbia(root / "Columbia")
    return root


def test_prepare_names_missing_sets_and_groups_the_test_sets(tmp_path: Path):
    root = _data_root(tmp_path)
    logs: list[str] = []
    prepared = prepare_protocol("mvss", root, out_dir=tmp_path / "p", log=logs.append)
    assert prepared.present == ["CASIAv2 (train)", "CASIAv1 (test)", "Columbia (test)"]
    assert [m.split(" ")[0] for m in prepared.missing] == ["COVERAGE", "NIST16", "IMD2020"]
    assert sum("missing COVERAGE" in line for line in logs) == 1
    train, test = read_manifest(prepared.train), read_manifest(prepared.test)
    assert {e["split"] for e in train} == {"train"} and len(train) == 6  # 4 tampered + 2 au
    assert {e["group"] for e in test} == {"CASIAv1", "Columbia"}
    assert {e["split"] for e in test} == {"test"}
    assert prepared.task_weights == {"natural": 1.0}
    # cached: a second preparation converts nothing
    logs.clear()
    prepare_protocol("mvss", root, out_dir=tmp_path / "p", log=logs.append)
    assert not any(line.startswith("protocol: converted") for line in logs)
    # a changed dataset converts again
    (root / "CASIAv1" / "Au" / "Au_cha_0049.JPG").unlink()
    prepare_protocol("mvss", root, out_dir=tmp_path / "p", log=logs.append)
    assert any("converted" in line and "CASIAv1" in line for line in logs)


def test_catnet_names_the_training_sets_mmiml_cannot_convert(tmp_path: Path):
    prepared = prepare_protocol("catnet", _data_root(tmp_path), out_dir=tmp_path / "p",
                                log=lambda m: None)
    assert any(m.startswith("FantasticReality (no converter") for m in prepared.missing)
    assert any(m.startswith("IMD2020 (train") for m in prepared.missing)


def test_prepare_refuses_a_root_without_training_or_test_data(tmp_path: Path):
    with pytest.raises(IMLDataError, match="data root not found"):
        prepare_protocol("mvss", tmp_path / "nope", out_dir=tmp_path / "p")
    only_test = tmp_path / "only_test"
    make_casia1(only_test / "CASIAv1")
    with pytest.raises(IMLDataError, match="no train set of the mvss protocol"):
        prepare_protocol("mvss", only_test, out_dir=tmp_path / "p", log=lambda m: None)
    with pytest.raises(IMLDataError, match="not prepared"):
        read_prepared("doctamper", tmp_path / "none")


def test_protocol_profile_reads_the_prepared_manifests(tmp_path: Path, monkeypatch):
    from mmengine.config import Config

    from mmiml.benchmark.zoo import BY_KEY

    monkeypatch.setenv(PROTOCOL_ROOT_ENV, str(tmp_path / "protocols"))
    prepare_protocol("mvss", _data_root(tmp_path), log=lambda m: None)
    model = BY_KEY["plain_convnext_uper"]
    cfg = apply_profile(Config.fromfile(model.config("tiny", "joint")), PROFILES["mvss"],
                        seed=0)
    assert cfg.train_dataloader.dataset.ann_file.endswith("protocols/mvss/train.jsonl")
    assert cfg.test_dataloader.dataset.ann_file.endswith("protocols/mvss/test.jsonl")
    assert "synthiml" not in cfg.train_dataloader.dataset
    assert cfg.train_dataloader.sampler.task_weights == {"natural": 1.0}
    assert PROFILES["mvss-paper"].scale == "paper" and PROFILES["mvss"].scale == "tiny"
    assert set(PROTOCOLS) == {"mvss", "catnet", "doctamper", "omni"}


def test_one_command_from_data_root_to_leaderboard_section(tmp_path: Path):
    root = _data_root(tmp_path)
    env = {**subprocess_env(), PROTOCOL_ROOT_ENV: str(tmp_path / "protocols")}
    res, work = tmp_path / "res", tmp_path / "work"
    run = subprocess.run(
        [sys.executable, "tools/benchmark.py", "--profile", "mvss", "--data-root", str(root),
         "--models", "plain_convnext_uper", "--max-iters", "2", "--no-lower-bounds",
         "--results-root", str(res), "--work-root", str(work)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "missing COVERAGE" in run.stdout
    (result,) = (res / "mvss@2it").glob("*.json")
    doc = json.loads(result.read_text())
    assert set(doc["result"]["per_group"]) == {"CASIAv1", "Columbia"}
    assert doc["protocol"]["protocol"] == "mvss" and doc["train_set"] == "joint"
    tool = load_tool("make_leaderboard")
    tool.generate(res, tmp_path / "board")
    text = (tmp_path / "board" / "README.md").read_text()
    section = text.split("## Profile `mvss@2it`")[1]
    assert "### Pixel F1 per test dataset" in section
    assert "| CASIAv1" in section.split("### Pixel F1 per task")[0]
    assert "Datasets missing (left out): COVERAGE" in section
    assert "reported, not run here" in section and "*TruFor*" in section


def test_doctamper_protocol_tests_each_level_from_the_published_records(tmp_path: Path):
    from dataset_fixtures_text import make_doctamper
    from PIL import Image

    root = tmp_path / "datasets"
    make_doctamper(root / "DocTamper")  # TestingSet with pks for quality 75 only
    prepared = prepare_protocol("doctamper", root, out_dir=tmp_path / "p", log=lambda m: None)
    test = read_manifest(prepared.test)
    groups = {e["group"] for e in test}
    assert groups == {"DocTamper-TestingSet", "DocTamper-TestingSet@75"}
    assert any(m.startswith("DocTamper-TestingSet@80") for m in prepared.missing)
    assert any(m.startswith("DocTamper-FCD") for m in prepared.missing)
    leveled = [e for e in test if e["group"].endswith("@75")]
    shipped = {e["lmdb_index"]: e for e in test if "@" not in e["group"]}
    assert leveled and len(leveled) == len(shipped)
    for e in leveled:
        with Image.open(e["image"]) as img:  # grey, and the final quality's table
            assert img.mode == "L" and img.format == "JPEG"
            final = e["compression_qualities"][-1]
            ref = Image.new("L", img.size)
            import io
            buf = io.BytesIO()
            ref.save(buf, "JPEG", quality=final)
            assert img.quantization[0] == Image.open(buf).quantization[0]
        assert e["mask"] == shipped[e["lmdb_index"]]["mask"]
    assert PROTOCOLS["doctamper"].test_labels()[:2] == ["DocTamper-TestingSet",
                                                        "DocTamper-TestingSet@75"]


@pytest.mark.parametrize("name", sorted(PROTOCOLS))
def test_protocol_dataset_configs_read_the_prepared_manifests(name: str):
    from mmengine.config import Config

    cfg = Config.fromfile(str(ROOT / f"configs/_base_/datasets/protocol_{name}.py"))
    assert cfg.train_dataloader.dataset.ann_file == f"data/protocols/{name}/train.jsonl"
    assert cfg.test_dataloader.dataset.ann_file == f"data/protocols/{name}/test.jsonl"
    assert cfg.train_dataloader.dataset.synthiml is None
    weights = cfg.train_dataloader.sampler.task_weights
    assert set(weights) <= {"natural", "document", "face", "scene_text"}
    expected = dict(PROTOCOLS[name].task_weights)
    assert {k: float(v) for k, v in weights.items()} == {k: float(v) for k, v in
                                                         expected.items()}
