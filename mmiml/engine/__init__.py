"""Training-loop parts (hooks, optimizer constructors) and checkpoint safety.

Importing this package only registers its classes (configs' ``custom_imports`` do that); it
leaves mmengine and torch as they are. :func:`apply_mmengine_patches` makes mmengine's
checkpoints load with ``weights_only=True``; the tools and the benchmark call it explicitly.
"""
from .checkpoint import SAFE_GLOBALS, apply_mmengine_patches, load_local_checkpoint
from .hooks import NaNGuardHook, NonFiniteLossError
from .optimizers import ModalGateLayerDecayOptimizerConstructor, layer_decay_groups

__all__ = ["SAFE_GLOBALS", "ModalGateLayerDecayOptimizerConstructor", "apply_mmengine_patches",
           "layer_decay_groups", "load_local_checkpoint"]
__all__ += ["NaNGuardHook", "NonFiniteLossError"]
