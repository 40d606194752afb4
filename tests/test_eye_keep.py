"""Round the frame's eyes, off the mask, the composite keeps the frame's own pixels (reconstruct/eye_keep.py)."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from tests.test_composite import MASK_COLOUR, masked_face
from unmask_video import landmark_sets
from unmask_video.face_shape import face_region
from unmask_video.face_units import face_size_px
from unmask_video.reconstruct.composite import CompositeOptions, ReferenceComposite
from unmask_video.reconstruct.eye_keep import EyeKeepOptions, EyeMaps, eye_maps, keep_frame
from unmask_video.stages import FaceROI


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


def _full(maps: EyeMaps | None, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(kept, unsourced): ``maps``' on the whole of ``shape`` (0 and False off its box)."""
    kept, unsourced = np.zeros(shape, np.float32), np.zeros(shape, bool)
    if maps is not None:
        if maps.kept is not None:
            kept[maps.box] = maps.kept
        if maps.unsourced is not None:
            unsourced[maps.box] = maps.unsourced
    return kept, unsourced


def test_the_keep_is_whole_on_the_eyes_none_on_the_mask_beside_them_and_none_far_from_them() -> None:
    face, _ = _mask_under_the_eyes(gap=2.0)
    options = EyeKeepOptions()
    maps = eye_maps(face.mask, face.landmarks, options)
    assert maps is not None and maps.kept is not None and maps.kept.dtype == np.float32
    kept, _ = _full(maps, face.mask.shape)
    eyes = _eyes(face)
    # (the eyes whole, even where the mask's soft edge reaches them)
    assert (face.mask[eyes] >= options.mask_high).any() and np.all(kept[eyes] == 1.0)
    assert np.all(kept[(face.mask >= options.mask_high) & ~eyes] == 0.0)
    size = face_size_px(face.landmarks)
    assert np.all(kept[~_eyes(face, (options.reach + options.fade) * size + 1.5)] == 0.0)
    assert ((kept > 0) & (kept < 1)).any()
    assert eye_maps(face.mask, face.landmarks, EyeKeepOptions(reach=0.0)).kept is None
    assert eye_maps(face.mask, face.landmarks, EyeKeepOptions(reach=0.0, unsourced=0.0)) is None


def test_the_band_s_fill_draws_from_the_skin_not_from_round_the_eyes() -> None:
    face, _ = _mask_under_the_eyes(gap=4.0)
    options = EyeKeepOptions()
    _, near = _full(eye_maps(face.mask, face.landmarks, options), face.mask.shape)
    size = face_size_px(face.landmarks)
    assert near.any() and not near[face.mask >= options.mask_high].any()
    assert not near[~_eyes(face, options.unsourced * size + 1.5)].any()
    assert eye_maps(face.mask, face.landmarks, EyeKeepOptions(unsourced=0.0)).unsourced is None


def test_keep_frame_mixes_the_frame_in_by_the_keep_and_leaves_the_rest() -> None:
    face, _ = _mask_under_the_eyes()
    maps = eye_maps(face.mask, face.landmarks)
    kept, _ = _full(maps, face.mask.shape)
    rebuilt = np.full_like(face.image, 40)
    out = rebuilt.copy()
    keep_frame(out, face.image, maps)
    expected = kept[..., None] * face.image + (1.0 - kept[..., None]) * rebuilt
    assert kept.any() and np.abs(out.astype(np.float32) - expected).max() <= 1.0
    assert np.array_equal(out[kept == 0], rebuilt[kept == 0])
    unchanged = rebuilt.copy()
    keep_frame(unchanged, face.image, None)
    assert np.array_equal(unchanged, rebuilt)


def test_a_dark_eye_liner_on_the_reference_is_not_drawn_out_to_the_temple() -> None:
    # A stand-in's eye-liner lands beside the frame's eye, in the band the composite rebuilds beyond a mask whose top
    # edge runs just under the eyes; past it, towards the temple, the warp does not reach (the stand-in's hair) and the
    # band is filled with the rebuilt skin continued: from the skin, not from the liner.
    face, _ = _mask_under_the_eyes(gap=4.0)
    size = face_size_px(face.landmarks)
    corner = face.landmarks[landmark_sets.RIGHT_EYE_CORNERS[1]]
    near = _eyes(face, 0.05 * size) & ~_eyes(face, 0.02 * size + 1.0) & (face.mask < 0.01)
    reference = face.reference.copy()
    reference[near & face.valid] = 0
    ys, xs = np.mgrid[0 : face.mask.shape[0], 0 : face.mask.shape[1]]
    temple = (xs > corner[0] + 0.05 * size) & (np.abs(ys - corner[1]) < 0.06 * size) & (face.mask < 0.01)
    # (off the mask at the eyes' height, the warp reaches the liner's ring only: the rest is the stand-in's hair)
    valid = face.valid & (near | (face.mask >= 0.01) | (ys > corner[1] + 0.06 * size))
    face = dataclasses.replace(face, reference=reference, valid=valid)
    # (pasted as warped, no colour match: what the fill continues is then plain to read)
    out = ReferenceComposite(CompositeOptions(color_match=False)).reconstruct_one(face)
    plain = CompositeOptions(color_match=False, eye_keep=EyeKeepOptions(unsourced=0.0))
    off = ReferenceComposite(plain).reconstruct_one(face)
    filled = temple & (np.abs(off.astype(np.int16) - face.image).max(axis=2) > 0)
    assert np.count_nonzero(filled) > 20
    # (the liner drawn out darkens the fill beside it by tens of levels)
    darker = off[filled].astype(np.float32).mean() - out[filled].astype(np.float32).mean()
    assert darker < -10.0, darker


def test_the_frame_s_eyes_stay_as_they_are() -> None:
    face, _ = _mask_under_the_eyes(gap=2.0)
    reference = face.reference.copy()
    reference[face.valid] = 0  # (a reference darker than anything on the frame)
    face = dataclasses.replace(face, reference=reference)
    eyes = _eyes(face)
    out = ReferenceComposite().reconstruct_one(face)
    assert np.array_equal(out[eyes], face.image[eyes])
    off = ReferenceComposite(CompositeOptions(eye_keep=EyeKeepOptions(reach=0.0))).reconstruct_one(face)
    assert not np.array_equal(off[eyes], face.image[eyes])
