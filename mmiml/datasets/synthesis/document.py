"""SynthIML document task: text pages and receipts edited as a forger would.

A host page (a rendered page, receipt or table on textured paper, or a crop of a real scan) is
saved as JPEG at quality Q1 and decoded: that is ``original``. The forger edits the
*uncompressed* page (word replacement, character/word copy-move, erase + insert), saves the
edited page at Q2 and/or on an 8x8 grid shifted by (dx, dy), and pastes only the edited
rectangle into ``original``. The edit is visually consistent; its evidence is the different
compression history. The mask is exactly the pixels where ``image`` differs from ``original``.

Choices (ours): page font 7-16 px scaled to the image size; scan/print degradation (small
rotation, blur, noise) on 60% of rendered pages, before tampering; 25% of hosts are crops of
scikit-image's scanned pages; JPEG uses Pillow with 4:4:4 chroma like
``mmiml.datasets.transforms.jpeg``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .sources import Sources
from .types import SynthSample, changed_mask
from .typography import draw_text, rerender_params

__all__ = ["DOCUMENT_KINDS", "generate_document", "jpeg_cycle"]

DOCUMENT_KINDS = ("word_replace", "char_copy_move", "erase_insert")

_WORDS = (
    "the", "and", "for", "date", "total", "amount", "invoice", "account", "payment", "number",
    "name", "address", "signed", "agreement", "party", "contract", "bank", "transfer", "order",
    "client", "service", "period", "balance", "due", "paid", "credit", "debit", "tax", "net",
    "report", "office", "value", "terms", "notice", "policy", "record", "item", "price", "unit",
    "delivery", "issued", "valid", "until", "between", "hereby", "shall", "owner", "sum", "fee",
)
_ITEMS = (
    "Coffee", "Bread", "Milk", "Butter", "Apples", "Cheese", "Tea", "Juice", "Eggs", "Rice",
    "Pasta", "Sugar", "Water", "Soap", "Paper", "Pens", "Fuel", "Parking", "Taxi", "Lunch",
)


def jpeg_cycle(img: np.ndarray, quality: int, shift: tuple[int, int] = (0, 0)) -> np.ndarray:
    """Encode ``img`` as an in-memory JPEG and decode it.

    ``shift`` = (dx, dy) moves the content by that many pixels against the 8x8 grid (edge
    padding on the top/left, cropped off after decoding), so the blocks are misaligned with
    those of an unshifted encoding.
    """
    dx, dy = int(shift[0]), int(shift[1])
    src = np.pad(img, ((dy, 0), (dx, 0), (0, 0)), mode="edge") if dx or dy else img
    buf = io.BytesIO()
    Image.fromarray(src).save(buf, format="JPEG", quality=int(quality), subsampling=0)
    buf.seek(0)
    with Image.open(buf) as im:
        out = np.asarray(im.convert("RGB"))
    return np.ascontiguousarray(out[dy:, dx:])


@dataclass
class _Token:
    """A word (or a run of glyphs on a scan) the forger may edit."""

    box: tuple[int, int, int, int]  # page coords x0, y0, x1, y1 (exclusive); line-box height
    cuts: list[int]  # character boundaries (page x), len = characters + 1
    text: str | None = None  # None on scans: we do not read them
    origin: tuple[float, float] | None = None  # clean-page (x, baseline) it was drawn at


@dataclass
class _Page:
    pixels: np.ndarray  # HxWx3 uint8, uncompressed, degradation applied
    tokens: list[_Token]
    ink: tuple[int, int, int]
    font_id: str | None  # None for scans: the forger picks a similar font
    px: int
    matrix: np.ndarray  # 2x3 affine clean page -> page (the scan rotation)
    blur: float
    noise: float
    provenance: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Host pages
# ---------------------------------------------------------------------------------------------


def _paper(rng: np.random.Generator, size: int) -> tuple[np.ndarray, float]:
    """Off-white paper: a tint, low-frequency shading, grain and a few faint fibres."""
    tint = np.array([rng.uniform(236, 252), rng.uniform(233, 250), rng.uniform(222, 246)],
                    np.float32)
    shade = cv2.resize(rng.normal(0, 2.5, (4, 4)).astype(np.float32), (size, size),
                       interpolation=cv2.INTER_CUBIC)
    grain = float(rng.uniform(0.6, 2.2))
    paper = tint + shade[..., None] + rng.normal(0, grain, (size, size, 1)).astype(np.float32)
    fibres = np.zeros((size, size), np.float32)
    for _ in range(int(rng.integers(0, 6))):
        p = rng.integers(0, size, 2)
        q = p + rng.integers(-size // 6, size // 6 + 1, 2)
        cv2.line(fibres, (int(p[0]), int(p[1])), (int(q[0]), int(q[1])),
                 float(rng.uniform(4, 10)), 1, cv2.LINE_AA)
    paper -= cv2.GaussianBlur(fibres, (3, 3), 0.6)[..., None]
    return np.clip(paper, 0, 255).round().astype(np.uint8), grain


def _amount(rng: np.random.Generator) -> str:
    return f"{rng.uniform(0.5, 999):.2f}"


def _layout(rng: np.random.Generator, size: int, sources: Sources, draw: ImageDraw.ImageDraw,
            ink: tuple[int, int, int]) -> tuple[str, str, int, list[tuple[str, float, float]]]:
    """Draw a paragraph page, a receipt or a table; return (layout, font id, px, words)."""
    layout = str(rng.choice(["paragraph", "receipt", "table"], p=[0.4, 0.35, 0.25]))
    px = max(7, round(size * rng.uniform(0.07, 0.125)))
    if layout == "receipt" and rng.random() < 0.7:
        monos = [f for f, _ in sources.fonts if "Mono" in f]
        font_id = monos[int(rng.integers(len(monos)))] if monos else sources.font(rng, px)[0]
    else:
        font_id = sources.font(rng, px)[0]
    font = sources.font_named(font_id, px)
    ascent, descent = font.getmetrics()
    lead = ascent + descent + max(1, round(px * rng.uniform(0.15, 0.6)))
    margin = int(rng.integers(1, max(2, size // 10)))
    # start a little above the top at times: a crop of a larger page
    y = float(rng.integers(-lead // 2, lead)) + ascent
    words: list[tuple[str, float, float]] = []

    def put(text: str, x: float, base: float) -> None:
        draw.text((x, base), text, font=font, fill=ink, anchor="ls")
        words.append((text, x, base))

    space = font.getlength(" ")
    if layout == "paragraph":
        while y - ascent < size:
            x = float(margin + (rng.integers(0, 3 * px) if rng.random() < 0.15 else 0))
            while True:
                w = str(rng.choice(_WORDS))
                w = w.capitalize() if rng.random() < 0.15 else w
                if rng.random() < 0.1:
                    w = str(rng.integers(1, 9999))
                if x + font.getlength(w) > size - margin and words and words[-1][2] == y:
                    break
                put(w, x, y)
                x += font.getlength(w) + space
            y += lead
    elif layout == "receipt":
        right = size - margin
        while y - ascent < size:
            r = rng.random()
            if r < 0.12:
                draw.line([(margin, y - ascent / 2), (right, y - ascent / 2)], fill=ink, width=1)
            else:
                key = "TOTAL" if r < 0.2 else str(rng.choice(_ITEMS))
                put(key, float(margin), y)
                amount = _amount(rng)
                put(amount, right - font.getlength(amount), y)
            y += lead
    else:  # a small ruled table
        cols = int(rng.integers(2, 5))
        xs = np.linspace(margin, size - margin, cols + 1)
        row_h = lead + 2
        top = y - ascent - 2
        rows = int((size - top) // row_h) + 1
        for r in range(rows + 1):
            yy = top + r * row_h
            draw.line([(xs[0], yy), (xs[-1], yy)], fill=ink, width=1)
        for c in range(cols + 1):
            draw.line([(xs[c], top), (xs[c], top + rows * row_h)], fill=ink, width=1)
        for r in range(rows):
            base = top + r * row_h + 2 + ascent
            for c in range(cols):
                text = _amount(rng) if c == cols - 1 or rng.random() < 0.3 else \
                    str(rng.choice(_WORDS))
                if font.getlength(text) < xs[c + 1] - xs[c] - 3:
                    put(text, float(xs[c] + 2), base)
    return layout, font_id, px, words


def _rendered_page(rng: np.random.Generator, size: int, sources: Sources) -> _Page:
    paper, grain = _paper(rng, size)
    im = Image.fromarray(paper)
    draw = ImageDraw.Draw(im)
    tone = rng.uniform(10, 60)
    ink = (int(tone), int(tone), int(tone + (rng.uniform(20, 90) if rng.random() < 0.25 else 0)))
    layout, font_id, px, words = _layout(rng, size, sources, draw, ink)
    pixels = np.asarray(im)

    matrix = np.array([[1, 0, 0], [0, 1, 0]], np.float64)
    blur = noise = 0.0
    angle = 0.0
    if rng.random() < 0.6:  # scan/print degradation of the whole page, before any tampering
        angle = float(rng.uniform(-1.5, 1.5))
        matrix = cv2.getRotationMatrix2D((size / 2, size / 2), angle, 1.0)
        blur = float(rng.uniform(0.3, 0.7))
        noise = float(rng.uniform(0.5, 3.0))
        out = cv2.warpAffine(pixels, matrix, (size, size), flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
        out = cv2.GaussianBlur(out, (0, 0), blur)
        out += rng.normal(0, noise, out.shape[:2] + (1,)).astype(np.float32)
        pixels = np.clip(out, 0, 255).round().astype(np.uint8)

    font = sources.font_named(font_id, px)
    ascent, descent = font.getmetrics()
    tokens = []
    for text, x, base in words:
        x1 = x + font.getlength(text)
        box = _map_box(matrix, x, base - ascent, x1, base + descent, size)
        if box is None:
            continue
        cuts = [round(_map_pt(matrix, x + font.getlength(text[:i]), base)[0])
                for i in range(len(text) + 1)]
        tokens.append(_Token(box, cuts, text, (x, base)))
    return _Page(pixels, tokens, ink, font_id, px, matrix, blur, noise + grain,
                 ["procedural:paper", font_id],
                 {"host": "rendered", "layout": layout, "rotation_deg": round(angle, 3),
                  "scan_blur": round(blur, 3), "scan_noise": round(noise, 3)})


def _map_pt(matrix: np.ndarray, x: float, y: float) -> tuple[float, float]:
    return (matrix[0, 0] * x + matrix[0, 1] * y + matrix[0, 2],
            matrix[1, 0] * x + matrix[1, 1] * y + matrix[1, 2])


def _map_box(matrix: np.ndarray, x0: float, y0: float, x1: float, y1: float,
             size: int) -> tuple[int, int, int, int] | None:
    """Axis-aligned page box of a clean box; None unless fully inside with a 1 px margin."""
    pts = np.array([_map_pt(matrix, x, y) for x in (x0, x1) for y in (y0, y1)])
    bx0, by0 = np.floor(pts.min(0)).astype(int)
    bx1, by1 = np.ceil(pts.max(0)).astype(int)
    if bx0 < 1 or by0 < 1 or bx1 > size - 1 or by1 > size - 1 or bx1 - bx0 < 2:
        return None
    return int(bx0), int(by0), int(bx1), int(by1)


def _dark_mask(pixels: np.ndarray, kernel: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Ink pixels (darker than the local paper) and the local paper estimate (a closing)."""
    paper = cv2.morphologyEx(pixels, cv2.MORPH_CLOSE, np.ones((kernel, kernel), np.uint8))
    diff = paper.astype(np.int16).mean(2) - pixels.astype(np.int16).mean(2)
    return diff > 30, paper


