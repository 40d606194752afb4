"""The k-means mask's clean-up (:func:`clean_kmeans_mask`) and its shapes: the disk kernels' sizes, its holes filled,
and the holes it encloses together with a hand in front of it (:func:`fill_hand_holes`)."""

from __future__ import annotations

import cv2
import numpy as np

from unmask_video.blend import disk_morph
from unmask_video.mask_presence import lips_region, lower_face
from unmask_video.mask_refine import holes_of
from unmask_video.segment_options import SegmentOptions


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


def clean_kmeans_mask(
    binary: np.ndarray, core: np.ndarray, size: float, opt: SegmentOptions, split_share: float = 0.0,
    touch: np.ndarray | None = None,
) -> np.ndarray:
    """Opened, closed, the components that touch the ``core`` kept (and, with ``split_share`` > 0, those at least
    that share of the largest kept one's area, and those that touch the ``touch`` map), holes filled."""
    if opt.open_px > 0:
        binary = disk_morph(binary, cv2.MORPH_OPEN, disk_size(opt.open_px * size))
    if opt.close_px > 0:
        binary = disk_morph(binary, cv2.MORPH_CLOSE, disk_size(opt.close_px * size))
    if split_share > 0:
        n, comp, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    else:
        n, comp = cv2.connectedComponents(binary, connectivity=8)
    if n > 2:
        keep = np.unique(comp[core & (binary > 0)])
        keep = keep[keep > 0]
        if split_share > 0 and touch is not None:
            near = np.unique(comp[(touch > 0) & (binary > 0)])
            keep = np.union1d(keep, near[near > 0])
        if split_share > 0 and keep.size:
            area = stats[:, cv2.CC_STAT_AREA]
            large = np.flatnonzero(area >= split_share * area[keep].max())
            keep = np.union1d(keep, large[large > 0])
        chosen = np.zeros(n, np.uint8)  # (a look-up by label: np.isin sorts the whole window's labels)
        chosen[keep] = 1
        binary = np.take(chosen, comp)
    return fill_holes(binary)
