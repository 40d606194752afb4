"""rim_cut._hist_quantile: the value at a quantile of uint8 histograms, by a binary search (one histogram) or a sum of
bools (several), equal to the count of cumulative counts under q x the total that it was."""

from __future__ import annotations

import numpy as np
import pytest

from unmask_video.rim_cut import _hist_quantile


def _counted(hist: np.ndarray, q: float) -> np.ndarray:
    cum = np.cumsum(hist, axis=-1)
    return np.count_nonzero(cum < q * cum[..., -1:], axis=-1)


@pytest.mark.parametrize("q", [0.0, 0.1, 0.5, 0.75, 1.0])
def test_hist_quantile_is_the_count_under_the_quantile(q):
    rng = np.random.default_rng(7)
    hists = [
        rng.integers(0, 40, 256),  # (everywhere)
        np.bincount(rng.integers(100, 110, 2000), minlength=256),  # (a few levels: ties at the quantile)
        np.eye(256, dtype=np.int64)[200] * 37,  # (one level)
        np.zeros(256, np.int64),  # (empty: 0)
        np.bincount([3, 3, 250, 250], minlength=256),  # (an even split: q x the total is a cumulative count)
    ]
    for hist in hists:
        got = _hist_quantile(hist, q)
        assert int(got) == int(_counted(hist, q))
    bands = np.stack(hists[:3] + [rng.integers(0, 3, 256)])
    np.testing.assert_array_equal(_hist_quantile(bands, q), _counted(bands, q))


def test_hist_quantile_finds_the_median_level():
    hist = np.bincount([10] * 3 + [20] * 4 + [30] * 3, minlength=256)
    assert int(_hist_quantile(hist, 0.5)) == 20
    assert int(_hist_quantile(hist, 0.1)) == 10
    assert int(_hist_quantile(hist, 0.95)) == 30
