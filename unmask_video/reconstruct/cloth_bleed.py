"""How far past a segmented mask's edge the frame's skin still leans toward the cloth's colour.

A segmented mask's 0.5 line is where the cloth is more likely than not; past it the frame's pixels can still carry the
cloth's colour for a few pixels: chroma subsampling and compression smear it outwards, and the segmentation misses a
fringe of the cloth here and there. The composite's hole follows the line, but its colour ring must not read that
bleed as the frame's skin (a pink mask's bleed made the rebuilt face pinker: benchmarks/README.md, hardedge).
:func:`bleed_px` reads it from the frame: the a/b chroma of the pixels at each distance outside the hole, placed on
the line from the skin's colour (further out) to the cloth's (inside the hole). :func:`cloth_fringe` finds the pixels
just past the hole that are still more the cloth's colour than the skin's (a corner of the cloth the segmentation
missed, where the ear loop joins it), which the composite takes into the hole: by chroma beside a coloured cloth, by
chroma and lightness beside a white or grey one (dark hair leans to a white cloth's chroma as far as its edge does).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from unmask_video.landmark_sets import FACE_HEIGHT, MOUTH_CORNERS
from unmask_video.mask_pixels import pixels_at
from unmask_video.order_stats import median

__all__ = ["BleedOptions", "above_mouth", "bleed_px", "cloth_fringe"]

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
    #: A cloth is white or grey where a grey's chroma lies at least this share of the way from the skin's to the cloth's
    #: (a white mask 1.0-1.2, a pink one 0.8, a pale mint one 0.45-0.5, a green one 0.3: benchmarks/README.md,
    #: fringe2). Beside it chroma does not tell the cloth's edge from dark hair or shade, which lean as far toward it.
    fringe_grey_cloth: float = 0.7
    #: ... so there a fringe pixel's lightness must also lie at least this share of the way from the skin's (median
    #: 8-bit Lab L) to the cloth's.
    fringe_light: float = 0.25
    #: Beside a coloured cloth a fringe pixel's chroma must lie this share of the way further toward the cloth's than a
    #: grey's: a pale wall beside a pale mint mask leans just past half way, hardly past a grey; a missed corner of a
    #: coloured cloth in shade leans further.
    fringe_past_grey: float = 0.2
    #: A fringe pixel's a/b must also lie within this share of the cloth's and the skin's chroma difference of the line
    #: through them: a third colour that happens to lean as far (a green backdrop beside a blue mask) is not the cloth.
    fringe_aside: float = 0.5


def _lab(image: np.ndarray, where: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """(n, 3) float32: the Lab of ``image``'s (h, w, 3) RGB uint8 pixels at the ``where`` indices (rows, cols)
    (OpenCV's 8-bit Lab: L scaled to 0-255, a and b in Lab units, offset by 128, which the differences drop)."""
    # (one row: OpenCV splits its work by rows; the pixels taken by flat index, :func:`pixels_at`)
    pixels = pixels_at(image, *where)[None]
    return cv2.cvtColor(pixels, cv2.COLOR_RGB2LAB)[0].astype(np.float32)


def _ab(image: np.ndarray, where: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """(n, 2) float32: the a/b of :func:`_lab`."""
    return _lab(image, where)[:, 1:]


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


def _cloth(hole: np.ndarray, opts: BleedOptions) -> np.ndarray:
    """(h, w) uint8: the pixels at least :attr:`BleedOptions.cloth_inside` inside ``hole`` ((h, w) bool), whose colour
    is the cloth's."""
    side = 2 * int(np.ceil(opts.cloth_inside)) + 1
    return cv2.erode(hole.view(np.uint8), cv2.getStructuringElement(cv2.MORPH_RECT, (side, side)))


def _medians(image: np.ndarray, hole: np.ndarray, valid: np.ndarray, dist: np.ndarray,
             opts: BleedOptions) -> tuple[np.ndarray, np.ndarray] | None:  # fmt: skip
    """(skin Lab, cloth Lab): the median 8-bit Lab (:func:`_lab`) of the skin's band and of the cloth (``valid``: (h, w)
    uint8, 0 / 1, where the skin is read); None where too few pixels tell them."""
    cloth = _cloth(hole, opts)
    skin = _band(dist, valid, opts.skin_from, opts.skin_to)
    if cv2.countNonZero(cloth) < _MIN_BAND_PIXELS or cv2.countNonZero(skin) < _MIN_BAND_PIXELS:
        return None
    # (per channel on contiguous rows, :func:`~unmask_video.order_stats.median`: ``np.median``'s numbers)
    return (median(np.ascontiguousarray(_lab(image, _sample(skin)).T)),
            median(np.ascontiguousarray(_lab(image, _sample(cloth)).T)))


def _axis(skin: np.ndarray, cloth: np.ndarray, opts: BleedOptions) -> tuple[np.ndarray, np.ndarray] | None:
    """(skin a/b, cloth a/b - skin a/b): the line bleed is measured along, from the ``skin``'s and the ``cloth``'s Lab
    (:func:`_medians`); None where they are too alike to tell."""
    towards = cloth[1:] - skin[1:]
    if float(np.hypot(*towards)) < opts.min_contrast:
        return None
    return skin[1:], towards


def bleed_px(
    image: np.ndarray, hole: np.ndarray, valid: np.ndarray, dist: np.ndarray, opts: BleedOptions = BleedOptions()
) -> float | None:
    """How far (px) outside ``hole`` ((h, w) bool) the (h, w, 3) RGB uint8 ``image``'s pixels still lean toward the
    cloth's a/b chroma: the distance where the median pixel of the bands 1 px wide outside it (where ``valid``, the
    warp's face) comes within :attr:`BleedOptions.clean` of the skin's, interpolated between the bands (0: the
    first band is clean; at most :attr:`BleedOptions.reach`). ``dist``: every pixel's distance to the hole. None: the
    cloth's and the skin's colours are too alike (or too few pixels) to tell."""
    valid = valid.view(np.uint8)
    medians = _medians(image, hole, valid, dist, opts)
    axis = None if medians is None else _axis(*medians, opts)
    if axis is None:
        return None
    near = _band(dist, valid, 0.5, opts.reach)  # (outside the hole every distance is 1 or more)
    rows, cols = _sample(near, _NEAR_SAMPLES * _MAX_SAMPLE)
    if len(rows) < _MIN_BAND_PIXELS:
        return None
    share = _lean(_ab(image, (rows, cols)), axis)
    bands = np.ceil(dist[rows, cols]).astype(np.int32)
    last = 1.0  # (the hole's edge itself: the cloth)
    for d in range(1, int(np.ceil(opts.reach)) + 1):
        band = share[bands == d]
        if len(band) < _MIN_BAND_PIXELS:
            continue
        lean = float(median(band))
        if lean < opts.clean:
            return max(d - 1 + (last - opts.clean) / max(last - lean, 1e-6), 0.0) if d > 1 else 0.0
        last = lean
    return float(opts.reach)


def _lean(ab: np.ndarray, axis: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """How far the (..., 2) a/b ``ab`` lie along ``axis`` ((skin a/b, cloth - skin a/b), :func:`_axis`): 0 the skin's
    chroma, 1 the cloth's."""
    skin_ab, towards = axis
    # (each term apart, as NumPy's matrix product of the pairs sums them, without its cost: 20 times as fast here)
    return ((ab[..., 0] - skin_ab[0]) * towards[0] + (ab[..., 1] - skin_ab[1]) * towards[1]) / float(towards @ towards)


def _aside(ab: np.ndarray, axis: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """How far the (n, 2) a/b ``ab`` lie off the line of ``axis`` (:func:`_lean`'s), in shares of the cloth's and the
    skin's chroma difference."""
    skin_ab, towards = axis
    off = ab - skin_ab
    return np.abs(off[:, 0] * towards[1] - off[:, 1] * towards[0]) / float(towards @ towards)


#: A neutral grey's a/b in OpenCV's 8-bit Lab.
_GREY_AB = np.array([128.0, 128.0], np.float32)


def _cloth_like(
    lab: np.ndarray, medians: tuple[np.ndarray, np.ndarray], axis: tuple[np.ndarray, np.ndarray], lean: float,
    opts: BleedOptions,
) -> np.ndarray:
    """(n,) bool: the (n, 3) 8-bit Lab ``lab`` whose a/b lie near the line of ``axis`` (:attr:`BleedOptions.fringe_aside`)
    and at least ``lean`` along it: beside a coloured cloth also further than a grey's
    (:attr:`BleedOptions.fringe_past_grey`), beside a white or grey one (:attr:`BleedOptions.fringe_grey_cloth`: chroma
    alone does not tell its edge from hair or shade) with a lightness that leans to the cloth's too
    (:attr:`BleedOptions.fringe_light`; ``medians``: the skin's and the cloth's Lab, :func:`_medians`; none where their
    lightness is as alike as :attr:`BleedOptions.min_contrast`)."""
    grey = float(_lean(_GREY_AB, axis))
    like = _aside(lab[:, 1:], axis) <= opts.fringe_aside
    if grey < opts.fringe_grey_cloth:
        return like & (_lean(lab[:, 1:], axis) >= max(lean, grey + opts.fringe_past_grey))
    like &= _lean(lab[:, 1:], axis) >= lean
    skin_light, step = medians[0][0], float(medians[1][0] - medians[0][0])
    if abs(step) < opts.min_contrast:  # (nor does lightness: none is told)
        return np.zeros(len(lab), bool)
    return like & ((lab[:, 0] - skin_light) / step >= opts.fringe_light)


Medians = tuple[np.ndarray, np.ndarray]


def fringe_medians(
    image: np.ndarray, hole: np.ndarray, valid: np.ndarray, dist: np.ndarray, opts: BleedOptions = BleedOptions()
) -> Medians | None:
    """The skin's and the cloth's median Lab that :func:`cloth_fringe` tells the fringe by (:func:`_medians`; ``valid``:
    (h, w) bool, where the skin is read); None where too few pixels tell them."""
    return _medians(image, hole, valid.view(np.uint8), dist, opts)


def cloth_fringe(
    image: np.ndarray, hole: np.ndarray, valid: np.ndarray, dist: np.ndarray, depth: float, lean: float = 0.5,
    opts: BleedOptions = BleedOptions(), medians: Medians | None = None, landmarks: np.ndarray | None = None,
) -> np.ndarray | None:
    """(h, w) bool: the pixels at most ``depth`` px outside ``hole`` ((h, w) bool; ``dist``: every pixel's distance to
    it) that :func:`_cloth_like` finds the cloth's (``lean``: the share of the way from the skin's chroma to the
    cloth's, read as :func:`bleed_px` reads them; ``valid``: where the skin is read), joined to the hole through such
    pixels. ``medians``: :func:`fringe_medians`, read on an earlier frame of the face (None: read here). ``landmarks``:
    the face's (468, 2), in the pixels of ``image``: the fringe above the mouth only (:func:`above_mouth`), its
    band's colours read only where they can join such a pixel to the hole (None: everywhere, nothing cut). None: none,
    or the cloth's and the skin's colours are too alike (or too few pixels) to tell."""
    if depth <= 0:
        return None
    if medians is None:
        medians = fringe_medians(image, hole, valid, dist, opts)
    axis = None if medians is None else _axis(*medians, opts)
    if axis is None:
        return None
    # (OpenCV's list of the band's pixels: several times faster than NumPy's nonzero)
    points = cv2.findNonZero(cv2.inRange(dist, 0.5, float(depth)))
    if points is None:
        return None
    rows, cols = points[:, 0, 1], points[:, 0, 0]
    steps = int(np.ceil(depth))
    if landmarks is not None:
        # (a pixel joins the hole through at most ``steps`` others, each a step of one row or column from the next:
        # one further below the mouth's line than ``steps`` such steps can climb joins none above it; its colour is
        # not read)
        centre, down = _mouth_line(landmarks)
        climb = steps * (abs(float(down[0])) + abs(float(down[1]))) + 1.0
        near = _below(rows, cols, centre, down) <= climb
        rows, cols = rows[near], cols[near]
        if not len(rows):
            return None
    like = _cloth_like(_lab(image, (rows, cols)), medians, axis, lean, opts)
    if not like.any():
        return None
    return _joined(hole, (rows[like], cols[like]), steps, landmarks)


def _joined(
    hole: np.ndarray, cloth: tuple[np.ndarray, np.ndarray], steps: int, landmarks: np.ndarray | None = None
) -> np.ndarray | None:
    """(h, w) bool: the ``cloth`` pixels (rows, cols; at least one) outside ``hole`` ((h, w) bool) joined to it through
    such pixels, grown from it a pixel ring at a time for ``steps`` rings at most (a cloth-coloured speck further out is
    left alone); None: none. Grown on the box around them only (a pixel of it grows only from its neighbours, in the box
    one pixel wider), and no further once a ring adds nothing. ``landmarks``: those above the mouth's line only
    (:func:`above_mouth`, on that box)."""
    rows, cols = cloth
    box = (slice(max(int(rows.min()) - 1, 0), int(rows.max()) + 2),
           slice(max(int(cols.min()) - 1, 0), int(cols.max()) + 2))
    inside = np.zeros(hole[box].shape, np.uint8)
    inside[rows - box[0].start, cols - box[1].start] = 1
    grown = np.ascontiguousarray(hole[box]).view(np.uint8)
    cross = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
    count = cv2.countNonZero(grown)
    for _ in range(steps):
        grown = cv2.bitwise_or(grown, cv2.bitwise_and(cv2.dilate(grown, cross), inside))
        count, last = cv2.countNonZero(grown), count
        if count == last:
            break
    joined = (grown > 0) & ~hole[box]
    if landmarks is not None:
        joined = above_mouth(joined, landmarks, (box[0].start, box[1].start))
    if joined is None or not joined.any():
        return None
    fringe = np.zeros(hole.shape, bool)
    fringe[box] = joined
    return fringe


def _mouth_line(landmarks: np.ndarray) -> tuple[tuple[np.floating, np.floating], np.ndarray]:
    """((x, y), down): the middle of the mouth's corners of the (468, 2) ``landmarks`` and the face's direction down
    (forehead to chin, not of unit length), as :func:`above_mouth` measures by them."""
    top, bottom = landmarks[list(FACE_HEIGHT)]
    corners = landmarks[list(MOUTH_CORNERS)]
    return (corners[:, 0].mean(), corners[:, 1].mean()), bottom - top


def _below(rows: np.ndarray, cols: np.ndarray, centre: tuple[np.floating, np.floating], down: np.ndarray) -> np.ndarray:
    """How far below the mouth's line (:func:`_mouth_line`) the pixels (``rows``, ``cols``) lie, along ``down`` (times
    its length; > 0: below it)."""
    return (cols - centre[0]) * down[0] + (rows - centre[1]) * down[1]


def above_mouth(
    where: np.ndarray | None, landmarks: np.ndarray, origin: tuple[int, int] = (0, 0)
) -> np.ndarray | None:
    """``where`` ((h, w) bool) less its pixels below the line through the mouth's corners across the face (of the
    (468, 2) ``landmarks``, in the pixels of an image whose (row, column) ``origin`` is ``where``'s top-left corner),
    changed in place; None where none is left (or ``where`` is None)."""
    if where is None:
        return None
    rows, cols = np.nonzero(where)
    # (the landmarks as given, the pixels moved to them: the same numbers as on the whole image)
    below = _below(rows + origin[0], cols + origin[1], *_mouth_line(landmarks)) > 0
    where[rows[below], cols[below]] = False
    return where if where.any() else None
