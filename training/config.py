"""The training configuration: one dataclass, saved as JSON into each run folder and into each checkpoint.

One way to set a field: a JSON file (``--config``, e.g. a run folder's ``config.json``) gives the defaults and the
command line overrides any field, with flags generated from the dataclass by ``tyro`` (``--losses.hole 4``,
``--batch-size 16``); :func:`parse_command` does both.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal


@dataclass
class LossWeights:
    """Loss weights; the defaults are the method's."""

    adversarial: float = 0.1  # hinge loss, generator side (the discriminator's hinge loss has weight 1)
    hole: float = 6.0  # L1 inside the hole, on coarse and refined outputs
    valid: float = 1.0  # L1 outside the hole, on coarse and refined outputs
    coarse: float = 1.0  # multiplier of the coarse output's hole + valid terms
    tv: float = 0.1  # total variation of the composited output (over the hole, dilated by one pixel)
    perceptual: float = 0.05  # VGG19 perceptual loss, 5 layers
    style: float = 40.0  # VGG19 Gram-matrix style loss, 5 layers
    contrastive: float = 0.1  # InfoNCE on the pooled 512-d bottleneck feature, image vs its augmented copy
    feature_matching: float = 0.0  # L1 between the discriminator's hidden activations on output and truth
    colour: float = 0.0  # L1 between local colour means (1/8 resolution) over the hole, output vs truth
    temporal: float = 0.0  # consecutive frames: |(out_t+1 - out_t) - (truth_t+1 - truth_t)| over the holes


#: Fields older run folders may hold that no longer mean anything (ignored on load).
_RETIRED = frozenset({"video_frames"})


@dataclass
class TrainConfig:
    # model
    model: str = "fast"  # generator configuration name (create_generator)
    model_overrides: dict[str, int | float | str] = field(default_factory=dict)  # GeneratorConfig fields
    init: Literal["kaiming", "normal", "xavier", "orthogonal"] = "kaiming"
    init_from: str = ""  # a fresh run starts its generator from these weights (a last.pt or .safetensors)
    disc_channels: int = 64  # discriminator width (6 blocks: c, 2c, 4c, 4c, 4c, 4c)
    # data
    data: str = ""  # a folder written by training.prepare
    pairs: Literal["photos", "composite"] = "photos"  # photos: training.dataset.FacePairs (reference-based); composite: training.composite_pairs
    image_size: int = 0  # 0: the generator configuration's own input size
    drawn_mask_prob: float = 0.0  # share of holes taken from the drawn surgical mask instead of the jittered polygon
    num_workers: int = 2
    # optimisation
    batch_size: int = 8  # per process
    epochs: int = 15  # total epochs = constant + decay
    decay_epochs: int = 5  # linear decay of both learning rates to 0 over the last epochs
    steps_per_epoch: int = 0  # 0: one pass over the training split (per process share)
    max_steps: int = 0  # stop after this many steps (0: no limit)
    time_budget_min: float = 0.0  # stop (and checkpoint) after this many minutes (0: no limit)
    lr_g: float = 1e-4
    lr_d: float = 4e-4
    beta1: float = 0.5
    beta2: float = 0.999
    grad_clip: float = 0.0  # 0: off
    losses: LossWeights = field(default_factory=LossWeights)
    contrastive_temperature: float = 0.07
    ema_decay: float = 0.999
    ema_start: int = 0  # steps before the EMA starts averaging (a plain copy until then)
    # precision and devices
    amp: Literal["none", "bf16", "fp16"] = "none"  # fp16 uses a GradScaler; CUDA only
    device: Literal["auto", "cpu", "cuda"] = "auto"
    #: torch threads per process on a CPU; 0: cores / processes on the node. Use 1 on a busy machine: OpenMP threads
    #: spin-waiting for a shared core make a step several times slower.
    cpu_threads: int = 0
    # VGG19 for the perceptual and style losses
    vgg_weights: str = ""  # a torchvision-layout vgg19 state dict; empty: the torch hub cache
    no_vgg: bool = False  # train without the perceptual and style losses (recorded in the run)
    # bookkeeping
    run_dir: str = "runs/fast"
    seed: int = 0
    log_every: int = 20
    sample_every: int = 500
    checkpoint_every: int = 500

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    def save(self, path: Path) -> None:
        Path(path).write_text(self.to_json())

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        d = {k: v for k, v in d.items() if k not in _RETIRED}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown training config keys: {sorted(unknown)}")
        d = dict(d)
        if isinstance(d.get("losses"), dict):
            lk = {f.name for f in fields(LossWeights)}
            bad = set(d["losses"]) - lk
            if bad:
                raise ValueError(f"unknown loss weight keys: {sorted(bad)}")
            d["losses"] = LossWeights(**d["losses"])
        return cls(**d)

    @classmethod
    def load(cls, path: Path) -> "TrainConfig":
        return cls.from_dict(json.loads(Path(path).read_text()))


def parse_command(argv: list[str] | None = None) -> tuple[TrainConfig, bool, bool]:
    """``[--config FILE] [--no-resume] [--no-progress] [--FIELD VALUE ...]`` -> (config, resume, progress).

    The file's values are the defaults of the generated flags; a flag that names no field is a usage error.
    """
    import tyro

    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--config", type=Path)
    pre.add_argument("--no-resume", action="store_true")
    pre.add_argument("--no-progress", action="store_true")
    known, rest = pre.parse_known_args(argv)
    base = TrainConfig.load(known.config) if known.config else TrainConfig()
    cfg = tyro.cli(
        TrainConfig,
        default=base,
        args=rest,
        prog="python -m training.train",
        description="Train the inpainting generator (GAN). Also: --config FILE (a TrainConfig JSON whose values are "
        "the defaults below), --no-resume (start over even if the run folder has a checkpoint), --no-progress.",
    )
    return cfg, not known.no_resume, not known.no_progress
