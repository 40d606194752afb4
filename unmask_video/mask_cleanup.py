"""The k-means mask's clean-up shapes: the disk kernels' sizes, its holes filled, and the holes it encloses together
with a hand in front of it (:func:`fill_hand_holes`)."""

from __future__ import annotations

import cv2
import numpy as np

from unmask_video.mask_presence import lips_region, lower_face
from unmask_video.mask_refine import holes_of


def disk_size(diameter: float) -> int:
    """The odd side of the elliptic kernel (a disk) of about ``diameter`` pixels (:func:`blend.disk_morph`)."""
    return max(int(round(diameter)) | 1, 1)


def fill_holes(binary: np.ndarray) -> np.ndarray:
    """Fill the background regions of a uint8 {0,1} image that do not touch its border (4-connected)."""
    return binary | holes_of(binary)


def fill_hand_holes(seed: np.ndarray, hands: np.ndarray, lm: np.ndarray) -> np.ndarray:
    """``seed`` with the holes it encloses together with the ``hands`` map (uint8 {0, 1}, same shape) added where
    they lie in the lower face under the nose (the hands map is skin, the face's own too: the eyes are holes in it),
    but those that reach the lips (``lm`` in its pixels)."""
    if not hands.any():
        return seed
    holes = fill_holes(seed | hands) & (1 - seed) & (1 - hands) & lower_face(seed.shape, lm)
    if not holes.any():
        return seed
    n, comp = cv2.connectedComponents(holes, connectivity=4)
    lips = lips_region(seed.shape, lm)
    drop = np.unique(comp[(lips > 0) & (holes > 0)])
    keep = np.ones(n, bool)
    keep[0] = False
    keep[drop] = False
    return seed | keep[comp].astype(np.uint8)

