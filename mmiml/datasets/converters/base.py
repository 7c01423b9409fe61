"""What every dataset converter shares: the report, the pairing checks and derived masks.

A converter reads one public IML dataset in the layout it ships in and returns manifest entries
(``mmiml.datasets.manifest``). Every file it sees ends in exactly one place: an entry, or a line
of the :class:`ConversionReport` that says why it is not one (unpaired, undecodable, empty
mask, size mismatch that the policy skips, not an image). Nothing is dropped silently.

Each entry records, beyond the manifest's required keys:

* ``orig_image`` / ``orig_mask``: the file's path relative to the dataset root, as shipped;
* ``mask_encoding``: how the shipped annotation became the mask the entry points at (for
  example ``"binary png"``, ``"columbia edgemask: red/green region"``, ``"polygon fill"``);
* further keys a dataset has (NIST16's manipulation type, DocTamper's compression quality).

Masks that need work (a colour code, a polygon, another size, an LMDB record) are written as
0/255 PNGs under the derived-mask folder beside the manifest (``<manifest stem>_masks/``); masks
that the mask policy reads as shipped (``docs/data_contract.md``) are used in place.
"""
from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import cv2
import numpy as np

from mmiml import TASKS
from mmiml.datasets.importers import IMAGE_EXTENSIONS
from mmiml.datasets.io import open_image, read_mask
from mmiml.datasets.manifest import SPLITS
from mmiml.utils.errors import ConfigError, IMLDataError

__all__ = [
    "SIZE_POLICIES",
    "ConversionContext",
    "ConversionReport",
    "DatasetConverter",
    "SizeMismatch",
    "list_files",
    "pair_by_stem",
]

#: what a converter does with a mask whose size differs from its image's (``--size-mismatch``)
SIZE_POLICIES: tuple[str, ...] = ("resize", "crop", "skip")


@dataclass(frozen=True)
class SizeMismatch:
    """An image/mask pair of different sizes and what was done with it."""

    image: str
    mask: str
    image_size: tuple[int, int]  # (W, H)
    mask_size: tuple[int, int]  # (W, H)
    decision: str

    def line(self) -> str:
        (iw, ih), (mw, mh) = self.image_size, self.mask_size
        return f"{self.image} ({iw}x{ih}) / {self.mask} ({mw}x{mh}): {self.decision}"


