"""Reading user JSON files so that every failure names the file (our choice: one reader).

Python's ``json`` raises ``RecursionError`` on deeply nested input and ``UnicodeDecodeError``
on non-UTF-8 bytes; both would otherwise surface as tracebacks naming no file.
"""

from __future__ import annotations

import json
import os
from typing import Any

from .errors import IMLDataError

__all__ = ["parse_json", "read_json"]


def parse_json(text: str, where: object) -> Any:
    """Decode one JSON document; ``where`` (a file, or ``file:line``) starts every error."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise IMLDataError(where, f"invalid JSON: {e.msg} (line {e.lineno}, column {e.colno})"
                           ) from None
    except RecursionError:
        raise IMLDataError(where, "invalid JSON: nested too deeply to read") from None


def read_json(path: str | os.PathLike[str], what: str = "JSON file") -> Any:
    """The decoded content of the JSON file ``path``; any problem raises IMLDataError naming it.

    ``what`` words the messages ("result file", "annotation file", ...).
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise IMLDataError(path, f"{what} not found")
    if not os.path.isfile(path):
        raise IMLDataError(path, f"{what} is not a regular file")
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise IMLDataError(path, f"cannot read {what}: {e.strerror or e}") from None
    if not raw.strip():
        raise IMLDataError(path, f"{what} is empty")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise IMLDataError(path, f"{what} is not UTF-8 text (byte {e.start})") from None
    return parse_json(text, path)
