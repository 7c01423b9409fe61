from .backbones import *  # noqa: F401,F403 - registers backbones in mmseg's MODELS
from .data_preprocessor import IMLDataPreProcessor  # noqa: F401
from .decode_heads import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .necks import *  # noqa: F401,F403
from .segmentors import *  # noqa: F401,F403
