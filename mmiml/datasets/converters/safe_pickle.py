"""Reading the pickles some datasets ship (DocTamper's ``pks/*.pk`` and ``qt_table.pk``, OSTF's
``<method>_{train,test}.pk``) without running code from them.

``pickle.load`` calls any global a file names (``os.system`` included), so a downloaded pickle
is loaded here with an unpickler that resolves only what plain data and numpy arrays need:
containers, numbers and strings are opcodes and need no global; numpy arrays and scalars need
``_reconstruct``, ``ndarray``, ``dtype`` and ``scalar`` (under ``numpy.core`` or numpy 2's
``numpy._core``), and a protocol-2 pickle written by Python 3 stores bytes through
``_codecs.encode`` (side-effect free: it only turns a string into bytes). Every other global is
refused with an :class:`~mmiml.utils.errors.IMLDataError` naming the file and the global.
"""
from __future__ import annotations

import codecs
import os
import pickle
from typing import Any

import numpy as np

from mmiml.utils.errors import IMLDataError

__all__ = ["ALLOWED_GLOBALS", "load_pickle"]

# The objects themselves, taken from numpy's own reduce functions: importing them by name
# through numpy.core warns on numpy 2, and a name could resolve to something else.
_RECONSTRUCT = np.zeros(1).__reduce__()[0]
_SCALAR = np.float64(0).__reduce__()[0]

#: (module, name) -> the object it resolves to; nothing else is resolved
ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("numpy.core.multiarray", "scalar"): _SCALAR,
    ("numpy._core.multiarray", "scalar"): _SCALAR,
    ("_codecs", "encode"): codecs.encode,  # codecs re-exports _codecs.encode
}


class _Refused(Exception):
    def __init__(self, module: str, name: str) -> None:
        super().__init__(f"{module}.{name}")
        self.module, self.name = module, name


class _DataOnlyUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the globals it is given."""

    def __init__(self, *args: Any, allowed: dict[tuple[str, str], Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.allowed = allowed

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self.allowed[(module, name)]
        except KeyError:
            raise _Refused(module, name) from None


def load_pickle(path: str | os.PathLike, *, plain_only: bool = False) -> Any:
    """The content of the pickle ``path``, loaded with data-only globals (see the module doc);
    ``plain_only``: no global at all, so only dicts, lists, tuples, sets, strings, bytes,
    numbers, booleans and None load (no numpy either).

    Raises:
        IMLDataError: the file is missing or unreadable, is not a pickle, or names a global
            outside :data:`ALLOWED_GLOBALS` (refused before anything is called).
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            # latin1: numpy arrays in Python 2 pickles hold their data as byte strings
            allowed = {} if plain_only else ALLOWED_GLOBALS
            return _DataOnlyUnpickler(f, encoding="latin1", allowed=allowed).load()
    except FileNotFoundError:
        raise IMLDataError(path, "pickle file not found") from None
    except _Refused as e:
        raise IMLDataError(path, f"refused to load: the pickle names the global "
                                 f"{e.module}.{e.name}, which is not plain data or a numpy "
                                 f"array (a pickle can run code; only data is loaded)") from None
    except OSError as e:
        raise IMLDataError(path, f"cannot read the pickle: {e.strerror or e}") from None
    except Exception as e:  # any malformed stream: UnpicklingError, EOFError, ValueError, ...
        raise IMLDataError(path, f"not a readable pickle ({type(e).__name__}: {e})") from None
