"""Walking and editing nested mmengine configs (dicts inside lists and tuples, any depth).

One walker, :func:`iter_dicts`, serves every pass that looks for or rewrites config nodes: the
benchmark's crop lookup and crop override, dropping pretrained weights for random-init builds,
finding a transform in a pipeline and replacing ``SyncBN`` norm configs.

Reading a config and applying ``--cfg-options`` also live here (:func:`read_config`,
:func:`merge_overrides`, :func:`check_schedule`): every problem is a
:class:`~mmiml.utils.errors.ConfigError` that names the config file and the key.
"""
from __future__ import annotations

import ast
import difflib
import os
import traceback
from collections.abc import Iterator
from typing import Any

from mmengine.config import Config
from mmengine.config.config import DELETE_KEY

from .errors import ConfigError


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


# ---------------------------------------------------------------- reading and overriding
def _base_files(tree: ast.Module, path: str) -> list[str]:
    """The local ``_base_`` files a parsed config names, resolved as mmengine does (relative to
    the config's folder); package configs (``mmseg::...``) and non-literal values are left out."""
    found: list[str] = []
    for node in tree.body:
        if not (isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "_base_" for t in node.targets)):
            continue
        try:
            value = ast.literal_eval(node.value)
        except (ValueError, TypeError, SyntaxError, RecursionError):
            continue
        names = [value] if isinstance(value, str) else value if isinstance(value, list | tuple) \
            else []
        for name in names:
            if isinstance(name, str) and "::" not in name:
                found.append(os.path.normpath(os.path.join(os.path.dirname(path), name)))
    return found


def _config_chain(path: str) -> tuple[list[str], tuple[str, SyntaxError] | None]:
    """Every local file of the config ``path`` (itself first, then its ``_base_`` files, depth
    first) and the first of them that is not valid Python, with its error."""
    chain: list[str] = []
    todo = [os.path.normpath(os.path.abspath(path))]
    while todo:
        file = todo.pop(0)
        if file in chain or not os.path.isfile(file):
            continue
        chain.append(file)
        try:
            with open(file, encoding="utf-8") as f:
                tree = ast.parse(f.read(), filename=file)
        except SyntaxError as e:
            return chain, (file, e)
        except (OSError, UnicodeDecodeError):
            continue
        todo[:0] = _base_files(tree, file)
    return chain, None


def _where(path: str, file: str) -> str:
    """``file`` as a message names it: nothing when it is the config itself."""
    return "" if os.path.abspath(file) == os.path.abspath(path) else f" in its _base_ file {file}"


