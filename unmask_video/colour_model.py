"""The segmenter's per-face colour model: P(mask | colour) as a table over Lab bins (:class:`ColourModel`), the
chroma divided by the lightness so that a shaded colour keeps its bins (:func:`shading_free_chroma`, and its tables),
and the mean of that chroma over labelled pixels (:func:`mean_free_chroma`, :func:`cloth_free_chroma`)."""

from __future__ import annotations

import cv2
import numpy as np

from unmask_video.mask_pixels import pixels_of

_L_BINS, _AB_BINS = 8, 32


def shading_free_chroma(light: np.ndarray, chroma: np.ndarray) -> np.ndarray:
    """A chroma channel (Lab a or b less 128, on OpenCV's uint8 scale) divided by the lightness (OpenCV's uint8 L,
    as L + 16, not below 50: see :func:`_bins`), times 128: a shaded colour keeps it. Broadcasts."""
    return chroma * (128.0 / np.maximum(light * (100.0 / 255.0) + 16.0, 50.0))


def _shading_free_lut() -> np.ndarray:
    """(256, 256) uint8: the bin of a chroma channel (uint8 Lab a or b) divided by the lightness (uint8 L)."""
    light = np.arange(256, dtype=np.float32)[:, None]
    chroma = np.arange(256, dtype=np.float32)[None, :] - 128.0
    value = np.clip(shading_free_chroma(light, chroma) + 128.0, 0, 255).astype(np.int32)
    return (value * _AB_BINS >> 8).astype(np.uint8)


_FREE_LUT = _shading_free_lut()


#: (65536,) float32: :func:`shading_free_chroma` of float32 (L, chroma - 128) at (L << 8) | chroma, uint8 L and chroma.
_FREE_CHROMA = shading_free_chroma(
    np.repeat(np.arange(256, dtype=np.float32), 256), np.tile(np.arange(256, dtype=np.float32), 256) - 128.0
).astype(np.float32)


def free_chroma_of(pixels: np.ndarray) -> np.ndarray:
    """(n, 2) float32: :func:`shading_free_chroma` of uint8 Lab ``pixels`` ((n, 3)) as float32 (L, chroma - 128), by
    :data:`_FREE_CHROMA` (the same float32 operations, done once per value)."""
    light = pixels[:, :1].astype(np.intp) << 8
    return _FREE_CHROMA[light | pixels[:, 1:]]


def _bin_tables(shading_free: bool) -> tuple[np.ndarray, np.ndarray]:
    """Two int32 tables over (L << 8) | chroma: the first gives (L bin x 32 + a bin) x 32 from (L, a), the second
    the b bin from (L, b); their sum is :func:`_bins`'s index (two look-ups per pixel)."""
    light, chroma = np.meshgrid(np.arange(256), np.arange(256), indexing="ij")
    l_bin = light * _L_BINS >> 8
    ab_bin = _FREE_LUT[light, chroma].astype(np.int64) if shading_free else chroma * _AB_BINS >> 8
    return ((l_bin * _AB_BINS + ab_bin) * _AB_BINS).ravel().astype(np.int32), ab_bin.ravel().astype(np.int32)


_BIN_TABLES = {free: _bin_tables(free) for free in (True, False)}


def _bins(lab: np.ndarray, shading_free: bool = True) -> np.ndarray:
    """Histogram bin index of every pixel of a uint8 Lab image, int32.

    ``shading_free``: the chroma (a, b) is divided by the lightness (L + 16, as Lab computes both from cube
    roots, a colour shaded by a factor keeps a / (L + 16) and b / (L + 16)): the shaded side and the folds of a
    mask fall in the bins of its lit part, while skin (warm) and cloth (neutral or cool) stay apart. Not below
    L = 34: dark cloth, hair and shadow have little chroma to normalise, and their noise would grow.
    """
    la, lb = _BIN_TABLES[shading_free]
    high = lab[..., 0].astype(np.uint16) << 8
    # (np.take: NumPy's fancy index of a 1-D table by a 2-D index array takes a slower path, about 1.3x)
    return np.take(la, high | lab[..., 1]) + np.take(lb, high | lab[..., 2])


