"""The reference matte: only the reference's own face and neck skin is carried by the warp, never its wall, hair or
clothes, even where they have the colour of skin."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.test_warp import astronaut, lower_face_and_neck, moved_astronaut
from unmask_video import landmark_sets
from unmask_video import reference_matte as reference_matte_module
from unmask_video.below_jaw import neck_region
from unmask_video.face_axes import neck_column
from unmask_video.face_shape import face_region
from unmask_video.reconstruct.color_match import match_color
from unmask_video.reference_matte import mirror_fill, mirror_map, mirror_pairs, reference_matte
from unmask_video.warp import ReferenceWarper, WarpOptions


def _height(lm: np.ndarray) -> float:
    top, chin = (np.asarray(lm, np.float64)[i] for i in landmark_sets.FACE_HEIGHT)
    return float(np.hypot(*(chin - top)))


def _lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.asarray(rgb, np.float32).reshape(1, -1, 3) / 255.0, cv2.COLOR_RGB2Lab).reshape(-1, 3)


def _walled(colour: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The astronaut in front of a wall of a skin-like colour that reaches the face's outline (her hair, ears and the
    suit beside the neck painted over): (image, landmarks, the wall's (h, w) bool map)."""
    image, lm = astronaut()
    shape = image.shape[:2]
    height = _height(lm)
    face = face_region(shape, lm, antialiased=False)
    skin = np.median(image[cv2.erode(face, np.ones((25, 25), np.uint8)) > 0], axis=0)
    # Right up to the outline (no gap), the wall beside the cheeks and the jaw; below the jaw the neck's column stays.
    below = np.zeros(shape, bool)
    below[int(lm[list(landmark_sets.LOWER_JAW), 1].max()) - 4:] = True
    keep = (face > 0) | ((neck_column(shape, lm) > 0) & below)
    if colour == "pale":
        # A wall of the skin's own colour and light cannot be told from skin where skin may be (below the jaw's
        # corners, in the neck's column): only beside the face and the neck.
        keep |= (neck_region(shape, lm, 0.4) > 0) & (neck_column(shape, lm) > 0)
    wall = ~keep
    wall[: int(lm[list(landmark_sets.LEFT_EYE_CORNERS), 1].min())] = False  # (her hair above the eyes stays)
    if colour == "orange":  # a wooden or painted wall: skin's hue, far more saturated
        tone = np.array([214.0, 138.0, 66.0])
    else:  # "pale": skin's own hue, a little lighter (a lit wall, a pale shirt): only where it lies tells it apart
        tone = np.clip(skin * 1.25 + 12, 0, 255)
    rng = np.random.default_rng(5)
    walled = image.copy()
    walled[wall] = np.clip(tone + rng.normal(0, 4, (int(wall.sum()), 3)), 0, 255).astype(np.uint8)
    walled.setflags(write=False)
    assert height > 100
    return walled, lm, wall


