from .dynamic_weight_decoder import DynamicWeightDecoder  # noqa: F401
