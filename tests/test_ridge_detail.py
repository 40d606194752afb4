"""The frame's narrow detail along the nose's ridge carried past the mask's top edge (:mod:`ridge_detail`)."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from tests.test_composite import masked_face
from unmask_video import landmark_sets
from unmask_video.face_units import FaceLength, face_size_px
from unmask_video.reconstruct.composite import CompositeOptions, ReferenceComposite
from unmask_video.reconstruct.ridge_detail import RidgeDetailOptions, RidgeTrack, carry_ridge_detail

_SKIN = (200, 150, 130)


def _ridge_landmarks(x: float, top: float, bottom: float) -> np.ndarray:
    """(468, 2) landmarks with the nose's ridge straight down the column ``x`` from ``top`` to ``bottom``."""
    lm = np.zeros((landmark_sets.NUM_LANDMARKS, 2), np.float32)
    lm[:, 0] = x
    ridge = landmark_sets.NOSE_RIDGE
    lm[list(ridge), 1] = np.linspace(top, bottom, len(ridge))
    return lm


def _streak(shape: tuple[int, int], x: int, rows: slice, lift: float) -> np.ndarray:
    """Flat skin with a 4 px bright streak down the column ``x`` over ``rows`` (``lift`` levels brighter)."""
    image = np.empty((*shape, 3), np.uint8)
    image[:] = _SKIN
    streak = np.zeros(shape, np.float32)
    streak[rows, x - 2:x + 2] = lift
    streak = cv2.GaussianBlur(streak, (0, 0), 1.0)
    return np.clip(image + streak[..., None], 0, 255).astype(np.uint8)


def _distance(hole: np.ndarray) -> np.ndarray:
    return cv2.distanceTransform((~hole).astype(np.uint8), cv2.DIST_L2, 5)


def test_the_streak_above_the_edge_runs_on_into_the_hole_fading_and_nowhere_else() -> None:
    shape, x, edge = (200, 160), 80, 90
    image = _streak(shape, x, slice(0, edge), 40.0)  # (the frame's lit bridge above the mask)
    hole = np.zeros(shape, bool)
    hole[edge:] = True
    image[hole] = (235, 235, 240)  # (a white mask)
    rebuilt = np.zeros(shape, bool)
    rebuilt[edge - 12:] = True  # (the hole and the blend's band above it)
    out = image.copy()
    out[rebuilt] = _SKIN  # (the reference's flat ridge)
    before = out.copy()
    lm = _ridge_landmarks(x, 10.0, 180.0)
    options = RidgeDetailOptions()
    assert carry_ridge_detail(out, image, hole, rebuilt, _distance(hole), lm, 4.0, 12.0, 256.0, options)
    grey = out.astype(np.float32).mean(axis=2)
    lift = grey[:, x] - grey[:, x + 20]  # (the ridge against the skin beside it)
    carry = options.carry.px(256.0)
    assert lift[edge - 6] > 15.0  # (the band above the edge: the frame's streak again)
    assert lift[edge + 2] > 15.0  # (just inside the hole: carried)
    assert 3.0 < lift[edge + int(0.6 * carry)] < lift[edge + 2]  # (fading)
    assert np.array_equal(out[edge + int(carry) + 2:], before[edge + int(carry) + 2:])  # (not past the carry)
    assert np.array_equal(out[~rebuilt], before[~rebuilt])  # (only rebuilt pixels)


def _streak_scene(x: int, edge: int, shift: tuple[int, int] = (0, 0)) -> tuple[np.ndarray, ...]:
    """(image, hole, rebuilt, out): test 1's scene (a lit bridge above a white hole, the reference's flat ridge rebuilt
    over the band and the hole), moved by ``shift`` (x, y) px."""
    shape = (200, 160)
    image = _streak(shape, x + shift[0], slice(0, edge + shift[1]), 40.0)
    hole = np.zeros(shape, bool)
    hole[edge + shift[1]:] = True
    image[hole] = (235, 235, 240)
    rebuilt = np.zeros(shape, bool)
    rebuilt[edge + shift[1] - 12:] = True
    out = image.copy()
    out[rebuilt] = _SKIN
    return image, hole, rebuilt, out


