"""The frame's own eyes, and the reference's eye beside them, where a mask's top edge runs just under them.

The composite rebuilds the mask and a band beyond it (the blend cross-fades over that band), pasting the warped
reference there and filling where the warp does not reach with the rebuilt skin continued. Where the mask's top edge
runs under the eyes (the real white-mask clip with a stand-in), that band reaches the frame's eyes: the reference's own
eye (a stand-in's eye, open wider than a downcast frame's, lands around the frame's eye, only its corners held on the
frame's) was pasted beside it, its eye-liner and lashes were continued outwards as a dark smear to the temple (the
stand-in's hair there is not warped), and the frame's eye itself, inside the mask's soft edge (the segmenter's feather
reaches a few pixels above the cloth), was inpainted from what lay round it.

:func:`near_eyes_off_mask` says where the reference's pasted pixels are no source of that continuation, and
:func:`eye_keep` how much of the frame's own pixel is kept: its eyes whole and a pixel or two round them, off the mask
(none where the mask's soft edge is well on: the cloth, and the fringe of it the segmentation left just past its
half-way line, are always rebuilt). The frame's skin between the eyes and the mask is left to the blend's band: kept,
it met a rebuilt face of another colour in a step along the mask's edge (benchmarks/README.md, helper whitetop).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from unmask_video.blend import mask_bbox
from unmask_video.face_units import face_size_px
from unmask_video.landmark_sets import LEFT_EYE_OUTLINE, RIGHT_EYE_OUTLINE

__all__ = ["EyeKeepOptions", "eye_keep", "keep_frame", "near_eyes_off_mask"]


@dataclass(frozen=True)
class EyeKeepOptions:
    """Where the frame's own pixels are kept round its eyes (fractions of the face's size,
    :func:`~unmask_video.face_units.face_size_px`)."""

    #: Kept whole this far round each eye's outline (its convex hull): the frame's own lids and lashes. 0: nothing is
    #: kept. (Further, 0.015 to 0.03, and the rebuilt face met the frame's kept skin in a step along the mask's edge
    #: under the eyes where a darker stand-in's colour differs, which the blend's band fades out:
    #: tests/test_composite.py, a darker reference; 0.03 with a fade of 0.09: 11.5 levels against 3.1.)
    reach: float = 0.01
    #: The keep falls from whole to none over this much further out.
    fade: float = 0.01
    #: Off the mask, within this far of an eye's outline, the reference's pasted pixels are no source of the band's
    #: fill (the rebuilt skin continued where the warp does not reach: a stand-in's hair at the temple): a stand-in's
    #: eye-liner and lashes, pasted beside the frame's eye, were continued outwards as a dark smear to the temple.
    unsourced: float = 0.12
    #: Nothing is kept where the mask is this much or more: its soft edge (the segmenter's feather, 2 px) reaches the
    #: cloth a few pixels before its half-way line, where the segmentation left a fringe of it (the KF94 clip's
    #: pale-green edge under an eye, 3 px past its 0.5 line at 0.1 to 0.4; kept from 0.5, it showed as a line).
    mask_high: float = 0.1
    #: All is kept where the mask is this little or less (the keep rises linearly from ``mask_high``).
    mask_low: float = 0.01


def eye_keep(mask: np.ndarray, landmarks: np.ndarray, options: EyeKeepOptions | None = None) -> np.ndarray | None:
    """(h, w) float32 in [0, 1], ``mask``'s shape ((h, w) float in [0, 1], the segmented mask): how much of the frame's
    own pixel is kept: 1 within :attr:`EyeKeepOptions.reach` of the eyes of the (468, 2) ``landmarks`` (in its pixels),
    falling to 0 over :attr:`EyeKeepOptions.fade`, times how far off the mask it is (the eyes' own pixels are whole);
    None where that is nothing (no eye within reach of the picture, or the options keep nothing)."""
    options = options or EyeKeepOptions()
    if options.reach <= 0:
        return None
    h, w = mask.shape[:2]
    size = face_size_px(landmarks)
    reach, fade = options.reach * size, max(options.fade * size, 1.0)
    near = _near_eyes((h, w), landmarks, reach + fade)
    if near is None:
        return None
    rows, cols = near
    keep = np.zeros((h, w), np.float32)
    away = _eyes_distance((rows, cols), landmarks)
    # (the eyes themselves whole, wherever the mask's soft edge reaches: never cloth)
    off = np.maximum(_off_mask(mask[rows, cols], options.mask_low, options.mask_high), (away <= 0).astype(np.float32))
    keep[rows, cols] = np.clip((reach + fade - away) / fade, 0.0, 1.0) * off
    return keep if keep.any() else None


def near_eyes_off_mask(mask: np.ndarray, landmarks: np.ndarray, options: EyeKeepOptions | None = None) -> np.ndarray:
    """(h, w) bool, ``mask``'s shape: within :attr:`EyeKeepOptions.unsourced` of the eyes of the (468, 2)
    ``landmarks`` (in its pixels) and where the mask is under :attr:`EyeKeepOptions.mask_high`."""
    options = options or EyeKeepOptions()
    h, w = mask.shape[:2]
    out = np.zeros((h, w), bool)
    reach = options.unsourced * face_size_px(landmarks)
    near = _near_eyes((h, w), landmarks, reach) if reach > 0 else None
    if near is not None:
        out[near] = (_eyes_distance(near, landmarks) <= reach) & (mask[near] < options.mask_high)
    return out


def keep_frame(out: np.ndarray, image: np.ndarray, kept: np.ndarray | None) -> None:
    """The rebuilt ``out`` ((h, w, 3) uint8, changed in place) mixed with the frame's ``image`` by ``kept``
    (:func:`eye_keep`; None: nothing kept)."""
    if kept is None:
        return
    box = mask_bbox(kept > 0, 0, kept.shape)
    if box is None:
        return
    k = kept[box]
    dst = out[box]
    cv2.blendLinear(image[box], dst, k, 1.0 - k, dst=dst)


def _near_eyes(
    shape: tuple[int, int], landmarks: np.ndarray, reach: float
) -> tuple[slice, slice] | None:
    """The box of ``shape`` within ``reach`` pixels of the eyes' landmarks (None: outside it)."""
    pts = np.asarray(landmarks, np.float64)[list(LEFT_EYE_OUTLINE + RIGHT_EYE_OUTLINE)]
    x0, y0 = np.floor(pts.min(axis=0) - reach).astype(int)
    x1, y1 = np.ceil(pts.max(axis=0) + reach).astype(int) + 1
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, shape[1]), min(y1, shape[0])
    if x1 <= x0 or y1 <= y0:
        return None
    return slice(y0, y1), slice(x0, x1)


def _eyes_distance(box: tuple[slice, slice], landmarks: np.ndarray) -> np.ndarray:
    """On ``box``: each pixel's distance to the nearer eye's outline (its convex hull; 0 inside it)."""
    rows, cols = box
    eyes = np.zeros((rows.stop - rows.start, cols.stop - cols.start), np.uint8)
    origin = np.array([cols.start, rows.start], np.float64)
    for outline in (LEFT_EYE_OUTLINE, RIGHT_EYE_OUTLINE):
        pts = np.round(np.asarray(landmarks, np.float64)[list(outline)] - origin).astype(np.int32)
        cv2.fillConvexPoly(eyes, cv2.convexHull(pts), 1)
    return cv2.distanceTransform(1 - eyes, cv2.DIST_L2, 3)


def _off_mask(mask: np.ndarray, low: float, high: float) -> np.ndarray:
    """0 where ``mask`` is ``high`` or more, rising linearly to 1 where it is ``low`` or less."""
    return np.clip((high - mask.astype(np.float32)) / max(high - low, 1e-6), 0.0, 1.0)
