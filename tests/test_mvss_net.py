"""MVSS-Net: forensic filters, edge maps, tiny-twin losses, gradients, outputs and capacity."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "configs/mvss_net/mvss-net-tiny_joint_synthiml-cpu.py"
MAX_ITERS = 300


def _cfg() -> Config:
    import mmiml.datasets  # noqa: F401
    import mmiml.models  # noqa: F401

    init_default_scope("mmseg")
    return Config.fromfile(str(TINY))


def _model():
    from mmseg.registry import MODELS

    torch.manual_seed(0)
    model = MODELS.build(_cfg().model)
    model.init_weights()
    return model


def _batch(n=2, size=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for i in range(n):
        inputs.append(torch.randint(0, 256, (3, size, size), generator=g, dtype=torch.uint8))
        s = SegDataSample()
        gt = torch.zeros(1, size, size, dtype=torch.long)
        if i % 2 == 0:  # odd samples are authentic
            gt[:, 8:24, 8:24] = 1
        s.gt_sem_seg = PixelData(data=gt)
        s.set_metainfo(dict(task=("natural", "document")[i % 2], img_shape=(size, size),
                            ori_shape=(size, size), pad_shape=(size, size)))
        samples.append(s)
    return {"inputs": inputs, "data_samples": samples}


def test_bayar_constraint_holds_after_forward():
    from mmiml.models.utils import BayarConv2d

    conv = BayarConv2d(3, 3, 5).train()
    with torch.no_grad():  # break the constraint, as an optimiser step would
        conv.off_centre.mul_(torch.rand_like(conv.off_centre) * 3)
    out = conv(torch.randn(2, 3, 16, 16))
    assert out.shape == (2, 3, 16, 16)
    for w in (conv.constrained_weight().detach(),):
        assert torch.allclose(w[:, :, 2, 2], torch.full((3, 3), -1.0))
        assert torch.allclose(w.sum(dim=(2, 3)) + 1.0, torch.ones(3, 3), atol=1e-5)
    # the stored off-centre weights were projected too (training forward)
    assert torch.allclose(conv.off_centre.sum(-1), torch.ones(3, 3), atol=1e-5)
    # a zero-sum kernel removes a constant image
    assert conv(torch.full((1, 3, 16, 16), 7.0))[..., 2:-2, 2:-2].abs().max() < 1e-4


def test_sobel_and_srm_filters():
    from mmiml.models.utils import SobelLayer, SRMConv2d

    x = torch.zeros(1, 4, 16, 16)
    x[..., 8:] = 1.0
    sob = SobelLayer()
    mag = sob.magnitude(x)[0, 0]
    assert mag[:, 7:9].min() > 1.0 and mag[:, :6].max() < 1e-2  # vertical step, no frame
    assert sob(x).shape == x.shape
    assert len(list(sob.parameters())) == 0
    assert len(list(SobelLayer(4, reduce="conv").parameters())) == 2
    srm = SRMConv2d(3)
    assert srm(torch.full((1, 3, 16, 16), 5.0))[..., 2:-2, 2:-2].abs().max() < 1e-5
    assert SRMConv2d(3, separate=True)(torch.randn(1, 3, 8, 8)).shape == (1, 9, 8, 8)


def test_mask_to_edge_of_a_square_is_a_ring():
    from mmiml.models.utils import mask_to_edge

    gt = torch.zeros(1, 32, 32, dtype=torch.long)
    gt[:, 10:20, 10:20] = 1
    gt[:, :, 28:] = 255  # padding: no edge, not valid
    edge, valid = mask_to_edge(gt, width=1)
    assert edge.shape == valid.shape == (1, 1, 32, 32)
    e = edge[0, 0]
    ring = torch.zeros(32, 32)
    ring[9:21, 9:21] = 1
    ring[11:19, 11:19] = 0
    assert torch.equal(e, ring)
    assert not valid[0, 0, :, 28:].any() and valid[0, 0, :, :28].all()
    # a mask reaching the padding or the frame gets no edge there
    gt2 = torch.zeros(1, 16, 16, dtype=torch.long)
    gt2[:, :, 8:] = 1
    gt2[:, :, 12:] = 255
    e2 = mask_to_edge(gt2, width=2)[0][0, 0]
    assert e2[:, 6:10].all() and e2[:, :6].sum() == 0 and e2[:, 10:].sum() == 0


def test_training_step_losses_and_gradient_in_every_branch():
    model = _model().train()
    data = model.data_preprocessor(_batch(), True)
    losses = model(**data, mode="loss")
    for key in ("decode.loss_dice", "loss_edge", "loss_image"):
        assert key in losses and torch.isfinite(losses[key]) and losses[key] > 0, key
    total = sum(v for k, v in losses.items() if "loss" in k)
    total.backward()
    for name in ("backbone.esb", "backbone.erb_in", "backbone.erb_fuse", "backbone.edge_cls",
                 "backbone.bayar", "backbone.nsb", "decode_head.pam_in", "decode_head.pam",
                 "decode_head.cam_in", "decode_head.cam", "decode_head.conv_seg"):
        module = model.get_submodule(name)
        assert any(p.grad is not None and p.grad.abs().sum() > 0
                   for p in module.parameters()), name


def test_predict_and_tensor_outputs():
    model = _model().eval()
    batch = _batch(size=64)
    # a non-multiple of 32 size: predictions come back at the original size
    batch["inputs"][1] = batch["inputs"][1][:, :50, :60]
    batch["data_samples"][1].gt_sem_seg = PixelData(data=torch.zeros(1, 50, 60, dtype=torch.long))
    batch["data_samples"][1].set_metainfo(dict(img_shape=(50, 60), ori_shape=(50, 60)))
    data = model.data_preprocessor(batch, False)
    with torch.no_grad():
        out = model(**data, mode="predict")
        tensor = model(**data, mode="tensor")
    assert out[0].seg_logits.data.shape == (2, 64, 64)
    assert out[1].seg_logits.data.shape == (2, 50, 60)
    assert out[1].pred_sem_seg.data.shape == (1, 50, 60)
    prob = out[0].seg_logits.data.softmax(0)
    assert prob.min() >= 0 and prob.max() <= 1 and torch.isfinite(prob).all()
    assert tensor.shape[:2] == (2, 2)


@pytest.mark.slow
def test_tiny_mvss_net_fits_four_synthiml_images(tmp_path):
    from mmengine.dataset import pseudo_collate
    from mmseg.registry import DATASETS

    from mmiml.datasets.io import load_mask
    from mmiml.datasets.synthesis.generator import make_synthiml
    from mmiml.evaluation.metrics.iml_metric import IMLMetric

    cfg = _cfg()
    manifest = make_synthiml(tmp_path / "synthiml", per_split={"train": 8}, size=64, seed=3,
                             authentic_ratio=0.0, progress=False)
    dataset = DATASETS.build(dict(type="IMLDataset", ann_file=str(manifest), split="train",
                                  pipeline=cfg.test_pipeline, serialize_data=False))
    area: dict[str, tuple[float, int]] = {}
    for i in range(len(dataset)):
        task = dataset.get_data_info(i)["task"]
        share = float(load_mask(dataset.get_data_info(i)["seg_map_path"]).mean())
        area[task] = max(area.get(task, (-1.0, -1)), (share, i))
    picked = {task: i for task, (_, i) in area.items()}
    assert len(picked) == 4
    batch = pseudo_collate([dataset[i] for i in picked.values()])

    model = _model()
    optim = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.0)

    def iou() -> float:
        model.eval()
        with torch.no_grad():
            preds = model.test_step(batch)
        metric = IMLMetric(log_table=False)
        metric.process(None, preds)
        return metric.compute_metrics(metric.results)["avg/pixel_iou_image"]

    best = 0.0
    for it in range(1, MAX_ITERS + 1):
        model.train()
        data = model.data_preprocessor(batch, True)
        losses = model(**data, mode="loss")
        loss = sum(v for k, v in losses.items() if "loss" in k)
        optim.zero_grad()
        loss.backward()
        optim.step()
        if it % 25 == 0:
            best = max(best, iou())
            if best > 0.8:
                break
    assert best > 0.8, f"IoU {best:.3f} after {it} iterations"
