from .checkpoint import SAFE_GLOBALS, load_local_checkpoint, register_safe_globals
from .hooks import NaNGuardHook, NonFiniteLossError
from .optimizers import ModalGateLayerDecayOptimizerConstructor, layer_decay_groups

# Importing mmiml.engine (as configs' custom_imports do) makes every checkpoint load safe.
register_safe_globals()

__all__ = ["SAFE_GLOBALS", "ModalGateLayerDecayOptimizerConstructor", "layer_decay_groups",
           "load_local_checkpoint", "register_safe_globals"]
__all__ += ["NaNGuardHook", "NonFiniteLossError"]