def test_the_detail_measured_on_one_frame_is_laid_again_where_the_ridge_has_moved_without_reading_it() -> None:
    """Measured on one frame and held (:class:`RidgeTrack`), laid on the next at the ridge's new place: as measuring
    it there would lay it, though that frame's own pixels above the mask (here, no streak at all) are not read."""
    x, edge, shift = 80, 90, (3, 2)
    options = RidgeDetailOptions()
    image, hole, rebuilt, out = _streak_scene(x, edge)
    track = RidgeTrack()
    assert carry_ridge_detail(out, image, hole, rebuilt, _distance(hole), _ridge_landmarks(x, 10.0, 180.0), 4.0, 12.0,
                              256.0, options, track)  # fmt: skip
    assert track.held is not None
    moved = _ridge_landmarks(x + shift[0], 10.0 + shift[1], 180.0 + shift[1])
    image, hole, rebuilt, fresh = _streak_scene(x, edge, shift)
    held = fresh.copy()
    assert carry_ridge_detail(fresh, image, hole, rebuilt, _distance(hole), moved, 4.0, 12.0, 256.0, options)
    unlit = held.copy()
    unlit[~rebuilt] = _SKIN  # (the frame's streak gone: not read on a frame that reuses the fields)
    before = unlit.copy()
    again = RidgeTrack(track.held, reuse=True)
    assert carry_ridge_detail(unlit, unlit, hole, rebuilt, _distance(hole), moved, 4.0, 12.0, 256.0, options, again)
    assert again.held is track.held
    assert np.abs(unlit[rebuilt].astype(int) - fresh[rebuilt].astype(int)).max() <= 2
    assert np.array_equal(unlit[~rebuilt], before[~rebuilt])
    lift = unlit.astype(np.float32).mean(axis=2)
    assert lift[edge + shift[1] + 2, x + shift[0]] - lift[edge + shift[1] + 2, x + shift[0] + 20] > 15.0
    # (a frame that measured nothing lays nothing on those that reuse it)
    nothing = RidgeTrack(None, reuse=True)
    assert not carry_ridge_detail(unlit, unlit, hole, rebuilt, _distance(hole), moved, 4.0, 12.0, 256.0, options,
                                  nothing)  # fmt: skip


def test_nothing_of_the_cloth_nor_its_bleed_is_carried() -> None:
    shape, x, edge, gap = (200, 160), 80, 90, 5.0
    image = np.empty((*shape, 3), np.uint8)
    image[:] = _SKIN
    # a bright fold of the cloth down the ridge, and its bleed within the gap above the hole: no skin detail
    image = np.maximum(image, _streak(shape, x, slice(edge - 4, shape[0]), 50.0))
    hole = np.zeros(shape, bool)
    hole[edge:] = True
    rebuilt = np.zeros(shape, bool)
    rebuilt[edge - 12:] = True
    out = image.copy()
    out[rebuilt] = _SKIN
    before = out.copy()
    carry_ridge_detail(out, image, hole, rebuilt, _distance(hole), _ridge_landmarks(x, 10.0, 180.0), gap, 12.0, 256.0,
                       RidgeDetailOptions())  # fmt: skip
    assert np.abs(out.astype(int) - before.astype(int)).max() <= 2


def test_a_ridge_already_under_the_mask_at_its_root_or_never_under_it_changes_nothing() -> None:
    shape, x = (200, 160), 80
    image = _streak(shape, x, slice(0, 200), 40.0)
    out = image.copy()
    rebuilt = np.ones(shape, bool)
    for hole_from in (0, 195):  # (the whole ridge masked; the mask below the nose's tip)
        hole = np.zeros(shape, bool)
        hole[hole_from:] = True
        assert not carry_ridge_detail(out, image, hole, rebuilt, _distance(hole), _ridge_landmarks(x, 10.0, 180.0),
                                      4.0, 12.0, 256.0, RidgeDetailOptions())  # fmt: skip
    assert np.array_equal(out, image)


def test_the_astronauts_lit_bridge_goes_on_past_a_drawn_masks_edge_in_the_composite() -> None:
    """A frame whose bridge shows a narrow highlight the reference (her own photo, unlit) does not have: with the rule,
    the rebuilt skin just under the mask's top edge along the ridge comes nearer the truth; further down and off the
    ridge, it is the same."""
    face, truth = masked_face()
    lm = face.landmarks
    ridge = lm[list(landmark_sets.NOSE_RIDGE)]
    # the lit bridge: a 4 px streak 30 levels bright along the ridge, in the truth and the frame's skin above the mask
    streak = np.zeros(truth.shape[:2], np.float32)
    cv2.polylines(streak, [np.round(ridge * 16).astype(np.int32)], False, 30.0, 4, cv2.LINE_AA, shift=4)
    streak = cv2.GaussianBlur(streak, (0, 0), 1.0)[..., None]
    lit = np.clip(truth + streak, 0, 255).astype(np.uint8)
    image = face.image.copy()
    seen = face.mask <= 0
    image[seen] = lit[seen]
    face = dataclasses.replace(face, image=image)
    hole = face.mask > 0
    crossing = next(p for p in np.linspace(ridge[0], ridge[-1], 400) if hole[int(round(p[1])), int(round(p[0]))])
    assert hole.any() and not hole[int(ridge[0][1]), int(ridge[0][0])]
    off = CompositeOptions(ridge=RidgeDetailOptions(carry=FaceLength(0.0)))
    without = ReferenceComposite(off).reconstruct_one(face)
    with_rule = ReferenceComposite(CompositeOptions()).reconstruct_one(face)
    face_px = face_size_px(lm)
    carry = RidgeDetailOptions().carry.px(face_px)
    cx, cy = int(round(crossing[0])), int(round(crossing[1]))
    near = (slice(cy + 1, cy + int(0.5 * carry)), slice(cx - 2, cx + 3))  # (just under the edge, on the ridge)

    def error(out: np.ndarray) -> float:
        return float(np.abs(out[near].astype(np.float32) - lit[near].astype(np.float32)).mean())

    assert error(with_rule) < 0.8 * error(without)
    far = slice(cy + int(carry) + 3, None)
    assert np.array_equal(with_rule[far], without[far])
