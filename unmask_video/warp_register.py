"""How far the warped reference lies from the frame's face above the mask: a small translation, read on the skin the
frame shows just above (and beside) the mask.

FaceMesh run on a masked frame places even the landmarks it sees above the mask (eyes, brows, nose bridge) a few
pixels higher than on the bare face (1-4 px on every clip of the quality benchmark, about 1 % of the face height);
the reference's landmarks come from its bare photo, so the warp carried the reference that much too high, and the
skin next to the mask edge (which the colour match reads) came from lower on the reference's cheek: on lp_d3 about
3 L brighter than the frame in the same light. :func:`residual_shift` measures the shift between the two on the
visible band above the mask (gradients, so a change of light does not move it), on a warp of the frame's own
control points before the frame is warped; the warp adds a robust estimate over the face track's frames (the median
of the recent measures, held until it moves: :class:`TrackRegistration`) to the control points, on the box
:func:`band_box` gives.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import cv2
import numpy as np

if TYPE_CHECKING:
    from unmask_video.warp import WarpOptions

log = logging.getLogger(__name__)

#: The band the shift is read on: visible pixels the warp covers within this many face heights of the mask.
_BAND = 0.08
#: Shifts up to this many face heights are searched, each way.
_REACH = 0.025
#: At least this many pixels (at the working size) in the band, else no measure.
_MIN_PIXELS = 200
#: How far (working pixels) the blurred gradients reach.
_GRADIENT_REACH = 3
#: The band is read at about this many pixels per face height.
_WORK_FACE = 240.0
#: The registration's translation (``WarpOptions.register``) stays within this many face heights.
_REGISTER_BOUND = 0.015


def residual_shift(
    frame: np.ndarray, warped: np.ndarray, valid: np.ndarray, mask: np.ndarray, face_height: float,
    min_depth: float = 0.0,
) -> np.ndarray | None:
    """(0, dy) in pixels: how far down the ``warped`` reference ((h, w, 3) uint8, ``valid`` where it covers) must move to
    lie on the ``frame`` ((h, w, 3) uint8) on the visible band above the ``mask`` ((h, w), > 0 covered); None where the
    band is too small, the best shift lies at the searched range's edge (no clear minimum) or the minimum is shallow:
    the cost at the range's nearer edge less than ``1 + min_depth`` times the least (a band of hair, a squint, glasses
    whose gradients match the reference's in no shift)."""
    k = min(1.0, _WORK_FACE / max(face_height, 1.0))
    size = (max(int(round(frame.shape[1] * k)), 1), max(int(round(frame.shape[0] * k)), 1))
    # (the nearest pixel's value, then its test: the same as the test's map resized, without a pass over the full size)
    # (any dtype OpenCV resizes: the nearest pixel is picked alike whatever its type)
    if mask.dtype in (np.uint8, np.float32, np.float64, np.uint16, np.int16):
        covered = (cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST) > 0).view(np.uint8)
    else:
        covered = cv2.resize((mask > 0).astype(np.uint8), size, interpolation=cv2.INTER_NEAREST)
    ok = cv2.resize(valid.view(np.uint8) if valid.dtype == bool else valid.astype(np.uint8), size,
                    interpolation=cv2.INTER_NEAREST) > 0  # fmt: skip
    rows = np.flatnonzero(covered.any(axis=1))
    if len(rows) == 0:
        return None
    dist = cv2.distanceTransform(1 - covered, cv2.DIST_L2, 3)
    r = max(int(np.ceil(_REACH * face_height * k)), 1)
    # (where the warp covers the pixel shifted by up to r rows either way too, and the gradients' reach past it: the
    # black where it does not cover is no edge of the face)
    edge = r + _GRADIENT_REACH
    ok = cv2.erode(ok.astype(np.uint8), np.ones((2 * edge + 1, 2 * _GRADIENT_REACH + 1), np.uint8), borderValue=0) > 0
    band = (dist > 1.5) & (dist <= _BAND * face_height * k) & ok
    middle = rows[0] + 0.5 * (rows[-1] - rows[0])
    band &= np.arange(size[1])[:, None] < middle  # above the mask's middle
    band[:r], band[-r:] = False, False
    if np.count_nonzero(band) < _MIN_PIXELS:
        return None
    # The gradients only down to the band's rows and the shifts' reach below them, from the grey pictures down to the
    # gradients' own reach below that (the same values there as of the whole pictures; the rows below the mask's
    # middle are most of the box and none of the band).
    depth = min(int(np.ceil(middle)) + r + _GRADIENT_SUPPORT, size[1])
    gf = _gradients(_gray(frame, size, depth))
    gw = _gradients(_gray(warped, size, depth))
    # (the band's pixels as flat indices, in np.nonzero's order; the warped gradients at every shift in one take: the
    # reference moved by dy, the frame's pixel p is met by the warped pixel p - dy)
    # (each pixel's two float32 gradients taken as one 8-byte item: numpy's take of items, not of rows)
    at = np.flatnonzero(band)
    shifts = np.arange(-r, r + 1)
    seen = np.take(gf.view(np.int64).ravel(), at).view(np.float32).reshape(-1, 2)
    met = np.take(gw.view(np.int64).ravel(), at[None, :] - shifts[:, None] * size[0])
    met = met.view(np.float32).reshape(len(shifts), len(at), 2)
    # Down the picture only: the band runs across the face, and across it its gradients hardly tell a shift.
    # (each shift's mean over its own (pixels, 2) block, in the order it had as a (2, pixels) array's memory)
    # (numpy's mean of each contiguous row: the same float32 pairwise sums as np.mean of each block, checked)
    squares = np.square(seen[None] - met)
    cost = squares.reshape(len(shifts), -1).mean(axis=1).astype(np.float64)
    j = int(np.argmin(cost))
    if not 0 < j < 2 * r:
        return None
    depth = float(min(cost[0], cost[-1]) / max(cost[j], 1e-9) - 1.0)
    log.debug("residual shift: %d px searched, best %d, depth %.3f", r, j - r, depth)
    if depth < min_depth:
        return None
    return np.array([0.0, (j - r + _vertex(cost[j - 1], cost[j], cost[j + 1])) / k])


