"""Re-save a checkpoint you trust so that it loads with ``weights_only=True``.

    python tools/sanitize_checkpoint.py IN.pth OUT.pth --trust

mmiml refuses checkpoints that pickle objects outside its allow-list (see
mmiml/engine/checkpoint.py), because loading them runs code from the file. If the file comes from
a source you trust (your own older mmseg run, say), this tool loads it once with
``weights_only=False`` and writes only tensors and plain metadata: ``state_dict`` always,
``meta`` entries that are plain values; optimizer and scheduler states are dropped unless
``--keep-optimizer`` is given and they are plain too. Everything dropped is printed.

A file that is missing, empty, text, corrupt, or holds no dict of tensors is one ``error:`` line
naming it (exit 2), and OUT is not written.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import torch

from mmiml.utils.cli import one_line, run_cli
from mmiml.utils.errors import CheckpointError

PLAIN = (type(None), bool, int, float, str, torch.Tensor)


def _is_plain(value: Any) -> bool:
    if isinstance(value, PLAIN):
        return True
    if isinstance(value, list | tuple):
        return all(_is_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str | int) and _is_plain(v) for k, v in value.items())
    return False


def sanitize(checkpoint: Any, keep_optimizer: bool = False, source: object = "checkpoint"
             ) -> tuple[dict, list[str]]:
    """Return the plain part of ``checkpoint`` and the names of what was dropped; a checkpoint
    that is not a dict, or whose ``state_dict`` is not a dict, is a CheckpointError naming
    ``source``."""
    dropped: list[str] = []
    if not isinstance(checkpoint, dict):
        raise CheckpointError(source, f"holds a {type(checkpoint).__name__}, not a checkpoint "
                                      "(a dict with a 'state_dict' of tensors)")
    state_dict = checkpoint.get("state_dict", checkpoint)
    if not isinstance(state_dict, dict):
        raise CheckpointError(source, f"its 'state_dict' is a {type(state_dict).__name__}, "
                                      "not a dict of tensors")
    clean: dict[str, Any] = {"state_dict": {}}
    for key, value in state_dict.items():
        if isinstance(value, torch.Tensor):
            clean["state_dict"][key] = value
        else:
            dropped.append(f"state_dict.{key}")
    if "state_dict" not in checkpoint:
        return clean, dropped
    clean["meta"] = {}
    for key, value in (checkpoint.get("meta") or {}).items():
        if _is_plain(value):
            clean["meta"][key] = value
        else:
            dropped.append(f"meta.{key}")
    for key in checkpoint:
        if key in ("state_dict", "meta"):
            continue
        if keep_optimizer and key in ("optimizer", "param_schedulers") and _is_plain(
                checkpoint[key]):
            clean[key] = checkpoint[key]
        else:
            dropped.append(key)
    return clean, dropped


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("src")
    parser.add_argument("dst")
    parser.add_argument("--trust", action="store_true",
                        help="required: you trust SRC enough to unpickle it fully")
    parser.add_argument("--keep-optimizer", action="store_true")
    args = parser.parse_args()
    if not args.trust:
        raise CheckpointError(args.src, "refusing to unpickle without --trust (it can run code)")
    src = args.src
    if os.path.isdir(args.dst):
        raise CheckpointError(args.dst, "is a directory; give the file to write")
    try:
        checkpoint = torch.load(src, map_location="cpu", weights_only=False)
    except Exception as err:  # noqa: BLE001 - any way unpickling a corrupt file fails
        # imported here: mmiml.engine costs seconds, and only a failure needs its checks
        from mmiml.engine.checkpoint import check_checkpoint_file

        check_checkpoint_file(src)  # a missing, empty or text file, named as such
        raise CheckpointError(src, f"cannot read the checkpoint ({type(err).__name__}: "
                                   f"{one_line(err)[:200]})") from err
    clean, dropped = sanitize(checkpoint, keep_optimizer=args.keep_optimizer, source=src)
    if not clean["state_dict"]:
        raise CheckpointError(src, "holds no tensors in its state_dict: nothing to keep")
    torch.save(clean, args.dst)
    print(f"wrote {args.dst}: {len(clean['state_dict'])} tensors; dropped {len(dropped)} "
          f"entries{': ' + ', '.join(dropped) if dropped else ''}")
    return 0


if __name__ == "__main__":
    run_cli(main)
