"""The inpainting generator: a gated-convolution coarse network and an attention refine network.

Inputs (see :meth:`Generator.forward`): ``image`` and ``reference`` (B,3,S,S) in [-1,1]; ``mask`` and
``ref_valid`` (B,1,S,S) in {0,1} (1 = hole / reference valid). The network zeroes the hole of
``image`` itself, so callers pass the frame crop as it is (mask and all).

- conditioned variant (``config.conditioned``): both networks see the hole-zeroed image, the mask,
  the reference (zeroed where not valid) and its validity map. With ``config.residual`` the outputs
  are the reference (the refine network also applies a per-image colour gain/bias predicted from the
  pooled bottleneck) plus a predicted residual where the reference is valid, and a pure prediction
  elsewhere; the output heads start at zero, so a fresh network is a pass-through of the reference.
- original variant: the reference (where valid) is pasted into the hole, the networks see that
  image and the mask only, outputs go through tanh.

Outputs are raw, full-crop predictions (not composited with the input outside the hole); the
caller keeps the known pixels.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from unmask_video.reconstruct.generator.configs import GeneratorConfig, get_config
from unmask_video.reconstruct.generator.layers import (
    ConvBlock,
    GatedConv2d,
    MultiDilationResBlock,
    SelfAttention,
    Upsample,
    ZeroConv2d,
    ZeroLinear,
    init_weights,
)


@dataclass
class GeneratorOutput:
    coarse: torch.Tensor  # (B,3,S,S) in [-1,1]
    refined: torch.Tensor  # (B,3,S,S) in [-1,1]
    feature: torch.Tensor  # (B,feature_dim) pooled bottleneck feature (contrastive loss)


def _residual_head(delta: torch.Tensor, base: torch.Tensor, valid: torch.Tensor | None) -> torch.Tensor:
    """The base plus a residual, clamped to [-1,1]: where ``valid`` (a warped reference) is 1, a bounded
    prediction where it is 0; everywhere when ``valid`` is None (the base is the composite, defined everywhere)."""
    if valid is None:
        return torch.clamp(base + delta, -1.0, 1.0)
    out = valid * (base + delta) + (1.0 - valid) * torch.tanh(delta)
    return torch.clamp(out, -1.0, 1.0)


class CoarseNet(nn.Module):
    """Gated convolutions: two downsamplings, multi-dilation residual blocks, dilated gated
    convolutions, upsampling by resize then gated convolution."""

    def __init__(self, cfg: GeneratorConfig) -> None:
        super().__init__()
        c, act = cfg.cnum, cfg.act
        g = lambda cin, cout, k=3, s=1, d=1: GatedConv2d(cin, cout, k, s, d, "zeros", "none", act)  # noqa: E731
        self.encoder = nn.Sequential(
            g(cfg.in_channels, c, 5),
            g(c, 2 * c, 3, 2),
            g(2 * c, 2 * c),
            g(2 * c, 4 * c, 3, 2),
        )
        body: list[nn.Module] = [
            MultiDilationResBlock(4 * c, cfg.coarse_dilations, True, "zeros", "none", act)
            for _ in range(cfg.coarse_blocks)
        ]
        body += [g(4 * c, 4 * c, 3, 1, r) for r in cfg.coarse_rates]
        self.body = nn.Sequential(*body)
        self.decoder = nn.Sequential(
            Upsample("nearest", g(4 * c, 2 * c)),
            g(2 * c, 2 * c),
            Upsample("nearest", g(2 * c, c)),
            g(c, max(1, c // 2)),
        )
        self.residual = cfg.conditioned and cfg.residual
        self.everywhere = cfg.corrects_composite
        head = ZeroConv2d if self.residual else nn.Conv2d
        self.head = head(max(1, c // 2), 3, 3, 1, 1)

    def forward(self, x: torch.Tensor, ref: torch.Tensor | None, valid: torch.Tensor | None) -> torch.Tensor:
        y = self.head(self.decoder(self.body(self.encoder(x))))
        if self.residual:
            return _residual_head(y, ref, None if self.everywhere else valid)
        return torch.tanh(y)


class RefineNet(nn.Module):
    """Reflection/replication-padded encoder with 4 downsamplings to a 16*cnum bottleneck at 1/16,
    multi-dilation residual blocks (4 branches), self-attention on the bottleneck and skip paths,
    bilinear upsampling; returns the output and the pooled bottleneck feature."""

    def __init__(self, cfg: GeneratorConfig) -> None:
        super().__init__()
        c, act, norm = cfg.cnum, cfg.act, cfg.norm
        blk = lambda cin, cout, k=3, s=1: ConvBlock(cin, cout, k, s, 1, "reflect", norm, act)  # noqa: E731
        widths = [c, 2 * c, 4 * c, 8 * c, 16 * c]  # at 1, 1/2, 1/4, 1/8, 1/16
        self.enc = nn.ModuleList(
            [blk(cfg.in_channels, c, 5)] + [blk(widths[i], widths[i + 1], 3, 2) for i in range(4)]
        )
        self.blocks = nn.Sequential(
            *[
                MultiDilationResBlock(widths[4], cfg.refine_dilations, False, "replicate", norm, act)
                for _ in range(cfg.refine_blocks)
            ]
        )
        self.bottleneck_attn: nn.Module = SelfAttention(widths[4]) if 16 in cfg.attention else nn.Identity()
        # skip attention at 1/8 (level 3) and 1/4 (level 2)
        self.skip_attn = nn.ModuleDict(
            {str(lvl): SelfAttention(widths[lvl]) for lvl, f in ((3, 8), (2, 4)) if f in cfg.attention}
        )
        self.up = nn.ModuleList(
            [Upsample("bilinear", blk(widths[i + 1], widths[i])) for i in range(4)]
        )
        self.merge = nn.ModuleList([blk(2 * widths[i], widths[i]) for i in range(4)])
        self.residual = cfg.conditioned and cfg.residual
        self.everywhere = cfg.corrects_composite
        head = ZeroConv2d if self.residual else nn.Conv2d
        self.head = nn.Sequential(nn.ReflectionPad2d(1), head(c, 3, 3, 1, 0))
        self.project: nn.Module = (
            nn.Identity() if widths[4] == cfg.feature_dim else nn.Linear(widths[4], cfg.feature_dim)
        )
        # per-image colour gain/bias of the reference, from the pooled bottleneck (starts at identity)
        self.colour: nn.Module | None = ZeroLinear(widths[4], 6) if self.residual else None

    def forward(
        self, x: torch.Tensor, ref: torch.Tensor | None, valid: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        skips = []
        for i, layer in enumerate(self.enc):
            x = layer(x)
            if i < 4:
                skips.append(x)
        x = self.bottleneck_attn(self.blocks(x))
        pooled = x.mean(dim=(2, 3))
        feature = self.project(pooled)
        for i in (3, 2, 1, 0):
            skip = skips[i]
            if str(i) in self.skip_attn:
                skip = self.skip_attn[str(i)](skip)
            x = self.merge[i](torch.cat([self.up[i](x), skip], dim=1))
        y = self.head(x)
        if self.residual:
            gb = self.colour(pooled)
            gain = 1.0 + gb[:, :3, None, None]
            bias = gb[:, 3:, None, None]
            return _residual_head(y, ref * gain + bias, None if self.everywhere else valid), feature
        return torch.tanh(y), feature


class Generator(nn.Module):
    """Coarse-to-fine inpainting generator (see the module docstring for the input contract)."""

    def __init__(self, config: GeneratorConfig) -> None:
        super().__init__()
        self.config = config
        self.coarse = CoarseNet(config)
        self.refine = RefineNet(config)
        init_weights(self, "kaiming")

    def prepare(
        self,
        image: torch.Tensor,
        mask: torch.Tensor,
        reference: torch.Tensor | None = None,
        ref_valid: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """The hole-zeroed image (original variant: with the reference pasted), the mask, and the
        reference zeroed where it is not valid (kept whole when it is the composite), with its validity map."""
        if reference is None:
            reference = torch.zeros_like(image)
            ref_valid = torch.zeros_like(mask)
        elif ref_valid is None:
            ref_valid = torch.ones_like(mask)
        ref = reference if self.config.corrects_composite else reference * ref_valid
        known = image * (1.0 - mask)
        if not self.config.conditioned:
            known = known + ref * mask
        return known, mask, ref, ref_valid

    def forward(
        self,
        image: torch.Tensor,
        mask: torch.Tensor,
        reference: torch.Tensor | None = None,
        ref_valid: torch.Tensor | None = None,
    ) -> GeneratorOutput:
        known, mask, ref, valid = self.prepare(image, mask, reference, ref_valid)
        if self.config.conditioned:
            x1 = torch.cat([known, mask, ref, valid], dim=1)
        else:
            x1 = torch.cat([known, mask], dim=1)
        coarse = self.coarse(x1, ref, valid)
        merged = known * (1.0 - mask) + coarse * mask
        if self.config.conditioned:
            x2 = torch.cat([merged, mask, ref, valid], dim=1)
        else:
            x2 = torch.cat([merged, mask], dim=1)
        refined, feature = self.refine(x2, ref, valid)
        return GeneratorOutput(coarse=coarse, refined=refined, feature=feature)


def create_generator(name: str | GeneratorConfig, **overrides: Any) -> Generator:
    """Build a freshly initialised generator from a registered name (or a config) plus overrides."""
    if isinstance(name, GeneratorConfig):
        cfg = dataclasses.replace(name, **overrides) if overrides else name
    else:
        cfg = get_config(name, **overrides)
    return Generator(cfg)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def meta_generator(config: GeneratorConfig) -> Generator:
    """A generator on the meta device (shapes only, no memory), for counting."""
    with torch.device("meta"):
        return Generator(config)


def count_flops(model: Generator, batch: int = 1) -> int:
    """FLOPs (2 x multiply-accumulates) of convolutions and matrix products for one forward pass,
    as counted by ``torch.utils.flop_counter`` (elementwise operations are not counted)."""
    from torch.utils.flop_counter import FlopCounterMode

    s = model.config.size
    device = next(model.parameters()).device
    image = torch.zeros(batch, 3, s, s, device=device)
    mask = torch.zeros(batch, 1, s, s, device=device)
    was_training = model.training
    model.eval()
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(image, mask, image, mask)
    model.train(was_training)
    return int(counter.get_total_flops())
