"""Round the frame's eyes, off the mask, the composite keeps the frame's own pixels (reconstruct/eye_keep.py)."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from tests.test_composite import MASK_COLOUR, masked_face
from unmask_video import landmark_sets
from unmask_video.face_units import face_size_px
from unmask_video.reconstruct.composite import CompositeOptions, ReferenceComposite
from unmask_video.reconstruct.eye_keep import EyeKeepOptions, eye_keep, keep_frame
from unmask_video.stages import FaceROI
from unmask_video.warp import face_region


def _eyes(face: FaceROI, grow: float = 0.0) -> np.ndarray:
    """(h, w) bool: the eyes' outlines (their convex hulls), grown by ``grow`` pixels."""
    out = np.zeros(face.mask.shape, np.uint8)
    for outline in (landmark_sets.LEFT_EYE_OUTLINE, landmark_sets.RIGHT_EYE_OUTLINE):
        pts = np.round(face.landmarks[list(outline)]).astype(np.int32)
        cv2.fillConvexPoly(out, cv2.convexHull(pts), 1)
    if grow > 0:
        out = (cv2.distanceTransform(1 - out, cv2.DIST_L2, 3) <= grow).astype(np.uint8)
    return out > 0


def _mask_under_the_eyes(gap: float = 3.0) -> tuple[FaceROI, np.ndarray]:
    """The composite's test face with its mask's top edge ``gap`` pixels under the eyes' lowest landmark (over the
    face's oval, the segmenter's 2 px soft edge), the frame's mask painted there; and the truth."""
    face, truth = masked_face()
    lowest = max(float(face.landmarks[list(outline), 1].max())
                 for outline in (landmark_sets.LEFT_EYE_OUTLINE, landmark_sets.RIGHT_EYE_OUTLINE))  # fmt: skip
    hard = np.zeros(face.mask.shape, np.float32)
    hard[int(np.ceil(lowest + gap)):] = 1.0
    hard *= face_region(hard.shape, face.landmarks, antialiased=False) > 0
    mask = cv2.GaussianBlur(hard, (0, 0), 2.0)
    image = truth.copy()
    image[mask >= 0.5] = MASK_COLOUR
    return dataclasses.replace(face, image=image, mask=mask), truth


def test_the_keep_is_whole_on_the_eyes_none_on_the_mask_and_none_far_from_the_eyes() -> None:
    face, _ = _mask_under_the_eyes()
    options = EyeKeepOptions()
    kept = eye_keep(face.mask, face.landmarks, options)
    assert kept is not None and kept.dtype == np.float32 and kept.shape == face.mask.shape
    eyes = _eyes(face)
    assert np.all(kept[eyes] == 1.0)
    assert np.all(kept[(face.mask >= options.mask_high) & ~eyes] == 0.0)
    size = face_size_px(face.landmarks)
    near = _eyes(face, options.reach * size - 1.5) & (face.mask <= options.mask_low)
    assert near.sum() > eyes.sum() and np.all(kept[near] == 1.0)
    far = ~_eyes(face, (options.reach + options.fade) * size + 1.5)
    assert np.all(kept[far] == 0.0)
    # (between: it falls with the distance from the eyes)
    assert ((kept > 0) & (kept < 1)).any()
    assert eye_keep(face.mask, face.landmarks, EyeKeepOptions(reach=0.0)) is None


def test_keep_frame_mixes_the_frame_in_by_the_keep_and_leaves_the_rest() -> None:
    face, _ = _mask_under_the_eyes()
    kept = eye_keep(face.mask, face.landmarks)
    assert kept is not None
    rebuilt = np.full_like(face.image, 40)
    out = rebuilt.copy()
    keep_frame(out, face.image, kept)
    expected = kept[..., None] * face.image + (1.0 - kept[..., None]) * rebuilt
    assert np.abs(out.astype(np.float32) - expected).max() <= 1.0
    assert np.array_equal(out[kept == 0], rebuilt[kept == 0])
    unchanged = rebuilt.copy()
    keep_frame(unchanged, face.image, None)
    assert np.array_equal(unchanged, rebuilt)


def test_a_dark_eye_liner_on_the_reference_does_not_reach_the_frame_s_eyes_or_the_skin_around_them() -> None:
    # A stand-in's eye: its liner and lashes land round the frame's eye, in the band the composite rebuilds beyond a
    # mask whose top edge runs just under the eyes.
    face, _ = _mask_under_the_eyes()
    size = face_size_px(face.landmarks)
    ring = _eyes(face, 0.06 * size) & ~_eyes(face, 0.02 * size + 1.0) & (face.mask < 0.01)
    reference = face.reference.copy()
    reference[ring & face.valid] = 0
    face = dataclasses.replace(face, reference=reference)
    kept_whole = _eyes(face, 0.03 * size) & (face.mask <= 0.01)
    out = ReferenceComposite().reconstruct_one(face)
    assert np.array_equal(out[kept_whole], face.image[kept_whole])
    # (off: the liner is pasted there, and continued into the band)
    off = ReferenceComposite(CompositeOptions(eye_keep=EyeKeepOptions(reach=0.0))).reconstruct_one(face)
    darkened = (face.image.astype(np.int16) - off.astype(np.int16)).mean(axis=2) > 60
    assert np.count_nonzero(darkened & kept_whole) > 20
    # The cloth itself is rebuilt all the same.
    cloth = face.mask >= 0.5
    assert np.array_equal(out[cloth & ~_eyes(face, 0.2 * size)], off[cloth & ~_eyes(face, 0.2 * size)])