def _carried(image: np.ndarray, lm: np.ndarray, wall: np.ndarray, target: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """(h, w) bool: the valid pixels of a warp onto ``target`` that sample the reference's ``wall`` (as it is: not
    where the mirror fill has painted the face's own skin over it, at the face's outline)."""
    warper = ReferenceWarper(image, lm, WarpOptions())
    map_x, map_y = warper.maps(target, valid.shape)
    dx, dy = (np.asarray(lm, np.float32)[0] - warper.landmarks[0]).tolist()  # (the reference is cropped to its face)
    at = cv2.remap(wall.astype(np.uint8) * 255, map_x + np.float32(dx), map_y + np.float32(dy), cv2.INTER_LINEAR)
    painted = (warper.image != ReferenceWarper(image, lm, WarpOptions(mirror_fill=False)).image).any(axis=2)
    over = cv2.remap(painted.astype(np.uint8) * 255, map_x, map_y, cv2.INTER_LINEAR)
    return valid & (at >= 128) & (over < 128)


@pytest.mark.parametrize("colour", ["orange", "pale"])
def test_a_skin_coloured_wall_beside_the_face_is_not_carried(colour: str) -> None:
    image, lm, wall = _walled(colour)
    wall_lab = _lab(image[wall]).mean(axis=0)
    truth, target = moved_astronaut()
    shape = image.shape[:2]
    # The wall is near the face's skin colour (the test is not trivially easy)...
    face_lab = _lab(image[cv2.erode(face_region(shape, lm), np.ones((25, 25), np.uint8)) > 0]).mean(axis=0)
    assert np.linalg.norm(wall_lab[1:] - face_lab[1:]) < 40
    _, valid, _ = ReferenceWarper(image, lm, WarpOptions()).warp(target, shape)
    # ... and none of it is carried onto the frame: no valid pixel samples the wall.
    assert valid.sum() > 5000 and _carried(image, lm, wall, target, valid).sum() < 20
    # The face and the neck below the jaw are carried (and match the moved truth).
    inner = cv2.erode(face_region(shape, target), np.ones((31, 31), np.uint8)) > 0
    assert valid[inner].mean() > 0.98
    neck = (neck_region(shape, target, 0.2) > 0) & (neck_column(shape, target) > 0) & (face_region(shape, target) == 0)
    neck &= truth.mean(axis=2) > 90  # (her skin, not the black suit under it)
    neck = cv2.erode(neck.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    assert neck.sum() > 150 and valid[neck].mean() > 0.9
    # The rule before the matte (a colour test alone, and the whole region below the jaw outside it) carried it.
    _, old_valid, _ = ReferenceWarper(image, lm, WarpOptions(reference_matte=False, reach_skin_only=False)).warp(target, shape)
    assert _carried(image, lm, wall, target, old_valid).sum() > 300


def test_the_matte_keeps_the_lips_and_eyes_and_drops_hair_reaching_in_over_a_cheek() -> None:
    image, lm = astronaut()
    shape = image.shape[:2]
    height = _height(lm)
    face = face_region(shape, lm)
    # A dark lock of hair from outside the face over the image-left cheek, down to beside the mouth.
    hair = np.zeros(shape, np.uint8)
    cheek, mouth = lm[234], lm[61]
    start = (int(cheek[0] - 0.1 * height), int(cheek[1]))
    end = (int(0.5 * (cheek[0] + mouth[0])), int(mouth[1]))
    cv2.line(hair, start, end, 255, max(int(0.05 * height), 3))
    haired = image.copy()
    haired[hair > 0] = (35, 25, 20)
    reach = face | cv2.dilate(face, np.ones((9, 9), np.uint8))
    matte = reference_matte(haired, lm, face, reach, height) > 0
    inside = (hair > 0) & (face > 0)
    assert inside.sum() > 100
    assert matte[inside].mean() < 0.05
    # The lips, nostrils and eyes are not skin-coloured, and are the face: enclosed by its skin, they stay.
    for points in (landmark_sets.LIPS_OUTER, landmark_sets.LEFT_EYE_CORNERS + landmark_sets.RIGHT_EYE_CORNERS):
        poly = np.zeros(shape, np.uint8)
        cv2.fillConvexPoly(poly, cv2.convexHull(np.round(lm[list(points)]).astype(np.int32)), 255)
        assert matte[poly > 0].mean() > 0.95
    # Nothing outside where skin may be.
    assert not (matte & (reach == 0)).any()


def test_an_eye_whose_dark_make_up_runs_into_hair_stays_in_the_matte() -> None:
    image, lm = astronaut()
    shape = image.shape[:2]
    height = _height(lm)
    face = face_region(shape, lm)
    # A dark wing of eyeliner from the image-right eye's outer corner out to a lock of hair beside the temple: the
    # eye is no longer enclosed by skin (it joins what lies outside the face).
    corner = lm[landmark_sets.RIGHT_EYE_CORNERS[1]]
    out = (int(corner[0] + 0.35 * height), int(corner[1] - 0.05 * height))
    dark = np.zeros(shape, np.uint8)
    cv2.line(dark, (int(corner[0]), int(corner[1])), out, 255, max(int(0.03 * height), 3))
    cv2.fillConvexPoly(dark, cv2.convexHull(np.round(lm[list(landmark_sets.RIGHT_EYE_OUTLINE)]).astype(np.int32)), 255)
    made_up = image.copy()
    made_up[dark > 0] = (30, 22, 20)
    reach = face | cv2.dilate(face, np.ones((9, 9), np.uint8))
    eye = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(eye, cv2.convexHull(np.round(lm[list(landmark_sets.RIGHT_EYE_OUTLINE)]).astype(np.int32)), 255)
    assert ((dark > 0) & (reach == 0)).any()  # (the wing reaches past where skin may be)
    matte = reference_matte(made_up, lm, face, reach, height) > 0
    assert matte[eye > 0].mean() > 0.95
    # the wing itself, away from the eye, stays out (it is no skin and does not belong to the eye)
    wing = (dark > 0) & (face > 0) & (reach > 0)
    far = wing.copy()
    far[:, : int(corner[0] + 0.06 * height)] = False
    assert far.sum() > 30 and matte[far].mean() < 0.3


def test_a_pale_wall_the_face_oval_runs_onto_is_cut_at_the_cheek(monkeypatch: pytest.MonkeyPatch) -> None:
    # FaceMesh's oval often runs a few pixels past the cheek onto the wall; a pale, greyish wall passes the colour test
    # (lit skin), and that strip, carried into the frame's cheek and colour-matched, showed as a thin bright line.
    image, lm = astronaut()
    shape = image.shape[:2]
    height = _height(lm)
    face = face_region(shape, lm)
    depth = cv2.distanceTransform((face > 0).astype(np.uint8), cv2.DIST_L2, 3)
    skin = np.median(image[cv2.erode(face, np.ones((25, 25), np.uint8)) > 0], axis=0)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    eyes = lm[list(landmark_sets.LEFT_EYE_CORNERS + landmark_sets.RIGHT_EYE_CORNERS), 1].max()
    side = (xx < lm[:, 0].mean()) & (yy > eyes) & (yy < lm[list(landmark_sets.NECK_SIDES), 1].min())
    # The image-left cheek ends 0.025 face heights inside the oval; beside it a wall of the skin's colour half greyed
    # and a little lighter.
    strip = side & (face > 0) & (depth <= 0.025 * height)
    wall = side & ((face == 0) | strip) & (xx > lm[:, 0].min() - 0.15 * height)
    tone = np.clip((0.5 * skin + 0.5 * skin.mean()) * 1.1 + 10, 0, 255)
    walled = image.copy()
    walled[wall] = np.clip(tone + np.random.default_rng(5).normal(0, 3, (int(wall.sum()), 3)), 0, 255).astype(np.uint8)
    matte = reference_matte(walled, lm, face, face, height) > 0
    plain = reference_matte(image, lm, face, face, height) > 0
    assert strip.sum() > 80
    assert matte[strip].mean() < 0.25
    # The face's own skin further in stays, and on the plain photo (hair and a dark background beside the face) the
    # matte loses a few pixels along its outline at most.
    assert matte[depth > 0.05 * height].mean() > 0.95
    # Without the comparison along the outline, the colour test alone took the strip (and the plain photo's matte).
    monkeypatch.setattr(reference_matte_module, "outside_like", lambda lab, skin, reach, height: np.zeros_like(skin))
    assert (reference_matte(walled, lm, face, face, height) > 0)[strip].mean() > 0.6
    before = reference_matte(image, lm, face, face, height) > 0
    assert (before != plain).sum() < 0.01 * before.sum()


def test_a_reference_whose_face_centre_is_too_small_keeps_the_whole_region() -> None:
    image, lm = astronaut()
    tiny = (lm - lm.mean(axis=0)) * 0.05 + lm.mean(axis=0)
    face = face_region(image.shape[:2], tiny)
    matte = reference_matte(image, tiny, face, face, _height(tiny))
    assert np.array_equal(matte, face)


def test_the_references_surroundings_are_carried_from_the_same_place_only_in_the_same_pose() -> None:
    # A reference from the same place (the frame's own photo): beside its face lies what lies beside the frame's, as
    # long as the head is seen as in the reference. Once it has turned, the reference's wall beside the jaw lands on
    # the cheek: only the matte is carried, as from a reference taken elsewhere.
    image, lm = astronaut()
    truth, target = moved_astronaut()
    shape = image.shape[:2]
    mask = lower_face_and_neck(shape, target)
    left, bridge, right = landmark_sets.YAW_PROBE
    turned = target.copy()
    turned[bridge] += 0.2 * (target[right] - target[left])  # the nose bridge towards one side: the head has turned
    valid = {}
    # (the registration off: it reads the frame, and the run without one would lie elsewhere)
    for name, points, frame in (("same pose", target, truth), ("turned", turned, truth), ("elsewhere", turned, None)):
        _, valid[name], _ = ReferenceWarper(image, lm, WarpOptions(register=0.0)).warp(
            points, shape, track=1, image=frame, mask=None if frame is None else mask)
    _, strict, _ = ReferenceWarper(image, lm, WarpOptions()).warp(target, shape)
    assert (valid["same pose"] & ~strict & (mask > 0)).sum() > 300
    assert np.array_equal(valid["turned"], valid["elsewhere"])


def test_the_colour_match_lights_no_rim_along_the_edge_of_what_the_warp_covers() -> None:
    # With the matte, the edge of what the warp covers runs through the mask (the fill takes over there). The colour
    # gains are built at a working size: a working pixel across that edge must not mix the reference with the black
    # the warp leaves where it is not valid, or its gain is too strong and the rebuilt skin gets a bright rim.
    h = w = 240
    yy, xx = np.mgrid[:h, :w]
    covered = (xx < 150) | (yy < 80)  # (the ring above the hole reaches past the edge, as around a face)
    reference = np.zeros((h, w, 3), np.uint8)
    reference[covered] = (150, 100, 85)
    target = np.full((h, w, 3), (215, 150, 125), np.uint8)
    hole = (np.abs(yy - 120) < 60) & (np.abs(xx - 120) < 60)
    ring = ~hole & (np.abs(yy - 120) < 80) & (np.abs(xx - 120) < 80) & covered
    apply = hole & covered
    out = match_color(reference, target, ring, apply, local_sigma=0.35, hole=hole, seam_sigma=0.05)
    edge, inner = out[apply & (xx == 149) & (yy > 100)].mean(axis=0), out[apply & (xx == 130) & (yy > 100)].mean(axis=0)
    assert np.abs(edge - inner).max() < 3, (edge, inner)


def _haired_cheek() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The astronaut with a dark lock of hair down her image-left cheek, below the eyes: (image, landmarks, the lock's
    (h, w) bool map inside the face, the same place mirrored onto the other cheek)."""
    image, lm = astronaut()
    shape = image.shape[:2]
    height = _height(lm)
    eyes_y = lm[list(landmark_sets.LEFT_EYE_CORNERS + landmark_sets.RIGHT_EYE_CORNERS), 1].mean()
    hair = np.zeros(shape, np.uint8)
    top = (int(lm[234, 0] - 0.05 * height), int(eyes_y + 0.15 * height))
    bottom = (int(lm[172, 0] + 0.08 * height), int(lm[172, 1] - 0.05 * height))
    cv2.line(hair, top, bottom, 255, max(int(0.07 * height), 3))
    haired = image.copy()
    haired[hair > 0] = (40, 28, 22)
    inside = (hair > 0) & (cv2.erode(face_region(shape, lm), np.ones((9, 9), np.uint8)) > 0)
    # Its mirror: the same place across the face's midline (through the nose bridge and the chin).
    mid = lm[list(landmark_sets.NOSE[:1]) + [landmark_sets.CHIN]].mean(axis=0)
    other = np.zeros(shape, bool)
    ys, xs = np.nonzero(inside)
    other[ys, np.clip((2 * mid[0] - xs).astype(int), 0, shape[1] - 1)] = True
    return haired, lm, inside, other


def test_the_mirror_fill_gives_a_hair_covered_cheek_the_other_cheeks_skin() -> None:
    haired, lm, inside, other = _haired_cheek()
    shape = haired.shape[:2]
    height = _height(lm)
    face = face_region(shape, lm)
    matte = reference_matte(haired, lm, face, face, height)
    assert inside.sum() > 120 and (matte[inside] > 0).mean() < 0.1  # (the lock is not skin: a hole in the matte)
    filled, grown = mirror_fill(haired, lm, matte, face, height)
    # The lock is skin now, coloured like the other cheek, not like the hair; the rest of the picture is untouched.
    assert (grown[inside] > 0).mean() > 0.9
    skin = _lab(haired[other & (matte > 0)]).mean(axis=0)
    assert np.linalg.norm(_lab(filled[inside]).mean(axis=0)[1:] - skin[1:]) < 4  # (its hue; its light is its side's)
    assert np.linalg.norm(_lab(haired[inside]).mean(axis=0) - skin) > 30
    truth = _lab(astronaut()[0][inside]).mean(axis=0)  # (the cheek under the lock)
    assert np.linalg.norm(_lab(filled[inside]).mean(axis=0) - truth) < 8  # (the lock itself: 55 away)
    away = cv2.dilate(((grown > 0) != (matte > 0)).astype(np.uint8), np.ones((9, 9), np.uint8)) == 0
    assert np.array_equal(filled[away], haired[away])
    # No edge where the fill meets the skin around it: each pixel of the fill's rim has the lightness of the skin just
    # outside it (the mean within a few pixels), as the hair's had not.
    light = _lab(filled).reshape(shape + (3,))[..., 0]
    rim = (cv2.dilate(inside.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0) & ~inside & (matte > 0)
    rim &= (haired != (40, 28, 22)).any(axis=2)  # (the skin around it, not the lock's ends past the face)
    edge = (cv2.dilate((~inside).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0) & inside & (grown > 0)
    around = cv2.blur(light * rim, (7, 7)) / np.maximum(cv2.blur(rim.astype(np.float32), (7, 7)), 1e-6)
    near = edge & (cv2.blur(rim.astype(np.float32), (7, 7)) > 0.1)
    assert near.sum() > 30 and np.abs(light[near] - around[near]).mean() < 4.5  # (the untouched photo's: 3.6)

    # Through the warp: the filled cheek is valid (option on) and not (option off).
    for on in (True, False):
        warper = ReferenceWarper(haired, lm, WarpOptions(mirror_fill=on))
        _, valid, _ = warper.warp(lm, shape)
        assert valid[cv2.erode(inside.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0].mean() > (0.9 if on else -1)
        if not on:
            assert valid[inside].mean() < 0.1


def test_the_mirror_map_takes_each_side_of_the_face_to_the_other() -> None:
    _, lm = astronaut()
    height = _height(lm)
    a, b = mirror_pairs()
    assert len(a) > 40 and np.array_equal(np.sort(a), np.sort(np.unique(a)))
    mirror = mirror_map(lm, height)
    for left, right in ((234, 454), (61, 291), (33, 263), (172, 397)):
        to = mirror(lm[[left]])
        assert np.hypot(*(to[0] - lm[right])) < 0.04 * height, (left, right)


def test_the_row_wise_erosion_and_dilation_give_the_discs_pixels() -> None:
    """:func:`eroded` and :func:`dilated` (from the rows' runs where each row holds one: an oval, a polygon, the
    picture's border) give the pixels of the disc's erosion and dilation, and of them on maps with holes or several
    runs a row (where they fall back)."""
    rng = np.random.default_rng(1)
    for t in range(300):
        h, w = (int(v) for v in rng.integers(5, 120, 2))
        image = np.zeros((h, w), np.uint8)
        if t % 4 == 0:
            centre = (int(rng.integers(-20, w + 20)), int(rng.integers(-20, h + 20)))
            axes = (int(rng.integers(1, w)), int(rng.integers(1, h)))
            cv2.ellipse(image, centre, axes, float(rng.uniform(0, 180)), 0, 360, 255, -1)
        elif t % 4 == 1:
            points = rng.integers(-30, max(h, w) + 30, (int(rng.integers(3, 9)), 2)).astype(np.int32)
            cv2.fillConvexPoly(image, cv2.convexHull(points), 255)
        elif t % 4 == 2:
            image[:] = 255 * (rng.random((h, w)) < 0.9)
        else:
            image[:] = 255
            image[int(rng.integers(0, h))] = 0
        size = float(rng.uniform(0.5, 30))
        for op, row_wise in ((cv2.MORPH_ERODE, reference_matte_module.eroded), (cv2.MORPH_DILATE, reference_matte_module.dilated)):
            expected = reference_matte_module.by_disc(image, op, size) > 0
            np.testing.assert_array_equal(row_wise(image > 0, size), expected)


def test_a_blown_out_white_background_beside_the_neck_is_not_skin(monkeypatch: pytest.MonkeyPatch) -> None:
    # The grey-mask man's stand-in: a face lit with a wide spread of light, and beside its neck, in the neck's column,
    # a blown-out white background. The lightness test lets the white pass (lit skin is allowed lighter by the face's
    # own spread); carried into the frame's jaw it showed as a pink block on the collar. Clipped white is not skin.
    image, lm = astronaut()
    shape = image.shape[:2]
    height = _height(lm)
    face = face_region(shape, lm, antialiased=False)
    # (a wide spread of light across the face: lit from its left, its right half in shadow, nothing clipped)
    ramp = np.clip(0.5 + (lm[:, 0].mean() - np.arange(shape[1])) / (0.5 * height), 0, 1)[None, :, None]
    lit = np.clip(image.astype(np.float32) * (0.3 + 0.9 * ramp), 0, 245).astype(np.uint8)
    below = np.arange(shape[0])[:, None] > lm[list(landmark_sets.LOWER_JAW), 1].max()
    column = (neck_column(shape, lm) > 0) & (neck_region(shape, lm, 0.4) > 0)
    side = np.arange(shape[1])[None, :] < np.median(np.nonzero(column)[1])
    white = column & below & side & (lit.mean(axis=2) < 90)  # (the dark suit beside her neck, made blown-out white)
    lit[white] = 255
    assert white.sum() > 300
    reach = ((((neck_region(shape, lm, 0.4) > 0) & (neck_column(shape, lm) > 0)) | (face > 0)) * 255).astype(np.uint8)
    matte = reference_matte(lit, lm, face, reach, height) > 0
    monkeypatch.setattr(reference_matte_module, "_CLIPPED", 256)  # (without the rule)
    before = reference_matte(lit, lm, face, reach, height) > 0
    inner = cv2.erode(white.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    assert before[inner].mean() > 0.5, before[inner].mean()  # (the white passed the colour test)
    assert matte[inner].mean() < 0.02, matte[inner].mean()
    away = cv2.dilate(white.astype(np.uint8), np.ones((31, 31), np.uint8)) == 0
    assert (matte[away] == before[away]).mean() > 0.999  # (the rest of the matte as it was)


def test_the_matte_edge_takes_the_colour_just_inside_it_where_it_is_lighter() -> None:
    # A disc of skin whose outermost ring is a blend with the white beyond it (a photo's edge pixels), but for a
    # darker (shaded) arc of it, which stays.
    image = np.full((80, 80, 3), 245, np.uint8)
    cv2.circle(image, (40, 40), 25, (180, 120, 100), -1)
    cv2.circle(image, (40, 40), 25, (215, 185, 175), 2)
    cv2.ellipse(image, (40, 40), (25, 25), 0, 60, 120, (120, 80, 66), 2)
    matte = np.zeros((80, 80), np.uint8)
    cv2.circle(matte, (40, 40), 26, 255, -1)
    cleaned = reference_matte_module.inner_colour_at_edge(image, matte, 200.0, np.zeros_like(matte))  # (12 px deep)
    ring = (matte > 0) & (cv2.distanceTransform((matte > 0).view(np.uint8), cv2.DIST_L2, 3) <= 5)
    pale = ring & (image == (215, 185, 175)).all(axis=2)
    shaded = ring & (image == (120, 80, 66)).all(axis=2)
    assert pale.sum() > 100 and shaded.sum() > 20
    assert (cleaned[pale] == (180, 120, 100)).all()
    assert (cleaned[shaded] == (120, 80, 66)).all()
    assert (cleaned[~pale] == image[~pale]).all()

    # The face oval's upper half keeps its edge (``face``: here the disc itself, rows 14-66: above row 40), where a
    # reference from the same place carries its surroundings past the matte beside the cheeks.
    kept = reference_matte_module.inner_colour_at_edge(image, matte, 200.0, matte)
    assert (kept[:40] == image[:40]).all() and (kept[40:] == cleaned[40:]).all()


def test_a_pale_wedge_in_the_notch_between_jaw_and_neck_takes_the_skins_colour_evenly() -> None:
    # A face (an ellipse) on a narrower neck against a white background, the notch between the jaw and the neck on one
    # side closed over by the matte (its smoothing), a sharpening halo along the jaw: inside the face oval, up to 9 px
    # deep, where the rule of old (below the jaw only, the nearest deep pixel's colour, 0.025 face heights) left it.
    shape, height = (160, 140), 200.0  # (12 px of edge)
    image = np.full(shape + (3,), 250, np.uint8)
    skin = np.array((170, 115, 95), np.uint8)
    cv2.ellipse(image, (70, 70), (45, 60), 0, 0, 360, skin.tolist(), -1)
    cv2.rectangle(image, (45, 100), (95, 159), skin.tolist(), -1)
    rng = np.random.default_rng(3)
    image = np.clip(image.astype(np.int16) + rng.integers(-4, 5, image.shape), 0, 255).astype(np.uint8)
    cv2.ellipse(image, (70, 70), (45, 60), 0, 40, 140, (225, 205, 195), 2)  # (the halo along the jaw)
    matte = np.zeros(shape, np.uint8)
    cv2.ellipse(matte, (70, 70), (45, 60), 0, 0, 360, 255, -1)
    cv2.rectangle(matte, (45, 100), (95, 159), 255, -1)
    notch = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(notch, np.array([[30, 112], [45, 112], [45, 128]], np.int32), 255)
    matte |= notch  # (the background in the notch, closed over)
    face = np.zeros(shape, np.uint8)
    cv2.ellipse(face, (70, 70), (45, 60), 0, 0, 360, 255, -1)
    wedge = (notch > 0) & (image.min(axis=2) > 240)
    halo = (image == (225, 205, 195)).all(axis=2)
    assert wedge.sum() > 40 and halo.sum() > 80
    cleaned = reference_matte_module.inner_colour_at_edge(image, matte, height, face)
    lab = cv2.cvtColor(cleaned, cv2.COLOR_RGB2Lab).astype(np.float32)
    skin_l = cv2.cvtColor(skin[None, None], cv2.COLOR_RGB2Lab)[0, 0, 0]
    # (the halo beside the neck, on the jaw's outline; where it crosses the neck it lies deep in the matte, and stays)
    cols = np.arange(shape[1])[None, :]
    for part in (wedge, halo & (matte > 0) & (np.arange(shape[0])[:, None] > 100) & ((cols < 45) | (cols > 95))):
        # (within 10 L: the average deeper in holds the halo where it crosses the neck)
        assert np.abs(lab[part][:, 0] - skin_l).max() < 10, np.abs(lab[part][:, 0] - skin_l).max()
    assert lab[wedge][:, 0].std() < 2.0  # (evenly: the local average, not each pixel's nearest deep pixel)
    assert (cleaned[matte == 0] == image[matte == 0]).all()


def test_a_lit_edge_beside_a_darker_background_is_only_toned_down() -> None:
    # A disc of skin whose outermost ring is lit (a stand-in's cheek lit from its side) against a dark bronze wall: its
    # pale pixels are the skin's own highlight, no blend with what lies past it; their lightness over the skin deeper in
    # is brought down to the rule's threshold, not replaced by the skin's colour (which, where the highlight crossed the
    # threshold and not beside it, left flat orange blots that the colour match turned into red streaks on a rebuilt
    # cheek). Against a white wall the same ring is a halo and takes the skin's colour.
    skin, pale = (180, 120, 100), (225, 185, 170)

    def disc(background: int) -> np.ndarray:
        image = np.full((80, 80, 3), background, np.uint8)
        cv2.circle(image, (40, 40), 25, skin, -1)
        cv2.circle(image, (40, 40), 25, pale, 2)
        return image

    def lightness(colours: np.ndarray) -> np.ndarray:
        return cv2.cvtColor(colours.reshape(-1, 1, 3), cv2.COLOR_RGB2Lab)[:, 0, 0].astype(np.float32) * (100 / 255)

    matte = np.zeros((80, 80), np.uint8)
    cv2.circle(matte, (40, 40), 26, 255, -1)
    ring = (matte > 0) & (cv2.distanceTransform((matte > 0).view(np.uint8), cv2.DIST_L2, 3) <= 5)
    ring[:40] = False  # (the face oval's lower half: ``face`` is the disc itself, rows 14-66)
    skin_l = lightness(np.array(skin, np.uint8))[0]
    assert lightness(np.array(pale, np.uint8))[0] - skin_l > 15
    image = disc(70)
    lit = ring & (image == pale).all(axis=2)
    assert lit.sum() > 100
    cleaned = reference_matte_module.inner_colour_at_edge(image, matte, 200.0, matte)
    over = lightness(cleaned[lit]) - skin_l
    assert np.abs(over - reference_matte_module._EDGE_LIGHTER).max() < 1.5, (over.min(), over.max())
    assert (cleaned[~lit] == image[~lit]).all()
    halo = reference_matte_module.inner_colour_at_edge(disc(245), matte, 200.0, matte)
    assert (halo[lit] == skin).all()


def test_the_weighted_stack_is_the_broadcast_product_to_the_sign_of_zero() -> None:
    """:func:`reference_matte._weighted` (channel by channel, merged) gives what the broadcast product into the
    interleaved stack gave: Lab's negative a and b times 0 stay -0.0, the weight 0 / 1 in the fourth channel."""
    rng = np.random.default_rng(3)
    lab = ((rng.random((37, 53, 3)) - 0.4) * 120).astype(np.float32)
    where = rng.random((37, 53)) > 0.5
    expected = np.empty((37, 53, 4), np.float32)
    expected[..., 3] = where
    np.multiply(lab, expected[..., 3:], out=expected[..., :3])
    got = reference_matte_module._weighted(lab, where)
    assert got.dtype == np.float32 and got.shape == expected.shape
    assert np.array_equal(got, expected) and np.array_equal(np.signbit(got), np.signbit(expected))
    sums = reference_matte_module._local_sums(lab, where, 6.0)
    assert np.array_equal(sums, reference_matte_module._local_sums(lab, where, 6.0, got))
