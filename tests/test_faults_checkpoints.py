"""A checkpoint that does not hold this model's weights fails by name instead of being scored.

Every case runs ``tools/test.py CONFIG CHECKPOINT --out RESULT`` in-process the way a user
would, on a tiny test split (four 32 px DemoSplices images). A failing case must exit non-zero
with one line naming the checkpoint file, and leave an existing result file as it was. The
positive controls check what the result JSON records about the checkpoint (sha256, size,
strict or not, and how many keys did not fit).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch
from fault_harness import ROOT, assert_fails_naming, assert_unchanged, run_tool, snapshot

pytestmark = pytest.mark.faults

CONFIG = ROOT / "configs/plain_convnext_uper/upernet_convnext-atto_1xb8-400_demo-splices-128x128.py"
OLD_RESULT = '{"note": "an earlier result that a failed run must leave alone"}\n'


class RunsACommand:
    """Unpickling this would call os.system; torch's weights_only loader must refuse it (it is
    only ever pickled here, never unpickled)."""

    def __reduce__(self):
        import os
        return (os.system, ("true",))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict:
    """A four-image test split and the state dict of the config's model (random weights)."""
    from helpers import build_model, load_config

    from mmiml.datasets.demo_splices import make_demo_splices

    root = tmp_path_factory.mktemp("ckpt_faults")
    manifest = make_demo_splices(root / "demo", num_train=0, num_test=4, size=32, seed=0)
    state = build_model(load_config(CONFIG).model).state_dict()
    return {"manifest": manifest, "state": state}


def _test(tiny: dict, tmp_path: Path, checkpoint: Path, *flags: str):
    """tools/test.py on the tiny split, result to ``tmp_path/result.json``."""
    manifest = tiny["manifest"]
    return run_tool(
        "test", CONFIG, checkpoint, "--work-dir", tmp_path / "work", "--out",
        tmp_path / "result.json", *flags, "--cfg-options",
        f"test_dataloader.dataset.ann_file={manifest}", "test_dataloader.num_workers=0",
        "test_dataloader.persistent_workers=False")


def _other_model() -> dict:
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4)).state_dict()


def _shape_mismatch(state: dict) -> dict:
    bad = dict(state)
    bad["decode_head.conv_seg.weight"] = torch.zeros(3, *state[
        "decode_head.conv_seg.weight"].shape[1:])
    return bad


