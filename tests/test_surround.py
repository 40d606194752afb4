"""The surround fill's nearest colour worked on the box it reads (reconstruct/surround.py)."""

from __future__ import annotations

import cv2
import numpy as np

from unmask_video.reconstruct.fill_seam import pieces
from unmask_video.reconstruct.surround import _by_label, nearest_colour


def _whole_piece_nearest_colour(
    image: np.ndarray, around: np.ndarray, sigma: float, box: tuple[slice, slice], at: np.ndarray, reach: int
) -> np.ndarray:
    """nearest_colour as it was: each piece's nearest colours and their Gaussian over the whole piece, read at the
    ``at`` pixels."""
    margin = reach + int(np.ceil(3 * sigma))
    (h, w), (rows, cols) = around.shape, box
    r0, c0 = max(rows.start - margin, 0), max(cols.start - margin, 0)
    near = (slice(r0, min(rows.stop + margin, h)), slice(c0, min(cols.stop + margin, w)))
    want = np.zeros(around[near].shape, bool)
    want[rows.start - r0 : rows.stop - r0, cols.start - c0 : cols.stop - c0] = at
    field = np.zeros((*want.shape, 3), np.float32)
    for piece in pieces(want, margin):
        ring = around[near][piece]
        if not ring.any():
            continue
        _, labels = cv2.distanceTransformWithLabels((~ring).astype(np.uint8), cv2.DIST_L2, 5,
                                                    labelType=cv2.DIST_LABEL_PIXEL)  # fmt: skip
        colours = _by_label(image[near][piece][ring], labels)
        ys, xs = np.nonzero(want[piece])
        field[piece][ys, xs] = cv2.GaussianBlur(colours, (0, 0), sigma)[ys, xs]
    values = field[want] + np.float32(0.5)
    return np.clip(values, 0, 255, out=values).astype(np.uint8)


def test_the_nearest_colour_on_the_box_it_reads_is_the_whole_pieces_bit_for_bit() -> None:
    rng = np.random.default_rng(11)
    for trial in range(30):
        h, w = (int(v) for v in rng.integers(60, 200, 2))
        image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        image = cv2.GaussianBlur(image, (0, 0), 2.0)  # (some smooth structure, some noise)
        around = rng.random((h, w)) < rng.uniform(0.01, 0.2)
        top, left = int(rng.integers(0, h // 3)), int(rng.integers(0, w // 3))
        bottom, right = int(rng.integers(2 * h // 3, h + 1)), int(rng.integers(2 * w // 3, w + 1))
        box = (slice(top, bottom), slice(left, right))
        at = np.zeros((bottom - top, right - left), bool)
        if trial % 2:  # (two gaps far apart: the jaw's two sides, two pieces)
            at[:, : max((right - left) // 6, 1)] = rng.random((bottom - top, max((right - left) // 6, 1))) < 0.5
            at[:, -max((right - left) // 6, 1) :] = True
        else:
            at[rng.random(at.shape) < 0.3] = True
        sigma, reach = float(rng.uniform(0.5, 5.0)), int(rng.integers(2, 20))
        got = nearest_colour(image, around, sigma, box, at, reach)
        assert np.array_equal(got, _whole_piece_nearest_colour(image, around, sigma, box, at, reach)), trial
