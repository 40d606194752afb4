"""The last full segmentation's mask carried onto a later frame of the same face: what that run left
(:class:`StillRun`), the affine map of the landmarks that move the mask (:data:`STILL_POINTS`, :func:`affine_lstsq`),
the window carried by it (:func:`mapped_box`, :func:`carry`) and the block means that tell how much the face changed
under the carry (:func:`block_grid`, :func:`block_means`, :func:`grid_means`, :func:`mask_blocks`,
:func:`reduce_by`, :func:`carried_change`)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from unmask_video import landmark_sets as ls


#: The landmarks whose motion moves the mask: the k-means polygon's, the core's (nose, mouth), the chin's.
STILL_POINTS = ls.index(ls.MASK_REGION + ls.MASK_CORE + ls.MASK_CHIN)


@dataclass
class StillRun:
    """The last frame the whole segmentation ran on, as a still face's later frames compare with it."""

    landmarks: np.ndarray  # (len(STILL_POINTS), 2) float32, ROI coordinates
    window: tuple[int, int, int, int]  # x0, y0, x1, y1 of the working window in the ROI
    pixels: np.ndarray  # the ROI's window, uint8
    # the ROI mask's feathered box as :func:`mask_paste.paste` wrote it (uint8, 255 x its values) and the box's
    # top-left corner (x, y) in the window; None: empty (no mask worn)
    mask: tuple[np.ndarray, tuple[int, int]] | None
    scale: float  # working pixels per ROI pixel
    worn: bool
    reused: int = 0  # frames reused since
    # (``seed_frames``) the run's working mask (uint8 {0, 1}) and its working pixels per ROI pixel (sx, sy); the
    # seeded runs since the last full run, this one's included
    work: np.ndarray | None = None
    axes: tuple[float, float] = (1.0, 1.0)
    seeded: int = 0
    # (``move_check_size``) the window reduced by a whole factor, and the factor, once a check has needed it
    reduced: tuple[int, np.ndarray] | None = None

    def reduced_by(self, factor: int) -> np.ndarray:
        """The window area-reduced by the whole ``factor`` (its last rows and columns short of a whole factor left
        out), made once."""
        if self.reduced is None or self.reduced[0] != factor:
            self.reduced = factor, reduce_by(self.pixels, factor)
        return self.reduced[1]


