"""DemoSplices: a small four-task splicing set built from photos that scikit-image ships.

It exists so that a fresh clone can train and test a model end to end on CPU without any
download. It is deliberately simple (our choice): every tampered image is a host crop into which
a region from another photo of the same task (or a shifted region of itself: copy-move) is
pasted after resampling and added noise, so the region carries a noise/resampling trace a CNN
can learn within a few hundred iterations. The full synthetic benchmark (SynthIML) is separate.

Hosts per task: natural photos; documents (a scanned page and rendered text pages); faces
(Labeled-Faces-in-the-Wild crops and the astronaut's face); scene text (a photo of a sign and
signs rendered onto photos).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from mmiml import TASKS

from .manifest import write_manifest

WORDS = (
    "invoice total amount date paid account number bank transfer contract signed name address "
    "city street open closed exit sale price coffee hotel station north south market pharmacy"
).split()


def _skimage_photos(names: list[str]) -> list[np.ndarray]:
    from skimage import data  # shipped inside the wheel; nothing is downloaded

    photos = []
    for name in names:
        img = np.asarray(getattr(data, name)())
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=2)
        photos.append(np.ascontiguousarray(img[..., :3]).astype(np.uint8))
    return photos


def _rendered_page(rng: np.random.Generator, size: int) -> np.ndarray:
    paper = tuple(int(v) for v in rng.integers(225, 256, 3))
    page = Image.new("RGB", (size * 2, size * 2), paper)
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default()
    y = int(rng.integers(2, 10))
    while y < page.height - 10:
        line = " ".join(rng.choice(WORDS, size=int(rng.integers(3, 8))))
        ink = tuple(int(v) for v in rng.integers(0, 70, 3))
        draw.text((int(rng.integers(2, 20)), y), line, fill=ink, font=font)
        y += int(rng.integers(11, 16))
    return np.asarray(page)


def _sign_on_photo(photo: np.ndarray, rng: np.random.Generator, size: int) -> np.ndarray:
    crop = _random_crop(photo, size * 2, rng)
    img = Image.fromarray(crop)
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default()
    for _ in range(int(rng.integers(2, 5))):
        x0, y0 = int(rng.integers(0, size)), int(rng.integers(0, size * 2 - 24))
        board = tuple(int(v) for v in rng.integers(0, 256, 3))
        text = " ".join(rng.choice(WORDS, size=int(rng.integers(1, 3)))).upper()
        x1 = min(size * 2 - 1, x0 + 7 * len(text) + 8)
        draw.rectangle((x0, y0, x1, y0 + 18), fill=board)
        ink = tuple(255 - v for v in board)
        draw.text((x0 + 4, y0 + 4), text, fill=ink, font=font)
    return np.asarray(img)


def _random_crop(img: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    h, w = img.shape[:2]
    if min(h, w) < size:  # upscale small sources (LFW faces are 25x25)
        scale = size / min(h, w)
        img = np.asarray(
            Image.fromarray(img).resize((round(w * scale) + 1, round(h * scale) + 1),
                                        Image.BICUBIC))
        h, w = img.shape[:2]
    y, x = int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))
    return img[y:y + size, x:x + size].copy()


def _host_sources(size: int) -> dict[str, Callable[[np.random.Generator], np.ndarray]]:
    from skimage import data

    natural = _skimage_photos(
        ["astronaut", "chelsea", "coffee", "rocket", "camera", "coins", "grass", "gravel", "brick"])
    scans = _skimage_photos(["page"])
    faces = [np.repeat((f * 255).astype(np.uint8)[..., None], 3, axis=2)
             for f in np.asarray(data.lfw_subset())[:100]]
    faces.append(_skimage_photos(["astronaut"])[0][20:240, 140:340])
    sign = _skimage_photos(["text"])

    def natural_host(rng):
        return _random_crop(natural[int(rng.integers(len(natural)))], size, rng)

    def document_host(rng):
        if rng.random() < 0.3:
            return _random_crop(scans[0], size, rng)
        return _random_crop(_rendered_page(rng, size), size, rng)

    def face_host(rng):
        return _random_crop(faces[int(rng.integers(len(faces)))], size, rng)

    def scene_text_host(rng):
        if rng.random() < 0.3:
            return _random_crop(sign[0], size, rng)
        return _random_crop(_sign_on_photo(natural[int(rng.integers(len(natural)))], rng, size),
                            size, rng)

    return {"natural": natural_host, "document": document_host, "face": face_host,
            "scene_text": scene_text_host}


def _region_mask(size: int, rng: np.random.Generator) -> np.ndarray:
    """A rectangle, ellipse or polygon covering roughly 4-25% of the image."""
    side = int(size * rng.uniform(0.2, 0.5))
    x0, y0 = int(rng.integers(0, size - side)), int(rng.integers(0, size - side))
    canvas = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(canvas)
    shape = rng.integers(3)
    if shape == 0:
        draw.rectangle((x0, y0, x0 + side, y0 + int(side * rng.uniform(0.5, 1))), fill=255)
    elif shape == 1:
        draw.ellipse((x0, y0, x0 + side, y0 + side), fill=255)
    else:
        angles = np.sort(rng.uniform(0, 2 * np.pi, 7))
        cx, cy, r = x0 + side / 2, y0 + side / 2, side / 2
        radii = r * rng.uniform(0.6, 1.0, 7)
        draw.polygon([(cx + a * np.cos(t), cy + a * np.sin(t)) for t, a in zip(angles, radii)],
                     fill=255)
    return (np.asarray(canvas) > 127).astype(np.uint8)


def _trace(patch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Resample, re-light and add noise so the pasted region differs from its host.

    Splices in the wild carry several such traces at once: blur from resizing, an illumination
    mismatch and a different sensor noise level (our choice of strengths, tuned so a small
    model trained from scratch on CPU finds the regions within a few hundred iterations).
    """
    h, w = patch.shape[:2]
    scale = rng.uniform(0.3, 0.6)
    small = Image.fromarray(patch).resize((max(1, int(w * scale)), max(1, int(h * scale))),
                                          Image.BILINEAR)
    patch = np.asarray(small.resize((w, h), Image.BILINEAR)).astype(np.float32)
    # white-balance and exposure mismatch: per-channel gains, as from another camera
    gains = rng.uniform(0.6, 1.4, 3)
    patch = patch * gains + rng.uniform(-25, 25)
    patch += rng.normal(0, rng.uniform(8, 16), patch.shape)
    return np.clip(patch, 0, 255).astype(np.uint8)


