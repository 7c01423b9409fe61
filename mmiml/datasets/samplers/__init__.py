from .task_weighted_sampler import TaskWeightedInfiniteSampler  # noqa: F401
