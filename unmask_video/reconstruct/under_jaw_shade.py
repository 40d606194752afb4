"""The reference photo's own shade under its jaw, lifted towards the frame's light where the frame shows none so deep.

A reference photographed from below (or lit from above) carries a deep shade under its jaw: the colour match scales its
light down to the contrast the frame's skin shows, but a band far darker than both the rebuilt chin above it and the
frame's own neck seen below the mask is left under the rebuilt chin (the grey-mask man with his stand-in: 8-bit L
165-172 under the chin against 190-199 on it and 185-193 on his neck below the mask). Here, inside the hole only and
below the jaw line, the rebuilt skin's smooth light (a Gaussian of its lightness, so its detail is kept) may sit at
most :attr:`UnderJawOptions.depth` below the darker of the two it lies between -- the rebuilt chin's skin and the
frame's visible neck straight below the mask -- and what lies deeper is lifted to that floor, by the share the
reference's own light there shows a shade of its own (its smooth light against its chin's), its chroma moved towards
the chin's by the share of the shade lifted. A frame whose neck below the mask is itself in
shade sets a low floor: that shade is the frame's light, and nothing is lifted.

Whether the photo has a shade of its own is read once, on the photo
(:func:`~unmask_video.reference_shade.reference_shade`): for a photo without one nothing is done on any frame. Where
it has one, the work is done on the box under the chin only, at a reduced size (a whole factor: the smooth lights are
Gaussians of :attr:`UnderJawOptions.sigma` face heights), and the lift, turned into a change of RGB there, is spread
back and added on the hole's pasted pixels at the region's own size.

From frame to frame (:class:`ShadeTrack`) the lift is decided only on the frames the colour fields are measured on
(:attr:`~unmask_video.reconstruct.composite.CompositeOptions.field_refresh`): what it laid there, its change of RGB
at the reduced size and where that lies from the chin's landmark (:class:`HeldLift`), is laid again on the frames
that reuse the fields, nothing of them read; a measuring frame that lifted nothing lifts nothing until the next
measure (the rule's reads skipped: a photo with a shade the frames never show costs nothing there).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np

from unmask_video import landmark_sets
from unmask_video.reconstruct.face_history import FrameHold
from unmask_video.reconstruct.lab_pixels import paste_at, to_lab
from unmask_video.reference_shade import FaceLines, ReferenceShade, coordinates, face_lines

log = logging.getLogger(__name__)

__all__ = ["HeldLift", "ShadeTrack", "UnderJawOptions", "lift_under_jaw_shade"]

#: The smooth lights are computed at a size where their Gaussian is about this many pixels (never above the region's).
_SMALL_SIGMA = 2.5
#: How far below the chin's landmark (face heights) the box reaches: past the bottom of any mask's hole and the band
#: of neck below it (the region ends a little past the hole anyway).
_BOX_BELOW = 0.5


@dataclass(frozen=True)
class UnderJawOptions:
    """Lengths as fractions of the face's height (:func:`~unmask_video.face_axes.face_axes`); lightness in Lab L
    (0-100)."""

    #: How far the rebuilt skin's smooth light may sit below the darker of the rebuilt chin's and the frame's neck's
    #: (Lab L). Negative: off.
    depth: float = 0.0
    #: Only where the warped reference's own smooth light under the jaw is this share of its chin's or less (its own
    #: shade, whatever the colour match made of it; a photo whose shade is nowhere so deep,
    #: :attr:`~unmask_video.reference_shade.ReferenceShade.depth`, is left alone on every frame) ...
    shade_from: float = 0.6
    #: ... in full from this share down: a shade the reference's chin and neck show alike, or a mild one, is left.
    shade_full: float = 0.45
    #: Reference pixels darker than this share of its chin's light are not its skin in shade (hair, a dark
    #: background beside the jaw): never lifted, nor read into the smooth lights.
    least_share: float = 0.2
    #: The Gaussian of the rebuilt skin's smooth light.
    sigma: float = 0.03
    #: How far above FaceMesh's chin the lift fades in (the carried chin may lie above it).
    fade: float = 0.05
    #: The frame's neck is read in the band this far below the hole's edge (past ``gap``).
    band: float = 0.04
    #: ... skipping this much next to the edge (the mask's own shade and the segmentation's edge).
    gap: float = 0.015
    #: ... where the hole's nearest pixel lies this nearly straight up the face (the neck under the mask's lower edge,
    #: not what lies past its side).
    below: float = 0.9
    #: At least this many pixels of the frame's neck and of the rebuilt chin, or nothing is changed.
    least: int = 20


@dataclass(frozen=True)
class HeldLift:
    """What :func:`lift_under_jaw_shade` laid on a frame that decided it: its change of RGB ((h, w, 3) float32, at the
    reduced size, ``step`` region pixels a pixel each way) and where its first pixel's corner lies from the chin's
    landmark ((x, y) region pixels)."""

    change: np.ndarray
    step: int
    offset: tuple[float, float]


#: One face's under-jaw lift from frame to frame: decided where the colour fields are measured, laid again where they
#: are reused.
ShadeTrack = FrameHold[HeldLift]


def _box(lines: FaceLines, shape: tuple[int, int], top: float, reach: float, k: int) -> tuple[slice, slice] | None:
    """The region's box from ``top`` down the face (and the chin's skin) to :data:`_BOX_BELOW` below the chin, across
    the neck's column and the chin's skin ``reach`` px wider, its sides whole multiples of ``k`` px (None: empty)."""
    ends = (min(top, lines.lip + 0.3 * (lines.chin - lines.lip)) - 1.0, lines.chin + _BOX_BELOW * lines.height)
    sides = (min(lines.sides[0], lines.mid - 0.5 * lines.mouth) - reach,
             max(lines.sides[1], lines.mid + 0.5 * lines.mouth) + reach)  # fmt: skip
    corners = np.array([t * lines.down + s * lines.across for t in ends for s in sides])
    x0, y0 = (max(int(v), 0) for v in np.floor(corners.min(axis=0)))
    x1, y1 = np.ceil(corners.max(axis=0)).astype(int) + 1
    x1, y1 = min(int(x1), shape[1]), min(int(y1), shape[0])
    x1, y1 = x1 - (x1 - x0) % k, y1 - (y1 - y0) % k  # (whole cells: a reduction by a whole factor is fast)
    if x1 <= x0 or y1 <= y0:
        return None
    return slice(y0, y1), slice(x0, x1)


def _small(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image`` reduced to ``size`` (w, h) by a whole factor, bilinear (each pixel the mean of the four at its
    centre: what follows is a Gaussian of a few of its pixels, or a median)."""
    if image.shape[1] == size[0] and image.shape[0] == size[1]:
        return image
    return cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)


