"""Building blocks of the inpainting generator.

All blocks keep inference free of training-only machinery: no spectral norm, no dropout. Padding is
explicit (a pad module, then an unpadded convolution) so that reflection / replication padding
exports to ONNX as a plain ``Pad`` node and BatchNorm can be folded into the convolution it follows.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

PAD_MODES = ("zeros", "reflect", "replicate")
NORMS = ("none", "batch")
ACTIVATIONS = ("elu", "lrelu", "relu")
INIT_KINDS = ("kaiming", "normal", "xavier", "orthogonal")


def make_activation(kind: str) -> nn.Module:
    if kind == "elu":
        return nn.ELU(inplace=False)
    if kind == "lrelu":
        return nn.LeakyReLU(0.2, inplace=False)
    if kind == "relu":
        return nn.ReLU(inplace=False)
    raise ValueError(f"unknown activation {kind!r}; expected one of {ACTIVATIONS}")


def make_pad(mode: str, amount: int) -> nn.Module:
    if amount == 0 or mode == "zeros":
        return nn.Identity()
    if mode == "reflect":
        return nn.ReflectionPad2d(amount)
    if mode == "replicate":
        return nn.ReplicationPad2d(amount)
    raise ValueError(f"unknown padding {mode!r}; expected one of {PAD_MODES}")


class ZeroInit:
    """Marker mixin: ``init_weights`` leaves these layers at zero unless told to randomise everything.

    Zero-initialised output heads make a fresh conditioned generator start as a pass-through of the
    warped reference, which a short training run only has to correct.
    """


class ZeroConv2d(nn.Conv2d, ZeroInit):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        nn.init.zeros_(self.weight)
        if self.bias is not None:
            nn.init.zeros_(self.bias)


class ZeroLinear(nn.Linear, ZeroInit):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        nn.init.zeros_(self.weight)
        nn.init.zeros_(self.bias)


class ConvBlock(nn.Module):
    """pad -> conv -> (BatchNorm) -> activation. ``act=None`` gives a linear convolution."""

    def __init__(
        self,
        cin: int,
        cout: int,
        kernel: int = 3,
        stride: int = 1,
        dilation: int = 1,
        pad_mode: str = "zeros",
        norm: str = "none",
        act: str | None = "elu",
    ) -> None:
        super().__init__()
        amount = dilation * (kernel - 1) // 2
        self.pad = make_pad(pad_mode, amount)
        conv_pad = amount if pad_mode == "zeros" else 0
        self.conv = nn.Conv2d(cin, cout, kernel, stride, conv_pad, dilation, bias=True)
        if norm not in NORMS:
            raise ValueError(f"unknown norm {norm!r}; expected one of {NORMS}")
        self.norm: nn.Module = nn.BatchNorm2d(cout) if norm == "batch" else nn.Identity()
        self.act: nn.Module = make_activation(act) if act else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.norm(self.conv(self.pad(x))))


class GatedConv2d(nn.Module):
    """Gated convolution: one convolution gives features and gates, ``act(f) * sigmoid(g)``."""

    def __init__(
        self,
        cin: int,
        cout: int,
        kernel: int = 3,
        stride: int = 1,
        dilation: int = 1,
        pad_mode: str = "zeros",
        norm: str = "none",
        act: str = "elu",
    ) -> None:
        super().__init__()
        self.cout = cout
        self.block = ConvBlock(cin, 2 * cout, kernel, stride, dilation, pad_mode, norm, act=None)
        self.act = make_activation(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.block(x)
        feat, gate = torch.split(y, self.cout, dim=1)
        return self.act(feat) * torch.sigmoid(gate)


class Upsample(nn.Module):
    """x2 resize (nearest or bilinear) followed by a convolution block."""

    def __init__(self, mode: str, block: nn.Module) -> None:
        super().__init__()
        self.mode = mode
        self.block = block

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "nearest":
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        else:
            x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
        return self.block(x)


class MultiDilationResBlock(nn.Module):
    """Multi-dilation residual block: parallel branches with growing dilation, concatenated, fused by
    a 1x1 convolution and added to the input.

    Dilated branches use replication padding in the refine network (valid at any feature size) and
    zero padding in the coarse network.
    """

    def __init__(
        self,
        channels: int,
        dilations: tuple[int, ...],
        gated: bool,
        pad_mode: str = "zeros",
        norm: str = "none",
        act: str = "elu",
    ) -> None:
        super().__init__()
        n = len(dilations)
        branch = max(1, channels // n)
        layer = GatedConv2d if gated else ConvBlock
        self.branches = nn.ModuleList(
            layer(channels, branch, 3, 1, d, pad_mode, norm, act) for d in dilations
        )
        self.fuse = ConvBlock(branch * n, channels, 1, 1, 1, "zeros", norm, act=None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.cat([b(x) for b in self.branches], dim=1)
        return x + self.fuse(y)


class SelfAttention(nn.Module):
    """SAGAN self-attention over all positions of a feature map, ``x + gamma * attention(x)``.

    ``gamma`` starts at zero (the block begins as an identity) unless ``init_weights`` randomises all.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        inner = max(1, channels // 8)
        self.query = nn.Conv2d(channels, inner, 1)
        self.key = nn.Conv2d(channels, inner, 1)
        self.value = nn.Conv2d(channels, channels, 1)
        self.gamma = nn.Parameter(torch.zeros(1))
        self.scale = 1.0 / math.sqrt(inner)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q = self.query(x).flatten(2).transpose(1, 2)  # (B, N, c')
        k = self.key(x).flatten(2)  # (B, c', N)
        v = self.value(x).flatten(2)  # (B, C, N)
        attn = torch.softmax(torch.bmm(q, k) * self.scale, dim=-1)  # (B, N, N)
        out = torch.bmm(v, attn.transpose(1, 2)).reshape(b, c, h, w)
        return x + self.gamma * out


def init_weights(module: nn.Module, kind: str = "kaiming", gain: float = 0.02, zero_heads: bool = True) -> nn.Module:
    """Initialise every convolution / linear layer of ``module`` in place and return it.

    ``kind``: "kaiming" (default, fan-in, for the leaky activations), "normal" (N(0, gain)), "xavier"
    (gain ``gain`` scaled to 1 for unit variance) or "orthogonal". BatchNorm gets weight 1, bias 0.
    With ``zero_heads`` (default) the zero-initialised output heads and attention gammas stay zero, so
    a conditioned generator starts as a pass-through of the reference; ``zero_heads=False``
    randomises them too (every path active, e.g. for export parity checks).
    """
    if kind not in INIT_KINDS:
        raise ValueError(f"unknown init {kind!r}; expected one of {INIT_KINDS}")
    for m in module.modules():
        if isinstance(m, ZeroInit) and zero_heads:
            nn.init.zeros_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
            continue
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            if kind == "kaiming":
                nn.init.kaiming_normal_(m.weight, a=0.2, mode="fan_in", nonlinearity="leaky_relu")
            elif kind == "normal":
                nn.init.normal_(m.weight, 0.0, gain)
            elif kind == "xavier":
                nn.init.xavier_normal_(m.weight, gain=1.0)
            else:
                nn.init.orthogonal_(m.weight, gain=1.0)
            if isinstance(m, ZeroInit):
                # a randomised head: keep it small so outputs stay in range
                with torch.no_grad():
                    m.weight.mul_(0.1)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, SelfAttention):
            nn.init.constant_(m.gamma, 0.0 if zero_heads else 0.5)
    return module
