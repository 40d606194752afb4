"""Blend a rebuilt face region back into the frame: the last per-face stage, after every reconstructor.

:func:`blend_into` writes a rebuilt ROI into the frame with a feathered alpha (or, optionally, Poisson
cloning); it never changes a pixel the alpha does not reach.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import cv2
import numpy as np

from unmask_video.face_units import FaceLength
from unmask_video.low_mask import cap_above_top
from unmask_video.notch_matte import Unmixed, settle_notch_edges
from unmask_video.stages import Box

__all__ = ["DEFAULT_BLEND_WIDTH", "BlendMode", "BlendOptions", "blend_into", "distance_outside", "feather_alpha",
           "feather_reach", "grow_box", "grown_mask_box", "mask_bbox"]

BlendMode = Literal["feather", "poisson"]
#: Feathers wider than twice this are computed on the mask shrunk by a whole factor (their half-width there about
#: this many pixels): the grown-and-blurred alpha costs in proportion to its width.
_FEATHER_WORK_HALF_PX = 6
#: The blend's reach outside the mask, in face units: 12 px on a face of ``face_units.REFERENCE_FACE_PX``, more on a
#: larger face, never less (a narrower feather shows the fringe of a mask the segmentation missed on small faces);
#: the reference composite fills the same band (``CompositeOptions.band``).
DEFAULT_BLEND_WIDTH = FaceLength(12.0, 12.0)
#: What the mask's outline closes over within this many blend widths (its notches and holes: fingers or a hand in
#: front of the mask, which the segmentation leaves out) is an occluder: the feather does not fade into it. 5: a whole
#: hand (a palm about 8 widths across at the floor width) stays in front; at 2.5 the feather faded the rebuilt face
#: over a palm's middle.
DEFAULT_NOTCH_REACH = 5.0
#: Discs at least this many pixels across are applied by :func:`_by_nested_rects` (thin passes, more of them): from
#: about there on, fewer pixels visited outweigh the passes (a 31 px closing on a 150 x 130 window: about 0.6x).
_NESTED_MORPH_PX = 21
#: The notches are found at a scale where the closing's radius is about this many pixels (they are wide shapes; at the
#: default reach, the scale at which a finger's notch was found with 2.5 widths and 8 px: the same fingertips).
_NOTCH_WORK_RADIUS_PX = 16


@dataclass
class BlendOptions:
    """How the rebuilt region meets the frame."""

    #: The soft edge reaches this far outside the mask (scaled with the face; ``FaceLength(0)``: a hard edge).
    width: FaceLength = DEFAULT_BLEND_WIDTH
    mode: BlendMode = "feather"
    #: The mask's notches and holes up to this many ``width`` across are in front of the rebuilt face: the feather
    #: stops at their edge instead of fading a finger laid over the mask (0: the feather reaches into them).
    notch_reach: float = DEFAULT_NOTCH_REACH
    #: On a mask worn below the nose (:func:`~unmask_video.low_mask.nose_bare`: the nose's midline off the mask),
    #: the feather reaches only this far above the mask's top edge, fading out (``FaceLength(0)``: a hard edge there),
    #: so the bare nose and cheeks above it stay the frame's (:mod:`unmask_video.low_mask`). None: the whole width
    #: there too. The feather blend only.
    low_top: FaceLength | None = FaceLength(5.0, 2.0)
    #: Round those notches, the alpha is settled on the frame's colours (:mod:`unmask_video.notch_matte`): the cloth
    #: left between the mask and a finger is rebuilt, the finger's edge stays the frame's (False: the shield's band
    #: as it is, a pale fringe of cloth round the fingertips).
    notch_matte: bool = True


def _ellipse(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


@lru_cache(maxsize=32)
def ellipse_rects(radius: int) -> tuple[np.ndarray, ...]:
    """Rectangles whose union is :func:`_ellipse` of ``radius``: for each half-width of its rows, the rectangle of
    that width as tall as the rows at least that wide (the ellipse's rows are centred and narrow away from its
    middle row)."""
    tallest: dict[int, int] = {}
    for dy, row in enumerate(_ellipse(radius)):
        half = radius - int(np.flatnonzero(row)[0])
        tallest[half] = max(tallest.get(half, 0), abs(dy - radius))
    return tuple(cv2.getStructuringElement(cv2.MORPH_RECT, (2 * half + 1, 2 * tall + 1))
                 for half, tall in sorted(tallest.items()))  # fmt: skip


def disk_morph(image: np.ndarray, op: int, diameter: int) -> np.ndarray:
    """``cv2.morphologyEx(image, op, ellipse)`` (op: cv2.MORPH_ERODE, _DILATE, _OPEN or _CLOSE) by the elliptic
    kernel of ``cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (diameter, diameter))`` (``diameter`` odd), exactly:
    by the rectangles whose union the ellipse is (:func:`ellipse_rects`), the erosions' minimum and the dilations'
    maximum. OpenCV visits every pixel of an elliptic kernel, and passes a rectangle in two 1-D runs: from 9 px on,
    the rectangles cost about two thirds of it (an 11 px closing: 0.19 against 0.28 ms on a 235 x 200 window; a
    15 px dilation, about a fifth)."""
    rects = ellipse_rects(diameter // 2)

    def by_rects(img: np.ndarray, erode: bool) -> np.ndarray:
        if diameter >= _NESTED_MORPH_PX:
            return _by_nested_rects(img, rects, erode)
        out: np.ndarray | None = None
        for rect in rects:
            part = cv2.erode(img, rect) if erode else cv2.dilate(img, rect)
            out = part if out is None else (cv2.min(out, part, dst=out) if erode else cv2.max(out, part, dst=out))
        assert out is not None
        return out

    if op == cv2.MORPH_ERODE:
        return by_rects(image, True)
    if op == cv2.MORPH_DILATE:
        return by_rects(image, False)
    if op == cv2.MORPH_OPEN:
        return by_rects(by_rects(image, True), False)
    if op == cv2.MORPH_CLOSE:
        return by_rects(by_rects(image, False), True)
    raise ValueError(f"disk_morph: unsupported operation {op}")


@lru_cache(maxsize=64)
def _line(length: int, vertical: bool) -> np.ndarray:
    """A rectangular structuring element one pixel thin, ``length`` long."""
    return cv2.getStructuringElement(cv2.MORPH_RECT, (1, length) if vertical else (length, 1))


def _by_nested_rects(image: np.ndarray, rects: tuple[np.ndarray, ...], erode: bool) -> np.ndarray:
    """The dilation (erosion: ``erode``) of ``image`` by the union of ``rects`` (:func:`ellipse_rects`: widening and
    flattening in turn), the same pixels as their dilations' maximum, in thin passes: a dilation by a w x h rectangle is
    one by w x 1 then by 1 x h, dilations compose (w x 1 then w' x 1 is (w + w' - 1) x 1, within the image's border as
    well), and a column dilation of a maximum is the maximum of the column dilations, so that ``max_i C(h_i) R(w_i)``
    = ``C(h_n) (R(w_n) v C(h_(n-1) - h_n + 1) (R(w_(n-1)) v ...))``, each row dilation grown from the last. Every pass
    runs a short kernel: a third of the work of one pass per rectangle at a big disc's 10 rectangles, more passes."""
    morph = cv2.erode if erode else cv2.dilate
    both = cv2.min if erode else cv2.max
    widths = [int(r.shape[1]) for r in rects]
    heights = [int(r.shape[0]) for r in rects]
    row = morph(image, _line(widths[0], False)) if widths[0] > 1 else image
    acc = row
    for j in range(1, len(rects)):
        row = morph(row, _line(widths[j] - widths[j - 1] + 1, False))
        acc = both(row, morph(acc, _line(heights[j - 1] - heights[j] + 1, True)))
    return morph(acc, _line(heights[-1], True)) if heights[-1] > 1 else acc


