"""IMLDataset: a manifest-driven mmseg dataset for image manipulation localization."""
from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from mmengine.logging import MMLogger
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from mmiml import TASKS
from mmiml.datasets.io import check_entry, resolve_max_pixels
from mmiml.datasets.manifest import SPLITS, read_manifest, sample_id
from mmiml.utils.errors import IMLDataError

__all__ = ["IMLDataset"]


@DATASETS.register_module()
class IMLDataset(BaseSegDataset):
    """Samples listed in an mmiml manifest (JSON lines; see ``docs/data_contract.md``).

    Each data_info holds ``img_path``, ``seg_map_path`` (None for authentic images), ``task``,
    ``task_id``, ``sample_id`` (the image's path relative to the manifest's folder), ``source``,
    ``split``, ``img_label`` (1 when a mask is given), ``mask_inverted``,
    ``mask_threshold``, plus mmseg's ``label_map``, ``reduce_zero_label`` and ``seg_fields``;
    ``group`` only for entries that have one (``PackIMLInputs`` packs it into the metainfo, and
    the metric scores each group on its own); ``sample_idx`` is added by mmengine when a sample
    is fetched.

    Args:
        ann_file: manifest path (joined to ``data_root`` when relative and a root is given).
        split: keep only this split (``train``/``val``/``test``); None keeps all.
        tasks: keep only these tasks (names from :data:`mmiml.TASKS`); None keeps all.
        skip_invalid: log, count and drop bad samples instead of raising. Skipped samples are
            in ``self.skipped`` as ``(path, problem)`` and counted in ``self.num_skipped``, and
            a summary line "IMLDataset(<manifest>): skipped N of M samples" goes to the log.
        validate: decode each image and mask up front (slow on big sets, but a broken file then
            fails here, with its name, not hours into training). This is where the mask policy's
            entry checks run (docs/data_contract.md): a tampered entry whose mask has no
            tampered pixel is a bad sample; warnings (a full mask, a 0/1 mask stored as JPEG)
            are logged and kept in ``self.mask_warnings`` as ``(path, finding)``.
        max_pixels: reject images and masks with more pixels (checked when ``validate``); None
            means the default limit (``$MMIML_MAX_PIXELS`` or
            ``mmiml.datasets.io.DEFAULT_MAX_PIXELS``), 0 means no limit. The loading transforms
            have their own ``max_pixels``.
        mask_threshold: binarise soft masks at ``value > T`` (0..255); passed to the loader.
            None: each manifest line's own ``"mask_threshold"`` (if any) applies.
        invert_masks: every mask marks authentic pixels white (NIST style). Entries with
            ``"mask_inverted": true`` are inverted either way.
        synthiml: ``dict(profile=..., root=...)`` to generate that SynthIML profile on first
            use (cached afterwards; see ``mmiml.datasets.synthesis.generator.ensure_synthiml``).
        **kwargs: :class:`mmseg.datasets.BaseSegDataset` arguments (``pipeline``, ``test_mode``,
            ``serialize_data``, ``lazy_init``, ``data_root``, ``indices``, ...).

    Raises:
        IMLDataError: a bad manifest line or sample (without ``skip_invalid``), or no sample
            left after filtering.
    """

    METAINFO = dict(classes=("authentic", "tampered"), palette=[[0, 0, 0], [255, 255, 255]])

    def __init__(
        self,
        ann_file: str,
        split: str | None = None,
        tasks: str | Sequence[str] | None = None,
        skip_invalid: bool = False,
        validate: bool = True,
        max_pixels: int | None = None,
        mask_threshold: float | None = None,
        invert_masks: bool = False,
        synthiml: dict | None = None,
        **kwargs: Any,
    ) -> None:
        if synthiml is not None:
            _ensure_synthiml_once(synthiml)
        if split is not None and split not in SPLITS:
            raise ValueError(f"IMLDataset: unknown split {split!r} (valid: {', '.join(SPLITS)})")
        if isinstance(tasks, str):
            tasks = (tasks,)
        if tasks is not None:
            unknown = [t for t in tasks if t not in TASKS]
            if unknown:
                raise ValueError(
                    f"IMLDataset: unknown task(s) {unknown} (valid tasks: {', '.join(TASKS)})"
                )
            tasks = tuple(tasks)
        if kwargs.get("reduce_zero_label"):
            # 0 is the "authentic" class, not a background to drop.
            raise ValueError("IMLDataset: reduce_zero_label must be False")
        self.split = split
        self.tasks = tasks
        self.skip_invalid = skip_invalid
        self.validate = validate
        # a bad value (or a bad MMIML_MAX_PIXELS) is reported once, here
        resolve_max_pixels(max_pixels)
        self.max_pixels = max_pixels
        self.mask_threshold = mask_threshold
        self.invert_masks = invert_masks
        self.num_skipped = 0
        self.skipped: list[tuple[str, str]] = []
        self.mask_warnings: list[tuple[str, str]] = []
        super().__init__(ann_file=ann_file, **kwargs)

    def _skip(self, err: IMLDataError) -> None:
        self.skipped.append((err.path, err.problem))
        MMLogger.get_current_instance().warning(
            f"IMLDataset({self.ann_file}): skipping sample, {err.path}: {err.problem}"
        )

    def load_data_list(self) -> list[dict]:
        """Read the manifest, filter by split/tasks, validate and build data_info dicts."""
        self.num_skipped = 0
        self.skipped = []
        self.mask_warnings = []
        manifest_problems: list[IMLDataError] | None = [] if self.skip_invalid else None
        entries = read_manifest(self.ann_file, split=self.split, collect_problems=manifest_problems)
        if self.tasks is not None:
            entries = [e for e in entries if e["task"] in self.tasks]
        # Manifest-level problems (bad lines, duplicates) cannot be attributed to a split, so
        # they are counted as skipped whatever the filters (our choice).
        for err in manifest_problems or []:
            self._skip(err)
        num_candidates = len(entries) + len(manifest_problems or [])

        data_list = []
        for entry in entries:
            inverted = bool(entry["mask_inverted"]) or self.invert_masks
            if self.validate:
                found = check_entry(
                    entry,
                    max_pixels=self.max_pixels,
                    mask_threshold=self.mask_threshold,
                    invert_masks=inverted,
                )
                errors = found.errors
                for warning in found.warnings:
                    self.mask_warnings.append((warning.path, warning.problem))
                    MMLogger.get_current_instance().warning(
                        f"IMLDataset({self.ann_file}): {warning.path}: {warning.problem}")
                if errors:
                    if not self.skip_invalid:
                        raise errors[0]
                    for err in errors:
                        self._skip(err)
                    continue
            info = dict(
                img_path=entry["image"],
                # stable across machines and checkouts: pairs one image's figures of two runs
                sample_id=sample_id(entry["image"], self.ann_file),
                seg_map_path=entry["mask"],
                task=entry["task"],
                task_id=TASKS.index(entry["task"]),
                source=entry["source"],
                split=entry["split"],
                img_label=int(entry["mask"] is not None),
                mask_inverted=inverted,
                # the dataset's threshold, else the manifest line's own (our choice)
                mask_threshold=self.mask_threshold if self.mask_threshold is not None
                else entry.get("mask_threshold"),
                label_map=self.label_map,
                reduce_zero_label=False,
                seg_fields=[],
            )
            # absent, not None, without a group: the metric tells grouped samples by the key
            if "group" in entry:
                info["group"] = entry["group"]
            data_list.append(info)
        # One skipped sample may have several problems (image and mask): count samples.
        self.num_skipped = num_candidates - len(data_list)
        if self.skip_invalid:
            logger = MMLogger.get_current_instance()
            log = logger.warning if self.num_skipped else logger.info
            log(
                f"IMLDataset({self.ann_file}): skipped {self.num_skipped} of "
                f"{num_candidates} samples"
            )
        if not data_list:
            filters = f"split={self.split!r}, tasks={list(self.tasks) if self.tasks else None}"
            raise IMLDataError(
                self.ann_file,
                f"no samples left after filtering ({filters}; "
                f"{self.num_skipped} of {num_candidates} skipped as invalid)",
            )
        return data_list

    def task_counts(self) -> dict[str, int]:
        """Number of samples per task present, in :data:`mmiml.TASKS` order."""
        counts = dict.fromkeys(TASKS, 0)
        for i in range(len(self)):
            counts[self.get_data_info(i)["task"]] += 1
        return {t: n for t, n in counts.items() if n}

    @property
    def manifest(self) -> str:
        """Absolute manifest path (after ``data_root`` joining)."""
        return os.path.abspath(self.ann_file)


def _ensure_synthiml_once(spec: dict) -> None:
    """Generate a SynthIML profile on first use (rank 0 only; the others wait)."""
    from mmengine.dist import barrier, get_rank

    from .synthesis.generator import ensure_synthiml

    if get_rank() == 0:
        ensure_synthiml(**spec)
    barrier()
