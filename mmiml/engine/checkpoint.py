"""Checkpoints that load with ``torch.load(weights_only=True)``.

Since torch 2.6, ``torch.load`` defaults to ``weights_only=True``, and mmengine's ``--resume``
fails on the ``HistoryBuffer`` objects that its MessageHub stores. Turning ``weights_only`` off
would let any checkpoint run arbitrary code, so instead :func:`apply_mmengine_patches` (called
explicitly, never on import) allow-lists the few types mmengine writes, and replaces mmengine's
local-file loader with one that always loads with ``weights_only=True`` and turns an unpickling
refusal into :class:`UnsafeCheckpointError` naming the file and the offending global.
"""

from __future__ import annotations

import os
import pickle
import re
from typing import Any

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

from mmiml.utils.errors import UnsafeCheckpointError


def _numpy_safe_globals() -> list[Any]:
    """The numpy types that pickled arrays and scalars reference (numpy 1.x and 2.x names)."""
    found: list[Any] = [np.ndarray, np.dtype]
    for module_name in ("numpy._core.multiarray", "numpy.core.multiarray"):
        try:
            module = __import__(module_name, fromlist=["_reconstruct", "scalar"])
        except ImportError:
            continue
        found += [module._reconstruct, module.scalar]
        break
    # Concrete dtype classes (numpy.dtypes.Float64DType, ...) appear in pickled dtypes.
    dtypes_module = getattr(np, "dtypes", None)
    if dtypes_module is not None:
        found += [
            getattr(dtypes_module, name)
            for name in dir(dtypes_module)
            if name.endswith("DType") and isinstance(getattr(dtypes_module, name), type)
        ]
    return found


#: Everything that mmengine's save_checkpoint can put in a checkpoint beside tensors and builtins.
SAFE_GLOBALS: list[Any] = [HistoryBuffer, *_numpy_safe_globals()]

_applied = False
_DEFAULT_STATISTICS = ("min", "max", "current", "mean")


def _history_buffer_getstate(self: HistoryBuffer) -> dict:
    """Pickle a HistoryBuffer without its built-in statistics methods.

    mmengine pickles ``statistics_methods`` as ``getattr(HistoryBuffer, 'min')`` and so on;
    allow-listing ``getattr`` would open the door to arbitrary attribute access, so the built-in
    methods (which ``__setstate__`` restores anyway) are left out. Custom registered methods are
    kept, and such a checkpoint is refused on load, by name.
    """
    state = dict(self.__dict__)
    custom = {
        name: method
        for name, method in self._statistics_methods.items()
        if not (name in _DEFAULT_STATISTICS and method is getattr(HistoryBuffer, name))
    }
    state.pop("statistics_methods", None)
    if custom:
        state["statistics_methods"] = custom
    return state


def apply_mmengine_patches() -> None:
    """Make mmengine's checkpoints load with ``weights_only=True``, for this whole process.

    Three process-wide changes, made once (a second call does nothing):

    - ``torch.serialization.add_safe_globals(SAFE_GLOBALS)``: mmengine's ``HistoryBuffer`` and
      the numpy array and scalar types may be unpickled;
    - ``HistoryBuffer.__getstate__`` leaves out the built-in statistics methods (see
      :func:`_history_buffer_getstate`), so checkpoints saved from now on need no ``getattr``;
    - mmengine's local-file ``CheckpointLoader`` scheme becomes :func:`load_local_checkpoint`.

    Importing :mod:`mmiml.engine` changes nothing; ``tools/train.py``, ``tools/test.py`` and
    the benchmark run call this before building a Runner. A script that runs an mmiml config
    through its own Runner (only ``custom_imports``) calls it too, or ``--resume`` fails on
    torch's ``weights_only`` default.
    """
    global _applied
    if _applied:
        return
    torch.serialization.add_safe_globals(SAFE_GLOBALS)
    HistoryBuffer.__getstate__ = _history_buffer_getstate
    CheckpointLoader.register_scheme(prefixes="", force=True)(load_local_checkpoint)
    _applied = True


def load_local_checkpoint(
    filename: str, map_location: str | torch.device | None = None, logger: Any = None
) -> dict:
    """mmengine's local loader, with ``weights_only=True`` and a clear refusal message."""
    filename = os.path.expanduser(filename)
    if not os.path.isfile(filename):
        raise FileNotFoundError(f"{filename}: checkpoint file not found")
    try:
        return torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        # torch words it "Unsupported global: GLOBAL x.y" for an unknown class and "unsupported
        # GLOBAL x.y whose module x is blocked" for a blocked module (os.system -> posix.system)
        match = re.search(r"\bGLOBAL ([\w.]+)", str(err))
        culprit = match.group(1) if match else "an object outside the allow-list"
        raise UnsafeCheckpointError(
            f"{filename}: refused to load: the checkpoint pickles {culprit}, which is not on "
            "mmiml's allow-list (tensors, builtins, numpy arrays, mmengine HistoryBuffer). "
            "Loading it would need weights_only=False, which can run arbitrary code. If you "
            "trust the file, re-save its tensors with: python tools/sanitize_checkpoint.py "
            f"{filename} CLEAN.pth --trust"
        ) from err
