"""The fringe's grow loop on the box around the cloth-like pixels: the same pixels as grown on the whole region, a ring
at a time, for as many rings (a winding arm of the cloth longer than that stops where the rings run out; a speck that
does not touch the hole is left out)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.test_cloth_bleed import _disc
from unmask_video.reconstruct.cloth_bleed import _joined


def _grown_everywhere(hole: np.ndarray, cloth: np.ndarray, steps: int) -> np.ndarray:
    """(h, w) bool: the pixels of ``cloth`` ((h, w) bool) joined to ``hole`` in ``steps`` rings, grown on the whole
    region every ring."""
    grown = hole.astype(np.uint8)
    cross = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
    for _ in range(steps):
        grown = cv2.bitwise_or(grown, cv2.bitwise_and(cv2.dilate(grown, cross), cloth.astype(np.uint8)))
    return (grown > 0) & ~hole


def _cloth(hole: np.ndarray, seed: int) -> np.ndarray:
    """(h, w) bool: random cloth-like pixels outside ``hole``: a thick corner on it, a winding arm out of it, specks."""
    rng = np.random.default_rng(seed)
    cloth = np.zeros(hole.shape, bool)
    top = int(np.argmax(hole.any(axis=1)))
    cloth[top - 6:top + 2, 90:140] = True  # (a corner on the hole's top edge)
    cloth[top - 30:top - 6, 110] = True  # (an arm out of it, longer than the rings)
    cloth |= rng.random(hole.shape) < 0.05  # (specks, some touching the hole or the corner)
    cloth[:, :3] |= rng.random((hole.shape[0], 3)) < 0.5  # (specks at the region's edge)
    return cloth & ~hole


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("steps", [1, 5, 40])
def test_grown_on_the_box_as_on_the_whole_region(seed: int, steps: int) -> None:
    hole = _disc()
    cloth = _cloth(hole, seed)
    want = _grown_everywhere(hole, cloth, steps)
    got = _joined(hole, tuple(np.nonzero(cloth)), steps)
    assert want.any() and got is not None
    np.testing.assert_array_equal(got, want)


def test_a_speck_away_from_the_hole_is_none() -> None:
    hole = _disc()
    cloth = np.zeros(hole.shape, bool)
    cloth[2, 2] = True
    assert not hole[:5, :5].any()
    assert _joined(hole, tuple(np.nonzero(cloth)), 10) is None


@pytest.mark.parametrize("side", ["above", "below", "left", "right"])
def test_a_strip_touching_the_hole_from_one_side_only_is_joined(side: str) -> None:
    hole = _disc()
    rows, cols = np.nonzero(hole)
    cloth = np.zeros(hole.shape, bool)
    if side == "above":
        cloth[rows.min() - 1, 95:106] = True
    elif side == "below":
        cloth[rows.max() + 1, 95:106] = True
    elif side == "left":
        cloth[95:106, cols.min() - 1] = True
    else:
        cloth[95:106, cols.max() + 1] = True
    cloth &= ~hole
    want = _grown_everywhere(hole, cloth, 3)
    assert want.any()
    np.testing.assert_array_equal(_joined(hole, tuple(np.nonzero(cloth)), 3), want)
