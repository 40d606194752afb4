"""The mask's outline settled at the ROI's own resolution: the pixels just outside it that are partly mask join it.

The segmenter decides the mask at a working size and its boundary on the sharpest step of the colour (the snap),
which on a blurred or anti-aliased edge lies where the pixel is about half cloth. The pixels beyond it that are still a
fifth cloth or more are a pale (or dark) line along the outline once the rest is rebuilt: the "mask remnant" at the nose
bridge and the cheeks. :func:`edge_model` takes, at the working size, the local mean colours of the cloth just inside
the outline (m) and of what lies a few pixels beyond it (o), and the spread of the latter along the axis from o to m;
:func:`settle_edge` then takes, at the ROI's resolution, each pixel touching the mask's outline whose colour lies at
least ``towards`` of the way from o to m, by at least ``floor`` Lab units and ``noise`` x that spread (a noisy skin,
hair or a textured background beside the mask is no edge), one pixel deep.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from unmask_video.blend import mask_bbox

__all__ = ["EdgeModel", "edge_model", "settle_edge"]

_ALL = np.ones((3, 3), np.uint8)


@dataclass
class EdgeModel:
    """The local colours around the working-size mask's outline (Lab, OpenCV's uint8 scale), on the working pixels of
    ``box`` (rows, columns slices): ``beyond`` (o), ``axis`` (the unit vector from o to m), ``contrast`` (|m - o|),
    ``spread`` (the spread of the colours beyond along ``axis``); ``valid`` where both means had samples."""

    box: tuple[slice, slice]
    beyond: np.ndarray
    axis: np.ndarray
    contrast: np.ndarray
    spread: np.ndarray
    valid: np.ndarray


def edge_model(lab: np.ndarray, mask: np.ndarray, inner: tuple[int, int] = (2, 4), outer: tuple[int, int] = (3, 5),
               radius: int = 4) -> EdgeModel | None:
    """The :class:`EdgeModel` of ``mask`` (uint8 {0, 1}, working size) in ``lab`` (uint8 Lab, same size): the cloth's
    mean over the mask's pixels ``inner`` (first, last) rings deep (the edge's own mixed pixels left out), what lies
    beyond over the ``outer`` rings out, both within ``radius`` working pixels. None for an empty mask."""
    box = mask_bbox(mask > 0, outer[1] + radius + 1, mask.shape)
    if box is None:
        return None
    m8 = mask[box]
    sub = lab[box].astype(np.float32)
    grown, shrunk = cv2.dilate(m8, _ALL, iterations=outer[1]), cv2.erode(m8, _ALL, iterations=inner[0] - 1)
    far = (grown > 0) & (cv2.dilate(m8, _ALL, iterations=outer[0] - 1) == 0)
    deep = (shrunk > 0) & (cv2.erode(shrunk, _ALL, iterations=inner[1] - inner[0] + 1) == 0)
    k = (2 * radius + 1, 2 * radius + 1)

    def local_sum(image: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(image, cv2.CV_32F, k, normalize=False, borderType=cv2.BORDER_CONSTANT)

    far_f, deep_f = far.astype(np.float32), deep.astype(np.float32)
    n_o, n_m = local_sum(far_f), local_sum(deep_f)
    o = local_sum(sub * far_f[..., None]) / np.maximum(n_o, 1.0)[..., None]
    m = local_sum(sub * deep_f[..., None]) / np.maximum(n_m, 1.0)[..., None]
    mo = m - o
    contrast = np.sqrt((mo * mo).sum(axis=2))
    axis = mo / np.maximum(contrast, 1e-3)[..., None]
    # (the spread along the axis: E[(x . u)^2] - (o . u)^2, u varying slowly enough to be taken per pixel)
    second = np.zeros(m8.shape, np.float32)
    for i in range(3):
        for j in range(i, 3):
            moment = local_sum(sub[..., i] * sub[..., j] * far_f) / np.maximum(n_o, 1.0)
            second += (1.0 if i == j else 2.0) * axis[..., i] * axis[..., j] * moment
    spread = np.sqrt(np.maximum(second - (o * axis).sum(axis=2) ** 2, 0.0))
    return EdgeModel(box, o, axis, contrast, spread, (n_o > 0.5) & (n_m > 0.5))


def settle_edge(
    image: np.ndarray,
    hard: np.ndarray,
    model: EdgeModel,
    to_work: tuple[float, float, float, float],
    towards: float = 0.2,
    floor: float = 12.0,
    noise: float = 2.0,
    contrast: float = 10.0,
) -> np.ndarray:
    """``hard`` (uint8 {0, 255}, ROI pixels) with the pixels touching its outline (8-connected) that are partly mask
    set to 255. ``image``: the ROI's uint8 RGB pixels under ``hard`` (same shape); ``to_work`` (ax, bx, ay, by): ROI pixel x of
    ``hard`` lies at working pixel ax x + bx (and y likewise) of the model's mask. A pixel joins when its colour's
    projection on the axis from o to m is at least ``towards`` x |m - o|, ``floor`` and ``noise`` x the spread there,
    and |m - o| is at least ``contrast`` (a mask of the skin's colour has no edge to read)."""
    ring = cv2.subtract(cv2.dilate(hard, _ALL), hard)
    ys, xs = np.nonzero(ring)
    if len(ys) == 0:
        return hard
    ax, bx, ay, by = to_work
    rows, cols = model.box
    wy = np.rint(ys * ay + by).astype(np.int64) - rows.start
    wx = np.rint(xs * ax + bx).astype(np.int64) - cols.start
    h, w = model.valid.shape
    inside = (wy >= 0) & (wy < h) & (wx >= 0) & (wx < w)
    ys, xs, wy, wx = ys[inside], xs[inside], wy[inside], wx[inside]
    keep = model.valid[wy, wx] & (model.contrast[wy, wx] >= contrast)
    ys, xs, wy, wx = ys[keep], xs[keep], wy[keep], wx[keep]
    if len(ys) == 0:
        return hard
    # (the pixel's own colour: a blur would mix the cloth inside into every pixel beside a sharp edge, and a ring of
    # skin would join)
    lab = cv2.cvtColor(image[ys, xs][:, None, :], cv2.COLOR_RGB2LAB)[:, 0, :].astype(np.float32)
    along = ((lab - model.beyond[wy, wx]) * model.axis[wy, wx]).sum(axis=1)
    join = (along >= towards * model.contrast[wy, wx]) & (along >= floor) & (along >= noise * model.spread[wy, wx])
    out = hard.copy()
    out[ys[join], xs[join]] = 255
    return out
