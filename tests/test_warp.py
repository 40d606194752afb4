"""Thin-plate-spline warp of the reference onto a face: exactness, accuracy on real FaceMesh landmarks, validity."""

from __future__ import annotations

from functools import lru_cache

import cv2
import mediapipe as mp
import numpy as np
import pytest
import skimage.data

from unmask_video import landmark_sets
from unmask_video.below_jaw import below_jaw_points, neck_region
from unmask_video.errors import InputError, ProcessingError
from unmask_video.face_axes import neck_column
from unmask_video.face_shape import face_region, spread_of, yaw
from unmask_video.reference_picture import picture_box
from unmask_video.tps import fit_tps
from unmask_video.warp import ReferenceWarper, WarpOptions
from unmask_video.warp_maps import MapNodes, merge_with_validity, remap_with_validity, tps_maps


def detect(image: np.ndarray) -> np.ndarray:
    """(468, 2) landmarks of the one face in ``image``, FaceMesh in static mode (a real detection)."""
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1) as mesh:
        result = mesh.process(np.ascontiguousarray(image))
    assert result.multi_face_landmarks, "FaceMesh found no face in the test image"
    h, w = image.shape[:2]
    pts = result.multi_face_landmarks[0].landmark
    return np.array([[p.x * w, p.y * h] for p in pts], dtype=np.float32)


@lru_cache(maxsize=1)
def astronaut() -> tuple[np.ndarray, np.ndarray]:
    """The astronaut photo and its FaceMesh landmarks (read-only)."""
    image = skimage.data.astronaut()
    lm = detect(image)
    image.setflags(write=False)
    lm.setflags(write=False)
    return image, lm


