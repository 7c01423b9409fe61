"""Frequency Perception Head and its DCT pieces (docs/design/omni_iml.md section 1)."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from mmiml.models.utils.dct_embedding import QuantTableEmbedding, one_hot_dct, tile_block_map
from mmiml.models.utils.frequency_perception_head import FrequencyPerceptionHead

CH, OUT = 8, 16  # small widths keep the 2-core CI fast


def _inputs(batch: int = 2, h: int = 48, w: int = 64, seed: int = 0) -> tuple:
    g = torch.Generator().manual_seed(seed)
    dct = torch.randint(-30, 31, (batch, 1, h, w), generator=g).to(torch.int16)
    qtable = torch.randint(1, 100, (batch, 8, 8), generator=g)
    return dct, qtable


def _head(**kwargs) -> FrequencyPerceptionHead:
    torch.manual_seed(0)
    return FrequencyPerceptionHead(out_channels=OUT, channels=CH, **kwargs).eval()


def test_one_hot_values_clipping_and_sum() -> None:
    dct = torch.tensor([[0, 1, -1, 20], [-20, 21, -500, -32768]], dtype=torch.int16)[None, None]
    oh = one_hot_dct(dct)
    assert oh.shape == (1, 21, 2, 4) and oh.dtype == torch.float32
    torch.testing.assert_close(oh.sum(1), torch.ones(1, 2, 4))
    expected = torch.tensor([[0, 1, 1, 20], [20, 20, 20, 20]])
    assert torch.equal(oh.argmax(1)[0], expected)
    assert set(oh.unique().tolist()) == {0.0, 1.0}
    assert one_hot_dct(dct, clip=5).shape[1] == 6
    assert one_hot_dct(dct, clip=5).argmax(1)[0, 0, 1] == 1
    with pytest.raises(TypeError):
        one_hot_dct(dct.float())


def test_tiling_puts_table_entry_at_in_block_position() -> None:
    table = torch.arange(64.0).reshape(1, 1, 8, 8)
    tiled = tile_block_map(table, 16, 24)
    assert tiled.shape == (1, 1, 16, 24)
    ys, xs = torch.meshgrid(torch.arange(16), torch.arange(24), indexing="ij")
    assert torch.equal(tiled[0, 0], (ys % 8 * 8 + xs % 8).float())
    with pytest.raises(ValueError):
        tile_block_map(table, 12, 16)


@pytest.mark.parametrize("mode", ["embedding", "linear"])
def test_quant_table_embedding(mode: str) -> None:
    emb = QuantTableEmbedding(4, value_mode=mode)
    q = torch.randint(1, 256, (2, 8, 8))
    out = emb(q)
    assert out.shape == (2, 4, 8, 8)
    assert emb.tiled(q, 16, 8).shape == (2, 4, 16, 8)
    # the same value at two positions differs only by the position embedding
    q2 = q.clone()
    q2[0] = 7
    out2 = emb(q2)[0] - emb.pos_delta[0]
    torch.testing.assert_close(out2[:, 0, 0], out2[:, 5, 3])


def test_output_shape() -> None:
    dct, qtable = _inputs()
    out = _head()(dct, qtable)
    assert out.shape == (2, OUT, 6, 8)
    with pytest.raises(ValueError):
        _head()(dct[..., :60], qtable)


@pytest.mark.parametrize("mode", ["embedding", "linear"])
def test_output_depends_on_qtable_alone(mode: str) -> None:
    head = _head(qt_value_mode=mode)
    dct, qtable = _inputs()
    other = qtable.clone()
    other[:, 0, 0] += 50  # only one table entry changes
    with torch.no_grad():
        a, b = head(dct, qtable), head(dct, other)
    assert not torch.allclose(a, b, atol=1e-6)


def test_gradients_reach_convs_and_qtable_embedding() -> None:
    head = _head().train()
    dct, qtable = _inputs()
    head(dct, qtable).pow(2).mean().backward()
    params = {
        "dilated": head.dilated_conv.conv.weight,
        "pointwise": head.pointwise_conv.conv.weight,
        "block": head.block_conv.conv.weight,
        "qt_pos": head.qt_embed.pos_delta,
        "qt_value": head.qt_embed.value_embed.weight,
    }
    for name, p in params.items():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    # only the rows of values present in the tables get gradient
    used = qtable.unique()
    rows = head.qt_embed.value_embed.weight.grad.abs().sum(1)
    assert (rows[used] > 0).all()
    assert rows[0] == 0  # qtable values are >= 1 here


def test_block_locality() -> None:
    """A change in block (i, j) reaches outputs within one block: the rate-8 dilated 3x3 conv
    spans the neighbouring blocks, the 1x1 conv, modulation and 8x8 stride-8 conv stay local."""
    head = _head()
    dct, qtable = _inputs(batch=1, h=64, w=64)
    i, j = 3, 4
    changed = dct.clone()
    changed[..., 8 * i : 8 * i + 8, 8 * j : 8 * j + 8] += 7
    with torch.no_grad():
        diff = (head(dct, qtable) - head(changed, qtable)).abs().amax(1)[0]
    ii, jj = torch.meshgrid(torch.arange(8), torch.arange(8), indexing="ij")
    near = ((ii - i).abs() <= 1) & ((jj - j).abs() <= 1)
    assert diff[i, j] > 0
    assert torch.all(diff[~near] == 0)  # stricter than "more than 2 blocks away"


def test_runs_on_packed_sample(tmp_path: Path) -> None:
    from mmiml.datasets.transforms import (
        LoadIMLAnnotations,
        LoadIMLImageFromFile,
        LoadJpegDCT,
        PackIMLInputs,
    )
    from mmiml.models.data_preprocessor import stack_dct

    rng = np.random.default_rng(0)
    samples = []
    for k, quality in enumerate((90, 60)):
        path = tmp_path / f"img{k}.jpg"
        Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(
            path, quality=quality
        )
        results = dict(
            img_path=str(path),
            seg_map_path=None,
            task="natural",
            task_id=0,
            source="x",
            split="test",
            img_label=0,
            mask_inverted=False,
            mask_threshold=None,
            seg_fields=[],
            reduce_zero_label=False,
        )
        for t in (LoadIMLImageFromFile(), LoadIMLAnnotations(), LoadJpegDCT(), PackIMLInputs()):
            results = t.transform(results)
        samples.append(results["data_samples"])
    dct, qtable = stack_dct(samples)
    assert dct is not None and qtable is not None
    assert dct.shape == (2, 1, 48, 64) and qtable.shape == (2, 8, 8)
    assert not torch.equal(qtable[0], qtable[1])  # two qualities -> two tables
    with torch.no_grad():
        out = _head()(dct, qtable)
    assert out.shape == (2, OUT, 6, 8) and torch.isfinite(out).all()


# ------------------------------------------------------------------ per-block layout (stride 8)
def _block_head(**kwargs) -> FrequencyPerceptionHead:
    return _head(layout="block", **kwargs)


def test_block_layout_equals_the_one_hot_computation() -> None:
    """Per block: sum over positions p and channels c of W[o, p, c] * Q[p, c] * E[p, |coef|, c],
    written out with the one-hot of every coefficient (what the embedding_bag folds)."""
    head = _block_head()
    dct, qtable = _inputs(batch=2, h=16, w=24)
    with torch.no_grad():
        got = head.block_features(dct, qtable)
        onehot = torch.nn.functional.pixel_unshuffle(one_hot_dct(dct, head.clip), 8)
        onehot = onehot.view(2, head.clip + 1, 64, 2, 3)  # (B, value, position, h, w)
        q = head.qt_embed(qtable).flatten(2)  # (B, C, 64)
        feat = torch.einsum("bvphw,pvc,bcp->bpchw", onehot, head.value_vectors, q)
        expected = torch.einsum("bpchw,opc->bohw", feat, head.block_weight)
        expected = expected + head.block_bias[None, :, None, None]
    assert got.shape == (2, OUT, 2, 3)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)


def test_block_layout_locality_and_stride() -> None:
    """A change in block (i, j) reaches only the outputs of the 3x3 neighbouring blocks."""
    head = _block_head()
    dct, qtable = _inputs(batch=1, h=64, w=64)
    i, j = 3, 4
    dct[..., 8 * i + 2, 8 * j + 5] = 0
    changed = dct.clone()
    changed[..., 8 * i + 2, 8 * j + 5] = 7  # one coefficient of block (i, j), |0| -> |7|
    with torch.no_grad():
        diff = (head(dct, qtable) - head(changed, qtable)).abs().amax(1)[0]
    ii, jj = torch.meshgrid(torch.arange(8), torch.arange(8), indexing="ij")
    near = ((ii - i).abs() <= 1) & ((jj - j).abs() <= 1)
    assert diff.shape == (8, 8) and diff[i, j] > 0
    assert torch.all(diff[~near] == 0)


def test_block_layout_reads_the_table_and_trains_every_part() -> None:
    head = _block_head().train()
    dct, qtable = _inputs()
    other = qtable.clone()
    other[:, 2, 1] += 30
    with torch.no_grad():
        assert not torch.allclose(head.block_features(dct, qtable),
                                  head.block_features(dct, other))
    head(dct, qtable).pow(2).mean().backward()
    for name in ("value_vectors", "block_weight", "block_bias", "qt_embed.pos_delta",
                 "qt_embed.value_embed.weight", "context_conv.conv.weight"):
        grad = head.get_parameter(name).grad
        assert grad is not None and grad.abs().sum() > 0, name
    with pytest.raises(ValueError, match="layout"):
        FrequencyPerceptionHead(layout="row")


def test_old_checkpoints_of_the_table_embedding_still_load() -> None:
    emb = QuantTableEmbedding(4)
    state = {k: v for k, v in emb.state_dict().items() if k != "pos_delta"}
    state["pos_embed"] = torch.full((1, 4, 8, 8), 1.5)  # the former "starts at 1" parameter
    emb.load_state_dict(state)
    torch.testing.assert_close(emb.pos_delta, torch.full((1, 4, 8, 8), 0.5))
