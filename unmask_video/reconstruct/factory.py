"""One factory for the reconstruction stage: `--generator none` (reference composite) or a neural generator."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from unmask_video.errors import InputError
from unmask_video.reconstruct.composite import CompositeOptions, ReferenceComposite
from unmask_video.reconstruct.protocol import Reconstructor, check_reconstructor

log = logging.getLogger(__name__)

GENERATOR_CHOICES = ("auto", "none", "fast", "paper")


def _generator_options():  # -> GeneratorOptions (deferred: the neural module imports numpy-heavy helpers only)
    from unmask_video.reconstruct.neural import GeneratorOptions

    return GeneratorOptions()


@dataclass
class ReconstructorOptions:
    """Everything that decides how faces are rebuilt: which stage, where it runs, and its own options."""

    generator: str = "auto"  # auto | none | fast | paper | path to a .safetensors checkpoint
    backend: str = "auto"  # auto | torch | onnxruntime | tensorrt
    engine: str | None = None  # a TensorRT engine built with `unmask-video build-engine`
    device: str = "auto"  # auto | cpu | cuda
    composite: CompositeOptions = field(default_factory=CompositeOptions)
    neural: object = field(default_factory=_generator_options)  # GeneratorOptions


def build_reconstructor(options: ReconstructorOptions) -> Reconstructor:
    """Build the reconstruction stage that ``options`` asks for (errors are one-line :class:`InputError`)."""
    return check_reconstructor(_build(options))


def _build(options: ReconstructorOptions) -> object:
    name = options.generator
    if name == "none":
        return ReferenceComposite(options.composite)
    from unmask_video.reconstruct import neural  # deferred: torch/onnxruntime load only when needed

    weights = neural.resolve_weights(name)
    if weights is None:
        if name == "auto":
            log.info("no generator weights qualify for --generator auto; using the reference composite")
            composite = ReferenceComposite(options.composite)
            composite.name = "none (auto: no generator has beaten the composite)"  # what the summary shows
            return composite
        raise InputError(f"no weights for generator '{name}'; pass a .safetensors file or --generator none")
    return neural.GeneratorReconstructor.from_weights(
        weights,
        backend=options.backend,
        engine=options.engine,
        device=options.device,
        options=options.neural,
        composite=options.composite,
    )
