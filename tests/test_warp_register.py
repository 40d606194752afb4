"""The warped reference registered onto the frame's face above the mask (FaceMesh's landmarks above a mask lie high)."""

from __future__ import annotations

import cv2
import numpy as np

from tests.test_warp import astronaut, lower_face_and_neck, psnr
from unmask_video import landmark_sets
from unmask_video.warp import ReferenceWarper, WarpOptions
from unmask_video.warp_register import residual_shift


def _scene() -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """The astronaut at twice her size (a 200 px face), her landmarks, a worn mask's region, her face height."""
    small, lm = astronaut()
    image = cv2.resize(small, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC)
    lm = (lm * 2.0).astype(np.float32)
    mask = lower_face_and_neck(image.shape[:2], lm)
    top, chin = (lm[i] for i in landmark_sets.FACE_HEIGHT)
    return np.ascontiguousarray(image), lm, mask, float(np.hypot(*(chin - top)))


def test_residual_shift_reads_how_far_down_the_warped_reference_must_move() -> None:
    image, _, mask, height = _scene()
    valid = np.ones(image.shape[:2], bool)
    for dy in (0, 3):
        warped = np.roll(image, -dy, axis=0)  # the reference lying dy pixels too high
        shift = residual_shift(image, warped, valid, mask, height)
        assert shift is not None and abs(shift[0]) < 1e-9 and abs(shift[1] - dy) < 0.75, (dy, shift)
    # Nothing visible above the mask: no measure.
    assert residual_shift(image, image, np.zeros_like(valid), mask, height) is None


def test_landmarks_placed_high_over_a_mask_are_registered_down_over_a_tracks_frames() -> None:
    # The frame is the reference photo itself, its landmarks read 3 px too high (as FaceMesh reads them over a mask):
    # the first warp lies 3 px high; over the track's frames the registration moves it down onto the face.
    image, lm, mask, _ = _scene()
    high = lm - np.float32([0.0, 3.0])
    band = (mask == 0) & (np.arange(image.shape[0])[:, None] > lm[landmark_sets.NOSE_BRIDGE, 1])
    warper = ReferenceWarper(image, lm, WarpOptions(frame_min_cutoff=0.0, register=0.7))
    first = None
    for _ in range(8):
        warped, valid = warper.warp(high, image.shape[:2], track=0, image=image, mask=mask)
        first = psnr(warped, image, band & valid) if first is None else first
    offset = warper._offsets[0]
    assert offset[0] == 0.0 and 2.0 < offset[1] <= 3.5, offset
    assert psnr(warped, image, band & valid) > first + 3.0
    # Never up: landmarks read low are left as they are.
    low = ReferenceWarper(image, lm, WarpOptions(frame_min_cutoff=0.0, register=0.7))
    for _ in range(4):
        low.warp(lm + np.float32([0.0, 3.0]), image.shape[:2], track=0, image=image, mask=mask)
    assert low._offsets.get(0, np.zeros(2))[1] == 0.0
    warper.reset(0)
    assert 0 not in warper._offsets
    # Off by default.
    off = ReferenceWarper(image, lm, WarpOptions(frame_min_cutoff=0.0))
    off.warp(high, image.shape[:2], track=0, image=image, mask=mask)
    assert not off._offsets
