"""The reference photo's own picture, as the reference warp takes it.

Where its picture ends (:func:`picture_box`: without the black letterbox or pillarbox bars of a video frame used as
the reference), a mask's ear loop across a cheek painted out (:func:`paint_out_loops`), and which of its pixels have
the colour of its face's skin (:func:`skin_like`).
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

from unmask_video.reference_check import strokes_across_cheeks

log = logging.getLogger(__name__)

#: A pixel is the reference's skin when its Lab colour lies within this many robust spreads of the face's
#: (lightness counted at a third of its weight: a neck in the jaw's shadow is still skin).
_SKIN_SPREADS = 3.5


def skin_like(image: np.ndarray, face: np.ndarray) -> np.ndarray:
    """(h, w) uint8, 255 where ``image`` (RGB uint8) has the colour of the skin inside ``face`` ((h, w) uint8 map of
    the face oval): its median Lab colour, within :data:`_SKIN_SPREADS` robust spreads (the 75th percentile of the
    distance to the median, per channel, at least 3); lightness weighs a third. Cleaned of specks (5 px opening and
    closing)."""
    inner = cv2.erode(face, np.ones((5, 5), np.uint8)) >= 128
    if np.count_nonzero(inner) < 50:
        return np.full(face.shape, 255, np.uint8)
    lab = cv2.cvtColor(image.astype(np.float32) * np.float32(1.0 / 255.0), cv2.COLOR_RGB2Lab)
    sample = lab[inner][:: max(1, int(np.count_nonzero(inner)) // 20000)]
    mu = np.median(sample, axis=0)
    spread = np.maximum(np.percentile(np.abs(sample - mu), 75, axis=0), 3.0)
    spread[0] *= 3.0
    d = (((lab - mu) / spread) ** 2).sum(axis=2)
    out = (d < _SKIN_SPREADS * _SKIN_SPREADS).astype(np.uint8) * 255
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    return cv2.morphologyEx(cv2.morphologyEx(out, cv2.MORPH_OPEN, kernel), cv2.MORPH_CLOSE, kernel)


#: A border row or column of the reference whose pixels all lie within this many levels of their
#: mean, and whose mean is below :data:`_BAR_LEVEL`, is a letterbox bar, not picture.
_BAR_SPREAD = 6
_BAR_LEVEL = 24


def picture_box(image: np.ndarray) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of ``image`` without the black letterbox or pillarbox bars along its borders.

    A video frame used as the reference may carry bars; where the warp reaches past the picture (the
    neck below a low face) it must not sample them."""
    grey = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY).astype(np.int16)
    h, w = grey.shape

    def bar(line: np.ndarray) -> bool:
        return int(line.max()) - int(line.min()) <= 2 * _BAR_SPREAD and float(line.mean()) < _BAR_LEVEL

    y0, y1, x0, x1 = 0, h, 0, w
    while y1 - y0 > 8 and bar(grey[y1 - 1]):
        y1 -= 1
    while y1 - y0 > 8 and bar(grey[y0]):
        y0 += 1
    while x1 - x0 > 8 and bar(grey[y0:y1, x1 - 1]):
        x1 -= 1
    while x1 - x0 > 8 and bar(grey[y0:y1, x0]):
        x0 += 1
    return x0, y0, x1, y1


def paint_out_loops(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """``image``, or a copy with the thin light strokes across its cheeks (a mask's ear loop) inpainted."""
    loops = strokes_across_cheeks(image, landmarks)
    if not loops.any():
        return image
    grown = cv2.dilate(loops.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5)))
    ys, xs = np.nonzero(grown)
    y0, y1 = max(int(ys.min()) - 8, 0), min(int(ys.max()) + 9, image.shape[0])
    x0, x1 = max(int(xs.min()) - 8, 0), min(int(xs.max()) + 9, image.shape[1])
    out = image.copy()
    out[y0:y1, x0:x1] = cv2.inpaint(np.ascontiguousarray(image[y0:y1, x0:x1]), grown[y0:y1, x0:x1], 3, cv2.INPAINT_TELEA)
    log.warning(
        "the reference photo has a thin light stroke across a cheek (a mask's ear loop?); it was painted out of the "
        "reference (%d pixels): for the best result use a photo with nothing across the face", len(ys)
    )
    return out
