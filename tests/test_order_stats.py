"""order_stats: the partition-based median and percentile give numpy's own values, bit for bit."""

from __future__ import annotations

import numpy as np

from unmask_video.order_stats import median, percentile


def test_median_is_numpys_median():
    """1-D (the deep band's threshold from the seed's probabilities, the held mask's edge heights): odd and even
    counts, ties, one value."""
    rng = np.random.default_rng(0)
    for n in (1, 2, 3, 4, 9, 10, 4000, 4001):
        for values in (rng.random(n).astype(np.float32), np.round(rng.random(n) * 4).astype(np.float32)):
            got, want = median(values), np.median(values)
            assert got.dtype == want.dtype and got == want


def test_median_of_rows_is_numpys_median_along_them():
    """An (n, d) array's per-column medians through its contiguous transpose (the rim cut's cloth colours) are
    np.median along axis 0: odd and even counts, ties, one row."""
    rng = np.random.default_rng(0)
    for n in (1, 2, 3, 4, 7, 10, 999, 1000):
        values = (rng.normal(size=(n, 2)) * 10).astype(np.float32)
        for v in (values, np.round(values)):
            got, want = median(np.ascontiguousarray(v.T)), np.median(v, axis=0)
            assert got.dtype == want.dtype and np.array_equal(got, want)


def test_percentile_is_numpys_percentile():
    rng = np.random.default_rng(1)
    for n in (1, 2, 5, 100, 1001):
        values = (rng.normal(size=(3, n)) * 20).astype(np.float32)
        for q in (0.0, 5.0, 25.0, 50.0, 90.0, 99.5, 100.0):
            got, want = percentile(values, q), np.percentile(values, q, axis=-1)
            assert got.dtype == want.dtype and np.array_equal(got, want), (n, q)
