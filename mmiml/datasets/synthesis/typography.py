"""Text drawing shared by the document and scene-text tasks, and the forger's re-rendering.

A forger who re-types a word rarely matches the original exactly (our choice, after what text
forensics looks for): the font size is off by a few percent, the word sits a pixel off the line,
and the letter spacing (tracking) differs. :func:`rerender_params` draws those mismatches and
:func:`draw_text` applies them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import ImageDraw, ImageFont


def draw_text(draw: ImageDraw.ImageDraw, x: float, base: float, text: str,
              font: ImageFont.FreeTypeFont, fill: Any, tracking: float = 0.0) -> None:
    """``text`` with its baseline at ``(x, base)``; ``tracking`` px added after every character
    (drawn one character at a time, advancing by the font's own advance widths)."""
    if tracking == 0.0:
        draw.text((x, base), text, font=font, fill=fill, anchor="ls")
        return
    for i, ch in enumerate(text):
        # the advance of the prefix keeps the font's kerning inside the word
        cx = x + font.getlength(text[:i]) + i * tracking
        draw.text((cx, base), ch, font=font, fill=fill, anchor="ls")


def text_length(text: str, font: ImageFont.FreeTypeFont, tracking: float = 0.0) -> float:
    return font.getlength(text) + tracking * max(0, len(text) - 1)


def rerender_params(rng: np.random.Generator, px: int) -> dict[str, float]:
    """Mismatches of a re-typed word (our choice): size x0.94-1.06 (never the same px when it
    can differ), offsets of up to 1 px, and half the time a tracking of +-3..8 % of the size."""
    ratio = float(rng.uniform(0.94, 1.06))
    new_px = max(6, round(px * ratio))
    dx, dy = (float(v) for v in rng.uniform(-1.0, 1.0, 2))
    tracking = 0.0
    if rng.random() < 0.5:
        tracking = float(rng.uniform(0.03, 0.08) * px * (1 if rng.random() < 0.5 else -1))
    return {"px": new_px, "dx": round(dx, 3), "dy": round(dy, 3), "tracking": round(tracking, 3)}