def disk_morph_near(image: np.ndarray, op: int, diameter: int) -> np.ndarray:
    """:func:`disk_morph` of a (h, w) uint8 ``image`` (0 outside a region: an oval, a matte), worked only on the box
    of its non-zero pixels grown by the disk's radius (twice that for a closing, whose dilation the erosion reads
    back): the same pixels, since outside that box every result is 0 and inside it the disk sees only the box or
    the image's own border."""
    r = diameter // 2
    box = mask_bbox(image, 2 * r if op == cv2.MORPH_CLOSE else r, image.shape[:2])
    if box is None:
        return np.zeros_like(image)
    if image[box].shape == image.shape:
        return disk_morph(image, op, diameter)
    out = np.zeros_like(image)
    out[box] = disk_morph(np.ascontiguousarray(image[box]), op, diameter)
    return out


def mask_bbox(mask: np.ndarray, margin: int, shape: tuple[int, int]) -> tuple[slice, slice] | None:
    """Slices of the bounding box of ``mask != 0`` grown by ``margin`` and clipped to ``shape`` (None: empty mask)."""
    if mask.ndim == 2 and mask.dtype in (np.uint8, np.bool_) and mask.size:
        # (a 2-D uint8 or bool mask: OpenCV's bounding rectangle, about 2.5x faster than the projections below)
        x, y, w, h = cv2.boundingRect(mask.view(np.uint8))
        if w == 0:
            return None
        y0, y1, x0, x1 = y, y + h, x, x + w
    else:
        # Row and column projections: far cheaper than listing every non-zero pixel (cv2.findNonZero).
        rows = np.flatnonzero(mask.any(axis=1))
        if rows.size == 0:
            return None
        cols = np.flatnonzero(mask.any(axis=0))
        y0, y1, x0, x1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    return (
        slice(max(y0 - margin, 0), min(y1 + margin, shape[0])),
        slice(max(x0 - margin, 0), min(x1 + margin, shape[1])),
    )


