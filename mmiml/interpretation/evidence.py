"""The evidence summary: a deterministic text built from a prediction, always produced, with or
without a language model (our choice: the model's description is checked against it)."""
from __future__ import annotations

from typing import Any

from mmiml.apis.inference import IMLPrediction

__all__ = ["evidence_summary"]


def _percent(share: float) -> str:
    value = 100.0 * share
    return f"{value:.1f}%" if value >= 0.1 or value == 0 else "<0.1%"


def evidence_summary(pred: IMLPrediction, task: str | None = None,
                     max_regions: int = 5) -> str:
    """The prediction in words: the task, the image score, the number of regions and, for the
    ``max_regions`` largest, their position, area share and mean score; Omni-IML's gate
    route. The same prediction gives the same text, byte for byte."""
    h, w = pred.mask.shape
    task = task or pred.task or "unknown"
    lines = [f"Task: {task}. Image: {w}x{h} px.",
             f"Image-level manipulation score: {pred.score:.3f} ({pred.score_source}); "
             f"mask threshold {pred.threshold:.2f}; {_percent(float(pred.mask.mean()))} of the "
             "pixels marked as manipulated."]
    regions: list[dict[str, Any]] = pred.regions
    if not regions:
        lines.append("No manipulated region was found at this threshold.")
    else:
        lines.append(f"{len(regions)} manipulated region{'s' if len(regions) > 1 else ''}"
                     + (f" (the {max_regions} largest listed)" if len(regions) > max_regions
                        else "") + ":")
        for i, r in enumerate(regions[:max_regions], 1):
            x1, y1, x2, y2 = r["box"]
            lines.append(f"{i}. {r['position']}: {_percent(r['area_share'])} of the image, "
                         f"box x {x1}-{x2}, y {y1}-{y2}, mean score {r['mean_score']:.3f}.")
    if pred.gate is not None:
        route = "RGB and JPEG frequency (DCT)" if pred.gate["route"] == "rgb+dct" else "RGB only"
        lines.append(f"Modal Gate: read the image through {route} (probability of the "
                     f"frequency path {pred.gate['prob']:.3f}).")
    return "\n".join(lines)
