"""The composite's smooth fields: shortcuts give the fields of the general code."""

from __future__ import annotations

import numpy as np
import pytest

from unmask_video.reconstruct.smooth_field import spread, spread_dense


@pytest.mark.parametrize(("h", "w", "sigma"), [(128, 128, 45.0), (128, 97, 30.0), (61, 128, 3.0), (100, 128, 7.9)])
def test_dense_spread_is_the_spread_of_the_pixels_listed(h: int, w: int, sigma: float) -> None:
    rng = np.random.default_rng(1)
    planes = (rng.random((3, h * w), dtype=np.float32) * 80.0).astype(np.float32)
    where = rng.random((h, w)) < 0.4
    where[: h // 3] = False  # (whole cells with no pixel)
    listed = spread(planes[:, where.reshape(-1)], where, sigma, planar=True)
    np.testing.assert_allclose(spread_dense(planes, where, sigma), listed, atol=1e-3)
