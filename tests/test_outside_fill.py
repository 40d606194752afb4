"""What the warp does not cover inside the mask: the frame's own cheek continues the rebuilt skin, never the wall."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from tests.test_composite import MASK_COLOUR, masked_face, scaled_face
from unmask_video import landmark_sets
from unmask_video.below_jaw import neck_region
from unmask_video.face_axes import neck_column
from unmask_video.face_shape import face_region, yaw
from unmask_video.face_units import REFERENCE_FACE_PX, face_size_px
from unmask_video.reconstruct.composite import CompositeOptions, ReferenceComposite
from unmask_video.reconstruct.outside_fill import (
    OutsideFillOptions, continue_skin, enclosed, fill_band, fill_on_face, nearest_verdict, on_face,
)
from unmask_video.reference_matte import features

WALL = (30, 60, 220)  # a saturated blue, far from any skin


def _narrow_reference_on_a_wall(mask_past_outline: int):
    """The astronaut's masked face at the reference face size, the mask reaching ``mask_past_outline`` px past her
    outline, the frame beside her face a blue wall, and a warped reference narrower than her face (it ends 12 px
    inside her outline on each side, as another person's cheek does). (face, hole, the face oval)."""
    face, _ = scaled_face(*masked_face(), REFERENCE_FACE_PX)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * mask_past_outline + 1, 2 * mask_past_outline + 1))
    face.mask = cv2.dilate(face.mask, kernel)
    hole = face.mask > 0
    oval = face_region(hole.shape, face.landmarks, antialiased=False) > 0
    face.image = face.image.copy()
    face.image[hole] = MASK_COLOUR
    face.image[~oval & ~hole] = WALL
    inside = cv2.erode(oval.astype(np.uint8), np.ones((1, 25), np.uint8)) > 0  # 12 px in from each side
    face.valid = face.valid & inside
    face.reference = np.where(face.valid[..., None], face.reference, 0).astype(np.uint8)
    return face, hole, oval


def _bluish(pixels: np.ndarray) -> np.ndarray:
    return pixels[:, 2].astype(np.int16) > pixels[:, 0].astype(np.int16)  # skin is redder than blue; the wall is not


def test_a_reference_narrower_than_the_face_leaves_no_wall_coloured_pixels_on_the_face() -> None:
    face, hole, oval = _narrow_reference_on_a_wall(mask_past_outline=4)
    uncovered = hole & oval & ~face.valid
    assert uncovered.sum() > 300  # the narrow reference really leaves the cheeks' sides to the fill
    out = ReferenceComposite(CompositeOptions()).reconstruct([face])[0]
    bluish = _bluish(out[uncovered])
    assert bluish.mean() < 0.01, bluish.mean()
    # ... and the rebuilt cheek's side has the colour of the rebuilt skin beside it, not a mix with the wall.
    skin = out[hole & face.valid & oval].reshape(-1, 3).astype(np.float32).mean(axis=0)
    side = out[uncovered].reshape(-1, 3).astype(np.float32).mean(axis=0)
    assert np.abs(side - skin).max() < 30, (side, skin)


def test_past_the_outline_the_wall_fills_and_the_reach_takes_only_the_cheeks_side() -> None:
    # By default what lies past FaceMesh's outline is filled from the surroundings (a drawn mask reaching past the face
    # covers hair or wall there). With a reach, a band beside the cheeks counts as face; below the jaw's corners (the
    # neck, a collar) never.
    face, hole, oval = _narrow_reference_on_a_wall(mask_past_outline=30)
    out = ReferenceComposite(CompositeOptions()).reconstruct([face])[0]
    to_oval = cv2.distanceTransform((~oval).astype(np.uint8), cv2.DIST_L2, 5)
    beside = np.arange(hole.shape[0])[:, None] < face.landmarks[list(landmark_sets.LOWER_JAW), 1].min()
    far = hole & beside & (to_oval > 12)  # (past the skin's fade into the wall's fill, ``fill_feather``)
    assert far.sum() > 100 and _bluish(out[far]).mean() > 0.9, _bluish(out[far]).mean()
    assert np.array_equal(on_face(hole, face.landmarks), hole & oval)
    # (the wall, not a neck, below the mask: the neck's column under the jaw is not face either, see below)
    assert np.array_equal(on_face(hole, face.landmarks, image=face.image), hole & oval)
    reach = 0.05
    wide = on_face(hole, face.landmarks, OutsideFillOptions(reach=reach))
    band = hole & ~oval & (to_oval < 0.5 * reach * face_size_px(face.landmarks))
    chin = face.landmarks[landmark_sets.CHIN]
    below_chin = band & (np.arange(hole.shape[0])[:, None] > chin[1] + 3)
    assert (band & beside).sum() > 50 and wide[band & beside].all()
    assert below_chin.sum() > 20 and not wide[below_chin].any()


