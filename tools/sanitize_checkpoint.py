"""Re-save a checkpoint you trust so that it loads with ``weights_only=True``.

    python tools/sanitize_checkpoint.py IN.pth OUT.pth --trust

mmiml refuses checkpoints that pickle objects outside its allow-list (see
mmiml/engine/checkpoint.py), because loading them runs code from the file. If the file comes from
a source you trust (your own older mmseg run, say), this tool loads it once with
``weights_only=False`` and writes only tensors and plain metadata: ``state_dict`` always,
``meta`` entries that are plain values; optimizer and scheduler states are dropped unless
``--keep-optimizer`` is given and they are plain too. Everything dropped is printed.
"""

from __future__ import annotations

import argparse
import pickle
import sys
from typing import Any

import torch

PLAIN = (type(None), bool, int, float, str, torch.Tensor)


def _is_plain(value: Any) -> bool:
    if isinstance(value, PLAIN):
        return True
    if isinstance(value, list | tuple):
        return all(_is_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str | int) and _is_plain(v) for k, v in value.items())
    return False


def sanitize(checkpoint: Any, keep_optimizer: bool = False) -> tuple[dict, list[str]]:
    """Return the plain part of ``checkpoint`` and the names of what was dropped."""
    dropped: list[str] = []
    if not isinstance(checkpoint, dict):
        raise ValueError(f"expected a dict checkpoint, got {type(checkpoint).__name__}")
    state_dict = checkpoint.get("state_dict", checkpoint)
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
        print(f"{args.src}: refusing to unpickle without --trust (it can run code)",
              file=sys.stderr)
        return 2
    try:
        checkpoint = torch.load(args.src, map_location="cpu", weights_only=False)
    except (OSError, pickle.UnpicklingError, RuntimeError) as err:
        print(f"{args.src}: cannot read checkpoint: {err}", file=sys.stderr)
        return 2
    clean, dropped = sanitize(checkpoint, keep_optimizer=args.keep_optimizer)
    torch.save(clean, args.dst)
    print(f"wrote {args.dst}: {len(clean['state_dict'])} tensors; dropped {len(dropped)} "
          f"entries{': ' + ', '.join(dropped) if dropped else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
