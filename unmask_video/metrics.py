"""Image quality and temporal metrics, with explicit value ranges (uint8 images: peak 255).

Used by the demo, the tests, the quality benchmark and the trainer's evaluation, so that every number the
project reports is computed the same way.
"""

from __future__ import annotations

import numpy as np
from skimage.metrics import structural_similarity

Region = np.ndarray  # (H, W) bool or float mask: where the metric is computed


def _region(mask: Region) -> np.ndarray:
    return np.asarray(mask) > 0.5


def mae_in_mask(a: np.ndarray, b: np.ndarray, mask: Region) -> float:
    """Mean absolute error in [0, 1] units over the masked pixels (all channels)."""
    region = _region(mask)
    diff = np.abs(a.astype(np.float64) - b.astype(np.float64))[region]
    return float(diff.mean() / 255.0) if diff.size else 0.0


def _psnr(diff: np.ndarray, peak: float) -> float:
    if diff.size == 0:
        return float("nan")
    mse = float(np.mean(diff**2))
    return float("inf") if mse == 0 else float(10.0 * np.log10(peak**2 / mse))


def psnr(a: np.ndarray, b: np.ndarray, peak: float = 255.0) -> float:
    """PSNR in dB of two arrays of the same range; ``peak`` is the range's width (uint8: 255, [-1, 1]: 2)."""
    return _psnr(a.astype(np.float64) - b.astype(np.float64), peak)


def psnr_in_mask(a: np.ndarray, b: np.ndarray, mask: Region, peak: float = 255.0) -> float:
    """PSNR in dB over the masked pixels of two images of the same range (uint8: peak 255)."""
    return _psnr((a.astype(np.float64) - b.astype(np.float64))[_region(mask)], peak)


def ssim_in_mask(a: np.ndarray, b: np.ndarray, mask: Region) -> float:
    """Mean SSIM (uint8 range, 7x7 windows, per channel) over the masked pixels."""
    _, full = structural_similarity(a, b, channel_axis=-1, data_range=255, full=True)
    region = _region(mask)
    return float(full.mean(axis=-1)[region].mean()) if region.any() else float("nan")


def iou(a: Region, b: Region) -> float:
    """Intersection over union of two masks (thresholded at 0.5)."""
    ra, rb = _region(a), _region(b)
    union = np.logical_or(ra, rb).sum()
    return float(np.logical_and(ra, rb).sum() / union) if union else 1.0


def temporal_error(
    out_prev: np.ndarray, out_cur: np.ndarray, truth_prev: np.ndarray, truth_cur: np.ndarray, mask: Region
) -> float:
    """One frame pair's term of TDE: mean |(out_t - out_t-1) - (truth_t - truth_t-1)| over the mask, in [0, 255].

    It isolates flicker: motion present in the truth is not counted, only change the output adds or misses.
    """
    region = _region(mask)
    if not region.any():
        return 0.0
    d_out = out_cur.astype(np.float64) - out_prev.astype(np.float64)
    d_truth = truth_cur.astype(np.float64) - truth_prev.astype(np.float64)
    return float(np.abs(d_out - d_truth)[region].mean())
