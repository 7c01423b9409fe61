"""SynthIML scene-text task: words on photographs, then replaced, altered or erased.

The host is a photo crop with 1-3 words rendered on a text layer, warped in perspective
(``cv2.warpPerspective``) and alpha-blended with a colour that contrasts with the local
background, a slight shading gradient and an opacity; sometimes on a sign board. That
text-bearing photo is ``original`` (authentic samples are exactly it). A forger then
re-renders one word with the same font, colour, shading and warp (``word_replace``), changes
one or two of its characters (``char_alter``), or erases text with ``cv2.inpaint``
(``text_erase``). The mask is exactly the pixels where ``image`` differs from ``original``.

Choices (ours): font 13-24 % of the image side; 35 % of hosts carry a board; on a board the
forger repaints the board itself (a clone of its colour), elsewhere he inpaints (Telea).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .natural import camera_crop
from .sources import Sources
from .types import SynthSample, changed_mask
from .typography import draw_text, rerender_params, text_length

__all__ = ["SCENE_TEXT_KINDS", "generate_scene_text"]

SCENE_TEXT_KINDS = ("word_replace", "char_alter", "text_erase")

_WORDS = (
    "OPEN", "SALE", "EXIT", "STOP", "CAFE", "HOTEL", "PARK", "BANK", "SHOP", "CITY", "ROAD",
    "BAR", "BOOKS", "FOOD", "MARKET", "STATION", "PHARMACY", "BAKERY", "MUSEUM", "POLICE",
    "taxi", "pizza", "north", "street", "garden", "bistro", "closed", "welcome", "free", "live",
    "Music", "Tickets", "Office", "Dental", "Studio", "Hall", "Club", "Motel", "Kiosk", "Deli",
    "24h", "2019", "No.7", "50%", "1.99",
)


@dataclass
class _Scene:
    background: np.ndarray  # HxWx3 float32, the photo crop before any text
    board_alpha: np.ndarray | None  # HxW float32 in [0, 1]
    board_colour: np.ndarray | None  # HxWx3 float32 (shaded)
    word_alpha: list[np.ndarray]  # per word, HxW float32 in [0, 1] (already times opacity)
    text_colour: np.ndarray  # HxWx3 float32 (shaded)
    original: np.ndarray  # HxWx3 uint8
    texts: list[str]
    xs: list[float]  # word x on the text canvas
    base: float  # baseline on the text canvas
    canvas: tuple[int, int]
    homography: np.ndarray
    font_id: str
    px: int
    opacity: float
    provenance: list[str]
    details: dict[str, Any]


def _shaded(rng: np.random.Generator, colour: np.ndarray, size: int) -> np.ndarray:
    """``colour`` times a gentle linear gradient: light falling unevenly on the text/board."""
    a, b = rng.uniform(-0.25, 0.25, 2)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size - 0.5
    gain = 1.0 + a * xx + b * yy
    return np.clip(colour[None, None, :] * gain[..., None], 0, 255).astype(np.float32)


def _contrasting(rng: np.random.Generator, mean: np.ndarray) -> np.ndarray:
    """A colour that stands out from ``mean``: dark on light grounds, light on dark ones."""
    lum = float(mean @ np.array([0.299, 0.587, 0.114]))
    if rng.random() < 0.5:  # near-grey
        base = rng.uniform(0, 60) if lum > 128 else rng.uniform(200, 255)
        return np.clip(base + rng.normal(0, 8, 3), 0, 255).astype(np.float32)
    hue = np.zeros((1, 1, 3), np.uint8)
    hue[0, 0] = (int(rng.integers(0, 180)), int(rng.integers(150, 256)),
                 int(rng.integers(40, 110)) if lum > 128 else int(rng.integers(200, 256)))
    return cv2.cvtColor(hue, cv2.COLOR_HSV2RGB)[0, 0].astype(np.float32)


def _word_layer(text: str, x: float, base: float, font: ImageFont.FreeTypeFont,
                canvas: tuple[int, int], homography: np.ndarray, size: int,
                tracking: float = 0.0) -> np.ndarray:
    """One word drawn on the flat text canvas, then warped onto the photo."""
    layer = Image.new("L", canvas, 0)
    draw_text(ImageDraw.Draw(layer), x, base, text, font, 255, tracking)
    flat = np.asarray(layer, np.float32) / 255.0
    return cv2.warpPerspective(flat, homography, (size, size), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def _blend(under: np.ndarray, alpha: np.ndarray, colour: np.ndarray) -> np.ndarray:
    a = alpha[..., None]
    return under * (1 - a) + colour * a


def _to_u8(img: np.ndarray) -> np.ndarray:
    return np.clip(img, 0, 255).round().astype(np.uint8)


def _compose(scene: _Scene, alphas: list[np.ndarray]) -> np.ndarray:
    img = scene.background
    if scene.board_alpha is not None:
        img = _blend(img, scene.board_alpha, scene.board_colour)
    for a in alphas:
        img = _blend(img, a, scene.text_colour)
    return img


def _make_scene(rng: np.random.Generator, size: int, sources: Sources) -> _Scene | None:
    photo_id, photo = sources.urban_photo(rng)
    # the photo through its source's camera (as natural hosts)
    crop, camera = camera_crop(rng, photo_id, photo, size, (1.0, 2.0))
    background = crop.astype(np.float32)
    px = max(8, round(size * rng.uniform(0.09, 0.22)))
    font_id, font = sources.font(rng, px)
    n_words = int(rng.integers(1, 4))
    texts = [str(rng.choice(_WORDS)) for _ in range(n_words)]
    space = font.getlength(" ")
    # fewer words when the line would need shrinking by more than 2x to fit
    while len(texts) > 1 and sum(font.getlength(t) for t in texts) > 1.6 * size:
        texts.pop()
    ascent, descent = font.getmetrics()
    pad = max(2, px // 3)
    xs, x = [], float(pad)
    for t in texts:
        xs.append(x)
        x += font.getlength(t) + space
    cw, ch = int(np.ceil(x - space + pad)), ascent + descent + 2 * pad
    base = float(pad + ascent)

    # perspective: a rotated, scaled rectangle with jittered corners, kept inside the image
    scale = min(rng.uniform(0.8, 1.2), 0.92 * size / cw, 0.6 * size / ch)
    theta = np.deg2rad(rng.uniform(-15, 15))
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    rect = np.array([[-cw, -ch], [cw, -ch], [cw, ch], [-cw, ch]], np.float64) * scale / 2
    quad = rect @ rot.T + rng.uniform(-0.07, 0.07, (4, 2)) * np.array([cw, ch]) * scale
    lo, hi = quad.min(0), quad.max(0)
    if (hi - lo).max() > size - 2:
        return None
    # anywhere in the frame, up to a third of the line outside it (signs are cut by the frame
    # too): no location prior
    out = (hi - lo) / 3
    shift = np.array([rng.uniform(1 - lo[0] - out[0], size - 1 - hi[0] + out[0]),
                      rng.uniform(1 - lo[1] - out[1], size - 1 - hi[1] + out[1])])
    quad += shift
    src = np.array([[0, 0], [cw, 0], [cw, ch], [0, ch]], np.float32)
    homography = cv2.getPerspectiveTransform(src, quad.astype(np.float32))

    opacity = float(rng.uniform(0.8, 1.0))
    alphas = [_word_layer(t, xx, base, font, (cw, ch), homography, size) * opacity
              for t, xx in zip(texts, xs)]
    footprint = np.maximum.reduce(alphas) > 0.1
    if footprint.sum() < 6:
        return None

    board_alpha = board_colour = None
    under = background[footprint].mean(0)
    if rng.random() < 0.35:  # a sign board behind the text
        flat = np.ones((ch, cw), np.float32)
        board_alpha = cv2.warpPerspective(flat, homography, (size, size), flags=cv2.INTER_LINEAR)
        board_colour = _shaded(rng, _contrasting(rng, background[board_alpha > 0.5].mean(0)),
                               size)
        under = board_colour[footprint].mean(0)
    text_colour = _shaded(rng, _contrasting(rng, under), size)
    scene = _Scene(background, board_alpha, board_colour, alphas, text_colour,
                   np.empty(0, np.uint8), texts, xs, base, (cw, ch), homography, font_id, px,
                   opacity, [photo_id, font_id],
                   {"texts": texts, "font": font_id, "font_px": px, "host_camera": camera,
                    "board": board_alpha is not None, "opacity": round(opacity, 3),
                    "homography": [[round(float(v), 5) for v in row] for row in homography]})
    scene.original = _to_u8(_compose(scene, alphas))
    return scene


def _word_box(scene: _Scene, font: ImageFont.FreeTypeFont, x: float, width: float
              ) -> np.ndarray:
    """The word's box (its advance width by the font's ascent and descent, 1 px margin) on the
    text canvas, warped onto the photo and filled: the region text datasets label."""
    ascent, descent = font.getmetrics()
    x0, x1 = x - 1.0, x + width + 1.0
    y0, y1 = scene.base - ascent - 1.0, scene.base + descent + 1.0
    corners = np.array([[[x0, y0], [x1, y0], [x1, y1], [x0, y1]]], np.float32)
    quad = cv2.perspectiveTransform(corners, scene.homography)[0]
    size = scene.original.shape[0]
    box = np.zeros((size, size), np.uint8)
    cv2.fillConvexPoly(box, np.round(quad * 16).astype(np.int32), 1, lineType=cv2.LINE_8,
                       shift=4)
    return box


def _inpaint(img: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """Telea inpainting of ``hole`` on a crop around it (fast), pasted back into a copy."""
    size = img.shape[0]
    ys, xs = np.nonzero(hole)
    y0, y1 = max(0, ys.min() - 8), min(size, ys.max() + 9)
    x0, x1 = max(0, xs.min() - 8), min(size, xs.max() + 9)
    out = img.copy()
    out[y0:y1, x0:x1] = cv2.inpaint(img[y0:y1, x0:x1], hole[y0:y1, x0:x1].astype(np.uint8), 3,
                                    cv2.INPAINT_TELEA)
    return out


def _altered(rng: np.random.Generator, word: str) -> tuple[str, list[int]]:
    """``word`` with 1-2 characters changed to others of the same class (case, digit)."""
    letters = [i for i, c in enumerate(word) if c.isalnum()]
    picks = sorted(rng.choice(letters, size=min(len(letters), int(rng.integers(1, 3))),
                              replace=False).tolist())
    chars = list(word)
    for i in picks:
        c = chars[i]
        pool = "0123456789" if c.isdigit() else \
            "ABCDEFGHIJKLMNOPRSTUVWY" if c.isupper() else "abcdefghijkmnoprstuvwy"
        chars[i] = str(rng.choice([p for p in pool if p != c]))
    return "".join(chars), [int(i) for i in picks]


def _tamper(rng: np.random.Generator, scene: _Scene, kind: str,
            sources: Sources) -> SynthSample | None:
    size = scene.original.shape[0]
    font = sources.font_named(scene.font_id, scene.px)
    # only a word in view can be edited (a line may run off the frame)
    visible = [i for i, a in enumerate(scene.word_alpha) if int((a > 0.1).sum()) >= 6]
    if not visible:
        return None
    k = visible[int(rng.integers(len(visible)))]
    old_alpha = scene.word_alpha[k]
    original = scene.original
    details: dict[str, Any] = dict(scene.details, word_index=k, old_text=scene.texts[k])
    kernel = np.ones((3, 3), np.uint8)

    if kind == "text_erase":
        erased = [k] if len(visible) == 1 or rng.random() < 0.7 else visible
        hole = cv2.dilate((np.maximum.reduce([scene.word_alpha[i] for i in erased]) > 0.02)
                          .astype(np.uint8), kernel)
        if scene.board_alpha is not None:  # repaint the board: its colour is known
            keep = [a for i, a in enumerate(scene.word_alpha) if i not in erased]
            filled = _to_u8(_compose(scene, keep))
        else:
            filled = _inpaint(original, hole)
        region = hole.astype(bool)
        labelled = np.maximum.reduce([_word_box(scene, font, scene.xs[i],
                                                font.getlength(scene.texts[i]))
                                      for i in erased]) | hole
        details.update(erased_words=erased, method="board" if scene.board_alpha is not None
                       else "inpaint_telea")
    else:
        # room up to the next word (or the canvas edge): the new word must not run into it
        space = font.getlength(" ")
        limit = (scene.xs[k + 1] - 0.5 * space if k + 1 < len(scene.xs)
                 else scene.canvas[0] - 1) - scene.xs[k]
        if kind == "word_replace":
            pool = [w for w in _WORDS if w != scene.texts[k]]
            fits = [w for w in pool if font.getlength(w) <= limit]
            new = str(rng.choice(fits)) if fits else min(pool, key=font.getlength)
            details["new_text"] = new
        else:
            for _ in range(6):
                new, picks = _altered(rng, scene.texts[k])
                if font.getlength(new) <= limit:
                    break
            details.update(new_text=new, altered_chars=picks)
        # the forger re-types the word: a little off in size, place and spacing
        render = rerender_params(rng, scene.px)
        new_font = sources.font_named(scene.font_id, int(render["px"]))
        new_alpha = _word_layer(new, scene.xs[k] + render["dx"], scene.base + render["dy"],
                                new_font, scene.canvas, scene.homography, size,
                                render["tracking"]) * scene.opacity
        details["rerender"] = render
        # the ground under the edit: board repainted, or the old glyphs inpainted away
        if scene.board_alpha is not None:
            others = [a for i, a in enumerate(scene.word_alpha) if i != k]
            under = _compose(scene, others)
        else:
            hole = cv2.dilate((old_alpha > 0.02).astype(np.uint8), kernel)
            under = _inpaint(original, hole).astype(np.float32)
        filled = _to_u8(_blend(under, new_alpha, scene.text_colour))
        # only where the glyphs differ (plus a 1 px seam): unchanged characters stay as they are
        region = cv2.dilate((np.abs(new_alpha - old_alpha) > 1e-3).astype(np.uint8),
                            kernel).astype(bool)
        new_width = text_length(new, new_font, render["tracking"])
        labelled = np.maximum(
            _word_box(scene, font, scene.xs[k], font.getlength(scene.texts[k])),
            _word_box(scene, new_font, scene.xs[k] + render["dx"], new_width)) | region
    image = original.copy()
    image[region] = filled[region]
    mask = changed_mask(image, original)
    if not mask.any():
        return None
    return SynthSample(image, original, mask, kind, scene.provenance, details,
                       region=labelled.astype(np.uint8))


def generate_scene_text(rng: np.random.Generator, size: int, sources: Sources, authentic: bool,
                        kind: str | None = None) -> SynthSample:
    """One scene-text sample of ``size`` x ``size`` px.

    Args:
        rng: the only source of randomness (same seed -> identical sample).
        size: output side in px.
        sources: the pools (photos, fonts).
        authentic: return the text-bearing photo untouched (mask None).
        kind: one of :data:`SCENE_TEXT_KINDS`; random when None.
    """
    if kind is not None and kind not in SCENE_TEXT_KINDS:
        raise ValueError(f"unknown scene-text kind {kind!r}; expected one of {SCENE_TEXT_KINDS}")
    kind = kind or str(rng.choice(SCENE_TEXT_KINDS))
    for _ in range(10):
        scene = _make_scene(rng, size, sources)
        if scene is None:
            continue
        if authentic:
            return SynthSample(scene.original, scene.original, None, "authentic",
                               scene.provenance, scene.details)
        sample = _tamper(rng, scene, kind, sources)
        if sample is not None:
            return sample
    raise RuntimeError(f"could not generate a {kind} scene-text sample at {size} px")