def _scan_page(rng: np.random.Generator, size: int, sources: Sources) -> _Page | None:
    """A crop of a real scanned page, its glyph runs found by thresholding."""
    sid, scan = sources.scans[int(rng.integers(len(sources.scans)))]
    h, w = scan.shape[:2]
    scale = max(rng.uniform(0.8, 1.3), size / min(h, w))
    scaled = cv2.resize(scan, (max(size, round(w * scale)), max(size, round(h * scale))),
                        interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    for _ in range(4):
        y = int(rng.integers(0, scaled.shape[0] - size + 1))
        x = int(rng.integers(0, scaled.shape[1] - size + 1))
        pixels = np.ascontiguousarray(scaled[y:y + size, x:x + size])
        dark, _ = _dark_mask(pixels)
        joined = cv2.dilate(dark.astype(np.uint8), np.ones((1, 3), np.uint8))
        n, _, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
        tokens = []
        for x0, y0, bw, bh, _area in stats[1:]:
            if not (4 <= bh <= size // 4 and 3 <= bw <= size * 0.7):
                continue
            if x0 < 1 or y0 < 1 or x0 + bw > size - 1 or y0 + bh > size - 1:
                continue
            n_chars = max(1, round(bw / (0.6 * bh)))
            cuts = [int(x0 + round(i * bw / n_chars)) for i in range(n_chars + 1)]
            tokens.append(_Token((int(x0), int(y0), int(x0 + bw), int(y0 + bh)), cuts))
        if len(tokens) >= 2:
            ink = np.percentile(pixels[dark], 10, axis=0) if dark.any() else np.zeros(3)
            residual = pixels.astype(np.float32) - cv2.GaussianBlur(
                pixels.astype(np.float32), (5, 5), 0)
            noise = float(residual[~dark].std()) if (~dark).any() else 1.0
            px = int(np.median([t.box[3] - t.box[1] for t in tokens]))
            return _Page(pixels, tokens, tuple(int(v) for v in ink), None, px,
                         np.array([[1, 0, 0], [0, 1, 0]], np.float64), 0.5, noise, [sid],
                         {"host": "scan", "scan_scale": round(float(scale), 3),
                          "crop_xy": [x, y]})
    return None


# ---------------------------------------------------------------------------------------------
# Edits on the uncompressed page
# ---------------------------------------------------------------------------------------------


def _text_alpha(page: _Page, text: str, font: ImageFont.FreeTypeFont, x: float,
                base: float, tracking: float = 0.0) -> np.ndarray:
    """Alpha of ``text`` drawn on the clean page, then rotated and blurred like the page."""
    size = page.pixels.shape[0]
    layer = Image.new("L", (size, size), 0)
    draw_text(ImageDraw.Draw(layer), x, base, text, font, 255, tracking)
    alpha = np.asarray(layer, np.float32) / 255.0
    if not np.allclose(page.matrix, [[1, 0, 0], [0, 1, 0]]):
        alpha = cv2.warpAffine(alpha, page.matrix, (size, size), flags=cv2.INTER_LINEAR)
    if page.blur > 0:
        alpha = cv2.GaussianBlur(alpha, (0, 0), page.blur)
    return alpha


def _fill(rng: np.random.Generator, page: _Page, pixels: np.ndarray,
          box: tuple[int, int, int, int]) -> None:
    """Cover ``box`` with the local paper colour plus matching grain (a background patch)."""
    x0, y0, x1, y1 = box
    _, paper = _dark_mask(pixels, kernel=max(5, (page.px // 2) | 1))
    patch = paper[y0:y1, x0:x1].astype(np.float32)
    patch += rng.normal(0, page.noise, patch.shape[:2] + (1,)).astype(np.float32)
    pixels[y0:y1, x0:x1] = np.clip(patch, 0, 255).round().astype(np.uint8)


def _composite(pixels: np.ndarray, alpha: np.ndarray, ink: tuple[int, int, int]) -> None:
    ys, xs = np.nonzero(alpha > 1e-3)
    if ys.size == 0:
        return
    sl = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
    a = alpha[sl][..., None]
    out = pixels[sl].astype(np.float32) * (1 - a) + np.asarray(ink, np.float32) * a
    pixels[sl] = np.clip(out, 0, 255).round().astype(np.uint8)


def _alpha_box(alpha: np.ndarray) -> tuple[int, int, int, int] | None:
    ys, xs = np.nonzero(alpha > 1e-3)
    if ys.size == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def _union(*boxes: tuple[int, int, int, int] | None) -> tuple[int, int, int, int]:
    bs = [b for b in boxes if b is not None]
    return (min(b[0] for b in bs), min(b[1] for b in bs),
            max(b[2] for b in bs), max(b[3] for b in bs))


def _new_text(rng: np.random.Generator, old: str | None, font: ImageFont.FreeTypeFont,
              max_width: float | None) -> str:
    """Another word (or amount) of similar width; our choice: the narrowest of a few draws
    that fits ``max_width``, so the edit rarely runs into the next word."""
    numeric = old is not None and any(c.isdigit() for c in old)
    cands = []
    for _ in range(8):
        if numeric:  # same number of integer digits: a plausible forged amount
            d = sum(c.isdigit() for c in old.split(".")[0])
            t = str(rng.integers(10 ** (d - 1) if d > 1 else 0, 10 ** d))
            t += f".{rng.integers(0, 100):02d}" if "." in old else ""
        else:
            t = str(rng.choice(_WORDS + _ITEMS))
            if old and old[:1].isupper():
                t = t.capitalize()
        if t != old:
            cands.append(t)
    if max_width is not None:
        fitting = [t for t in cands if font.getlength(t) <= max_width]
        if fitting:
            return fitting[0]
    return min(cands, key=font.getlength)


def _page_font(rng: np.random.Generator, page: _Page, sources: Sources
               ) -> tuple[str, ImageFont.FreeTypeFont, dict[str, float]]:
    """The forger's font and re-rendering mismatches (:func:`rerender_params`): the page's own
    font at a slightly different size; for scans, a random face sized to the glyph runs (our
    choice)."""
    if page.font_id is not None:
        params = rerender_params(rng, page.px)
        return page.font_id, sources.font_named(page.font_id, int(params["px"])), params
    params = rerender_params(rng, max(6, round(page.px * 1.1)))
    font_id, font = sources.font(rng, int(params["px"]))
    return font_id, font, params


def _word_replace(rng: np.random.Generator, page: _Page, sources: Sources,
                  edited: np.ndarray) -> tuple[tuple[int, int, int, int], dict[str, Any]]:
    tok = page.tokens[int(rng.integers(len(page.tokens)))]
    font_id, font, render = _page_font(rng, page, sources)
    x0, y0, x1, y1 = tok.box
    new = _new_text(rng, tok.text, font, (x1 - x0) + page.px * 0.3)
    x, base = tok.origin if tok.origin is not None else (float(x0), float(y1 - 1))
    alpha = _text_alpha(page, new, font, x + render["dx"], base + render["dy"],
                        render["tracking"])
    _fill(rng, page, edited, tok.box)
    _composite(edited, alpha, page.ink)
    return _union(tok.box, _alpha_box(alpha)), {
        "old_text": tok.text, "new_text": new, "font": font_id, "font_px": int(font.size),
        "rerender": render, "target_box": list(tok.box)}


def _char_copy_move(rng: np.random.Generator, page: _Page, sources: Sources,
                    edited: np.ndarray) -> tuple[tuple[int, int, int, int], dict[str, Any]]:
    size = edited.shape[0]
    order = rng.permutation(len(page.tokens))
    src, dst = page.tokens[int(order[0])], page.tokens[int(order[1])]
    mode = "char" if rng.random() < 0.6 else "word"
    if mode == "char":
        i = int(rng.integers(len(src.cuts) - 1))
        j = int(rng.integers(len(dst.cuts) - 1))
        if src.text and dst.text:  # prefer a different character: a visible change
            diff = [jj for jj in range(len(dst.cuts) - 1) if dst.text[jj] != src.text[i]]
            j = int(rng.choice(diff)) if diff else j
        sx0, sx1 = src.cuts[i], max(src.cuts[i + 1], src.cuts[i] + 1)
        tx0, tx1 = dst.cuts[j], max(dst.cuts[j + 1], dst.cuts[j] + 1)
    else:
        sx0, sx1, tx0, tx1 = src.box[0], src.box[2], dst.box[0], dst.box[2]
    sy0, sy1 = src.box[1], src.box[3]
    ty0 = dst.box[1]
    patch = page.pixels[sy0:sy1, sx0:sx1]
    pw = min(patch.shape[1], size - tx0)
    ph = min(patch.shape[0], size - ty0)
    erase = (tx0, ty0, tx1, dst.box[3])
    _fill(rng, page, edited, erase)
    edited[ty0:ty0 + ph, tx0:tx0 + pw] = patch[:ph, :pw]
    return _union(erase, (tx0, ty0, tx0 + pw, ty0 + ph)), {
        "mode": mode, "source_box": [int(sx0), int(sy0), int(sx1), int(sy1)],
        "target_xy": [int(tx0), int(ty0)], "source_text": src.text, "target_text": dst.text}


def _erase_insert(rng: np.random.Generator, page: _Page, sources: Sources,
                  edited: np.ndarray) -> tuple[tuple[int, int, int, int], dict[str, Any]]:
    size = edited.shape[0]
    tok = page.tokens[int(rng.integers(len(page.tokens)))]
    x0, y0, x1, y1 = tok.box
    # erase by inpainting the ink pixels of the word (a crop around it, for speed)
    pad = 6
    cx0, cy0, cx1, cy1 = max(0, x0 - pad), max(0, y0 - pad), min(size, x1 + pad), \
        min(size, y1 + pad)
    crop = edited[cy0:cy1, cx0:cx1].copy()
    dark, _ = _dark_mask(crop, kernel=max(5, (page.px // 2) | 1))
    hole = np.zeros(dark.shape, np.uint8)
    hole[y0 - cy0:y1 - cy0, x0 - cx0:x1 - cx0] = dark[y0 - cy0:y1 - cy0, x0 - cx0:x1 - cx0]
    if not hole.any():  # faint glyphs: take the whole box
        hole[y0 - cy0:y1 - cy0, x0 - cx0:x1 - cx0] = 1
    hole = cv2.dilate(hole, np.ones((3, 3), np.uint8))
    edited[cy0:cy1, cx0:cx1] = cv2.inpaint(crop, hole, 3, cv2.INPAINT_TELEA)
    ys, xs = np.nonzero(hole)
    erased = (cx0 + int(xs.min()), cy0 + int(ys.min()), cx0 + int(xs.max()) + 1,
              cy0 + int(ys.max()) + 1)

    font_id, font, render = _page_font(rng, page, sources)
    new = _new_text(rng, tok.text, font, None)
    x, base = tok.origin if tok.origin is not None else (float(x0), float(y1 - 1))
    where = "same_place"
    if rng.random() < 0.5:  # insert into a blank stretch of paper instead, when there is one
        ascent, descent = font.getmetrics()
        tw, th = int(np.ceil(font.getlength(new))) + 4, ascent + descent + 2
        if tw < size - 2 and th < size - 2:
            ink = _dark_mask(edited)[0].astype(np.int32)
            integral = np.pad(ink.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
            for _ in range(30):
                bx, by = int(rng.integers(1, size - tw)), int(rng.integers(1, size - th))
                s = integral[by + th, bx + tw] - integral[by, bx + tw] - integral[by + th, bx] \
                    + integral[by, bx]
                if s == 0:
                    # blank in page coords; draw in clean coords (inverse of the page rotation)
                    inv = cv2.invertAffineTransform(page.matrix)
                    x, base = _map_pt(inv, bx + 2.0, by + 1.0 + ascent)
                    where = "blank"
                    break
    alpha = _text_alpha(page, new, font, x + render["dx"], base + render["dy"],
                        render["tracking"])
    _composite(edited, alpha, page.ink)
    return _union(erased, _alpha_box(alpha)), {
        "erased_text": tok.text, "erased_box": list(tok.box), "new_text": new,
        "insert_at": where, "font": font_id, "font_px": int(font.size), "rerender": render}


_EDITS = {"word_replace": _word_replace, "char_copy_move": _char_copy_move,
          "erase_insert": _erase_insert}


def _second_compression(rng: np.random.Generator, q1: int) -> tuple[str, int, tuple[int, int]]:
    """The forger's save: another quality, a shifted grid, or both (never the same history)."""
    mode = str(rng.choice(["quality", "grid", "both"], p=[0.4, 0.35, 0.25]))
    q2, shift = q1, (0, 0)
    if mode in ("quality", "both"):
        delta = int(rng.integers(5, 21)) * (1 if rng.random() < 0.5 else -1)
        q2 = int(np.clip(q1 + delta, 60, 100))
        q2 = q2 if q2 != q1 else (q1 - 5 if q1 > 65 else q1 + 5)
    if mode in ("grid", "both"):
        q2 = int(np.clip(q2 + rng.integers(-2, 3), 60, 100)) if mode == "grid" else q2
        while shift == (0, 0):
            shift = (int(rng.integers(0, 8)), int(rng.integers(0, 8)))
    return mode, q2, shift


def generate_document(rng: np.random.Generator, size: int, sources: Sources, authentic: bool,
                      kind: str | None = None) -> SynthSample:
    """One document sample of ``size`` x ``size`` px (``final_jpeg='high'``).

    Args:
        rng: the only source of randomness (same seed -> identical sample).
        size: output side in px.
        sources: the pools (fonts, scans).
        authentic: return the untouched host (mask None).
        kind: one of :data:`DOCUMENT_KINDS`; random when None.
    """
    if kind is not None and kind not in DOCUMENT_KINDS:
        raise ValueError(f"unknown document kind {kind!r}; expected one of {DOCUMENT_KINDS}")
    kind = kind or str(rng.choice(DOCUMENT_KINDS))
    for _ in range(10):
        page = _scan_page(rng, size, sources) if rng.random() < 0.25 else None
        page = page or _rendered_page(rng, size, sources)
        if len(page.tokens) < 2:
            continue
        q1 = int(rng.integers(70, 96))
        original = jpeg_cycle(page.pixels, q1)
        details: dict[str, Any] = {**page.details, "q1": q1}
        if authentic:
            return SynthSample(original, original, None, "authentic", page.provenance, details,
                               final_jpeg="high")
        edited = page.pixels.copy()
        box, edit_details = _EDITS[kind](rng, page, sources, edited)
        pad = int(rng.integers(1, 4))  # the forger's selection is a little larger than the edit
        x0, y0 = max(0, box[0] - pad), max(0, box[1] - pad)
        x1, y1 = min(size, box[2] + pad), min(size, box[3] + pad)
        mode, q2, shift = _second_compression(rng, q1)
        decoded = jpeg_cycle(edited, q2, shift)
        image = original.copy()
        image[y0:y1, x0:x1] = decoded[y0:y1, x0:x1]
        mask = changed_mask(image, original)
        if not mask.any():
            continue
        details.update(edit_details, q2=q2, grid_shift=list(shift), recompression=mode,
                       paste_box=[int(x0), int(y0), int(x1), int(y1)])
        # the region is the forger's pasted box (what text-forgery datasets label)
        region = np.zeros(mask.shape, np.uint8)
        region[y0:y1, x0:x1] = 1
        return SynthSample(image, original, mask, kind, page.provenance, details,
                           final_jpeg="high", region=region)
    raise RuntimeError(f"could not generate a {kind} document sample at {size} px")
