"""The cheeks' sides carried down from the skin above the mask (unmask_video/reconstruct/cheek_sides.py), the sides
where a narrower reference leaves them, and the jaw it predicts widened to that skin (jaw_outline.side_scales)."""

from __future__ import annotations

import cv2
import numpy as np

from tests.test_outside_fill import _bluish, _narrow_reference_on_a_wall, _skin_above_the_mask_past_the_outline
from unmask_video import landmark_sets
from unmask_video.face_axes import face_axes
from unmask_video.jaw_outline import jaw_profile, predicted_jaw, side_scales
from unmask_video.reconstruct.cheek_sides import cheeks_down, narrower_sides
from unmask_video.reconstruct.composite import CompositeOptions, ReferenceComposite
from unmask_video.reconstruct.outside_fill import OutsideFillOptions

DOWN = np.array([0.0, 1.0])
BRIDGE = np.array([50.0, 10.0])


def _band(shape: tuple[int, int], rows: slice, cols: slice) -> np.ndarray:
    out = np.zeros(shape, bool)
    out[rows, cols] = True
    return out


def test_a_side_is_narrower_where_the_warped_skin_ends_inside_the_frames_skin() -> None:
    shape = (100, 100)
    skin = _band(shape, slice(20, 26), slice(10, 91))  # the frame's skin above the mask: columns 10-90
    # (a stand-in 15 px narrower on each side, at the skin's heights)
    assert narrower_sides(skin, _band(shape, slice(0, 100), slice(25, 76)), BRIDGE, DOWN, 60.0, 6.0) == (True, True)
    # (its own face: as wide as the skin on the left, 15 px short on the right)
    assert narrower_sides(skin, _band(shape, slice(0, 100), slice(10, 76)), BRIDGE, DOWN, 60.0, 6.0) == (False, True)
    assert narrower_sides(skin, _band(shape, slice(0, 100), slice(8, 93)), BRIDGE, DOWN, 60.0, 6.0) == (False, False)
    # (only the warped pixels at the skin's heights count: a wide neck far below does not hide a narrow cheek)
    wide_below = _band(shape, slice(0, 100), slice(25, 76)) | _band(shape, slice(80, 100), slice(0, 100))
    assert narrower_sides(skin, wide_below, BRIDGE, DOWN, 60.0, 6.0) == (True, True)
    # (skin below the jaw's corners does not count, nor does a shortfall within ``short``)
    assert narrower_sides(skin, _band(shape, slice(0, 100), slice(25, 76)), BRIDGE, DOWN, 15.0, 6.0) == (False, False)
    assert narrower_sides(skin, _band(shape, slice(0, 100), slice(25, 76)), BRIDGE, DOWN, 60.0, 20.0) == (False, False)


