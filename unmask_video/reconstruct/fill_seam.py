"""Where the warped reference meets the composite's fill: a soft edge, not a step.

The warp carries only the reference's own face and neck skin (:mod:`unmask_video.reference_matte`); beside it the
composite fills the hole from the frame's surroundings. The two meet along the edge of what the warp covers, which
follows the reference's matte (a neck's side, hair along a cheek), not any edge the frame shows: left as it is, the
warped skin stops in a hard, pixel-ragged step against the fill, and the last pixels sampled at the matte's edge
carry a thin dark or light rim of what lay beyond it. :func:`feather_into_fill` continues the warped skin's colour
outwards and fades it into the fill over a short distance instead; the warped pixels themselves change only along
their edge (the rim).
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["feather_into_fill"]

#: The warped pixels this far inside their edge, as a fraction of the fade's width, are faded into the skin's local
#: colour (the rim sampled across the matte's edge); the fade into the fill runs outwards over the whole width.
_INNER = 0.35


def _smoothstep(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)  # no kink where the fade starts or ends


def _wide_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """A Gaussian blur of ``sigma`` >= 4 px computed at half size and scaled back (the wide average is smooth: a
    quarter of the pixels and half the kernel)."""
    h, w = image.shape[:2]
    if sigma < 4.0 or min(h, w) < 8:
        return cv2.GaussianBlur(image, (0, 0), sigma)
    small = cv2.resize(image, ((w + 1) // 2, (h + 1) // 2), interpolation=cv2.INTER_AREA)
    return cv2.resize(cv2.GaussianBlur(small, (0, 0), 0.5 * sigma), (w, h), interpolation=cv2.INTER_LINEAR)


def feather_into_fill(
    out: np.ndarray, filled: np.ndarray, covered: np.ndarray, width: float, inner: float = _INNER
) -> None:
    """Soften where the ``covered`` pixels of ``out`` ((h, w, 3) uint8, changed in place; (h, w) bool: the warped
    reference) meet the ``filled`` ones ((h, w) bool: the fill, already in ``out``).

    The warped skin's local colour (a normalised Gaussian average of the covered pixels near the edge, rim left out)
    is continued into the filled pixels and fades into the fill over ``width`` pixels from the edge; the covered
    pixels within ``width`` * ``inner`` (a fraction; :data:`_INNER` by default) of the edge fade into that local colour
    (their rim holds what lay past the reference's matte)."""
    if width <= 0 or not filled.any() or not covered.any():
        return
    pieces = _pieces(filled, _reach(width, inner))
    if len(pieces) == 1:  # (one side only: the whole box, its arrays contiguous)
        _feather_piece(out, filled, covered, width, inner)
        return
    for rows, cols in pieces:
        _feather_piece(out[rows, cols], filled[rows, cols], covered[rows, cols], width, inner)


def _reach(width: float, inner: float = _INNER) -> int:
    """How far from the filled pixels :func:`_feather_piece` reads, in pixels, for a fade of ``width`` (``inner`` as
    there): the changed pixels lie within ``width`` of them, the skin's colour they take is read up to ``inner +
    width`` further in, with the near Gaussian's radius (4 sigma) or the wide one's (4 x 4 sigma)."""
    inner = max(inner * width, 1.0)
    return int(np.ceil(inner + width + 16.0 * max(0.5 * inner, 1.0))) + 2


def _pieces(filled: np.ndarray, reach: int) -> list[tuple[slice, slice]]:
    """Boxes (rows, columns) that hold the ``filled`` pixels and everything within ``reach`` of them, one per group of
    columns with filled pixels less than ``2 * reach`` apart: the fill lies on both sides of the jaw and neck, and the
    box around both holds the whole face between them, which nothing here reads; one group: the whole box. (Boxes
    start on even pixels, so that the wide blur's half-size cells are the whole box's.)"""
    h, w = filled.shape
    cols = np.flatnonzero(filled.any(axis=0))
    cuts = np.flatnonzero(np.diff(cols) > 2 * reach)
    if not len(cuts):
        return [(slice(0, h), slice(0, w))]  # (one group: the whole box, as it is)
    boxes = []
    for group in np.split(cols, cuts + 1):
        c0, c1 = int(group[0]), int(group[-1]) + 1
        rows = np.flatnonzero(filled[:, c0:c1].any(axis=1))
        r0, r1 = int(rows[0]), int(rows[-1]) + 1
        rows_box = slice(max(r0 - reach, 0) & ~1, min(r1 + reach, h))
        boxes.append((rows_box, slice(max(c0 - reach, 0) & ~1, min(c1 + reach, w))))
    return boxes


def _feather_piece(
    out: np.ndarray, filled: np.ndarray, covered: np.ndarray, width: float, inner: float = _INNER
) -> None:
    """:func:`feather_into_fill` on one box of the fill and what it reads."""
    if not covered.any():
        return
    to_filled = cv2.distanceTransform((~filled).astype(np.uint8), cv2.DIST_L2, 5)
    to_covered = cv2.distanceTransform((~covered).astype(np.uint8), cv2.DIST_L2, 5)
    inner = max(inner * width, 1.0)
    inside = covered & (to_filled < inner)
    outside = filled & (to_covered < width)
    if not (inside.any() or outside.any()):
        return
    # The skin's local colour near the edge, from the covered pixels past the faded ones (not the rim's shade):
    # the covered colour and its weight blurred as one 4-channel image, read only where a pixel changes.
    source = np.ascontiguousarray(covered & (to_filled >= inner) & (to_filled < inner + width)).view(np.uint8)
    # (built as uint8 with OpenCV's masked copy and merge, then converted: numpy's boolean-indexed writes into a
    # 4-channel float image cost several times more, for the same numbers)
    colour = cv2.copyTo(out, source)  # (zeros where not ``source``)
    stack = cv2.merge([*cv2.split(colour), source]).astype(np.float32)
    sigma = max(0.5 * inner, 1.0)
    near = _wide_blur(stack, sigma)  # (at half size when wide: a wide rim, as outside_fill.py fades, costs no more)
    far = _wide_blur(stack, 4 * sigma)
    k = np.float32(1e-2)  # (the wider average decides only where the nearer has nothing)
    # Both averages read once, at the pixels that change (inside and outside, in raster order), and both written in
    # one pass: the fade into the local colour inside the edge, out of it outside.
    changed = inside | outside
    at = np.flatnonzero(changed)
    n, f = near.reshape(-1, 4)[at], far.reshape(-1, 4)[at]
    total = n[:, 3] + k * f[:, 3]
    known = (total > 1e-4)[:, None]
    local = (n[:, :3] + k * f[:, :3]) / np.maximum(total, 1e-6)[:, None]
    keep = np.where(inside.reshape(-1)[at], _smoothstep(to_filled.reshape(-1)[at] / inner),
                    1.0 - _smoothstep(1.0 - to_covered.reshape(-1)[at] / width))[:, None]  # fmt: skip
    cur = out[changed]
    out[changed] = np.where(known, np.clip(keep * cur + (1.0 - keep) * local + 0.5, 0, 255), cur).astype(np.uint8)
