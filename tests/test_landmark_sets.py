"""The landmark index sets as shared index arrays (landmark_sets.index)."""

import numpy as np
import pytest

from unmask_video import landmark_sets as ls


def test_index_is_one_shared_read_only_intp_array_per_set() -> None:
    oval = ls.index(ls.FACE_OVAL)
    assert oval is ls.index(ls.FACE_OVAL)  # made once, shared by every module
    assert oval.dtype == np.intp and oval.tolist() == list(ls.FACE_OVAL)
    assert not oval.flags.writeable
    with pytest.raises(ValueError):
        oval[0] = 0
    joined = ls.index(ls.MASK_REGION + ls.MASK_CORE)
    assert joined is ls.index(ls.MASK_REGION + ls.MASK_CORE)  # (an equal tuple finds the same array)
    assert joined.tolist() == list(ls.MASK_REGION) + list(ls.MASK_CORE)


def test_index_gathers_the_same_points_as_the_tuple() -> None:
    lm = np.random.default_rng(0).random((ls.NUM_LANDMARKS, 2)).astype(np.float32)
    for points in (ls.FACE_OVAL, ls.MASK_REGION, ls.JAW, ls.LIPS_OUTER, ls.MOUTH):
        assert np.array_equal(lm[ls.index(points)], lm[list(points)])
