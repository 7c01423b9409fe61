from .augment import DCTAwareRandomFlip, GridAlignedRandomCrop, RandomJpegRecompress  # noqa: F401
from .formatting import PackIMLInputs  # noqa: F401
from .loading import (  # noqa: F401
    LoadIMLAnnotations,
    LoadIMLImageFromFile,
    LoadIMLImageFromNDArray,
    LoadJpegDCT,
)
