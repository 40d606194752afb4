"""The working-size mask written into the ROI: scaled up, its outline's partly-mask pixels settled, feathered."""

from __future__ import annotations

import cv2
import numpy as np

from unmask_video.mask_edge import EdgeModel, settle_edge

__all__ = ["paste", "to_float"]


def _inward(soft: np.ndarray) -> np.ndarray:
    """The feathered uint8 mask ``soft`` cut to 0 below 128 (0.5): its outer half dropped, so nothing reaches past its
    0.5 line (the mask's edge, as every ``mask >= 0.5`` reads it) and the values on it rise from 0.5 inwards."""
    return cv2.threshold(soft, 127, 255, cv2.THRESH_TOZERO)[1]


def to_float(up: np.ndarray, out: np.ndarray) -> None:
    """``out`` (float32) = the uint8 ``up`` / 255, as the ROI mask holds it."""
    np.multiply(up, np.float32(1.0 / 255.0), out=out, casting="unsafe")


def paste(
    out: np.ndarray,
    binary: np.ndarray,
    origin: tuple[int, int],
    full_shape: tuple[int, int],
    scale: tuple[float, float],
    feather_px: float,
    feather_inward: bool,
    image: np.ndarray | None = None,
    edge: EdgeModel | None = None,
) -> tuple[np.ndarray, tuple[int, int]] | None:
    """Write the working-size {0, 1} mask ``binary`` into the ROI mask ``out`` (zeros), its window's top-left corner
    at ``origin`` (x, y), the window ``full_shape`` (h, w) ROI pixels, ``scale`` (sx, sy) working / ROI pixels:
    scaled up bilinearly and cut at 0.5 (the edge lies between the working pixels, not on their blocks), then the
    soft edge (a Gaussian blur of ``feather_px``, its values under 0.5 cut to 0 with ``feather_inward``); before the
    blur, with ``edge`` (the working mask's :class:`~unmask_video.mask_edge.EdgeModel`) and ``image`` (the ROI),
    the outline's partly-mask pixels join it at the ROI's resolution (:func:`~unmask_video.mask_edge.settle_edge`).
    Only in the box of the mask (with the interpolation's and the blur's reach around it), all in uint8: the
    feathered values are multiples of 1 / 255.
    Returns that box in uint8 (255 x its values) and its top-left corner (x, y) in the window; None: nothing written."""
    hard = (binary >= 0.5).astype(np.uint8)
    # (the mask's first and last rows and columns, by OpenCV's bounding rectangle: NumPy's any along each axis costs
    # several times more)
    c0, r0, bw, bh = cv2.boundingRect(hard)
    if bw == 0:
        return None
    c1, r1 = c0 + bw - 1, r0 + bh - 1
    sx, sy = scale
    sigma = feather_px
    pad = (int(np.ceil(3 * sigma)) + 1 if sigma > 0 else 0) + 2
    fh, fw = full_shape
    # (working pixel x lies at ROI x (x + 0.5) / sx - 0.5: one more working pixel on either side for the
    # interpolation's ramp)
    bx0 = max(int(np.floor((c0 - 1) / sx)) - pad, 0)
    by0 = max(int(np.floor((r0 - 1) / sy)) - pad, 0)
    bx1 = min(int(np.ceil((c1 + 2) / sx)) + pad, fw)
    by1 = min(int(np.ceil((r1 + 2) / sy)) + pad, fh)
    if bx1 <= bx0 or by1 <= by0:
        return None
    hard *= np.uint8(255)
    if sx == 1.0 and sy == 1.0:
        up = hard[by0:by1, bx0:bx1]
    else:
        # (the whole window scaled up: cv2.resize is several times faster than a warp of the box alone)
        up = cv2.resize(hard, (fw, fh), interpolation=cv2.INTER_LINEAR)[by0:by1, bx0:bx1]
        up = cv2.threshold(up, 127, 255, cv2.THRESH_BINARY)[1]  # (>= 128: the float's >= 0.5)
    x0, y0 = origin
    if edge is not None and image is not None:
        up = settle_edge(
            image[y0 + by0 : y0 + by1, x0 + bx0 : x0 + bx1], up, edge,
            (sx, (bx0 + 0.5) * sx - 0.5, sy, (by0 + 0.5) * sy - 0.5),
        )
    if sigma > 0:
        soft = cv2.GaussianBlur(up, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
        up = _inward(soft) if feather_inward else soft
    to_float(up, out[y0 + by0 : y0 + by1, x0 + bx0 : x0 + bx1])
    return up, (bx0, by0)