def grow_box(box: tuple[slice, slice], margin: int, shape: tuple[int, int]) -> tuple[slice, slice]:
    """A :func:`mask_bbox` box (margin 0) grown by ``margin`` and clipped to ``shape``: what :func:`mask_bbox` gives
    with that margin, without looking at the mask again."""
    rows, cols = box
    return (
        slice(max(rows.start - margin, 0), min(rows.stop + margin, shape[0])),
        slice(max(cols.start - margin, 0), min(cols.stop + margin, shape[1])),
    )


def distance_outside(where: np.ndarray) -> np.ndarray:
    """(h, w) float32: every pixel's distance to the (h, w) bool ``where`` (0 on it; OpenCV's 3x3 L2 mask)."""
    return cv2.distanceTransform(cv2.bitwise_not(where.view(np.uint8) * np.uint8(255)), cv2.DIST_L2, 3)


def grown_mask_box(
    mask: np.ndarray, margin: int, known: tuple[slice, slice] | None = None
) -> tuple[slice, slice] | None:
    """:func:`mask_bbox` of ``mask > 0`` with ``margin``, in ``mask``'s shape; from ``known`` (that box at margin 0,
    found before) without reading the mask again when it is given."""
    shape = mask.shape[:2]
    if known is not None:
        return grow_box(known, margin, shape)
    return mask_bbox(mask > 0, margin, shape)


def feather_reach(width_px: float) -> int:
    """How many pixels outside the mask :func:`feather_alpha` can reach (its width, and the rounding of the
    working scale a wide feather is computed at)."""
    k = _feather_shrink(width_px)
    return int(np.ceil(max(width_px, 0.0))) + 1 + (2 * k if k > 1 else 0)


