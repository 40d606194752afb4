"""VGG19 features for the perceptual and style losses, without torchvision.

The network is built here in torchvision's layout (``features.N.weight`` / ``features.N.bias``), so torchvision's
ImageNet file ``vgg19-dcbb9e9d.pth`` (or any state dict in that layout, ``.pth`` or ``.safetensors``) loads as is.
Nothing is downloaded: the file comes from ``--vgg-weights`` or the torch hub cache.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn

from unmask_video.errors import InputError

log = logging.getLogger(__name__)

#: torchvision's VGG19 ("E") feature configuration: channels, "M" = max-pool.
VGG19_CFG: tuple = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
                    512, 512, 512, 512, "M")
#: relu1_1, relu2_1, relu3_1, relu4_1, relu5_1 as indices into ``features``.
LAYERS: tuple[int, ...] = (1, 6, 11, 20, 29)
TORCHVISION_FILE = "vgg19-dcbb9e9d.pth"

_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)


class VGGWeightsMissing(InputError):
    """No VGG19 ImageNet weights on this machine."""


def make_features(up_to: int = LAYERS[-1]) -> nn.Sequential:
    layers: list[nn.Module] = []
    cin = 3
    for v in VGG19_CFG:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(cin, v, 3, padding=1), nn.ReLU(inplace=False)]
            cin = v
    return nn.Sequential(*layers[: up_to + 1])


def default_weight_paths() -> list[Path]:
    return [Path(torch.hub.get_dir()) / "checkpoints" / TORCHVISION_FILE]


def find_vgg_weights(path: str | Path | None) -> Path:
    """The weights file to use: ``path`` if given (it must exist), else the torch hub cache; else a clear error."""
    if path:
        p = Path(path)
        if not p.is_file():
            raise VGGWeightsMissing(
                f"--vgg-weights {p} does not exist; give torchvision's {TORCHVISION_FILE} (or a state dict in its "
                "layout), or pass --no-vgg to train without the perceptual and style losses"
            )
        return p
    for p in default_weight_paths():
        if p.is_file():
            return p
    raise VGGWeightsMissing(
        f"VGG19 ImageNet weights not found (looked for {default_weight_paths()[0]}); pass --vgg-weights FILE "
        f"(torchvision's {TORCHVISION_FILE}) or --no-vgg to train without the perceptual and style losses"
    )


def load_state(path: Path) -> dict[str, torch.Tensor]:
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    state = torch.load(str(path), map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    return state


class VGG19Features(nn.Module):
    """Frozen VGG19 returning the activations of :data:`LAYERS` for images in [-1, 1]."""

    def __init__(self, weights: str | Path | None = None) -> None:
        super().__init__()
        self.features = make_features()
        path = find_vgg_weights(weights)
        state = load_state(path)
        feats = {k[len("features."):]: v for k, v in state.items() if k.startswith("features.")}
        own = self.features.state_dict()
        missing = [k for k in own if k not in feats]
        if missing:
            raise InputError(f"{path} is not a VGG19 state dict in torchvision's layout (missing features.{missing[0]})")
        bad = [k for k in own if feats[k].shape != own[k].shape]
        if bad:
            raise InputError(f"{path} does not hold VGG19 weights (features.{bad[0]} has shape {tuple(feats[bad[0]].shape)})")
        self.features.load_state_dict({k: feats[k] for k in own})
        self.source = str(path)
        log.info("VGG19 weights loaded from %s", path)
        self.register_buffer("mean", torch.tensor(_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_STD).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> "VGG19Features":  # always frozen
        return super().train(False)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = ((x + 1) / 2 - self.mean) / self.std
        out = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in LAYERS:
                out.append(x)
        return out
