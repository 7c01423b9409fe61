"""Config file names follow OpenMMLab's ``{algorithm}_{backbone}_{N}xb{B}-{schedule}_{data}-{crop}``
and say what the config resolves to: a name whose batch, schedule, data or crop disagrees with
the resolved config fails here.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from helpers import ROOT
from mmengine.config import Config

from mmiml.benchmark.zoo import ZOO
from mmiml.utils.config import find_type

#: kept at its path: the README's paper-recipe command is exactly this file
KEPT = {"configs/omni_iml_joint.py"}
#: ``-`` joins words inside a field, ``_`` separates the fields
_WORDS = r"[a-z0-9]+(?:-[a-z0-9]+)*"
NAME = re.compile(
    rf"^(?P<algorithm>{_WORDS})_(?P<backbone>{_WORDS})_(?P<gpus>\d+)xb(?P<batch>\d+)"
    rf"-(?P<schedule>\d+)(?P<k>k?)_(?P<data>{_WORDS})-(?P<crop_h>\d+)x(?P<crop_w>\d+)\.py$")
CONFIGS = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "configs").rglob("*.py")
                 if "_base_" not in p.parts)
NAMED = [p for p in CONFIGS if p not in KEPT]


def expected_data(cfg: Config) -> str:
    """The ``data`` field a resolved config should carry: ``demo-splices``, or ``synthiml``
    [``-<profile>`` unless it is ``paper``] [``-<task>`` | ``-joint``; none when the four tasks are
    pooled and sampled uniformly]."""
    loader = cfg.train_dataloader
    spec = loader.dataset.get("synthiml")
    if spec is None:
        assert "demo_splices" in loader.dataset.ann_file, loader.dataset.ann_file
        return "demo-splices"
    words = ["synthiml"] + ([] if spec["profile"] == "paper" else [spec["profile"]])
    tasks = loader.dataset.get("tasks")
    if tasks:
        assert len(tasks) == 1, f"a config trains on one task or jointly, got {tasks}"
        words.append(tasks[0].replace("_", "-"))
    elif loader.sampler.type == "TaskWeightedInfiniteSampler":
        words.append("joint")
    return "-".join(words)


def test_the_walk_finds_every_family():
    folders = {Path(p).parts[1] for p in NAMED}
    assert folders == {Path(m.config("tiny", "joint")).parts[1] for m in ZOO}


@pytest.mark.parametrize("path", NAMED)
def test_config_name_says_what_the_config_resolves_to(path):
    match = NAME.match(Path(path).name)
    assert match, f"{path}: not named {NAME.pattern}"
    cfg = Config.fromfile(str(ROOT / path), import_custom_modules=False)
    batch = cfg.train_dataloader.batch_size
    assert int(match["batch"]) == batch, f"{path}: name says batch {match['batch']}, config {batch}"
    iters = int(match["schedule"]) * (1000 if match["k"] else 1)
    assert iters == cfg.train_cfg.max_iters, (
        f"{path}: name says {iters} iterations, config {cfg.train_cfg.max_iters}")
    crop = find_type(cfg.train_dataloader.dataset.pipeline, "GridAlignedRandomCrop")
    assert crop is not None, f"{path}: no GridAlignedRandomCrop in the training pipeline"
    name_crop = (int(match["crop_h"]), int(match["crop_w"]))
    assert name_crop == tuple(crop["crop_size"]), (
        f"{path}: name says crop {name_crop}, config {tuple(crop['crop_size'])}")
    assert match["data"] == expected_data(cfg), f"{path}: name says data {match['data']!r}"
    # one process for the CPU configs; the paper recipes state 8 GPUs x 2 images
    gpus = 1 if any(word in match["data"] for word in ("cpu", "demo", "probe")) else 8
    assert int(match["gpus"]) == gpus, f"{path}: {match['gpus']} GPUs in the name, expected {gpus}"


def test_committed_results_name_existing_configs():
    results = sorted((ROOT / "leaderboard/results").rglob("*.json"))
    assert results
    for path in results:
        config = json.loads(path.read_text())["config"]
        if config is not None:  # the training-free lower bounds have none
            assert (ROOT / config).is_file(), f"{path}: config {config} does not exist"


def test_family_result_files_are_named_after_a_config():
    for path in sorted((ROOT / "configs").glob("*/results/*.json")):
        config = path.parent.parent / f"{path.stem}.py"
        assert config.is_file(), f"{path}: no config {config.relative_to(ROOT)}"