def _middle(values: np.ndarray) -> np.ndarray:
    """The median of ``values`` ((N,) or (N, C), N > 0) along its first axis, the upper of the two middle values where
    N is even (one partial sort; np.median's checks cost more than the sort on a few hundred values)."""
    half = len(values) // 2
    return np.partition(values, half, axis=0)[half]


def _straight_below(dist: np.ndarray, down: np.ndarray, cosine: float) -> np.ndarray:
    """(h, w) bool: where the way away from the hole (the gradient of ``dist``, each pixel's distance to it) is within
    the angle of ``cosine`` of ``down`` the face ((2,) x, y), not where the distance is flat (as
    :func:`~unmask_video.reconstruct.neck_side.below_hole` at least ``cosine``, by central differences, one OpenCV
    call each way)."""
    across = cv2.Sobel(dist, cv2.CV_32F, 1, 0, ksize=1, borderType=cv2.BORDER_REPLICATE)
    along = cv2.Sobel(dist, cv2.CV_32F, 0, 1, ksize=1, borderType=cv2.BORDER_REPLICATE)
    slope = cv2.magnitude(across, along)
    return (across * np.float32(down[0]) + along * np.float32(down[1]) >= np.float32(cosine) * slope) & (slope > 2e-3)


def lift_under_jaw_shade(
    out: np.ndarray, image: np.ndarray, reference: np.ndarray, hole: np.ndarray, pasted: np.ndarray, dist: np.ndarray,
    landmarks: np.ndarray, shade: ReferenceShade | None, options: UnderJawOptions = UnderJawOptions(),
    track: ShadeTrack | None = None,
) -> bool:
    """Lift the rebuilt skin's shade under the jaw in ``out`` ((h, w, 3) uint8 RGB, changed in place on ``hole``
    only, where the warped reference is ``pasted``) towards the frame's light (module doc). ``image``: the frame's
    region; ``reference``: the warped reference before its colour match; ``dist``: each pixel's distance to
    ``hole`` ((h, w) float32); ``landmarks``: (468, 2) in the region's pixels; ``shade``: the reference photo's own
    light under its jaw (None, or no shade as deep as ``shade_from``: nothing is done); ``track``: the face's lift
    from frame to frame (:class:`ShadeTrack`; None: decided on this frame). Returns whether anything changed."""
    if options.depth < 0 or shade is None or shade.depth >= options.shade_from or shade.chin <= 1.0:
        if track is not None:
            track.held = None
        return False
    if track is not None and track.reuse:
        return track.held is not None and _lay(out, hole, pasted, landmarks, track.held)
    held = _lift(out, image, reference, hole, pasted, dist, landmarks, shade, options)
    if track is not None:
        track.held = held
    return held is not None


