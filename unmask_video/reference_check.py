"""Checks on the reference still beyond "one face": does its lower face look covered?

A reference photo whose nose and mouth are hidden (a mask, a hand, a held object) cannot give them back: the result
would paste the cover itself. The mask segmenter's bare-face test (the colour under the nose and mouth against the
forehead's skin) answers it; it is a heuristic (about 1 bare face in 7 is flagged on face photos, masked ones are
caught), so it warns rather than refuses.
"""

from __future__ import annotations

import numpy as np

from unmask_video.landmarks import face_box
from unmask_video.segment import MaskSegmenter, SegmentOptions

#: Colour distance (segmenter feature units) under which the lower face counts as bare skin.
BARE_SKIN_DISTANCE = 8.0


def lower_face_looks_covered(image: np.ndarray, landmarks: np.ndarray) -> bool:
    """True when the region a mask would cover does not look like the forehead's skin."""
    box = face_box(landmarks, image.shape[:2])
    probe = MaskSegmenter(SegmentOptions(no_mask_below=BARE_SKIN_DISTANCE, temporal_smoothing=False, reuse=False))
    probe.segment(image[box.slices], (landmarks - np.array([box.x0, box.y0], np.float32)).astype(np.float32))
    return probe.stats.unmasked == 0