def make_demo_splices(
    out_dir: str | Path,
    *,
    num_train: int = 800,
    num_test: int = 80,
    size: int = 128,
    tampered_ratio: float = 0.75,
    seed: int = 0,
) -> Path:
    """Write images, masks and ``manifest.jsonl`` under ``out_dir``; return the manifest path.

    Samples cycle over the four tasks. The output is a pure function of the arguments.
    """
    out = Path(out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "masks").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    hosts = _host_sources(size)
    entries = []
    for index in range(num_train + num_test):
        split = "train" if index < num_train else "test"
        task = TASKS[index % len(TASKS)]
        img = hosts[task](rng)
        record = {"image": "", "mask": None, "task": task, "source": "demo_splices",
                  "split": split, "manipulation": "authentic"}
        if rng.random() < tampered_ratio:
            mask = _region_mask(size, rng)
            if rng.random() < 0.3:  # copy-move: a shifted region of the host itself
                donor = np.roll(img, (int(rng.integers(16, size - 16)),) * 2, axis=(0, 1))
                record["manipulation"] = "copy_move"
            else:
                donor = hosts[task](rng)
                record["manipulation"] = "splice"
            img = np.where(mask[..., None] == 1, _trace(donor, rng), img)
            mask_path = out / f"masks/{index:05d}.png"
            Image.fromarray(mask * 255).save(mask_path)
            record["mask"] = str(mask_path)
        # Documents stay lossless (scans are often PNG); other tasks are JPEG like their sources.
        if task == "document":
            image_path = out / f"images/{index:05d}.png"
            Image.fromarray(img).save(image_path)
        else:
            image_path = out / f"images/{index:05d}.jpg"
            Image.fromarray(img).save(image_path, quality=int(rng.integers(90, 101)))
        record["image"] = str(image_path)
        entries.append(record)
    manifest = out / "manifest.jsonl"
    write_manifest(entries, manifest)
    return manifest
