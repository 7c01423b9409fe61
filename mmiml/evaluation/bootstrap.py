"""Paired bootstrap intervals for differences between models, and ranks that share places.

Our choice (the paper and the other toolkits report single numbers without intervals):

- **Unit.** A model is one or more runs (seeds) scored on the same test images; each run's
  result file holds every image's own figure (``per_image``, ``mmiml.evaluation.metrics``). For
  one task the runs of a model form a ``seeds x images`` matrix of per-image IoU (or F1), over
  the images that enter the pixel figures (the tampered ones under the default policy).
- **Replicate.** Each bootstrap replicate draws the test images of every task with replacement,
  the *same* draw for both models (paired: an image that is hard for one model is hard for the
  other), and draws each model's seeds with replacement on their own (the runs of two models are
  independent). A model's task score in the replicate is the mean over its drawn seeds of the
  mean over the drawn images; the average is the macro mean over the tasks, as the leaderboard
  defines it.
- **Interval.** The 2.5 and 97.5 percentiles of ``B - A`` over the replicates (95% percentile
  interval). A difference is *significant* when its interval excludes 0.

With one seed per model the interval covers the choice of test images only, not retraining
noise, so it is too narrow for a claim about the method; with three seeds the seed draw adds
retraining noise, coarsely (three values). The leaderboard says which it is.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mmiml.utils.errors import IMLDataError

AVG = "avg"
DEFAULT_REPLICATES = 2000
DEFAULT_LEVEL = 0.95


@dataclass(frozen=True)
class Difference:
    """``B - A`` of a task (or ``avg``): the observed difference and its bootstrap interval."""

    diff: float
    low: float
    high: float
    num_images: int
    seeds_a: int
    seeds_b: int

    @property
    def significant(self) -> bool:
        """The interval excludes 0."""
        return self.low > 0.0 or self.high < 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"diff": self.diff, "low": self.low, "high": self.high,
                "significant": self.significant, "num_images": self.num_images,
                "seeds_a": self.seeds_a, "seeds_b": self.seeds_b}


def has_per_image(doc: Mapping[str, Any]) -> bool:
    """Whether a result (benchmark result or plain ``mmiml-result``) keeps per-image figures."""
    result = doc.get("result", doc)
    return isinstance(result, Mapping) and "per_image" in result


def per_image_matrix(docs: Sequence[Mapping[str, Any]], task: str, key: str = "iou"
                     ) -> tuple[list[str], np.ndarray]:
    """(image ids, ``seeds x images`` matrix of ``key``) of one task over the runs ``docs``.

    Only images with a figure (the pixel set) are kept. Every run must hold the same images;
    otherwise the error names the run and an image that differs.
    """
    if not docs:
        raise ValueError("per_image_matrix needs at least one run")
    ids_ref: list[str] | None = None
    rows = []
    for doc in docs:
        where = str(doc.get("_path", doc.get("model", "result")))
        result = doc.get("result", doc)
        rec = result.get("per_image", {}).get(task)
        if rec is None:
            raise IMLDataError(where, f"has no per-image figures for task {task!r} (written "
                                      "before per_image existed, or the task was not tested)")
        pairs = [(i, v) for i, v in zip(rec["id"], rec[key], strict=True) if v is not None]
        pairs.sort()
        ids = [i for i, _ in pairs]
        if ids_ref is None:
            ids_ref = ids
        elif ids != ids_ref:
            extra = sorted(set(ids) ^ set(ids_ref))
            raise IMLDataError(where, f"task {task!r} is scored on other images than the first "
                                      f"run ({len(ids)} against {len(ids_ref)}; e.g. "
                                      f"{extra[0]!r}); a paired comparison needs one test set")
        rows.append([v for _, v in pairs])
    return ids_ref or [], np.asarray(rows, dtype=np.float64)


def _seed_means(matrix: np.ndarray, image_draws: np.ndarray, seed_draws: np.ndarray
                ) -> np.ndarray:
    """Per replicate: mean over the drawn seeds of the mean over the drawn images."""
    # (seeds, replicates): each seed's mean over each replicate's image draw
    by_seed = matrix[:, image_draws].mean(axis=2)
    return np.take_along_axis(by_seed, seed_draws, axis=0).mean(axis=0)


def paired_bootstrap(
    a: Mapping[str, np.ndarray],
    b: Mapping[str, np.ndarray],
    replicates: int = DEFAULT_REPLICATES,
    level: float = DEFAULT_LEVEL,
    seed: int = 0,
) -> dict[str, Difference]:
    """``B - A`` per task and for the macro average, with paired bootstrap intervals.

    Args:
        a, b: task -> ``seeds x images`` matrix, the same images (columns, in one order) for
            both models; tasks present in only one of them are left out.
        replicates: bootstrap replicates.
        level: interval coverage (0.95: the 2.5 and 97.5 percentiles).
        seed: the generator's seed (the same inputs give the same intervals).
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    if replicates < 100:
        raise ValueError(f"replicates must be at least 100, got {replicates}")
    tasks = [t for t in a if t in b]
    if not tasks:
        raise ValueError("the two models share no task")
    rng = np.random.default_rng(seed)
    lo_q, hi_q = 100 * (1 - level) / 2, 100 * (1 + level) / 2
    out: dict[str, Difference] = {}
    reps_a, reps_b = [], []
    for task in tasks:
        ma, mb = np.asarray(a[task], dtype=np.float64), np.asarray(b[task], dtype=np.float64)
        if ma.ndim != 2 or mb.ndim != 2 or ma.shape[1] != mb.shape[1] or ma.shape[1] == 0:
            raise ValueError(f"task {task!r}: need seeds x images matrices over the same "
                             f"images, got {ma.shape} and {mb.shape}")
        n = ma.shape[1]
        images = rng.integers(0, n, size=(replicates, n))
        seeds_a = rng.integers(0, ma.shape[0], size=(ma.shape[0], replicates))
        seeds_b = rng.integers(0, mb.shape[0], size=(mb.shape[0], replicates))
        ra, rb = _seed_means(ma, images, seeds_a), _seed_means(mb, images, seeds_b)
        reps_a.append(ra)
        reps_b.append(rb)
        d = rb - ra
        out[task] = Difference(float(mb.mean() - ma.mean()), float(np.percentile(d, lo_q)),
                               float(np.percentile(d, hi_q)), n, ma.shape[0], mb.shape[0])
    if len(tasks) > 1:
        d = np.mean(reps_b, axis=0) - np.mean(reps_a, axis=0)
        observed = float(np.mean([out[t].diff for t in tasks]))
        out[AVG] = Difference(observed, float(np.percentile(d, lo_q)),
                              float(np.percentile(d, hi_q)),
                              sum(out[t].num_images for t in tasks),
                              min(out[t].seeds_a for t in tasks),
                              min(out[t].seeds_b for t in tasks))
    return out


