"""Generator configurations: one dataclass, a registry of named configurations, one factory.

Names: "paper" (the method's generator, cnum=32, 256x256), "fast" (same family sized for real time
on a CPU, 128x128), "tiny" (a very small one for tests and smoke tests). Every name is the
reference-conditioned variant; the "-original" names (e.g. "paper-original") are the method's
original variant, where the warped reference is pasted into the hole and the network sees image and
mask only. ``networks.create_generator(name, conditioned=False)`` is the same thing.

This module imports nothing of the package (the networks import it, never the reverse).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

#: What a residual network's output is added to: the TPS-warped reference ("reference", zeroed where it is not
#: valid), or the reference composite's output, defined everywhere ("composite": the network corrects it).
BASES = ("reference", "composite")


@dataclass(frozen=True)
class GeneratorConfig:
    """Everything needed to rebuild a generator (stored as JSON in the weights' metadata)."""

    name: str = "custom"
    #: Side of the square aligned face crop, pixels. Must be a multiple of 16.
    size: int = 256
    #: Base channel width (the method's cnum).
    cnum: int = 32
    #: True: the network also takes the TPS-warped reference crop and its validity map.
    #: False: the method's original variant (reference pasted into the hole, image + mask only).
    conditioned: bool = True
    #: Conditioned only: outputs are the (colour-corrected) reference plus a predicted residual
    #: where the reference is valid; pure prediction elsewhere.
    residual: bool = True
    #: Coarse network: multi-dilation residual blocks at 1/4 resolution, 8 branches each.
    coarse_blocks: int = 4
    coarse_dilations: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7, 8)
    #: Coarse network: dilated gated convolutions after the blocks.
    coarse_rates: tuple[int, ...] = (2, 4, 8, 16)
    #: Refine network: multi-dilation residual blocks at the 1/16 bottleneck, 4 branches each.
    refine_blocks: int = 8
    refine_dilations: tuple[int, ...] = (1, 2, 4, 8)
    #: Self-attention on the refine network's paths, given as downsampling factors
    #: (16 = bottleneck, 8 and 4 = skips); at size 256: 16x16, 32x32 and 64x64.
    attention: tuple[int, ...] = (16, 8, 4)
    #: Normalisation in the refine network ("batch" is fused into the convolutions on export).
    norm: str = "batch"
    act: str = "elu"
    #: Width of the pooled bottleneck feature returned for the contrastive loss.
    feature_dim: int = 512
    #: Where the crop sits on the face (see unmask_video.align): "face" = whole face, "face_neck" = the face
    #: and the neck below the chin (a mask reaches onto the neck).
    framing: str = "face"
    #: Conditioned residual networks: what the "reference" input is and the residual is added to (see BASES).
    #: "composite": the reference input is the composite's output (colour-matched warped reference, inpainted
    #: where the warp gives nothing), ``ref_valid`` only says where the warp covered, and the output is that
    #: composite plus the predicted residual everywhere.
    base: str = "reference"

    def __post_init__(self) -> None:
        if self.size % 16 or self.size < 32:
            raise ValueError(f"size must be a multiple of 16 and >= 32, got {self.size}")
        if self.cnum < 2:
            raise ValueError(f"cnum must be >= 2, got {self.cnum}")
        bad = [a for a in self.attention if a not in (4, 8, 16)]
        if bad:
            raise ValueError(f"attention factors must be among 4, 8, 16, got {bad}")
        if not self.coarse_dilations or not self.refine_dilations:
            raise ValueError("dilation lists must not be empty")
        if self.base not in BASES:
            raise ValueError(f"base must be one of {BASES}, got {self.base!r}")
        if self.base == "composite" and not (self.conditioned and self.residual):
            raise ValueError("base 'composite' needs a conditioned residual network")

    @property
    def corrects_composite(self) -> bool:
        """True: the network takes the composite's output and predicts a correction of it."""
        return self.base == "composite"

    @property
    def in_channels(self) -> int:
        return 8 if self.conditioned else 4

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "GeneratorConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown generator config fields {unknown}")
        kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return cls(**kwargs)

    @classmethod
    def from_json(cls, text: str) -> "GeneratorConfig":
        return cls.from_dict(json.loads(text))


_PAPER = GeneratorConfig(
    name="paper",
    size=256,
    cnum=32,
    coarse_blocks=16,
    refine_blocks=10,
    attention=(16, 8, 4),
    norm="batch",
    act="elu",
)

_FAST = GeneratorConfig(
    name="fast",
    size=96,
    cnum=8,
    coarse_blocks=1,
    coarse_dilations=(1, 2, 4, 8),
    coarse_rates=(2, 4),
    refine_blocks=2,
    refine_dilations=(1, 2, 4, 8),
    attention=(16,),
    norm="none",
    act="lrelu",
    framing="face_neck",
    base="composite",
)

_TINY = GeneratorConfig(
    name="tiny",
    size=64,
    cnum=8,
    coarse_blocks=1,
    coarse_dilations=(1, 2, 4, 8),
    coarse_rates=(2, 4),
    refine_blocks=1,
    refine_dilations=(1, 2, 4, 8),
    attention=(16, 4),
    norm="none",
    act="lrelu",
    feature_dim=512,
)

REGISTRY: dict[str, GeneratorConfig] = {}


def register(config: GeneratorConfig) -> GeneratorConfig:
    """Add a named configuration (and its "-original" twin) to the registry."""
    REGISTRY[config.name] = config
    if config.conditioned:
        original = dataclasses.replace(config, name=f"{config.name}-original", conditioned=False, base="reference")
        REGISTRY[original.name] = original
    return config


for _cfg in (_PAPER, _FAST, _TINY):
    register(_cfg)


def get_config(name: str, **overrides: Any) -> GeneratorConfig:
    """The registered configuration ``name`` with ``overrides`` applied (a ValueError lists names)."""
    if name not in REGISTRY:
        raise ValueError(f"unknown generator {name!r}; choose one of {sorted(REGISTRY)}")
    cfg = REGISTRY[name]
    if overrides:
        known = {f.name for f in dataclasses.fields(GeneratorConfig)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"unknown generator config fields {unknown}")
        cfg = dataclasses.replace(cfg, **overrides)
    return cfg
