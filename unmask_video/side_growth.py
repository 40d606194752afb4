"""The mask grown on into the deep band's strips beside the jaw, and what runs on past them (a wall, a shirt) left
out."""

from __future__ import annotations

import logging

import cv2
import numpy as np

from unmask_video.mask_refine import clean_kernel, grow_deeper
from unmask_video.segment_options import SegmentOptions

log = logging.getLogger(__name__)

__all__ = ["grow_sides", "off_open_sides"]


def grow_sides(
    prob: np.ndarray,
    smooth: np.ndarray,
    binary: np.ndarray,
    strip: np.ndarray,
    deep: np.ndarray,
    size: float,
    sure: float,
    opt: SegmentOptions,
) -> np.ndarray:
    """``binary`` (uint8 {0, 1}, snapped) grown on into the deep band's side ``strip`` as the search region is grown
    into (``side_threshold``, under the deep band's ``sure`` threshold), where what it takes meets it along
    ``side_front`` (face): the mask's shaded side standing off the cheek past FaceMesh's outline is never as sure as
    its lit front. What that takes and runs on past the strip (a wall or a shirt of the mask's colour) is left out
    (:func:`off_open_sides`). After the snap and the rim cut: their watersheds put the outline of a thin shaded
    side back on the shading's step at the search region's edge."""
    if opt.side_threshold >= sure:
        return binary
    band = strip & (1 - binary)
    # (only in the box of the band's pixels the model takes, with the clean-up kernels' reach around it: the rest of
    # the mask is as it was)
    bx, by, bw, bh = cv2.boundingRect(((smooth >= opt.side_threshold) & (band > 0)).astype(np.uint8))
    if bw == 0:
        return binary
    m = 2 * clean_kernel(size) + 2
    box = (slice(max(by - m, 0), by + bh + m), slice(max(bx - m, 0), bx + bw + m))
    part = binary[box]
    loose = grow_deeper(prob[box], part, band[box], size, opt.side_threshold, opt.side_front, smooth[box])
    if not (loose != part).any():
        return binary
    out = binary.copy()
    out[box] = loose
    out, _ = off_open_sides(out, binary, deep, strip, size, opt)
    return out


def off_open_sides(
    deeper: np.ndarray, grown: np.ndarray, deep: np.ndarray, strip: np.ndarray, size: float, opt: SegmentOptions
) -> tuple[np.ndarray, np.ndarray]:
    """``deeper`` (uint8 {0, 1}: ``grown`` continued into the deep band) less what it took in the band's
    ``strip``s out along the jaw's sides (:func:`mask_region.side_strips`) that runs on to the strip's outer edge (the
    ``deep`` polygon's outline or the window's rim) along at least ``side_open_edge`` x ``size`` pixels (and with it
    all it took in the strip on that side): a mask standing off the cheek ends inside the strip; a pale wall or a white
    shirt beside the jaw, of the mask's colour, goes on past it. Also returned: the strips given up that way (uint8
    {0, 1})."""
    shape = deeper.shape
    strip = strip > 0
    none = np.zeros(shape, np.uint8)
    taken_all = ((deeper > 0) & (grown == 0) & strip).astype(np.uint8)
    # (in the box of what it took, a pixel around it: the same values as over the whole window, far cheaper)
    bx, by, bw, bh = cv2.boundingRect(taken_all)
    if bw == 0:
        return deeper, none
    x0, y0 = max(bx - 1, 0), max(by - 1, 0)
    x1, y1 = min(bx + bw + 1, shape[1]), min(by + bh + 1, shape[0])
    taken = taken_all[y0:y1, x0:x1]
    outer = np.zeros((shape[0] + 2, shape[1] + 2), np.uint8)  # (a frame around: the window's rim is an edge too)
    cv2.fillPoly(outer, [np.round(deep + 1.0).astype(np.int32)], 1)
    outer[[0, -1], :] = 0
    outer[:, [0, -1]] = 0
    edge = cv2.dilate(1 - outer[y0 : y1 + 2, x0 : x1 + 2], np.ones((3, 3), np.uint8))[1:-1, 1:-1] > 0
    n, comp, _, centroids = cv2.connectedComponentsWithStats(taken, connectivity=8)
    if n <= 1:
        return deeper, none
    centroids = centroids + np.array([x0, y0])
    contact = np.bincount(comp[edge & (taken > 0)], minlength=n)
    drop = contact >= opt.side_open_edge * size
    drop[0] = False
    if not drop.any():
        return deeper, none
    # (and the rest of what it took on that side: the wall's bits that the closing cut off the piece)
    centre = float(deep[:, 0].mean())
    left = centroids[:, 0] < centre
    closed = np.zeros(shape, bool)
    columns = np.arange(shape[1])[None, :]
    for side, half in ((left, columns < centre), (~left, columns >= centre)):
        if (drop & side).any():
            drop |= side
            closed |= strip & half
    drop[0] = False
    log.debug("deep band: %d piece(s) along the jaw's sides run on past the strip, left out", int(drop.sum()))
    out = deeper.copy()
    out[y0:y1, x0:x1][drop[comp]] = 0
    return out, closed.astype(np.uint8)
