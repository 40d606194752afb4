"""The neural reconstruction stage: generator network, configurations, weights, backends, export.

Importing this package is cheap (no torch); the network lives in ``networks`` (torch), the
backends in ``backends``.
"""

from unmask_video.reconstruct.generator.configs import REGISTRY, GeneratorConfig, create_generator, get_config

__all__ = ["REGISTRY", "GeneratorConfig", "create_generator", "get_config"]
