"""Checkpoints that load with ``torch.load(weights_only=True)``, and that must fit the model.

Since torch 2.6, ``torch.load`` defaults to ``weights_only=True``, and mmengine's ``--resume``
fails on the ``HistoryBuffer`` objects that its MessageHub stores. Turning ``weights_only`` off
would let any checkpoint run arbitrary code, so instead :func:`apply_mmengine_patches` (called
explicitly, never on import) allow-lists the few types mmengine writes, and replaces mmengine's
local-file loader with one that always loads with ``weights_only=True`` and turns an unpickling
refusal into :class:`UnsafeCheckpointError` naming the file and the offending global. Any other
file that is not a checkpoint (missing, empty, text, truncated, a list or a bare tensor, a dict
without tensors) is a :class:`CheckpointError` naming the file.

mmengine loads ``load_from`` non-strictly: a checkpoint whose keys do not fit leaves the model
with random weights and only logs a warning. :func:`load_model_weights` loads strictly by
default and names what does not fit; :class:`StrictLoadRunner` is a Runner whose ``load_from``
goes through it (``tools/test.py`` and the benchmark's test use it).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from mmengine.runner.checkpoint import CheckpointLoader

from mmiml.utils.errors import CheckpointError, UnsafeCheckpointError


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


# ------------------------------------------------------------------------------ reading a file
_TORCH_BOILERPLATE = ("Weights only load failed", "Please file an issue", "Check the documentation",
                      "In PyTorch 2.6")


def _torch_detail(err: BaseException) -> str:
    """The line of a torch.load error that says what went wrong (torch wraps it in
    paragraphs of advice)."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    useful = [line for line in lines if not line.startswith(_TORCH_BOILERPLATE)]
    text = (useful or lines or [type(err).__name__])[0]
    # "WeightsUnpickler error: " ends a boilerplate line; the reason follows it. The first
    # sentence says it (torch's miniz errors go on with advice)
    text = text.split("WeightsUnpickler error:")[-1].strip().split(". ")[0].rstrip(".")
    return text or type(err).__name__


def _text_start(head: bytes) -> str | None:
    """The first bytes of a file as text when they are printable text, else None (a checkpoint
    is a zip archive, ``PK...``, or a binary pickle, ``\\x80...``)."""
    if not head or head.startswith((b"PK", b"\x80")):
        return None
    for cut in range(4):  # the 64 bytes read may end inside a multi-byte character
        try:
            text = head[:len(head) - cut].decode("utf-8")
        except UnicodeDecodeError:
            continue
        return text if all(ch.isprintable() or ch in "\r\n\t" for ch in text) else None
    return None


def _has_tensor(value: Any, depth: int = 0) -> bool:
    """Whether ``value`` holds a tensor somewhere in its first few levels of dicts and lists."""
    if isinstance(value, torch.Tensor):
        return True
    if depth > 4:
        return False
    if isinstance(value, Mapping):
        return any(_has_tensor(v, depth + 1) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_tensor(v, depth + 1) for v in value)
    return False


def _keys_preview(keys: list[str], limit: int = 5) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (f", ... (+{len(keys) - limit} more)" if len(keys) > limit else "")


def check_checkpoint_file(filename: str | os.PathLike[str]) -> str:
    """``filename`` with ``~`` expanded, after the checks that need no unpickling: it exists,
    is a file, can be read, is not empty and is not text. Otherwise a :class:`CheckpointError`
    names it."""
    filename = os.path.expanduser(os.fspath(filename))
    if not os.path.exists(filename):
        raise CheckpointError(filename, "checkpoint file not found")
    if os.path.isdir(filename):
        raise CheckpointError(filename, "is a directory, not a checkpoint file")
    try:
        size = os.path.getsize(filename)
        with open(filename, "rb") as f:
            head = f.read(64)
    except OSError as err:
        raise CheckpointError(filename, f"cannot read the checkpoint: {err.strerror or err}"
                              ) from None
    if size == 0:
        raise CheckpointError(filename, "checkpoint file is empty (0 bytes)")
    text = _text_start(head)
    if text is not None:
        start = (text.strip().splitlines() or [""])[0][:30]
        raise CheckpointError(filename, f"is a text file (it starts with {start!r}), not a "
                                        "PyTorch checkpoint")
    return filename


