"""The carried lower face moved down to the frame's nose length (``WarpOptions.nose_length``, :mod:`nose_length`)."""

from __future__ import annotations

import cv2
import numpy as np

from unmask_video import landmark_sets
from unmask_video.nose_length import CHIN_SHARE, SLACK, nose_drop
from unmask_video.warp import ReferenceWarper, WarpOptions

from tests.test_warp import astronaut, detect, moved_astronaut


def _frame_landmarks(underside_y: float) -> np.ndarray:
    """Landmarks of a level face: eyes' outer corners 100 px apart at y 100, the nose root between them, the nose's
    underside at ``underside_y`` (every other point at the origin: the rule reads none of them)."""
    lm = np.zeros((landmark_sets.NUM_LANDMARKS, 2))
    lm[landmark_sets.LEFT_EYE_CORNERS[0]] = (100.0, 100.0)
    lm[landmark_sets.RIGHT_EYE_CORNERS[1]] = (200.0, 100.0)
    lm[landmark_sets.NOSE_ROOT] = (150.0, 100.0)
    lm[list(landmark_sets.NOSE_UNDERSIDE)] = [(150.0, underside_y), (135.0, underside_y - 3), (165.0, underside_y - 3)]
    return lm


_CARRIED = dict(
    carried_root=np.array([150.0, 90.0]),
    carried_underside=np.array([[150.0, 140.0], [135.0, 137.0], [165.0, 137.0]]),
    carried_chin=np.array([150.0, 260.0]),
)


def test_a_longer_frame_nose_moves_the_carried_mouth_down_by_the_difference_and_the_chin_by_its_share() -> None:
    drop = nose_drop(_frame_landmarks(170.0), **_CARRIED)
    assert drop is not None
    expected = 30.0 - SLACK * 100.0  # (the undersides 30 px apart, less the slack in eye spans)
    assert abs(drop.drop - expected) < 1e-9
    points = np.array([
        [150.0, 139.0],  # the nose's base, on the midline: (nearly) the whole drop
        [150.0, 150.0],  # the upper lip
        [150.0, 260.0],  # the chin: its share
        [150.0, 300.0],  # the neck below it: as the chin
        [150.0, 90.0],   # the carried nose root: nothing
        [70.0, 150.0],   # an ear, 0.8 eye spans from the midline: nothing
        [120.0, 150.0],  # a mouth corner, 0.3 spans off: most of it
    ])
    moves = drop.moves(points)
    assert np.allclose(moves[:, 0], 0.0)  # (down a level face: along y only)
    dy = moves[:, 1]
    base = 138.0  # (the carried underside's mean height)
    assert abs(dy[0] - expected * (1 - (1 - CHIN_SHARE) * 1 / 122)) < 1e-6
    assert abs(dy[1] - expected * (1 - (1 - CHIN_SHARE) * (150.0 - base) / (260.0 - base))) < 1e-6
    assert abs(dy[2] - CHIN_SHARE * expected) < 1e-6 and abs(dy[3] - CHIN_SHARE * expected) < 1e-6
    assert dy[4] == 0.0 and dy[5] == 0.0
    assert 0.8 * dy[1] < dy[6] < dy[1]


def test_a_frame_nose_as_long_as_the_carried_one_or_shorter_moves_nothing() -> None:
    assert nose_drop(_frame_landmarks(140.0 + 0.9 * SLACK * 100.0), **_CARRIED) is None  # (within the slack)
    assert nose_drop(_frame_landmarks(120.0), **_CARRIED) is None
    assert nose_drop(_frame_landmarks(170.0), gain=0.0, **_CARRIED) is None


def _short_nosed(image: np.ndarray, lm: np.ndarray, lift: float) -> np.ndarray:
    """``image`` with its mid-face lifted towards the eyes, as a photo taken from below shows it: the nose's underside
    ``lift`` px higher, the eyes and everything above them where they were, the chin and below them too."""
    h, w = image.shape[:2]
    eyes = float(lm[[landmark_sets.LEFT_EYE_CORNERS[0], landmark_sets.RIGHT_EYE_CORNERS[1]], 1].mean())
    base = float(lm[landmark_sets.NOSE_BASE, 1])
    chin = float(lm[landmark_sets.CHIN, 1])
    y = np.arange(h, dtype=np.float64)
    # (the picture's row y shows the astronaut's row y + shift(y): rows from the eyes down to the nose's base read
    # further down, the shift growing to ``lift`` there and fading to nothing at the chin)
    rise = np.clip((y - eyes) / (base - lift - eyes), 0.0, 1.0)
    fall = np.clip((y - (base - lift)) / (chin - (base - lift)), 0.0, 1.0)
    shift = lift * rise * (1.0 - fall)
    map_y = np.repeat((y + shift).astype(np.float32)[:, None], w, axis=1)
    map_x = np.repeat(np.arange(w, dtype=np.float32)[None, :], h, axis=0)
    return cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def test_a_short_nosed_reference_is_warped_onto_the_frames_nose_and_mouth() -> None:
    # A stand-in photographed from below: its nose's underside and mouth lie nearer its eyes. Carried by the
    # similarity of the eyes and brows its mouth lay where the frame's nose tip is; with the rule the warped
    # reference's nose base and mouth, found again by FaceMesh, sit nearer the frame's.
    target, target_lm = astronaut()
    reference = _short_nosed(target, target_lm, 16.0)
    reference_lm = detect(reference)
    base = landmark_sets.NOSE_BASE
    assert target_lm[base, 1] - reference_lm[base, 1] > 8.0  # (the reference's nose really is shorter)
    # (the nose's base, the upper lip's top, the lips' middles, the lower lip's bottom)
    keypoints = [base, *landmark_sets.MOUTH[2:6]]

    def error(gain: float) -> float:
        warped, valid, _ = ReferenceWarper(reference, reference_lm, WarpOptions(nose_length=gain)).warp(
            target_lm, target.shape[:2]
        )
        found = detect(np.where(valid[..., None], warped, target))
        return float(np.abs(found[keypoints, 1] - target_lm[keypoints, 1]).mean())

    with_rule, without = error(1.0), error(0.0)
    # (5.3 px without the rule, 3.6 with it when written: what is left is mostly the slack, 0.05 eye spans)
    assert without > 4.0 and with_rule < 0.75 * without, (with_rule, without)


def test_the_frames_own_face_as_the_reference_is_carried_as_before() -> None:
    target, target_lm = moved_astronaut()
    reference, reference_lm = astronaut()
    on = ReferenceWarper(reference, reference_lm, WarpOptions())._control.target(target_lm)
    off = ReferenceWarper(reference, reference_lm, WarpOptions(nose_length=0.0))._control.target(target_lm)
    assert np.array_equal(on, off)
