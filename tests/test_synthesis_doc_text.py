"""SynthIML document and scene-text generators: masks are exactly the altered pixels."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mmiml.datasets.synthesis.document import DOCUMENT_KINDS, generate_document, jpeg_cycle
from mmiml.datasets.synthesis.scene_text import SCENE_TEXT_KINDS, generate_scene_text
from mmiml.datasets.synthesis.sources import Sources, load_sources
from mmiml.datasets.synthesis.types import SynthSample

SEEDS = (0, 1, 2, 3)
SIZES = (64, 128)


@pytest.fixture(scope="module")
def sources() -> Sources:
    return load_sources()


def _check_tampered(s: SynthSample, kind: str, size: int) -> None:
    assert s.manipulation == kind
    assert s.image.shape == s.original.shape == (size, size, 3)
    assert s.mask is not None and s.mask.dtype == np.uint8 and s.mask.shape == (size, size)
    assert set(np.unique(s.mask).tolist()) <= {0, 1} and s.mask.any()
    outside, inside = s.mask == 0, s.mask == 1
    assert np.array_equal(s.image[outside], s.original[outside])
    # every masked pixel differs in at least one channel: the mask is exactly the change
    assert (s.image[inside] != s.original[inside]).any(axis=1).all()
    assert s.provenance
    json.dumps(s.details)


def _check_same(a: SynthSample, b: SynthSample) -> None:
    assert np.array_equal(a.image, b.image) and np.array_equal(a.original, b.original)
    assert (a.mask is None) == (b.mask is None)
    if a.mask is not None:
        assert np.array_equal(a.mask, b.mask)
    assert a.details == b.details


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("kind", DOCUMENT_KINDS)
def test_document_kinds(sources: Sources, kind: str, size: int) -> None:
    for seed in SEEDS:
        s = generate_document(np.random.default_rng(seed), size, sources, False, kind)
        _check_tampered(s, kind, size)
        assert s.final_jpeg == "high"
        d = s.details
        assert {"q1", "q2", "grid_shift"} <= d.keys()
        assert 70 <= d["q1"] <= 95
        assert d["q1"] != d["q2"] or tuple(d["grid_shift"]) != (0, 0)
        assert all(0 <= v <= 7 for v in d["grid_shift"])
        _check_same(s, generate_document(np.random.default_rng(seed), size, sources, False, kind))


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("kind", SCENE_TEXT_KINDS)
def test_scene_text_kinds(sources: Sources, kind: str, size: int) -> None:
    for seed in SEEDS:
        s = generate_scene_text(np.random.default_rng(seed), size, sources, False, kind)
        _check_tampered(s, kind, size)
        _check_same(s, generate_scene_text(np.random.default_rng(seed), size, sources, False,
                                           kind))


@pytest.mark.parametrize("generate", [generate_document, generate_scene_text])
def test_authentic(sources: Sources, generate) -> None:
    for seed in SEEDS:
        s = generate(np.random.default_rng(seed), 96, sources, True)
        assert s.manipulation == "authentic" and s.mask is None
        assert np.array_equal(s.image, s.original)
        _check_same(s, generate(np.random.default_rng(seed), 96, sources, True))


@pytest.mark.parametrize("generate", [generate_document, generate_scene_text])
def test_random_kind_and_bad_kind(sources: Sources, generate) -> None:
    kinds = DOCUMENT_KINDS if generate is generate_document else SCENE_TEXT_KINDS
    s = generate(np.random.default_rng(7), 128, sources, False)
    assert s.manipulation in kinds
    with pytest.raises(ValueError):
        generate(np.random.default_rng(7), 128, sources, False, "splice")


def test_document_scan_hosts_occur(sources: Sources) -> None:
    hosts = {generate_document(np.random.default_rng(seed), 128, sources, False,
                               "word_replace").details["host"] for seed in range(12)}
    assert hosts == {"rendered", "scan"}


def test_jpeg_cycle_grid_shift_changes_blocks() -> None:
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    aligned = jpeg_cycle(img, 80)
    assert aligned.shape == img.shape
    assert np.array_equal(aligned, jpeg_cycle(img, 80, (0, 0)))
    assert not np.array_equal(aligned, jpeg_cycle(img, 80, (3, 5)))