def test_ear_loops_past_the_outline_are_not_face() -> None:
    face, _ = scaled_face(*masked_face(), REFERENCE_FACE_PX)
    hole = face.mask > 0
    oval = face_region(hole.shape, face.landmarks, antialiased=False) > 0
    xs, ys = np.nonzero(hole)[1], np.nonzero(hole)[0]
    loops = np.zeros(hole.shape, np.uint8)
    y = int(ys.min() + 10)
    for x0, x1 in ((int(xs.min()) - 60, int(xs.min()) + 2), (int(xs.max()) - 2, int(xs.max()) + 60)):
        cv2.line(loops, (x0, y - 8), (x1, y), 255, 3)  # 3 px strokes from the mask's sides towards the ears
    strokes = (loops > 0) & ~hole & ~oval
    on = on_face(hole | (loops > 0), face.landmarks)
    assert strokes.sum() > 50 and not (on & strokes).any()
    assert on[hole & oval].all()


def test_the_skin_continuation_reads_only_the_covered_pixels() -> None:
    out = np.zeros((80, 120, 3), np.uint8)
    out[:] = WALL
    covered = np.zeros((80, 120), bool)
    covered[:, :50] = True
    out[covered] = (200, 150, 120)
    gaps = np.zeros_like(covered)
    gaps[20:60, 50:90] = True  # a gap touching the wall on its far side
    continue_skin(out, gaps, covered, sigma=4.0)
    assert np.abs(out[gaps].astype(np.int16) - np.int16([200, 150, 120])).max() <= 1
    assert (out[~gaps & ~covered] == WALL).all()


def test_the_far_average_at_a_quarter_size_stays_near_the_full_size_blur() -> None:
    # The continuation's far average (4x the near one's sigma, zeros past the border) is computed at a quarter of the
    # size: on a band of skin colour it stays within a few percent of OpenCV's full-size blur in weight, and within a
    # fraction of a level in colour where it has weight.
    from unmask_video.reconstruct.outside_fill import _far_blur

    h, w = 97, 131
    stack = np.zeros((h, w, 4), np.float32)
    band = np.zeros((h, w), np.uint8)
    cv2.ellipse(band, (65, 48), (45, 30), 10, 0, 360, 1, 5)
    on = band.astype(bool)
    stack[on, :3] = (200, 150, 120)  # (the colour times its weight, 1 on the band)
    stack[on, 3] = 1.0
    for sigma in (2.0, 3.0, 4.0):
        exact = cv2.GaussianBlur(stack, (0, 0), 4 * sigma, borderType=cv2.BORDER_CONSTANT)
        fast = _far_blur(stack, sigma)
        assert fast.shape == exact.shape and fast.dtype == np.float32
        assert np.abs(fast[..., 3] - exact[..., 3]).max() < 0.05 * exact[..., 3].max(), sigma
        seen = exact[..., 3] > 0.02 * exact[..., 3].max()
        colour = fast[seen, :3] / np.maximum(fast[seen, 3:], 1e-6)
        assert np.abs(colour - np.float32([200, 150, 120])).max() < 0.5, sigma


def _skin_above_the_mask_past_the_outline(face, hole, oval, colour) -> np.ndarray:
    """``face.image`` with ``colour`` painted just above the mask's top edge, past the face oval (where the frame's cheek
    shows in front of the ear when FaceMesh's outline under the mask runs inside it). Returns those pixels."""
    rows = np.nonzero(hole.any(axis=1))[0]
    above = np.zeros_like(hole)
    for x in np.nonzero(hole.any(axis=0))[0]:
        top = int(np.flatnonzero(hole[:, x])[0])
        above[max(top - 14, 0):top, x] = True
    past = above & ~oval & (np.arange(hole.shape[0])[:, None] < rows[0] + 0.5 * (rows[-1] - rows[0]))
    face.image[past] = colour
    return past


