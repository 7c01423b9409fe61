"""Checkpoints load with weights_only=True; foreign pickled objects are refused by name."""

import collections

import numpy as np
import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.runner.checkpoint import _load_checkpoint

from mmiml.utils.errors import UnsafeCheckpointError


class NotAllowed:  # a module-level class: pickled by reference, so loading it needs a global
    def __init__(self):
        self.payload = 1


def test_message_hub_state_round_trips_with_weights_only(tmp_path):
    hub = MessageHub.get_instance("ckpt-test")
    for i in range(5):
        hub.update_scalar("train/loss", 1.0 / (i + 1))
    hub.update_info("iter", 4)
    ckpt = {
        "meta": {"iter": 5, "seed": np.int64(3), "hist": np.arange(3, dtype=np.float32)},
        "state_dict": collections.OrderedDict(w=torch.ones(2)),
        "message_hub": hub.state_dict(),
    }
    path = tmp_path / "iter_5.pth"
    torch.save(ckpt, path)
    loaded = _load_checkpoint(str(path), map_location="cpu")
    buf = loaded["message_hub"]["log_scalars"]["train/loss"]
    assert buf.current() == pytest.approx(0.2)
    assert loaded["meta"]["hist"].tolist() == [0.0, 1.0, 2.0]
    assert torch.equal(loaded["state_dict"]["w"], torch.ones(2))


class RunsACommand:  # a payload that would call os.system if it were unpickled
    def __reduce__(self):
        import os
        return (os.system, ("true",))


# torch words the two refusals differently: an unknown class, and a global of a blocked module
@pytest.mark.parametrize("payload, culprit", [(NotAllowed, "NotAllowed"),
                                              (RunsACommand, ".system")])
def test_foreign_object_is_refused_with_reason(tmp_path, payload, culprit):
    path = tmp_path / "evil.pth"
    torch.save({"state_dict": {"w": torch.ones(1)}, "extra": payload()}, path)
    with pytest.raises(UnsafeCheckpointError) as info:
        _load_checkpoint(str(path), map_location="cpu")
    message = str(info.value)
    assert str(path) in message
    assert culprit in message
    assert "allow-list" in message
    assert "an object outside the allow-list" not in message  # the culprit is named


def test_missing_checkpoint_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.pth"):
        _load_checkpoint(str(tmp_path / "nope.pth"), map_location="cpu")


def test_weights_only_stays_on_by_default(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"extra": NotAllowed()}, path)
    with pytest.raises(Exception, match="Unsupported global"):
        torch.load(path)


def test_sanitize_tool_makes_a_trusted_file_loadable(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    src, dst = tmp_path / "old.pth", tmp_path / "clean.pth"
    from fractions import Fraction  # importable in the tool's process, and not allow-listed

    torch.save({"state_dict": {"w": torch.arange(3.0)}, "meta": {"iter": 7, "obj": Fraction(1, 3)},
                "optimizer": {"state": {}}}, src)
    tool = Path(__file__).resolve().parents[1] / "tools/sanitize_checkpoint.py"
    refused = subprocess.run([sys.executable, str(tool), str(src), str(dst)],
                             capture_output=True, text=True)
    assert refused.returncode == 2 and "--trust" in refused.stderr and not dst.exists()
    done = subprocess.run([sys.executable, str(tool), str(src), str(dst), "--trust"],
                          capture_output=True, text=True, cwd=tmp_path,
                          env={"PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    assert done.returncode == 0, done.stderr
    assert "meta.obj" in done.stdout and "optimizer" in done.stdout
    loaded = _load_checkpoint(str(dst), map_location="cpu")
    assert torch.equal(loaded["state_dict"]["w"], torch.arange(3.0))
    assert loaded["meta"] == {"iter": 7}


_PATCH_PROBE = """
import json, torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

def state():
    return {"getstate": getattr(HistoryBuffer.__getstate__, "__module__", None),
            "loader": CheckpointLoader._schemes[""].__module__,
            "safe": HistoryBuffer in torch.serialization.get_safe_globals()}

import mmiml.engine, mmiml.utils.setup_env
mmiml.utils.setup_env.register_all_modules()
after_import = state()
mmiml.engine.apply_mmengine_patches()
after_call = state()
mmiml.engine.apply_mmengine_patches()
print(json.dumps([after_import, after_call, state()]))
"""


def test_importing_does_not_patch_mmengine_and_the_function_does():
    import json
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", _PATCH_PROBE], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    after_import, after_call, after_second_call = json.loads(proc.stdout.splitlines()[-1])
    assert after_import == {"getstate": "mmengine.logging.history_buffer",
                            "loader": "mmengine.runner.checkpoint",
                            "safe": False}
    assert after_call == {"getstate": "mmiml.engine.checkpoint",
                          "loader": "mmiml.engine.checkpoint", "safe": True}
    assert after_second_call == after_call  # idempotent
