"""JPEG DCT input pieces shared by frequency-aware models.

From docs/design/omni_iml.md section 1 (Frequency Perception Head, stated: from DTD): the Y-channel
quantised DCT coefficients are clipped in magnitude to ``[0, 20]`` and one-hot encoded (21
channels), and the 8x8 quantisation table is embedded (64 positions -> one vector each) so that
it can modulate every in-block position of a feature map.
"""

import torch
from torch import nn

__all__ = ["QuantTableEmbedding", "one_hot_dct", "tile_block_map"]

BLOCK = 8


def one_hot_dct(dct: torch.Tensor, clip: int = 20) -> torch.Tensor:
    """One-hot encode clipped DCT magnitudes (docs/design/omni_iml.md section 1, stated: from DTD).

    Args:
        dct: (B, 1, H, W) integer quantised DCT coefficients (any int dtype, e.g. int16).
        clip: largest magnitude kept; ``|coef| > clip`` falls into the last bin.

    Returns:
        (B, clip + 1, H, W) float32 tensor, exactly one 1 per pixel at channel ``min(|c|, clip)``.
    """
    if dct.dim() != 4 or dct.shape[1] != 1:
        raise ValueError(f"dct must be (B, 1, H, W), got {tuple(dct.shape)}")
    if dct.is_floating_point():
        raise TypeError(f"dct must hold integer coefficients, got {dct.dtype}")
    # abs() of int16 -32768 would overflow, so widen before taking the magnitude.
    index = dct.to(torch.int64).abs().clamp_(max=clip)
    out = torch.zeros(
        (dct.shape[0], clip + 1, dct.shape[2], dct.shape[3]), dtype=torch.float32, device=dct.device
    )
    return out.scatter_(1, index, 1.0)


def tile_block_map(block_map: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Tile a (B, C, 8, 8) per-block-position map over an image of ``height`` x ``width``.

    Pixel (y, x) receives entry (y % 8, x % 8), i.e. the table entry of its in-block position,
    matching the spatial DCT layout (block (i, j) at rows 8i..8i+7, cols 8j..8j+7).
    """
    if block_map.shape[-2:] != (BLOCK, BLOCK):
        raise ValueError(f"block_map must end in (8, 8), got {tuple(block_map.shape)}")
    if height % BLOCK or width % BLOCK:
        raise ValueError(f"height/width must be multiples of 8, got {height}x{width}")
    return block_map.repeat(1, 1, height // BLOCK, width // BLOCK)


class QuantTableEmbedding(nn.Module):
    """Embed an 8x8 JPEG quantisation table into a (B, C, 8, 8) modulation map.

    docs/design/omni_iml.md section 1 (stated, from DTD): the 8x8 quantisation table is embedded
    (64 positions -> vector) and multiplies each in-block position. The exact form is our choice:

    * ``value_mode='embedding'``: a learned vector per quantisation value (``nn.Embedding`` over
      ``0..max_value``; larger values, e.g. from 16-bit tables, are clamped to ``max_value``).
    * ``value_mode='linear'``: a learned linear map of the normalised value ``q / max_value``
      (continuous, so unseen values and 16-bit tables interpolate instead of clamping).

    A learned per-position embedding (C x 8 x 8) is added, so the same quantisation step at
    different frequencies can be told apart. Because the result *multiplies* features, it is
    ``1 + pos_delta + value`` with ``pos_delta`` starting at 0 and the value term near 0 (our
    choice): at initialisation the modulation is close to identity, and weight decay pulls it
    back towards identity, not towards zero (which would switch the features off).

    Args:
        embed_dims: C, channels of the output map.
        value_mode: ``'embedding'`` or ``'linear'`` (see above).
        max_value: largest distinct quantisation value (255 for baseline JPEG).
        init_std: std of the value term's initial weights.
    """

    def __init__(
        self,
        embed_dims: int,
        value_mode: str = "embedding",
        max_value: int = 255,
        init_std: float = 0.02,
    ) -> None:
        super().__init__()
        if value_mode not in ("embedding", "linear"):
            raise ValueError(f"value_mode must be 'embedding' or 'linear', got {value_mode!r}")
        self.embed_dims = embed_dims
        self.value_mode = value_mode
        self.max_value = max_value
        if value_mode == "embedding":
            self.value_embed: nn.Module = nn.Embedding(max_value + 1, embed_dims)
            nn.init.trunc_normal_(self.value_embed.weight, std=init_std)
        else:
            self.value_embed = nn.Linear(1, embed_dims)
            nn.init.trunc_normal_(self.value_embed.weight, std=init_std)
            nn.init.zeros_(self.value_embed.bias)
        self.pos_delta = nn.Parameter(torch.zeros(1, embed_dims, BLOCK, BLOCK))

    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args, **kwargs) -> None:
        # Checkpoints from before the identity-centred form stored the position term itself.
        old = state_dict.pop(prefix + "pos_embed", None)
        if old is not None and prefix + "pos_delta" not in state_dict:
            state_dict[prefix + "pos_delta"] = old - 1.0
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def forward(self, qtable: torch.Tensor) -> torch.Tensor:
        """(B, 8, 8) quantisation tables (any numeric dtype) -> (B, C, 8, 8)."""
        if qtable.dim() != 3 or qtable.shape[1:] != (BLOCK, BLOCK):
            raise ValueError(f"qtable must be (B, 8, 8), got {tuple(qtable.shape)}")
        if self.value_mode == "embedding":
            index = qtable.to(torch.int64).clamp(0, self.max_value)
            value = self.value_embed(index)  # (B, 8, 8, C)
        else:
            norm = qtable.to(self.pos_delta.dtype).unsqueeze(-1) / self.max_value
            value = self.value_embed(norm)
        return value.permute(0, 3, 1, 2) + (1.0 + self.pos_delta)

    def tiled(self, qtable: torch.Tensor, height: int, width: int) -> torch.Tensor:
        """Embedding tiled over the image: (B, C, height, width), entry (y % 8, x % 8)."""
        return tile_block_map(self(qtable), height, width)