def moved_astronaut(angle: float = 8.0, scale: float = 1.05, shift: tuple[float, float] = (7.0, -5.0)):
    """The astronaut rotated/scaled/shifted about her face: (image, landmarks carried by the same transform)."""
    image, lm = astronaut()
    m = cv2.getRotationMatrix2D((225.0, 140.0), angle, scale)
    m[:, 2] += shift
    moved = cv2.warpAffine(image, m, (image.shape[1], image.shape[0]), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return moved, (lm @ m[:, :2].T + m[:, 2]).astype(np.float32)


def lower_face_and_neck(shape: tuple[int, int], target: np.ndarray) -> np.ndarray:
    """(h, w) float32 mask of what a worn mask covers on a face with ``target`` landmarks: the face below the nose tip
    and the neck below the jaw."""
    face = face_region(shape, target) > 0
    below_nose = np.arange(shape[0])[:, None] > target[4, 1]
    return ((face & below_nose) | (neck_region(shape, target, 0.1) > 0)).astype(np.float32)


def psnr(a: np.ndarray, b: np.ndarray, where: np.ndarray) -> float:
    err = np.mean((a[where].astype(np.float64) - b[where].astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / max(err, 1e-10)))


# ---------------------------------------------------------------------------------------------- TPS


def test_tps_interpolates_control_points_exactly() -> None:
    rng = np.random.default_rng(1)
    src = rng.uniform(0, 300, (30, 2))
    dst = src + rng.normal(0, 8, (30, 2))
    tps = fit_tps(src, dst, regularization=0.0)
    np.testing.assert_allclose(tps(dst), src, atol=1e-6)


def test_tps_identity_when_points_coincide() -> None:
    rng = np.random.default_rng(2)
    pts = rng.uniform(0, 300, (30, 2))
    query = rng.uniform(-100, 400, (500, 2))
    for reg in (0.0, 0.1):
        np.testing.assert_allclose(fit_tps(pts, pts, reg)(query), query, atol=1e-6)


def test_tps_reproduces_an_affine_map_everywhere() -> None:
    rng = np.random.default_rng(3)
    dst = rng.uniform(0, 200, (20, 2))
    a = np.array([[1.1, 0.2], [-0.15, 0.9]])
    src = dst @ a.T + [5.0, -3.0]
    query = rng.uniform(-50, 250, (200, 2))
    np.testing.assert_allclose(fit_tps(src, dst, 0.05)(query), query @ a.T + [5.0, -3.0], atol=1e-6)


def test_tps_regularization_smooths_instead_of_interpolating() -> None:
    rng = np.random.default_rng(4)
    dst = rng.uniform(0, 200, (30, 2))
    src = dst + rng.normal(0, 5, (30, 2))
    residual = [np.abs(fit_tps(src, dst, reg)(dst) - src).max() for reg in (0.0, 0.01, 1.0)]
    assert residual[0] < 1e-6 < residual[1] < residual[2]


def test_tps_degenerate_points_are_a_processing_error() -> None:
    line = np.stack([np.arange(10.0), 2 * np.arange(10.0)], axis=1)
    with pytest.raises(ProcessingError):
        fit_tps(line, line)
    with pytest.raises(ProcessingError):
        fit_tps(np.full((5, 2), np.nan), np.zeros((5, 2)))


# --------------------------------------------------------------------------------------- the warper


def test_coarse_grid_map_matches_the_dense_map() -> None:
    image, lm = astronaut()
    _, target = moved_astronaut(angle=-12.0, scale=1.3)
    roi = target - [90.0, 20.0]
    dense = ReferenceWarper(image, lm, WarpOptions(grid_step=1)).maps(roi, (260, 300))
    for step in (2, 4, 8):
        coarse = ReferenceWarper(image, lm, WarpOptions(grid_step=step)).maps(roi, (260, 300))
        for c, d in zip(coarse, dense):
            assert c.shape == (260, 300)
            # Inside the face the spline is smooth; the bilinear upsampling error is far below a pixel.
            face = face_region((260, 300), roi) > 0
            assert np.abs(c - d)[face].max() < 0.1, step


def test_warp_onto_moved_face_matches_the_truth() -> None:
    image, lm = astronaut()
    truth, target = moved_astronaut()
    x0, y0, h, w = 120, 50, 220, 210
    roi_lm = target - [x0, y0]
    warped, valid, _ = ReferenceWarper(image, lm, WarpOptions()).warp(roi_lm, (h, w))
    assert warped.shape == (h, w, 3) and warped.dtype == np.uint8
    assert valid.shape == (h, w) and valid.dtype == bool
    face = face_region((h, w), roi_lm) >= 128
    inside = face & valid
    assert inside.sum() > 0.85 * face.sum()  # (the hair over her forehead is not her skin: the matte leaves it out)
    assert psnr(warped, truth[y0 : y0 + h, x0 : x0 + w], inside) > 25.0


def test_warp_of_a_region_matches_the_whole_warp_there_and_nothing_outside() -> None:
    image, lm = astronaut()
    truth, target = moved_astronaut()
    x0, y0, h, w = 120, 50, 220, 210
    roi_lm = target - [x0, y0]
    warper = ReferenceWarper(image, lm, WarpOptions())
    whole, whole_valid, _ = warper.warp(roi_lm, (h, w))
    region = (40, 110, 170, 200)  # the lower face
    part, part_valid, _ = warper.warp(roi_lm, (h, w), region)
    inside = np.zeros((h, w), bool)
    inside[region[1] : region[3], region[0] : region[2]] = True
    assert not part_valid[~inside].any() and (part[~inside] == 0).all()
    both = part_valid & whole_valid
    assert both.sum() > 0.97 * (whole_valid & inside).sum()
    # The spline's grid nodes sit elsewhere for a smaller box: sub-pixel differences only.
    assert np.abs(part[both].astype(int) - whole[both].astype(int)).mean() < 1.0
    assert psnr(part, truth[y0 : y0 + h, x0 : x0 + w], both) > 25.0


def test_valid_is_false_outside_the_face_and_below_the_jaw_and_warped_is_blank_there() -> None:
    image, lm = astronaut()
    _, target = moved_astronaut()
    options = WarpOptions()
    warped, valid, _ = ReferenceWarper(image, lm, options).warp(target, image.shape[:2])
    face = face_region(image.shape[:2], target) | neck_region(image.shape[:2], target, options.neck_reach)
    near_face = cv2.dilate(face, np.ones((5, 5), np.uint8)) > 0
    assert valid.any()
    assert not (valid & ~near_face).any()
    assert (warped[~valid] == 0).all()


def test_neck_below_the_jaw_is_covered_by_the_warp() -> None:
    # A worn mask reaches onto the neck: the warp must bring the reference's neck there (extrapolated
    # control points below the jaw), matching the truth, where the face oval alone stops at the jaw.
    image, lm = astronaut()
    truth, target = moved_astronaut()
    below = (neck_region(image.shape[:2], target, 0.3) > 0) & (face_region(image.shape[:2], target) == 0)
    assert below.sum() > 2000
    # (Everything below the jaw, her suit's collar ring included: the geometry, not the skin test below.)
    warped, valid, _ = ReferenceWarper(image, lm, WarpOptions(reach_skin_only=False)).warp(target, image.shape[:2])
    assert valid[below].mean() > 0.97
    assert psnr(warped, truth, below & valid) > 25.0
    _, oval_only, _ = ReferenceWarper(image, lm, WarpOptions(neck_reach=0.0)).warp(target, image.shape[:2])
    assert oval_only[below].mean() < 0.05


def test_only_the_references_skin_below_and_beside_the_jaw_is_carried() -> None:
    # A reference from another place: what it shows below and beside its jaw that is not skin (the astronaut's
    # dark suit ring, hair, a background) would be pasted beside the frame's jaw as a strip. Only its neck's skin,
    # within the neck's width, is valid there; the face oval stays valid whatever its colour.
    image, lm = astronaut()
    face = face_region(image.shape[:2], lm) > 0
    below = (neck_region(image.shape[:2], lm, 0.3) > 0) & ~face
    column = neck_column(image.shape[:2], lm) > 0
    skin = np.median(image[face], axis=0)
    rng = np.random.default_rng(3)
    necked = image.copy()
    necked[below & column] = np.clip(skin + rng.normal(0, 4, ((below & column).sum(), 3)), 0, 255).astype(np.uint8)
    necked.setflags(write=False)
    _, valid, _ = ReferenceWarper(necked, lm, WarpOptions()).warp(lm, image.shape[:2])
    # (a few pixels of margin: the skin is shrunk a little at its edge, and sampling blurs it)
    inner_neck = cv2.erode((below & column).astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    beside = cv2.erode((below & ~column).astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    assert inner_neck.sum() > 500 and beside.sum() > 300
    assert valid[inner_neck].mean() > 0.95
    assert valid[beside].mean() < 0.05  # the dark suit beside the neck
    _, everything, _ = ReferenceWarper(necked, lm, WarpOptions(reach_skin_only=False)).warp(lm, image.shape[:2])
    assert everything[beside].mean() > 0.95
    inside = cv2.erode(face.astype(np.uint8), np.ones((25, 25), np.uint8)) > 0
    assert valid[inside].all()  # eyes, lips and brows are not skin-coloured, and are the face


def test_the_references_surroundings_are_carried_where_the_frame_shows_the_same_place() -> None:
    # A reference from the same place (the frame's own photo): its suit ring beside and below the neck is what the
    # frame shows outside the mask there too, so it is carried under the mask. The same frame with another
    # background and clothes: only the reference's skin is.
    image, lm = astronaut()
    truth, target = moved_astronaut()
    shape = image.shape[:2]
    face = face_region(shape, target) > 0
    mask = lower_face_and_neck(shape, target)
    elsewhere = truth.copy()
    elsewhere[~face & (mask == 0)] = (40, 90, 200)
    valid = {}
    for name, frame in (("same", truth), ("elsewhere", elsewhere), ("no frame", None)):
        # (the registration off: it reads the frame, and the run without one would lie elsewhere)
        warper = ReferenceWarper(image, lm, WarpOptions(register=0.0))
        warped, valid[name], _ = warper.warp(target, shape, track=1, image=frame, mask=None if frame is None else mask)
        if name == "same":
            same_warped = warped
    assert np.array_equal(valid["elsewhere"], valid["no frame"])
    carried = valid["same"] & ~valid["elsewhere"] & (mask > 0)
    assert carried.sum() > 300 and not (valid["elsewhere"] & ~valid["same"]).any()
    assert psnr(same_warped, truth, carried) > 22.0


def _on_wall(image: np.ndarray, lm: np.ndarray, band_y: int | None, level: int = 150) -> np.ndarray:
    """``image`` with everything but the head and the neck below the chin replaced by a grey wall (of ``level``), with
    a dark horizontal band 12 px high from row ``band_y`` (None: no band)."""
    shape = image.shape[:2]
    head = cv2.dilate(face_region(shape, lm), np.ones((9, 9), np.uint8)) > 0
    head |= (neck_column(shape, lm) > 0) & (np.arange(shape[0])[:, None] > lm[landmark_sets.CHIN, 1] - 20)
    wall = np.full(image.shape, level, np.uint8)
    if band_y is not None:
        wall[band_y : band_y + 12] = 40
    return np.where(head[..., None], image, wall)


def test_the_references_wall_is_not_carried_where_the_head_has_moved_in_front_of_it() -> None:
    # (WarpOptions.same_place_local) A reference from the same place, the head moved down in front of a wall that stays: the spline carries the wall
    # down with the face. A plain wall looks the same shifted and is carried; a wall with a dark band beside the neck
    # is not carried near the band (the frame's band is higher than the carried one), and nothing carried is far from
    # what the frame shows there.
    image, lm = astronaut()
    shape = image.shape[:2]
    moved = cv2.warpAffine(image, np.float32([[1, 0, 0], [0, 1, 14]]), shape[::-1], borderMode=cv2.BORDER_REFLECT)
    target = lm + np.float32([0, 14])
    mask = lower_face_and_neck(shape, target)
    band = int(lm[list(landmark_sets.LOWER_JAW), 1].max()) + 4
    _, strict, _ = ReferenceWarper(_on_wall(image, lm, None), lm, WarpOptions()).warp(target, shape)
    carried, apart = {}, {}
    for name, band_y in (("plain", None), ("band", band)):
        frame = _on_wall(moved, target, band_y)
        warper = ReferenceWarper(_on_wall(image, lm, band_y), lm, WarpOptions(same_place_local=True))
        for _ in range(3):  # (the same-place decision is averaged over a track's frames)
            warped, valid, _ = warper.warp(target, shape, track=1, image=frame, mask=mask)
        carried[name] = valid & ~strict & (mask > 0)
        apart[name] = carried[name] & (np.abs(warped.astype(int) - frame.astype(int)).max(axis=2) > 40)
    assert carried["plain"].sum() > 300 and not apart["plain"].any()
    assert 0 < carried["band"].sum() < 0.5 * carried["plain"].sum() and not apart["band"].any()


def _pale_neck_edge(image: np.ndarray, lm: np.ndarray) -> np.ndarray:
    """``image`` (the astronaut on a white wall) with a bare neck of the face's skin colour in place of her dark collar,
    whose matte's outermost pixels below the jaw are a pale blend with the wall (as a photo's edge pixels)."""
    shape = image.shape[:2]
    out = image.copy()
    collar = (out.astype(int).sum(axis=2) < 150) & (np.arange(shape[0])[:, None] > lm[landmark_sets.CHIN, 1])
    out[collar] = np.median(out[face_region(shape, lm) > 0], axis=0).astype(np.uint8)
    warper = ReferenceWarper(out, lm, WarpOptions(matte_edge=False))
    matte = (warper._oval == 255).view(np.uint8)
    square = np.ones((3, 3), np.uint8)
    ring = (cv2.dilate(matte, square) > 0) & (cv2.erode(matte, square) == 0)
    ring &= face_region(matte.shape, warper.landmarks) == 0
    ys, xs = np.nonzero(ring)
    dx, dy = np.round(lm[0] - warper.landmarks[0]).astype(int)  # (the warper's crop of the picture)
    ys, xs = ys + dy, xs + dx
    inside = (ys >= 0) & (xs >= 0) & (ys < shape[0]) & (xs < shape[1])
    out[ys[inside], xs[inside]] = (232, 218, 210)
    return out


def test_a_frame_that_carries_the_references_wall_meets_the_matte_edge_as_the_photo_shows_it() -> None:
    # (WarpOptions.matte_edge) A reference on a white wall: the matte's outline below the jaw reaches its pale blend
    # with the wall, and those edge pixels take the skin's colour just inside. A frame from the same place carries the
    # wall past the matte, and there the edge is the photo's (the warp as without the recolour); once the frame shows
    # another wall the carry stops, and the edge is recoloured (as on a track that never carried).
    image, lm = astronaut()
    shape = image.shape[:2]
    reference = _pale_neck_edge(_on_wall(image, lm, None, level=250), lm)
    mask = lower_face_and_neck(shape, lm)
    frames = [reference] * 3 + [np.full(image.shape, 60, np.uint8)] * 8  # (then a frame in front of another wall)
    plain = ReferenceWarper(reference, lm, WarpOptions(matte_edge=False))
    edged = ReferenceWarper(reference, lm, WarpOptions())
    _, strict, _ = ReferenceWarper(reference, lm, WarpOptions()).warp(lm, shape)
    carried = 0
    for frame in frames:
        want, want_valid, _ = plain.warp(lm, shape, track=1, image=frame, mask=mask)
        got, valid, _ = edged.warp(lm, shape, track=1, image=frame, mask=mask)
        assert (valid == want_valid).all()
        if (valid & ~strict).sum() > 300:  # (carried: the wall past the matte is valid)
            carried += 1
            assert (got == want).all()
        else:  # (not carried: the pale edge recoloured, darker than the photo's, on a thin line of pixels)
            lighter = (want.astype(int).sum(axis=2) - got.astype(int).sum(axis=2))[valid]
            assert 20 < (lighter > 30).sum() < 0.05 * valid.sum() and (lighter >= 0).mean() > 0.99
    assert 3 <= carried < len(frames) - 2


def test_points_below_the_jaw_follow_the_face() -> None:
    # Extrapolated from the face geometry: a similarity transform of the face moves them alike.
    _, lm = astronaut()
    m = cv2.getRotationMatrix2D((200.0, 180.0), 12.0, 0.8)
    moved = lm @ m[:, :2].T + m[:, 2]
    expected = below_jaw_points(lm, 0.4) @ m[:, :2].T + m[:, 2]
    assert np.abs(below_jaw_points(moved, 0.4) - expected).max() < 1e-3
    oval = lm[list(landmark_sets.FACE_OVAL)].astype(np.float32)
    assert all(cv2.pointPolygonTest(oval, (float(x), float(y)), False) < 0 for x, y in below_jaw_points(lm, 0.4))


def test_letterbox_bars_of_the_reference_are_not_sampled() -> None:
    # A video frame as the reference, with a black bar under the chin: the neck the warp reaches for
    # is cut off there, and a bar is not a neck.
    image, lm = astronaut()
    barred = image.copy()
    cut = int(lm[152, 1]) + 25
    barred[cut:] = 4
    assert picture_box(barred) == (0, 0, image.shape[1], cut)
    warped, valid, _ = ReferenceWarper(barred, lm, WarpOptions(reach_skin_only=False)).warp(lm, image.shape[:2])
    assert valid[cut - 10 : cut - 3].any()
    # Past the bar's edge the neck is the picture's mirror image (or nothing), never the bar.
    past = valid.copy()
    past[: cut + 1] = False
    assert past.any() and (warped[cut + 1 :][~past[cut + 1 :]] == 0).all()
    ys, xs = np.nonzero(past)
    assert np.abs(warped[ys, xs].astype(int) - image[2 * (cut - 1) - ys, xs].astype(int)).mean() < 4.0


def test_neck_past_the_reference_pictures_edge_is_its_mirror_image() -> None:
    # A low face in a video frame used as the reference: the picture ends a little below the chin, and a
    # mask reaches further down the neck. There the warp shows the picture's neck mirrored at the edge (no
    # seam, no fill); a mirrored chin or face is not valid.
    image, lm = astronaut()
    cut = int(lm[152, 1]) + 12
    picture = np.ascontiguousarray(image[:cut])
    warped, valid, _ = ReferenceWarper(picture, lm, WarpOptions(reach_skin_only=False)).warp(lm, image.shape[:2])
    below = neck_region(image.shape[:2], lm, WarpOptions().neck_reach) > 0
    past = below.copy()
    past[: cut + 1] = False
    past[cut + 10 :] = False  # the mirror of the 10 rows above the edge: neck, below the jaw
    assert past.sum() > 300
    assert valid[past].mean() > 0.9
    ys, xs = np.nonzero(past & valid)
    mirror = picture[2 * (cut - 1) - ys, xs].astype(int)
    assert np.abs(warped[ys, xs].astype(int) - mirror).mean() < 4.0
    # Far past the edge the mirror would show the chin and the face: not valid.
    far = np.zeros_like(valid)
    far[cut + 40 :] = True
    assert not (valid & far).any()


def test_valid_is_false_outside_the_reference_image() -> None:
    image, lm = astronaut()
    # A reference cut just below the nose: the warp cannot say anything about the mouth and chin.
    cut = int(lm[2, 1]) + 3
    warper = ReferenceWarper(np.ascontiguousarray(image[:cut]), lm, WarpOptions())
    _, valid, _ = warper.warp(lm, image.shape[:2])
    assert valid[int(lm[1, 1]) - 4, int(lm[1, 0])]  # nose tip: covered
    assert not valid[int(lm[17, 1]), int(lm[17, 0])]  # lower lip: not in the reference
    assert not valid[cut + 1 :].any()


def _yawed(image: np.ndarray) -> np.ndarray:
    """The astronaut turned as if her head were rotated (a perspective squeeze of one side of the face)."""
    src = np.float32([[150, 60], [300, 60], [300, 220], [150, 220]])
    dst = np.float32([[158, 72], [290, 55], [290, 230], [158, 208]])
    m = cv2.getPerspectiveTransform(src, dst)
    return cv2.warpPerspective(image, m, (image.shape[1], image.shape[0]), borderMode=cv2.BORDER_REFLECT)


@pytest.mark.parametrize("kind", ["yawed", "mirrored"])
def test_reference_with_another_pose_lands_mouth_and_nose_on_the_target(kind: str) -> None:
    target, target_lm = astronaut()
    reference = _yawed(target) if kind == "yawed" else np.ascontiguousarray(target[:, ::-1])
    reference_lm = detect(reference)
    keypoints = list(landmark_sets.NOSE + landmark_sets.MOUTH)
    before = np.linalg.norm(reference_lm[keypoints] - target_lm[keypoints], axis=1).mean()

    warped, valid, _ = ReferenceWarper(reference, reference_lm, WarpOptions()).warp(target_lm, target.shape[:2])
    # The warped reference face pasted over the target, then detected again: its nose and mouth must
    # sit where the target's are.
    pasted = np.where(valid[..., None], warped, target)
    after_lm = detect(pasted)
    after = np.linalg.norm(after_lm[keypoints] - target_lm[keypoints], axis=1).mean()
    assert before > 8.0  # the poses really differ
    assert after < 2.5, (before, after)


def test_folded_warp_is_not_valid() -> None:
    # The jaw's control points follow FaceMesh here (by default they are the reference's, which cannot fold), and the
    # spline follows them closely (a strong regularisation smooths the fold away instead).
    image, lm = astronaut()
    checked = ReferenceWarper(image, lm, WarpOptions(jaw_from_reference=0.0, regularization=0.1))
    unchecked = ReferenceWarper(image, lm, WarpOptions(jaw_from_reference=0.0, regularization=0.1, min_jacobian=None))
    # A smooth pose change folds nothing: the check takes nothing away.
    _, target = moved_astronaut(angle=-10.0, scale=0.9)
    assert np.array_equal(checked.warp(target, image.shape[:2])[1], unchecked.warp(target, image.shape[:2])[1])
    # Chin landmarks dragged above the lower lip (a tracking failure): the spline folds between them.
    bad = lm.copy()
    bad[[152, 149, 378, 136, 365]] -= [0.0, 30.0]
    assert bad[152, 1] < lm[17, 1]
    _, valid, _ = checked.warp(bad, image.shape[:2])
    _, valid_unchecked, _ = unchecked.warp(bad, image.shape[:2])
    assert not (valid & ~valid_unchecked).any()
    assert (valid_unchecked & ~valid).sum() > 200


def test_big_reference_is_sampled_without_aliasing() -> None:
    image, lm = astronaut()
    truth, target = moved_astronaut()
    # A 4x bigger reference photo with a fine checkerboard that a proper downscale averages away.
    k = 4
    big = cv2.resize(image, None, fx=k, fy=k, interpolation=cv2.INTER_LINEAR).astype(np.int16)
    yy, xx = np.mgrid[: big.shape[0], : big.shape[1]]
    big = np.clip(big + (((xx + yy) % 2) * 60 - 30)[..., None], 0, 255).astype(np.uint8)
    face = face_region(truth.shape[:2], target) >= 128
    scores = {}
    for pyramid in (False, True):
        warped, valid, _ = ReferenceWarper(big, lm * k, WarpOptions(pyramid=pyramid)).warp(target, truth.shape[:2])
        scores[pyramid] = psnr(warped, truth, face & valid)
    assert scores[True] > 29.0
    assert scores[True] > scores[False] + 3.0, scores


def test_bad_reference_is_an_input_error() -> None:
    image, lm = astronaut()
    with pytest.raises(InputError):
        ReferenceWarper(image[..., 0], lm, WarpOptions())
    with pytest.raises(InputError):
        ReferenceWarper(image, np.full_like(lm, np.nan), WarpOptions())


def test_warp_follows_the_head_and_not_the_jitter_of_the_guessed_lower_face() -> None:
    # Under a mask FaceMesh guesses the mouth and jaw, and the guesses jitter from frame to frame. Per face
    # track the control points' shape is averaged in the face's rigid frame: the reference position that
    # a point of the face maps to stays put while the head moves, with no lag.
    # (With the default options the jaw and mouth points are the reference's, carried by the seen landmarks: the
    # guesses' jitter does not reach the warp at all, checked at the end. Here they follow FaceMesh.)
    image, lm = astronaut()
    # (And the rigid frame unfiltered: its filter is the next test's.)
    warper = ReferenceWarper(image, lm, WarpOptions(jaw_from_reference=0.0, frame_min_cutoff=0.0))
    rng = np.random.default_rng(0)
    lower = list(set(landmark_sets.MOUTH) | set(landmark_sets.JAW))
    mouth = lm[list(landmark_sets.MOUTH)].mean(axis=0)
    mapped: dict[str, list[np.ndarray]] = {"raw": [], "tracked": [], "still shape": []}
    for t in range(12):
        shift = np.array([4.0 * t, -2.0 * t], np.float32)
        moved = lm + shift
        jittered = moved.copy()
        jittered[lower] += rng.normal(0.0, 2.0, (len(lower), 2)).astype(np.float32)
        mapped["raw"].append(warper.fit(jittered)(mouth + shift)[0])
        mapped["tracked"].append(warper.fit(jittered, track=0)(mouth + shift)[0])
        mapped["still shape"].append(warper.fit(moved, track=1)(mouth + shift)[0])
    spread = {k: float(np.linalg.norm(np.std(v[4:], axis=0))) for k, v in mapped.items()}
    assert spread["tracked"] < 0.5 * spread["raw"], spread
    # A head that only moves: followed exactly, frame by frame (the shape in its rigid frame does not change).
    assert np.abs(np.array(mapped["still shape"]) - mapped["still shape"][0]).max() < 0.05
    warper.reset()
    assert not warper._smoothing.shapes
    default = ReferenceWarper(image, lm, WarpOptions())
    rng = np.random.default_rng(0)
    raw = []
    for t in range(12):
        jittered = lm.copy()
        jittered[lower] += rng.normal(0.0, 2.0, (len(lower), 2)).astype(np.float32)
        raw.append(default.fit(jittered)(mouth)[0])
    assert float(np.linalg.norm(np.std(raw, axis=0))) < 0.01


def test_lower_face_and_neck_follow_the_seen_face_not_the_guess_under_the_mask() -> None:
    # Under a mask FaceMesh guesses the jaw and mouth, too high (a squashed lower face). The control points
    # there are the reference's, carried by the similarity of the landmarks seen above the mask, so a wrong
    # guess does not squash the rebuilt chin nor stretch the neck.
    image, lm = astronaut()
    truth, target = moved_astronaut()
    guessed = target.copy()
    under = sorted(set(landmark_sets.JAW) | set(landmark_sets.MOUTH) | set(landmark_sets.LIPS_OUTER) | set(landmark_sets.LOWER_JAW))
    guessed[under, 1] -= 12.0  # the chin and mouth guessed 12 px too high (a tenth of the face height)
    lower = (face_region(image.shape[:2], target) > 0) | (neck_region(image.shape[:2], target, 0.3) > 0)
    lower &= np.arange(image.shape[0])[:, None] > target[17, 1]  # below the lower lip
    scores = {}
    for name, options in (
        ("reference", WarpOptions(reach_skin_only=False)),  # (her suit's collar below the jaw too: the geometry)
        ("guess", WarpOptions(neck_from_reference=False, jaw_from_reference=0.0, reach_skin_only=False)),
    ):
        warped, valid, _ = ReferenceWarper(image, lm, options).warp(guessed, image.shape[:2])
        assert valid[lower].mean() > 0.9
        scores[name] = psnr(warped, truth, lower & valid)
    assert scores["reference"] > 25.0 and scores["reference"] > scores["guess"] + 5.0, scores


def test_rigid_frame_filter_steadies_a_still_head_and_follows_a_moving_one() -> None:
    # Every point under the mask follows the rigid frame of the seen landmarks, so their jitter is the rebuilt
    # face's. The speed-adaptive filter of that frame steadies a still head and follows a moving one.
    image, lm = astronaut()
    rng = np.random.default_rng(1)
    seen = list(landmark_sets.STABLE_FACE)
    mouth = lm[list(landmark_sets.MOUTH)].mean(axis=0)
    plain = ReferenceWarper(image, lm, WarpOptions(frame_min_cutoff=0.0))
    filtered = ReferenceWarper(image, lm, WarpOptions())  # the default filter
    still: dict[str, list[np.ndarray]] = {"plain": [], "filtered": []}
    for t in range(30):
        jittered = lm.copy()
        jittered[seen] += rng.normal(0.0, 0.7, (len(seen), 2)).astype(np.float32)
        still["plain"].append(plain.fit(jittered, track=0)(mouth)[0])
        still["filtered"].append(filtered.fit(jittered, track=0)(mouth)[0])
    spread = {k: float(np.linalg.norm(np.std(v[10:], axis=0))) for k, v in still.items()}
    assert spread["filtered"] < 0.5 * spread["plain"], spread
    # A head moving 3 px per frame (three face widths in 4 s): the filtered frame lags by less than a frame's motion.
    filtered.reset()
    expected = plain.fit(lm)(mouth)[0]  # where the still head's mouth maps in the (cropped) reference
    for t in range(30):
        shift = np.array([3.0 * t, 0.0], np.float32)
        mapped = filtered.fit(lm + shift, track=0)(mouth + shift)[0]
    assert np.linalg.norm(mapped - expected) < 2.5, mapped - expected


def test_an_ear_loop_across_the_references_cheek_is_painted_out() -> None:
    # A mask held off the face leaves its white loop across her cheek: the warped reference must not carry it
    # onto every frame. Painted out, the cheek is close to the bare photo's; kept, it is not.
    from tests.test_reference_check import _loop

    image, lm = astronaut()
    looped = _loop(image, lm, (250, 250, 250))
    drawn = (looped != image).any(axis=2)
    cleaned, valid, _ = ReferenceWarper(looped, lm, WarpOptions()).warp(lm, image.shape[:2])
    kept, _, _ = ReferenceWarper(looped, lm, WarpOptions(remove_loops=False)).warp(lm, image.shape[:2])
    where = drawn & valid
    assert where.sum() > 100
    assert psnr(kept, image, where) < 20.0
    assert psnr(cleaned, image, where) > psnr(kept, image, where) + 8.0
    # A bare reference is left as it is.
    bare, _, _ = ReferenceWarper(image, lm, WarpOptions()).warp(lm, image.shape[:2])
    plain, _, _ = ReferenceWarper(image, lm, WarpOptions(remove_loops=False)).warp(lm, image.shape[:2])
    assert np.array_equal(bare, plain)


# ------------------------------------------------------------------------------------- speed work, same output


def test_grid_written_in_one_buffer_with_opencvs_log_is_the_plain_formula_within_a_thousandth_pixel() -> None:
    rng = np.random.default_rng(3)
    src = rng.uniform(0, 300, (46, 2))
    tps = fit_tps(src, src + rng.normal(0, 6, src.shape), 0.1)
    xs, ys = np.arange(-10.0, 330.0, 6.0), np.arange(-12.0, 300.0, 6.0)
    map_x, map_y = tps.grid(xs, ys)
    # The computation as it was written before (out of place).
    c = tps.centers.astype(np.float32)
    px = ((xs - tps.center[0]) / tps.scale).astype(np.float32)
    py = ((ys - tps.center[1]) / tps.scale).astype(np.float32)
    d2 = (py[:, None] - c[None, :, 1])[:, None, :] ** 2 + ((px[:, None] - c[None, :, 0]) ** 2)[None, :, :]
    u = d2 * np.log(np.maximum(d2, np.float32(1e-30)))
    out = (u.reshape(-1, len(c)) @ tps.weights.astype(np.float32)).reshape(len(ys), len(xs), 2)
    a = tps.affine.astype(np.float32)
    # (OpenCV's log, not numpy's: not bit for bit, far below the remap's 1/32 px)
    assert np.abs(map_x - (out[..., 0] + (a[0, 0] + px[None, :] * a[1, 0] + py[:, None] * a[2, 0]))).max() < 1e-3
    assert np.abs(map_y - (out[..., 1] + (a[0, 1] + px[None, :] * a[1, 1] + py[:, None] * a[2, 1]))).max() < 1e-3


@pytest.mark.parametrize("step", [1, 6])
def test_maps_scaled_on_the_grid_nodes_equal_the_scaled_full_size_maps(step: int) -> None:
    rng = np.random.default_rng(4)
    src = rng.uniform(0, 200, (30, 2))
    tps = fit_tps(src * 3.0, src + rng.normal(0, 4, src.shape), 0.1)
    plain = tps_maps(tps, (150, 170), step, (10.0, 20.0), jacobian=True)
    for level in (1, 2, 3):
        f = np.float32(1.0 / (1 << level))
        scaled = tps_maps(tps, (150, 170), step, (10.0, 20.0), jacobian=True, scale=1.0 / (1 << level))
        assert np.array_equal(scaled[0], plain[0] * f) and np.array_equal(scaled[1], plain[1] * f)
        assert np.array_equal(scaled[2], plain[2])  # the Jacobian is the unscaled map's


@pytest.mark.parametrize("step", [1, 6])
def test_the_maps_sampled_at_a_few_pixels_give_the_whole_remaps_pixels(step: int) -> None:
    # (the same-place test reads the photo's own pixels where the box was remapped from matte_edge's recolour)
    rng = np.random.default_rng(6)
    src = rng.uniform(0, 200, (30, 2))
    tps = fit_tps(src * 0.8 + 20, src + rng.normal(0, 4, src.shape), 0.1)
    merged = merge_with_validity(skimage.data.astronaut()[:260, :240], np.full((260, 240), 255, np.uint8))
    rows, cols = rng.integers(0, 150, 200), rng.integers(0, 170, 200)
    fresh = MapNodes(tps, (150, 170), step, (10.0, 20.0), False, 1.0).sampled(merged, rows, cols)  # (its own maps)
    nodes = MapNodes(tps, (150, 170), step, (10.0, 20.0), False, 1.0)
    whole = nodes.remapped(merged)[0]
    assert np.array_equal(nodes.sampled(merged, rows, cols), whole[rows, cols])  # (the remap's maps)
    assert np.array_equal(fresh, whole[rows, cols])


def test_one_remap_of_the_merged_picture_equals_the_two_remaps_bit_for_bit() -> None:
    rng = np.random.default_rng(5)
    image = np.ascontiguousarray(skimage.data.astronaut()[100:160, 180:250])
    validity = rng.integers(0, 256, image.shape[:2], dtype=np.uint8)
    validity[:, :3] = 255  # valid up to the picture's edge: its border must read as 0, not be replicated
    h, w = 90, 110
    map_x = rng.uniform(-3.0, image.shape[1] + 2.0, (h, w)).astype(np.float32)
    map_y = rng.uniform(-3.0, image.shape[0] + 2.0, (h, w)).astype(np.float32)
    map_x[:5] = rng.uniform(-0.999, 0.0, (5, w))  # between the first pixel and the border
    map_y[:, :5] = rng.uniform(image.shape[0] - 1.0, image.shape[0], (h, 5))  # between the last pixel and the border
    map_x[10, :10] = [-1e6, 1e6, -40000, 40000, 32766.9, -32767.9, 32767.0, -32768.0, 1e30, -1e30]  # far off, saturated
    map_y[11, :4] = [-1e6, 1e6, 32767.5, -32768.5]
    sub, inside = remap_with_validity(merge_with_validity(image, validity), map_x, map_y)
    want_sub = cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    want_inside = cv2.remap(validity, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    assert sub.shape == (h, w, 3) and inside.shape == (h, w)
    assert np.array_equal(sub, want_sub)
    assert np.array_equal(inside, want_inside)
    # (maps the caller knows to be within +-30000 px: the cheaper add of the border, the same pixels)
    near_x, near_y = np.clip(map_x, -29999.0, 29999.0), np.clip(map_y, -29999.0, 29999.0)
    merged = merge_with_validity(image, validity)
    saturated = remap_with_validity(merged, near_x, near_y)
    plain = remap_with_validity(merged, near_x, near_y, bounded=True)
    for a, b in zip(saturated, plain):
        assert np.array_equal(a, b)


def test_warp_from_a_pyramid_level_is_the_previous_computation_bit_for_bit() -> None:
    """The warp as computed before its speed work (full-size maps scaled to the level, two remaps with their own
    borders): the same warped pixels and validity."""
    image, lm = astronaut()
    truth, target = moved_astronaut(angle=-6.0, scale=0.9)
    k = 3
    big = cv2.resize(image, None, fx=k, fy=k, interpolation=cv2.INTER_LINEAR)
    options = WarpOptions(reach_skin_only=False)
    warper = ReferenceWarper(big, lm * k, options)
    h, w = truth.shape[:2]
    level = warper._level(target)
    assert level >= 1
    warped, valid, _ = warper.warp(target, (h, w))
    x0, y0, x1, y1 = warper._face_box(target, h, w)
    maps = warper.maps(target, (y1 - y0, x1 - x0), (x0, y0), jacobian=True)
    f = np.float32(1.0 / (1 << level))
    source, oval = warper.image, warper._oval  # the pyramid level as it was built before
    for _ in range(level):
        source, oval = cv2.pyrDown(source), cv2.pyrDown(oval)
    sub = cv2.remap(source, maps[0] * f, maps[1] * f, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    inside = cv2.remap(oval, maps[0] * f, maps[1] * f, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    ratio = (warper._src_scale / spread_of(target[list(landmark_sets.TPS_CONTROL)])) ** 2
    ok = (inside >= 128) & (maps[2] >= options.min_jacobian * ratio)
    want_valid = np.zeros((h, w), bool)
    want_valid[y0:y1, x0:x1] = ok
    want = np.zeros((h, w, 3), np.uint8)
    want[y0:y1, x0:x1][ok] = sub[ok]
    assert valid.sum() > 1000
    assert np.array_equal(valid, want_valid)
    assert np.array_equal(warped, want)


def _narrow_cheeks(k: float) -> tuple[np.ndarray, np.ndarray]:
    """The astronaut with her cheeks and jaw narrower (offsets from her midline past 0.8 of the eyes' shrunk by ``k``),
    eyes and nose as they are: another person's face, narrower for the same eyes. (image, landmarks moved alike)."""
    image, lm = astronaut()
    h, w = image.shape[:2]
    cx = float(lm[landmark_sets.NOSE_BRIDGE, 0])
    a = 0.8 * float(np.abs(lm[[33, 263], 0] - cx).mean())

    def moved(x: np.ndarray, gain: float) -> np.ndarray:
        d = x - cx
        return np.where(np.abs(d) > a, cx + np.sign(d) * (a + (np.abs(d) - a) * gain), x)

    source_x = moved(np.arange(w, dtype=np.float64), 1.0 / k).astype(np.float32)
    map_x = np.repeat(source_x[None, :], h, axis=0)
    map_y = np.repeat(np.arange(h, dtype=np.float32)[:, None], w, axis=1)
    narrow = cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    narrow_lm = lm.copy()
    narrow_lm[:, 0] = moved(lm[:, 0].astype(np.float64), k)
    return narrow, narrow_lm.astype(np.float32)


def test_a_narrower_reference_face_is_widened_to_the_frames_outline() -> None:
    # The jaw is carried from the reference by the similarity of the eyes, brows and temples: a face narrower for the
    # same eyes then ended inside the frame's cheeks, the rest of the cheek left to the composite's fill (a wall's
    # smear on real clips). The outline fit widens each side to the frame's outline at the eyes' height.
    target, target_lm = astronaut()
    reference, reference_lm = _narrow_cheeks(0.5)
    lower = (face_region(target.shape[:2], target_lm) > 0) & (np.arange(target.shape[0])[:, None] > target_lm[4, 1])

    def covered(fit: bool) -> float:
        warper = ReferenceWarper(reference, reference_lm, WarpOptions(outline_fit=fit))
        _, valid, _ = warper.warp(target_lm, target.shape[:2])
        return float(np.count_nonzero(valid & lower) / np.count_nonzero(lower))

    with_fit, without = covered(True), covered(False)
    assert with_fit >= 0.95 and with_fit - without >= 0.02, (with_fit, without)  # (0.955 and 0.927 when written)


def test_the_outline_fit_leaves_a_reference_of_the_frames_shape_alone() -> None:
    # The frame's own face as the reference: each side's factor is 1, the control points are the similarity's.
    target, target_lm = moved_astronaut()
    reference, reference_lm = astronaut()
    fitted = ReferenceWarper(reference, reference_lm, WarpOptions())._control.target(target_lm)
    plain = ReferenceWarper(reference, reference_lm, WarpOptions(outline_fit=False))._control.target(target_lm)
    assert np.abs(fitted - plain).max() < 0.5


def test_the_neck_lags_the_heads_quick_moves_and_follows_slow_ones() -> None:
    # The torso holds the lower neck: a head that drops quickly in the picture leaves the neck's points behind (higher
    # than carried with the head), the inner ring less than the outer; a head that drifts slowly takes them along.
    image, lm = astronaut()
    options = WarpOptions(frame_min_cutoff=0.0)
    warper = ReferenceWarper(image, lm, options)
    height = float(np.hypot(*(lm[landmark_sets.FACE_HEIGHT[1]] - lm[landmark_sets.FACE_HEIGHT[0]])))
    follow = options.neck_follow * height
    assert warper._neck_lag(lm, (0, 0), track=0) is None  # (the first frame: the torso where the head is)
    assert warper._neck_lag(lm, None, track=0) is None  # (no picture frame given: none)
    drop = 6.0 * follow
    move = warper._neck_lag(lm, (0, int(round(drop))), track=0)  # the ROI, and the head, 6 follow steps lower
    assert move is not None
    n = len(landmark_sets.TPS_CONTROL)
    roots = len(move[n:]) // 2
    assert not move[:n].any()  # the face's own points move with the head
    inner, outer = move[n:n + roots, 1], move[n + roots:, 1]
    lead = round(drop) - follow
    assert np.allclose(outer, -lead) and np.allclose(inner, -0.4 * lead)
    # The torso catches up at the follow speed, then the neck goes with the head again.
    later = [warper._neck_lag(lm, (0, int(round(drop))), track=0) for _ in range(6)]
    assert later[0] is not None and abs(later[0][-1, 1] + lead - follow) < 1e-6
    assert later[-1] is None
    # A slow drift (below the follow speed) is followed: no lag.
    slow = ReferenceWarper(image, lm, options)
    for k in range(8):
        assert slow._neck_lag(lm, (0, int(k * 0.5 * follow)), track=0) is None
    # Off.
    off = ReferenceWarper(image, lm, WarpOptions(frame_min_cutoff=0.0, neck_lag=0.0))
    off._neck_lag(lm, (0, 0), track=0)
    assert off._neck_lag(lm, (0, 50), track=0) is None


def test_a_jump_no_head_makes_restarts_the_necks_lag() -> None:
    # A cut, or a face warped again after frames without a mask: the head far from its last place starts afresh.
    image, lm = astronaut()
    warper = ReferenceWarper(image, lm, WarpOptions(frame_min_cutoff=0.0))
    height = float(np.hypot(*(lm[landmark_sets.FACE_HEIGHT[1]] - lm[landmark_sets.FACE_HEIGHT[0]])))
    warper._neck_lag(lm, (0, 0), track=0)
    assert warper._neck_lag(lm, (0, int(0.1 * height)), track=0) is not None  # a quick nod: the neck lags
    assert warper._neck_lag(lm, (int(0.5 * height), int(0.1 * height)), track=0) is None  # a jump: none


def test_the_maps_gradient_is_numpys() -> None:
    from unmask_video.warp_maps import _gradient

    """The Jacobian's differences (``warp_maps._gradient``) are ``np.gradient``'s, bit for bit, along either axis."""
    rng = np.random.default_rng(3)
    for shape in [(2, 2), (2, 7), (7, 2), (3, 3), (52, 64)]:
        for dtype in (np.float32, np.float64):
            values = (rng.random(shape) * 700).astype(dtype)
            for axis in (0, 1):
                expected = np.gradient(values, axis=axis)
                got = _gradient(values, axis)
                assert got.dtype == expected.dtype
                np.testing.assert_array_equal(got, expected)


def _turned_astronaut(k: float) -> tuple[np.ndarray, np.ndarray]:
    """The astronaut with her face's middle shifted sideways by up to ``k`` half face widths (one side squeezed, the
    other stretched: FaceMesh reads a head turned by about 0.23 at k = 0.6), and its FaceMesh landmarks."""
    image, lm = astronaut()
    h, w = image.shape[:2]
    cx = float(lm[landmark_sets.NOSE_BRIDGE, 0])
    half = float(np.ptp(lm[:, 0])) / 2
    x = np.arange(w, dtype=np.float64)
    source = x - k * half * np.clip(1.0 - ((x - cx) / half) ** 2, 0.0, None)
    map_x = np.repeat(source[None].astype(np.float32), h, axis=0)
    map_y = np.repeat(np.arange(h, dtype=np.float32)[:, None], w, axis=1)
    turned = cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return turned, detect(turned)


def test_a_reference_turned_from_the_frame_has_its_jaw_moved_towards_the_frames_guess() -> None:
    # A turned reference's jaw, carried by the similarity of the eyes and brows, lands where a turned jaw would lie;
    # FaceMesh's guess on the frame follows the frame's pose: part way to it, the control points land nearer the
    # frame's true ones and the warped lower face is nearer the truth.
    target, target_lm = astronaut()
    reference, reference_lm = _turned_astronaut(0.6)
    assert abs(yaw(reference_lm) - yaw(target_lm)) > 0.2  # (the turn really differs: 0.23 when written)
    lower = lower_face_and_neck(target.shape[:2], target_lm) > 0
    truth = target_lm[list(landmark_sets.TPS_CONTROL)]
    scores = {}
    for weight in (1.0, WarpOptions().turned_jaw):
        warper = ReferenceWarper(reference, reference_lm, WarpOptions(turned_jaw=weight, reach_skin_only=False))
        control = warper._control.target(target_lm)[: len(truth)]
        warped, valid, _ = warper.warp(target_lm, target.shape[:2])
        scores[weight] = (float(np.hypot(*(control - truth).T).mean()), psnr(warped, target, lower & valid))
    (carried_error, carried_psnr), (error, turned_psnr) = scores.values()
    # (5.5 -> 3.9 px and 13.2 -> 13.6 dB when written)
    assert error < 0.8 * carried_error and turned_psnr > carried_psnr + 0.2, scores


def test_a_reference_in_the_frames_pose_is_carried_as_before() -> None:
    target, target_lm = moved_astronaut()
    reference, reference_lm = astronaut()
    turned = ReferenceWarper(reference, reference_lm, WarpOptions())._control.target(target_lm)
    carried = ReferenceWarper(reference, reference_lm, WarpOptions(turned_jaw=1.0))._control.target(target_lm)
    assert np.array_equal(turned, carried)


def test_the_warp_tells_where_it_put_the_references_own_lips() -> None:
    # The composite leaves the lips' colour unbounded only where the warp put the reference's own lips: their
    # LIPS_OUTER carried by the spline (its inverse) and the registration's translation onto the frame. The astronaut
    # moved and cropped: her lips land where the same transform moved them, and the warped picture reads the
    # reference's lip points back there.
    image, lm = astronaut()
    _, target = moved_astronaut()
    x0, y0, h, w = 120, 50, 220, 210
    roi_lm = target - [x0, y0]
    warper = ReferenceWarper(image, lm, WarpOptions())
    lips = warper.warp(roi_lm, (h, w)).lips
    assert lips is not None and lips.shape == (len(landmark_sets.LIPS_OUTER), 2)
    truth = roi_lm[list(landmark_sets.LIPS_OUTER)]
    assert float(np.abs(lips - truth).max()) < 1.5, np.abs(lips - truth).max()
    # (and the backward spline sends them back onto the reference's own lip points)
    tps = warper.fit(roi_lm)
    back = tps(lips)
    ref_lips = warper.landmarks[list(landmark_sets.LIPS_OUTER)]
    assert float(np.abs(back - ref_lips).max()) < 1.0, np.abs(back - ref_lips).max()
    # Nothing warped (an empty region): no lips either.
    assert warper.warp(roi_lm, (h, w), (0, 0, 0, 0)).lips is None


def test_the_carried_lips_follow_a_reference_mouth_closed_when_it_is_loaded() -> None:
    # The astronaut (twice her size, her lips a few pixels thick) smiles with her lips apart by 0.16 of the mouth's
    # width; with ``close_mouth`` 0.12 the warp carries her mouth closed (the lower lip and the chin lifted). Her lips
    # (the ring between FaceMesh's outer and inner lips) wear a strong lipstick, so the warped lips are found by their
    # colour alone. The composite's lips exemption (``lip_polygon`` of the carried outline) covers the warped lipstick
    # and not the skin below it: the outline is the lips of the picture warped, moved as the mouth was closed. (The
    # photo's own lip points, the mouth open, put the outline's lower edge 15 px lower, over the skin above the chin:
    # there the exemption was 1.0 at 0.15 mouth widths below the lipstick and 0.96 at 0.2, against 0.18 and 0.)
    from unmask_video.jaw_opening import mouth_opening
    from unmask_video.reconstruct.skin_chroma import lip_polygon

    small, small_lm = astronaut()
    image = cv2.resize(small, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    lm = (small_lm * 2).astype(np.float32)
    ring = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(ring, [np.round(lm[list(landmark_sets.LIPS_OUTER)]).astype(np.int32)], 1)
    cv2.fillPoly(ring, [np.round(lm[list(landmark_sets.LIPS_INNER)]).astype(np.int32)], 0)
    painted = image.copy()
    painted[ring > 0] = (0.4 * painted[ring > 0] + 0.6 * np.array([200, 20, 60])).astype(np.uint8)
    warper = ReferenceWarper(painted, lm, WarpOptions(close_mouth=0.12))
    assert mouth_opening(lm) > 0.15 and mouth_opening(warper.landmarks) < 0.05
    _, target = moved_astronaut()
    x0, y0, h, w = 240, 100, 440, 420
    roi_lm = (target * 2 - [x0, y0]).astype(np.float32)
    warped = warper.warp(roi_lm, (h, w))
    lab = cv2.cvtColor(warped.image.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    lipstick = (lab[..., 1] > 30) & warped.valid
    assert np.count_nonzero(lipstick) > 500
    exempt = lip_polygon(warped.lips, (w, h), (h, w)).reshape(h, w)
    assert exempt[lipstick].min() > 0.99
    corners = warped.lips[[landmark_sets.LIPS_OUTER.index(i) for i in landmark_sets.MOUTH_CORNERS]]
    width = float(np.hypot(*(corners[1] - corners[0])))
    # The skin under the lipstick, column by column: its row at 0.15 and 0.2 mouth widths below the lipstick's lowest.
    cols = np.flatnonzero(lipstick.any(axis=0))
    lowest = h - 1 - np.argmax(lipstick[::-1, cols], axis=0)
    for depth, bound in ((0.15, 0.35), (0.2, 0.05)):
        rows = np.round(lowest + depth * width).astype(int)
        skin = warped.valid[rows, cols] & ~lipstick[rows, cols]
        assert np.count_nonzero(skin) > 0.8 * len(cols)
        assert float(exempt[rows, cols][skin].mean()) < bound, (depth, exempt[rows, cols][skin].mean())
