"""How far past a segmented mask's edge the frame's skin still leans toward the cloth's colour.

A segmented mask's 0.5 line is where the cloth is more likely than not; past it the frame's pixels can still carry the
cloth's colour for a few pixels: chroma subsampling and compression smear it outwards, and the segmentation misses a
fringe of the cloth here and there. The composite's hole follows the line, but its colour ring must not read that
bleed as the frame's skin (a pink mask's bleed made the rebuilt face pinker: benchmarks/README.md, hardedge).
:func:`bleed_px` reads it from the frame: the a/b chroma of the pixels at each distance outside the hole, placed on
the line from the skin's colour (further out) to the cloth's (inside the hole).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["BleedOptions", "bleed_px"]

#: About this many pixels at most of the cloth and of the skin are read for their colour (every pixel of a coarser grid
#: where there are more), and ``_NEAR_SAMPLES`` times as many of the bands next to the hole.
_MAX_SAMPLE = 2000
_NEAR_SAMPLES = 3
#: A distance band with fewer pixels than this is not read (its median says nothing).
_MIN_BAND_PIXELS = 20


@dataclass(frozen=True)
class BleedOptions:
    """What :func:`bleed_px` reads. Distances in pixels of the region it is given (the caller scales them with the
    face)."""

    #: The farthest bleed looked for, outside the hole.
    reach: float = 8.0
    #: The skin's own colour is read this far outside the hole ...
    skin_from: float = 10.0
    #: ... out to this far.
    skin_to: float = 18.0
    #: The cloth's colour is read this far inside the hole and more.
    cloth_inside: float = 3.0
    #: A distance band whose median pixel lies less than this share of the way from the skin's chroma to the cloth's is
    #: clean of the cloth.
    clean: float = 0.2
    #: Cloth and skin whose a/b chroma differ by less than this (Lab units) cannot be told apart by it: no bleed read.
    min_contrast: float = 4.0


def _ab(image: np.ndarray, where: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """(n, 2) float32: the Lab a/b of ``image``'s (h, w, 3) RGB uint8 pixels at the ``where`` indices (rows, cols)
    (OpenCV's 8-bit Lab: a and b in Lab units, offset by 128, which the differences drop)."""
    pixels = np.ascontiguousarray(image[where][None])  # (one row: OpenCV splits its work by rows)
    return cv2.cvtColor(pixels, cv2.COLOR_RGB2LAB)[0, :, 1:].astype(np.float32)


def _sample(where: np.ndarray, most: int = _MAX_SAMPLE) -> tuple[np.ndarray, np.ndarray]:
    """The (rows, cols) of ``where`` ((h, w) uint8, 0 / 255) on a grid coarse enough to hold about ``most`` of them at
    most."""
    step = max(int(np.sqrt(cv2.countNonZero(where) / most)), 1)
    # (OpenCV's list of the grid's points: several times faster than NumPy's nonzero)
    points = cv2.findNonZero(np.ascontiguousarray(where[::step, ::step]) if step > 1 else where)
    if points is None:
        return np.zeros(0, np.intp), np.zeros(0, np.intp)
    return points[:, 0, 1] * step, points[:, 0, 0] * step


def _band(dist: np.ndarray, valid: np.ndarray, low: float, high: float) -> np.ndarray:
    """(h, w) uint8, 255 where ``dist`` is from ``low`` to ``high`` and ``valid`` ((h, w) uint8) is not 0."""
    return cv2.bitwise_and(cv2.inRange(dist, low, high), valid)


def _axis(image: np.ndarray, hole: np.ndarray, valid: np.ndarray, dist: np.ndarray,
          opts: BleedOptions) -> tuple[np.ndarray, np.ndarray] | None:  # fmt: skip
    """(skin a/b, cloth a/b - skin a/b): the line bleed is measured along (``valid``: (h, w) uint8, 0 / 1); None where
    they are too alike or too few pixels tell them."""
    side = 2 * int(np.ceil(opts.cloth_inside)) + 1
    cloth = cv2.erode(hole.view(np.uint8), cv2.getStructuringElement(cv2.MORPH_RECT, (side, side)))
    skin = _band(dist, valid, opts.skin_from, opts.skin_to)
    if cv2.countNonZero(cloth) < _MIN_BAND_PIXELS or cv2.countNonZero(skin) < _MIN_BAND_PIXELS:
        return None
    skin_ab = np.median(_ab(image, _sample(skin)), axis=0)
    towards = np.median(_ab(image, _sample(cloth)), axis=0) - skin_ab
    if float(np.hypot(*towards)) < opts.min_contrast:
        return None
    return skin_ab, towards


def bleed_px(
    image: np.ndarray, hole: np.ndarray, valid: np.ndarray, dist: np.ndarray, opts: BleedOptions = BleedOptions()
) -> float | None:
    """How far (px) outside ``hole`` ((h, w) bool) the (h, w, 3) RGB uint8 ``image``'s pixels still lean toward the
    cloth's a/b chroma: the distance where the median pixel of the bands 1 px wide outside it (where ``valid``, the
    warp's face) comes within :attr:`BleedOptions.clean` of the skin's, interpolated between the bands (0: the
    first band is clean; at most :attr:`BleedOptions.reach`). ``dist``: every pixel's distance to the hole. None: the
    cloth's and the skin's colours are too alike (or too few pixels) to tell."""
    valid = valid.view(np.uint8)
    axis = _axis(image, hole, valid, dist, opts)
    if axis is None:
        return None
    skin_ab, towards = axis
    near = _band(dist, valid, 0.5, opts.reach)  # (outside the hole every distance is 1 or more)
    rows, cols = _sample(near, _NEAR_SAMPLES * _MAX_SAMPLE)
    if len(rows) < _MIN_BAND_PIXELS:
        return None
    share = (_ab(image, (rows, cols)) - skin_ab) @ towards / float(towards @ towards)
    bands = np.ceil(dist[rows, cols]).astype(np.int32)
    last = 1.0  # (the hole's edge itself: the cloth)
    for d in range(1, int(np.ceil(opts.reach)) + 1):
        band = share[bands == d]
        if len(band) < _MIN_BAND_PIXELS:
            continue
        lean = float(np.median(band))
        if lean < opts.clean:
            return max(d - 1 + (last - opts.clean) / max(last - lean, 1e-6), 0.0) if d > 1 else 0.0
        last = lean
    return float(opts.reach)
