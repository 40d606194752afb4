"""Face-crop alignment on a real FaceMesh face (the astronaut photo)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from unmask_video import align
from unmask_video.landmark_sets import ALIGNMENT, FACE_OVAL, MASK_REGION

SIZE = 128


def test_alignment_points_land_on_the_template(astronaut_landmarks: np.ndarray) -> None:
    m = align.align_matrix(astronaut_landmarks, SIZE)
    got = align.transform_points(astronaut_landmarks[list(ALIGNMENT)], m)
    err = np.linalg.norm(got - align.TEMPLATES["face"] * SIZE, axis=1)
    assert err.max() < 0.04 * SIZE


def test_the_crop_holds_the_whole_mask_region_with_a_margin(astronaut_landmarks: np.ndarray) -> None:
    m = align.align_matrix(astronaut_landmarks, SIZE)
    for ids in (MASK_REGION, FACE_OVAL):
        pts = align.transform_points(astronaut_landmarks[list(ids)], m)
        assert pts.min() > 0.05 * SIZE and pts.max() < 0.95 * SIZE


def test_roll_scale_and_shift_are_normalised(astronaut: np.ndarray, astronaut_landmarks: np.ndarray) -> None:
    # rotate the photo by 20 degrees, shrink it and move it: the aligned crops must agree
    h, w = astronaut.shape[:2]
    t = cv2.getRotationMatrix2D((w / 2, h / 2), 20.0, 0.8)
    t[:, 2] += (15.0, -10.0)
    moved = cv2.warpAffine(astronaut, t, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    moved_lm = align.transform_points(astronaut_landmarks, t).astype(np.float32)
    a = align.crop(astronaut, align.align_matrix(astronaut_landmarks, SIZE), SIZE).astype(np.float32)
    b = align.crop(moved, align.align_matrix(moved_lm, SIZE), SIZE).astype(np.float32)
    assert np.abs(a - b).mean() < 6.0
    assert align.crop_scale(align.align_matrix(moved_lm, SIZE)) == pytest.approx(
        align.crop_scale(align.align_matrix(astronaut_landmarks, SIZE)) / 0.8, rel=1e-3
    )


def test_uncrop_inverts_crop(astronaut: np.ndarray, astronaut_landmarks: np.ndarray) -> None:
    m = align.align_matrix(astronaut_landmarks, 256)  # upsampling: the round trip keeps detail
    back = align.uncrop(align.crop(astronaut, m, 256), m, astronaut.shape[:2])
    cover = align.coverage(m, 256, astronaut.shape[:2]) > 0.999
    assert 0.01 < cover.mean() < 0.5  # the face, not the whole photo
    err = np.abs(back.astype(np.float32) - astronaut.astype(np.float32))[cover]
    assert err.mean() < 4.0
    outside = align.coverage(m, 256, astronaut.shape[:2]) == 0
    assert outside.any() and (back[outside] == 0).all()


def test_bool_and_float_maps_are_cropped(astronaut_landmarks: np.ndarray) -> None:
    valid = np.zeros((512, 512), bool)
    valid[:, :220] = True
    m = align.align_matrix(astronaut_landmarks, SIZE)
    out = align.crop(valid, m, SIZE, border=cv2.BORDER_CONSTANT)
    assert out.dtype == np.float32 and 0.1 < out.mean() < 0.9


def test_degenerate_landmarks_and_unknown_framing() -> None:
    with pytest.raises(ValueError, match="degenerate"):
        align.align_matrix(np.zeros((468, 2), np.float32), SIZE)
    with pytest.raises(ValueError, match="framing"):
        align.align_matrix(np.random.default_rng(0).random((468, 2)) * 100, SIZE, framing="chin")
