from .dynamic_weight_decoder import DynamicWeightDecoder  # noqa: F401
from .iml_vit_head import IMLViTHead  # noqa: F401
from .multi_view_iterative_decoder import MultiViewIterativeDecoder  # noqa: F401
from .mvss_head import MVSSHead  # noqa: F401
from .pscc_head import PSCCHead  # noqa: F401
from .trufor_like_head import TruForLikeHead  # noqa: F401
