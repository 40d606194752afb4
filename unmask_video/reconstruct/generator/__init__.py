"""The neural reconstruction stage: generator network, configurations, weights, backends, export.

Importing this package is cheap (no torch); the network lives in ``networks`` (torch), the
backends in ``backends``. ``create_generator`` is looked up from ``networks`` on first use.
"""

from typing import Any

from unmask_video.reconstruct.generator.configs import REGISTRY, GeneratorConfig, get_config

__all__ = ["REGISTRY", "GeneratorConfig", "create_generator", "get_config"]


def __getattr__(name: str) -> Any:
    if name == "create_generator":
        from unmask_video.reconstruct.generator.networks import create_generator

        return create_generator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
