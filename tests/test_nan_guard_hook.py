"""NaNGuardHook: a non-finite loss stops training before any checkpoint of the broken state."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
from types import SimpleNamespace

import pytest
import torch
from helpers import ROOT, subprocess_env, train_cfg_options
from mmengine.config import Config
from mmengine.hooks import CheckpointHook, LoggerHook
from mmengine.runner.priority import get_priority

from mmiml.datasets.demo_splices import make_demo_splices
from mmiml.engine import NaNGuardHook, NonFiniteLossError

CONFIG = ROOT / "configs/plain_convnext_uper/upernet_convnext-atto_1xb8-400_demo-splices-128x128.py"


def _runner(iteration: int) -> SimpleNamespace:
    return SimpleNamespace(iter=iteration, logger=logging.getLogger("nan-guard-test"), hooks=[])


def test_non_finite_loss_raises_naming_iteration_and_terms(caplog):
    hook = NaNGuardHook()
    outputs = {"loss": torch.tensor(float("nan")), "decode.loss_ce": torch.tensor(float("nan")),
               "enc.loss_x": torch.tensor(1.0), "gate.share": torch.tensor(float("nan"))}
    with caplog.at_level(logging.ERROR, logger="nan-guard-test"), \
            pytest.raises(NonFiniteLossError) as err:
        hook.after_train_iter(_runner(6), batch_idx=6, outputs=outputs)
    message = str(err.value)
    assert isinstance(err.value, RuntimeError)
    assert "non-finite" in message and "iteration 7" in message
    assert "decode.loss_ce=nan" in message and "loss=nan" in message
    assert "enc.loss_x" not in message  # finite terms are not named
    assert "gate.share" not in message  # not a loss term
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR] == [message]


def test_infinite_loss_is_caught_too():
    with pytest.raises(NonFiniteLossError, match=r"enc\.loss_x=inf"):
        NaNGuardHook().after_train_iter(
            _runner(0), batch_idx=0,
            outputs={"loss": torch.tensor(float("inf")), "enc.loss_x": torch.tensor(float("inf"))})


def test_finite_losses_pass():
    outputs = {"loss": torch.tensor(1.5), "decode.loss_ce": torch.tensor(0.5),
               "enc.loss_x": torch.tensor(1.0), "decode.acc_seg": torch.tensor(float("nan"))}
    NaNGuardHook().after_train_iter(_runner(3), batch_idx=3, outputs=outputs)
    NaNGuardHook().after_train_iter(_runner(3), batch_idx=3, outputs=None)


def test_runs_before_checkpoint_and_logger_hooks_and_is_in_every_config():
    mine = get_priority(NaNGuardHook.priority)
    assert mine < get_priority(CheckpointHook.priority)
    assert mine < get_priority(LoggerHook.priority)
    cfg = Config.fromfile(str(CONFIG))
    assert {"type": "NaNGuardHook"} in [dict(h) for h in cfg.custom_hooks]


# A test-only hook that breaks the real model: from iteration `at` (0-based) one weight of the
# decode head is NaN, so the forward pass of that iteration gives a NaN loss.
INJECTOR = textwrap.dedent('''
    import torch
    from mmengine.hooks import Hook
    from mmseg.registry import HOOKS


    @HOOKS.register_module()
    class InjectNaNHook(Hook):
        def __init__(self, at):
            self.at = at

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            if runner.iter == self.at:
                model = getattr(runner.model, "module", runner.model)
                with torch.no_grad():
                    model.decode_head.conv_seg.weight.mul_(float("nan"))
''')


@pytest.mark.slow
def test_train_stops_at_nan_and_keeps_the_last_good_checkpoint(tmp_path):
    manifest = make_demo_splices(tmp_path / "demo", num_train=8, num_test=2, size=64, seed=1)
    (tmp_path / "nan_injector.py").write_text(INJECTOR)
    base = Config.fromfile(str(CONFIG))
    # the config's own custom hooks (NaNGuardHook from default_runtime.py) plus the injector;
    # the NaN comes at iteration 6, which checkpoint interval 2 would save if the guard ran late
    hooks = [*(dict(h) for h in base.custom_hooks), dict(type="InjectNaNHook", at=5)]
    imports = [*base.custom_imports.imports, "nan_injector"]
    config = tmp_path / "nan_config.py"
    config.write_text(f"_base_ = [{str(CONFIG)!r}]\n"
                      f"custom_imports = dict(imports={imports!r}, allow_failed_imports=False)\n"
                      f"custom_hooks = {hooks!r}\n")
    work = tmp_path / "work"
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools/train.py"), str(config), "--work-dir", str(work),
         *train_cfg_options(manifest, max_iters=10, ckpt_interval=2, batch_size=2)],
        env=subprocess_env(tmp_path), capture_output=True, text=True, timeout=300)
    log = done.stdout + done.stderr
    assert done.returncode != 0, log[-3000:]
    assert "NonFiniteLossError: non-finite loss at iteration 6" in log, log[-3000:]
    assert "decode.loss_ce=nan" in log
    assert "Iter(train) [ 5/10]" in log and "Iter(train) [ 6/10]" not in log
    assert (work / "last_checkpoint").read_text().strip().endswith("iter_4.pth")
    assert (work / "iter_4.pth").exists()
    assert not (work / "iter_6.pth").exists()
