from .cat_net import CATNet  # noqa: F401
from .dtd import DTD  # noqa: F401
from .iml_vit import IMLViT  # noqa: F401
from .mvss_net import MVSSNet  # noqa: F401
from .omni_iml import OmniIML
from .pscc_net import PSCCNet  # noqa: F401
from .trufor_like import TruForLike  # noqa: F401

__all__ = ["OmniIML"]
