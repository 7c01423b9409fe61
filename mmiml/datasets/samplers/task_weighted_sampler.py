"""Joint-training sampler that draws the four IML tasks at fixed ratios.

docs/design/omni_iml.md section 5 (stated): joint training samples the domains at
natural:document:face:scene-text = 10:5:2:20, whatever the size of each task's training set.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import torch
from mmengine.dist import get_dist_info, sync_random_seed
from mmengine.logging import print_log
from mmseg.registry import DATA_SAMPLERS
from torch.utils.data import Sampler

from mmiml import TASKS

__all__ = ["TaskWeightedInfiniteSampler"]


@DATA_SAMPLERS.register_module()
class TaskWeightedInfiniteSampler(Sampler[int]):
    """Infinite sampler: each draw picks a task with probability proportional to its weight,
    then the next image of that task's own shuffled cycle (every image of a task is seen once
    before any repeats, our choice).

    One index stream is drawn from a seed shared by all ranks and dealt round-robin, as
    mmengine's ``InfiniteSampler`` does, so ranks never draw the same position.

    Args:
        dataset: a dataset whose data infos carry ``task`` (``IMLDataset``).
        task_weights: weight per task present in the dataset, e.g.
            ``dict(natural=10, document=5, face=2, scene_text=20)``. Every task in the
            dataset needs a weight (0 leaves it out, and that is logged); a positive weight
            for a task with no images is an error, never a silent renormalisation.
        seed: random seed (shared across ranks when None).
        chunk: draws generated at once.
    """

    def __init__(self, dataset: Any, task_weights: Mapping[str, float],
                 seed: int | None = None, chunk: int = 4096) -> None:
        self.rank, self.world_size = get_dist_info()
        self.seed = sync_random_seed() if seed is None else int(seed)
        self.chunk = int(chunk)
        self.size = len(dataset)
        name = getattr(dataset, "ann_file", type(dataset).__name__)
        unknown = sorted(set(task_weights) - set(TASKS))
        if unknown:
            raise ValueError(f"TaskWeightedInfiniteSampler: unknown task(s) {unknown} in "
                             f"task_weights (valid: {', '.join(TASKS)})")
        by_task: dict[str, list[int]] = {}
        for i in range(self.size):
            by_task.setdefault(dataset.get_data_info(i)["task"], []).append(i)
        unweighted = sorted(set(by_task) - set(task_weights))
        if unweighted:
            raise ValueError(f"TaskWeightedInfiniteSampler({name}): task(s) {unweighted} have "
                             "images but no weight in task_weights (give 0 to leave them out)")
        for task, weight in task_weights.items():
            if not float(weight) >= 0:
                raise ValueError(f"TaskWeightedInfiniteSampler: weight of {task!r} must be >= 0, "
                                 f"got {weight}")
        empty = sorted(t for t, w in task_weights.items() if w > 0 and t not in by_task)
        if empty:
            raise ValueError(f"TaskWeightedInfiniteSampler({name}): task(s) {empty} have a "
                             "positive weight but no images in this dataset; set their weight "
                             "to 0 or add their manifests")
        self.tasks = [t for t in TASKS if t in by_task and task_weights[t] > 0]
        if not self.tasks:
            raise ValueError(f"TaskWeightedInfiniteSampler({name}): all weights are 0")
        self.indices = [torch.tensor(by_task[t]) for t in self.tasks]
        total = float(sum(task_weights[t] for t in self.tasks))
        self.probs = torch.tensor([task_weights[t] / total for t in self.tasks],
                                  dtype=torch.float64)
        parts = [f"{t} {p:.3f} ({len(by_task[t])} images)" for t, p in zip(self.tasks, self.probs)]
        left_out = [f"{t} ({len(by_task[t])} images)" for t in by_task if t not in self.tasks]
        msg = "TaskWeightedInfiniteSampler: task shares " + ", ".join(parts)
        if left_out:
            msg += "; weight 0, never drawn: " + ", ".join(left_out)
        print_log(msg, logger="current")

    def _stream(self) -> Iterator[int]:
        g = torch.Generator().manual_seed(self.seed)
        orders = [torch.randperm(len(ix), generator=g) for ix in self.indices]
        cursors = [0] * len(self.indices)
        while True:
            for k in torch.multinomial(self.probs, self.chunk, replacement=True,
                                       generator=g).tolist():
                if cursors[k] == len(orders[k]):  # this task's cycle is done: reshuffle
                    orders[k], cursors[k] = torch.randperm(len(orders[k]), generator=g), 0
                yield int(self.indices[k][orders[k][cursors[k]]])
                cursors[k] += 1

    def __iter__(self) -> Iterator[int]:
        for position, index in enumerate(self._stream()):
            if position % self.world_size == self.rank:
                yield index

    def __len__(self) -> int:
        return self.size

    def set_epoch(self, epoch: int) -> None:
        """Not used: the stream is infinite (kept for mmengine's sampler interface)."""
