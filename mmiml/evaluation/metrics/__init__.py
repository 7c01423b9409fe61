from .iml_metric import IMLMetric, sample_probability  # noqa: F401 - registers IMLMetric
