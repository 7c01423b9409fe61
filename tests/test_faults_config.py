"""Misconfiguration fails by name instead of training nothing (or something else) and exiting 0.

Every case runs ``tools/train.py`` (or ``tools/benchmark.py``) in-process the way a user would.
The runs point the training data at a manifest that does not exist: a config that passes every
check then stops at the dataset, naming that manifest, so a positive case shows "got past the
config checks" without training anything, and a check that runs too late is caught too (the
error would name the manifest instead of the key).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fault_harness import ROOT, assert_fails_naming, run_tool

pytestmark = pytest.mark.faults

CONFIG = ROOT / "configs/plain_convnext_uper/upernet_convnext-atto_1xb8-400_demo-splices-128x128.py"


def _train(tmp_path: Path, *options: str, config: Path | str = CONFIG, flags: tuple = ()):
    """tools/train.py CONFIG with the training manifest pointed at a file that does not exist."""
    return run_tool("train", config, "--work-dir", tmp_path / "work", *flags, "--cfg-options",
                    f"train_dataloader.dataset.ann_file={tmp_path / 'no_manifest.jsonl'}",
                    *options)


@pytest.mark.parametrize("option, key, value", [
    pytest.param("train_cfg.max_iters=-5", "train_cfg.max_iters", "-5", id="max-iters-negative"),
    pytest.param("train_cfg.max_iters=0", "train_cfg.max_iters", "0", id="max-iters-zero"),
    pytest.param("train_cfg.val_interval=0", "train_cfg.val_interval", "0",
                 id="val-interval-zero"),
    pytest.param("default_hooks.checkpoint.interval=0", "default_hooks.checkpoint.interval",
                 "0", id="checkpoint-interval-zero"),
])
def test_bad_schedule_value_is_refused_before_anything_is_built(tmp_path, option, key, value):
    run = _train(tmp_path, option)
    assert_fails_naming(run, CONFIG, key, value)
    assert not (tmp_path / "work").exists(), "a Runner was built before the check"


def test_max_epochs_zero(tmp_path):
    config = tmp_path / "epochs.py"
    config.write_text(f"_base_ = [{str(CONFIG)!r}]\n"
                      "train_cfg = dict(_delete_=True, type='EpochBasedTrainLoop', max_epochs=0,"
                      " val_interval=1)\n")
    run = _train(tmp_path, config=config)
    assert_fails_naming(run, config, "train_cfg.max_epochs", "0")


@pytest.mark.parametrize("option, named", [
    pytest.param("train_cfg.max_iter=5",
                 ("train_cfg.max_iter", "mean train_cfg.max_iters", "--allow-new-keys"),
                 id="unknown-cfg-key"),
    pytest.param("model.decode_head.new_arg=1", ("model.decode_head.new_arg",
                                                 "--allow-new-keys"), id="unknown-nested-key"),
    pytest.param("default_hooks.checkpoint.intervall=2",
                 ("default_hooks.checkpoint.intervall", "mean default_hooks.checkpoint.interval"),
                 id="unknown-hook-key"),
    # --allow-new-keys cannot help here: mmengine cannot merge past a list's end
    pytest.param("param_scheduler.7.end=1", ("param_scheduler.7", "no index 7"),
                 id="list-index-out-of-range"),
])
def test_cfg_option_that_the_config_does_not_have_is_refused(tmp_path, option, named):
    run = _train(tmp_path, option, flags=("--allow-new-keys",) if "7" in option else ())
    assert_fails_naming(run, CONFIG, *named)
    assert not (tmp_path / "work").exists()


def test_allow_new_keys_lets_a_new_key_through(tmp_path):
    run = _train(tmp_path, "my_note=hello", flags=("--allow-new-keys",))
    # past every config check: what stops it now is the missing training manifest
    assert_fails_naming(run, "no_manifest.jsonl")
    assert "my_note" not in run.last_line


def test_existing_keys_and_list_indices_are_accepted(tmp_path):
    run = _train(tmp_path, "train_cfg.max_iters=3", "param_scheduler.0.end=1",
                 "param_scheduler.1.begin=1", "default_hooks.checkpoint.interval=-1",
                 "train_dataloader.dataset.pipeline.0.type=LoadIMLImageFromFile",
                 "model.decode_head.num_classes=2")
    assert_fails_naming(run, "no_manifest.jsonl")


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_config_syntax_error_names_file_and_line(tmp_path):
    config = _write(tmp_path / "broken.py", "x = 1\na = dict(\n    b=1\n    c=2)\n")
    run = _train(tmp_path, config=config)
    assert_fails_naming(run, config, "line 3")
    assert "<unknown>" not in run.stderr


def test_base_config_syntax_error_names_both_files_and_the_line(tmp_path):
    base = _write(tmp_path / "broken_base.py", "x = 1\ny = 2\nz = (3\n")
    config = _write(tmp_path / "child.py", "_base_ = ['./broken_base.py']\nw = 4\n")
    run = _train(tmp_path, config=config)
    assert_fails_naming(run, config, base, "line 3")


def test_missing_config(tmp_path):
    run = _train(tmp_path, config=tmp_path / "no_such_config.py")
    assert_fails_naming(run, "no_such_config.py")


def test_missing_base_config(tmp_path):
    config = _write(tmp_path / "child.py", "_base_ = ['./gone_base.py']\nw = 4\n")
    run = _train(tmp_path, config=config)
    assert_fails_naming(run, config, "gone_base.py")


def test_config_that_raises_when_run_names_file_line_and_error(tmp_path):
    config = _write(tmp_path / "raises.py", "x = 1\ny = x / 0\n")
    run = _train(tmp_path, config=config)
    assert_fails_naming(run, config, "line 2", "ZeroDivisionError")


@pytest.mark.parametrize("value", [pytest.param("0", id="benchmark-max-iters-zero"),
                                   pytest.param("-3", id="benchmark-max-iters-negative")])
def test_benchmark_refuses_a_budget_below_one_iteration(tmp_path, value):
    run = run_tool("benchmark", "--profile", "smoke", "--max-iters", value, "--dry-run",
                   "--results-root", tmp_path / "res", "--work-root", tmp_path / "work")
    assert_fails_naming(run, "--max-iters", value)
    assert not (tmp_path / "res").exists() and not (tmp_path / "work").exists()
