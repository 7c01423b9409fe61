"""Checkpoints load with weights_only=True; foreign pickled objects are refused by name."""

import collections

import numpy as np
import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.runner.checkpoint import _load_checkpoint

from mmiml.engine import checkpoint_record, file_sha256, load_model_weights
from mmiml.utils.errors import CheckpointError, UnsafeCheckpointError


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
    assert str(path) in message and info.value.path == str(path)
    assert culprit in message
    assert "allow-list" in message
    assert "an object outside the allow-list" not in message  # the culprit is named


def test_missing_checkpoint_is_named(tmp_path):
    with pytest.raises(CheckpointError, match="nope.pth: checkpoint file not found"):
        _load_checkpoint(str(tmp_path / "nope.pth"), map_location="cpu")


def test_random_bytes_are_corrupt_not_unsafe(tmp_path):
    # torch's weights_only unpickler refuses these too, but no global is involved
    path = tmp_path / "noise.pth"
    path.write_bytes(bytes(range(7, 250)) * 3)
    with pytest.raises(CheckpointError) as info:
        _load_checkpoint(str(path), map_location="cpu")
    assert not isinstance(info.value, UnsafeCheckpointError)
    assert str(info.value).startswith(f"{path}: not a PyTorch checkpoint")


class _Net(torch.nn.Module):
    def __init__(self, width: int = 4):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, width, 3)
        self.bn = torch.nn.BatchNorm2d(width)
        self.head = torch.nn.Linear(width, 2)


def _report_counts(report: dict) -> dict:
    return {k: len(v) if isinstance(v, list) else v for k, v in report.items()}


def test_strict_load_copies_every_tensor_and_strips_ddp_prefix(tmp_path):
    torch.manual_seed(0)
    src, dst = _Net(), _Net()
    path = tmp_path / "bare.pth"
    torch.save({f"module.{k}": v for k, v in src.state_dict().items()}, path)  # no state_dict key
    report = load_model_weights(dst, path)
    assert _report_counts(report) == {"strict": True, "loaded_keys": len(src.state_dict()),
                                      "missing_keys": 0, "unexpected_keys": 0,
                                      "mismatched_keys": 0, "ignored_keys": 0}
    for key, value in src.state_dict().items():
        assert torch.equal(dst.state_dict()[key], value), key


def test_strict_error_names_the_file_and_the_first_keys_of_each_kind(tmp_path):
    state = _Net().state_dict()
    state.pop("head.weight")
    state["head.bias"] = torch.zeros(5)  # another shape
    for i in range(7):
        state[f"extra.{i}"] = torch.zeros(1)
    path = tmp_path / "misfit.pth"
    torch.save({"state_dict": state}, path)
    with pytest.raises(CheckpointError) as info:
        load_model_weights(_Net(), path)
    message = str(info.value)
    assert message.startswith(f"{path}: does not fit the model (strict loading)")
    assert "1 missing keys (the model has them, the checkpoint does not): head.weight" in message
    assert "7 unexpected keys" in message and "extra.4, ... (+2 more)" in message
    assert "extra.5" not in message
    assert "1 tensors of another shape: head.bias [5] vs model [2]" in message
    assert "\n" not in message
    model = _Net()
    report = load_model_weights(model, path, strict=False)  # what fits is loaded and counted
    assert _report_counts(report) == {"strict": False, "loaded_keys": len(state) - 8,
                                      "missing_keys": 1, "unexpected_keys": 7,
                                      "mismatched_keys": 1, "ignored_keys": 0}
    assert torch.equal(model.conv.weight, state["conv.weight"])


@pytest.mark.parametrize("strict", [True, False], ids=["strict", "non-strict"])
@pytest.mark.parametrize("payload, problem", [
    ({"state_dict": {}}, "state_dict is empty"),
    ({"state_dict": {"other.weight": torch.ones(2)}}, "none of its 1 tensors fit"),
    ({"state_dict": [torch.ones(2)]}, "'state_dict' is a list"),
    ({"model": {"w": torch.ones(1)}, "epoch": 3}, "no 'state_dict' entry"),
    ({"state_dict": {"conv.weight": torch.ones(1), "step": 3}}, "non-tensor entries"),
], ids=["empty", "nothing-fits", "state-dict-list", "no-state-dict", "non-tensor-entry"])
def test_checkpoint_without_usable_weights_is_refused_even_non_strict(tmp_path, payload,
                                                                      problem, strict):
    path = tmp_path / "bad.pth"
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match=problem) as info:
        load_model_weights(_Net(), path, strict=strict)
    assert info.value.path == str(path)