def _density(bins: np.ndarray, l_sigma: float = 0.8) -> np.ndarray:
    hist = np.bincount(bins.ravel(), minlength=_L_BINS * _AB_BINS * _AB_BINS).astype(np.float32)
    hist = hist.reshape(_L_BINS, _AB_BINS, _AB_BINS)
    # Smooth across neighbouring colours (lighting shifts a colour by a bin or two), more in lightness.
    hist = cv2.GaussianBlur(hist.reshape(_L_BINS, -1), (0, 0), sigmaX=0.01, sigmaY=l_sigma).reshape(hist.shape)
    for i in range(_L_BINS):
        hist[i] = cv2.GaussianBlur(hist[i], (0, 0), 1.0)
    return hist.ravel() / max(float(hist.sum()), 1.0)


class ColourModel:
    """P(mask | colour) as a table over Lab bins, from mask and not-mask pixel samples (uint8 Lab, (n, 3))."""

    def __init__(
        self, mask_lab: np.ndarray, other_lab: np.ndarray, prior: float = 0.5, shading_free: bool = True
    ) -> None:
        self.shading_free = shading_free
        # Shading-free chroma: lightness says little (the mask's shaded side), so it is smoothed more.
        l_sigma = 3.0 if shading_free else 0.8
        fg = _density(_bins(mask_lab, shading_free), l_sigma)
        bg = _density(_bins(other_lab, shading_free), l_sigma)
        floor = 1e-6
        # Colours neither sample has seen lean to "not mask" (0.3): a finger or a microphone in front of the mask.
        self.table = (prior * fg + floor) / (prior * fg + (1.0 - prior) * bg + floor / 0.3)
        self.table = self.table.astype(np.float32)

    def probability(self, lab: np.ndarray) -> np.ndarray:
        """P(mask) of every pixel of a uint8 Lab image, float32 of its (h, w)."""
        return np.take(self.table, _bins(lab, self.shading_free))


def mean_free_chroma(lab: np.ndarray, labels: np.ndarray, count: int) -> np.ndarray:
    """(count, 2) float64: the mean :func:`shading_free_chroma` (a, b) of ``lab`` (OpenCV's uint8 Lab) over the
    pixels of each label 1 .. count - 1 of ``labels`` (an int map of ``lab``'s shape, 0: none; row 0 is zero, and so
    is the row of a label without pixels)."""
    where = labels > 0
    ids = labels[where]
    free = free_chroma_of(pixels_of(lab, where))
    counts = np.maximum(np.bincount(ids, minlength=count), 1)
    sums = np.stack([np.bincount(ids, weights=free[:, i], minlength=count) for i in range(2)], axis=1)
    return sums / counts[:, None]


#: :data:`_FREE_CHROMA` as float64 (its sums over a histogram, :func:`cloth_free_chroma`).
_FREE_CHROMA64 = _FREE_CHROMA.astype(np.float64)


def cloth_free_chroma(lab: np.ndarray, where: np.ndarray) -> np.ndarray:
    """(2,) float64: :func:`mean_free_chroma` of ``lab`` over one label, the pixels of ``where`` (uint8 or bool of
    ``lab``'s shape; zero when it has none), bit for bit: from the histograms of (L, a) and (L, b) over ``where``
    (``cv2.calcHist``) against :data:`_FREE_CHROMA`, about 3x faster than listing the pixels. Exact in any order: every
    value of the table is 0 or at least 1.1 in size (a float32 multiple of 2^-23), at most 328, so float64 holds every
    sum of up to 3 million of them exactly, in whatever order (and a count times a value too)."""
    m = where.view(np.uint8) if where.dtype == np.bool_ else where
    count = max(cv2.countNonZero(m), 1)
    sums = [
        float(cv2.calcHist([lab], [0, channel], m, [256, 256], [0, 256, 0, 256]).ravel().astype(np.float64)
              @ _FREE_CHROMA64)
        for channel in (1, 2)
    ]
    return np.array(sums) / count

