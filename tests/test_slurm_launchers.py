"""tools/slurm_train.sh and tools/slurm_test.sh: the srun command they build, with a fake srun."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]

FAKE_SRUN = """#!/usr/bin/env python3
import json, os, sys
with open(os.environ["SRUN_RECORD"], "w") as f:
    json.dump({"argv": sys.argv[1:], "pythonpath": os.environ.get("PYTHONPATH")}, f)
"""


def _launch(tmp_path: Path, script: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    """Run ``bash tools/<script> ARGS`` from the repository root with a fake srun first on
    PATH; the fake writes its argv and PYTHONPATH to ``tmp_path/srun.json``."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    srun = bin_dir / "srun"
    srun.write_text(FAKE_SRUN)
    srun.chmod(0o755)
    run_env = {k: v for k, v in os.environ.items()
               if k not in ("GPUS", "GPUS_PER_NODE", "CPUS_PER_TASK", "SRUN_ARGS", "PYTHON",
                            "PYTHONPATH")}
    run_env.update(PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
                   SRUN_RECORD=str(tmp_path / "srun.json"), **env)
    return subprocess.run(["bash", f"tools/{script}", *args], cwd=ROOT, env=run_env,
                          capture_output=True, text=True, timeout=60)


def _srun_call(tmp_path: Path) -> dict:
    return json.loads((tmp_path / "srun.json").read_text())


def _srun_head(partition: str, job: str, gpus: int, per_node: int, cpus: int) -> list[str]:
    return ["-p", partition, f"--job-name={job}", f"--gres=gpu:{per_node}", f"--ntasks={gpus}",
            f"--ntasks-per-node={per_node}", f"--cpus-per-task={cpus}", "--kill-on-bad-exit=1"]


def test_train_defaults(tmp_path: Path) -> None:
    proc = _launch(tmp_path, "slurm_train.sh", "gpu", "omni", "configs/omni_iml_joint.py")
    assert proc.returncode == 0, proc.stderr
    call = _srun_call(tmp_path)
    assert call["argv"] == [*_srun_head("gpu", "omni", 4, 4, 5), "python", "-u",
                            "tools/train.py", "configs/omni_iml_joint.py", "--launcher=slurm"]
    assert call["pythonpath"] == "tools/.."


def test_train_work_dir_env_and_pass_through(tmp_path: Path) -> None:
    proc = _launch(tmp_path, "slurm_train.sh", "gpu", "omni", "cfg.py", "work_dirs/x",
                   "--resume", "--cfg-options", "train_cfg.max_iters=10",
                   GPUS="16", GPUS_PER_NODE="8", CPUS_PER_TASK="6",
                   SRUN_ARGS="--qos=high --time=2:00:00", PYTHONPATH="/opt/lib")
    assert proc.returncode == 0, proc.stderr
    call = _srun_call(tmp_path)
    assert call["argv"] == [*_srun_head("gpu", "omni", 16, 8, 6), "--qos=high",
                            "--time=2:00:00", "python", "-u", "tools/train.py", "cfg.py",
                            "--work-dir=work_dirs/x", "--launcher=slurm", "--resume",
                            "--cfg-options", "train_cfg.max_iters=10"]
    assert call["pythonpath"] == "tools/..:/opt/lib"


def test_train_options_without_work_dir_and_small_jobs(tmp_path: Path) -> None:
    # an option in 4th place is not a work dir; one GPU reserves one GPU, not GPUS_PER_NODE
    proc = _launch(tmp_path, "slurm_train.sh", "p", "j", "cfg.py", "--amp", GPUS="1")
    assert proc.returncode == 0, proc.stderr
    assert _srun_call(tmp_path)["argv"] == [*_srun_head("p", "j", 1, 1, 5), "python", "-u",
                                            "tools/train.py", "cfg.py", "--launcher=slurm",
                                            "--amp"]


def test_test_defaults_and_pass_through(tmp_path: Path) -> None:
    proc = _launch(tmp_path, "slurm_test.sh", "gpu", "eval", "cfg.py", "iter_8.pth",
                   "--out", "result.json", GPUS="8", GPUS_PER_NODE="8", PYTHON="python3")
    assert proc.returncode == 0, proc.stderr
    assert _srun_call(tmp_path)["argv"] == [
        *_srun_head("gpu", "eval", 8, 8, 5), "python3", "-u", "tools/test.py", "cfg.py",
        "iter_8.pth", "--launcher=slurm", "--out", "result.json"]


@pytest.mark.parametrize("script, args, missing", [
    ("slurm_train.sh", [], "PARTITION"),
    ("slurm_train.sh", ["gpu", "job"], "CONFIG"),
    ("slurm_test.sh", ["gpu", "job", "cfg.py"], "CHECKPOINT"),
    ("slurm_test.sh", ["gpu"], "JOB_NAME"),
])
def test_missing_argument_is_a_usage_error(tmp_path: Path, script: str, args: list[str],
                                           missing: str) -> None:
    proc = _launch(tmp_path, script, *args)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"usage: bash tools/{script} PARTITION JOB_NAME CONFIG")
    assert f"missing {missing}" in proc.stderr
    assert not (tmp_path / "srun.json").exists()


def test_bad_gpu_count_is_refused(tmp_path: Path) -> None:
    proc = _launch(tmp_path, "slurm_test.sh", "p", "j", "cfg.py", "c.pth", GPUS="four")
    assert proc.returncode == 2
    assert "GPUS must be a positive integer, got 'four'" in proc.stderr
    assert not (tmp_path / "srun.json").exists()


@pytest.mark.parametrize("tool", ["train.py", "test.py"])
def test_tools_accept_the_slurm_launcher(tool: str) -> None:
    proc = subprocess.run([sys.executable, f"tools/{tool}", "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "slurm" in proc.stdout


@pytest.mark.skipif(torch.cuda.is_available(), reason="the refusal is for CPU-only torch")
def test_slurm_launcher_without_gpu_is_refused_with_the_reason() -> None:
    from mmengine.config import Config

    from mmiml.utils.setup_env import adapt_cfg_to_device

    cfg = Config(dict(model=dict(type="X", norm_cfg=dict(type="SyncBN"))))
    from mmiml.utils.errors import ConfigError

    with pytest.raises(ConfigError, match="--launcher slurm: needs GPUs"):
        adapt_cfg_to_device(cfg, "slurm")
    assert cfg.model.norm_cfg.type == "SyncBN"  # nothing was changed before the refusal
