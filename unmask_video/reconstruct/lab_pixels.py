"""Pixel plumbing of the reference composite's colour work.

Lab conversion of pixel lists and images (float32 Lab, L in [0, 100]), a map's pixels listed as (rows, columns),
pixels held as contiguous channel rows ((C, N)) and back, and masked copies into an image or a box of one.
"""

from __future__ import annotations

import cv2
import numpy as np

from unmask_video.reconstruct.fill_seam import rows_cols


def to_lab(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) uint8 RGB pixels (a pixel list or an image) -> float32 Lab of the same shape (L in [0, 100])."""
    # One row, not one column: OpenCV converts row by row, and a column of N one-pixel rows is far slower.
    px = rgb.reshape(1, -1, 3).astype(np.float32) * np.float32(1.0 / 255.0)
    return cv2.cvtColor(px, cv2.COLOR_RGB2Lab).reshape(rgb.shape)


def from_lab(lab: np.ndarray) -> np.ndarray:
    """(..., 3) float32 Lab -> uint8 RGB of the same shape."""
    rgb = cv2.cvtColor(lab.reshape(1, -1, 3).astype(np.float32, copy=False), cv2.COLOR_Lab2RGB)
    rgb *= 255.0
    rgb += 0.5
    return np.clip(rgb, 0, 255, out=rgb).astype(np.uint8).reshape(lab.shape)


def paste_at(dst: np.ndarray, src: np.ndarray, where: np.ndarray) -> None:
    """``dst[where] = src[where]`` for (h, w, 3) images and an (h, w) bool map, in place (``dst`` may be a
    view). One OpenCV masked copy: numpy's ``copyto(..., where=)`` with a broadcast map is many times slower."""
    mask = where.view(np.uint8) if where.dtype == bool else where.astype(np.uint8)
    written(dst, cv2.copyTo(np.ascontiguousarray(src), mask, dst))


def written(dst: np.ndarray, result: np.ndarray) -> None:
    """Make sure ``dst`` holds ``result``, what an OpenCV call given ``dst`` as its output returned: OpenCV writes into
    a view of rows of whole pixels in place (a box of an image), but into a copy where it cannot."""
    if result.__array_interface__["data"][0] != dst.__array_interface__["data"][0]:
        dst[...] = result


def coords_of(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.nonzero`` of an (h, w) map (same order), listed through the flat index: several times faster."""
    return rows_cols(np.flatnonzero(mask), mask.shape[1])


def channel_rows(pixels: np.ndarray) -> np.ndarray:
    """(N, C) float32 pixels -> (C, N), each channel contiguous: per-channel statistics and arithmetic with a
    per-channel constant run over contiguous rows (on (N, 3) pixels numpy's inner loops are 3 long). OpenCV's
    transpose: numpy's copy of a transposed (N, 6) array takes twice as long."""
    return cv2.transpose(np.ascontiguousarray(pixels))


def interleaved(planes: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(3, h * w) channel rows -> an (h, w, 3) image, ``size`` (w, h) (one OpenCV merge: numpy's copy of the
    transposed rows takes about ten times as long)."""
    return cv2.merge([plane.reshape(size[1], size[0]) for plane in planes])