def _lay(out: np.ndarray, hole: np.ndarray, pasted: np.ndarray, landmarks: np.ndarray, held: HeldLift) -> bool:
    """Add ``held``'s change on ``out``'s pixels of ``hole`` where ``pasted``, its corner placed from this frame's
    chin's landmark (``landmarks``, region pixels); whether any pixel of the region was reached."""
    chin = landmarks[landmark_sets.CHIN]
    x0, y0 = int(round(float(chin[0]) + held.offset[0])), int(round(float(chin[1]) + held.offset[1]))
    return _add(out, hole, pasted, held, x0, y0)


def _add(out: np.ndarray, hole: np.ndarray, pasted: np.ndarray, held: HeldLift, x0: int, y0: int) -> bool:
    """Add ``held``'s change, spread back to the region's size with its corner at (``x0``, ``y0``), on ``out``'s
    pixels of ``hole`` where ``pasted``; whether any pixel of the region was reached."""
    k = held.step
    hh, hw = held.change.shape[:2]
    h, w = hole.shape
    # (the change's pixels that land on the region)
    cx0, cy0 = max(-x0, 0), max(-y0, 0)
    cx1, cy1 = min(hw * k, w - x0), min(hh * k, h - y0)
    if cx1 <= cx0 or cy1 <= cy0:
        return False
    change = cv2.resize(held.change, (hw * k, hh * k), interpolation=cv2.INTER_LINEAR)[cy0:cy1, cx0:cx1]
    where = (slice(y0 + cy0, y0 + cy1), slice(x0 + cx0, x0 + cx1))
    sub = out[where]
    change += sub
    change += np.float32(0.5)
    np.clip(change, 0, 255, out=change)
    paste_at(sub, change.astype(np.uint8), hole[where] & pasted[where])
    return True


