"""Medians and percentiles along the last axis by one ``np.partition``: the values of ``np.median`` and
``np.percentile``, without numpy's generic reduction around them (its checks, copies and NaN handling cost more than
the partition itself on the few thousand pixels the per-frame statistics read)."""

from __future__ import annotations

import numpy as np

__all__ = ["median", "percentile"]


def median(values: np.ndarray) -> np.ndarray:
    """``np.median(values, axis=-1)`` of a float array (last axis not empty), the same values. Statistics over rows
    of an (n, d) array: pass ``np.ascontiguousarray(values.T)`` (a partition along a strided axis is slow)."""
    n = values.shape[-1]
    half = n // 2
    if n % 2:
        return np.partition(values, half, axis=-1)[..., half]
    part = np.partition(values, (half - 1, half), axis=-1)
    return (part[..., half - 1] + part[..., half]) * values.dtype.type(0.5)


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