def _oval(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """A face outline narrower than the hole below its top (half-width 30 about column 50, its chin at row 95): the
    (h, w) bool oval and its (N, 2) outline points."""
    t = np.linspace(0.0, 2.0 * np.pi, 72, endpoint=False)
    pts = np.stack([50.0 + 30.0 * np.sin(t), 40.0 + 55.0 * np.cos(t)], axis=1)
    oval = np.zeros(shape, np.uint8)
    cv2.fillPoly(oval, [np.round(pts).astype(np.int32)], 1)
    return oval > 0, pts


def test_the_cheeks_run_down_from_the_skin_to_the_jaws_corners_inside_the_holes_edge() -> None:
    shape = (110, 100)
    hole = _band(shape, slice(30, 91), slice(10, 91))  # a mask whose side edges run straight down at columns 10 and 90
    oval, outline = _oval(shape)
    skin = _band(shape, slice(20, 26), slice(10, 91))
    cheeks = cheeks_down(hole, oval, skin, outline, DOWN, 70.0, 3.0)
    assert cheeks is not None
    assert not (cheeks & oval).any() and not (cheeks & ~hole).any()
    # (beside the cheek, between the outline and the mask's side edge, down to the corners' height)
    assert cheeks[50, 16] and cheeks[50, 84] and cheeks[68, 16]
    # (not within the inset of the hole's edge: the surroundings' fill, faded into the skin, takes that rim)
    assert not cheeks[50, 11] and not cheeks[50, 89]
    # (below the corners the hull tapers to the chin)
    assert not cheeks[88, 15] and not cheeks[88, 85]
    # (one side only)
    left = cheeks_down(hole, oval, skin, outline, DOWN, 70.0, 3.0, (True, False), np.array([50.0, 40.0]))
    assert left is not None and left[50, 16] and not left[:, 50:].any()
    assert cheeks_down(hole, oval, skin, outline, DOWN, 70.0, 3.0, (False, False)) is None
    # (no skin above the corners: nothing)
    assert cheeks_down(hole, oval, _band(shape, slice(80, 85), slice(10, 91)), outline, DOWN, 70.0, 3.0) is None


def test_the_jaw_widened_to_the_skin_seen_beside_it(astronaut_landmarks: np.ndarray) -> None:
    lm = astronaut_landmarks
    profile = jaw_profile(lm)
    assert profile is not None
    shape = (512, 512)
    plain = predicted_jaw(shape, lm, profile)
    assert plain is not None and np.array_equal(predicted_jaw(shape, lm, profile, (1.0, 1.0)), plain)
    # Her own outline's points at the cheeks (as the skin just above a mask shows them): about as wide as predicted.
    down, _ = face_axes(lm)
    oval = lm[landmark_sets.index(landmark_sets.FACE_OVAL)].astype(np.float64)
    corners = lm[[landmark_sets.LEFT_EYE_CORNERS[0], landmark_sets.RIGHT_EYE_CORNERS[1]]].astype(np.float64)
    eyes = float((corners @ down).mean())
    chin = float(lm[landmark_sets.CHIN].astype(np.float64) @ down)
    cheeks = oval[(oval @ down > eyes + 0.2 * (chin - eyes)) & (oval @ down < eyes + 0.4 * (chin - eyes))]
    left, right = side_scales(lm, profile, cheeks)
    assert 1.0 <= left < 1.15 and 1.0 <= right < 1.15, (left, right)
    # The same points pushed out by a fifth of the way from the nose bridge, on the image-left side only.
    bridge = lm[landmark_sets.NOSE_BRIDGE].astype(np.float64)
    on_left = cheeks[cheeks[:, 0] < bridge[0]]
    wider = bridge + 1.2 * (on_left - bridge) * np.array([1.0, 0.0]) + (on_left - bridge) * np.array([0.0, 1.0])
    left2, right2 = side_scales(lm, profile, wider)
    assert left2 > left + 0.1 and right2 == 1.0, (left2, right2)
    assert side_scales(lm, profile, np.zeros((0, 2))) == (1.0, 1.0)
    widened = predicted_jaw(shape, lm, profile, (left2, 1.0))
    # (below the eyes' line: above it everything is in, the far corners' edge rasterised a pixel either way)
    ys, xs = np.mgrid[0:shape[0], 0:shape[1]]
    below = xs * down[0] + ys * down[1] > eyes + 2.0
    assert widened is not None and (widened & ~plain & below).any() and not (plain & ~widened & below).any()
    # (wider on the image-left side of the nose bridge only)
    assert not (widened & ~plain & below)[:, int(np.ceil(bridge[0])) + 1:].any()


def test_a_narrower_reference_beside_a_mask_on_the_cheeks_gets_skin_down_to_the_jaw_not_the_wall() -> None:
    # The frame's skin shows just above the mask's top edge past FaceMesh's outline, and the warped reference ends 12
    # px inside the outline (a stand-in): below that skin, down the cheek's side, the strip between the outline and
    # the mask's side edge is the cheek, not the wall past the mask.
    face, hole, oval = _narrow_reference_on_a_wall(mask_past_outline=30)
    skin = face.image[hole == 0][oval[hole == 0]].reshape(-1, 3)
    colour = np.median(skin.astype(np.float32), axis=0).astype(np.uint8)
    past = _skin_above_the_mask_past_the_outline(face, hole, oval, colour)
    assert past.sum() > 100
    rows = np.nonzero(past.any(axis=1))[0]
    cols = np.nonzero(past.any(axis=0))[0]
    # (the strip under that skin, well below it, between the outline and the skin's outer end)
    corners = float(face.landmarks[landmark_sets.index(landmark_sets.NECK_SIDES), 1].min())  # (the face is upright)
    row = np.arange(hole.shape[0])[:, None]
    strip = hole & ~oval & ~face.valid & (row > rows[-1] + 25) & (row < corners - 5)
    strip &= (np.arange(hole.shape[1])[None, :] >= cols.min() + 10) & (np.arange(hole.shape[1])[None, :] <= cols.max() - 10)
    on = ReferenceComposite(CompositeOptions()).reconstruct([face])[0]
    off = ReferenceComposite(CompositeOptions(outside=OutsideFillOptions(cheek_down=False))).reconstruct([face])[0]
    down = strip & (cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L2, 3) > 0.05 * 256)
    assert down.sum() > 50, down.sum()
    assert _bluish(off[down]).mean() > 0.5  # (without the rule: the wall's fill)
    assert _bluish(on[down]).mean() < 0.05, _bluish(on[down]).mean()
    # The reference as wide as the frame's skin (its own face): the rule leaves the composite as it was.
    face.valid = np.ones_like(face.valid)
    same_on = ReferenceComposite(CompositeOptions()).reconstruct([face])[0]
    same_off = ReferenceComposite(CompositeOptions(outside=OutsideFillOptions(cheek_down=False))).reconstruct([face])[0]
    assert np.array_equal(same_on, same_off)
