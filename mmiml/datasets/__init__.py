from . import transforms  # noqa: F401 - registers the IML transforms in mmseg's TRANSFORMS
from .iml_dataset import IMLDataset  # noqa: F401 - registers IMLDataset in mmseg's DATASETS
from .importers import ImportReport, import_benco_json, import_tp_gt  # noqa: F401
from .io import load_image, load_mask, mask_to_boxes, validate_entry  # noqa: F401
from .manifest import read_manifest, write_manifest  # noqa: F401
from .samplers import TaskWeightedInfiniteSampler  # noqa: F401 - registers the joint sampler
