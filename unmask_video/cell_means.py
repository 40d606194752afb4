"""The means of 2 x 2 cells of an 8-bit image, as OpenCV's bilinear warp by a scale of 2 samples them.

:class:`~unmask_video.steady_face.SteadyFace` measures the past's weight on cells of 2 x 2 pixels: the frame's grey
region was sampled by ``cv2.warpAffine`` with the map cell -> pixel ``(2 (c0 + j) + 0.5, 2 (r0 + i) + 0.5)``, the
centre of each cell. OpenCV's 8-bit bilinear interpolation weighs the four pixels around a point with 15-bit fixed
point weights; at a half pixel each is a quarter (8192 of 32768), so a cell is ``(sum + 2) >> 2``: what its area
resize by the whole factor 2 gives (the same sum, rounded alike) for the pixels the cells cover, at a tenth of the
warp's time. Cells past the image's last row or column read it repeated, as the warp's replicated border does.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["cell_means"]


def cell_means(image: np.ndarray, first: tuple[int, int], cells: tuple[int, int]) -> np.ndarray:
    """(rows, cols) of 2 x 2 cells of the (h, w) uint8 ``image``, the first covering pixels ``2 * first`` (row, col)
    and the next; ``cells``: (cols, rows), as ``cv2.warpAffine``'s size. Bit for bit ``cv2.warpAffine(image,
    [[2, 0, 2 c0 + 0.5], [0, 2, 2 r0 + 0.5]], cells, INTER_LINEAR | WARP_INVERSE_MAP, BORDER_REPLICATE)``."""
    (r0, c0), (w, h) = first, cells
    y0, x0 = 2 * r0, 2 * c0
    part = image[y0 : y0 + 2 * h, x0 : x0 + 2 * w]
    short_rows, short_cols = 2 * h - part.shape[0], 2 * w - part.shape[1]
    if short_rows or short_cols:  # (the cells reach past the image: its last row or column repeated)
        part = cv2.copyMakeBorder(part, 0, short_rows, 0, short_cols, cv2.BORDER_REPLICATE)
    return cv2.resize(part, (w, h), interpolation=cv2.INTER_AREA)
