"""Fast equivalents of NumPy and OpenCV idioms on the segmenter's working masks and images, the same values: whether a
mask has a pixel set (:func:`any_set`), the pixels of a mask or at coordinates (:func:`pixels_of`, :func:`pixels_at`),
a 2-D image's non-zero pixels (:func:`nonzero`), a k-tap median by selection networks (:func:`separable_median`), and
the reach of OpenCV's Gaussian kernel (:func:`gaussian_reach`)."""

from __future__ import annotations

import cv2
import numpy as np


#: Median selection networks (compare-exchange pairs; the median ends at the middle index) for 3, 5 and 7 values
#: (N. Devillard, "Fast median search", 1998); checked on every 0/1 input in the tests (the 0-1 principle).
MEDIAN_NETWORKS: dict[int, tuple[tuple[int, int], ...]] = {
    3: ((0, 1), (1, 2), (0, 1)),
    5: ((0, 1), (3, 4), (0, 3), (1, 4), (1, 2), (2, 3), (1, 2)),
    7: ((0, 5), (0, 3), (1, 6), (2, 4), (0, 1), (3, 5), (2, 6), (2, 3), (3, 6), (4, 5), (1, 4), (1, 3), (3, 4)),
}


def _median_of(views: list[np.ndarray]) -> np.ndarray:
    """The per-pixel median of the equally shaped uint8 ``views`` (3, 5 or 7 of them; any odd number, slower)."""
    network = MEDIAN_NETWORKS.get(len(views))
    if network is None:
        return np.median(np.stack(views), axis=0).astype(np.uint8)
    p = list(views)
    for a, b in network:
        p[a], p[b] = cv2.min(p[a], p[b]), cv2.max(p[a], p[b])
    return p[len(p) // 2]


def separable_median(image: np.ndarray, k: int) -> np.ndarray:
    """A k-tap median down the columns, then along the rows, of a uint8 (h, w) or (h, w, c) ``image`` (k odd; the
    border replicated, as cv2.medianBlur's): like a k x k median it takes out lines and dots under k / 2 pixels thick
    and keeps steps, by selection networks of whole-image min and max (cv2.medianBlur's histogram median is slow
    at k = 7 on a small image)."""
    r = k // 2
    if r == 0:
        return image.copy()
    h, w = image.shape[:2]
    c = image.shape[2] if image.ndim == 3 else 1
    tall = cv2.copyMakeBorder(image, r, r, 0, 0, cv2.BORDER_REPLICATE)
    down = _median_of([tall[j : j + h] for j in range(k)])
    wide = cv2.copyMakeBorder(down, 0, 0, r, r, cv2.BORDER_REPLICATE).reshape(h, (w + 2 * r) * c)
    return _median_of([wide[:, j * c : (j + w) * c] for j in range(k)]).reshape(image.shape)


def any_set(mask: np.ndarray) -> bool:
    """``bool(mask.any())``: for a 2-D uint8 or bool mask by ``cv2.hasNonZero``, several times faster (NumPy's ``any``
    reduces the whole array; the segmenter asks it of its working masks a dozen times a frame)."""
    if mask.ndim == 2 and mask.dtype in (np.uint8, np.bool_) and mask.size:
        return bool(cv2.hasNonZero(mask.view(np.uint8)))
    return bool(mask.any())


def pixels_of(image: np.ndarray, where: np.ndarray) -> np.ndarray:
    """``image[where]`` of an (h, w, c) ``image`` and an (h, w) bool ``where``: the same rows in the same order, by a
    take of the flat indices (NumPy's boolean index of a multi-channel image is about 5x slower)."""
    if image.ndim == 3 and image.flags.c_contiguous and where.dtype == np.bool_ and where.shape == image.shape[:2]:
        return np.take(image.reshape(-1, image.shape[2]), np.flatnonzero(where), axis=0)
    return image[where]


def pixels_at(image: np.ndarray, ys: np.ndarray, xs: np.ndarray, origin: tuple[int, int] = (0, 0)) -> np.ndarray:
    """``image[ys + origin[1], xs + origin[0]]`` of an (h, w, c) ``image`` (integer coordinates inside it): the same
    rows, by a take of the flat indices where ``image`` is C-contiguous (about 1.6x faster than the fancy index) or
    a box of a larger image (rows of whole pixels, :func:`pixel_rows`: 2000 pixels of a face region's view about 5x)."""
    rows = pixel_rows(image) if image.ndim == 3 else None
    if rows is not None:
        pixels, step = rows
        flat = (np.asarray(ys, np.intp) + origin[1]) * step + (np.asarray(xs, np.intp) + origin[0])
        return np.take(pixels, flat, axis=0)
    return image[np.asarray(ys) + origin[1], np.asarray(xs) + origin[0]]


def pixel_rows(image: np.ndarray) -> tuple[np.ndarray, int] | None:
    """An (h, w, c) ``image`` whose pixels are whole and evenly spaced rows apart (C-contiguous, or a box of a
    C-contiguous image) as one (n, c) array of pixels over the same memory and its row step in pixels: pixel (y, x)
    is row ``y * step + x`` (numpy's take of those rows reads the same pixels as a fancy index of the view, several
    times faster); None: another layout."""
    h, w, c = image.shape
    if image.flags.c_contiguous:
        return image.reshape(-1, c), w
    item = image.itemsize
    s0, s1, s2 = image.strides
    if h == 0 or w == 0 or s2 != item or s1 != c * item or s0 <= 0 or s0 % s1:
        return None
    step = s0 // s1
    # (every pixel from the box's first to its last lies in the larger image's buffer: the rows between are its own)
    pixels = np.lib.stride_tricks.as_strided(image, shape=((h - 1) * step + w, c), strides=(s1, s2), writeable=False)
    return pixels, step


def nonzero(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.nonzero`` of a 2-D ``image``, the same rows and columns in the same order: NumPy lists a 2-D array's (or
    any non-bool array's) non-zero pixels about ten times slower than a 1-D bool one's (its fast path)."""
    idx = np.flatnonzero(np.ravel(image) != 0)
    return np.divmod(idx, image.shape[1])


def gaussian_reach(sigma: float) -> int:
    """The radius of OpenCV's Gaussian kernel of ``sigma`` on a uint8 image (its size: round(6 sigma + 1), odd)."""
    return (int(round(sigma * 6 + 1)) | 1) // 2

