"""Layer-wise learning-rate decay for Omni-IML's Modal Gate Encoder.

mmseg's ``LearningRateDecayOptimizerConstructor`` (the recipe of docs/design/omni_iml.md section 5)
only recognises a backbone whose class name contains ``ConvNeXt`` with parameters named
``backbone.stages.*``; the Modal Gate Encoder keeps its ConvNeXt under ``backbone.convnext``
and raises there. This constructor maps those names back and applies mmseg's own layer/stage id
rules; the new modules of the encoder (FPH, fusion, coarse heads, gate) start from scratch and,
like the decoder, get the full learning rate (our choice).
"""

from __future__ import annotations

from typing import Any

from mmengine.logging import print_log
from mmengine.optim import DefaultOptimWrapperConstructor
from mmseg.engine.optimizers.layer_decay_optimizer_constructor import (
    get_layer_id_for_convnext,
    get_stage_id_for_convnext,
)
from mmseg.registry import OPTIM_WRAPPER_CONSTRUCTORS
from torch import nn

__all__ = ["ModalGateLayerDecayOptimizerConstructor", "layer_decay_groups"]

_PREFIX = "backbone.convnext."


def _convnext_name(name: str) -> str | None:
    """``backbone.convnext.stages.1.0.x`` -> ``backbone.stages.1.0.x``; None if not ConvNeXt."""
    if name.startswith(_PREFIX):
        return "backbone." + name[len(_PREFIX):]
    return None


def layer_decay_groups(model: nn.Module, base_lr: float, base_wd: float,
                       paramwise_cfg: dict[str, Any]) -> list[dict[str, Any]]:
    """Parameter groups with mmseg's ConvNeXt layer/stage-wise lr scales.

    Works for a plain ``ConvNeXt`` backbone (names ``backbone.*``) and for the Modal Gate
    Encoder (``backbone.convnext.*``); every other parameter is a "head" (scale 1).
    """
    num_layers = int(paramwise_cfg["num_layers"]) + 2
    decay_rate = float(paramwise_cfg["decay_rate"])
    decay_type = paramwise_cfg.get("decay_type", "layer_wise")
    if decay_type not in ("layer_wise", "stage_wise"):
        raise ValueError(f"decay_type must be 'layer_wise' or 'stage_wise', got {decay_type!r}")
    plain = type(getattr(model, "backbone", None)).__name__ == "ConvNeXt"
    groups: dict[str, dict[str, Any]] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        no_decay = param.ndim == 1 or name.endswith(".bias")
        mapped = name if plain and name.startswith("backbone.") else _convnext_name(name)
        if decay_type == "layer_wise":
            layer_id = (get_layer_id_for_convnext(mapped, num_layers - 2) if mapped
                        else num_layers - 1)
        else:
            layer_id = get_stage_id_for_convnext(mapped, num_layers) if mapped else num_layers - 1
        key = f"layer_{layer_id}_{'no_decay' if no_decay else 'decay'}"
        if key not in groups:
            scale = decay_rate ** (num_layers - layer_id - 1)
            groups[key] = dict(params=[], param_names=[], lr_scale=scale, group_name=key,
                               lr=scale * base_lr, weight_decay=0.0 if no_decay else base_wd)
        groups[key]["params"].append(param)
        groups[key]["param_names"].append(name)
    return list(groups.values())


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class ModalGateLayerDecayOptimizerConstructor(DefaultOptimWrapperConstructor):
    """``LearningRateDecayOptimizerConstructor`` for ConvNeXt inside the Modal Gate Encoder.

    ``paramwise_cfg``: ``num_layers`` (12 for ConvNeXt, as in mmseg's configs), ``decay_rate``
    (0.9) and ``decay_type`` (``'layer_wise'`` or ``'stage_wise'``).
    """

    def add_params(self, params: list[dict], module: nn.Module, **kwargs: Any) -> None:
        groups = layer_decay_groups(module, self.base_lr, self.base_wd, self.paramwise_cfg)
        summary = ", ".join(f"{g['group_name']} x{g['lr_scale']:.3f} ({len(g['params'])})"
                            for g in sorted(groups, key=lambda g: g["lr_scale"]))
        print_log(f"ModalGateLayerDecayOptimizerConstructor: {summary}", logger="current")
        params.extend(groups)