def _feather_shrink(width_px: float) -> int:
    """The whole factor a feather this wide is computed smaller by (1: at full size)."""
    return max(int(round(max(width_px, 0.0) / 2.0)) // _FEATHER_WORK_HALF_PX, 1)


def feather_alpha(
    mask: np.ndarray, width_px: float, notch_reach: float = 0.0, frame: np.ndarray | None = None
) -> np.ndarray:
    """The blend alpha of a mask: grown by ``width_px / 2``, blurred over ``width_px / 2``.

    The result is 1 on the mask (at least ``mask`` everywhere) and falls to 0 by ``width_px`` pixels outside it
    (exactly, up to a feather of ``2 * _FEATHER_WORK_HALF_PX`` px; a wider one, on a big face, is computed on the
    mask shrunk by a whole factor and reaches at most that factor further: :func:`feather_reach`), so the seam lies
    outside the mask edge. ``notch_reach`` > 0: but not into the mask's notches and holes up to ``notch_reach *
    width_px`` across (:func:`shield_notches`), which hold what lies in front of the mask; ``frame``: the frame's
    pixels under the mask ((h, w, 3) uint8 RGB), on whose colours the band round the notches is then settled
    (:func:`~unmask_video.notch_matte.settle_notch_edges`).
    """
    return _feather_alpha(mask, width_px, notch_reach, frame)[0]


def _feather_alpha(
    mask: np.ndarray, width_px: float, notch_reach: float = 0.0, frame: np.ndarray | None = None
) -> tuple[np.ndarray, tuple[tuple[slice, slice], Unmixed] | None]:
    """:func:`feather_alpha`, and where the notches' band was settled on the frame's colours, its box and what
    :func:`~unmask_video.notch_matte.settle_notch_edges` returned (the pixels where a blurred finger's cloth share is
    replaced, the pixels in front); None: not settled."""
    m = np.asarray(mask, dtype=np.float32)
    if width_px <= 0:
        return np.clip(m, 0.0, 1.0), None
    # The mask in 8 bits: a dilation commutes with the rounding to 1/255 (the grown alpha is the float one rounded,
    # at 1/4 the memory and 4x the SIMD lanes); the blur reads it into float.
    m8 = cv2.convertScaleAbs(m, alpha=255.0)
    k = _feather_shrink(width_px)
    if k > 1:
        # A wide feather is smooth: the dilation and blur cost grows with its width, so they run k times smaller.
        h, w = m.shape
        small = shrunk(m8, k)
        alpha = cv2.resize(_grown_and_blurred(small, width_px / k), (small.shape[1] * k, small.shape[0] * k),
                           interpolation=cv2.INTER_LINEAR)  # fmt: skip
        alpha = alpha[:h, :w]  # (a view: the padding's rows and columns are never read)
    else:
        alpha = _grown_and_blurred(m8, width_px)
    shielded = shield_notches(alpha, m8, width_px, notch_reach) if notch_reach > 0 else None
    # (in place, OpenCV's max and min: a third of numpy's time on these views; the blur of values in [0, 1] stays
    # in [0, 1] but for float rounding)
    cv2.max(alpha, m, dst=alpha)
    cv2.min(alpha, 1.0, dst=alpha)
    settled = None
    if shielded is not None and frame is not None:
        (rows, cols), band, notches, plain = shielded
        cv2.max(plain, m[rows, cols], dst=plain)
        unmixed = settle_notch_edges(alpha[rows, cols], plain, m8[rows, cols], frame[rows, cols], band, notches,
                                     width_px)  # fmt: skip
        settled = None if unmixed is None else ((rows, cols), unmixed)
    return alpha, settled


def shield_notches(
    alpha: np.ndarray, m8: np.ndarray, width_px: float, reach: float
) -> tuple[tuple[slice, slice], np.ndarray, np.ndarray, np.ndarray] | None:
    """Lower ``alpha`` (float32, ``m8``'s shape, in place) on the notches and holes of the 8-bit mask ``m8``: what a
    closing by a disk of ``reach * width_px`` fills that is not mask (a finger laid over a mask, a hand in front of
    it, as the segmentation leaves them out) gets alpha times 0, rising to times 1 from ``width_px / 2`` to
    ``width_px`` beyond them; elsewhere ``alpha`` is left as it is. The notches are found on the mask shrunk so that
    the closing's radius is about ``_NOTCH_WORK_RADIUS_PX`` (they are as wide as fingers: finer detail is no notch),
    one pixel wide slivers along a jagged outline left out (an opening). Returns the box of ``alpha`` it lowered, the
    band it lowered it on there (float32, > 0), the notches there (uint8 {0, 1}) and ``alpha`` there before it was
    lowered; None: no notch."""
    radius = reach * width_px
    if radius < 2.0:
        return None
    c = max(int(round(radius / _NOTCH_WORK_RADIUS_PX)), 1)
    h, w = m8.shape
    small = shrunk(m8, c) if c > 1 else m8
    # (only what is all mask at that scale: a pixel the notch's edge crosses counts as notch, so the shield covers
    # the whole notch at full size)
    inside = (small >= 250).astype(np.uint8)
    r = max(int(round(radius / c)), 1)
    notches = cv2.morphologyEx(closing_fills(inside, r), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    if not notches.any():
        return None
    cover = _grown_and_blurred(notches * np.uint8(255), width_px / c)
    box = mask_bbox(cover > 0, 1, cover.shape)
    assert box is not None
    part = cover[box]
    rows, cols = slice(box[0].start * c, min(box[0].stop * c, h)), slice(box[1].start * c, min(box[1].stop * c, w))
    held = notches[box]
    if c > 1:
        part = cv2.resize(part, (part.shape[1] * c, part.shape[0] * c), interpolation=cv2.INTER_LINEAR)
        held = cv2.resize(held, (held.shape[1] * c, held.shape[0] * c), interpolation=cv2.INTER_NEAREST)
    region = alpha[rows, cols]
    part = part[: region.shape[0], : region.shape[1]]
    plain = region.copy()
    cv2.multiply(region, np.float32(1.0) - part, dst=region)
    return (rows, cols), part, held[: region.shape[0], : region.shape[1]], plain


def closing_fills(body: np.ndarray, r: int) -> np.ndarray:
    """What a closing of the (h, w) uint8 map ``body`` by a disk of radius ``r`` px (:func:`disk_morph`) adds to it:
    its notches and holes up to about ``2 r`` across. Zero-padded by the radius, so the closing neither grows the
    body from the border nor stops at it."""
    framed = cv2.copyMakeBorder(body, r, r, r, r, cv2.BORDER_CONSTANT, value=0)
    return cv2.subtract(disk_morph(framed, cv2.MORPH_CLOSE, 2 * r + 1)[r:-r, r:-r], body)


def shrunk(m8: np.ndarray, k: int) -> np.ndarray:
    """The 8-bit map ``m8`` shrunk by the whole factor ``k`` (area means), its edge rows and columns repeated up to a
    multiple of ``k`` first: pixel ``(i, j)`` of the result covers ``m8[k*i : k*i + k, k*j : k*j + k]``."""
    h, w = m8.shape
    hp, wp = -(-h // k) * k, -(-w // k) * k
    padded = cv2.copyMakeBorder(m8, 0, hp - h, 0, wp - w, cv2.BORDER_REPLICATE)
    return cv2.resize(padded, (wp // k, hp // k), interpolation=cv2.INTER_AREA)


def _grown_and_blurred(m8: np.ndarray, width_px: float) -> np.ndarray:
    """The 8-bit mask ``m8`` (255: fully masked) grown by ``width_px / 2`` (an ellipse), blurred over as much
    (GaussianBlur's kernel), as float32 in [0, 1]."""
    g = max(int(round(width_px / 2.0)), 1)
    kernel = cv2.getGaussianKernel(2 * g + 1, g / 2.0, cv2.CV_32F)
    return cv2.sepFilter2D(disk_morph(m8, cv2.MORPH_DILATE, 2 * g + 1), cv2.CV_32F, kernel * np.float32(1.0 / 255.0), kernel,
                           borderType=cv2.BORDER_REPLICATE)  # fmt: skip


def blend_into(
    frame: np.ndarray,
    box: Box,
    filled: np.ndarray,
    mask: np.ndarray,
    width_px: float,
    mode: BlendMode = "feather",
    mask_box: tuple[slice, slice] | None = None,
    notch_reach: float = 0.0,
    top_reach_px: float | None = None,
    notch_matte: bool = False,
) -> tuple[int, int, np.ndarray] | None:
    """Write the rebuilt ROI ``filled`` into ``frame`` at ``box``, in place.

    ``mode="feather"``: ``frame[box] = alpha * filled + (1 - alpha) * frame[box]`` with
    ``alpha = feather_alpha(mask, width_px)``; only pixels with ``alpha > 0`` are written, every
    other pixel stays exactly as it was. ``filled`` is used in the band up to ``width_px``
    outside the mask, so it should hold the face there (the reference composite fills that band).
    ``mode="poisson"``: gradient-domain cloning (``cv2.seamlessClone``) of ``filled`` over the
    grown mask; again nothing outside it changes. A box partly outside the frame is clipped. ``mask_box``:
    :func:`mask_bbox` of ``mask > 0`` (margin 0) when the caller has it (the same result, one pass over the mask less).
    ``notch_reach``: the feather leaves the mask's notches and holes alone (:func:`feather_alpha`).
    ``top_reach_px``: the feather reaches only this far above the mask's top edge (:func:`low_mask.cap_above_top`;
    a mask worn below the nose); None: its whole width there too. ``notch_matte``: the band round those notches is
    settled on the frame's colours (:mod:`unmask_video.notch_matte`).
    """
    fh, fw = frame.shape[:2]
    x0, y0 = max(box.x0, 0), max(box.y0, 0)
    x1, y1 = min(box.x1, fw), min(box.y1, fh)
    if x1 <= x0 or y1 <= y0:
        return None
    if filled.shape[:2] != (box.height, box.width) or mask.shape != (box.height, box.width):
        raise ValueError(
            f"blend_into: filled {filled.shape} and mask {mask.shape} must match the box {box.height}x{box.width}"
        )
    crop = (slice(y0 - box.y0, y1 - box.y0), slice(x0 - box.x0, x1 - box.x0))
    filled = filled[crop]
    mask = mask[crop]
    roi = frame[y0:y1, x0:x1]

    if mode == "poisson":
        _poisson_into(roi, filled, mask, width_px)
        return None
    if mode != "feather":
        raise ValueError(f"unknown blend mode {mode!r}")

    # The alpha reaches at most ``feather_reach(width_px)`` outside the mask: compute it on that box only.
    margin = feather_reach(width_px) + 2
    whole = (y0, x0) == (box.y0, box.x0) and mask.shape == (box.height, box.width)  # (the box was not clipped)
    region = grown_mask_box(mask, margin, mask_box if whole else None)
    if region is None:
        return None
    dst = roi[region]
    a, settled = _feather_alpha(mask[region], width_px, notch_reach, dst if notch_matte else None)
    if top_reach_px is not None:
        cap_above_top(a, mask[region], top_reach_px, feather_reach(width_px))
    src = filled[region]
    front = None
    if settled is not None:
        (rows, cols), unmixed = settled
        if unmixed.ys.size:
            src = src.copy()
            src[rows, cols] = unmixed.apply(src[rows, cols], dst[rows, cols])
        front = (y0 + region[0].start + rows.start, x0 + region[1].start + cols.start, unmixed.front)
    # (a * src + (1 - a) * dst) / (1 + 1e-5), rounded: exactly ``src`` where a == 1, ``dst`` where a == 0.
    # (OpenCV reads and writes the strided views as they are: each pixel is read before it is written, so the
    # frame's box is its output, with no region-sized copy; where a == 0 it is left bit for bit)
    cv2.blendLinear(src, dst, a, 1.0 - a, dst=dst)
    return front


def _poisson_into(roi: np.ndarray, filled: np.ndarray, mask: np.ndarray, width_px: float) -> None:
    """Poisson-clone ``filled`` into ``roi`` (in place) over the mask grown by ``width_px / 2``."""
    # cv2.seamlessClone erodes the mask by a few pixels before solving: grow it by that much more,
    # so the mask edge itself (a strong gradient in the frame) stays outside the solved region.
    g = max(int(round(width_px / 2.0)), 0) + 4
    m = cv2.dilate((mask > 0).astype(np.uint8), _ellipse(g))
    # seamlessClone needs the mask clear of the image border.
    m[:2, :] = 0
    m[-2:, :] = 0
    m[:, :2] = 0
    m[:, -2:] = 0
    pts = cv2.findNonZero(m)
    if pts is None:
        return
    x, y, w, h = cv2.boundingRect(pts)
    center = (x + w // 2, y + h // 2)
    src = np.ascontiguousarray(filled)
    dst = np.ascontiguousarray(roi)
    cloned = cv2.seamlessClone(src, dst, m * 255, center, cv2.NORMAL_CLONE)
    inside = m > 0
    roi[inside] = cloned[inside]
