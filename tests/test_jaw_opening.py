"""The jaw's opening read off the mask's lower edge, and the warp's jaw and neck moved by it."""

from __future__ import annotations

import numpy as np

from tests.test_warp import astronaut, lower_face_and_neck
from unmask_video import landmark_sets
import cv2

from unmask_video.jaw_opening import (
    JawOpening, JawOptions, _open_mouth, closed_mouth_picture, jaw_weights, mask_drop, mouth_opening,
)
from unmask_video.warp import ReferenceWarper, WarpOptions

DOWN = np.array([0.0, 1.0])


def _mask(bottom: int, shape: tuple[int, int] = (200, 200)) -> np.ndarray:
    """A mask covering rows 60..bottom (exclusive), columns 40..160."""
    mask = np.zeros(shape, np.float32)
    mask[60:bottom, 40:160] = 1.0
    return mask


def test_mask_drop_is_the_masks_lower_edge_below_the_chin_in_face_heights() -> None:
    chin = np.array([100.0, 100.0])
    assert abs(mask_drop(_mask(130), chin, DOWN, 100.0) - 0.30) < 0.011
    # Not covering the chin, or the edge past the picture: unknown.
    assert mask_drop(_mask(90), chin, DOWN, 100.0) is None
    assert mask_drop(_mask(200), chin, DOWN, 100.0) is None


def _drop_column_by_column(mask: np.ndarray, chin: np.ndarray, down: np.ndarray, height: float) -> float | None:
    """:func:`mask_drop`'s rule written out one column at a time (the median of each covered column's first uncovered
    sample from the chin down, where that lies in the picture; None with fewer than half the columns)."""
    from unmask_video import jaw_opening as jo

    across = np.array([-down[1], down[0]])
    ts = np.arange(jo._FROM, jo._TO + 1e-9, jo._STEP)
    at_chin = int(round(-jo._FROM / jo._STEP))
    bottoms = []
    for offset in np.linspace(-jo._ACROSS, jo._ACROSS, jo._COLUMNS):
        pts = chin + height * (offset * across + ts[:, None] * down)
        xs, ys = np.rint(pts[:, 0]).astype(int), np.rint(pts[:, 1]).astype(int)
        seen = (xs >= 0) & (xs < mask.shape[1]) & (ys >= 0) & (ys < mask.shape[0])
        col = np.array([s and mask[y, x] > 0 for s, x, y in zip(seen, xs, ys)])
        if not col[at_chin]:
            continue
        below = np.flatnonzero(~col[at_chin:])
        if len(below) and seen[at_chin + below[0]]:
            bottoms.append(ts[at_chin + below[0]])
    return float(np.median(bottoms)) if len(bottoms) >= (jo._COLUMNS + 1) // 2 else None


def test_mask_drop_on_ragged_edges_is_the_column_by_column_rule() -> None:
    # Ragged lower edges (each column its own depth, holes, edges past the picture, tilted faces): the same drop, or
    # None, as the rule taken one column at a time.
    rng = np.random.default_rng(3)
    found = 0
    for _ in range(60):
        mask = np.zeros((200, 200), np.float32)
        low = int(rng.integers(70, 160))
        bottoms = rng.integers(low, low + 90, size=200)
        for x, b in enumerate(bottoms):
            mask[60:b, x] = 1.0
        mask[rng.random((200, 200)) < 0.02] = 0.0
        angle = rng.uniform(-0.4, 0.4)
        down = np.array([np.sin(angle), np.cos(angle)])
        chin = np.array([100.0, 100.0]) + rng.uniform(-5, 5, 2)
        want = _drop_column_by_column(mask, chin, down, 100.0)
        got = mask_drop(mask, chin, down, 100.0)
        assert got == want
        found += want is not None
    assert 0 < found < 60  # (both outcomes exercised)


def test_the_opening_is_the_drop_past_the_least_the_track_has_shown() -> None:
    jaw = JawOpening(JawOptions(slack=0.0))
    chin = np.array([100.0, 100.0])
    assert jaw(_mask(120), chin, DOWN, 100.0, track=0) == 0.0  # the first frame: closed
    assert abs(jaw(_mask(128), chin, DOWN, 100.0, track=0) - 0.08) < 0.011  # the jaw opens
    assert jaw(_mask(120), chin, DOWN, 100.0, track=0) == 0.0  # and closes
    assert jaw(_mask(200), chin, DOWN, 100.0, track=0) == 0.0  # unknown: none
    # Bounded, and per track.
    assert jaw(_mask(170), chin, DOWN, 100.0, track=0) <= JawOptions().max_opening + 1e-9
    assert jaw(_mask(150), chin, DOWN, 100.0, track=1) == 0.0


def test_jaw_weights_move_the_chin_and_lower_lip_not_the_upper_lip() -> None:
    _, lm = astronaut()
    w = jaw_weights(lm, lm.astype(np.float64))
    assert w[landmark_sets.CHIN] == 1.0
    assert w[17] > 0.8  # the lower lip's lowest point
    assert w[0] == 0.0 and w[landmark_sets.MOUTH_CORNERS[0]] == 0.0  # the upper lip, the corners
    assert w[landmark_sets.NOSE_BRIDGE] == 0.0