@dataclass
class ConversionReport:
    """Counts per split and every file a converter could not turn into an entry as shipped.

    ``skipped`` holds ``(file, reason)`` for every file left out for a reason not listed
    in its own field; ``defects`` the known defects of the dataset that the converter met and
    handled (a naming slip, a misaligned mask), one line each.
    """

    dataset: str
    counts: Counter = field(default_factory=Counter)  # (split, "tampered"/"authentic") -> n
    unpaired_images: list[str] = field(default_factory=list)
    unpaired_masks: list[str] = field(default_factory=list)
    size_mismatches: list[SizeMismatch] = field(default_factory=list)
    empty_masks: list[str] = field(default_factory=list)
    full_masks: list[str] = field(default_factory=list)
    undecodable: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    ignored_files: list[str] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)

    def count(self, entry: dict[str, Any]) -> None:
        self.counts[(entry["split"], "authentic" if entry["mask"] is None else "tampered")] += 1

    @property
    def num_entries(self) -> int:
        return sum(self.counts.values())

    @property
    def num_left_out(self) -> int:
        """Files that are not in the manifest (the full masks are in it)."""
        mismatched_out = sum(m.decision.startswith("skipped") for m in self.size_mismatches)
        return (len(self.unpaired_images) + len(self.unpaired_masks) + len(self.empty_masks)
                + len(self.undecodable) + len(self.skipped) + mismatched_out)

    def splits(self) -> list[str]:
        return [s for s in SPLITS if any(k[0] == s for k in self.counts)]

    def lines(self) -> list[str]:
        """The report in words: counts per split, then every finding, one line each."""
        out = [f"{self.dataset}: {self.num_entries} entries"]
        for split in self.splits():
            t, a = self.counts[(split, "tampered")], self.counts[(split, "authentic")]
            out.append(f"  {split}: {t} tampered, {a} authentic")
        sections: list[tuple[str, list[str]]] = [
            ("unpaired images (no mask found; left out)", self.unpaired_images),
            ("unpaired masks (no image found; left out)", self.unpaired_masks),
            ("size mismatches", [m.line() for m in self.size_mismatches]),
            ("empty masks (no tampered pixel; left out)", self.empty_masks),
            ("full masks (every pixel tampered; kept, check them)", self.full_masks),
            ("undecodable files (left out)", [f"{p}: {why}" for p, why in self.undecodable]),
            ("skipped", [f"{p}: {why}" for p, why in self.skipped]),
            ("ignored (not images)", self.ignored_files),
            ("known defects handled", self.defects),
        ]
        for title, items in sections:
            out.append(f"{title}: {len(items)}")
            out += [f"  {x}" for x in items]
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (written beside the manifest as ``<manifest>.report.json``)."""
        return {
            "dataset": self.dataset,
            "entries": self.num_entries,
            "counts": {s: {k: self.counts[(s, k)] for k in ("tampered", "authentic")}
                       for s in self.splits()},
            "unpaired_images": self.unpaired_images,
            "unpaired_masks": self.unpaired_masks,
            "size_mismatches": [
                {"image": m.image, "mask": m.mask, "image_size": list(m.image_size),
                 "mask_size": list(m.mask_size), "decision": m.decision}
                for m in self.size_mismatches],
            "empty_masks": self.empty_masks,
            "full_masks": self.full_masks,
            "undecodable": [{"file": p, "reason": r} for p, r in self.undecodable],
            "skipped": [{"file": p, "reason": r} for p, r in self.skipped],
            "ignored_files": self.ignored_files,
            "defects": self.defects,
        }


def list_files(folder: Path, report: ConversionReport, root: Path, *,
               recursive: bool = False) -> list[Path]:
    """Image files in ``folder`` (sorted; with ``recursive`` in sub-folders too); other files
    go to ``report.ignored_files`` (hidden files such as ``.DS_Store`` and ``Thumbs.db`` are
    not counted)."""
    out: list[Path] = []
    paths = sorted(folder.rglob("*") if recursive else folder.iterdir())
    for path in paths:
        if not path.is_file() or path.name.startswith(".") or path.name == "Thumbs.db":
            continue
        if path.suffix.lower() in IMAGE_EXTENSIONS:
            out.append(path)
        else:
            report.ignored_files.append(_rel(path, root))
    return out


def _rel(path: Path | str, root: Path) -> str:
    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


class ConversionContext:
    """One conversion: where the dataset is, where derived masks go, and the report.

    Args:
        root: the folder the user unpacked the dataset into.
        out: the manifest to be written; derived masks go to ``<out stem>_masks/``.
        report: collects every finding.
        size_policy: ``resize`` (nearest neighbour, the default), ``crop`` (top-left crop of a
            larger mask; a smaller one is skipped) or ``skip``.
        task, source: the entries' task and source name.
    """

    def __init__(self, root: str | os.PathLike, out: str | os.PathLike, report: ConversionReport,
                 *, task: str, source: str, size_policy: str = "resize") -> None:
        if size_policy not in SIZE_POLICIES:
            raise ConfigError("--size-mismatch", f"unknown policy {size_policy!r}; expected one "
                                                 f"of {', '.join(SIZE_POLICIES)}")
        if task not in TASKS:
            raise ConfigError("--task", f"unknown task {task!r}; expected one of "
                                        f"{', '.join(TASKS)}")
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise IMLDataError(str(root), "dataset folder not found")
        self.out = Path(out).resolve()
        self.mask_dir = self.out.parent / f"{self.out.stem}_masks"
        self.report = report
        self.size_policy = size_policy
        self.task, self.source = task, source

    # ------------------------------------------------------------------ paths
    def rel(self, path: Path | str) -> str:
        """``path`` relative to the dataset root, with ``/``."""
        return _rel(path, self.root)

    def find_dir(self, *names: str, required: bool = True, base: Path | None = None
                 ) -> Path | None:
        """The first of ``names`` under ``base`` (default: the root), matched
        case-insensitively; missing and ``required``: an error naming what was expected."""
        base = base or self.root
        for name in names:
            exact = base / name
            if exact.is_dir():
                return exact
        if base.is_dir():
            lower = {n.lower() for n in names}
            for d in sorted(base.iterdir()):
                if d.is_dir() and d.name.lower() in lower:
                    return d
        if required:
            raise IMLDataError(str(base), f"no folder {' or '.join(repr(n) for n in names)}: "
                                          f"is this the {self.report.dataset} root?")
        return None

    def write_mask(self, mask01: np.ndarray, name: str) -> Path:
        """Write a 0/1 mask as a 0/255 PNG under the derived-mask folder (``name``: a path
        relative to it; the suffix becomes ``.png``)."""
        path = (self.mask_dir / name).with_suffix(".png")
        path.parent.mkdir(parents=True, exist_ok=True)
        if not cv2.imwrite(str(path), (np.asarray(mask01) > 0).astype(np.uint8) * 255):
            raise IMLDataError(str(path), "could not write the derived mask")
        return path

    # ------------------------------------------------------------------ entries
    def _entry(self, image: Path, mask: Path | None, split: str, **extra: Any
               ) -> dict[str, Any]:
        if split not in SPLITS:
            raise ValueError(f"split {split!r} is not one of {SPLITS}")
        entry = {"image": str(image), "mask": None if mask is None else str(mask),
                 "task": self.task, "source": self.source, "split": split,
                 "orig_image": self.rel(image), **extra}
        self.report.count(entry)
        return entry

    def decodes(self, path: Path, what: str) -> tuple[int, int] | None:
        """``(W, H)`` of a file that decodes, else None (reported as undecodable)."""
        try:
            with open_image(path, what) as img:
                return img.size
        except IMLDataError as e:
            self.report.undecodable.append((self.rel(path), e.problem))
            return None

    def authentic(self, image: Path, split: str, **extra: Any) -> dict[str, Any] | None:
        """An authentic entry, if the image decodes."""
        if self.decodes(image, "image") is None:
            return None
        return self._entry(image, None, split, **extra)

    def authentic_folder(self, folder: Path | None, split: str, name: str
                         ) -> list[dict[str, Any]]:
        """An authentic entry per image of ``folder``; a missing folder (``name``, as shipped)
        is reported as a defect: the dataset then has no authentic images here."""
        if folder is None:
            self.report.defects.append(f"no {name}/ folder: no authentic images")
            return []
        entries = [self.authentic(image, split)
                   for image in list_files(folder, self.report, self.root)]
        return [e for e in entries if e]

    def tampered(self, image: Path, mask: Path | np.ndarray, split: str, *, encoding: str,
                 orig_mask: Path | str | None = None, inverted: bool = False,
                 threshold: float | None = None, mask_name: str | None = None, **extra: Any
                 ) -> dict[str, Any] | None:
        """A tampered entry from an image and its mask, or None with the reason reported.

        ``mask`` is a shipped mask file (read under the mask policy, ``inverted`` and
        ``threshold`` as in :func:`mmiml.datasets.io.read_mask`) or a 0/1 array the converter
        derived (``mask_name``: where under the derived-mask folder it goes; default: the
        image's relative path). A mask of another size is resized, cropped or skipped by the
        size policy; an empty mask is left out, a full one kept; both are reported.
        """
        size = self.decodes(image, "image")
        if size is None:
            return None
        name = mask_name or self.rel(image)
        if isinstance(mask, np.ndarray):
            mask01 = (np.asarray(mask) > 0).astype(np.uint8)
            mask_label = orig_mask if orig_mask is not None else f"(derived) {name}"
            derived = True
        else:
            mask_label = self.rel(mask)
            try:
                mask01 = read_mask(mask, inverted=inverted, threshold=threshold).mask
            except IMLDataError as e:
                self.report.undecodable.append((mask_label, e.problem))
                return None
            derived = False
        mask_label = str(mask_label)
        w, h = size
        if mask01.shape[:2] != (h, w):
            mask01 = self._fit(mask01, size, self.rel(image), mask_label)
            if mask01 is None:
                return None
            derived = True
            encoding += f"; {self.size_policy}d to the image size"
        tampered = int(np.count_nonzero(mask01))
        if tampered == 0:
            self.report.empty_masks.append(mask_label)
            return None
        if tampered == mask01.size:
            self.report.full_masks.append(mask_label)
        path = self.write_mask(mask01, name) if derived else Path(mask)  # type: ignore[arg-type]
        extra_mask: dict[str, Any] = {"orig_mask": (str(orig_mask) if orig_mask is not None
                                                    else mask_label),
                                      "mask_encoding": encoding}
        if not derived:  # the shipped file is read as the mask policy reads it here
            if inverted:
                extra_mask["mask_inverted"] = True
            if threshold is not None:
                extra_mask["mask_threshold"] = threshold
        return self._entry(image, path, split, **extra_mask, **extra)

    def _fit(self, mask01: np.ndarray, size: tuple[int, int], image: str, mask: str
             ) -> np.ndarray | None:
        w, h = size
        mh, mw = mask01.shape[:2]
        policy = self.size_policy
        if (mh, mw) == (w, h) and policy != "skip":
            out = None  # a rotated image or mask: which way it turned is not known
            decision = "skipped (the mask is transposed; the rotation cannot be recovered)"
        elif policy == "resize":
            out = cv2.resize(mask01, (w, h), interpolation=cv2.INTER_NEAREST)
            decision = "resized by nearest neighbour to the image size"
        elif policy == "crop" and mw >= w and mh >= h:
            out = mask01[:h, :w]
            decision = "cropped (top-left) to the image size"
        else:
            out = None
            decision = ("skipped (mask smaller than the image: nothing to crop)"
                        if policy == "crop" else "skipped (--size-mismatch skip)")
        self.report.size_mismatches.append(SizeMismatch(image, mask, (w, h), (mw, mh), decision))
        return out


class DatasetConverter:
    """One public dataset: its names, what it serves, and :meth:`convert`.

    Subclasses set the class attributes and implement :meth:`convert`; ``SPLIT`` is the split
    every entry gets unless the dataset ships its own (``--split`` overrides it).
    """

    NAME: ClassVar[str]  # the CLI name (``casia2``)
    SOURCE: ClassVar[str]  # the ``source`` of the entries (``CASIAv2``)
    TASK: ClassVar[str]
    SPLIT: ClassVar[str] = "test"
    LAYOUT: ClassVar[str]  # one line: the folders it reads
    PROTOCOLS: ClassVar[tuple[str, ...]] = ()

    def __init__(self, split: str | None = None, **options: Any) -> None:
        if split is not None and split not in SPLITS:
            raise ConfigError("--split", f"unknown split {split!r}; expected one of "
                                         f"{', '.join(SPLITS)}")
        self.split = split
        self.options = options

    def split_of(self, default: str | None = None) -> str:
        return self.split or default or self.SPLIT

    def context(self, root: str | os.PathLike, out: str | os.PathLike, size_policy: str
                ) -> ConversionContext:
        return ConversionContext(root, out, ConversionReport(self.SOURCE), task=self.TASK,
                                 source=self.SOURCE, size_policy=size_policy)

    def convert(self, ctx: ConversionContext) -> list[dict[str, Any]]:
        raise NotImplementedError


def pair_by_stem(images: Iterable[Path], masks: Iterable[Path],
                 mask_stem: Callable[[Path], list[str]],
                 ctx: ConversionContext) -> tuple[list[tuple[Path, Path]], list[Path]]:
    """Pair images with masks by ``mask_stem(image) -> list of candidate mask stems`` (the
    first candidate that exists wins). Returns the pairs and the images without a mask; masks
    no image claimed are reported as unpaired masks."""
    by_stem: dict[str, list[Path]] = {}
    for m in masks:
        by_stem.setdefault(m.stem, []).append(m)
    pairs: list[tuple[Path, Path]] = []
    lonely: list[Path] = []
    used: set[Path] = set()
    for image in images:
        found = None
        for stem in mask_stem(image):
            candidates = [m for m in by_stem.get(stem, []) if m not in used]
            if len(candidates) > 1:
                ctx.report.skipped.append((ctx.rel(image), "ambiguous: masks " + ", ".join(
                    ctx.rel(c) for c in candidates) + " all match it"))
                found = False
                break
            if candidates:
                found = candidates[0]
                break
        if found is None:
            lonely.append(image)
        elif found is not False:
            used.add(found)
            pairs.append((image, found))
    for group in by_stem.values():
        ctx.report.unpaired_masks += [ctx.rel(m) for m in group if m not in used]
    return pairs, lonely