def test_skin_above_the_mask_past_the_outline_widens_the_face_and_a_wall_does_not() -> None:
    # FaceMesh's outline under a cloth mask often runs inside the real cheek: where the frame shows its skin just above
    # the mask's top edge past the outline, the face reaches that far (the convex hull of the outline and that skin);
    # the wall there (a drawn mask reaching past the face) leaves the outline as it is.
    face, hole, oval = _narrow_reference_on_a_wall(mask_past_outline=30)
    skin = face.image[hole == 0][oval[hole == 0]].reshape(-1, 3)
    colour = np.median(skin.astype(np.float32), axis=0).astype(np.uint8)  # the frame's own skin colour
    # (the neck's column under the jaw off: checked elsewhere)
    hull_only = OutsideFillOptions(neck_reach=0.0)
    # (the wall above: as it was)
    assert np.array_equal(on_face(hole, face.landmarks, hull_only, face.image), hole & oval)
    past = _skin_above_the_mask_past_the_outline(face, hole, oval, colour)
    assert past.sum() > 100
    wide = on_face(hole, face.landmarks, hull_only, face.image)
    assert wide[hole & oval].all()
    extra = wide & ~oval
    assert extra.sum() > 300, extra.sum()
    # (only as far as the skin reaches: the hull tapers from it to the jaw, never below the chin)
    cols = np.nonzero(past.any(axis=0))[0]
    assert not (extra[:, : cols.min() - 1].any() or extra[:, cols.max() + 2:].any())
    chin = face.landmarks[landmark_sets.CHIN]
    assert not extra[int(chin[1]) + 3:].any()
    # The rebuilt cheek there is skin, not the wall's fill.
    out = ReferenceComposite(CompositeOptions()).reconstruct([face])[0]
    cheek = extra & ~face.valid
    assert cheek.sum() > 100 and _bluish(out[cheek]).mean() < 0.01, _bluish(out[cheek]).mean()


def test_the_continued_cheek_meets_the_frames_skin_above_the_mask() -> None:
    # The continuation also reads the frame's skin just above the mask's top edge: where the frame's cheek is lighter
    # than the rebuilt skin beside the gap, the gap's top takes the frame's colour, not only the rebuilt skin's.
    face, hole, oval = _narrow_reference_on_a_wall(mask_past_outline=4)
    lighter = np.uint8([235, 200, 185])
    face.image[~hole & oval] = lighter
    gaps = hole & oval & ~face.valid
    options = OutsideFillOptions()
    out_plain = face.reference.copy()
    out_skin = face.reference.copy()
    covered = face.valid & (cv2.dilate(hole.astype(np.uint8), np.ones((31, 31), np.uint8)) > 0)
    fill_on_face(out_plain, gaps, hole, covered, face.landmarks, options)
    fill_on_face(out_skin, gaps, hole, covered, face.landmarks, options, image=face.image)
    rows = np.nonzero(gaps.any(axis=1))[0]
    top = gaps & (np.arange(hole.shape[0])[:, None] < rows[0] + 8)
    assert top.sum() > 20
    d_plain = np.abs(out_plain[top].astype(np.float32) - lighter).mean()
    d_skin = np.abs(out_skin[top].astype(np.float32) - lighter).mean()
    assert d_skin < 0.7 * d_plain, (d_skin, d_plain)


def test_the_jaw_corner_test_on_the_rows_ends_is_the_test_on_every_pixel() -> None:
    # (``_above_corners`` reads each row's first or last pixel only: along a row the height down the face is linear)
    from unmask_video.reconstruct.outside_fill import _above_corners, _down

    face, _ = scaled_face(*masked_face(), REFERENCE_FACE_PX)
    pts = np.asarray(face.landmarks, np.float64)
    rng = np.random.default_rng(3)
    h, w = face.mask.shape
    for angle in (-30.0, -8.0, 0.0, 12.0, 35.0):  # the face tilted both ways: the row's highest end changes sides
        turn = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        lm = (np.c_[pts, np.ones(len(pts))] @ turn.T).astype(np.float32)
        down = _down(lm.astype(np.float64))
        corners = float((lm.astype(np.float64)[list(landmark_sets.NECK_SIDES)] @ down).min())
        for _ in range(20):
            where = np.zeros((h, w), bool)
            y, x = int(rng.integers(0, h - 20)), int(rng.integers(0, w - 30))
            where[y : y + int(rng.integers(1, 20)), x : x + int(rng.integers(1, 30))] = rng.random() < 0.9
            where &= rng.random((h, w)) < 0.7
            ys, xs = np.nonzero(where)
            expected = bool(len(ys)) and bool(((xs * down[0] + ys * down[1]) < corners).any())
            assert _above_corners(where, lm) == expected


def test_the_nearest_band_pixels_verdict_on_the_box_of_both_is_the_whole_images() -> None:
    # (``nearest_verdict`` labels only the box around the band and the pixels asking: the same labels there, ties
    # between equally near band pixels included, as the distance transform over the whole image)
    rng = np.random.default_rng(11)
    for trial in range(300):
        h, w = (int(v) for v in rng.integers(8, 90, 2))
        band = np.zeros((h, w), bool)
        where = np.zeros((h, w), bool)
        y0, x0 = int(rng.integers(0, h - 4)), int(rng.integers(0, w - 4))
        band[y0 : y0 + int(rng.integers(1, h)), x0 : x0 + int(rng.integers(1, w))] = True
        band &= rng.random((h, w)) < (0.02 if trial % 3 else 0.4)  # sparse points: many ties between them
        y1, x1 = int(rng.integers(0, h - 4)), int(rng.integers(0, w - 4))
        where[y1 : y1 + int(rng.integers(1, h)), x1 : x1 + int(rng.integers(1, w))] = True
        where &= ~band
        if not band.any():
            continue
        verdict = np.r_[False, rng.random(int(band.sum())) < 0.5]
        _, label = cv2.distanceTransformWithLabels(
            cv2.bitwise_not(band.view(np.uint8) * np.uint8(255)), cv2.DIST_L2, 3, labelType=cv2.DIST_LABEL_PIXEL)
        np.testing.assert_array_equal(nearest_verdict(band, where, verdict), where & verdict[label])


