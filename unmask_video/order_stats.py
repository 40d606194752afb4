"""Medians and percentiles along the last axis by one ``np.partition``: the values of ``np.median`` and
``np.percentile``, without numpy's generic reduction around them (its checks, copies and NaN handling cost more than
the partition itself on the few thousand pixels the per-frame statistics read)."""

from __future__ import annotations

import numpy as np

__all__ = ["byte_median", "median", "percentile"]


def median(values: np.ndarray) -> np.ndarray:
    """``np.median(values, axis=-1)`` (last axis not empty), the same values: of a float array in its own dtype, of an
    integer (or bool) array in float64, as numpy's (the mean of an even count's two middle values: not their sum in
    the integer dtype, which wraps, times a 0.5 that the integer dtype makes 0). Statistics over rows of an (n, d)
    array: pass ``np.ascontiguousarray(values.T)`` (a partition along a strided axis is slow)."""
    n = values.shape[-1]
    half = n // 2
    if n % 2:
        middle = np.partition(values, half, axis=-1)[..., half]
        return middle if _is_float(values) else middle.astype(np.float64)
    part = np.partition(values, (half - 1, half), axis=-1)
    below, above = part[..., half - 1], part[..., half]
    if not _is_float(values):
        below, above = below.astype(np.float64), above.astype(np.float64)
    return (below + above) * below.dtype.type(0.5)


def _is_float(values: np.ndarray) -> bool:
    """Whether ``values`` hold floats (their median is in their own dtype; any other's in float64)."""
    return bool(np.issubdtype(values.dtype, np.inexact))


def percentile(values: np.ndarray, q: float) -> np.ndarray:
    """``np.percentile(values, q, axis=-1)`` (linear interpolation) of a float32 array, the same float64 values, as
    :func:`median` is to ``np.median``."""
    n = values.shape[-1]
    at = (n - 1) * (q / 100.0)
    lo = int(np.floor(at))
    hi = min(lo + 1, n - 1)
    gamma = at - lo
    part = np.partition(values, (lo, hi) if hi > lo else lo, axis=-1)
    below, above = part[..., lo], part[..., hi]
    step = np.subtract(above, below).astype(np.float64)
    # (numpy's interpolation: from the nearer of the two neighbours)
    if gamma >= 0.5:
        return above.astype(np.float64) - step * (1.0 - gamma)
    return below.astype(np.float64) + step * gamma


def byte_median(values: np.ndarray) -> np.ndarray:
    """(d,) float64: ``np.median(values, axis=0)`` of (n, d) uint8 ``values`` (n > 0), read off each column's
    histogram: on the tens of thousands of pixels a search samples several times faster than a partition."""
    n = len(values)
    ranks = [(n - 1) // 2, n // 2]  # (the middle one, or the two middle ones: their mean)
    out = np.empty(values.shape[1], np.float64)
    for c, column in enumerate(np.ascontiguousarray(values.T)):
        low, high = np.searchsorted(np.cumsum(np.bincount(column, minlength=256)), ranks, side="right")
        out[c] = (float(low) + float(high)) / 2.0
    return out