def _lift(
    out: np.ndarray, image: np.ndarray, reference: np.ndarray, hole: np.ndarray, pasted: np.ndarray, dist: np.ndarray,
    landmarks: np.ndarray, shade: ReferenceShade, options: UnderJawOptions,
) -> HeldLift | None:
    """:func:`lift_under_jaw_shade` decided on this frame: what it laid (None: nothing)."""
    lines = face_lines(landmarks)
    if lines is None:
        return None
    height = lines.height
    sigma = max(options.sigma * height, 0.5)
    # The work is done at a reduced size: ``k`` region pixels a pixel each way.
    k = max(int(round(sigma / _SMALL_SIGMA)), 1)
    fade = max(options.fade * height, 1.0)
    # (from a Gaussian's reach above where the lift fades in)
    box = _box(lines, hole.shape, lines.chin - fade - 3.0 * sigma - 2.0, 3.0 * sigma + 2.0, k)
    if box is None:
        return None
    lifted = hole[box] & pasted[box]
    bh, bw = lifted.shape
    size = (bw // k, bh // k)
    origin = (box[1].start + 0.5 * k - 0.5, box[0].start + 0.5 * k - 0.5)  # (pixel centres)
    t, s = coordinates(lines, (size[1], size[0]), origin, (k, k))
    column = lines.column(s)
    on_hole = _small(lifted.view(np.uint8), size) > 0  # (most of a cell's centre)
    cell = k * k  # (region pixels a small pixel stands for)
    # The rebuilt chin's skin (the warped reference's own chin there: its light the shade is measured against).
    on_chin = on_hole & lines.chin_skin(t, s)
    if np.count_nonzero(on_chin) * cell < options.least:
        return None
    ref_l = to_lab(_small(reference[box], size))[..., 0]
    ref_chin = _middle(ref_l[on_chin])
    if ref_chin <= 1.0:
        return None
    # How much of the reference's own shade each pixel is: 0 at ``shade_from`` of its chin's light, 1 from
    # ``shade_full``; only on its skin, in the neck's column, below the chin's landmark (faded in over ``fade`` above
    # it: the carried chin may lie above FaceMesh's). (The smooth lights are read on the reference's skin only: hair
    # or a dark background beside the jaw is neither lifted nor mixed into the skin's light beside it.)
    skin = (ref_l >= np.float32(options.least_share) * ref_chin).astype(np.float32)
    small_sigma = sigma / k
    norm = np.maximum(cv2.GaussianBlur(skin, (0, 0), small_sigma), np.float32(1e-3))
    ref_smooth = cv2.GaussianBlur(ref_l * skin, (0, 0), small_sigma) / norm
    span = max(options.shade_from - options.shade_full, 1e-3)
    own = np.clip((np.float32(options.shade_from) - ref_smooth / ref_chin) / np.float32(span), 0.0, 1.0)
    own *= np.clip((t - np.float32(lines.chin - fade)) / np.float32(fade), 0.0, 1.0) * (column & (skin > 0))
    if not (own * on_hole > 0).any():
        return None  # (this frame's warp carries none of it into the hole)
    # The frame's neck seen straight below the mask's lower edge in the neck's column.
    gap, band = options.gap * height, options.band * height
    near = _small(dist[box], size)
    neck = (near > gap) & (near <= gap + band) & column & (t > lines.chin)
    if np.count_nonzero(neck) * cell < options.least:
        return None
    neck &= _straight_below(near, lines.down, options.below)
    if np.count_nonzero(neck) * cell < options.least:
        return None
    rgb = _small(out[box], size).astype(np.float32) * np.float32(1.0 / 255.0)
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)
    chin_lab = _middle(lab[on_chin])
    neck_l = float(_middle(to_lab(_small(image[box], size)[neck])[:, 0]))
    floor = min(float(chin_lab[0]), neck_l) - options.depth
    # (three channels by OpenCV: numpy's products with a map broadcast over the channels cost more than the Gaussian)
    smooth = cv2.divide(cv2.GaussianBlur(cv2.multiply(lab, cv2.merge([skin] * 3)), (0, 0), small_sigma),
                        cv2.merge([norm] * 3))  # fmt: skip
    deficit = np.clip(np.float32(floor) - smooth[..., 0], 0.0, None) * own
    rows = np.flatnonzero((deficit * on_hole > 0.5).any(axis=1))
    if not rows.size:
        return None
    # The lift (its chroma moved towards the chin's by the share lifted) as a change of RGB, at the reduced size, on
    # the rows it reaches (a cell more each way); spread back to the region's size and added where the hole is pasted.
    cols = np.flatnonzero((deficit[rows[0]:rows[-1] + 1] > 0.5).any(axis=0))
    r0, r1 = max(int(rows[0]) - 1, 0), min(int(rows[-1]) + 2, size[1])
    c0, c1 = max(int(cols[0]) - 1, 0), min(int(cols[-1]) + 2, size[0])
    part = (slice(r0, r1), slice(c0, c1))
    up = deficit[part]
    share = np.clip(up / np.maximum(np.float32(chin_lab[0]) - smooth[part][..., 0], np.float32(1e-3)), 0.0, 1.0)
    moved = lab[part] + np.concatenate([up[..., None], share[..., None] * (chin_lab[1:] - smooth[part][..., 1:])], axis=2)
    small = (cv2.cvtColor(moved, cv2.COLOR_Lab2RGB) - rgb[part]) * np.float32(255.0)
    log.debug("under-jaw shade: floor L %.1f (chin %.1f, neck %.1f), at most %.1f lifted", floor, chin_lab[0], neck_l,
              float(up.max()))  # fmt: skip
    chin = landmarks[landmark_sets.CHIN]
    x0, y0 = box[1].start + c0 * k, box[0].start + r0 * k
    held = HeldLift(small, k, (x0 - float(chin[0]), y0 - float(chin[1])))
    _add(out, hole, pasted, held, x0, y0)
    return held
