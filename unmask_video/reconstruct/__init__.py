"""What can rebuild a face: the reference composite, the generator and its backends, behind one protocol.

``build_reconstructor(ReconstructorOptions(...))`` is the one way in; the pipeline sees only :class:`Reconstructor`.
Layers, top to bottom: ``factory`` -> ``composite`` | ``neural`` -> ``backends`` -> ``generator`` (networks,
configurations, weights, model cards, ONNX export).
"""

from unmask_video.reconstruct.factory import GENERATOR_CHOICES, ReconstructorOptions, build_reconstructor
from unmask_video.reconstruct.protocol import Reconstructor, check_reconstructor

__all__ = ["GENERATOR_CHOICES", "Reconstructor", "ReconstructorOptions", "build_reconstructor", "check_reconstructor"]