def _write(kind: str, path: Path, state: dict) -> Path:
    """Write the faulty checkpoint ``kind`` at ``path`` (or leave ``path`` absent)."""
    if kind == "empty-state-dict":
        torch.save({"state_dict": {}, "meta": {"iter": 1}}, path)
    elif kind == "mismatched-keys":
        torch.save({"state_dict": _other_model()}, path)
    elif kind == "shape-mismatch":
        torch.save({"state_dict": _shape_mismatch(state)}, path)
    elif kind == "text-file":
        path.write_text("this is not a checkpoint\n")
    elif kind == "zero-byte":
        path.write_bytes(b"")
    elif kind == "list-payload":
        torch.save([1, 2], path)
    elif kind == "tensor-payload":
        torch.save(torch.ones(3), path)
    elif kind == "no-tensors":
        torch.save({"meta": {"iter": 3}, "note": "weights were never saved"}, path)
    elif kind == "truncated-zip":
        torch.save({"state_dict": state}, path)
        data = path.read_bytes()
        path.write_bytes(data[:len(data) // 2])
    elif kind == "missing-file":
        pass
    elif kind == "directory-as-checkpoint":
        path.mkdir()
    elif kind == "unsafe-global":
        torch.save({"state_dict": state, "extra": RunsACommand()}, path)
    else:  # pragma: no cover - a typo in the parameter list
        raise ValueError(kind)
    return path


FAULTS = ["empty-state-dict", "mismatched-keys", "shape-mismatch", "text-file", "zero-byte",
          "list-payload", "tensor-payload", "no-tensors", "truncated-zip", "missing-file",
          "directory-as-checkpoint", "unsafe-global"]


@pytest.mark.parametrize("kind", FAULTS, ids=FAULTS)
def test_unusable_checkpoint_fails_naming_it(tiny, tmp_path, kind):
    checkpoint = _write(kind, tmp_path / "model.pth", tiny["state"])
    (tmp_path / "result.json").write_text(OLD_RESULT)
    before = snapshot(tmp_path / "result.json")
    run = _test(tiny, tmp_path, checkpoint)
    assert_fails_naming(run, checkpoint)
    assert_unchanged(before)
    if kind == "mismatched-keys":  # the keys that do not fit are listed, with their counts
        assert "missing" in run.last_line and "unexpected" in run.last_line
        assert "0.weight" in run.last_line
    if kind == "shape-mismatch":
        assert "decode_head.conv_seg.weight" in run.last_line
    if kind == "unsafe-global":
        assert "posix.system" in run.last_line or ".system" in run.last_line


def test_non_strict_loading_that_fits_nothing_still_fails(tiny, tmp_path):
    checkpoint = _write("mismatched-keys", tmp_path / "other.pth", tiny["state"])
    (tmp_path / "result.json").write_text(OLD_RESULT)
    before = snapshot(tmp_path / "result.json")
    run = _test(tiny, tmp_path, checkpoint, "--non-strict")
    assert_fails_naming(run, checkpoint)
    assert_unchanged(before)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_checkpoint_of_the_same_model_loads_strictly_and_is_recorded(tiny, tmp_path):
    checkpoint = tmp_path / "iter_1.pth"
    torch.save({"state_dict": tiny["state"], "meta": {"iter": 1}}, checkpoint)
    run = _test(tiny, tmp_path, checkpoint)
    assert run.rc == 0, str(run)
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["num_images"] == 4
    record = result["checkpoint"]
    assert record["sha256"] == _sha256(checkpoint)
    assert record["size_bytes"] == checkpoint.stat().st_size
    assert record["path"] == str(checkpoint)
    assert record["abs_path"] == str(checkpoint.resolve())
    assert record["strict"] is True
    assert record["loaded_keys"] == len(tiny["state"])
    assert record["missing_keys"] == record["unexpected_keys"] == record["mismatched_keys"] == 0


def test_non_strict_loads_what_fits_and_records_the_counts(tiny, tmp_path):
    state = {k: v for k, v in tiny["state"].items() if not k.startswith("decode_head.")}
    state["module.extra.weight"] = torch.zeros(2)  # DDP's prefix is stripped as mmengine does
    state["backbone.downsample_layers.0.0.bias"] = torch.zeros(1)  # wrong shape: skipped
    checkpoint = tmp_path / "partial.pth"
    torch.save({"state_dict": state}, checkpoint)
    run = _test(tiny, tmp_path, checkpoint, "--non-strict")
    assert run.rc == 0, str(run)
    record = json.loads((tmp_path / "result.json").read_text())["checkpoint"]
    head = sum(k.startswith("decode_head.") for k in tiny["state"])
    # torch's BatchNorm fills in a missing num_batches_tracked (older checkpoints lack it)
    counters = sum(k.startswith("decode_head.") and k.endswith(".num_batches_tracked")
                   for k in tiny["state"])
    assert record["strict"] is False
    assert record["sha256"] == _sha256(checkpoint)
    assert record["missing_keys"] == head - counters
    assert record["unexpected_keys"] == 1
    assert record["mismatched_keys"] == 1
    assert record["loaded_keys"] == len(tiny["state"]) - head - 1


@pytest.mark.parametrize("kind", ["missing-file", "text-file", "zero-byte", "list-payload",
                                  "truncated-zip"])
def test_sanitize_tool_names_a_bad_input_file(tmp_path: Path, kind: str) -> None:
    src, dst = _write(kind, tmp_path / "in.pth", {"w": torch.ones(1000)}), tmp_path / "out.pth"
    run = run_tool("sanitize_checkpoint", src, dst, "--trust")
    assert run.rc == 2
    assert_fails_naming(run, src)
    assert not dst.exists()
