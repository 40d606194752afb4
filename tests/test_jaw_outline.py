"""The jaw predicted from a bare face's proportions (unmask_video/jaw_outline.py) and the widened cheek it limits."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from tests.test_outside_fill import _narrow_reference_on_a_wall, _sides
from unmask_video import landmark_sets
from unmask_video.face_axes import face_axes
from unmask_video.face_shape import face_region
from unmask_video.jaw_outline import JAW_LEVELS, JawProfile, jaw_profile, predicted_jaw
from unmask_video.reconstruct.outside_fill import OutsideFillOptions, jaw_limit, on_face


def _below_the_eyes(shape: tuple[int, int], landmarks: np.ndarray, by: float) -> np.ndarray:
    """(h, w) bool: the pixels more than ``by`` px below the eyes' line (their outer corners), down the face."""
    down, _ = face_axes(landmarks)
    corners = landmarks[[landmark_sets.LEFT_EYE_CORNERS[0], landmark_sets.RIGHT_EYE_CORNERS[1]]].astype(np.float64)
    ys, xs = np.mgrid[0:shape[0], 0:shape[1]]
    return xs * down[0] + ys * down[1] > float((corners @ down).mean()) + by


def test_a_bare_faces_profile_narrows_from_its_cheeks_to_its_chin(astronaut_landmarks: np.ndarray) -> None:
    profile = jaw_profile(astronaut_landmarks)
    assert profile is not None and profile.widths.shape == JAW_LEVELS.shape
    # (a face is about one and a half eye-corner spans wide at the eyes, and its chin about as far below them)
    assert 1.2 < profile.widths[0] < 1.8 and 0.9 < profile.chin < 1.6, (profile.widths[0], profile.chin)
    assert profile.widths[-1] == 0.0 and np.all(np.diff(profile.widths[2:]) < 0), profile.widths
    # (in units of the eyes' span: the same face at another size and place has the same profile)
    moved = jaw_profile(astronaut_landmarks * 1.7 + np.float32([40, -25]))
    assert moved is not None and np.allclose(moved.widths, profile.widths, atol=1e-6)
    assert abs(moved.chin - profile.chin) < 1e-6
    # (no chin below the eyes: no profile)
    flat = astronaut_landmarks.copy()
    flat[:, 1] = flat[0, 1]
    assert jaw_profile(flat) is None


def test_a_faces_own_profile_predicts_its_own_jaw(astronaut_landmarks: np.ndarray) -> None:
    lm = astronaut_landmarks
    shape = (512, 512)
    profile = jaw_profile(lm)
    assert profile is not None
    jaw = predicted_jaw(shape, lm, profile)
    oval = face_region(shape, lm, antialiased=False) > 0
    below = _below_the_eyes(shape, lm, 2.0)
    # Below the eyes' line the prediction is FaceMesh's own outline, to a pixel or two along its edge.
    mismatch = np.count_nonzero((jaw ^ oval) & below)
    assert mismatch < 0.05 * np.count_nonzero(oval & below), mismatch
    # Above the eyes' line it limits nothing.
    assert jaw[~_below_the_eyes(shape, lm, -2.0)].all()
    # A squarer jaw (wider at every level below the cheeks) predicts a wider one, holding the first.
    square = predicted_jaw(shape, lm, replace(profile, widths=profile.widths * 1.2))
    assert not (jaw & ~square & below).any() and np.count_nonzero(square & ~jaw & below) > 200


def test_the_widened_cheek_stops_at_the_jaw_the_references_proportions_predict() -> None:
    # A turned stand-in widens the cheek it turns away to the mask's side edge (``turned_cheek``). Given the
    # reference's jaw, the widening ends past the jaw it predicts (``jaw_margin``): a narrow jaw (the mask standing past
    # the face) leaves the strip to the surroundings; a jaw as wide as the mask's reach (a jaw that is there) keeps it.
    face, hole, oval = _narrow_reference_on_a_wall(mask_past_outline=40)
    _, right, _ = _sides(face, hole, oval)
    lm = face.landmarks
    own = jaw_profile(lm)
    assert own is not None
    widened = on_face(hole, lm, turn=0.12)
    assert widened[right].mean() > 0.95
    wide = replace(own, widths=own.widths * 1.6)
    assert np.array_equal(on_face(hole, lm, turn=0.12, jaw=wide), widened)
    narrow = on_face(hole, lm, turn=0.12, jaw=own)
    limit = jaw_limit(hole.shape, lm, own)
    assert limit is not None
    assert narrow[right].mean() < 0.5 * widened[right].mean(), (narrow[right].mean(), widened[right].mean())
    assert not (narrow & ~oval & ~limit).any()
    # The face's own oval is never cut, and off (a negative margin) nothing changes.
    assert narrow[hole & oval].all()
    assert np.array_equal(on_face(hole, lm, OutsideFillOptions(jaw_margin=-1.0), turn=0.12, jaw=own), widened)


def test_a_degenerate_profile_or_face_limits_nothing(astronaut_landmarks: np.ndarray) -> None:
    profile = JawProfile(np.zeros(len(JAW_LEVELS)), 1.0)
    flat = astronaut_landmarks.copy()
    flat[:, 0] = flat[0, 0]  # (the eyes' corners not apart)
    assert predicted_jaw((64, 64), flat, profile) is None
    assert jaw_limit((64, 64), flat, profile) is None
