"""Real sources that install with mmiml: photographs, faces and fonts; procedural backgrounds.

Everything here is offline. Photographs come from packages mmiml already depends on
(scikit-image's data photos, scikit-learn's sample images, matplotlib's sample photo), faces
from scikit-image (the LFW subset and the astronaut portrait) and matplotlib (Grace Hopper),
fonts from matplotlib's DejaVu family and the system's font folders. Users add their own with
``photo_dirs``, ``face_dirs`` and ``font_dirs``. Every item carries a provenance id.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from PIL import Image, ImageFont

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")

# scikit-image photos shipped in its wheel (no pooch download); greyscale ones become RGB.
SKIMAGE_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "camera", "coins", "grass",
                  "gravel", "brick", "text", "page")
SKIMAGE_NATURAL = ("astronaut", "chelsea", "coffee", "rocket", "camera", "coins", "grass",
                   "gravel", "brick")
# The astronaut's face in skimage.data.astronaut() (rows, cols), read off the image.
ASTRONAUT_FACE = (slice(20, 240), slice(140, 340))
SYSTEM_FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", os.path.expanduser("~/.fonts"))


def _rgb(img: np.ndarray) -> np.ndarray:
    img = np.asarray(img)
    if img.dtype != np.uint8:
        img = (np.clip(img, 0, 1) * 255).round().astype(np.uint8) if img.max() <= 1.0 else \
            np.clip(img, 0, 255).astype(np.uint8)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    return np.ascontiguousarray(img[..., :3])


def _load_folder(folder: str, prefix: str) -> list[tuple[str, np.ndarray]]:
    items = []
    for path in sorted(glob.glob(os.path.join(folder, "**", "*"), recursive=True)):
        if path.lower().endswith(IMAGE_SUFFIXES) and not path.lower().endswith("_label.png"):
            with Image.open(path) as im:
                items.append((f"{prefix}:{os.path.relpath(path, folder)}",
                              _rgb(np.asarray(im.convert("RGB")))))
    return items


@dataclass
class Face:
    """A face crop, with a face-parsing label map (same size, integer classes) when given."""

    source: str
    image: np.ndarray
    labels: np.ndarray | None = None


@dataclass
class Sources:
    """The pools task generators draw from; build once with :func:`load_sources`."""

    photos: list[tuple[str, np.ndarray]] = field(default_factory=list)
    scans: list[tuple[str, np.ndarray]] = field(default_factory=list)
    faces: list[Face] = field(default_factory=list)
    fonts: list[tuple[str, str]] = field(default_factory=list)

    def photo(self, rng: np.random.Generator) -> tuple[str, np.ndarray]:
        return self.photos[int(rng.integers(len(self.photos)))]

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


def find_fonts(extra_dirs: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """matplotlib's DejaVu fonts, then system and user fonts (.ttf/.otf), sorted, deduplicated."""
    import matplotlib

    found: dict[str, str] = {}
    mpl = os.path.join(matplotlib.get_data_path(), "fonts", "ttf")
    for folder in (mpl, *SYSTEM_FONT_DIRS, *extra_dirs):
        for path in sorted(glob.glob(os.path.join(folder, "**", "*.[ot]tf"), recursive=True)):
            name = os.path.basename(path)
            # DejaVu*Display has no text glyphs; STIX, Computer Modern (cm*) and the math fonts
            # are symbol sets, not text faces
            if "Display" in name or "Math" in name or name.startswith(("STIX", "cm", "LastResort")):
                continue
            found.setdefault(f"font:{name}", path)
    return sorted(found.items())


def load_sources(
    photo_dirs: tuple[str, ...] = (),
    face_dirs: tuple[str, ...] = (),
    font_dirs: tuple[str, ...] = (),
) -> Sources:
    """Every built-in source plus the user folders. Deterministic order."""
    import matplotlib
    from skimage import data
    from sklearn.datasets import load_sample_images

    src = Sources()
    for name in SKIMAGE_NATURAL:
        src.photos.append((f"skimage:{name}", _rgb(getattr(data, name)())))
    sample = load_sample_images()
    for path, img in zip(sample.filenames, sample.images):
        src.photos.append((f"sklearn:{os.path.basename(path)}", _rgb(img)))
    hopper = os.path.join(matplotlib.get_data_path(), "sample_data", "grace_hopper.jpg")
    with Image.open(hopper) as im:
        hopper_img = _rgb(np.asarray(im.convert("RGB")))
    src.photos.append(("matplotlib:grace_hopper.jpg", hopper_img))
    for folder in photo_dirs:
        src.photos.extend(_load_folder(folder, f"user-photo:{os.path.basename(folder)}"))

    src.scans = [("skimage:page", _rgb(data.page())), ("skimage:text", _rgb(data.text()))]

    for i, face in enumerate(np.asarray(data.lfw_subset())[:100]):
        src.faces.append(Face(f"skimage:lfw_subset[{i}]", _rgb(face)))
    src.faces.append(Face("skimage:astronaut[face]", _rgb(data.astronaut())[ASTRONAUT_FACE]))
    src.faces.append(Face("matplotlib:grace_hopper.jpg[face]", hopper_img[60:420, 100:420]))
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
            src.faces.append(Face(sid, img, labels))

    src.fonts = find_fonts(tuple(font_dirs))
    if not src.fonts:
        raise RuntimeError("no TrueType font found (matplotlib's DejaVu fonts are missing?)")
    return src


def random_crop(img: np.ndarray, size: int, rng: np.random.Generator,
                scale_range: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """A ``size`` x ``size`` crop after a random rescale; small sources are upscaled first."""
    h, w = img.shape[:2]
    scale = max(size / min(h, w), rng.uniform(*scale_range) * size / min(h, w, 4 * size))
    if abs(scale - 1.0) > 1e-6:
        nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
        img = np.asarray(Image.fromarray(img).resize((nw, nh), Image.BICUBIC))
        h, w = img.shape[:2]
    y, x = int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))
    return np.ascontiguousarray(img[y:y + size, x:x + size])


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
