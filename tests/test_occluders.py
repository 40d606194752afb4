"""occluders: the skin-colour test by table gives the per-pixel test's answers."""

import numpy as np

from unmask_video.occluders import skin_table


def test_skin_table_answers_as_the_per_pixel_test() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        lab = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
        skin_ab = (rng.random(2) * 80 + 100).astype(np.float32)
        tolerance = float(rng.random() * 30 + 1)
        ab = lab[..., 1:].astype(np.float32) - skin_ab
        expected = (ab * ab).sum(axis=2) <= tolerance * tolerance
        index = (lab[..., 1].astype(np.uint16) << 8) | lab[..., 2]
        assert np.array_equal(np.take(skin_table(skin_ab, tolerance), index) > 0, expected)
    # (on the boundary: a colour exactly at the tolerance is skin)
    assert skin_table(np.array([128.0, 128.0], np.float32), 5.0)[(133 << 8) | 128] == 1
    assert skin_table(np.array([128.0, 128.0], np.float32), 5.0)[(134 << 8) | 128] == 0
