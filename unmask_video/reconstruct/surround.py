"""The frame's colours around a gap carried into it, for the reference composite's "surround" fill.

Where the warp leaves a gap beside the face (the jaw's sides, the neck's), the frame's pixels just past the mask are
carried in: spread by normalised convolution into one smooth field (:func:`surround`), or each gap pixel given the
colour of the nearest of them, lightly smoothed (:func:`nearest_colour`: a collar, a hood and a wall each go on as
themselves).

A hand or a finger laid over the mask is left out of it by the segmentation, so the frame's pixels just past the
mask hold the finger too: the gap beside the jaw under a knuckle took the finger's colour, a pale wedge between the
rebuilt jaw's shaded rim and the hair behind the hand. What lies in front of the mask is not what lies beside the face
behind it: :func:`in_front` finds the notches and holes a closing of the mask fills (as the blend's shield finds them,
:func:`~unmask_video.blend.shield_notches`), and :func:`nearest_colour` reads the pixels past them first.
"""

from __future__ import annotations

import cv2
import numpy as np

from unmask_video.blend import closing_fills, disk_morph, shrunk
from unmask_video.mask_pixels import pixels_at
from unmask_video.reconstruct.fill_seam import pieces
from unmask_video.reconstruct.lab_pixels import coords_of

#: :func:`in_front` works on the hole shrunk so that its closing's radius is about this many pixels.
_FRONT_WORK_RADIUS_PX = 8.0


