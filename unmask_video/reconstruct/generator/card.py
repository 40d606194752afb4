"""Model cards: what a generator takes, gives and costs, and (once trained) what it was trained on.

A card is computed from a configuration (parameters and FLOPs are counted, not typed in) and stored as
JSON in the metadata of every weights file, where the trainer adds training data and metrics.

Counted figures (conditioned variants, batch 1; FLOPs = 2 x multiply-accumulates of convolutions and
matrix products, torch.utils.flop_counter; the "-original" variants differ by < 1.5%), and latency per
crop with ONNX Runtime 1.32 on the CPU, 2 threads, measured by benchmarks/generator_latency.py on the
shared 2-core development machine at a load average of ~9 (min / median of 10; an idle machine is
faster):

=======  ====  ====  ==========  =======  ====================  ===========================
name     crop  cnum  parameters  GFLOPs   ORT CPU ms/crop       torch CPU ms/crop (median)
=======  ====  ====  ==========  =======  ====================  ===========================
paper    256   32    38.10 M     112.45   5162 / 5273           21960
fast     96    8     0.80 M      0.54     24.6 / 40.1           355
tiny     64    8     0.64 M      0.24     (tests only)
=======  ====  ====  ==========  =======  ====================  ===========================

paper: coarse = 5 gated convs with 2 downsamplings, 16 multi-dilation residual blocks (8 gated branches,
dilations 1..8) at 64x64, dilated gated convs (2/4/8/16), 2 x (nearest resize + gated conv), tanh;
refine = reflection-padded encoder, 4 downsamplings to 512 x 16x16, 10 multi-dilation residual blocks
(4 branches, dilations 1/2/4/8, replication padding), self-attention at 16x16 (bottleneck), 32x32 and
64x64 (skips), bilinear-upsampling decoder, BatchNorm (fused on export), ELU.
fast: the same family at 96x96, cnum 8, one 4-branch coarse block, dilated rates 2/4, two refine blocks,
attention at the 6x6 bottleneck only, no BatchNorm, LeakyReLU. Conditioned: outputs are the warped
reference (with a per-image colour gain/bias) plus a zero-initialised residual where it is valid, so
training starts from the reference composite and only learns the correction.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from unmask_video.reconstruct.generator.configs import GeneratorConfig, get_config

INPUTS_CONDITIONED = (
    "image (B,3,S,S) float32 in [-1,1], the face crop as it is (the network zeroes the hole)",
    "mask (B,1,S,S) float32 in {0,1}, 1 = hole to rebuild",
    "reference (B,3,S,S) float32 in [-1,1], the TPS-warped reference crop",
    "ref_valid (B,1,S,S) float32 in {0,1}, 1 = reference pixel valid",
)
INPUTS_ORIGINAL = (
    "image (B,3,S,S) float32 in [-1,1], the face crop as it is (the network zeroes the hole)",
    "mask (B,1,S,S) float32 in {0,1}, 1 = hole to rebuild",
    "reference (B,3,S,S) float32 in [-1,1], pasted into the hole where valid (network sees image+mask)",
    "ref_valid (B,1,S,S) float32 in {0,1}, 1 = reference pixel valid",
)
FLOPS_NOTE = "FLOPs = 2 x multiply-accumulates of convolutions and matrix products (torch.utils.flop_counter), batch 1"


@dataclass
class ModelCard:
    name: str
    config: str  # registry name the weights were built from
    input_size: int
    value_range: str = "[-1, 1]"
    conditioned: bool = True
    inputs: tuple[str, ...] = INPUTS_CONDITIONED
    outputs: tuple[str, ...] = (
        "refined (B,3,S,S) float32 in [-1,1] (ONNX / engines: the only output)",
        "coarse (B,3,S,S) and feature (B,512) in PyTorch only (training)",
    )
    parameters: int = 0
    flops: int = 0
    flops_note: str = FLOPS_NOTE
    training_data: str = "untrained (freshly initialised)"
    metrics: dict[str, float] = field(default_factory=dict)
    latency_ms: dict[str, float] = field(default_factory=dict)
    notes: str = ""

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "ModelCard":
        data: dict[str, Any] = json.loads(text)
        known = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: tuple(v) if k in ("inputs", "outputs") else v for k, v in data.items() if k in known}
        return cls(**kwargs)

    def summary(self) -> str:
        return (
            f"{self.name}: {self.input_size}x{self.input_size} crop, "
            f"{self.parameters / 1e6:.2f} M parameters, {self.flops / 1e9:.2f} GFLOPs, "
            f"{'reference-conditioned' if self.conditioned else 'original (reference pasted)'}, "
            f"{self.training_data}"
        )


def card_for_config(config: GeneratorConfig, **fields: Any) -> ModelCard:
    """A card with counted parameters and FLOPs (large configurations are counted on the meta
    device: shapes only, no memory or compute)."""
    from unmask_video.reconstruct.generator.networks import Generator, count_flops, count_parameters, meta_generator

    small = config.cnum * config.size <= 16 * 128
    model = Generator(config) if small else meta_generator(config)
    card = ModelCard(
        name=config.name,
        config=config.name,
        input_size=config.size,
        conditioned=config.conditioned,
        inputs=INPUTS_CONDITIONED if config.conditioned else INPUTS_ORIGINAL,
        parameters=count_parameters(model),
        flops=count_flops(model),
    )
    return dataclasses.replace(card, **fields) if fields else card


def model_card(name: str, **overrides: Any) -> ModelCard:
    """The card of a registered configuration (with config overrides)."""
    return card_for_config(get_config(name, **overrides))
