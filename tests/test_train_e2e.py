"""End to end on CPU: train, kill, resume, distributed (gloo), test to a per-task JSON."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import ROOT, subprocess_env, train_cfg_options

from mmiml.datasets.demo_splices import make_demo_splices

CONFIG = ROOT / "configs/plain_convnext_uper/upernet_convnext-atto_1xb8-400_demo-splices-128x128.py"


@pytest.fixture(scope="module")
def demo_manifest(tmp_path_factory) -> Path:
    return make_demo_splices(tmp_path_factory.mktemp("demo"), num_train=32, num_test=12,
                             size=64, seed=1)


@pytest.mark.slow
def test_train_is_killed_then_resumes(demo_manifest, tmp_path):
    work = tmp_path / "work"
    cmd = [sys.executable, str(ROOT / "tools/train.py"), str(CONFIG), "--work-dir", str(work),
           *train_cfg_options(demo_manifest, max_iters=40, ckpt_interval=4)]
    proc = subprocess.Popen(cmd, env=subprocess_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    last = work / "last_checkpoint"  # mmengine writes it once a checkpoint is complete
    while not (last.exists() and last.read_text().strip().endswith("iter_8.pth")):
        assert proc.poll() is None, "training ended before it could be killed"
        assert time.time() < deadline, "no checkpoint within 300 s"
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (work / "iter_40.pth").exists()
    killed_at = int(last.read_text().strip().rsplit("iter_", 1)[1].split(".")[0])

    done = subprocess.run([*cmd, "--resume"], env=subprocess_env(), capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    log = done.stdout + done.stderr
    assert f"Auto resumed from the latest checkpoint {work / f'iter_{killed_at}.pth'}" in log
    assert f"resumed epoch: 0, iter: {killed_at}" in log
    assert "Iter(train) [40/40]" in log
    assert "Iter(train) [ 1/40]" not in log  # training did not restart from scratch
    assert (work / "iter_40.pth").exists()


@pytest.mark.slow
def test_two_process_cpu_training(demo_manifest, tmp_path):
    work = tmp_path / "dist"
    env = dict(subprocess_env(), PYTHON=sys.executable, PORT=str(29500 + os.getpid() % 1000))
    done = subprocess.run(
        ["bash", str(ROOT / "tools/dist_train.sh"), str(CONFIG), "2", "--work-dir", str(work),
         *train_cfg_options(demo_manifest, max_iters=4, ckpt_interval=4)],
        env=env, capture_output=True, text=True, timeout=600)
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-3000:]
    assert "gloo process group rank 1/2" in log
    assert "Iter(train) [4/4]" in log
    assert (work / "iter_4.pth").exists()


@pytest.mark.slow
def test_train_then_test_writes_per_task_json(demo_manifest, tmp_path):
    work = tmp_path / "work"
    train = subprocess.run(
        [sys.executable, str(ROOT / "tools/train.py"), str(CONFIG), "--work-dir", str(work),
         *train_cfg_options(demo_manifest, max_iters=6, ckpt_interval=6)],
        env=subprocess_env(), capture_output=True, text=True, timeout=600)
    assert train.returncode == 0, train.stderr[-3000:]
    out = tmp_path / "result.json"
    test = subprocess.run(
        [sys.executable, str(ROOT / "tools/test.py"), str(CONFIG), str(work / "iter_6.pth"),
         "--work-dir", str(work), "--out", str(out),
         *train_cfg_options(demo_manifest, max_iters=6, ckpt_interval=6)],
        env=subprocess_env(), capture_output=True, text=True, timeout=600)
    assert test.returncode == 0, test.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["schema"] == "mmiml-result/1"
    assert result["num_images"] == 12
    assert set(result["per_task"]) == {"natural", "document", "face", "scene_text"}
    assert sum(t["num_images"] for t in result["per_task"].values()) == 12
    assert "avg" in result


@pytest.mark.slow
def test_omni_iml_tiny_twin_trains_and_tests_to_json_with_gate_statistics(tmp_path):
    from mmiml.datasets.synthesis.generator import make_synthiml

    manifest = make_synthiml(tmp_path / "synthiml", per_split={"train": 4, "test": 3}, size=64,
                             seed=2, progress=False)
    config = ROOT / "configs/omni_iml/omni-iml_convnext-atto_1xb8-1k_synthiml-cpu-joint-128x128.py"
    work = tmp_path / "work"
    options = [*train_cfg_options(manifest, max_iters=6, ckpt_interval=6),
               *(f"{loader}.dataset.synthiml=None" for loader in
                 ("train_dataloader", "val_dataloader", "test_dataloader")),
               "model.backbone.teacher_forcing_iters=3"]
    train = subprocess.run([sys.executable, str(ROOT / "tools/train.py"), str(config),
                            "--work-dir", str(work), *options],
                           env=subprocess_env(), capture_output=True, text=True, timeout=600)
    assert train.returncode == 0, train.stderr[-3000:]
    assert "TaskWeightedInfiniteSampler: task shares natural 0.270" in train.stdout + train.stderr
    assert "gate.fused_share.scene_text" in train.stdout + train.stderr
    out = tmp_path / "result.json"
    test = subprocess.run([sys.executable, str(ROOT / "tools/test.py"), str(config),
                           str(work / "iter_6.pth"), "--work-dir", str(work), "--out", str(out),
                           *options],
                           env=subprocess_env(), capture_output=True, text=True, timeout=600)
    assert test.returncode == 0, test.stderr[-3000:]
    log = test.stdout + test.stderr
    assert "detection branch left out" in log and "ignored" in log
    result = json.loads(out.read_text())
    assert set(result["per_task"]) == {"natural", "document", "face", "scene_text"}
    for task, scores in result["per_task"].items():
        assert scores["gate_num_images"] == scores["num_images"] == 3, task
        assert 0.0 <= scores["gate_fused_share"] <= 1.0
    assert result["avg"]["gate_num_images"] == 12
