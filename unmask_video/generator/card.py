"""Model cards: what a generator takes, gives and costs, and (once trained) what it was trained on.

A card is computed from a configuration (parameters and FLOPs are counted, not typed in) and stored as
JSON in the metadata of every weights file, where the trainer adds training data and metrics.

Counted figures (conditioned variants, batch 1, FLOPs = 2 x multiply-accumulates of convolutions and
matrix products, torch.utils.flop_counter):

========  ======  ==========  =========
name      crop    parameters  GFLOPs
========  ======  ==========  =========
paper     256     38.10 M     112.5
fast      128     see ``model_card("fast")`` / benchmarks/generator_latency.py
tiny      64      see ``model_card("tiny")``
========  ======  ==========  =========
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from .configs import GeneratorConfig, get_config

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
    from .networks import Generator, count_flops, count_parameters, meta_generator

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
