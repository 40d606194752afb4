"""One factory for the reconstruction stage: `--generator none` (reference composite) or a neural generator."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from unmask_video.composite import CompositeOptions, ReferenceComposite
from unmask_video.errors import InputError
from unmask_video.stages import Reconstructor

log = logging.getLogger(__name__)

GENERATOR_CHOICES = ("auto", "none", "fast", "paper")


@dataclass
class ReconstructorOptions:
    generator: str = "auto"  # auto | none | fast | paper | path to a .safetensors checkpoint
    backend: str = "auto"  # auto | torch | onnxruntime | tensorrt
    engine: str | None = None  # a TensorRT engine built with `unmask-video build-engine`
    device: str = "auto"  # auto | cpu | cuda


def build_reconstructor(options: ReconstructorOptions, composite: CompositeOptions | None = None) -> Reconstructor:
    """Build the reconstruction stage that ``options`` asks for (errors are one-line :class:`InputError`)."""
    composite = composite or CompositeOptions()
    name = options.generator
    if name == "none":
        return ReferenceComposite(composite)
    from unmask_video.generator import reconstructor as neural  # deferred: torch/onnxruntime load only when needed

    weights = neural.resolve_weights(name)
    if weights is None:
        if name == "auto":
            log.warning("no generator weights are installed; using the reference composite (--generator none)")
            return ReferenceComposite(composite)
        raise InputError(f"no weights for generator '{name}'; pass a .safetensors file or --generator none")
    return neural.GeneratorReconstructor.from_weights(
        weights, backend=options.backend, engine=options.engine, device=options.device
    )