def _reference_with_hair_beside_its_neck():
    """The astronaut as a reference: her neck's column below the jaw painted with her skin (her suit is there), and a
    dark lock of hair falling along her image-right jaw and down that side of the neck, as long hair does in many
    photos: (the reference, its landmarks, the lock's (h, w) bool map)."""
    from tests.test_warp import astronaut

    image, lm = astronaut()
    shape = image.shape[:2]
    face = face_region(shape, lm) > 0
    below = (neck_region(shape, lm, 0.4) > 0) & ~face
    column = neck_column(shape, lm) > 0
    skin = np.median(image[face], axis=0)
    rng = np.random.default_rng(5)
    out = image.copy()
    out[below & column] = np.clip(skin + rng.normal(0, 4, ((below & column).sum(), 3)), 0, 255).astype(np.uint8)
    # The lock: from the jaw's image-right corner down the neck, over the column's outer third.
    height = float(np.hypot(*(lm[landmark_sets.CHIN] - lm[10])))
    corner = lm[365]
    hair = np.zeros(shape, np.uint8)
    top = (int(corner[0] - 0.02 * height), int(corner[1] - 0.05 * height))
    bottom = (int(corner[0] - 0.06 * height), int(corner[1] + 0.45 * height))
    cv2.line(hair, top, bottom, 255, max(int(0.12 * height), 3))
    out[hair > 0] = (40, 28, 22)
    return out, lm, hair > 0


