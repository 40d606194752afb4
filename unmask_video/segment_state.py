"""What the mask segmenter keeps of each face from frame to frame."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from unmask_video.colour_model import ColourModel
from unmask_video.kmeans_clusters import ClusterFit
from unmask_video.mask_presence import Presence
from unmask_video.still_carry import StillRun

__all__ = ["FaceState"]


@dataclass
class FaceState:
    """One face's k-means fit and colour model, smoothing history, presence decision and last full run."""

    fit: ClusterFit | None = None
    template: np.ndarray | None = None  # (468, 2) canonical landmarks of this face
    ema: np.ndarray | None = None  # (S, S, 2) float32 canonical: running average, last output
    aligned: np.ndarray | None = None  # last frame's MASK_REGION landmarks in canonical coordinates
    colour: ColourModel | None = None  # the colour model fitted with ``fit``
    presence: Presence | None = None
    still: StillRun | None = None
