"""The frame's own eyes, and the reference's eye beside them, where a mask's top edge runs just under them.

The composite rebuilds the mask and a band beyond it (the blend cross-fades over that band), pasting the warped
reference there and filling where the warp does not reach with the rebuilt skin continued. Where the mask's top edge
runs under the eyes (the real white-mask clip with a stand-in), that band reaches the frame's eyes: the reference's own
eye (a stand-in's eye, open wider than a downcast frame's, lands around the frame's eye, only its corners held on the
frame's) was pasted beside it, its eye-liner and lashes were continued outwards as a dark smear to the temple (the
stand-in's hair there is not warped), and the frame's eye itself, inside the mask's soft edge (the segmenter's feather
reaches a few pixels above the cloth), was inpainted from what lay round it.

:func:`eye_maps` says where the reference's pasted pixels are no source of that continuation, and how much of the
frame's own pixel is kept: its eyes whole and a pixel or two round them, off the mask
(none where the mask's soft edge is well on: the cloth, and the fringe of it the segmentation left just past its
half-way line, are always rebuilt). The frame's skin between the eyes and the mask is left to the blend's band: kept,
it met a rebuilt face of another colour in a step along the mask's edge (benchmarks/README.md, helper whitetop).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from unmask_video.blend import distance_outside, grow_box
from unmask_video.face_units import face_size_px
from unmask_video.landmark_sets import LEFT_EYE_OUTLINE, RIGHT_EYE_OUTLINE

__all__ = ["EyeKeepOptions", "EyeMaps", "eye_maps", "keep_frame"]


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


@dataclass(frozen=True)
class EyeMaps:
    """What :func:`eye_maps` says about a region near the eyes, on its ``box`` only (rows, cols of the mask's shape)."""

    box: tuple[slice, slice]
    #: float32 in [0, 1] on ``box``: how much of the frame's own pixel is kept (None: none of it anywhere).
    kept: np.ndarray | None
    #: bool on ``box``: the pixels the band's fill does not continue (None: none).
    unsourced: np.ndarray | None


def eye_maps(
    mask: np.ndarray, landmarks: np.ndarray, options: EyeKeepOptions | None = None, band: float = 0.0
) -> EyeMaps | None:
    """Near the eyes of the (468, 2) ``landmarks`` (in the pixels of ``mask``, (h, w) float in [0, 1], the segmented
    mask): how much of the frame's own pixel is kept, 1 within :attr:`EyeKeepOptions.reach` of an eye, falling to 0
    over :attr:`EyeKeepOptions.fade`, times how far off the mask it is (the eyes' own pixels whole); and which pixels
    within :attr:`EyeKeepOptions.unsourced` of an eye, off the mask, are no source of the band's fill. None: neither
    (no eye within reach of the picture, none within ``band`` pixels of the mask, where the composite writes, or the
    options keep nothing and leave every source)."""
    options = options or EyeKeepOptions()
    size = face_size_px(landmarks)
    reach, fade = options.reach * size, max(options.fade * size, 1.0)
    unsourced = options.unsourced * size
    keeps = options.reach > 0
    if not keeps and unsourced <= 0:
        return None
    near = _near_eyes(mask.shape[:2], landmarks, max(reach + fade if keeps else 0.0, unsourced))
    if near is None or not _mask_near(mask, near, band):
        return None
    away = _eyes_distance(near, landmarks)
    soft = mask[near]
    kept = None
    if keeps:
        # (the eyes themselves whole, wherever the mask's soft edge reaches: never cloth)
        off = np.maximum(_off_mask(soft, options.mask_low, options.mask_high), (away <= 0).astype(np.float32))
        kept = np.clip((reach + fade - away) / fade, 0.0, 1.0) * off
        kept = kept if kept.any() else None
    sources = (away <= unsourced) & (soft < options.mask_high) if unsourced > 0 else None
    return EyeMaps(near, kept, sources if sources is not None and sources.any() else None)


def keep_frame(out: np.ndarray, image: np.ndarray, maps: EyeMaps | None) -> None:
    """The rebuilt ``out`` ((h, w, 3) uint8, changed in place) mixed with the frame's ``image`` by ``maps.kept``
    (:func:`eye_maps`; None: nothing kept)."""
    if maps is None or maps.kept is None:
        return
    k = maps.kept
    dst = out[maps.box]
    cv2.blendLinear(image[maps.box], dst, k, 1.0 - k, dst=dst)


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


def _mask_near(mask: np.ndarray, box: tuple[slice, slice], band: float) -> bool:
    """Whether ``mask`` is on anywhere within ``band`` pixels of ``box`` (a test of the box grown by as much)."""
    grown = mask[grow_box(box, int(np.ceil(max(band, 0.0))), mask.shape[:2])]
    return bool(cv2.hasNonZero(cv2.compare(grown, 0, cv2.CMP_GT)))


def _eyes_distance(box: tuple[slice, slice], landmarks: np.ndarray) -> np.ndarray:
    """On ``box``: each pixel's distance to the nearer eye's outline (its convex hull; 0 inside it)."""
    rows, cols = box
    eyes = np.zeros((rows.stop - rows.start, cols.stop - cols.start), np.uint8)
    origin = np.array([cols.start, rows.start], np.float64)
    for outline in (LEFT_EYE_OUTLINE, RIGHT_EYE_OUTLINE):
        pts = np.round(np.asarray(landmarks, np.float64)[list(outline)] - origin).astype(np.int32)
        cv2.fillConvexPoly(eyes, cv2.convexHull(pts), 1)
    return distance_outside(eyes > 0)


def _off_mask(mask: np.ndarray, low: float, high: float) -> np.ndarray:
    """0 where ``mask`` is ``high`` or more, rising linearly to 1 where it is ``low`` or less."""
    return np.clip((high - mask.astype(np.float32)) / max(high - low, 1e-6), 0.0, 1.0)
