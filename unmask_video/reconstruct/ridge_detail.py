"""The frame's own narrow detail along the nose's ridge, carried a little way down past the mask's top edge.

A bridge lit from one side shows a narrow highlight along the ridge (3-5 px on a 720p face). Where the mask's top edge
crosses the ridge, the blend's band just above the edge and the hole below it are rebuilt from the warped reference,
whose ridge (a stand-in's, or the same face in other light) has its own, wider and duller, and the seam field, smooth,
does not carry a streak that narrow: the frame's highlight ended in a step at the edge (the white-mask woman with a
frontal stand-in, benchmarks/README.md, helpers nose and ridge). :func:`carry_ridge_detail` reads the frame's
high-passed lightness across the ridge on the skin just above the edge (past the cloth's bleed, never the hole) and
lays that profile along the ridge's direction over the rebuilt pixels, from the band above the edge down into the hole
for a short, face-scaled length, fading out down the ridge and towards its sides; there it takes the place of the
rebuilt skin's own detail of the same width.

It is measured only on the frames that measure the colour fields (``CompositeOptions.field_refresh``; a
:class:`RidgeTrack` says which): what it laid there (:class:`HeldRidge`, on a grid along and across the ridge) is
held and laid again on the frames that reuse the fields, placed by the ridge's landmarks on that frame (the crossing
at the same share of the ridge's length). The bridge's streak moves little between those frames: a face that moves
has its fields measured afresh.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import cv2
import numpy as np

from unmask_video.face_units import FaceLength
from unmask_video.reconstruct.face_history import FrameHold
from unmask_video.landmark_sets import NOSE_RIDGE, index

log = logging.getLogger(__name__)

__all__ = ["HeldRidge", "RidgeDetailOptions", "RidgeTrack", "carry_ridge_detail"]


@dataclass(frozen=True)
class RidgeDetailOptions:
    """Lengths are :class:`~unmask_video.face_units.FaceLength` values (pixels on a face of
    ``face_units.REFERENCE_FACE_PX``)."""

    #: How far down the ridge past the mask's top edge the frame's detail is carried, fading linearly to nothing
    #: (never past the nose's tip region). ``FaceLength(0.0)``: off.
    carry: FaceLength = FaceLength(24.0, 4.0)
    #: How far to each side of the ridge the detail is read and laid (a raised cosine: full on the ridge line, nothing
    #: at this distance).
    half_width: FaceLength = FaceLength(14.0, 4.0)
    #: The high-pass's Gaussian: the detail carried is what is narrower than about this.
    sigma: FaceLength = FaceLength(10.0, 1.5)
    #: How far past the clean skin's start above the hole (past the cloth's bleed) the profile is read.
    source: FaceLength = FaceLength(5.0, 2.0)
    #: The share of the whole pixels across the ridge the profile must be read on (the frame's skin seen there, off the
    #: hole, past the gap) to carry anything.
    min_source: float = 0.8


@dataclass(frozen=True)
class HeldRidge:
    """What :func:`carry_ridge_detail` laid on a frame that measured it: the change to the grey on a grid along and
    across the ridge (1 px steps; (along, across) float32, already faded down the ridge and tapered to its sides), the
    grid's first row and column as distances from the crossing down and across the ridge (px), and where the crossing
    lies along the ridge's landmarks (a share of the polyline's length, its root 0)."""

    change: np.ndarray
    along0: float
    across0: float
    at: float


#: One face's ridge detail from frame to frame: measured where the colour fields are, laid again where they are reused.
RidgeTrack = FrameHold[HeldRidge]


def _inside(hole: np.ndarray, x: float, y: float) -> bool:
    """Whether the pixel nearest (``x``, ``y``) is in ``hole`` (False off the region)."""
    h, w = hole.shape
    col, row = round(x), round(y)
    return 0 <= col < w and 0 <= row < h and bool(hole[row, col])


def _crossing(points: list[list[float]], hole: np.ndarray) -> tuple[float, float, float] | None:
    """(x, y, at): where the ridge polyline (x, y points, root first) enters ``hole`` and how far along it that lies
    (a share of its length); None where its root is already in the hole or none of its landmarks is. Looked for in
    half-pixel steps by bisection on the stretch before the first landmark in the hole (it enters the hole once)."""
    if _inside(hole, *points[0]):
        return None
    first = next((k for k in range(1, len(points)) if _inside(hole, *points[k])), None)
    if first is None:
        return None
    steps = [math.dist(p, q) for p, q in zip(points, points[1:])]
    (ax, ay), (bx, by) = points[first - 1], points[first]
    n = math.ceil(2.0 * steps[first - 1]) + 1
    lo, hi = 0, n  # (sample lo outside, sample hi inside, of n + 1 from a to b)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _inside(hole, ax + mid / n * (bx - ax), ay + mid / n * (by - ay)):
            hi = mid
        else:
            lo = mid
    share = hi / n
    total = sum(steps)
    return ax + share * (bx - ax), ay + share * (by - ay), (sum(steps[:first - 1]) + share * steps[first - 1]) / total


def _along(points: list[list[float]], at: float) -> tuple[float, float]:
    """The point ``at`` (a share of its length) along the ridge polyline (x, y points)."""
    steps = [math.dist(p, q) for p, q in zip(points, points[1:])]
    s = at * sum(steps)
    for (ax, ay), (bx, by), step in zip(points, points[1:], steps):
        if s <= step and step > 0:
            return ax + s / step * (bx - ax), ay + s / step * (by - ay)
        s -= step
    return points[-1][0], points[-1][1]


def _smooth_across(grid: np.ndarray, sigma: float) -> np.ndarray:
    """``grid`` ((rows, cols) float32) blurred along its rows by a Gaussian of ``sigma`` px (the border replicated). A
    wide one on a coarser grid, one column in ``sigma // 4`` (resized there and back: what a Gaussian that wide
    leaves differs from the full-size one's by a small fraction of a level, at a fraction of the cost)."""
    step = max(int(sigma // 4.0), 1)
    rows, cols = grid.shape
    coarse = grid if step == 1 else cv2.resize(grid, (math.ceil(cols / step), rows), interpolation=cv2.INTER_AREA)
    s = sigma * coarse.shape[1] / cols
    smooth = cv2.GaussianBlur(coarse, (2 * math.ceil(3.0 * s) + 1, 1), sigmaX=s, sigmaY=0.0,
                              borderType=cv2.BORDER_REPLICATE)  # fmt: skip
    return smooth if step == 1 else cv2.resize(smooth, (cols, rows), interpolation=cv2.INTER_LINEAR)


def _measure(
    out: np.ndarray,
    image: np.ndarray,
    hole: np.ndarray,
    dist: np.ndarray,
    points: list[list[float]],
    gap: float,
    band: float,
    face_px: float,
    options: RidgeDetailOptions,
) -> HeldRidge | None:
    """The change :func:`carry_ridge_detail` lays on this frame, read off it (None: nothing to lay; ``points``: the
    ridge's landmarks, x, y)."""
    crossing = _crossing(points, hole)
    if crossing is None:
        return None
    ex, ey, at = crossing
    # (not over the tip: the ridge's last stretch before it is the bulb, not the bridge)
    length = sum(math.dist(p, q) for p, q in zip(points, points[1:]))
    carry = min(options.carry.px(face_px), 0.5 * (1.0 - at) * length)
    (rx, ry) = points[0]
    dx, dy = ex - rx, ey - ry
    norm = math.hypot(dx, dy)
    if carry <= 1.0 or norm < 1.0:
        return None
    dx, dy = dx / norm, dy / norm  # (the bridge's direction above the mask: the root to the crossing, both the frame's)
    ax, ay = -dy, dx
    half = options.half_width.px(face_px)
    sigma = options.sigma.px(face_px)
    top = gap + options.source.px(face_px)
    # Everything is read on a grid along and across the ridge (1 px steps): the detail is what is narrower than
    # ``sigma`` across it, a 1-D high-pass along each of its rows.
    pad = math.ceil(2.0 * sigma) + 1
    reach = math.ceil(half) + pad
    above = math.ceil(max(top, band))
    below = math.ceil(carry)
    # (the grid's box: its four corners)
    corner_x = [ex + a * dx + c * ax for a in (-above, below) for c in (-reach, reach)]
    corner_y = [ey + a * dy + c * ay for a in (-above, below) for c in (-reach, reach)]
    h, w = hole.shape
    x0, y0 = max(math.floor(min(corner_x)), 0), max(math.floor(min(corner_y)), 0)
    x1, y1 = min(math.ceil(max(corner_x)) + 2, w), min(math.ceil(max(corner_y)) + 2, h)
    if x1 - x0 < 3 or y1 - y0 < 3:
        return None
    box = (slice(y0, y1), slice(x0, x1))
    # (the grid's column c, row r -> the box's pixel: from its first, ``reach`` across and ``above`` up the ridge)
    fx, fy = ex - x0 - above * dx - reach * ax, ey - y0 - above * dy - reach * ay
    to_box = np.array([[ax, dx, fx], [ay, dy, fy]], np.float64)
    size = (2 * reach + 1, above + below + 1)
    # The frame's skin: off the hole and past the gap (never the cloth, nor its bleed). The profile across the ridge:
    # its lightness on that skin just past the gap above the hole (the hole's top edge peaks over the ridge and falls
    # away to its sides: the same distance from it, not the same row), averaged down the ridge (the rows above the
    # crossing).
    around = dist[box]  # (0 in the hole: past the gap is off it)
    near = cv2.inRange(around, gap, top) & cv2.compare(around, gap, cv2.CMP_GT)
    # (the frame's grey, the rebuilt one and that skin, read on the grid in one pass: three channels cost 1.4x one)
    greys = cv2.merge((cv2.cvtColor(image[box], cv2.COLOR_RGB2GRAY), cv2.cvtColor(out[box], cv2.COLOR_RGB2GRAY), near))
    grid = cv2.warpAffine(greys, to_box, size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
    frame_grey, own, skin = cv2.split(grid)
    source = cv2.compare(skin[:above + 1], 128, cv2.CMP_GE)  # (the rows above the crossing)
    counts = cv2.reduce(source, 0, cv2.REDUCE_SUM, dtype=cv2.CV_32F)[0]
    have = counts > 0
    across_px = np.arange(-reach, reach + 1, dtype=np.float32)
    middle = np.abs(across_px) < half
    if np.count_nonzero(have & middle) < options.min_source * np.count_nonzero(middle):
        log.debug("ridge detail: the skin above the mask's edge over the nose not seen")
        return None
    sums = cv2.reduce(cv2.bitwise_and(frame_grey[:above + 1], source), 0, cv2.REDUCE_SUM, dtype=cv2.CV_32F)[0]
    profile = np.interp(across_px, across_px[have], sums[have] / counts[have] * 255.0).astype(np.float32)
    # The frame's detail less the rebuilt skin's own of that width, each less its Gaussian across the ridge.
    diff = profile[None, :] - own.astype(np.float32)
    change = diff - _smooth_across(diff, sigma)
    # Where it is laid: from above the edge down to ``carry`` past it, fading down the ridge and towards its sides
    # (the columns within ``half`` of the ridge).
    fade = np.clip(1.0 - np.arange(-above, below + 1, dtype=np.float32) / carry, 0.0, 1.0)
    taper = 0.5 + 0.5 * np.cos(np.float32(np.pi) * np.minimum(np.abs(across_px[pad:-pad]) / half, 1.0))
    change = change[:, pad:-pad] * fade[:, None] * taper[None, :]
    return HeldRidge(change, float(-above), float(pad - reach), at)


def _lay(out: np.ndarray, rebuilt: np.ndarray, held: HeldRidge, edge: tuple[float, float],
         down: tuple[float, float]) -> bool:
    """Add ``held``'s change to the grey of ``out``'s ``rebuilt`` pixels, its grid placed at the crossing ``edge``
    along the ridge's direction ``down`` (a unit vector)."""
    (ex, ey), (dx, dy) = edge, down
    ax, ay = -dy, dx
    rows, cols = held.change.shape
    a0, a1 = held.along0, held.along0 + rows - 1
    c0, c1 = held.across0, held.across0 + cols - 1
    corner_x = [ex + a * dx + c * ax for a in (a0, a1) for c in (c0, c1)]
    corner_y = [ey + a * dy + c * ay for a in (a0, a1) for c in (c0, c1)]
    h, w = rebuilt.shape
    x0, y0 = max(math.floor(min(corner_x)), 0), max(math.floor(min(corner_y)), 0)
    x1, y1 = min(math.ceil(max(corner_x)) + 1, w), min(math.ceil(max(corner_y)) + 1, h)
    if x1 <= x0 or y1 <= y0:
        return False
    # (each pixel of the box -> its place on the grid: across and down the ridge from the grid's first column and row)
    ox, oy = x0 - ex, y0 - ey
    to_grid = np.array([[ax, ay, ox * ax + oy * ay - c0], [dx, dy, ox * dx + oy * dy - a0]], np.float64)
    delta = cv2.warpAffine(held.change, to_grid, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)  # fmt: skip
    delta *= rebuilt[y0:y1, x0:x1]
    if not delta.any():
        return False
    target = out[y0:y1, x0:x1]
    target[...] = cv2.add(target, cv2.merge((delta, delta, delta)), dtype=cv2.CV_8U)
    return True


def carry_ridge_detail(
    out: np.ndarray,
    image: np.ndarray,
    hole: np.ndarray,
    rebuilt: np.ndarray,
    dist: np.ndarray,
    landmarks: np.ndarray,
    gap: float,
    band: float,
    face_px: float,
    options: RidgeDetailOptions,
    track: RidgeTrack | None = None,
) -> bool:
    """Lay the frame's narrow detail across the nose's ridge, read just above the mask's top edge, on the rebuilt
    pixels along the ridge (``out``, (h, w, 3) uint8, changed in place where ``rebuilt``).

    ``image``: the frame's region; ``hole``: the mask there; ``rebuilt``: the pixels the composite wrote; ``dist``:
    every pixel's distance to ``hole``; ``landmarks``: (468, 2) in the region's pixels; ``gap``: how far above the hole
    the frame's skin is clean of the cloth (its bleed and shade); ``band``: how far past the hole the composite rebuilt
    (the blend's band, laid over from there); ``face_px``: the face's size; ``track``: the face's detail held from the
    last frame that measured it (:class:`RidgeTrack`; None: measured on this frame, not kept). Returns whether any
    pixel changed (False where the ridge does not cross the hole's top edge or the skin above it is not seen)."""
    if options.carry.px(face_px) <= 0:
        return False
    points = np.asarray(landmarks, np.float32)[index(NOSE_RIDGE)].tolist()
    if track is not None and track.reuse:
        held = track.held
        if held is None:
            return False
    else:
        held = _measure(out, image, hole, dist, points, gap, band, face_px, options)
        if track is not None:
            track.held = held
        if held is None:
            return False
    ex, ey = _along(points, held.at)
    (rx, ry) = points[0]
    norm = math.hypot(ex - rx, ey - ry)
    if norm < 1.0:
        return False
    return _lay(out, rebuilt, held, (ex, ey), ((ex - rx) / norm, (ey - ry) / norm))
