"""benchmarks.turned_geometry: where the warp's carried mouth and chin land against a frame's own landmarks."""

from __future__ import annotations

import numpy as np

from benchmarks.turned_geometry import COLUMNS, carried_points, landing
from tests.test_warp import _yawed, astronaut, detect
from unmask_video import landmark_sets
from unmask_video.face_shape import yaw
from unmask_video.warp import WarpOptions
from unmask_video.warp_control import ControlPoints


def _column(name: str) -> int:
    return COLUMNS.index(name)


def _face_axes(lm: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    eyes = lm[landmark_sets.RIGHT_EYE_CORNERS[1]] - lm[landmark_sets.LEFT_EYE_CORNERS[0]]
    across = eyes / np.hypot(*eyes)
    top, chin = (lm[i] for i in landmark_sets.FACE_HEIGHT)
    return across, np.array([-across[1], across[0]]), float(np.hypot(*(chin - top)))


def test_a_face_lands_on_itself_and_a_moved_mouth_by_as_much_as_it_moved() -> None:
    _, lm = astronaut()
    truth = np.asarray(lm, np.float64)
    assert np.allclose(landing(truth, truth), [0, 0, 0, 1, 0, 0, 0], atol=1e-9)
    across, down, height = _face_axes(truth)
    moved = truth.copy()
    mouth = landmark_sets.index(landmark_sets.MOUTH)
    moved[mouth] += 0.05 * height * across - 0.02 * height * down
    got = landing(moved, truth)
    assert abs(got[_column("mouth across")] - 0.05) < 1e-9 and abs(got[_column("mouth down")] + 0.02) < 1e-9, got
    # (the whole mouth moved alike: no tilt, the same width; the chin, outside the mouth, did not move)
    assert abs(got[_column("tilt deg")]) < 1e-9 and abs(got[_column("width x")] - 1) < 1e-9
    assert got[_column("chin")] == 0.0 and abs(got[_column("upper lip")] + 0.02) < 1e-9
    # The image-right corner lowered: the mouth tilts towards down (positive), and is wider.
    tilted = truth.copy()
    tilted[landmark_sets.MOUTH_CORNERS[1]] += 0.03 * height * down
    got = landing(tilted, truth)
    assert got[_column("tilt deg")] > 1.0 and got[_column("width x")] > 1.0, got
    # A chin too high is negative.
    high = truth.copy()
    high[landmark_sets.CHIN] -= 0.1 * height * down
    assert abs(landing(high, truth)[_column("chin")] + 0.1) < 1e-9


def test_the_warps_points_from_the_frames_own_face_land_on_it_and_a_turned_photos_land_off_it() -> None:
    image, lm = astronaut()
    options = WarpOptions()
    own = ControlPoints(np.asarray(lm, np.float32), yaw(lm), options)
    truth = np.asarray(lm, np.float64)
    # (the reference is the frame itself: its mouth and chin carried onto it are where they are)
    assert np.abs(landing(carried_points(own, truth), truth)[[0, 1, 4, 5, 6]]).max() < 0.01
    turned = detect(_yawed(image))
    other = ControlPoints(turned.astype(np.float32), yaw(turned), options)
    # (carried from a photo of her with the head turned: the mouth lands elsewhere than on the frame's own)
    off = landing(carried_points(other, truth), truth)
    assert np.abs(off[[0, 1, 4, 5, 6]]).max() > 0.01, off
