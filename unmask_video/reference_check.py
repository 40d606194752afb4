"""Checks on the reference still beyond "one face": does its lower face look covered?

A reference photo whose nose and mouth are hidden (a mask, a hand, a held object) cannot give them back: the result
would paste the cover itself. The mask segmenter's own presence decision (the one that lets bare faces in a video
pass through untouched) answers it on the still. It is a heuristic, so the pipeline warns rather than refuses.
"""

from __future__ import annotations

import numpy as np

from unmask_video.landmarks import face_box
from unmask_video.segment import MaskSegmenter, SegmentOptions


def lower_face_looks_covered(image: np.ndarray, landmarks: np.ndarray) -> bool:
    """True when the segmenter finds a mask worn on the reference's face."""
    box = face_box(landmarks, image.shape[:2])
    probe = MaskSegmenter(SegmentOptions(temporal_smoothing=False, reuse=False))
    roi_landmarks = (landmarks - np.array([box.x0, box.y0], np.float32)).astype(np.float32)
    return bool(probe.segment(image[box.slices], roi_landmarks).any())
