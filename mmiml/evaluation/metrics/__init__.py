from .iml_metric import IMLMetric  # noqa: F401 - registers IMLMetric in mmseg METRICS