def load_local_checkpoint(
    filename: str, map_location: str | torch.device | None = None, logger: Any = None
) -> dict:
    """mmengine's local loader, with ``weights_only=True`` and one-line errors naming the file.

    Raises:
        UnsafeCheckpointError: the file pickles a global outside the allow-list (named).
        CheckpointError: the file is missing, a directory, empty, text, corrupt or truncated,
            or holds something other than a dict with tensors (a list, a bare tensor, a dict of
            plain values only).
    """
    filename = check_checkpoint_file(filename)
    try:
        checkpoint = torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        detail = _torch_detail(err)
        # torch words it "Unsupported global: GLOBAL x.y" for an unknown class and "unsupported
        # GLOBAL x.y whose module x is blocked" for a blocked module (os.system -> posix.system)
        match = re.search(r"\bGLOBAL ([\w.]+)", str(err))
        if (match is None and "Weights only load failed" not in str(err)) or \
                detail.startswith("Unsupported operand"):
            raise CheckpointError(filename, f"not a PyTorch checkpoint, or a corrupt one "
                                            f"(unpickling failed: {detail})") from err
        culprit = match.group(1) if match else f"something torch refuses ({detail})"
        raise UnsafeCheckpointError(
            filename,
            f"refused to load: the checkpoint pickles {culprit}, which is not on mmiml's "
            "allow-list (tensors, builtins, numpy arrays, mmengine HistoryBuffer). Loading it "
            "would need weights_only=False, which can run arbitrary code. If you trust the "
            "file, re-save its tensors with: python tools/sanitize_checkpoint.py "
            f"{filename} CLEAN.pth --trust") from err
    except Exception as err:  # noqa: BLE001 - every way torch fails on a file that is not one
        raise CheckpointError(filename, f"not a PyTorch checkpoint, or a truncated or corrupt "
                                        f"one ({type(err).__name__}: {_torch_detail(err)})"
                              ) from err
    if not isinstance(checkpoint, Mapping):
        raise CheckpointError(filename, f"holds a {type(checkpoint).__name__}, not a checkpoint "
                                        "(a dict with a 'state_dict' of tensors)")
    if not _has_tensor(checkpoint):
        state = checkpoint.get("state_dict")
        if isinstance(state, Mapping) and not state:
            raise CheckpointError(filename, "its state_dict is empty: there are no weights to "
                                            "load")
        raise CheckpointError(filename, "holds no tensors, so no weights (top-level keys: "
                                        f"{_keys_preview([str(k) for k in checkpoint]) or '-'})")
    return checkpoint


