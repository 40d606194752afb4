"""The pale rim under a light mask's lower edge joined to the mask (unmask_video.chin_rim): the astronaut's face grown
to a 720p face's size, a drawn white mask, a flat neck painted under it with a pale band along the mask's edge."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from unmask_video import landmark_sets as ls
from unmask_video.chin_rim import ChinRimOptions, join_chin_rim
from unmask_video.face_units import face_size_px
from unmask_video.synthetic import MaskStyle, astronaut_landmarks, draw_surgical_mask

NECK = (150, 110, 90)
PALE = (185, 148, 128)  # (about 30 levels of 8-bit L above the neck)


@pytest.fixture(scope="module")
def face() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    image, landmarks = astronaut_landmarks()
    scale, x0 = 2.5, 110
    bare = cv2.resize(np.array(image)[:240, x0 : x0 + 240], None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    lm = ((landmarks - np.array([x0, 0], np.float32)) * scale).astype(np.float32)
    masked, mask = draw_surgical_mask(bare, lm, MaskStyle(color=(240, 242, 245)))
    return masked, lm, mask


def _bottom(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mask's columns and each one's lowest mask row."""
    inside = mask > 0.5
    cols = np.flatnonzero(inside.any(axis=0))
    return cols, mask.shape[0] - 1 - np.argmax(inside[::-1, cols], axis=0)


def _neck(image: np.ndarray, mask: np.ndarray, band: int, colour: tuple[int, int, int] = PALE) -> np.ndarray:
    """``image`` with a flat neck under the mask's lower edge and ``band`` rows of ``colour`` along the edge."""
    out = image.copy()
    for c, b in zip(*_bottom(mask)):
        out[b + 1 :, c] = NECK
        out[b + 1 : b + 1 + band, c] = colour
    return out


def _neck_columns(lm: np.ndarray, cols: np.ndarray) -> np.ndarray:
    a, b = sorted(float(lm[i][0]) for i in ls.NECK_SIDES)
    return (cols >= a) & (cols <= b)


def test_a_pale_band_under_the_chin_joins_the_mask_above_the_neck_only(face):
    masked, lm, mask = face
    size = face_size_px(lm)
    out = join_chin_rim(_neck(masked, mask, 3), lm, mask)
    cols, bottom = _bottom(mask)
    under = _neck_columns(lm, cols)
    # (the middle of the chin: a run's ends slope in)
    middle = under & (np.abs(cols - cols[under].mean()) < 0.25 * (cols[under].max() - cols[under].min()))
    for d in (1, 2, 3):
        assert (out[bottom[middle] + d, cols[middle]] > 0.5).all()
    assert (out[bottom + 4, cols] <= 0.5).all()  # (no deeper than the band)
    beside = ~under
    assert beside.any() and np.array_equal(out[:, cols[beside]], mask[:, cols[beside]])  # (beside the neck: as it was)
    assert np.array_equal(out[: int(bottom.min()) - 3], mask[: int(bottom.min()) - 3])  # (above the edge: as it was)
    assert (out >= mask).all() and (out[bottom[middle] + 3, cols[middle]] > 0.5).sum() > 0.1 * size


@pytest.mark.parametrize(
    "band, colour, why",
    [
        (0, PALE, "no band: the neck as it is"),
        (40, PALE, "a pale collar, thicker than a rim"),
        (3, (60, 30, 20), "a dark band (the chin's shade)"),
        (3, (250, 250, 250), "a band far lighter than the neck: a white collar's edge, a hand"),
    ],
)
def test_no_rim_joins_where_the_band_is_not_a_pale_rim(face, band, colour, why):
    masked, lm, mask = face
    assert join_chin_rim(_neck(masked, mask, band, colour), lm, mask) is mask, why


def test_a_short_pale_spot_and_a_grey_cloth_leave_the_mask_as_it_is(face):
    masked, lm, mask = face
    size = face_size_px(lm)
    cols, bottom = _bottom(mask)
    image = _neck(masked, mask, 0)
    middle = int(np.argmin(np.abs(cols - lm[ls.CHIN][0])))
    for i in range(middle, middle + int(0.06 * size)):  # (a spot along the edge narrower than ``width``)
        image[bottom[i] + 1 : bottom[i] + 4, cols[i]] = PALE
    assert join_chin_rim(image, lm, mask) is mask
    grey, _ = draw_surgical_mask(_neck(masked, mask, 3), lm, MaskStyle(color=(110, 110, 110)))
    assert join_chin_rim(grey, lm, mask) is mask  # (a cloth no lighter than the neck: the band is no cloth light)
    assert join_chin_rim(_neck(masked, mask, 3), lm, mask, ChinRimOptions(enabled=False)) is mask
