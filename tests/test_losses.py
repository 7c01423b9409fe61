"""WeightedCrossEntropyLoss: weighted mean over non-ignored pixels, per-pixel weights."""

import pytest
import torch

from mmiml.models.losses import WeightedCrossEntropyLoss


def reference(logits, label, class_weight, pixel_weight=None, ignore=255):
    """Straight loops: sum(w * -log softmax[y]) / sum(w) over pixels whose label is kept."""
    num, den = 0.0, 0.0
    logp = torch.log_softmax(logits.double(), dim=1)
    for n in range(label.shape[0]):
        for y in range(label.shape[1]):
            for x in range(label.shape[2]):
                cls = int(label[n, y, x])
                if cls == ignore:
                    continue
                w = class_weight[cls]
                if pixel_weight is not None:
                    w *= float(pixel_weight[n, y, x])
                num += -w * float(logp[n, cls, y, x])
                den += w
    return num / den


def test_matches_reference_with_ignored_pixels_and_class_weights():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 2, 5, 6, generator=g)
    label = torch.randint(0, 2, (2, 5, 6), generator=g)
    label[0, :2] = 255
    loss = WeightedCrossEntropyLoss(class_weight=[1.0, 4.0], loss_weight=0.5)
    assert loss(logits, label).item() == pytest.approx(0.5 * reference(logits, label, [1, 4]),
                                                       rel=1e-5)
    pw = torch.rand(2, 5, 6, generator=g)
    assert loss(logits, label, weight=pw).item() == pytest.approx(
        0.5 * reference(logits, label, [1, 4], pw), rel=1e-5)


def test_unweighted_equals_torch_mean_over_valid_pixels():
    logits = torch.randn(1, 2, 4, 4)
    label = torch.randint(0, 2, (1, 4, 4))
    label[0, 0] = 255
    expected = torch.nn.functional.cross_entropy(logits, label, ignore_index=255)
    assert WeightedCrossEntropyLoss()(logits, label).item() == pytest.approx(expected.item())


def test_all_ignored_gives_zero_with_gradient():
    logits = torch.randn(1, 2, 3, 3, requires_grad=True)
    out = WeightedCrossEntropyLoss(class_weight=[1, 2])(logits, torch.full((1, 3, 3), 255))
    out.backward()
    assert out.item() == 0.0 and logits.grad is not None


def test_wrong_number_of_class_weights_is_named():
    with pytest.raises(ValueError, match="3 entries for 2 classes"):
        WeightedCrossEntropyLoss(class_weight=[1, 2, 3])(torch.randn(1, 2, 2, 2),
                                                         torch.zeros(1, 2, 2))
