from .modal_gate_layer_decay_constructor import (  # noqa: F401
    ModalGateLayerDecayOptimizerConstructor,
    layer_decay_groups,
)
