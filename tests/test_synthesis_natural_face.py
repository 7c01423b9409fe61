"""SynthIML natural and face generators: the mask is exactly the changed pixels, deterministic."""

from __future__ import annotations

import numpy as np
import pytest

from mmiml.datasets.synthesis.face import FACE_KINDS, generate_face
from mmiml.datasets.synthesis.natural import NATURAL_KINDS, generate_natural
from mmiml.datasets.synthesis.sources import Face, Sources, load_sources

SEEDS = (0, 1, 2)
SIZES = (64, 128)
CASES = [(generate_natural, k) for k in NATURAL_KINDS] + [(generate_face, k) for k in FACE_KINDS]


@pytest.fixture(scope="module")
def sources() -> Sources:
    return load_sources()


def _check_tampered(s, kind: str, size: int) -> None:
    assert s.manipulation == kind
    assert s.image.shape == s.original.shape == (size, size, 3)
    assert s.mask is not None and s.mask.dtype == np.uint8 and s.mask.shape == (size, size)
    assert set(np.unique(s.mask).tolist()) <= {0, 1}
    assert s.mask.any()
    inside = s.mask.astype(bool)
    # untouched outside the mask, changed at every mask pixel
    assert np.array_equal(s.image[~inside], s.original[~inside])
    assert (s.image[inside] != s.original[inside]).any(-1).all()
    assert s.provenance


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("gen,kind", CASES, ids=[k for _, k in CASES])
def test_mask_is_exactly_changed_pixels(sources: Sources, gen, kind: str, size: int) -> None:
    for seed in SEEDS:
        s = gen(np.random.default_rng(seed), size, sources, False, kind=kind)
        _check_tampered(s, kind, size)


@pytest.mark.parametrize("gen,kind", CASES, ids=[k for _, k in CASES])
def test_deterministic(sources: Sources, gen, kind: str) -> None:
    a = gen(np.random.default_rng(7), 64, sources, False, kind=kind)
    b = gen(np.random.default_rng(7), 64, sources, False, kind=kind)
    assert np.array_equal(a.image, b.image) and np.array_equal(a.original, b.original)
    assert np.array_equal(a.mask, b.mask)
    assert a.provenance == b.provenance and a.details == b.details


@pytest.mark.parametrize("gen", [generate_natural, generate_face])
@pytest.mark.parametrize("size", SIZES)
def test_authentic(sources: Sources, gen, size: int) -> None:
    for seed in SEEDS:
        s = gen(np.random.default_rng(seed), size, sources, True)
        assert s.mask is None and s.manipulation == "authentic"
        assert np.array_equal(s.image, s.original) and s.image.shape == (size, size, 3)


@pytest.mark.parametrize("gen,kinds", [(generate_natural, NATURAL_KINDS),
                                       (generate_face, FACE_KINDS)])
def test_random_kind_and_unknown_kind(sources: Sources, gen, kinds) -> None:
    seen = set()
    for seed in range(12):
        s = gen(np.random.default_rng(seed), 64, sources, False)
        _check_tampered(s, s.manipulation, 64)
        seen.add(s.manipulation)
    assert seen <= set(kinds) and len(seen) >= 2
    with pytest.raises(ValueError):
        gen(np.random.default_rng(0), 64, sources, False, kind="nope")


@pytest.mark.parametrize("kind", FACE_KINDS)
def test_face_label_map_regions(sources: Sources, kind: str) -> None:
    """A face with a label map: the region comes from one of its classes."""
    img = sources.faces[-1].image
    labels = np.zeros(img.shape[:2], np.uint8)
    h, w = labels.shape
    labels[h // 3:h // 2, w // 4:3 * w // 4] = 4
    labels[2 * h // 3:4 * h // 5, w // 3:2 * w // 3] = 11
    src = Sources(faces=[Face("test:labelled", img, labels), sources.faces[0]])
    for seed in SEEDS:
        s = generate_face(np.random.default_rng(seed), 64, src, False, kind=kind)
        _check_tampered(s, kind, 64)
        if s.provenance[0] == "test:labelled":
            assert s.details["part"] in ("label:4", "label:11")