def compare_runs(
    runs_a: Sequence[Mapping[str, Any]],
    runs_b: Sequence[Mapping[str, Any]],
    key: str = "iou",
    tasks: Iterable[str] | None = None,
    **kwargs: Any,
) -> dict[str, Difference]:
    """:func:`paired_bootstrap` of two models given as their result files (one per seed).

    ``tasks``: the tasks to compare (default: those both models' files hold per-image figures
    for). The images of each task are paired by id; both models must be scored on the same ones.
    """
    def tasks_of(runs: Sequence[Mapping[str, Any]]) -> set[str]:
        found = [set(r.get("result", r).get("per_image", {})) for r in runs]
        return set.intersection(*found) if found else set()

    wanted = list(tasks) if tasks is not None else sorted(tasks_of(runs_a) & tasks_of(runs_b))
    a, b = {}, {}
    for task in wanted:
        ids_a, a[task] = per_image_matrix(runs_a, task, key)
        ids_b, b[task] = per_image_matrix(runs_b, task, key)
        if ids_a != ids_b:
            where = str(runs_b[0].get("_path", "model B"))
            raise IMLDataError(where, f"task {task!r} is scored on other images than model A's "
                                      f"runs ({len(ids_b)} against {len(ids_a)}); a paired "
                                      "comparison needs one test set")
    return paired_bootstrap(a, b, **kwargs)


def shared_ranks(scores: Mapping[str, float],
                 better: Mapping[tuple[str, str], bool]) -> dict[str, tuple[int, int]]:
    """Rank ranges that models share when their differences are not significant.

    Args:
        scores: model -> score (higher is better), for the order only.
        better: ``(x, y) -> True`` when ``x`` is significantly better than ``y``; pairs not
            given count as not significant.

    Returns:
        model -> (best, worst) rank: best = 1 + the number of models significantly better than
        it, worst = N - the number of models it is significantly better than. A model that is
        separated from every other one gets a single rank (best == worst).
    """
    models = list(scores)
    n = len(models)
    out = {}
    for m in models:
        above = sum(bool(better.get((o, m))) for o in models if o != m)
        below = sum(bool(better.get((m, o))) for o in models if o != m)
        out[m] = (1 + above, n - below)
    return out


def format_rank(rank: tuple[int, int]) -> str:
    """``"3"`` or ``"2–4"``."""
    lo, hi = rank
    return str(lo) if lo == hi else f"{lo}–{hi}"


def format_difference(d: Difference | None, scale: float = 100.0, digits: int = 1) -> str:
    """``+1.2 [-0.3, +2.6]`` in points, bold when significant; ``-`` for none."""
    if d is None:
        return "-"
    lo, hi = d.low * scale, d.high * scale
    text = f"{d.diff * scale:+.{digits}f} [{lo:+.{digits}f}, {hi:+.{digits}f}]"
    return f"**{text}**" if d.significant else text
