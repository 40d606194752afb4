"""The rebuilt neck brought to the colour of the frame's own neck seen just below the mask.

The warp pastes the reference's neck below the jaw within the neck's column (:func:`~unmask_video.face_axes.neck_column`),
over the hole and the blend's band past it, and the colour match brings it to the face's ring: the skin beside the
nose and under the eyes, mostly above the mouth. Where the frame's neck is lit differently from its face (the white-mask
woman's lit neck under a shaded chin), the pasted neck stayed the face's tan, 50-70 levels darker than her neck just
below the mask, and the column's straight side met her own neck beside it in a sharp vertical edge.

Below the mask the paste's band lies over the frame's own neck: there both are known at the same pixels. Their
difference (Lab), read where the frame looks like the rebuilt skin (not a collar, a shirt, a hood's lining), is spread
up the rebuilt neck with a Gaussian, fading with the distance from where it was read, and added to the paste below
the jaw: the rebuilt neck meets the frame's neck with no step, and the chin above it keeps the face's colour.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from unmask_video.blend import mask_bbox
from unmask_video.face_units import face_size_px
from unmask_video.warp import neck_region

__all__ = ["NeckMeetOptions", "neck_offset", "meet_neck"]


@dataclass(frozen=True)
class NeckMeetOptions:
    """Lengths as fractions of the face's size (:func:`~unmask_video.face_units.face_size_px`)."""

    #: The region below the jaw the offset may change: the neck down to this many face heights below the jaw line (the
    #: warp's ``neck_reach``, :func:`~unmask_video.warp.neck_region`). 0: off.
    neck_reach: float = 0.4
    #: The Gaussian that spreads the frame's and the paste's difference from where it is read (the paste's band below
    #: the mask) up the rebuilt neck; the offset fades with it.
    sigma: float = 0.05
    #: A pixel takes the whole offset where at least this share of its Gaussian's weight was read, less in
    #: proportion below it (the offset fades out up the neck, towards the chin).
    support: float = 0.2
    #: A pixel of the band is read only where the frame's chroma (Lab a, b) lies within this many units of the
    #: paste's there: the frame's neck, not a collar, a grey shirt or a hood's lining below the mask.
    chroma: float = 12.0
    #: At least this many pixels read, or nothing is changed.
    least: int = 20
    #: The offset's lightness is held within this many Lab units (8-bit L) either way.
    cap: float = 60.0


def _lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2Lab).astype(np.float32)


def neck_offset(
    out: np.ndarray, image: np.ndarray, read: np.ndarray, sigma: float, options: NeckMeetOptions,
) -> tuple[np.ndarray, np.ndarray] | None:
    """(offset, weight): the frame's ``image`` less the rebuilt ``out`` ((h, w, 3) uint8 RGB each) in Lab, read at the
    ``read`` pixels ((h, w) bool) where their chroma agrees (``chroma``), spread by a Gaussian of ``sigma`` px ((h, w,
    3) float32), and each pixel's share of it ((h, w) float32 in [0, 1], ``support``); None where too few agree."""
    frame, rebuilt = _lab(image), _lab(out)
    diff = frame - rebuilt
    agree = read & (np.abs(diff[..., 1]) <= options.chroma) & (np.abs(diff[..., 2]) <= options.chroma)
    if np.count_nonzero(agree) < options.least:
        return None
    weight = agree.astype(np.float32)
    diff *= weight[..., None]
    spread = cv2.GaussianBlur(diff, (0, 0), sigma, borderType=cv2.BORDER_CONSTANT)
    mass = cv2.GaussianBlur(weight, (0, 0), sigma, borderType=cv2.BORDER_CONSTANT)
    offset = spread / np.maximum(mass, np.float32(1e-6))[..., None]
    offset[..., 0] = np.clip(offset[..., 0], -options.cap, options.cap)
    return offset, np.clip(mass / np.float32(options.support), 0.0, 1.0)


def meet_neck(
    out: np.ndarray, image: np.ndarray, paste: np.ndarray, hole: np.ndarray, landmarks: np.ndarray,
    options: NeckMeetOptions | None = None,
) -> None:
    """Bring the pasted neck (``paste`` ((h, w) bool) below the jaw) in ``out`` ((h, w, 3) uint8 RGB, changed in place)
    to the colour of the frame ``image``'s neck where the paste lies past the ``hole`` ((h, w) bool) over it
    (:func:`neck_offset`); ``landmarks``: the frame's, in the same pixels."""
    options = options or NeckMeetOptions()
    if options.neck_reach <= 0:
        return
    size = face_size_px(landmarks)
    sigma = max(options.sigma * size, 1.0)
    below = (neck_region(hole.shape, landmarks, options.neck_reach) >= 128) & paste
    read = below & ~hole
    if np.count_nonzero(read) < options.least:
        return
    box = mask_bbox(below, int(np.ceil(3 * sigma)) + 1, hole.shape)
    assert box is not None
    found = neck_offset(out[box], image[box], read[box], sigma, options)
    if found is None:
        return
    offset, weight = found
    at = below[box]
    lab = _lab(out[box])
    lab[at] += offset[at] * weight[at][:, None]
    rgb = cv2.cvtColor(np.rint(np.clip(lab, 0, 255)).astype(np.uint8), cv2.COLOR_Lab2RGB)
    out[box][at] = rgb[at]
