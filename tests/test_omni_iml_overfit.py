"""A tiny Omni-IML (the CPU twin's model, Anomaly Enhancement included) fits 4 SynthIML images.

Capacity check of the whole stack: manifest -> IMLDataset with the DCT pipeline -> OmniIML ->
IMLMetric. If any branch blocked the gradient, scrambled the DCT alignment or broke the
gated path, the IoU would not reach 0.9.
"""

from __future__ import annotations

import pytest
from helpers import ROOT, overfit_four_synthiml_images

from mmiml.benchmark.zoo import BY_KEY

MAX_ITERS = 300


@pytest.mark.slow
def test_tiny_omni_iml_fits_four_synthiml_images(tmp_path):
    best, it = overfit_four_synthiml_images(
        ROOT / BY_KEY["omni_iml"].config("tiny", "joint"), tmp_path,
        max_iters=MAX_ITERS, target=0.9, eval_every=50,
        model_overrides={"backbone.teacher_forcing_iters": 50})
    assert best > 0.9, f"IoU {best:.3f} after {it} iterations"
