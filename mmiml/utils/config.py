"""Walking and editing nested mmengine configs (dicts inside lists and tuples, any depth).

One walker, :func:`iter_dicts`, serves every pass that looks for or rewrites config nodes: the
benchmark's crop lookup and crop override, dropping pretrained weights for random-init builds,
finding a transform in a pipeline and replacing ``SyncBN`` norm configs.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mmengine.config import Config


def iter_dicts(node: Any) -> Iterator[dict]:
    """Every dict in ``node`` (``node`` itself first when it is one), depth first.

    ``node`` may be a :class:`~mmengine.config.Config`, a dict (``ConfigDict`` included), a list
    or a tuple; the dicts are yielded as they are, so a caller may set their existing keys in
    place (adding or removing keys while the walk is running is not allowed).
    """
    if isinstance(node, Config):
        for key in node:
            yield from iter_dicts(node[key])
    elif isinstance(node, dict):
        yield node
        for value in node.values():
            yield from iter_dicts(value)
    elif isinstance(node, list | tuple):
        for value in node:
            yield from iter_dicts(value)


def find_type(node: Any, type_name: str) -> dict | None:
    """The first dict in ``node`` whose ``type`` is ``type_name`` (e.g. a pipeline transform),
    or ``None``."""
    return next((d for d in iter_dicts(node) if d.get("type") == type_name), None)


def drop_pretrained(node: Any) -> int:
    """Random init: set every ``pretrained`` path and every ``Pretrained`` ``init_cfg`` in
    ``node`` to ``None`` in place; return how many were dropped."""
    dropped = 0
    for d in iter_dicts(node):
        if isinstance(d.get("pretrained"), str):
            d["pretrained"] = None
            dropped += 1
        init = d.get("init_cfg")
        if isinstance(init, dict) and init.get("type") == "Pretrained":
            d["init_cfg"] = None
            dropped += 1
    return dropped
