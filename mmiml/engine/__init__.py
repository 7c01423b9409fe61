"""Training-loop parts (hooks, optimizer constructors) and checkpoint loading.

Importing this package only registers its classes (configs' ``custom_imports`` do that); it
leaves mmengine and torch as they are. :func:`apply_mmengine_patches` makes mmengine's
checkpoints load with ``weights_only=True``; the tools and the benchmark call it explicitly.
:func:`load_model_weights` loads a checkpoint into a model strictly (by default) and reports
what fitted; :class:`StrictLoadRunner` is the Runner whose ``load_from`` uses it.
"""
from .checkpoint import (
    SAFE_GLOBALS,
    StrictLoadRunner,
    apply_mmengine_patches,
    check_checkpoint_file,
    checkpoint_record,
    checkpoint_state_dict,
    describe_misfit,
    file_sha256,
    load_local_checkpoint,
    load_model_weights,
    read_checkpoint_weights,
)
from .hooks import NaNGuardHook, NonFiniteLossError
from .optimizers import ModalGateLayerDecayOptimizerConstructor, layer_decay_groups

__all__ = ["SAFE_GLOBALS", "ModalGateLayerDecayOptimizerConstructor", "StrictLoadRunner",
           "apply_mmengine_patches", "check_checkpoint_file", "checkpoint_record",
           "checkpoint_state_dict", "describe_misfit", "file_sha256", "layer_decay_groups",
           "load_local_checkpoint", "load_model_weights", "read_checkpoint_weights"]
__all__ += ["NaNGuardHook", "NonFiniteLossError"]