def test_a_reference_whose_neck_hair_hides_leaves_no_wall_under_the_frames_jaw() -> None:
    # The cause of the wall under the jaw on a real clip (woman_white_mask_720 with a stand-in reference): the
    # reference's matte keeps only its skin, and hair falling beside its jaw hides part of its neck, so the warped neck
    # is narrower than the frame's. What it leaves uncovered under the frame's jaw, within the neck's column, was
    # filled from the frame's surroundings past the mask (here a blue wall): it is the neck, continued from the
    # rebuilt skin. Beside the column (past the jaw's corners) the surroundings' fill stays.
    from tests.test_warp import moved_astronaut
    from unmask_video.stages import Box, FaceROI
    from unmask_video.warp import ReferenceWarper, WarpOptions

    reference, lm, _ = _reference_with_hair_beside_its_neck()
    truth, target = moved_astronaut()
    shape = truth.shape[:2]
    oval = face_region(shape, target) > 0
    below_nose = np.arange(shape[0])[:, None] > target[4, 1]
    hole = (oval & below_nose) | (neck_region(shape, target, 0.3) > 0)
    column = neck_column(shape, target) > 0
    # The frame: a blue wall around the face, and below the mask, in the neck's column, her neck (her skin's colour,
    # as the frame shows it above the mask).
    skin = np.median(truth[oval & ~hole & (np.arange(shape[0])[:, None] > target[4, 1] - 40)], axis=0)
    frame = truth.copy()
    frame[~oval & ~hole] = WALL
    frame[column & ~hole & (np.arange(shape[0])[:, None] > target[152, 1])] = skin
    frame[hole] = MASK_COLOUR
    mask = hole.astype(np.uint8) * 255
    warped, valid, _ = ReferenceWarper(reference, lm, WarpOptions()).warp(target, shape)
    face = FaceROI(box=Box(0, 0, shape[1], shape[0]), image=frame, landmarks=target, mask=mask, reference=warped,
                   valid=valid)  # fmt: skip
    out = ReferenceComposite(CompositeOptions()).reconstruct([face])[0]
    under = column & (neck_region(shape, target, 0.3) > 0) & ~oval
    # (a few pixels in from the column's sides and the hole's edge: the fill's fade)
    inner = cv2.erode((under & hole).astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    uncovered = inner & ~valid
    assert uncovered.sum() > 150, uncovered.sum()  # the hair really leaves part of the frame's neck uncovered
    assert _bluish(out[uncovered]).mean() < 0.02, _bluish(out[uncovered]).mean()
    beside = hole & ~oval & ~valid & (cv2.dilate(under.astype(np.uint8), np.ones((31, 31), np.uint8)) == 0)
    assert beside.sum() > 100 and _bluish(out[beside]).mean() > 0.9, _bluish(out[beside]).mean()
    # A collar below the mask instead (a dark turtleneck): the neck does not continue under the mask, and the gaps
    # there take the surroundings' fill, not skin: the collar's colour where the collar is the nearest thing past
    # the mask, the wall's by the mask's side (the nearest pixel past the mask, not a mix of both; the rest, about
    # 14 % with either fill, is the rebuilt neck's colour faded into the fill by its side).
    collar = np.uint8([25, 25, 30])
    face.image = frame.copy()
    face.image[column & ~hole & (np.arange(shape[0])[:, None] > target[152, 1])] = collar
    out = ReferenceComposite(CompositeOptions()).reconstruct([face])[0]
    dark = out[uncovered].astype(np.int16).sum(axis=1) < 3 * 90
    surroundings = (dark | _bluish(out[uncovered])).mean()
    assert dark.mean() > 0.25 and surroundings > 0.8, (dark.mean(), surroundings)


def _sides(face, hole: np.ndarray, oval: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(image-left strip, image-right strip, below the chin): the hole past the ``oval`` beside each cheek (above the
    jaw's corners, past the skin's inset from the hole's edge) and the hole below the chin (the neck's side)."""
    lm = face.landmarks
    size = face_size_px(lm)
    corners = lm[list(landmark_sets.NECK_SIDES), 1].min()
    rows = np.arange(hole.shape[0])[:, None]
    cols = np.arange(hole.shape[1])[None, :]
    inset = cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L2, 5) > 0.1 * size
    past = hole & ~oval
    bridge = lm[landmark_sets.YAW_PROBE[1], 0]
    above = rows < corners - 2
    below = past & (rows > lm[landmark_sets.CHIN, 1] + 3)
    return past & inset & above & (cols < bridge), past & inset & above & (cols > bridge), below


def test_a_turned_reference_leaves_the_cheek_on_the_side_it_turns_away_to_the_masks_side_edge() -> None:
    # A stand-in turned from the frame (its yaw past the frame's by more than ``turned_yaw``) carries no cheek edge on
    # the side it turns away: there the hole past FaceMesh's outline, beside the cheek, is face up to the mask's side
    # edge (the widened cheek tapers to the chin). The other side, and the neck below the chin, keep the outline; a
    # reference in the frame's pose changes nothing.
    face, hole, oval = _narrow_reference_on_a_wall(mask_past_outline=40)
    left, right, below = _sides(face, hole, oval)
    assert left.sum() > 100 and right.sum() > 100 and below.sum() > 100
    assert np.array_equal(on_face(hole, face.landmarks), hole & oval)
    for small in (0.0, 0.05, -0.05):
        assert np.array_equal(on_face(hole, face.landmarks, turn=small), hole & oval)
    turned = on_face(hole, face.landmarks, turn=0.12)  # (turned towards the image-right cheek's side)
    assert turned[right].mean() > 0.95, turned[right].mean()
    assert not turned[left].any() and not turned[below].any()
    mirrored = on_face(hole, face.landmarks, turn=-0.12)
    assert mirrored[left].mean() > 0.95 and not mirrored[right].any() and not mirrored[below].any()
    assert not on_face(hole, face.landmarks, OutsideFillOptions(turned_reach=0.0), turn=0.12)[right].any()
    # Just past ``turned_yaw`` the cheek widens less (the reach grows over ``turned_ramp``): no switch from one frame to
    # the next as the turn crosses it.
    widths = [on_face(hole, face.landmarks, turn=t)[right].sum() for t in (0.08, 0.09, 0.1, 0.11, 0.12)]
    assert widths[0] == 0 < widths[1] < widths[-1] and all(a <= b for a, b in zip(widths[:-1], widths[1:])), widths


def test_the_composite_takes_the_turn_from_the_references_yaw_against_the_frames() -> None:
    # Through the composite: the reference's yaw (FaceROI.reference_yaw) against the frame's. Turned, the image-right
    # cheek beside the outline is rebuilt skin, not the wall beside the mask; in the frame's pose the output is the
    # same as with the yaw not known.
    face, hole, oval = _narrow_reference_on_a_wall(mask_past_outline=40)
    _, right, _ = _sides(face, hole, oval)
    right &= cv2.distanceTransform((~oval).astype(np.uint8), cv2.DIST_L2, 5) > 12  # (past the skin's fade, as above)
    assert right.sum() > 100
    frame_yaw = yaw(face.landmarks)
    plain = ReferenceComposite(CompositeOptions()).reconstruct([face])[0]
    same = ReferenceComposite(CompositeOptions()).reconstruct([replace(face, reference_yaw=frame_yaw + 0.03)])[0]
    assert np.array_equal(plain, same)
    assert _bluish(plain[right]).mean() > 0.9
    turned = ReferenceComposite(CompositeOptions()).reconstruct([replace(face, reference_yaw=frame_yaw + 0.15)])[0]
    assert _bluish(turned[right]).mean() < 0.01, _bluish(turned[right]).mean()


def test_a_grey_shirt_is_not_skin_though_the_skin_above_the_mask_spreads_widely() -> None:
    # The white-mask woman's skin model, read on a band above the mask that holds lashes and lid shadows (8-bit Lab
    # median and spread as measured there): her grey T-shirt below the neck passed for skin within 4 spreads, and the
    # neck under the mask was continued from its grey. Its chroma along the skin's hue is a fifth of the skin's.
    from unmask_video.reconstruct.outside_fill import _is_skin

    mu, spread = np.float32([108, 141, 139]), np.float32([78, 5, 6])
    shirt, wall, neck = [161, 132, 128], [214, 131, 126], [203, 137, 136]
    lab = np.float32([shirt, wall, neck])
    assert _is_skin(lab, mu, spread, OutsideFillOptions()).tolist() == [False, False, True]
    assert _is_skin(lab, mu, spread, OutsideFillOptions(skin_chroma=0.0)).tolist() == [True, True, True]
    # Skin near grey itself (a black-and-white film) gives no hue to test along: the test is off.
    grey = np.float32([140, 129, 130])
    assert _is_skin(lab, grey, spread, OutsideFillOptions()).all()


def _strip_beside_the_warp(face, hole, oval):
    """``face`` with the warp ending 3 px inside the face oval on each side (a narrow strip of the hole left to the
    on-face fill) and the frame's skin around the mask much lighter than the warped skin: (its copy, the strip)."""
    face = replace(face, image=face.image.copy())
    face.image[~hole & oval] = (240, 215, 205)
    inside = cv2.erode(oval.astype(np.uint8), np.ones((1, 7), np.uint8)) > 0
    face.valid = face.valid & inside
    face.reference = np.where(face.valid[..., None], face.reference, 0).astype(np.uint8)
    return face, hole & oval & ~face.valid


def test_a_narrow_strip_a_turned_reference_leaves_below_the_frames_skin_fades_into_the_warped_skin() -> None:
    # The continuation meets the frame's lighter skin above the mask; a strip narrower than ``rim`` reaching the hole's
    # edge there was not faded into the warped skin beside it, and stood against it in a step along the warp's edge (the
    # white-mask woman's eye corner with a turned stand-in). With a turned reference, across that edge the step is now
    # a quarter of what it was or less.
    face, hole, oval = _narrow_reference_on_a_wall(mask_past_outline=4)
    face, strip = _strip_beside_the_warp(face, hole, oval)
    assert strip.sum() > 100
    covered = face.valid & hole
    # (the warped pixels right beside the strip, and the strip's pixels right beside them, in its top rows: by the
    # hole's top edge, where the continuation meets the frame's skin above the mask)
    top = np.zeros_like(hole)
    top[np.nonzero(strip.any(axis=1))[0][:8]] = True
    near_covered = top & covered & (cv2.dilate(strip.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0)
    near_strip = top & strip & (cv2.dilate(covered.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0)

    def step(options: OutsideFillOptions, turn: float = 0.2) -> float:
        out = face.reference.copy()
        paste = face.valid & (cv2.dilate(hole.astype(np.uint8), np.ones((31, 31), np.uint8)) > 0)
        fill_on_face(out, strip, hole, paste, face.landmarks, options, image=face.image, turn=turn)
        a = out[near_covered].reshape(-1, 3).astype(np.float32).mean(axis=0)
        b = out[near_strip].reshape(-1, 3).astype(np.float32).mean(axis=0)
        return float(np.abs(a - b).max())

    before, after = step(OutsideFillOptions(fade_at_edge=False)), step(OutsideFillOptions())
    assert before > 20 and after < 0.25 * before, (before, after)  # (39 -> 0.6)
    # A reference in the frame's pose (within ``turned_yaw``) keeps main's fill: its matte ends where the frame's does.
    assert step(OutsideFillOptions(), turn=0.0) == before


def test_the_blend_band_the_warp_leaves_on_the_face_is_rebuilt_skin_and_the_eyes_stay() -> None:
    # The blend fades the rebuilt region over a band outside the mask: where the warp is not pasted there on the face
    # (its matte ends), the frame's own pixels were left and the blend showed the warped skin's edge. That band is
    # the rebuilt skin continued; the eyes and brows keep the frame's pixels, and so does everything past the face.
    face, _ = scaled_face(*masked_face(), REFERENCE_FACE_PX)
    face = replace(face, image=face.image.copy(), valid=face.valid.copy())
    hole = face.mask > 0
    shape = hole.shape
    oval = face_region(shape, face.landmarks, antialiased=False) > 0
    dist = cv2.distanceTransform((~hole).astype(np.uint8), cv2.DIST_L2, 5)
    band = (dist > 0) & (dist <= 4)
    face.valid[(dist > 0) & (dist <= 40)] = False  # (the warp's matte ends at the mask's edge)
    face.image[~hole] = (250, 250, 250)  # (a frame far lighter than the rebuilt skin: its pixels are told apart)
    eyes = features(shape, face.landmarks, landmark_sets.EYES_AND_BROWS, 0.0) > 0
    face.image[eyes] = (20, 20, 20)
    out = ReferenceComposite(CompositeOptions()).reconstruct([face])[0]
    on = band & oval & ~eyes
    assert on.sum() > 100
    assert np.abs(out[on].astype(np.int16) - 250).max(axis=1).mean() > 40  # rebuilt, not the frame
    skin = out[hole & oval & face.valid].reshape(-1, 3).astype(np.float32).mean(axis=0)
    assert np.abs(out[on].reshape(-1, 3).astype(np.float32).mean(axis=0) - skin).max() < 40
    assert np.array_equal(out[eyes & ~hole], face.image[eyes & ~hole])
    off = band & ~oval
    assert off.sum() > 50 and np.array_equal(out[off & (dist > 2)], face.image[off & (dist > 2)])
    # Off: nothing is filled.
    before = face.image.copy()
    none = fill_band(before, band & ~hole, oval & hole, face.landmarks, OutsideFillOptions(band_fill=False))
    assert not none.any() and np.array_equal(before, face.image)


def test_a_gap_past_the_face_that_the_rebuilt_skin_rings_is_enclosed_and_a_strip_on_the_masks_edge_is_not() -> None:
    hole = np.zeros((60, 80), bool)
    hole[10:50, 10:70] = True
    skin = hole.copy()
    outer = np.zeros_like(hole)
    outer[25:35, 30:45] = True  # inside the hole, the rebuilt skin all round
    outer[40:50, 50:60] = True  # on the hole's lower edge: the skin on three sides, the frame past the hole below
    outer[10:50, 10:14] = True  # a strip along the hole's side edge
    skin &= ~outer
    found = enclosed(outer, hole, skin, 0.6)
    assert found[25:35, 30:45].all() and found[40:50, 50:60].all()
    assert not found[10:50, 10:14].any()
    assert not enclosed(outer, hole, skin, 0.0).any()
    # (a piece with no rebuilt skin beside it is never enclosed, whatever the fraction)
    assert not enclosed(outer, np.zeros_like(hole), np.zeros_like(hole), 0.6).any()


def test_a_gap_below_the_jaw_ringed_by_the_rebuilt_skin_continues_the_skin_not_the_wall() -> None:
    # A turned reference whose picture ends under its chin leaves a patch of the frame's jaw between the warped jaw
    # and the continued neck: the rebuilt skin, not the surroundings past the mask, fills it.
    face, hole, oval = _narrow_reference_on_a_wall(mask_past_outline=30)
    chin = face.landmarks[landmark_sets.CHIN]
    cx, cy = int(chin[0]), int(chin[1])
    patch = np.zeros_like(hole)
    patch[cy + 6:cy + 16, cx - 40:cx - 20] = True
    assert (patch & hole & ~oval).sum() > 100  # past FaceMesh's outline, inside the hole
    covered = hole & ~patch
    out = np.zeros(hole.shape + (3,), np.uint8)
    out[:] = WALL
    out[covered] = (200, 150, 120)
    options = OutsideFillOptions(neck_reach=0.0)
    inner = fill_on_face(out, patch, hole, covered, face.landmarks, options)
    assert inner[patch].all()
    assert np.abs(out[patch].astype(np.int16) - np.int16([200, 150, 120])).max() <= 2
    off = fill_on_face(out.copy(), patch, hole, covered, face.landmarks, replace(options, enclosed=0.0))
    assert not off[patch & ~oval].any()


def test_a_turned_references_shaded_rim_is_not_continued_into_the_widened_cheek() -> None:
    # A turned stand-in's matte ends where its cheek turns away, in shade: the widened cheek (``turned_cheek``) past the
    # outline, narrower than ``rim``, was continued from that shade, a dark band to the mask's side edge (the white-mask
    # woman's image-right cheek). With ``turned_fade`` the rim fades into the skin deeper in and the strip takes that
    # colour (103 -> 31 levels darker than the skin deeper in; the rim 112 -> 67); a strip as narrow as this one (up to
    # 12 px) was not faded before, nor is it with the option off.
    face, _ = scaled_face(*masked_face(), REFERENCE_FACE_PX)
    face.mask = cv2.dilate(face.mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (53, 53)))  # (26 px past)
    hole = face.mask > 0
    oval = face_region(hole.shape, face.landmarks, antialiased=False) > 0
    face.image = face.image.copy()
    face.image[hole] = MASK_COLOUR
    face.image[~oval & ~hole] = WALL
    valid = face.valid & oval  # (the warp reaches the outline)
    cols = np.arange(hole.shape[1])[None, :]
    right = cols > face.landmarks[landmark_sets.YAW_PROBE[1], 0]
    to_edge = cv2.distanceTransform(valid.astype(np.uint8), cv2.DIST_L2, 5)
    rim = valid & hole & right & (to_edge <= 8)
    deep = valid & hole & right & (to_edge > 16) & (to_edge <= 32)
    reference = face.reference.copy()
    reference[rim] = (reference[rim] * 0.45).astype(np.uint8)  # (the shade where the cheek turns away)
    gaps = hole & ~valid
    strip = on_face(hole, face.landmarks, turn=0.15) & gaps & ~oval & right
    assert strip.sum() > 500 and cv2.distanceTransform(strip.astype(np.uint8), cv2.DIST_L2, 3).max() < 7

    def darker(options: OutsideFillOptions, where: np.ndarray) -> float:
        """How much darker than the deep skin the ``where`` pixels come out (mean over the channels' means)."""
        out = reference.copy()
        fill_on_face(out, gaps, hole, valid, face.landmarks, options, image=face.image, turn=0.15)
        skin = out[deep].reshape(-1, 3).astype(np.float32).mean(axis=0)
        return float((skin - out[where].reshape(-1, 3).astype(np.float32).mean(axis=0)).mean())

    off, on = OutsideFillOptions(turned_fade=False), OutsideFillOptions()
    assert darker(off, strip) > 40 and darker(on, strip) < 0.4 * darker(off, strip), (darker(off, strip), darker(on, strip))
    assert darker(on, rim) < 0.75 * darker(off, rim), (darker(off, rim), darker(on, rim))


def test_the_continued_skin_from_whole_cells_stays_near_the_full_size_average() -> None:
    # The continuation's averages are built on cells of f x f pixels (f = sigma // 2), the stack padded with zeros to
    # whole cells (the area resize's fast path, the cells aligned with the pixels) and scaled back by the whole factor:
    # on skin whose colour changes across the region (and pixel noise), the colour it writes into a gap stays within
    # two levels (half a level on average) of the full-size normalised Gaussian average it stands for (near sigma, its
    # far 4x where the near has almost nothing), on a region whose size is no whole number of cells.
    rng = np.random.default_rng(11)
    h, w = 157, 203
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    skin = np.stack([150 + 0.4 * xx, 110 + 0.3 * yy, 90 + 0.15 * (xx + yy)], axis=2)
    skin += rng.normal(0.0, 6.0, skin.shape)
    source = np.clip(skin + 0.5, 0, 255).astype(np.uint8)
    gaps = np.zeros((h, w), bool)
    cv2.ellipse(gaps.view(np.uint8), (110, 80), (45, 30), 20, 0, 360, 1, -1)
    covered = ~gaps
    covered[:, :12] = False  # (a strip unread: the averages' weight is not whole everywhere)
    for sigma in (9.0, 13.0):
        out = source.copy()
        continue_skin(out, gaps, covered, sigma)
        stack = np.zeros((h, w, 4), np.float32)
        stack[covered, :3] = source[covered]
        stack[covered, 3] = 1.0
        both = cv2.GaussianBlur(stack, (0, 0), sigma, borderType=cv2.BORDER_CONSTANT) + 1e-3 * cv2.GaussianBlur(
            stack, (0, 0), 4 * sigma, borderType=cv2.BORDER_CONSTANT)
        exact = both[gaps, :3] / both[gaps, 3:]
        err = np.abs(out[gaps].astype(np.float32) - exact)
        assert err.mean() < 0.5 and err.max() < 2.0, (sigma, err.mean(), err.max())
        assert np.array_equal(out[~gaps], source[~gaps])


def test_the_height_down_the_face_is_the_pixel_grids_bit_for_bit() -> None:
    from unmask_video.reconstruct.outside_fill import _height_down

    rng = np.random.default_rng(9)
    for _ in range(20):
        h, w = (int(v) for v in rng.integers(1, 300, 2))
        angle = rng.uniform(-np.pi, np.pi)
        down = np.array([np.sin(angle), np.cos(angle)])
        ys, xs = np.mgrid[0:h, 0:w]
        assert np.array_equal(_height_down((h, w), down), xs * down[0] + ys * down[1])