def checkpoint_state_dict(checkpoint: Mapping[str, Any], path: object) -> OrderedDict:
    """The model weights of a loaded checkpoint, keys with DDP's ``module.`` prefix stripped.

    Our choice: the ``state_dict`` entry when there is one (mmengine's checkpoints); otherwise
    the dict itself when every value is a tensor (a bare ``model.state_dict()``). Anything else
    (a dict of other entries, a ``state_dict`` that is not a dict of tensors, an empty one) is a
    :class:`CheckpointError` naming ``path``: there would be no weights to load.
    """
    if "state_dict" in checkpoint:
        state = checkpoint["state_dict"]
        if not isinstance(state, Mapping):
            raise CheckpointError(path, f"its 'state_dict' is a {type(state).__name__}, not a "
                                        "dict of tensors")
        where = "its state_dict"
    else:
        state = checkpoint
        where = "the checkpoint"
        if not any(isinstance(v, torch.Tensor) for v in state.values()):
            raise CheckpointError(path, "has no 'state_dict' entry and is not a state dict "
                                        f"itself (top-level keys: {_keys_preview(list(state))})")
    if not state:
        raise CheckpointError(path, "its state_dict is empty: there are no weights to load")
    bad = [str(k) for k, v in state.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise CheckpointError(path, f"{where} has non-tensor entries: a state dict holds "
                                    f"tensors only ({len(bad)}: {_keys_preview(bad)})")
    metadata = getattr(state, "_metadata", OrderedDict())
    # as mmengine's Runner.load_checkpoint does: weights saved from a DDP-wrapped model
    stripped = OrderedDict((re.sub(r"^module\.", "", str(k)), v) for k, v in state.items())
    stripped._metadata = metadata  # type: ignore[attr-defined] - torch reads it on loading
    return stripped


def read_checkpoint_weights(path: str | os.PathLike[str], map_location: Any = "cpu"
                            ) -> OrderedDict:
    """:func:`load_local_checkpoint` then :func:`checkpoint_state_dict`: the weights in the
    file ``path``, or a :class:`CheckpointError` naming it."""
    path = os.fspath(path)
    return checkpoint_state_dict(load_local_checkpoint(path, map_location), path)


# ------------------------------------------------------------------------ fitting the model
def load_model_weights(model: torch.nn.Module, path: str | os.PathLike[str], *,
                       strict: bool = True, map_location: Any = "cpu",
                       checkpoint: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Load the weights of the checkpoint ``path`` into ``model`` and report what fitted.

    ``checkpoint`` is the already-loaded content of ``path`` (it is then not read again;
    ``path`` still names it in errors). A model wrapper (DDP) is unwrapped. The weights are
    picked by :func:`checkpoint_state_dict` (``state_dict``, or a bare state dict; ``module.``
    stripped). A tensor whose shape differs from the model's is never copied.

    ``strict=True`` (our default, unlike mmengine's Runner): any key of the model missing from
    the checkpoint, any key of the checkpoint the model lacks, or any shape mismatch raises
    :class:`CheckpointError` naming the file and listing the first few keys of each kind with
    their counts (the tensors that fit may already be copied). Keys a module drops itself on
    loading are not unexpected: a test-time model built without a training-only branch
    (``drop_training_only_branches``: Omni-IML's detection branch, whose
    ``_load_from_state_dict`` removes the branch's keys) loads the training checkpoint; they
    are counted as ``ignored_keys``. ``strict=False`` loads what fits. Either way a checkpoint
    of which nothing fits is an error: the model would keep its random weights.

    Returns:
        ``{"strict", "loaded_keys", "missing_keys", "unexpected_keys", "mismatched_keys",
        "ignored_keys"}``: ``loaded_keys`` is a count, the others are lists of key names
        (``mismatched_keys``: the checkpoint's tensors whose shape did not fit).
    """
    path = os.fspath(path)
    if checkpoint is None:
        checkpoint = load_local_checkpoint(path, map_location)
    state = checkpoint_state_dict(checkpoint, path)
    if is_model_wrapper(model):
        model = model.module
    own = model.state_dict()
    mismatched = [k for k, v in state.items() if k in own and v.shape != own[k].shape]
    shapes = {k: (list(state[k].shape), list(own[k].shape)) for k in mismatched}
    fitting = OrderedDict((k, v) for k, v in state.items() if k not in shapes)
    fitting._metadata = state._metadata  # type: ignore[attr-defined]
    result = model.load_state_dict(fitting, strict=False)
    unexpected = list(result.unexpected_keys)
    missing = [k for k in result.missing_keys if k not in shapes]
    # keys neither in the model nor reported unexpected were dropped by a module's own hook
    ignored = [k for k in fitting if k not in own and k not in set(unexpected)]
    loaded = len(fitting) - len(unexpected) - len(ignored)
    report = {"strict": strict, "loaded_keys": loaded, "missing_keys": missing,
              "unexpected_keys": unexpected, "mismatched_keys": mismatched,
              "ignored_keys": ignored}
    if loaded == 0:
        raise CheckpointError(path, f"none of its {len(state)} tensors fit the model, is it "
                                    f"a checkpoint of another model? "
                                    f"{describe_misfit(report, shapes)}")
    if strict and (missing or unexpected or mismatched):
        raise CheckpointError(path, f"does not fit the model (strict loading): "
                                    f"{describe_misfit(report, shapes)}. To load only what "
                                    "fits, load non-strictly (tools/test.py --non-strict)")
    return report


def describe_misfit(report: Mapping[str, Any],
                    shapes: Mapping[str, tuple[list[int], list[int]]] | None = None) -> str:
    """One line: how many keys are missing, unexpected and of another shape, the first few of
    each named."""
    parts = []
    if report["missing_keys"]:
        keys = report["missing_keys"]
        parts.append(f"{len(keys)} missing keys (the model has them, the checkpoint does "
                     f"not): {_keys_preview(keys)}")
    if report["unexpected_keys"]:
        keys = report["unexpected_keys"]
        parts.append(f"{len(keys)} unexpected keys (the checkpoint has them, the model does "
                     f"not): {_keys_preview(keys)}")
    if report["mismatched_keys"]:
        keys = report["mismatched_keys"]
        named = [f"{k} {shapes[k][0]} vs model {shapes[k][1]}" if shapes and k in shapes else k
                 for k in keys]
        parts.append(f"{len(keys)} tensors of another shape: {_keys_preview(named)}")
    return "; ".join(parts) or "every key fits"


# -------------------------------------------------------------------------------- provenance
def file_sha256(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """sha256 (hex) of the file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def checkpoint_record(path: str | os.PathLike[str], report: Mapping[str, Any], *,
                      shown_as: str | None = None, absolute: bool = True) -> dict[str, Any]:
    """The ``checkpoint`` block of a result JSON (docs/metrics.md): which file produced the
    figures and how it was loaded.

    ``path`` as given (or ``shown_as``), its absolute path (unless ``absolute=False``: the
    benchmark's committed results name no machine's folders), sha256, size in bytes,
    ``strict``, and the counts of :func:`load_model_weights`'s report.
    """
    given = os.fspath(path)
    path = os.path.expanduser(given)
    record: dict[str, Any] = {"path": shown_as if shown_as is not None else given}
    if absolute:
        record["abs_path"] = os.path.abspath(path)
    record.update(sha256=file_sha256(path), size_bytes=os.path.getsize(path),
                  strict=bool(report["strict"]), loaded_keys=int(report["loaded_keys"]))
    for key in ("missing_keys", "unexpected_keys", "mismatched_keys", "ignored_keys"):
        record[key] = len(report[key])
    return record


class StrictLoadRunner(Runner):
    """mmengine's Runner whose ``load_from`` goes through :func:`load_model_weights`.

    ``strict_load`` (default True, our choice: mmengine's default is False) is the loader's
    ``strict``; ``load_report`` keeps its report for the result JSON. Loading happens where
    mmengine loads ``load_from``: inside ``test()``/``train()``, after the ``before_run`` hooks
    and with the ``after_load_checkpoint`` hooks called, so hooks such as EMAHook see what
    they expect. ``resume`` is mmengine's own (it restores optimizer and iteration too).
    """

    strict_load: bool = True
    load_report: dict[str, Any] | None = None

    def load_checkpoint(self, filename: str, map_location: Any = "cpu",
                        strict: bool | None = None, revise_keys: Any = None) -> dict:
        """Load ``filename`` into the model; ``strict=None`` means ``self.strict_load``.
        ``revise_keys`` is not supported beyond the ``module.`` prefix that is always
        stripped."""
        if revise_keys not in (None, [(r"^module.", "")], [(r"^module\.", "")]):
            raise ValueError("StrictLoadRunner strips only the 'module.' prefix (revise_keys)")
        # mmengine's scheme dispatch: local files go to load_local_checkpoint once patched
        checkpoint = CheckpointLoader.load_checkpoint(filename, map_location)
        self.call_hook("after_load_checkpoint", checkpoint=checkpoint)
        strict = self.strict_load if strict is None else strict
        self.load_report = load_model_weights(self.model, filename, strict=strict,
                                              checkpoint=checkpoint)
        self._has_loaded = True
        report = self.load_report
        self.logger.info(
            f"Load checkpoint from {filename} ({'strict' if strict else 'non-strict'}): "
            f"{report['loaded_keys']} tensors loaded"
            + (f", {len(report['ignored_keys'])} of left-out branches ignored"
               if report["ignored_keys"] else ""))
        if not strict and any(report[k] for k in ("missing_keys", "unexpected_keys",
                                                  "mismatched_keys")):
            self.logger.warning(f"{filename}: loaded non-strictly: {describe_misfit(report)}")
        return checkpoint