def _planes_at(image: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> list[np.ndarray]:
    """The (h, w, 3) uint8 ``image``'s (a view of a box of a bigger image, rows of whole pixels, is fine) channels at
    the pixels ``ys``, ``xs``: three (N,) uint8 arrays, ``image[ys, xs, c]``. Read through the pixels' byte offsets in
    one flat view of the image's memory: numpy's gather by two index arrays costs several times more."""
    row, col, channel = image.strides
    if image.dtype != np.uint8 or min(row, col, channel) <= 0 or len(ys) == 0:
        return [np.ascontiguousarray(image[ys, xs, c]) for c in range(image.shape[2])]
    h, w, c = image.shape
    flat = np.lib.stride_tricks.as_strided(image, shape=((h - 1) * row + (w - 1) * col + (c - 1) * channel + 1,),
                                           strides=(1,), writeable=False)  # fmt: skip
    offsets = ys * row + xs * col
    return [flat[offsets + k * channel] for k in range(c)]


def surround(
    image: np.ndarray, around: np.ndarray, sigma: float, box: tuple[slice, slice], at: np.ndarray
) -> np.ndarray:
    """The ``image`` pixels at ``around`` ((h, w) bool) spread over the whole grid by normalised convolution with a
    Gaussian of ``sigma`` pixels, and where those are far, of ``4 * sigma``: (M, 3) uint8, its values at the ``at``
    pixels ((bh, bw) bool) of its ``box`` (slices of the grid), in raster order."""
    ys, xs = coords_of(around)
    f = max(1, int(sigma))  # the fields are smooth: cells of about sigma, blurred, then resized
    h, w = around.shape
    sw, sh = -(-w // f), -(-h // f)
    cell = (ys // f) * sw + xs // f
    ws = np.bincount(cell, minlength=sh * sw).astype(np.float32).reshape(sh, sw)
    vs = np.stack([np.bincount(cell, weights=plane, minlength=sh * sw) for plane in _planes_at(image, ys, xs)], axis=-1)
    vs = vs.astype(np.float32).reshape(sh, sw, 3)
    near_w = cv2.GaussianBlur(ws, (0, 0), sigma / f, borderType=cv2.BORDER_CONSTANT)
    near_v = cv2.GaussianBlur(vs, (0, 0), sigma / f, borderType=cv2.BORDER_CONSTANT)
    far_w = cv2.GaussianBlur(ws, (0, 0), 4 * sigma / f, borderType=cv2.BORDER_CONSTANT)
    far_v = cv2.GaussianBlur(vs, (0, 0), 4 * sigma / f, borderType=cv2.BORDER_CONSTANT)
    # The far field counts a little everywhere: it decides only where the near one has (almost) nothing.
    k = np.float32(1e-3)
    field = (near_v + k * far_v) / np.maximum(near_w + k * far_w, 1e-12)[..., None]
    # Read at the ``at`` pixels only, as the field resized to the grid's size would have them there (the gaps beside
    # the face are a few thousand pixels of a box of hundreds of thousands).
    at_ys, at_xs = coords_of(at)
    # (one OpenCV remap at those pixels' positions in the grid of cells, edge cells held: its bilinear weights are in
    # 1/32 steps, which on this smooth field moves a value by a fraction of a level at most)
    map_x = ((at_xs + (box[1].start + 0.5)) * (sw / w) - 0.5).astype(np.float32)
    map_y = ((at_ys + (box[0].start + 0.5)) * (sh / h) - 0.5).astype(np.float32)
    values = cv2.remap(field, map_x[None], map_y[None], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)[0]
    values += np.float32(0.5)
    return np.clip(values, 0, 255, out=values).astype(np.uint8)


def in_front(hole: np.ndarray, radius: float, thin: float) -> np.ndarray | None:
    """(h, w) bool: the pixels outside ``hole`` ((h, w) bool) that a closing of its body by a disk of ``radius`` px
    fills: its notches and holes, where a finger or a hand lies over the mask. The body is the hole opened by a disk of
    ``thin`` px first (its ear loops, which cross the background beside the face, close no notch), and so are the
    notches (the pockets along a jagged outline are no finger). Worked on the hole shrunk so that the closing's radius
    is about :data:`_FRONT_WORK_RADIUS_PX` (a notch is as wide as a finger: finer detail is none), a cell that is
    mostly hole counting as hole. None: none, or a radius under 2 px."""
    if radius < 2.0 or not hole.any():
        return None
    h, w = hole.shape
    c = max(int(round(radius / _FRONT_WORK_RADIUS_PX)), 1)
    body = np.ascontiguousarray(hole).view(np.uint8)
    if c > 1:
        # (area means of 0 / 1: at least half of a cell's pixels hole, as uint8 rounds them)
        body = (shrunk(body, c) >= 1).view(np.uint8)
    r = max(int(round(radius / c)), 1)
    k = int(round(thin / c)) | 1
    if k >= 3:
        body = disk_morph(body, cv2.MORPH_OPEN, k)
    front = closing_fills(body, r)
    if k >= 3 and front.any():
        # (a finger is wider than that too: the pockets along a jagged outline are not)
        front = disk_morph(front, cv2.MORPH_OPEN, k)
    if not front.any():
        return None
    if c > 1:
        front = cv2.resize(front, (front.shape[1] * c, front.shape[0] * c), interpolation=cv2.INTER_NEAREST)[:h, :w]
    out = (front > 0) & ~hole
    return out if out.any() else None


def skin_coloured(front: np.ndarray, image: np.ndarray, skin: np.ndarray, tolerance: float) -> np.ndarray | None:
    """(h, w) bool: the pieces (8-connected) of ``front`` ((h, w) bool, :func:`in_front`) whose median colour in the
    (h, w, 3) RGB uint8 ``image`` lies within ``tolerance`` (8-bit Lab a, b) of the ``skin``'s (pixels of the rebuilt
    skin, (n, 3) uint8 RGB, their median): a finger or a hand, not the pale lining of a hood or a collar that the
    mask's outline takes in round a pocket of the wall. None: none."""
    if len(skin) == 0:
        return None
    skin_ab = np.median(cv2.cvtColor(np.ascontiguousarray(skin)[None], cv2.COLOR_RGB2Lab)[0, :, 1:], axis=0)
    count, labels = cv2.connectedComponents(front.view(np.uint8), connectivity=8)
    keep = np.zeros(count, bool)
    for i in range(1, count):
        ys, xs = np.nonzero(labels == i)
        ab = cv2.cvtColor(pixels_at(image, ys, xs)[None], cv2.COLOR_RGB2Lab)[0, :, 1:].astype(np.float32)
        keep[i] = float(np.hypot(*(np.median(ab, axis=0) - skin_ab))) <= tolerance
    return keep[labels] if keep.any() else None


def nearest_colour(
    image: np.ndarray, around: np.ndarray, sigma: float, box: tuple[slice, slice], at: np.ndarray, reach: int,
    front: np.ndarray | None = None,
) -> np.ndarray:
    """The colour of the ``image`` pixel at ``around`` ((h, w) bool) nearest each pixel, smoothed by a Gaussian of
    ``sigma`` pixels: (M, 3) uint8, its values at the ``at`` pixels ((bh, bw) bool) of its ``box`` (slices of the
    grid), in raster order. Past a mask's edge that shows a collar, a hood and a wall, each part goes on as itself.
    ``reach``: how far from the ``at`` pixels their nearest ``around`` pixels are looked for (each side of the face
    on its own: the face between them is never read). ``front``: (h, w) bool, pixels in front of the mask
    (:func:`in_front`): the ``around`` pixels past them are read, where a side holds any; None: all of them."""
    # (only the box and what lies within reach of it: the region's arrays are far larger)
    margin = reach + int(np.ceil(3 * sigma))
    (h, w), (rows, cols) = around.shape, box
    r0, c0 = max(rows.start - margin, 0), max(cols.start - margin, 0)
    near = (slice(r0, min(rows.stop + margin, h)), slice(c0, min(cols.stop + margin, w)))
    want = np.zeros(around[near].shape, bool)
    want[rows.start - r0:rows.stop - r0, cols.start - c0:cols.stop - c0] = at
    field = np.zeros((want.size, 3), np.float32)  # (the (h, w, 3) field's pixels, by flat index)
    # (OpenCV's float Gaussian: round(8 sigma + 1) taps, odd; a pixel reads its radius each way)
    radius = (int(round(sigma * 8 + 1)) | 1) // 2
    for piece in pieces(want, margin):
        ring = around[near][piece]
        if front is not None:
            behind = ring & ~front[near][piece]
            ring = behind if behind.any() else ring
        if not ring.any():
            continue
        # (one label per ``ring`` pixel, numbered from 1 in raster order)
        _, labels = cv2.distanceTransformWithLabels((~ring).astype(np.uint8), cv2.DIST_L2, 5,
                                                    labelType=cv2.DIST_LABEL_PIXEL)  # fmt: skip
        ys, xs = np.nonzero(want[piece])
        # (the colours and their blur on the box of the pixels read and the kernel's reach around it only: the same
        # values there as over the piece, whose edges are kept where the box meets them)
        (ph, pw), top, left = ring.shape, max(int(ys.min()) - radius, 0), max(int(xs.min()) - radius, 0)
        crop = (slice(top, min(int(ys.max()) + 1 + radius, ph)), slice(left, min(int(xs.max()) + 1 + radius, pw)))
        colours = _by_label(image[near][piece][ring], labels[crop])
        blurred = cv2.GaussianBlur(colours, (0, 0), sigma)
        at_piece = (ys + piece[0].start) * want.shape[1] + (xs + piece[1].start)
        field[at_piece] = pixels_at(blurred, ys, xs, (-left, -top))
    values = np.take(field, np.flatnonzero(want), axis=0)
    values += np.float32(0.5)
    return np.clip(values, 0, 255, out=values).astype(np.uint8)


def _by_label(colours: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(h, w, 3) float32: at each pixel the colour of its label (``labels``: (h, w) int32 from 1; ``colours``: (n, 3)
    uint8, label 1 first). Each colour is packed into one 32-bit word and gathered once: about a quarter of the time
    of indexing the colours by row and column."""
    packed = np.zeros((len(colours) + 1, 4), np.uint8)
    packed[1:, :3] = colours
    gathered = np.take(packed.view(np.uint32).ravel(), labels)
    return cv2.cvtColor(gathered.view(np.uint8).reshape(*labels.shape, 4), cv2.COLOR_RGBA2RGB).astype(np.float32)