def affine_lstsq(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """2x3 affine matrix mapping ``src`` points onto ``dst`` points in the least-squares sense."""
    a = np.hstack([src.astype(np.float64), np.ones((len(src), 1))])
    m, *_ = np.linalg.lstsq(a, dst.astype(np.float64), rcond=None)
    return m.T.astype(np.float32)  # (2, 3)


def block_grid(shape: tuple[int, ...], blocks: int) -> tuple[int, tuple[int, int], tuple[int, int]]:
    """The square blocks :func:`block_means` takes over an image of ``shape`` (h, w, ...): (the block's side, the
    grid's size in blocks (columns, rows), its offset (x, y) in the image)."""
    h, w = shape[:2]
    side = max(-(-max(w, h) // max(blocks, 1)), 1)
    bw, bh = max(w // side, 1), max(h // side, 1)
    return side, (bw, bh), (max((w - bw * side) // 2, 0), max((h - bh * side) // 2, 0))


def block_means(diff: np.ndarray, blocks: int) -> tuple[np.ndarray, int, tuple[int, int]]:
    """Means of ``diff`` over square blocks, about ``blocks`` along its longer side: (the means, the block's side,
    the grid's offset (x, y) in ``diff``). An area resize at a whole factor (3x faster than at any other) over a grid
    of whole blocks centred on ``diff``, its rim of less than a block left out."""
    side, (bw, bh), (cx, cy) = block_grid(diff.shape, blocks)
    return grid_means(diff, side, (cx, cy, cx + bw * side, cy + bh * side)), side, (cx, cy)


def grid_means(diff: np.ndarray, side: int, box: tuple[int, int, int, int]) -> np.ndarray:
    """The means of ``diff`` over the blocks of ``side`` pixels tiling ``box`` (x0, y0, x1, y1; whole blocks). Each
    block's mean is its own (an area resize at a whole factor): those of a part of a grid are that part of the
    grid's."""
    x0, y0, x1, y1 = box
    return cv2.resize(diff[y0:y1, x0:x1], ((x1 - x0) // side, (y1 - y0) // side), interpolation=cv2.INTER_AREA)


def mapped_box(
    box: tuple[int, int, int, int], lin: np.ndarray, move: np.ndarray, margin: int, size: tuple[int, int]
) -> tuple[int, int, int, int]:
    """The whole-pixel box (x0, y0, x1, y1) holding ``box``'s four corners carried by the affine map (``lin``,
    ``move``), grown by ``margin`` pixels and cut to an image of ``size`` (w, h)."""
    x0, y0, x1, y1 = box
    corners = np.array([[x0, y0], [x1, y0], [x0, y1], [x1, y1]], np.float32) @ lin.T + move
    bx0, by0 = np.maximum(np.floor(corners.min(axis=0)).astype(int) - margin, 0)
    bx1, by1 = np.minimum(np.ceil(corners.max(axis=0)).astype(int) + margin, size)
    return bx0, by0, bx1, by1


def carry(
    patch: np.ndarray, origin: tuple[int, int], lin: np.ndarray, move: np.ndarray, box: tuple[int, int, int, int],
    border: int,
) -> np.ndarray:
    """``patch`` (its top-left corner at ``origin`` in the last full run's ROI) carried by the affine map (``lin``,
    ``move``) onto ``box`` (x0, y0, x1, y1) of this frame's ROI: bilinear, with ``border`` (replicated or 0) outside."""
    x0, y0, x1, y1 = box
    to_box = np.hstack([lin, (lin @ np.array(origin, np.float32) + move - [x0, y0])[:, None]])
    return cv2.warpAffine(
        patch, to_box, (int(x1 - x0), int(y1 - y0)), flags=cv2.INTER_LINEAR, borderMode=border, borderValue=0
    )


def reduce_by(image: np.ndarray, factor: int) -> np.ndarray:
    """``image`` area-reduced by the whole ``factor`` (each pixel the mean of a ``factor`` x ``factor`` block; the last
    rows and columns short of a whole block left out)."""
    h, w = image.shape[0] // factor, image.shape[1] // factor
    return cv2.resize(image[: h * factor, : w * factor], (w, h), interpolation=cv2.INTER_AREA)


def mask_blocks(
    still: StillRun, lin: np.ndarray, move: np.ndarray, corner: tuple[float, float], factor: int, side: int,
    grid: tuple[int, int],
) -> tuple[int, int, int, int]:
    """The blocks (c0, r0, c1, r1) of a check's ``grid`` (columns, rows) of ``side`` pixels that a worn mask's box
    carried by the map covers, with one block around them (all of them for a bare face). ``factor``: the check's
    pixels are that many ROI pixels wide; ``corner``: the grid's first block's corner, in ROI pixels (1) or, for
    a reduced window from ROI pixel x0, x0 / ``factor`` plus the grid's offset (ROI pixel x lies at
    (x - x0 + 0.5) / factor - 0.5 of the reduced window)."""
    bw, bh = grid
    if still.mask is None:
        return 0, 0, bw, bh
    px0, py0 = still.window[:2]
    up, (bx, by) = still.mask
    box = np.array([[bx, by], [bx + up.shape[1], by + up.shape[0]]], np.float32) + [px0, py0]
    if factor == 1:
        box = box @ lin.T + move - [corner[0], corner[1]]
    else:
        box = (box @ lin.T + move + 0.5) / factor - 0.5 - [corner[0], corner[1]]
    (fc0, fr0), (fc1, fr1) = np.floor(box.min(axis=0) / side) - 1, np.ceil(box.max(axis=0) / side) + 1
    c1, r1 = min(max(int(fc1), 0), bw), min(max(int(fr1), 0), bh)
    c0, r0 = min(max(int(fc0), 0), c1), min(max(int(fr0), 0), r1)
    return c0, r0, c1, r1


def carried_change(
    still: StillRun, image: np.ndarray, lin: np.ndarray, move: np.ndarray, window: tuple[int, int, int, int],
    blocks: int, check_size: int,
) -> float:
    """How much the face changed under the carry: the last full run's window carried by the affine map (``lin``,
    ``move``) onto ``window`` (x0, y0, x1, y1) of this frame's ROI, the largest mean absolute difference over the
    ``blocks`` of :func:`block_grid` (as a still face's check: a shift there). For a worn mask, only the blocks over
    its box and one around it: the background a turning head uncovers at the window's rim is no change to the
    mask; the carry then stops at those blocks' last row and column (each pixel of a warp is its own: the same
    values as the whole window's), and none runs when no block is left. A window larger than ``check_size`` (the
    segmenter's ``move_check_size``): :func:`reduced_change`."""
    x0, y0, x1, y1 = window
    factor = -(-max(x1 - x0, y1 - y0) // check_size) if check_size > 0 else 1
    if factor > 1:
        return reduced_change(still, image, lin, move, window, factor, blocks)
    side, (bw, bh), (cx, cy) = block_grid((y1 - y0, x1 - x0), blocks)
    c0, r0, c1, r1 = mask_blocks(still, lin, move, (x0 + cx, y0 + cy), 1, side, (bw, bh))
    if c1 <= c0 or r1 <= r0:
        return 0.0
    ex, ey = x0 + cx + c1 * side, y0 + cy + r1 * side  # (the carry's end: the last block's)
    carried = carry(still.pixels, still.window[:2], lin, move, (x0, y0, ex, ey), cv2.BORDER_REPLICATE)
    diff = cv2.absdiff(image[y0:ey, x0:ex], carried)
    return float(grid_means(diff, side, (cx + c0 * side, cy + r0 * side, ex - x0, ey - y0)).max())


def reduced_change(
    still: StillRun, image: np.ndarray, lin: np.ndarray, move: np.ndarray, window: tuple[int, int, int, int],
    factor: int, blocks: int,
) -> float:
    """:func:`carried_change` with both windows area-reduced by the whole ``factor`` (``move_check_size``): the
    last run's window (reduced once per run) carried by the same map at that size, the blocks of that size's
    grid over the mask's box and one around it."""
    x0, y0, x1, y1 = window
    now = reduce_by(image[y0:y1, x0:x1], factor)
    side, (bw, bh), (cx, cy) = block_grid(now.shape, blocks)
    c0, r0, c1, r1 = mask_blocks(
        still, lin, move, (x0 / factor + cx, y0 / factor + cy), factor, side, (bw, bh)
    )
    if c1 <= c0 or r1 <= r0:
        return 0.0
    # (the map between the reduced windows: reduced pixel q of the last run's lies at ROI pixel
    # factor q + (factor - 1) / 2 from its corner)
    corner = np.array(still.window[:2], np.float32) + (0.5 * factor - 0.5)
    shift = (lin @ corner + move - [x0, y0] + 0.5) / factor - 0.5
    ex, ey = cx + c1 * side, cy + r1 * side
    carried = cv2.warpAffine(
        still.reduced_by(factor), np.hstack([lin, shift[:, None]]).astype(np.float32), (ex, ey),
        flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE,
    )
    diff = cv2.absdiff(now[:ey, :ex], carried)
    return float(grid_means(diff, side, (cx + c0 * side, cy + r0 * side, ex, ey)).max())