def test_training_only_branch_is_ignored_by_strict_loading(tmp_path):
    """Omni-IML's test model leaves out the detection branch; its training checkpoint still
    loads strictly, and the left-out tensors are counted as ignored, not as unexpected."""
    from mmseg.registry import MODELS

    def build(with_detection: bool) -> torch.nn.Module:
        torch.manual_seed(1)
        return MODELS.build(dict(type="AnomalyEnhancement", in_channels=[40, 80, 160, 320],
                                 det_channels=32, fc_out_channels=64,
                                 with_detection=with_detection))

    trained = build(True)
    path = tmp_path / "omni.pth"
    torch.save({"state_dict": trained.state_dict()}, path)
    test_model = build(False)
    report = load_model_weights(test_model, path)
    detection = [k for k in trained.state_dict() if k.startswith(("det_proj.", "rpn_head.",
                                                                  "roi_head."))]
    assert detection and sorted(report["ignored_keys"]) == sorted(detection)
    assert report["unexpected_keys"] == [] and report["missing_keys"] == []
    assert report["loaded_keys"] == len(test_model.state_dict())
    record = checkpoint_record(path, report)
    assert record["ignored_keys"] == len(detection) and record["strict"] is True
    assert record["sha256"] == file_sha256(path) and record["abs_path"] == str(path)


def test_result_schema_takes_an_optional_checkpoint_block():
    from mmiml.evaluation.result_json import validate_result

    scores = {"num_images": 0, **dict.fromkeys(
        ("pixel_f1_image", "pixel_iou_image", "pixel_precision_image", "pixel_recall_image",
         "pixel_f1_dataset", "pixel_iou_dataset", "pixel_auc_image", "best_f1", "image_auc",
         "image_bacc", "image_f1", "false_alarm_rate", "false_alarm_area"))}
    result = {"schema": "mmiml-result/1", "num_images": 0, "num_tampered": 0,
              "num_authentic": 0, "spec": {"threshold": 0.5, "authentic_policy": "exclude",
                                           "resolution": "original"},
              "per_task": {}, "avg": scores}
    validate_result(result)  # score.py results name no checkpoint
    block = {"path": "a.pth", "sha256": "0" * 64, "size_bytes": 10, "strict": True,
             "loaded_keys": 3, "missing_keys": 0, "unexpected_keys": 0, "mismatched_keys": 0,
             "ignored_keys": 2}
    validate_result({**result, "checkpoint": block})
    validate_result({**result, "checkpoint": {**block, "strict": False, "missing_keys": 4}})
    with pytest.raises(ValueError, match="result.checkpoint.missing_keys: 4, but a strictly"):
        validate_result({**result, "checkpoint": {**block, "missing_keys": 4}})
    with pytest.raises(ValueError, match="result.checkpoint.sha256"):
        validate_result({**result, "checkpoint": {**block, "sha256": "abc"}})


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
    assert refused.stderr.strip().splitlines()[-1].startswith(f"error: {src}: refusing")
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


def test_benchmark_test_records_the_checkpoint_without_machine_paths(tmp_path, monkeypatch):
    """The benchmark's test step loads strictly and puts the checkpoint's sha256 into the
    result; its path names no folder of the machine (committed result files)."""
    from helpers import ROOT, build_model, load_config

    from mmiml.benchmark.run import evaluate_checkpoint as _test
    from mmiml.datasets.demo_splices import make_demo_splices

    cfg = load_config(ROOT / "configs/plain_convnext_uper/"
                      "upernet_convnext-atto_1xb8-400_demo-splices-128x128.py")
    manifest = make_demo_splices(tmp_path / "demo", num_train=0, num_test=2, size=32, seed=0)
    cfg.test_dataloader.update(num_workers=0, persistent_workers=False)
    cfg.test_dataloader.dataset.ann_file = str(manifest)
    checkpoint = tmp_path / "work" / "iter_1.pth"
    checkpoint.parent.mkdir()
    torch.save({"state_dict": build_model(cfg.model).state_dict()}, checkpoint)
    monkeypatch.chdir(tmp_path)
    result, _, n = _test(cfg, tmp_path / "work", checkpoint)
    assert n == 2
    assert result["checkpoint"] == {
        "path": "work/iter_1.pth", "sha256": file_sha256(checkpoint),
        "size_bytes": checkpoint.stat().st_size, "strict": True,
        "loaded_keys": len(torch.load(checkpoint)["state_dict"]), "missing_keys": 0,
        "unexpected_keys": 0, "mismatched_keys": 0, "ignored_keys": 0}
    torch.save({"state_dict": {"decode_head.conv_seg.bias": torch.zeros(2)}}, checkpoint)
    with pytest.raises(CheckpointError, match="iter_1.pth: does not fit the model"):
        _test(cfg, tmp_path / "work", checkpoint)
