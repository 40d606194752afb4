"""Lengths in face units: distances of the face stages (the blend's feather, the composite's colour ring) that grow
with the face, so that a 60 px face and a 700 px face get the same bands in face terms.

A :class:`FaceLength` is given as the pixels it measures on a face of :data:`REFERENCE_FACE_PX` (the size of the
faces its value was tuned on) and a floor in pixels for small faces; :meth:`FaceLength.px` is the one place that
converts it to a face's pixels, the face's size being :func:`face_size_px` of its landmarks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["REFERENCE_FACE_PX", "FaceLength", "face_size_px"]

#: The face size (:func:`face_size_px`) the stages' pixel lengths were tuned at: the quality benchmark's talking
#: clips and the real masked videos have faces of 256-340 px by that measure.
REFERENCE_FACE_PX = 256.0


def face_size_px(landmarks: np.ndarray) -> float:
    """A face's size in pixels: the longer side of its landmarks' bounding box ((N, 2) x, y), forehead to chin or
    cheek to cheek, whichever is longer (it changes little when the head turns or tilts)."""
    lm = np.asarray(landmarks, np.float32)
    if lm.ndim != 2 or lm.shape[1] != 2 or not len(lm):
        return float((lm.max(axis=0) - lm.min(axis=0)).max())
    # (each column's extent on its own, contiguous: the same float32 numbers as the (N, 2) reductions along axis 0,
    # about a third of their time, which the composite paid several times a face)
    xs, ys = np.ascontiguousarray(lm.T)
    return float(np.maximum(xs.max() - xs.min(), ys.max() - ys.min()))


@dataclass(frozen=True)
class FaceLength:
    """A length that scales with the face: ``at_reference_px`` pixels on a face of :data:`REFERENCE_FACE_PX`,
    proportionally more or fewer on others, never fewer than ``floor_px`` (nor than ``at_reference_px`` itself, so
    a small length is not raised by the floor). 0 stays 0 (the band is off)."""

    at_reference_px: float
    floor_px: float = 1.0

    def px(self, face_px: float) -> float:
        """The length in pixels on a face of ``face_px`` (:func:`face_size_px`)."""
        if self.at_reference_px <= 0:
            return 0.0
        scaled = self.at_reference_px * max(float(face_px), 0.0) / REFERENCE_FACE_PX
        return max(scaled, min(self.floor_px, self.at_reference_px))