def read_config(path: str | os.PathLike[str]) -> Config:
    """``Config.fromfile(path)``, with every failure a :class:`ConfigError` naming the config.

    mmengine reports a syntax error as ``"<unknown>", line N`` (it parses the text without a
    file name) and an exception raised while a config runs as a traceback; here each is one
    line that names the file (the ``_base_`` file too, when the problem is in one) and the line.
    Any exception while a config file is read and run is the config's (our choice).
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ConfigError(path, "config file not found")
    if not os.path.isfile(path):
        raise ConfigError(path, "config is not a file")
    try:
        return Config.fromfile(path)
    except SyntaxError as e:
        _, bad = _config_chain(path)
        if bad is not None:
            file, err = bad
            where = _where(path, file)
        else:  # in a file the _base_ walk does not find (a lazy-import base, say)
            err, where = e, " in a file it reads"
        raise ConfigError(path, f"syntax error{where}, line {err.lineno}: {err.msg}") from None
    except FileNotFoundError as e:  # a _base_ file, most often
        missing = os.path.normpath(e.filename) if e.filename else str(e)
        raise ConfigError(path, f"a file it reads is missing: {missing}") from None
    except Exception as e:  # noqa: BLE001 - anything a config file does wrong when it runs
        chain, _ = _config_chain(path)
        frames = [f for f in traceback.extract_tb(e.__traceback__)
                  if os.path.normpath(os.path.abspath(f.filename)) in chain]
        at = f"{_where(path, frames[-1].filename)}, line {frames[-1].lineno}" if frames else ""
        raise ConfigError(path, f"fails when run{at}: {type(e).__name__}: {e}") from None


def _walk_key(node: Any, parts: list[str]) -> tuple[Any, str | None]:
    """Follow ``parts`` of a dotted ``--cfg-options`` key as mmengine's merge does (a digit
    indexes a list). Returns ``(None, None)`` when the whole key exists, else the node where it
    stops and the reason."""
    for i, part in enumerate(parts):
        here = ".".join(parts[:i]) or "the config"
        if part == DELETE_KEY and i == len(parts) - 1 and isinstance(node, dict):
            break  # mmengine's "replace instead of merge" marker
        if isinstance(node, list):
            if not part.isdigit():
                return node, f"{here} is a list: address an item by its index ({here}.0...)"
            if int(part) >= len(node):
                return node, f"{here} has {len(node)} item(s); there is no index {part}"
            node = node[int(part)]
        elif isinstance(node, dict):
            if part not in node:
                close = difflib.get_close_matches(part, [str(k) for k in node], n=3, cutoff=0.7)
                hint = f" (did you mean {' or '.join('.'.join([*parts[:i], c]) for c in close)}?)" \
                    if close else ""
                return node, f"{here} has no key {part!r}{hint}"
            node = node[part]
        else:
            return node, f"{here} is {type(node).__name__} {node!r}, which has no keys"
    return None, None


def merge_overrides(cfg: Config, options: dict[str, Any], path: str | os.PathLike[str], *,
                    allow_new_keys: bool = False) -> None:
    """Apply ``--cfg-options`` to ``cfg`` (mmengine's ``merge_from_dict``), refusing a key the
    config does not have.

    mmengine adds an unknown key silently, so a typo (``train_cfg.max_iter=5``) is either
    ignored or fails much later in a constructor; here it is a :class:`ConfigError` naming the
    config, the key and close matches. ``allow_new_keys`` lets new dict keys through (never a
    list index past the end or a key below a non-dict value, which mmengine cannot merge).
    """
    path = os.fspath(path)
    for key in options:
        node, problem = _walk_key(cfg._cfg_dict, key.split("."))
        if problem is None:
            continue
        if allow_new_keys and isinstance(node, dict):
            continue
        hint = "" if isinstance(node, list) or not isinstance(node, dict) else \
            "; pass --allow-new-keys to add it"
        raise ConfigError(path, f"--cfg-options {key}: {problem}{hint}")
    try:
        cfg.merge_from_dict(options)
    except (KeyError, TypeError, ValueError) as e:  # what the walk above cannot foresee
        raise ConfigError(path, f"--cfg-options cannot be merged: {e}") from None


def _check_count(node: Any, key: str, path: str, *, off: int | None = None) -> None:
    """``node[key]`` (``key`` dotted, for the message) is absent, ``None``, an integer of at
    least 1 or ``off`` (a value meaning "never")."""
    name = key.rsplit(".", 1)[-1]
    if not isinstance(node, dict) or node.get(name) is None:
        return
    value = node[name]
    if isinstance(value, bool) or not isinstance(value, int) or (value < 1 and value != off):
        never = f", or {off} for never" if off is not None else ""
        raise ConfigError(path, f"{key} = {value!r}: must be a whole number of at least 1{never}")


def check_schedule(cfg: Config, path: str | os.PathLike[str]) -> None:
    """Refuse a training schedule that would train nothing or divide by zero.

    mmengine's loops accept ``max_iters <= 0`` (the run trains nothing and exits 0) and
    ``val_interval = 0`` (a ZeroDivisionError after the first iteration). A checkpoint interval
    of 0 saves nothing; -1 is mmengine's documented "never" and stays allowed.
    """
    path = os.fspath(path)
    train_cfg = cfg.get("train_cfg")
    for key in ("max_iters", "max_epochs", "val_interval"):
        _check_count(train_cfg, f"train_cfg.{key}", path)
    checkpoint = (cfg.get("default_hooks") or {}).get("checkpoint")
    _check_count(checkpoint, "default_hooks.checkpoint.interval", path, off=-1)