def band_reach(face_height: float) -> int:
    """How far (pixels) past the mask's box :func:`residual_shift` reads the pictures: the band, the shifts searched
    and the gradients' reach."""
    k = min(1.0, _WORK_FACE / max(face_height, 1.0))
    return int(np.ceil((_BAND + _REACH) * face_height + (_GRADIENT_REACH + 2) / k))


def band_box(
    mask: np.ndarray, face: tuple[int, int, int, int], height: float
) -> tuple[int, int, int, int, int] | None:
    """(x0, y0, x1, y1, wy1): the box of the ``face`` (x0, y0, x1, y1) around the band above the ``mask`` that
    :func:`residual_shift` reads (not only the box the caller reads: a mask high on the face leaves it no band), and
    the row (``wy1``, exclusive) down to which the reference is warped in it (the band lies above the mask's middle:
    down to there and its reach); None: no band. ``height``: the face height in pixels."""
    # (the mask's box: OpenCV's, many times faster than numpy's on a big ROI)
    if mask.dtype == np.uint8:
        covered = mask
    elif mask.dtype in (np.float32, np.float64, np.int16, np.uint16, np.int32):
        covered = cv2.compare(mask, 0, cv2.CMP_GT)  # (OpenCV's test: one pass, 255 where > 0)
    else:
        covered = (mask > 0).view(np.uint8)
    mx, my, mw, mh = cv2.boundingRect(covered)
    if mw == 0 or mh == 0:
        return None
    reach = band_reach(height)
    bx0, by0 = max(mx, face[0]), max(my - reach, face[1])
    bx1, by1 = min(mx + mw, face[2]), min(my + mh, face[3])
    wy1 = min(my + (mh - 1) // 2 + reach, by1)
    if bx1 <= bx0 or wy1 <= by0:
        return None
    return bx0, by0, bx1, by1, wy1


class TrackRegistration:
    """Per face track, the translation the warp adds to the control points (``WarpOptions.register``): the median of
    the track's recent measures (:func:`residual_shift`, each the translation held plus what its frame reads), held
    until it moves by more than ``register_hold``; which frames are measured."""

    def __init__(self, options: WarpOptions) -> None:
        self.options = options
        #: Per face track: the registration's last measures (held translation plus the frame's reading), newest last.
        self.seen: dict[int, list[float]] = {}
        self._frames: dict[int, int] = {}  # per face track: frames warped since it started
        #: Per face track: the registration's held translation (:attr:`WarpOptions.register`; times its gain, added
        #: to the control points).
        self.offsets: dict[int, np.ndarray] = {}

    def reset(self, track: int | None = None) -> None:
        """Forget one face track (``None``: every track)."""
        for per_track in (self.offsets, self.seen, self._frames):
            for key in list(per_track) if track is None else [track]:
                per_track.pop(key, None)

    def offset(self, track: int | None) -> np.ndarray:
        """The (x, y) translation the registration adds to the track's control points (its gain applied)."""
        held = self.offsets.get(track) if track is not None else None
        return np.zeros(2) if held is None else self.options.register * held

    def samples(self) -> int:
        """How many measures a track's estimate is the median of: its last ``register_window`` frames' (at least 5)."""
        return max(int(self.options.register_window) // max(int(self.options.register_every), 1), 5)

    def due(self, track: int) -> bool:
        """Whether this frame of ``track`` is measured: every frame until it has :meth:`samples` measures
        (a new face is registered at once), then every ``register_every`` frames."""
        count = self._frames.get(track, 0)
        self._frames[track] = count + 1
        every = max(int(self.options.register_every), 1)
        return len(self.seen.get(track, ())) < self.samples() or count % every == 0

    def hold(self, track: int, shift: np.ndarray, height: float) -> bool:
        """Update the track's held translation with this frame's ``shift`` (:func:`residual_shift`'s, on the reference
        warped with the held translation; ``height``: the face height in pixels). Returns whether it moved."""
        held = self.offsets.get(track, np.zeros(2))
        seen = self.seen.setdefault(track, [])
        seen.append(float(self.options.register * held[1] + shift[1]))
        del seen[: -self.samples()]
        # (down the face only: FaceMesh's landmarks above a mask lie higher than on the bare face, never lower; a
        # measure up is the cheeks raised by a smile or a squint, not where the face is)
        target = float(np.clip(np.median(seen), 0.0, _REGISTER_BOUND * height))
        moved = False
        if track not in self.offsets or abs(target - held[1]) > self.options.register_hold * height:
            moved = target != held[1]
            self.offsets[track] = np.array([0.0, target])
        log.debug("register: shift %.2f, %.2f px, held %.2f, %.2f", *shift, *self.offsets[track])
        return moved


#: How many rows of the grey picture past a row its gradient reads: the blur's radius (its kernel of 9 for sigma 1 on
#: float32: 4) and the Sobel's (1), and one to spare.
_GRADIENT_SUPPORT = 6


def _gray(picture: np.ndarray, size: tuple[int, int], rows: int | None = None) -> np.ndarray:
    """(h, w) float32: the grey of an RGB uint8 ``picture``, area-resized to ``size`` (w, h); with ``rows``, only its
    first ``rows`` rows.

    Those rows are made from the picture's rows they read only (and two more), resized by the same scale factors (given
    as ``fx``, ``fy``: OpenCV's area tables then depend on the scale and the output row alone, except for the last rows,
    which the spare rows keep out of the first ``rows``): the same values, bit for bit (tests), at the cost of those
    rows."""
    h, w = picture.shape[:2]
    if rows is not None and rows < size[1] and size[0] != w:  # (a width kept as it is takes another of OpenCV's paths)
        need = int(np.ceil(rows * h / size[1])) + 2
        if need < h:
            grey = cv2.cvtColor(picture[:need], cv2.COLOR_RGB2GRAY)
            part = cv2.resize(grey, None, fx=size[0] / w, fy=size[1] / h, interpolation=cv2.INTER_AREA)
            if part.shape[0] >= rows and part.shape[1] == size[0]:
                return part[:rows].astype(np.float32)
    whole = cv2.resize(cv2.cvtColor(picture, cv2.COLOR_RGB2GRAY), size, interpolation=cv2.INTER_AREA).astype(np.float32)
    return whole if rows is None else whole[:rows]


def _gradients(gray: np.ndarray) -> np.ndarray:
    """(h, w, 2) float32: the x and y derivatives of a slightly blurred grey picture."""
    g = cv2.GaussianBlur(gray, (0, 0), 1.0)
    return cv2.merge([cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)])


def _vertex(a: float, b: float, c: float) -> float:
    """The offset (-0.5 to 0.5) of the minimum of the parabola through (-1, a), (0, b), (1, c)."""
    den = a - 2.0 * b + c
    return float(np.clip(0.5 * (a - c) / den, -0.5, 0.5)) if den > 1e-12 else 0.0


__all__ = ["band_reach", "residual_shift"]
