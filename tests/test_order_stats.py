"""order_stats: the partition-based median and percentile give numpy's own values, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from unmask_video.order_stats import byte_median, median, percentile


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


def test_median_of_integers_is_numpys_float64_median():
    """Integer arrays (the rim cut's uint8 cloth lightness): np.median's float64 values, odd and even counts, along
    rows too. An even count's two middle values are averaged as floats: not summed in uint8 (which wraps) nor halved
    by a 0.5 that the integer dtype makes 0."""
    rng = np.random.default_rng(2)
    for n in (1, 2, 3, 4, 9, 10, 1000, 1001):
        for values in (rng.integers(0, 256, n).astype(np.uint8), rng.integers(-10**6, 10**6, n).astype(np.int64)):
            got, want = median(values), np.median(values)
            assert got.dtype == want.dtype == np.float64 and got == want, (n, values.dtype)
            rows = np.stack([values, values[::-1] // 2])
            assert np.array_equal(median(rows), np.median(rows, axis=-1))
    assert median(np.array([200, 250], np.uint8)) == 225.0  # (was 0: uint8(0.5) == 0, and 200 + 250 wraps)


def test_median_of_floats_keeps_their_dtype_and_values():
    """float32 and float64 inputs: their own dtype, np.median's values bit for bit (odd and even counts), as before
    the integer case was added (the composite's and outside fill's float statistics unchanged)."""
    rng = np.random.default_rng(3)
    for n in (1, 2, 5, 6, 1000, 1001):
        for dtype in (np.float32, np.float64):
            values = (rng.normal(size=(3, n)) * 50).astype(dtype)
            got, want = median(values), np.median(values, axis=-1)
            assert got.dtype == want.dtype == dtype and np.array_equal(got, want), (n, dtype)


@pytest.mark.parametrize("n", [1, 2, 3, 8, 701, 5000])
def test_the_byte_median_is_numpys(n):
    rng = np.random.default_rng(n)
    for low, high in ((0, 256), (120, 124), (250, 256)):
        values = rng.integers(low, high, (n, 3)).astype(np.uint8)
        ours, numpys = byte_median(values), np.median(values, axis=0)
        assert ours.dtype == numpys.dtype and np.array_equal(ours, numpys)