def test_a_dropping_mask_edge_lowers_the_warped_chin_and_raises_the_neck() -> None:
    # The frame is the reference itself (no motion): with the mask's lower edge as the reference's it is warped onto
    # itself; with the edge lower, the chin is lower (its reference position maps to a lower frame row) and the
    # neck's points are higher.
    image, lm = astronaut()
    warper = ReferenceWarper(image, lm, WarpOptions(frame_min_cutoff=0.0))
    mask = lower_face_and_neck(image.shape[:2], lm)
    top, chin = (lm[i].astype(np.float64) for i in landmark_sets.FACE_HEIGHT)
    height = float(np.hypot(*(chin - top)))
    assert mask_drop(mask, chin, (chin - top) / height, height) is not None
    assert warper._jaw_move(lm, mask, track=0) is None  # (the first frame: closed)
    step = int(round(0.06 * height))
    opened = np.maximum(mask, np.roll(mask, step, axis=0))  # the lower edge 6 % of a face height lower
    move = warper._jaw_move(lm, opened, track=0)
    assert move is not None
    chin_row = landmark_sets.TPS_CONTROL.index(landmark_sets.CHIN)
    assert 0.03 * height < move[chin_row, 1] <= 0.07 * height, move[chin_row]
    neck = move[len(landmark_sets.TPS_CONTROL):]
    assert (neck[:, 1] <= 1e-9).all() and neck[:, 1].min() < -0.01 * height
    # The whole warp: the frame row where the reference's chin lands moves down.
    still = warper.fit(lm, track=1)
    moved = warper.fit(lm, track=1, move=move)
    below = chin + np.array([0.0, 0.03 * height])
    # (the backward map: the frame pixel a little below the old chin now reads the reference above it)
    assert moved(below[None])[0, 1] < still(below[None])[0, 1] - 0.01 * height


def _lab(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)


def test_an_open_mouths_teeth_are_squeezed_into_closed_lips_and_the_chin_rises() -> None:
    image, lm = astronaut()
    assert mouth_opening(lm) > 0.12  # (she smiles with her teeth)
    mouth = _open_mouth(_lab(image), lm.astype(np.float64))
    closed, moved = closed_mouth_picture(image, lm, 0.12, 0.05)
    assert moved.dtype == lm.dtype and moved.shape == lm.shape
    assert mouth_opening(moved) < 0.1
    # The teeth are (nearly) gone: the light pixels between the lips (lighter than most of her lips, L 69 at their
    # median, 82 at their lightest: the lips painted into the gap are not teeth).
    teeth = mouth & (_lab(image)[..., 0] > 80)
    assert np.count_nonzero(teeth) > 100
    left = _open_mouth(_lab(closed), moved.astype(np.float64)) & (_lab(closed)[..., 0] > 80)
    assert np.count_nonzero(left) < 0.3 * np.count_nonzero(teeth)
    # The chin rises by about the mouth's opening; the upper face stays to the pixel (the lines across the face above
    # the mouth: the face is tilted a little, so the picture's rows above the nose bridge).
    rise = lm[landmark_sets.CHIN, 1] - moved[landmark_sets.CHIN, 1]
    assert 0.5 * (lm[14, 1] - lm[13, 1]) < rise < 3.0 * (lm[14, 1] - lm[13, 1])
    top = int(np.floor(lm[landmark_sets.NOSE_BRIDGE, 1]))
    assert np.array_equal(closed[:top], image[:top])
    assert np.allclose(moved[landmark_sets.NOSE_TIP], lm[landmark_sets.NOSE_TIP])


def _inside(shape: tuple[int, ...], landmarks: np.ndarray, indices: object) -> np.ndarray:
    region = np.zeros(shape[:2], np.uint8)
    cv2.fillPoly(region, [np.round(landmarks[landmark_sets.index(indices)]).astype(np.int32)], 255)
    return region > 0


def test_the_closed_lips_meet_in_a_soft_line_of_their_colour_not_in_squeezed_teeth() -> None:
    image, lm = astronaut()
    lab = _lab(image)
    lips = _inside(image.shape, lm, landmark_sets.LIPS_OUTER) & ~_open_mouth(lab, lm.astype(np.float64))
    closed, moved = closed_mouth_picture(image, lm, 0.12, 0.05)
    between = _inside(closed.shape, moved, landmark_sets.LIPS_OUTER)
    closed_lab = _lab(closed)
    # No teeth left between the lips: nothing there lighter than the lips' lightest, nor much paler than their red.
    assert closed_lab[..., 0][between].max() < lab[..., 0][lips].max() + 5
    assert np.percentile(closed_lab[..., 1][between], 1) > 0.3 * np.median(lab[..., 1][lips])
    # Outside the mouth, the picture is what the squeeze alone makes of it (the upper face to the pixel).
    top = int(np.floor(lm[landmark_sets.NOSE_BRIDGE, 1]))
    assert np.array_equal(closed[:top], image[:top])


def test_a_mouth_open_no_more_than_the_threshold_is_left_as_it_is() -> None:
    image, lm = astronaut()
    closed, moved = closed_mouth_picture(image, lm, 0.25, 0.05)
    assert closed is image and moved is lm


def test_the_warper_carries_a_wide_open_references_jaw_closed_and_leaves_a_smile() -> None:
    image, lm = astronaut()
    smile = ReferenceWarper(image, lm, WarpOptions())  # (0.16: a smile, left open by default)
    open_ = ReferenceWarper(image, lm, WarpOptions(close_mouth=0.0))
    closed = ReferenceWarper(image, lm, WarpOptions(close_mouth=0.12))
    assert np.array_equal(smile.landmarks, open_.landmarks) and np.array_equal(smile.image, open_.image)
    chin = landmark_sets.CHIN
    assert closed.landmarks[chin, 1] < open_.landmarks[chin, 1] - 5
    assert np.array_equal(closed.landmarks[landmark_sets.NOSE_TIP], open_.landmarks[landmark_sets.NOSE_TIP])
