"""Fixed and constrained filters used by forensic networks (noise residuals, edges).

* :class:`BayarConv2d`: the constrained convolution of Bayar & Stamm (IH&MMSec 2016), used by
  MVSS-Net's noise-sensitive branch: learnable kernels whose centre is -1 and whose off-centre
  weights sum to 1, so each kernel predicts a pixel from its neighbours and outputs the
  prediction error (a noise residual) rather than image content.
* :class:`SRMConv2d`: the three classic fixed SRM high-pass kernels (Fridrich & Kodovsky 2012,
  as picked by RGB-N, Zhou et al. CVPR 2018).
* :class:`SobelLayer`: fixed Sobel x/y filters on a channel-reduced feature map, turned into a
  sigmoid attention that re-weights the features (MVSS-Net's edge-supervised branch).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["BayarConv2d", "SRMConv2d", "SobelLayer"]


class BayarConv2d(nn.Module):
    """Constrained convolution (Bayar & Stamm): centre weight -1, off-centre weights sum to 1.

    Every ``k x k`` kernel (one per output/input channel pair) stores only its ``k*k - 1``
    off-centre weights. At every forward they are normalised to sum to 1 and the centre is
    set to -1, so the kernel sums to 0 and removes image content. The normalisation is part of
    the graph (the gradient sees it). In training mode the normalised values are also written
    back into the parameter before the convolution (the projection step of the paper and of the
    authors' code), so the stored kernel satisfies the constraint after every training forward.

    Our choices: a kernel whose off-centre sum is closer to 0 than ``eps`` is divided by
    ``+-eps`` instead (keeps the division finite); initialisation is uniform in [0, 1) before
    normalisation, like the original.

    Args:
        in_channels: input channels (3 for RGB).
        out_channels: output channels (MVSS-Net uses 3).
        kernel_size: odd kernel side (5 in MVSS-Net).
        stride: convolution stride.
        padding: zero padding; default ``kernel_size // 2`` (same size output).
        bias: add a learnable bias (off in MVSS-Net).
        eps: smallest magnitude of the off-centre sum used as divisor.
    """

    def __init__(self, in_channels: int = 3, out_channels: int = 3, kernel_size: int = 5,
                 stride: int = 1, padding: int | None = None, bias: bool = False,
                 eps: float = 1e-6) -> None:
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f"BayarConv2d: kernel_size must be odd, got {kernel_size}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = kernel_size // 2 if padding is None else padding
        self.eps = eps
        n = kernel_size * kernel_size
        self.centre = n // 2
        self.off_centre = nn.Parameter(torch.rand(out_channels, in_channels, n - 1))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        with torch.no_grad():
            self.off_centre.copy_(self._normalise(self.off_centre))

    def _normalise(self, w: torch.Tensor) -> torch.Tensor:
        s = w.sum(dim=-1, keepdim=True)
        sign = torch.where(s < 0, -torch.ones_like(s), torch.ones_like(s))
        s = torch.where(s.abs() < self.eps, sign * self.eps, s)
        return w / s

    def constrained_weight(self) -> torch.Tensor:
        """The effective kernel, out x in x k x k (differentiable w.r.t. the parameter)."""
        w = self._normalise(self.off_centre)
        minus_one = -torch.ones_like(w[..., :1])
        w = torch.cat([w[..., :self.centre], minus_one, w[..., self.centre:]], dim=-1)
        return w.view(self.out_channels, self.in_channels, self.kernel_size, self.kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            with torch.no_grad():  # projection onto the constraint set
                self.off_centre.copy_(self._normalise(self.off_centre))
        return F.conv2d(x, self.constrained_weight(), self.bias, self.stride, self.padding)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, bias={self.bias is not None}")


# The three SRM kernels of RGB-N (5x5; the smaller ones zero-padded).
_SRM_KERNELS = (
    [[0, 0, 0, 0, 0], [0, -1, 2, -1, 0], [0, 2, -4, 2, 0], [0, -1, 2, -1, 0], [0, 0, 0, 0, 0]],
    [[-1, 2, -2, 2, -1], [2, -6, 8, -6, 2], [-2, 8, -12, 8, -2], [2, -6, 8, -6, 2],
     [-1, 2, -2, 2, -1]],
    [[0, 0, 0, 0, 0], [0, 0, 0, 0, 0], [0, 1, -2, 1, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]],
)
_SRM_SCALES = (1 / 4, 1 / 12, 1 / 2)


class SRMConv2d(nn.Module):
    """The three fixed SRM high-pass filters (not learnable; kept in a buffer).

    Args:
        in_channels: input channels.
        separate: False (default): 3 outputs, kernel ``i`` applied to every input channel and
            summed (the RGB-N / MVSS-Net "simple" layout). True: ``3 * in_channels`` outputs,
            each kernel on each channel separately (channel-major: input c, kernels 0..2).
        clip: clamp the output to ``[-clip, clip]`` (RGB-N truncates at 3 on 0-255 input);
            None disables it. The threshold depends on the input scale: choose it for yours.
    """

    def __init__(self, in_channels: int = 3, separate: bool = False,
                 clip: float | None = 3.0) -> None:
        super().__init__()
        k = torch.stack([torch.tensor(kern, dtype=torch.float32) * s
                         for kern, s in zip(_SRM_KERNELS, _SRM_SCALES)])  # 3x5x5
        if separate:
            weight = k.unsqueeze(1).repeat(in_channels, 1, 1, 1)  # (3*in)x1x5x5
        else:
            weight = k.unsqueeze(1).repeat(1, in_channels, 1, 1)  # 3 x in x 5 x 5
        self.register_buffer("weight", weight, persistent=False)
        self.in_channels = in_channels
        self.separate = separate
        self.clip = clip
        self.out_channels = 3 * in_channels if separate else 3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        groups = self.in_channels if self.separate else 1
        y = F.conv2d(x, self.weight.to(x.dtype), padding=2, groups=groups)
        if self.clip is not None:
            y = y.clamp(-self.clip, self.clip)
        return y


class SobelLayer(nn.Module):
    """Sobel edge attention: ``x * sigmoid(|grad(reduce(x))|)``.

    The features are reduced to one channel (``reduce``), fixed Sobel x/y filters give the
    gradient, its magnitude goes through a sigmoid, and the result re-weights every channel of
    ``x`` (MVSS-Net's Sobel layer). The Sobel kernels are buffers (no parameters), so the layer
    only passes gradient on; a learnable reduction is available as ``reduce='conv'``.

    Our choices: borders are replicate-padded (zero padding would draw a gradient along the
    image frame); ``reduce='mean'`` by default (the authors' repeated kernel amounts to a sum,
    whose scale grows with the channel count and saturates the sigmoid).

    Args:
        in_channels: channels of ``x`` (needed only for ``reduce='conv'``).
        reduce: ``'mean'``, ``'sum'`` or ``'conv'`` (a learnable 1x1 conv to one channel).
        eps: added under the square root of the magnitude (finite gradient at 0).
    """

    def __init__(self, in_channels: int | None = None, reduce: str = "mean",
                 eps: float = 1e-6) -> None:
        super().__init__()
        if reduce not in ("mean", "sum", "conv"):
            raise ValueError(f"SobelLayer: reduce must be mean, sum or conv, got {reduce!r}")
        if reduce == "conv" and not in_channels:
            raise ValueError("SobelLayer: reduce='conv' needs in_channels")
        self.reduce = reduce
        self.eps = eps
        self.proj = nn.Conv2d(in_channels, 1, 1) if reduce == "conv" else None
        gx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
        self.register_buffer("kernel", torch.stack([gx, gx.t()]).unsqueeze(1), persistent=False)

    def magnitude(self, x: torch.Tensor) -> torch.Tensor:
        """Sobel gradient magnitude of the reduced map, Bx1xHxW."""
        if self.reduce == "mean":
            r = x.mean(dim=1, keepdim=True)
        elif self.reduce == "sum":
            r = x.sum(dim=1, keepdim=True)
        else:
            r = self.proj(x)
        g = F.conv2d(F.pad(r, (1, 1, 1, 1), mode="replicate"), self.kernel.to(r.dtype))
        return torch.sqrt(g.pow(2).sum(dim=1, keepdim=True) + self.eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(self.magnitude(x))
