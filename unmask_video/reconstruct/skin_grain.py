"""The reference skin's blotches and grain brought down to the frame skin's own, band by band.

A stand-in photo (someone else's face, taken with another camera in another light) brings its skin's own texture into
the rebuilt lower face: acne, a tan's blotches, the shading of a harsher lamp, sharper than the video shows its
person's skin. The ``light="skin"`` colour match carries the reference's variation around its smooth skin light at the
contrast the ring shows (:mod:`~unmask_video.reconstruct.skin_light`), and the ring, a thin band along the mask's edge,
cannot show how blotchy the person's skin is over a wider area. Here the frame's visible skin of the upper face (the
forehead, the nose's bridge and the cheeks above the mask: the face's oval less the mask, the eyes and the brows, near
the skin's colour) is split into a fine and a middle band of face-relative sizes (:data:`BANDS`) at the colour match's
working scale (:func:`frame_grain`), and so is the reference's skin where it is pasted (:func:`grain_gains`); where the
reference's band is stronger than the frame's by more than :data:`ANATOMY` (a lower face has more relief than a
forehead: the person's own photo is not touched), the reference's band is scaled down (:func:`damp_grain`), the more
the further it is past that (:data:`STEEP`), the
band broader than the middle one by the square root of the middle one's gain (not measurable on the frame: a forehead
strip is too narrow for it). The light, the lips and what is not skin are left as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from unmask_video.landmark_sets import EYES_AND_BROWS, FACE_OVAL
from unmask_video.order_stats import median
from unmask_video.face_units import face_size_px
from unmask_video.reconstruct.lab_pixels import to_lab
from unmask_video.reference_matte import features

__all__ = ["ANATOMY", "BANDS", "FrameGrain", "Grain", "band_amplitudes", "damp_grain", "frame_grain", "grain_gains"]

#: The bands' Gaussians, in face sizes (:func:`~unmask_video.face_units.face_size_px`): the fine band is what is finer
#: than the first, the middle one what lies between the first and the second (a blotch, a spot, the shade of a pore
#: cluster), the broad one what lies between the second and the third (a lit patch on a cheek, a dark jaw).
BANDS = (0.015, 0.04, 0.1)
#: The reference's band may be this many times the frame's before it is scaled down, per Lab channel: a lower face (the
#: nose's sides, the folds beside the mouth, the chin) shows more relief than the forehead and upper cheeks it is
#: compared with, in lightness most (the person's own frame as the reference, the real KF94 clip: L up to 2.41x, a and
#: b up to 1.68x on its 21 measured faces; the grey-mask man's stand-in L 4.0-6.5x, a and b 1.6-6.3x).
ANATOMY = np.array([2.5, 2.0, 2.0], np.float32)
#: Past :data:`ANATOMY`, a band's gain is ``(ANATOMY / ratio) ** STEEP``: the further the reference's band is past what
#: relief explains, the surer it is the photo's own texture (another skin, a harsher lamp), and the more of it is taken
#: (at 1, the band would be left at ``ANATOMY`` times the frame's however blotchy the photo: the grey-mask man's
#: stand-in kept its dark cheek blotches at 2.5).
STEEP = 1.5
#: No band is scaled down below this fraction.
MIN_GAIN = 0.3
#: Gains at least this near 1 on every band and channel: nothing is done (the person's own photo stays as it is).
_NOTHING = 0.98
#: Fewer skin pixels than this (at the working scale) to measure on, on either side: nothing is done.
_MIN_PIXELS = 150
#: The frame's skin: within this many robust spreads (at least ``_MIN_SPREAD`` Lab units) of its median colour.
_SKIN_SPREADS, _MIN_SPREAD = 3.0, 2.0
#: The mask grown by this many face sizes is left out of the frame's skin (its shadow, its fringe).
_MASK_MARGIN = 0.04
#: The eyes and brows grown by this many face sizes are left out of it (lids, lashes, brows' hairs).
_FEATURE_MARGIN = 0.05


#: The gains :func:`grain_gains` gives ((3, 3): band by Lab channel) and the face's size in working pixels.
Grain = tuple[np.ndarray, float]


@dataclass(frozen=True)
class FrameGrain:
    """The frame skin's band amplitudes at a working scale: ``amplitudes`` ((2, 3): the fine and the middle band, per
    Lab channel, robust spreads) on a face ``face`` working pixels across."""

    amplitudes: np.ndarray
    face: float


#: A Gaussian wider than this many pixels is taken at half the size (a smooth average: the same to a fraction of a
#: Lab unit, at a quarter of the cost).
_HALVE_FROM = 3.0


def _blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """``image`` ((h, w) float32) through a Gaussian of ``sigma`` pixels, a wide one at half the size."""
    if sigma < _HALVE_FROM:
        return cv2.GaussianBlur(image, (0, 0), sigma)
    h, w = image.shape[:2]
    half = cv2.resize(image, ((w + 1) // 2, (h + 1) // 2), interpolation=cv2.INTER_AREA)
    return cv2.resize(cv2.GaussianBlur(half, (0, 0), 0.5 * sigma), (w, h), interpolation=cv2.INTER_LINEAR)


def _smooth(planes: np.ndarray, weight: np.ndarray, sigmas: tuple[float, ...]) -> list[np.ndarray]:
    """``planes`` ((n, h, w) float32) through ``weight``-normalised ((h, w) float32) Gaussians of each of ``sigmas``:
    one (n, h, w) array for each."""
    weighted = planes * weight
    out = []
    for s in sigmas:
        inverse = np.float32(1.0) / np.maximum(_blur(weight, s), np.float32(1e-3))
        out.append(np.stack([_blur(p, s) * inverse for p in weighted]))
    return out


def band_amplitudes(lab: np.ndarray, skin: np.ndarray, face: float) -> np.ndarray | None:
    """(2, 3) float32: the robust spread (1.4826 median absolute deviation) of the fine and middle bands
    (:data:`BANDS`) of ``lab`` ((3, h, w) float32) on its ``skin`` ((h, w) bool) pixels at least the middle band's
    Gaussian inside it, on a face ``face`` pixels across; None: fewer than ``_MIN_PIXELS`` such pixels."""
    sigmas = tuple(max(b * face, 0.5) for b in BANDS[:2])
    r = max(int(round(sigmas[1])), 1)
    inner = cv2.erode(skin.view(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))) > 0
    if np.count_nonzero(inner) < _MIN_PIXELS:
        return None
    out = np.empty((2, 3), np.float32)
    fine, middle = _smooth(lab, skin.astype(np.float32), sigmas)
    for b, band in enumerate((lab - fine, fine - middle)):
        v = band[:, inner]
        out[b] = 1.4826 * median(np.abs(v - median(v)[:, None]))
    return out


def frame_grain(image: np.ndarray, landmarks: np.ndarray, mask: np.ndarray, k: float) -> FrameGrain | None:
    """The frame skin's band amplitudes (:func:`band_amplitudes`) on the upper face of ``image`` ((h, w, 3) uint8 RGB,
    a face's ROI; its (468, 2) ``landmarks`` and its mask ``mask`` (h, w), > 0 on the mask) read at the working scale
    ``k``: the face's oval less the mask and the eyes and brows (grown), near the skin's median colour; None: too few
    such pixels."""
    # (read on the oval's box down to the mask's top edge and a little below it, beside the mask's top corners)
    oval_pts = np.asarray(landmarks, np.float64)[list(FACE_OVAL)]
    rows = np.flatnonzero((mask > 0).any(axis=1))
    face_px = face_size_px(landmarks)
    h, w = image.shape[:2]
    y0 = max(int(np.floor(oval_pts[:, 1].min())), 0)
    y1 = min(int(np.ceil(oval_pts[:, 1].max())) if not len(rows) else int(rows[0] + 0.15 * face_px), h)
    x0, x1 = max(int(np.floor(oval_pts[:, 0].min())), 0), min(int(np.ceil(oval_pts[:, 0].max())) + 1, w)
    if y1 - y0 < 4 or x1 - x0 < 4:
        return None
    image, mask = image[y0:y1, x0:x1], mask[y0:y1, x0:x1]
    h, w = image.shape[:2]
    size = (max(int(round(w * k)), 1), max(int(round(h * k)), 1))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    pts = (np.asarray(landmarks, np.float64) - (x0, y0) + 0.5) * k - 0.5
    face = face_px * k
    oval = np.zeros((size[1], size[0]), np.uint8)
    cv2.fillPoly(oval, [np.round(pts[list(FACE_OVAL)]).astype(np.int32)], 255)
    masked = cv2.resize((mask > 0).view(np.uint8), size, interpolation=cv2.INTER_NEAREST)
    r = max(int(round(_MASK_MARGIN * face)), 1)
    masked = cv2.dilate(masked, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    around = (oval > 0) & (masked == 0) & (features(oval.shape, pts, EYES_AND_BROWS, _FEATURE_MARGIN * face) == 0)
    if np.count_nonzero(around) < _MIN_PIXELS:
        return None
    lab = to_lab(small).reshape(size[1], size[0], 3)
    planes = np.ascontiguousarray(lab.transpose(2, 0, 1))
    px = planes[:, around]
    mid = median(px)
    spread = np.maximum(1.4826 * median(np.abs(px - mid[:, None])), _MIN_SPREAD)
    skin = around & (np.abs(lab - mid) < _SKIN_SPREADS * spread).all(axis=2)
    amplitudes = band_amplitudes(planes, skin, face)
    return None if amplitudes is None else FrameGrain(amplitudes, face)


def grain_gains(
    frame: FrameGrain, lab_small: np.ndarray, skin: np.ndarray, small: tuple[int, int]
) -> np.ndarray | None:
    """(3, 3) float32, per band (fine, middle, broad) and Lab channel: how far the reference's skin bands are scaled
    down where they are more than :data:`ANATOMY` times the ``frame``'s (``(ANATOMY / ratio) ** STEEP``,
    :data:`MIN_GAIN` at least; the broad band by the square root of the middle one's); ``lab_small`` ((3, w * h) Lab at the working size ``small`` (w, h)), ``skin`` ((w * h,)
    bool) its skin where it is pasted. None: nothing to scale (every gain near 1) or too little to measure."""
    w, h = small
    theirs = band_amplitudes(lab_small.reshape(3, h, w), skin.reshape(h, w), frame.face)
    if theirs is None:
        return None
    gains = np.ones((3, 3), np.float32)
    gains[:2] = np.clip((ANATOMY * frame.amplitudes / np.maximum(theirs, 1e-3)) ** STEEP, MIN_GAIN, 1.0)
    gains[2] = np.sqrt(gains[1])
    return None if bool((gains >= _NOTHING).all()) else gains


def damp_grain(
    dev: np.ndarray, skin: np.ndarray, weight: np.ndarray | np.float32, small: tuple[int, int], face: float,
    gains: np.ndarray,
) -> None:
    """Scale the bands (:data:`BANDS`) of ``dev`` ((3, w * h), the reference's variation around its smooth skin light
    at the working size ``small`` (w, h); changed in place) by ``gains`` ((3, 3), :func:`grain_gains`), on a face
    ``face`` working pixels across: the bands read on its ``skin`` ((w * h,) bool) alone, the change made as far as
    ``weight`` ((w * h,) in [0, 1], or a scalar: its skin away from the lips) says."""
    w, h = small
    sigmas = tuple(max(b * face, 0.5) for b in BANDS)
    channels = [c for c in range(3) if not bool((gains[:, c] >= _NOTHING).all())]
    if not channels:
        return
    planes = dev[channels].reshape(len(channels), h, w)
    smooth = _smooth(planes, skin.reshape(h, w).astype(np.float32), sigmas)
    # (the bands x - S1, S1 - S2, S2 - S3 scaled by g0, g1, g2: x changed by (g0 - 1) x + (g1 - g0) S1 + (g2 - g1) S2
    # + (1 - g2) S3)
    g = gains[:, channels][..., None, None]
    change = (g[0] - 1.0) * planes + (g[1] - g[0]) * smooth[0] + (g[2] - g[1]) * smooth[1] + (1.0 - g[2]) * smooth[2]
    dev[channels] += weight * change.reshape(len(channels), -1)
