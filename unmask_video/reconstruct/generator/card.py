"""Model cards: what a generator takes, gives and costs, and (once trained) what it was trained on.

A card is computed from a configuration (parameters and FLOPs are counted, not typed in) and stored as
JSON in the metadata of every weights file, where the trainer adds training data and metrics.

Parameters, FLOPs and latency per crop are measured, not quoted here: ``python -m benchmarks.generator_latency``
prints them (and the README carries the latest run).

paper: coarse = 5 gated convs with 2 downsamplings, 16 multi-dilation residual blocks (8 gated branches,
dilations 1..8) at 64x64, dilated gated convs (2/4/8/16), 2 x (nearest resize + gated conv), tanh;
refine = reflection-padded encoder, 4 downsamplings to 512 x 16x16, 10 multi-dilation residual blocks
(4 branches, dilations 1/2/4/8, replication padding), self-attention at 16x16 (bottleneck), 32x32 and
64x64 (skips), bilinear-upsampling decoder, BatchNorm (fused on export), ELU.
fast: the same family at 96x96 (the face and the neck: "face_neck" framing), cnum 8, one 4-branch coarse block,
dilated rates 2/4, two refine blocks, attention at the 6x6 bottleneck only, no BatchNorm, LeakyReLU. It corrects
the composite (base "composite"): its reference input is the composite's output, and its outputs are that
composite (with a per-image colour gain/bias) plus a zero-initialised residual, so a fresh network returns the
composite and training only learns the correction.

``quality_benchmark`` records a run of the project's quality benchmark against the composite
(:func:`quality_record`); ``--generator auto`` uses weights only when :func:`beats_composite` says so.
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
INPUTS_COMPOSITE = (
    "image (B,3,S,S) float32 in [-1,1], the face crop as it is (the network zeroes the hole)",
    "mask (B,1,S,S) float32 in {0,1}, 1 = hole to rebuild",
    "reference (B,3,S,S) float32 in [-1,1], the reference composite's output (--generator none) for the face",
    "ref_valid (B,1,S,S) float32 in {0,1}, 1 = the warped reference covered this pixel",
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
    #: The project's quality benchmark (``benchmarks.quality``: real talking-head clips, a drawn mask, the truth
    #: known) run with these weights and with the composite (``--generator none``) in the same run: see
    #: :func:`quality_record` for the keys. ``--generator auto`` uses the weights only if :func:`beats_composite`.
    quality_benchmark: dict[str, Any] = field(default_factory=dict)

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
            f"{'reference-conditioned' if self.conditioned else 'original (reference pasted)'}"
            f"{', corrects the composite' if self.inputs == INPUTS_COMPOSITE else ''}, "
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
        inputs=(INPUTS_COMPOSITE if config.corrects_composite else INPUTS_CONDITIONED) if config.conditioned
        else INPUTS_ORIGINAL,
        parameters=count_parameters(model),
        flops=count_flops(model),
    )
    return dataclasses.replace(card, **fields) if fields else card


def model_card(name: str, **overrides: Any) -> ModelCard:
    """The card of a registered configuration (with config overrides)."""
    return card_for_config(get_config(name, **overrides))


#: The bar a generator clears to be ``--generator auto``'s choice, the issue's own: its mean PSNR inside the mask
#: beats the composite's by at least MIN_GAIN_DB, and it loses to the composite by no more than MAX_CLIP_LOSS_DB on
#: any clip (both measured in one run of the quality benchmark).
MIN_GAIN_DB = 1.0
MAX_CLIP_LOSS_DB = 0.3


def quality_record(
    generator_psnr: dict[str, float], composite_psnr: dict[str, float], **details: Any
) -> dict[str, Any]:
    """What a card records of one quality-benchmark run: per-clip PSNR inside the mask (dB) of the generator and
    of the composite, measured in the same run, their means, and whether the generator beat the composite (mean
    PSNR higher by at least :data:`MIN_GAIN_DB`, no clip worse by more than :data:`MAX_CLIP_LOSS_DB`)."""
    clips = sorted(set(generator_psnr) & set(composite_psnr))
    if not clips:
        raise ValueError("a quality record needs at least one clip scored for both the generator and the composite")
    deltas = {c: generator_psnr[c] - composite_psnr[c] for c in clips}
    mean_g = sum(generator_psnr[c] for c in clips) / len(clips)
    mean_c = sum(composite_psnr[c] for c in clips) / len(clips)
    wins = mean_g - mean_c >= MIN_GAIN_DB and min(deltas.values()) >= -MAX_CLIP_LOSS_DB
    return {
        "benchmark": "benchmarks.quality",
        "clips": clips,
        "generator_psnr_db": {c: round(generator_psnr[c], 3) for c in clips},
        "composite_psnr_db": {c: round(composite_psnr[c], 3) for c in clips},
        "mean_generator_psnr_db": round(mean_g, 3),
        "mean_composite_psnr_db": round(mean_c, 3),
        "worst_clip_delta_db": round(min(deltas.values()), 3),
        "beats_composite": bool(wins),
        "rule": f"mean gain >= {MIN_GAIN_DB} dB and no clip worse by more than {MAX_CLIP_LOSS_DB} dB",
        **details,
    }


def beats_composite(card: ModelCard | None) -> bool:
    """True only if ``card`` records a quality-benchmark run the generator won against the composite (re-checked
    from the recorded per-clip figures, not only the recorded verdict)."""
    if card is None or not card.quality_benchmark:
        return False
    record = card.quality_benchmark
    try:
        again = quality_record(record["generator_psnr_db"], record["composite_psnr_db"])
    except (KeyError, TypeError, ValueError):
        return False
    return bool(record.get("beats_composite")) and again["beats_composite"]
