"""cell_means: the 2 x 2 cells' means, bit for bit what OpenCV's bilinear warp by a scale of 2 samples."""

import cv2
import numpy as np
from skimage import data

from unmask_video.cell_means import cell_means


def _warped(image: np.ndarray, first: tuple[int, int], cells: tuple[int, int]) -> np.ndarray:
    r0, c0 = first
    at = np.float64([[2, 0, 2 * c0 + 0.5], [0, 2, 2 * r0 + 0.5]])
    return cv2.warpAffine(image, at, cells, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)  # fmt: skip


def test_cell_means_are_the_bilinear_warps_cells_bit_for_bit() -> None:
    grey = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2GRAY)
    rng = np.random.default_rng(3)
    noise = rng.integers(0, 256, grey.shape, dtype=np.uint8)  # (every sum's rounding, not only a photo's)
    for image in (grey, noise):
        for _ in range(60):
            h, w = (int(v) for v in rng.integers(9, 200, 2))
            top, left = (int(v) for v in rng.integers(0, 300, 2))
            part = np.ascontiguousarray(image[top : top + h, left : left + w])
            y0, x0 = (int(v) for v in rng.integers(0, (h - 2, w - 2)))
            y1, x1 = int(rng.integers(y0 + 1, h + 1)), int(rng.integers(x0 + 1, w + 1))
            first = (y0 // 2, x0 // 2)
            cells = (-(-x1 // 2) - first[1], -(-y1 // 2) - first[0])  # (steady_face's cells of a region)
            assert np.array_equal(cell_means(part, first, cells), _warped(part, first, cells))


def test_cell_means_past_the_edge_repeat_the_last_row_and_column() -> None:
    image = np.arange(35, dtype=np.uint8).reshape(5, 7) * 7  # (odd sides: the last cells reach one pixel past)
    out = cell_means(image, (1, 2), (2, 2))
    assert out.shape == (2, 2)
    assert out[1, 1] == (int(image[4, 6]) * 4 + 2) >> 2  # (the corner pixel repeated into its cell)
    assert np.array_equal(out, _warped(image, (1, 2), (2, 2)))
    # (a view of a larger image, its rows strided: the same cells)
    big = np.zeros((20, 30), np.uint8)
    big[3:8, 4:11] = image
    assert np.array_equal(cell_means(big[3:8, 4:11], (1, 2), (2, 2)), out)
