"""The method's discriminator: six spectral-normalised convolution blocks (kernel 5, stride 2) on image + mask."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


class Discriminator(nn.Module):
    """SN-PatchGAN: 6 blocks of spectral-normalised conv (k5, s2) + LeakyReLU(0.2); returns (B, N) patch scores.

    Input: an image (B,3,S,S) in [-1,1] and its hole mask (B,1,S,S); widths c, 2c, 4c, 4c, 4c, 4c.
    """

    def __init__(self, channels: int = 64, in_channels: int = 4, blocks: int = 6) -> None:
        super().__init__()
        widths = [channels * m for m in (1, 2, 4, 4, 4, 4, 4, 4)[:blocks]]
        layers: list[nn.Module] = []
        cin = in_channels
        for i, cout in enumerate(widths):
            layers.append(spectral_norm(nn.Conv2d(cin, cout, 5, 2, 2)))
            if i < blocks - 1:
                layers.append(nn.LeakyReLU(0.2, inplace=True))
            cin = cout
        self.net = nn.Sequential(*layers)

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([image, mask], dim=1)).flatten(1)

    def features(self, image: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The patch scores and the activations after each hidden block (for the feature-matching loss)."""
        x = torch.cat([image, mask], dim=1)
        feats = []
        for layer in self.net:
            x = layer(x)
            if isinstance(layer, nn.LeakyReLU):
                feats.append(x)
        return x.flatten(1), feats


def init_discriminator(module: nn.Module, kind: str = "kaiming") -> None:
    """Initialise the convolutions' raw weights (kaiming | normal | xavier | orthogonal)."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            w = m.parametrizations.weight.original if hasattr(m, "parametrizations") else m.weight
            if kind == "kaiming":
                nn.init.kaiming_normal_(w, a=0.2, nonlinearity="leaky_relu")
            elif kind == "normal":
                nn.init.normal_(w, 0.0, 0.02)
            elif kind == "xavier":
                nn.init.xavier_normal_(w)
            elif kind == "orthogonal":
                nn.init.orthogonal_(w)
            else:
                raise ValueError(f"unknown init {kind!r}; expected kaiming, normal, xavier or orthogonal")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
