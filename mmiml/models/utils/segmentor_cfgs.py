"""Segmentor ``train_cfg``/``test_cfg`` as ConfigDicts."""

from __future__ import annotations

from typing import Any

from mmengine.config import ConfigDict

__all__ = ["with_attribute_cfgs"]


def with_attribute_cfgs(kwargs: dict[str, Any],
                        keys: tuple[str, ...] = ("train_cfg", "test_cfg")) -> dict[str, Any]:
    """``kwargs`` with the plain-dict values of ``keys`` turned into ``ConfigDict``s.

    mmseg's ``EncoderDecoder`` reads ``self.test_cfg.mode`` by attribute, which a plain dict (a
    model built outside a Config, as the tests do) does not allow.
    """
    return {k: ConfigDict(v) if k in keys and isinstance(v, dict) else v
            for k, v in kwargs.items()}
