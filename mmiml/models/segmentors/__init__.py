from .cat_net import CATNet  # noqa: F401
from .mvss_net import MVSSHead, MVSSNet, TamperedDiceLoss  # noqa: F401
from .omni_iml import OmniIML

__all__ = ["OmniIML"]
