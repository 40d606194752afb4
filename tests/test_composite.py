"""The reference composite (--generator none) and the blend back into the frame."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from tests.test_warp import astronaut, moved_astronaut, psnr
from unmask_video import landmark_sets
from unmask_video.below_jaw import neck_region
from unmask_video.blend import blend_into, feather_alpha, feather_reach, grow_box, mask_bbox
from unmask_video.face_axes import neck_column
from unmask_video.face_shape import face_region
from unmask_video.face_units import REFERENCE_FACE_PX, FaceLength, face_size_px
from unmask_video.reconstruct.composite import CompositeOptions, ReferenceComposite
from unmask_video.reconstruct.outside_fill import OutsideFillOptions
from unmask_video.landmarks import face_box
from unmask_video.reconstruct.protocol import Reconstructor
from unmask_video.stages import Box, FaceROI
from unmask_video.warp import ReferenceWarper, WarpOptions

BOX = Box(120, 50, 330, 270)
MASK_COLOUR = (120, 170, 220)


def polygon_mask(landmarks: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A drawn surgical-mask region: the lower-face polygon, float32 in [0, 1] with a soft edge."""
    out = np.zeros(shape, np.uint8)
    poly = np.round(landmarks[list(landmark_sets.MASK_REGION)] * 16).astype(np.int32)
    cv2.fillPoly(out, [poly], 255, lineType=cv2.LINE_AA, shift=4)
    return out.astype(np.float32) / 255.0


def with_cast(image: np.ndarray, cast: tuple[int, int, int]) -> np.ndarray:
    return np.clip(image.astype(np.int16) + np.array(cast, np.int16), 0, 255).astype(np.uint8)


def masked_face(cast: tuple[int, int, int] = (0, 0, 0), box: Box = BOX, light=None):
    """(ROI of a masked moved astronaut, the unmasked truth ROI, the mask) with the reference warped onto it;
    ``light``: a function that relights the reference photo (its landmarks given) before the warp."""
    reference, reference_lm = astronaut()
    if light is not None:
        reference = light(reference, reference_lm)
    truth, target = moved_astronaut()
    roi_lm = (target - [box.x0, box.y0]).astype(np.float32)
    truth_roi = np.ascontiguousarray(truth[box.slices])
    mask = polygon_mask(roi_lm, truth_roi.shape[:2])
    masked = truth_roi.copy()
    masked[mask > 0] = MASK_COLOUR
    # The reference is the truth's own photo: what lies below her jaw (her suit's collar ring) is the same in both,
    # so all of it is carried (a photo from elsewhere carries only its skin there; test_warp.py checks that).
    options = WarpOptions(reach_skin_only=False)
    warped, valid, _ = ReferenceWarper(with_cast(reference, cast), reference_lm, options).warp(roi_lm, mask.shape)
    face = FaceROI(box=box, image=masked, landmarks=roi_lm, mask=mask, reference=warped, valid=valid)
    return face, truth_roi


def scaled_face(face: FaceROI, truth: np.ndarray, face_px: float) -> tuple[FaceROI, np.ndarray]:
    """``face`` (and its truth) resized so that the face is ``face_px`` (``face_size_px``) across, its ROI a frame."""
    k = face_px / face_size_px(face.landmarks)
    size = (int(round(face.image.shape[1] * k)), int(round(face.image.shape[0] * k)))
    k_xy = np.array([size[0] / face.image.shape[1], size[1] / face.image.shape[0]], np.float32)
    area = cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR

    def resized(a: np.ndarray, interpolation: int = area) -> np.ndarray:
        return cv2.resize(a, size, interpolation=interpolation)

    scaled = FaceROI(
        Box(0, 0, size[0], size[1]),  # (the ROI is the whole frame)
        resized(face.image),
        ((face.landmarks + 0.5) * k_xy - 0.5).astype(np.float32),
        resized(face.mask),
        resized(face.reference),
        resized(face.valid.astype(np.uint8), cv2.INTER_NEAREST) > 0,
    )
    return scaled, resized(truth)


def test_is_a_reconstructor_named_none() -> None:
    composite = ReferenceComposite(CompositeOptions())
    reconstructor: Reconstructor = composite  # the protocol's attributes, checked by hand
    assert reconstructor.name == "none" and callable(reconstructor.reconstruct)
    face, _ = masked_face()
    out = composite.reconstruct([face, face])
    assert len(out) == 2
    assert all(o.shape == face.image.shape and o.dtype == np.uint8 for o in out)


def test_composite_is_closer_to_the_truth_than_the_masked_input() -> None:
    face, truth = masked_face()
    options = CompositeOptions()
    out = ReferenceComposite(options).reconstruct([face])[0]
    hole = face.mask > 0
    before = psnr(face.image, truth, hole)
    after = psnr(out, truth, hole)
    assert before < 15.0
    assert after > 28.0, (before, after)
    # Outside the hole and the blend band the ROI is returned untouched.
    band_px = options.band.px(face_size_px(face.landmarks))
    reach = 2 * int(np.ceil(band_px)) + 3  # the blend band and a pixel of rounding
    band = cv2.dilate(hole.astype(np.uint8), np.ones((reach, reach), np.uint8)) > 0
    assert np.array_equal(out[~band], face.image[~band])


def _mean_colour_error(a: np.ndarray, b: np.ndarray, where: np.ndarray) -> float:
    return float(np.abs(a[where].astype(np.float64).mean(0) - b[where].astype(np.float64).mean(0)).max())


def test_colour_cast_of_the_reference_is_corrected() -> None:
    face, truth = masked_face(cast=(40, -10, -30))
    hole = face.mask > 0
    grown = cv2.dilate(hole.astype(np.uint8), np.ones((13, 13), np.uint8)) > 0
    ring = grown & ~hole & (face_region(hole.shape, face.landmarks) > 0) & face.valid
    plain = ReferenceComposite(CompositeOptions(color_match=False)).reconstruct([face])[0]
    matched = ReferenceComposite(CompositeOptions(color_match=True)).reconstruct([face])[0]
    # The warped reference's colour on the ring (what the composite pastes there) vs the frame's.
    for where in (hole, ring):
        err_plain = _mean_colour_error(plain, truth, where)
        err_matched = _mean_colour_error(matched, truth, where)
        assert err_plain > 20.0
        # (inside the hole about 8.1 levels of red: the ring's lightness change is not the same on the cheeks and
        # the chin for a cast added in RGB, and the light's slope down the face continues it)
        assert err_matched < min(8.5, err_plain / 4.0), (err_plain, err_matched)
    assert psnr(matched, truth, hole) > psnr(plain, truth, hole) + 8.0


def test_colour_match_ignores_mask_the_segmentation_missed() -> None:
    face, truth = masked_face(cast=(25, -5, -20))
    drawn = face.mask > 0
    # The segmentation misses the right third of the mask: the ring around the segmented part then
    # runs over mask-coloured pixels, which must not pull the colour towards the mask's.
    xs = np.nonzero(drawn)[1]
    cut = int(xs.max() - 0.33 * (xs.max() - xs.min()))
    face.mask = face.mask.copy()
    face.mask[:, cut:] = 0.0
    hole = face.mask > 0
    matched = ReferenceComposite(CompositeOptions()).reconstruct([face])[0]
    plain = ReferenceComposite(CompositeOptions(color_match=False)).reconstruct([face])[0]
    err_plain = _mean_colour_error(plain, truth, hole)
    err_matched = _mean_colour_error(matched, truth, hole)
    assert err_matched < min(6.0, err_plain / 3.0), (err_plain, err_matched)
    assert psnr(matched, truth, hole) > 28.0


def test_local_colour_follows_a_lighting_gradient() -> None:
    face, truth = masked_face()
    # Light falling off from left to right across the frame, not in the reference.
    h, w = truth.shape[:2]
    ramp = np.linspace(1.15, 0.7, w, dtype=np.float32)[None, :, None]
    lit_truth = np.clip(truth * ramp, 0, 255).astype(np.uint8)
    lit = np.clip(face.image * ramp, 0, 255).astype(np.uint8)
    lit[face.mask > 0] = MASK_COLOUR
    face.image = lit
    hole = face.mask > 0
    flat = ReferenceComposite(CompositeOptions(local_color_sigma=0.0)).reconstruct([face])[0]
    local = ReferenceComposite(CompositeOptions()).reconstruct([face])[0]
    assert psnr(local, lit_truth, hole) > psnr(flat, lit_truth, hole) + 1.0


def test_gaps_the_warp_does_not_cover_are_filled() -> None:
    face, truth = masked_face()
    hole = face.mask > 0
    # Knock a block out of the warp inside the hole (as if the reference did not show it).
    ys, xs = np.nonzero(hole)
    cy, cx = int(ys.mean()), int(xs.mean())
    face.valid = face.valid.copy()
    face.valid[cy - 12 : cy + 12, cx - 15 : cx + 15] = False
    face.reference = face.reference.copy()
    face.reference[~face.valid] = 0
    gap = hole & ~face.valid
    assert gap.sum() > 500
    out = ReferenceComposite(CompositeOptions()).reconstruct([face])[0]
    assert (out[gap].max(axis=1) > 40).all()  # no black holes
    assert not (out[gap] == MASK_COLOUR).all(axis=1).any()  # and not the mask either
    assert psnr(out, truth, gap) > max(psnr(face.image, truth, gap) + 5.0, 15.0)


def _hair_beside_the_jaw() -> tuple[FaceROI, np.ndarray, np.ndarray, tuple[int, int, int]]:
    """The astronaut's masked face with a mask reaching past the face's sides, dark hair round it and a reference
    carrying only its face (its surroundings not carried): (face, the mask, the face's oval, the hair's colour)."""
    face, _ = masked_face()
    face.mask = cv2.dilate(face.mask, np.ones((31, 31), np.uint8))  # a mask reaching past the face's sides
    hole = face.mask > 0
    oval = face_region(hole.shape, face.landmarks) > 0
    hair = (35, 25, 20)
    face.image = face.image.copy()
    face.image[~oval & ~hole] = hair
    face.image[hole] = MASK_COLOUR
    face.valid = face.valid & oval
    face.reference = np.where(face.valid[..., None], face.reference, 0).astype(np.uint8)
    return face, hole, oval, hair


def test_beside_the_jaw_what_the_warp_does_not_cover_comes_from_the_frames_surroundings() -> None:
    # Dark hair beside the jaw in the frame, a reference whose surroundings were not carried (taken elsewhere): the
    # gap between the rebuilt jaw and the mask's side is filled from the hair around the mask, not with the skin
    # smeared out of the jaw (Telea, from everything around the gap).
    face, hole, oval, hair = _hair_beside_the_jaw()
    beside = hole & ~oval
    assert beside.sum() > 300
    gap = beside & (cv2.distanceTransform(oval.astype(np.uint8) ^ 1, cv2.DIST_L2, 3) > 3)
    # (not under the jaw within the neck's column: that is the neck, and the rebuilt skin is continued there,
    # tests/test_outside_fill.py)
    column = (neck_column(hole.shape, face.landmarks) > 0) & (neck_region(hole.shape, face.landmarks, 0.4) > 0)
    gap &= cv2.dilate(column.astype(np.uint8), np.ones((9, 9), np.uint8)) == 0
    distance = {}
    for fill in ("surround", "telea"):
        out = ReferenceComposite(CompositeOptions(fill=fill)).reconstruct([face])[0]
        distance[fill] = float(np.abs(out[gap].astype(np.float32) - hair).mean())
    assert distance["surround"] < 12.0 and distance["surround"] < 0.5 * distance["telea"], distance


def test_fringe_outside_the_mask_is_redone_where_the_warp_does_not_reach() -> None:
    face, truth = masked_face()
    hole = face.mask > 0
    # A one-pixel (4-connected) fringe of mask colour just outside the segmented mask, where the warp
    # says nothing.
    cross = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
    fringe = (cv2.dilate(hole.astype(np.uint8), cross) > 0) & ~hole
    face.valid = face.valid & ~cv2.dilate(fringe.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    face.reference = np.where(face.valid[..., None], face.reference, 0).astype(np.uint8)
    face.image = face.image.copy()
    face.image[fringe] = MASK_COLOUR
    blind = fringe & ~face.valid
    assert blind.sum() > 100
    # (on the face the band the blend fades over is the rebuilt skin continued whatever the grow,
    # ``OutsideFillOptions.band_fill``: the grow decides past the face's outline)
    off_face = blind & (face_region(hole.shape, face.landmarks, antialiased=False) == 0)
    assert off_face.sum() > 50
    for grow, redone in ((0, False), (1, True)):
        # (the cloth's fringe left out of the hole: ``CompositeOptions.fringe`` takes this one in, whatever the grow)
        options = CompositeOptions(inpaint_grow=FaceLength(grow), fringe=FaceLength(0.0))
        out = ReferenceComposite(options).reconstruct([face])[0]
        still_mask = (out[off_face] == MASK_COLOUR).all(axis=1).mean()
        assert (still_mask < 0.05) if redone else (still_mask == 1.0), (grow, still_mask)
        assert (out[blind & ~off_face] == MASK_COLOUR).all(axis=1).mean() < 0.05


def test_outside_fill_options_reach_the_band_fill() -> None:
    """``CompositeOptions.outside`` is what the composite's band fill reads: the band outside the hole the warp does
    not cover is the rebuilt skin continued by default, and the frame's own pixels with ``band_fill`` off."""
    face, _ = masked_face()
    hole = face.mask > 0
    dist = cv2.distanceTransform((~hole).astype(np.uint8), cv2.DIST_L2, 3)
    oval = face_region(hole.shape, face.landmarks, antialiased=False) > 0
    uncovered = (dist > 3) & (dist <= 6) & oval
    face.valid = face.valid & ~uncovered
    face.reference = np.where(face.valid[..., None], face.reference, 0).astype(np.uint8)
    assert uncovered.sum() > 200
    changed = {}
    for band_fill in (True, False):
        options = CompositeOptions(outside=OutsideFillOptions(band_fill=band_fill))
        out = ReferenceComposite(options).reconstruct([face])[0]
        changed[band_fill] = float(np.any(out[uncovered] != face.image[uncovered], axis=1).mean())
    assert changed[False] == 0.0 and changed[True] > 0.5, changed


def test_empty_mask_returns_the_image() -> None:
    face, _ = masked_face()
    face.mask = np.zeros_like(face.mask)
    out = ReferenceComposite(CompositeOptions()).reconstruct([face])[0]
    assert np.array_equal(out, face.image)


def test_composite_on_the_synthetic_clip(synthetic_clip) -> None:
    """The shared synthetic clip: a drawn, shaded mask; a reference in another pose with warmer colours."""
    clip = synthetic_clip
    warper = ReferenceWarper(clip.reference, clip.reference_landmarks, WarpOptions())
    composite = ReferenceComposite(CompositeOptions())
    for i in (0, len(clip) // 2, len(clip) - 1):
        truth, masked, lm = clip.truth[i], clip.masked[i], clip.landmarks[i]
        box = face_box(lm, truth.shape)
        roi_lm = (lm - [box.x0, box.y0]).astype(np.float32)
        mask = np.ascontiguousarray(clip.masks[i][box.slices])
        warped, valid, _ = warper.warp(roi_lm, mask.shape)
        face = FaceROI(box, np.ascontiguousarray(masked[box.slices]), roi_lm, mask, warped, valid)
        out = masked.copy()
        blend_into(out, box, composite.reconstruct([face])[0], mask, composite.lengths(face_size_px(roi_lm)).band)
        hole = clip.masks[i] > 0
        before, after = psnr(masked, truth, hole), psnr(out, truth, hole)
        # (without the colour match this is about 26 dB: the reference is recoloured)
        assert after > 27.5 and after > before + 10.0, (i, before, after)


def test_working_size_keeps_the_quality_of_a_big_face() -> None:
    """A face scaled up 3x (mask region ~400 px) rebuilt at a 160 px working size: about as good, and only
    the hole, its blend band and the gaps change."""
    face, truth = masked_face()
    big = 3.0
    up = lambda a, interp=cv2.INTER_LINEAR: cv2.resize(a, None, fx=big, fy=big, interpolation=interp)  # noqa: E731
    face = FaceROI(
        face.box,
        up(face.image),
        ((face.landmarks + 0.5) * big - 0.5).astype(np.float32),
        up(face.mask),
        up(face.reference),
        up(face.valid.astype(np.uint8), cv2.INTER_NEAREST) > 0,
    )
    truth = up(truth)
    hole = face.mask > 0
    full = ReferenceComposite(CompositeOptions(work_px=0)).reconstruct([face])[0]
    small = ReferenceComposite(CompositeOptions(work_px=160)).reconstruct([face])[0]
    # (the full-size rebuild is near exact here, the reference being the truth moved: "as good" is capped)
    assert psnr(small, truth, hole) > min(psnr(full, truth, hole) - 0.5, 40.0), (psnr(small, truth, hole), psnr(full, truth, hole))
    assert psnr(small, truth, hole) > psnr(face.image, truth, hole) + 10.0
    far = cv2.dilate(hole.astype(np.uint8), np.ones((41, 41), np.uint8)) == 0
    assert np.array_equal(small[far], face.image[far])


# -------------------------------------------------------------------------------------------- blend


def test_feather_alpha_is_one_on_the_mask_and_zero_beyond_the_feather() -> None:
    mask = np.zeros((220, 240), np.float32)
    mask[90:130, 100:140] = 1.0
    for feather in (0.0, 3.0, 6.0, 11.0, 25.0, 40.0):  # (the wide ones, a big face's, are computed smaller)
        alpha = feather_alpha(mask, feather)
        assert (alpha[mask > 0] == 1.0).all()
        reach = feather_reach(feather)
        beyond = np.ones_like(mask, bool)
        beyond[90 - reach : 130 + reach, 100 - reach : 140 + reach] = False
        assert (alpha[beyond] == 0.0).all()
        if feather:
            assert 0 < alpha[110, 140 + int(feather) // 2] < 1  # the seam is outside the mask edge


@pytest.mark.parametrize("mode", ["feather", "poisson"])
def test_blend_leaves_pixels_outside_the_grown_mask_bit_identical(mode: str) -> None:
    face, truth_roi = masked_face()
    truth, _ = moved_astronaut()
    frame = truth.copy()
    frame[BOX.slices][face.mask > 0] = MASK_COLOUR
    before = frame.copy()
    filled = ReferenceComposite(CompositeOptions()).reconstruct([face])[0]
    blend_into(frame, BOX, filled, face.mask, 6.0, mode=mode)
    grown = np.zeros(frame.shape[:2], bool)
    grown[BOX.slices] = cv2.dilate((face.mask > 0).astype(np.uint8), np.ones((23, 23), np.uint8)) > 0
    assert np.array_equal(frame[~grown], before[~grown])
    hole = np.zeros(frame.shape[:2], bool)
    hole[BOX.slices] = face.mask > 0
    assert psnr(frame, truth, hole) > 28.0
    if mode == "feather":
        # Where alpha is 1 the rebuilt pixels are written exactly.
        assert np.array_equal(frame[BOX.slices][face.mask >= 1.0], filled[face.mask >= 1.0])


def test_blend_only_touches_pixels_with_positive_alpha() -> None:
    rng = np.random.default_rng(5)
    frame = rng.integers(0, 256, (90, 100, 3), dtype=np.uint8)
    before = frame.copy()
    box = Box(10, 20, 70, 80)
    mask = np.zeros((60, 60), np.float32)
    mask[25:35, 20:40] = 0.6
    filled = np.full((60, 60, 3), 255, np.uint8)
    blend_into(frame, box, filled, mask, 4.0)
    alpha = feather_alpha(mask, 4.0)
    roi, roi_before = frame[box.slices], before[box.slices]
    assert np.array_equal(roi[alpha == 0], roi_before[alpha == 0])
    changed = (roi != roi_before).any(axis=2)
    assert changed[alpha > 0.05].all()
    outside_box = np.ones(frame.shape[:2], bool)
    outside_box[box.slices] = False
    assert np.array_equal(frame[outside_box], before[outside_box])


def test_blend_clips_a_box_that_leaves_the_frame() -> None:
    frame = np.zeros((50, 60, 3), np.uint8)
    box = Box(40, 30, 80, 70)  # 40x40, partly outside
    mask = np.ones((40, 40), np.float32)
    blend_into(frame, box, np.full((40, 40, 3), 200, np.uint8), mask, 4.0)
    assert (frame[30:, 40:] == 200).all()
    assert (frame[:30] == 0).all() and (frame[:, :40] == 0).all()


@pytest.mark.parametrize("box", [Box(10, 20, 70, 80), Box(-8, 45, 52, 105)])  # whole, and partly outside the frame
def test_blend_with_the_mask_box_given_writes_the_same_pixels(box: Box) -> None:
    """The pipeline hands the blend the mask's bounding box it found once per face: the same frame, bit for bit,
    as the blend finding it (and ``grow_box`` of that box is ``mask_bbox`` with the margin)."""
    rng = np.random.default_rng(7)
    frame = rng.integers(0, 256, (90, 100, 3), dtype=np.uint8)
    mask = np.zeros((60, 60), np.float32)
    mask[2:35, 20:58] = cv2.GaussianBlur(rng.random((33, 38)).astype(np.float32), (5, 5), 2)
    filled = rng.integers(0, 256, (60, 60, 3), dtype=np.uint8)
    tight = mask_bbox(mask > 0, 0, mask.shape)
    assert tight is not None
    for margin in (0, 3, 30):
        assert grow_box(tight, margin, mask.shape) == mask_bbox(mask > 0, margin, mask.shape)
    found, given = frame.copy(), frame.copy()
    blend_into(found, box, filled, mask, 6.0)
    blend_into(given, box, filled, mask, 6.0, mask_box=tight)
    assert not np.array_equal(found, frame) and np.array_equal(found, given)


def test_blend_rejects_mismatched_shapes() -> None:
    frame = np.zeros((50, 60, 3), np.uint8)
    with pytest.raises(ValueError):
        blend_into(frame, Box(0, 0, 20, 20), np.zeros((10, 10, 3), np.uint8), np.zeros((20, 20), np.float32), 4.0)


def test_colour_shift_is_averaged_over_the_frames_of_a_face():
    from unmask_video.reconstruct.composite import CompositeOptions, ReferenceComposite
    from unmask_video.stages import Box, FaceROI

    landmarks = np.stack(np.meshgrid(np.linspace(10, 50, 26), np.linspace(10, 50, 18)), -1).reshape(-1, 2)
    face = FaceROI(Box(100, 100, 164, 164), np.zeros((64, 64, 3), np.uint8), landmarks.astype(np.float32),
                   np.zeros((64, 64), np.float32), np.zeros((64, 64, 3), np.uint8), np.ones((64, 64), bool))
    composite = ReferenceComposite(CompositeOptions(color_smoothing=0.75))
    first = composite._averages.colour(face)[0](np.array([8.0, 0.0, 0.0], np.float32))
    second = composite._averages.colour(face)[0](np.array([0.0, 0.0, 0.0], np.float32))
    assert np.allclose(first, [8, 0, 0]) and np.allclose(second, [6, 0, 0])
    moved = FaceROI(Box(400, 100, 464, 164), face.image, face.landmarks, face.mask, face.reference, face.valid)
    assert np.allclose(composite._averages.colour(moved)[0](np.array([1.0, 0, 0], np.float32)), [1, 0, 0])
    assert ReferenceComposite(CompositeOptions(color_smoothing=0.0))._averages.colour(face) == (None, None)
    # The smooth colour field too: its coarse part is averaged, a sharp detail is left as measured.
    field = np.full((30, 40, 3), 4.0, np.float32)
    composite._averages.colour(face)[1](field)
    later = np.zeros((30, 40, 3), np.float32)
    later[15, 20] = 9.0
    smoothed = composite._averages.colour(face)[1](later)
    assert abs(float(smoothed[5, 5, 0]) - 3.0) < 0.3  # 0.75 * 4 + 0.25 * 0
    assert smoothed[15, 20, 0] > 9.0 - 0.5


def test_a_green_mask_does_not_tint_the_face() -> None:
    # A green mask the segmentation only half finds: most of the ring then lies on green mask pixels.
    # The colour statistics must come from the skin, so the rebuilt face is not pulled towards green
    # (or its opposite) -- the reference's cast is still corrected.
    face, truth = masked_face(cast=(20, 0, -15))
    drawn = face.mask > 0
    image = face.image.copy()
    image[drawn] = (70, 170, 110)
    face.image = image
    ys = np.nonzero(drawn)[0]
    face.mask = face.mask.copy()
    face.mask[int(ys.min() + 0.5 * (ys.max() - ys.min())) :] = 0.0  # the lower half is missed
    hole = face.mask > 0
    out = ReferenceComposite(CompositeOptions()).reconstruct([face])[0]

    def lab(rgb: np.ndarray) -> np.ndarray:
        return cv2.cvtColor(rgb[hole].reshape(1, -1, 3).astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab).reshape(-1, 3).mean(0)

    cast = lab(out) - lab(truth)
    assert np.abs(cast).max() < 4.0, cast
    assert abs(cast[1]) < 3.0  # a*: no green or magenta tint


def _edge_step(out: np.ndarray, truth: np.ndarray, hole: np.ndarray, upper: float = 1.0, typical: bool = False) -> float:
    """The largest jump, over the mask edge's segments, of the output's error across the edge (Lab-free, RGB); only
    along the edge's ``upper`` fraction of the mask's height (1: all of it); with ``typical``, the median over the
    segments, not the largest (a warp error at one place, an eye's corner, does not count)."""
    err = out.astype(np.float32) - truth.astype(np.float32)
    inside = hole & (cv2.erode(hole.astype(np.uint8), np.ones((7, 7), np.uint8)) == 0)
    outside = ~hole & (cv2.dilate(hole.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0)
    rows = np.nonzero(hole.any(axis=1))[0]
    top = np.arange(hole.shape[0])[:, None] <= rows[0] + upper * (rows[-1] - rows[0])
    inside, outside = inside & top, outside & top
    steps = []
    xs = np.nonzero(hole)[1]
    for x0 in range(int(xs.min()), int(xs.max()), 12):  # segments of the edge, left to right
        cols = np.zeros_like(hole)
        cols[:, x0 : x0 + 12] = True
        a, b = inside & cols, outside & cols
        if a.sum() > 10 and b.sum() > 10:
            steps.append(float(np.abs(err[a].mean(0) - err[b].mean(0)).max()))
    return float(np.median(steps)) if typical else max(steps)


def test_blend_leaves_no_step_at_the_mask_edge() -> None:
    # The frame is lit from one side and the reference is not: the rebuilt skin must meet the frame's
    # at the mask edge without a step, all along it (nose bridge, cheeks, under the chin).
    face, truth = masked_face(cast=(15, 5, -10))
    h, w = truth.shape[:2]
    ramp = np.linspace(1.2, 0.75, w, dtype=np.float32)[None, :, None] * np.linspace(0.9, 1.1, h, dtype=np.float32)[:, None, None]
    lit_truth = np.clip(truth * ramp, 0, 255).astype(np.uint8)
    lit = lit_truth.copy()
    lit[face.mask > 0] = MASK_COLOUR
    face.image = lit
    hole = face.mask > 0
    steps = {}
    for name, options in (
        ("plain", CompositeOptions(seam_sigma=0.0, local_color_sigma=0.0)),
        ("ours", CompositeOptions()),
        ("skin", CompositeOptions(light="skin")),  # the light from the frame's skin: the seam meets it too
    ):
        rebuilt = ReferenceComposite(options).reconstruct([face])[0]
        frame = np.zeros((BOX.y1 + 10, BOX.x1 + 10, 3), np.uint8)
        frame[BOX.slices] = lit
        blend_into(frame, BOX, rebuilt, face.mask, options.band.px(face_size_px(face.landmarks)))
        steps[name] = _edge_step(frame[BOX.slices], lit_truth, hole)
    # (even a reference of exactly the frame's colours leaves a step of about 3.6 here: warp error)
    for name in ("ours", "skin"):
        assert steps[name] < 5.5, steps
        assert steps[name] < 0.75 * steps["plain"], steps


def test_matched_reference_is_the_colour_corrected_warp() -> None:
    # The intermediate product a generator can start from: the warped reference with the frame's colours.
    face, truth = masked_face(cast=(30, -10, -25))
    composite = ReferenceComposite(CompositeOptions())
    matched, valid = composite.matched_reference(face)
    hole = face.mask > 0
    assert matched.shape == face.reference.shape and matched.dtype == np.uint8
    assert valid is face.valid
    assert _mean_colour_error(matched, truth, hole & valid) < 6.0 < _mean_colour_error(face.reference, truth, hole & valid)
    rebuilt = composite.reconstruct([face])[0]
    assert np.abs(rebuilt[hole & valid].astype(int) - matched[hole & valid].astype(int)).mean() < 1.0


def test_hair_in_the_ring_does_not_dilute_a_small_colour_shift() -> None:
    # The ring around a mask often runs over hair (and background) at the jaw's sides: it looks the same in the
    # reference and the frame, so it says "no change". With a small cast (below the outlier test's reach) it
    # would pull the correction towards none; only skin must count, as the reference shows it.
    from unmask_video.reconstruct.color_match import match_color

    face, truth = masked_face(cast=(6, -4, -6))
    hole = face.mask > 0
    dist = cv2.distanceTransform((~hole).astype(np.uint8), cv2.DIST_L2, 5)
    ring = (dist > 2) & (dist <= 10) & face.valid
    apply = hole & face.valid
    xs = np.nonzero(ring)[1]
    hair = np.zeros_like(hole)
    hair[:, : int(np.percentile(xs, 50))] = True  # the left half of the ring: dark hair in both images
    hair &= ~hole
    reference, image = face.reference.copy(), face.image.copy()
    reference[hair] = image[hair] = (38, 26, 20)
    assert _mean_colour_error(reference, truth, apply) > 5.0
    # The colour statistics: skin only (with the hair counted, about 3).
    out = match_color(reference, image, ring, apply, 0.0, False, hole)
    assert _mean_colour_error(out, truth, apply) < 1.5
    # The smooth field: hair and background count half, so that the seam still meets them (about 3.2 when
    # they count fully).
    out = match_color(reference, image, ring, apply, 0.35, False, hole, seam_sigma=0.05)
    assert _mean_colour_error(out, truth, apply) < 2.8


def test_the_masks_shadow_around_it_does_not_darken_the_rebuilt_face() -> None:
    # A worn mask shades the skin just around it (and throws its colour back onto it); unmasked, the face has no
    # such shadow. The colour statistics skip the first pixels next to the mask; the seam still meets the frame.
    # (The face scaled to the size the lengths are given at: the gaps and the shadow below are its pixels.)
    face, truth = scaled_face(*masked_face(), REFERENCE_FACE_PX)
    hole = face.mask > 0
    dist = cv2.distanceTransform((~hole).astype(np.uint8), cv2.DIST_L2, 5)
    shadow = ~hole & (dist <= 5)
    image = face.image.copy()
    image[shadow] = (image[shadow] * np.array([0.9, 0.87, 0.87])).astype(np.uint8)  # within the outlier test
    face.image = image
    inner = hole & (cv2.erode(hole.astype(np.uint8), np.ones((31, 31), np.uint8)) > 0)  # away from the seam
    errors = {}
    for gap in (2, 6):
        out = ReferenceComposite(CompositeOptions(stats_gap=FaceLength(gap), color_smoothing=0.0)).reconstruct([face])[0]
        errors[gap] = _mean_colour_error(out, truth, inner)
    assert errors[6] < 0.6 * errors[2], errors  # (about 4.0 and 2.0)
    assert errors[6] < 3.0, errors


def _elliptic_hole(
    h: int, w: int, centre: tuple[int, int], radii: tuple[float, float], ring_px: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pixel rows and columns, an elliptic hole ((row, column) centre and radii) and the ring from 2 to ``ring_px``
    pixels around it."""
    yy, xx = np.mgrid[:h, :w]
    hole = ((yy - centre[0]) / radii[0]) ** 2 + ((xx - centre[1]) / radii[1]) ** 2 <= 1.0
    dist = cv2.distanceTransform((~hole).astype(np.uint8), cv2.DIST_L2, 5)
    return yy, xx, hole, (dist > 2) & (dist <= ring_px)


def test_pale_skin_beside_a_white_mask_is_not_taken_for_the_mask() -> None:
    # A pleated white mask on a pale face, hair over part of the ring: the mask's colour spread (its folds, the skin
    # it reflects) takes in the pale skin around it. Were that skin dropped as mask-coloured, only the hair (alike in
    # both images: "no change") would be left and the rebuilt face would keep the reference's colour; it must be
    # matched to her pale skin. A grey shirt, no more colourful than the mask, is still left out.
    from unmask_video.reconstruct.color_match import match_color

    rng = np.random.default_rng(3)
    h, w = 120, 120
    yy, xx, hole, ring = _elliptic_hole(h, w, (60, 60), (34.0, 44.0), 14)
    hair = ring & (xx < 40)
    shirt = ring & (yy > 100)

    def texture(colour: tuple[int, int, int]) -> np.ndarray:
        return np.clip(np.array(colour, np.float32) + rng.normal(0.0, 3.0, (h, w, 1)), 0, 255)

    reference = texture((205, 150, 125))  # her reference photo: another light, tanned skin
    image = texture((240, 222, 210))  # the frame: pale skin
    folds = (0.78 + 0.22 * np.cos(yy / 3.0))[..., None]  # the pleats' shading, and the light they throw back
    image[hole] = (np.array([236, 222, 222], np.float32) * folds + rng.normal(0.0, 4.0, (h, w, 3)))[hole]
    reference[hair] = image[hair] = (70, 52, 40)
    image[shirt] = (128, 130, 134)
    reference, image = reference.astype(np.uint8), np.clip(image, 0, 255).astype(np.uint8)
    pale = texture((240, 222, 210)).astype(np.uint8)  # what her skin under the mask looks like
    out = match_color(reference, image, ring, hole, 0.0, False, hole)
    assert _mean_colour_error(reference, pale, hole) > 30.0
    assert _mean_colour_error(out, pale, hole) < 4.0, _mean_colour_error(out, pale, hole)



def test_a_reference_that_covers_none_of_the_hole_is_still_matched_on_the_ring() -> None:
    # The warped reference may cover none of the mask (a photo turned away, a hole past its outline): its skin colour
    # in the hole is then unknown, which must not stop the match (OpenCV refuses to convert no pixels at all).
    from unmask_video.reconstruct.color_match import match_color

    h, w = 120, 120
    _, _, hole, ring = _elliptic_hole(h, w, (60, 60), (34.0, 44.0), 14)
    image = np.full((h, w, 3), (200, 160, 140), np.uint8)
    image[hole] = (90, 120, 200)  # a blue mask
    reference = np.full((h, w, 3), (170, 120, 100), np.uint8)
    reference[hole] = 0  # the warp covers nothing there
    apply = ring.copy()
    out = match_color(reference, image, ring, apply, 0.0, False, hole)
    assert _mean_colour_error(reference, image, apply) > 20.0
    assert _mean_colour_error(out, image, apply) < 3.0, _mean_colour_error(out, image, apply)

def _relit(reference: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """The reference photo in other light: darker, warmer, lit from its left, a highlight on the lower face."""
    h, w = reference.shape[:2]
    x0, x1 = float(landmarks[:, 0].min()), float(landmarks[:, 0].max())
    side = np.clip(1.25 - 0.6 * (np.arange(w, dtype=np.float32) - x0) / (x1 - x0), 0.5, 1.3)[None, :, None]
    rgb = reference.astype(np.float32) * side * np.array([1.05, 0.8, 0.6], np.float32)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy = landmarks[:, 0].mean(), landmarks[:, 1].mean() + 0.15 * (landmarks[:, 1].max() - landmarks[:, 1].min())
    rgb += 90.0 * np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * (0.06 * (x1 - x0)) ** 2))[..., None]
    return np.clip(rgb, 0, 255).astype(np.uint8)


def _lab(pixels: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(pixels.reshape(1, -1, 3).astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab).reshape(-1, 3)


def test_a_reference_in_other_light_takes_the_light_of_the_frames_skin() -> None:
    face, truth = masked_face(light=_relit)
    hole = face.mask > 0
    truth_lab = _lab(truth[hole])
    results = {}
    for light in ("skin", "ring"):
        out = ReferenceComposite(CompositeOptions(light=light)).reconstruct([face])[0]
        lab = _lab(out[hole])
        results[light] = (float(np.linalg.norm(lab.mean(0) - truth_lab.mean(0))),
                          float(np.percentile(lab[:, 0], 99.5) - np.percentile(truth_lab[:, 0], 99.5)))
    cast, highlight = results["skin"]
    plain_lab = _lab(face.reference[hole])
    assert float(np.linalg.norm(plain_lab.mean(0) - truth_lab.mean(0))) > 12.0  # the relit reference is far off
    assert cast < 2.5 and cast < results["ring"][0], results
    # The reference's highlight is not carried at full strength (nor amplified by the gain that brightens the rest).
    assert highlight < 6.0, results
    assert highlight < results["ring"][1] - 3.0, results


def _paint_lipstick(image: np.ndarray, lips: np.ndarray) -> np.ndarray:
    """``image`` with the ``lips`` pixels ((h, w) bool) made lipstick red (their lightness kept)."""
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2Lab)
    lab[..., 1][lips], lab[..., 2][lips] = 185, 150
    return cv2.cvtColor(lab, cv2.COLOR_Lab2RGB)


def test_a_reference_in_other_light_keeps_the_lipsticks_colour() -> None:
    # The light from the frame's skin scales the reference's colour variation down to the skin's own; lipstick is
    # the person's colour, not the light's: the rebuilt lips stay as red against the skin as the reference shows them.
    face, truth = masked_face(light=_relit)
    hole = face.mask > 0
    lips = np.zeros(hole.shape, np.uint8)
    cv2.fillPoly(lips, [np.round(face.landmarks[list(landmark_sets.LIPS_OUTER)]).astype(np.int32)], 1)
    lips = cv2.erode(lips, np.ones((3, 3), np.uint8)).astype(bool) & hole
    skin = hole & ~cv2.dilate(lips.astype(np.uint8), np.ones((15, 15), np.uint8)).astype(bool)
    face = dataclasses.replace(face, reference=_paint_lipstick(face.reference, lips))
    truth = _paint_lipstick(truth, lips)

    def redness(image: np.ndarray) -> float:
        a = cv2.cvtColor(image, cv2.COLOR_RGB2Lab)[..., 1].astype(np.float32)
        return float(a[lips].mean() - a[skin].mean())

    out = ReferenceComposite(CompositeOptions(light="skin")).reconstruct([face])[0]
    assert redness(truth) > 30.0 and redness(face.reference) > 20.0
    # (as red as the reference shows them against its skin: without the rule, about 0.8 of it)
    assert redness(out) > 0.9 * redness(face.reference), (redness(out), redness(face.reference))


def _painted(redder: float, cheek: bool, lips: bool):
    """A function that paints the reference photo (its landmarks given) ``redder`` Lab a units redder on a soft patch of
    its image-left cheek under the mask (a blush) and/or on its lips (their lightness kept), then relights it
    (:func:`_relit`: a photo in other light, whose skin's fine colour is not the frame's)."""

    def paint(reference: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        h, w = reference.shape[:2]
        width = float(np.ptp(landmarks[:, 0]))
        weight = np.zeros((h, w), np.float32)
        if cheek:
            ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
            cx, cy = landmarks[[50, 187]].mean(axis=0)  # the image-left cheek
            weight += np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * (0.1 * width) ** 2))
        if lips:
            weight += _soft_lips((h, w), landmarks)
        return _redden(reference, landmarks, weight, redder)

    return paint


def test_a_blush_in_the_reference_is_not_carried_but_its_lips_keep_their_colour() -> None:
    # The same red on the reference's cheek under the mask and on its lips, the frame's skin without it: the rebuilt
    # cheek's colour strays no further from the skin around it than the frame's visible skin does (a blush or acne
    # in a stand-in photo is not the person's), the lips (found near the mouth's landmarks) keep it.
    redder = 20.0
    plain, _ = masked_face(light=_painted(0.0, cheek=False, lips=False))
    face, _ = masked_face(light=_painted(redder, cheek=True, lips=True))
    hole = face.mask > 0

    painted = (_lab_a(face.reference) - _lab_a(plain.reference)) > 0.3 * redder
    lips = np.zeros(hole.shape, np.uint8)
    cv2.fillPoly(lips, [np.round(face.landmarks[list(landmark_sets.LIPS_OUTER)]).astype(np.int32)], 1)
    near_mouth = cv2.dilate(lips, np.ones((15, 15), np.uint8)).astype(bool)
    cheek, on_lips = painted & hole & ~near_mouth, painted & hole & near_mouth
    assert np.count_nonzero(cheek) > 50 and np.count_nonzero(on_lips) > 50
    out_plain = ReferenceComposite(CompositeOptions(light="skin")).reconstruct([plain])[0]
    out = ReferenceComposite(CompositeOptions(light="skin")).reconstruct([face])[0]
    carried = _lab_a(out) - _lab_a(out_plain)  # what the paint changed in the rebuilt face
    in_reference = _lab_a(face.reference) - _lab_a(plain.reference)
    away = hole & ~cv2.dilate(painted.astype(np.uint8), np.ones((31, 31), np.uint8)).astype(bool)
    # (the frame's visible skin strays about 6 a/b units from its smooth colour here, the bound bends from 0.7 of it;
    # without it, about 0.9 of the blush is carried and the cheek is 9 units redder than the skin around it)
    assert float(carried[cheek].mean()) < 0.65 * float(in_reference[cheek].mean()), (
        float(carried[cheek].mean()), float(in_reference[cheek].mean()))
    rebuilt = _lab_a(out)
    redness = float(rebuilt[cheek].mean() - np.median(rebuilt[away]))
    assert redness < 7.0, redness
    # The lips keep it.
    assert float(carried[on_lips].mean()) > 0.85 * float(in_reference[on_lips].mean()), (
        float(carried[on_lips].mean()), float(in_reference[on_lips].mean()))
    # Nothing else moves: the skin away from both keeps the colour it had.
    assert float(np.abs(carried[away]).mean()) < 1.0, float(np.abs(carried[away]).mean())


def test_what_the_warp_does_not_cover_inside_the_mask_does_not_count_as_the_references_skin() -> None:
    # Inside the mask the warp often leaves a part uncovered (black: below a stand-in photo's narrow jaw). The
    # reference's skin colour is read from what it covers only: the black pulled its median down and widened its
    # spread, and the rebuilt face's colour moved with them.
    face, truth = masked_face(cast=(25, -5, -30))
    hole = face.mask > 0
    rows = np.nonzero(hole.any(axis=1))[0]
    uncovered = hole & (np.arange(hole.shape[0])[:, None] > rows[0] + 0.6 * (rows[-1] - rows[0]))
    cut = dataclasses.replace(face, reference=face.reference.copy(), valid=face.valid & ~uncovered)
    cut.reference[uncovered] = 0
    # (the warped skin's rim along the uncovered part is faded into its colour: outside_fill.OutsideFillOptions.rim)
    rim = OutsideFillOptions().rim * face_size_px(face.landmarks) + 2
    covered = hole & cut.valid & (cv2.distanceTransform((~uncovered).astype(np.uint8), cv2.DIST_L2, 3) > rim)
    options = CompositeOptions(color_smoothing=0.0)
    whole = ReferenceComposite(options).reconstruct([face])[0]
    out = ReferenceComposite(options).reconstruct([cut])[0]
    assert np.count_nonzero(uncovered) > 0.3 * np.count_nonzero(hole)
    # (with the black counted: 0.64 mean RGB units apart on the covered pixels, and 2.7 from the truth)
    assert float(np.abs(out[covered].astype(np.float32) - whole[covered]).mean()) < 0.3
    assert _mean_colour_error(out, truth, covered) < 2.4


def test_another_persons_blotchy_skin_is_flattened_to_the_frames_skin() -> None:
    # A stand-in photo of someone else, darker and yellower, its skin blotchy (patches a tenth of the face across), for
    # a face whose visible skin around the mask is even: the blotches are scaled down to what the frame's skin shows
    # (at most to 0.3 of them), not carried at half strength.
    from unmask_video.reconstruct.color_match import match_color

    rng = np.random.default_rng(7)
    h, w = 160, 160
    _, _, hole, ring = _elliptic_hole(h, w, (85, 80), (48.0, 56.0), 16)
    image = np.clip(np.array([236, 200, 190], np.float32) + rng.normal(0.0, 2.0, (h, w, 1)), 0, 255)
    image[hole] = (220, 222, 226)  # a grey mask
    blotches = cv2.resize(rng.random((12, 12)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    blotches = np.clip(blotches, 0.0, 1.0)[..., None]
    skin = np.array([150, 100, 60], np.float32) + rng.normal(0.0, 2.0, (h, w, 1))
    plain = np.clip(skin, 0, 255).astype(np.uint8)
    blotchy = np.clip(skin * (1.0 - 0.35 * blotches), 0, 255).astype(np.uint8)
    image = image.astype(np.uint8)

    def lightness(rgb: np.ndarray) -> np.ndarray:
        return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)[..., 0]

    def rebuilt(reference: np.ndarray) -> np.ndarray:
        return match_color(reference, image, ring, hole, 0.35, False, hole, seam_sigma=0.05, light="skin")

    inner = hole & (cv2.erode(hole.astype(np.uint8), np.ones((21, 21), np.uint8)) > 0)
    painted = lightness(blotchy) - lightness(plain)
    carried = lightness(rebuilt(blotchy)) - lightness(rebuilt(plain))
    ratio = float(np.std(carried[inner]) / np.std(painted[inner]))
    assert ratio < 0.42, ratio  # (about 0.5 with the reference's contrast kept at half at least)


def test_a_darker_reference_leaves_no_step_under_the_eyes() -> None:
    # A stand-in photo far darker and yellower than the frame's skin: where the mask's top edge was (the nose bridge,
    # the cheeks under the eyes), the rebuilt skin meets the frame's without a step, in lightness or colour.
    def darker(reference: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        return np.clip(reference.astype(np.float32) * np.array([0.6, 0.5, 0.35], np.float32), 0, 255).astype(np.uint8)

    face, truth = masked_face(light=darker)
    hole = face.mask > 0
    # The frame lit from above, its neck greyer than its cheeks: the ring under the mask says another colour and light
    # than the ring under the eyes.
    h = truth.shape[0]
    ramp = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    truth = np.clip(truth * (1.1 - 0.35 * ramp * np.array([0.6, 1.0, 1.0], np.float32)), 0, 255).astype(np.uint8)
    face.image = truth.copy()
    face.image[hole] = MASK_COLOUR
    rows = np.nonzero(hole.any(axis=1))[0]
    top = hole & (np.arange(hole.shape[0])[:, None] < rows[0] + 0.3 * (rows[-1] - rows[0]))
    assert _mean_colour_error(face.reference, truth, top & face.valid) > 25.0
    steps = {}
    for name, options in (("plain", CompositeOptions(seam_sigma=0.0, local_color_sigma=0.0)), ("ours", CompositeOptions())):
        rebuilt = ReferenceComposite(options).reconstruct([face])[0]
        frame = face.image.copy()
        blend_into(frame, Box(0, 0, frame.shape[1], frame.shape[0]), rebuilt, face.mask,
                   options.band.px(face_size_px(face.landmarks)))  # fmt: skip
        steps[name] = _edge_step(frame, truth, hole, upper=0.3, typical=True)
    assert steps["ours"] < 3.6 and steps["ours"] < 0.75 * steps["plain"], steps  # (about 3.1 and 4.8)


def test_a_far_darker_stand_in_takes_the_frames_colour_where_both_show_the_same_non_skin() -> None:
    # A stand-in photo far darker and yellower than the frame: ring pixels where the frame passes the loose "shows
    # skin" test and the reference fails it (its darker lids, lashes, hair) were all compared with the reference's
    # smooth skin light, as if the frame showed skin beside the reference's hair. Where the frame's pixel, moved by
    # the change under the eyes, is nearer the reference's own pixel, both show the same thing: compared pixel by
    # pixel. (Mean colour error on the rebuilt face about 6.2; 9.0 with every such pixel compared with the light.)
    def darker(reference: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        return np.clip(reference.astype(np.float32) * np.array([0.6, 0.5, 0.35], np.float32), 0, 255).astype(np.uint8)

    face, truth = masked_face(light=darker)
    hole = face.mask > 0
    out = ReferenceComposite(CompositeOptions(color_smoothing=0.0)).reconstruct([face])[0]
    assert _mean_colour_error(face.reference, truth, hole & face.valid) > 25.0
    assert _mean_colour_error(out, truth, hole & face.valid) < 7.5


def test_the_frames_skin_colour_is_read_without_the_hair_that_widens_it() -> None:
    # A dark clip's ring under the eyes takes in strands of dark hair, in skin's own hue: its robust spread, widened by
    # them, took in the hair beside the jaw as skin. The frame's skin is read from the pixels no darker than 0.6 of
    # its median lightness.
    from unmask_video.reconstruct.ring_colour import near_colour, robust
    from unmask_video.reconstruct.ring_weights import _lit_skin

    rng = np.random.default_rng(2)
    skin = np.stack([rng.normal(40.0, 4.0, 800), rng.normal(17.0, 2.0, 800), rng.normal(26.0, 2.0, 800)])
    hair = np.stack([rng.normal(10.0, 3.0, 300), rng.normal(8.0, 2.0, 300), rng.normal(11.0, 2.0, 300)])
    sample = np.concatenate([skin, hair], axis=1).astype(np.float32)
    beside_jaw = np.float32([[18.0], [10.0], [17.0]])  # hair in shadow beside the jaw
    assert near_colour(beside_jaw, robust(sample), 4.0)[0]  # (the spreads of skin and hair together take it in)
    lit = _lit_skin(sample)
    assert not near_colour(beside_jaw, lit, 4.0)[0]
    assert near_colour(skin.astype(np.float32), lit, 4.0).mean() > 0.98



def test_the_field_filter_averages_its_constants_as_constant_channels_beside_the_field() -> None:
    # The filter averages a few constants with the field without building an image of them: the same numbers as the
    # constants filtered as constant channels of the field (their grid cells, averaged over two frames, read back as
    # the pixel mean), up to float rounding.
    from unmask_video.reconstruct.face_history import FaceHistory, FieldFilter, _resize_channels

    rng = np.random.default_rng(3)
    h, w, weight = 97, 128, 0.8
    fields = [cv2.GaussianBlur(rng.normal(0, 5, (h, w, 3)).astype(np.float32), (0, 0), 9) for _ in range(2)]
    constants = [np.float32([0.4, 0.9]), np.float32([0.7, 0.5])]
    history, centre = FaceHistory(), np.float32([50, 50])
    got = []
    for field, c in zip(fields, constants):
        got.append(FieldFilter(history, centre, 100.0, weight, history.take(centre, 100.0)).with_constants(field, c))
    # As constant channels: the cells of the first frame, then the average of both frames' cells, its change read back.
    cells = [_resize_channels(np.concatenate([f, np.broadcast_to(c, (h, w, 2))], axis=2), (12, 12), cv2.INTER_AREA)
             for f, c in zip(fields, constants)]  # fmt: skip
    delta = weight * cells[0] + (1 - weight) * cells[1] - cells[1]
    full = np.concatenate([fields[1], np.broadcast_to(constants[1], (h, w, 2))], axis=2)
    full = full + _resize_channels(delta, (w, h), cv2.INTER_LINEAR)
    np.testing.assert_allclose(got[0][1], constants[0], atol=1e-6)  # (nothing to average with on the first frame)
    np.testing.assert_allclose(got[1][0], full[..., :3], atol=1e-4)
    np.testing.assert_allclose(got[1][1], full[..., 3:].astype(np.float64).mean(axis=(0, 1)), atol=1e-5)
    assert abs(got[1][1][0] - (weight * 0.4 + (1 - weight) * 0.7)) < 1e-4  # (a constant: its plain average)


def test_the_field_filter_holds_more_numbers_beside_its_cells_as_their_average_over_the_frames() -> None:
    # The fine detail's scale goes through the face's temporal filter beside the contrast: its numbers are averaged
    # over the frames with the field's weight (held beside the grid's cells), and the field and the constants are the
    # same numbers as without them.
    from unmask_video.reconstruct.face_history import FaceHistory, FieldFilter

    rng = np.random.default_rng(4)
    h, w, weight = 61, 80, 0.7
    fields = [cv2.GaussianBlur(rng.normal(0, 5, (h, w, 3)).astype(np.float32), (0, 0), 7) for _ in range(3)]
    constants = [np.float32([0.4, 0.9, 1.0]), np.float32([0.7, 0.5, 0.8]), np.float32([0.6, 0.6, 0.6])]
    held = [np.float32([1.0, 0.5, 0.3]), np.float32([0.6, 0.9, 0.3]), np.float32([0.2, 0.9, 1.0])]
    with_held, without = (FaceHistory(), np.float32([30, 30])), (FaceHistory(), np.float32([30, 30]))
    expected = held[0].astype(np.float64)
    for k, (field, c, m) in enumerate(zip(fields, constants, held)):
        history, centre = with_held
        f1, c1, m1 = FieldFilter(history, centre, 60.0, weight, history.take(centre, 60.0)).with_held(field, c, m)
        history, centre = without
        f0, c0 = FieldFilter(history, centre, 60.0, weight, history.take(centre, 60.0)).with_constants(field, c)
        np.testing.assert_array_equal(f1, f0)
        np.testing.assert_array_equal(c1, c0)
        if k:
            expected = weight * expected + (1 - weight) * m
        assert m1.dtype == np.float32 and m1.shape == (3,)
        np.testing.assert_allclose(m1, expected, atol=1e-6)


def test_the_surround_fill_reads_the_same_pixels_of_a_box_of_a_bigger_image_as_numpys_gather() -> None:
    # The surround fill reads the frame's pixels around the mask through their byte offsets in a view of a box of the
    # frame (rows of whole pixels, not contiguous): the same bytes as numpy's gather, channel by channel.
    from unmask_video.reconstruct.surround import _planes_at

    rng = np.random.default_rng(5)
    frame = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    box = frame[17:101, 23:150]
    ys, xs = np.nonzero(rng.random(box.shape[:2]) < 0.1)
    for plane, c in zip(_planes_at(box, ys, xs), range(3)):
        np.testing.assert_array_equal(plane, box[ys, xs, c])
    assert _planes_at(box, ys[:0], xs[:0])[0].shape == (0,)


def _elsewhere_surroundings(image: np.ndarray, landmarks: np.ndarray, kind: str, colour: tuple[int, int, int]) -> np.ndarray:
    """``image`` in front of a saturated ``colour`` (``kind`` "green screen": everything outside the face oval) or above
    a black letterbox bar from just under the chin ("dark bar"); as it is for "plain"."""
    image = image.copy()
    if kind == "green screen":
        image[face_region(image.shape[:2], landmarks) == 0] = colour
    elif kind == "dark bar":
        image[int(landmarks[:, 1].max()) + 4:] = 0
    return image


def _rebuilt_from_elsewhere(kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rebuilt ROI, truth ROI, where to score): the moved astronaut masked, in front of ``kind`` surroundings, rebuilt
    from her photo taken elsewhere (darker, warmer, lit from one side, in front of a green screen or above a bar) with
    the warp's defaults: only the photo's face and neck skin is carried."""
    reference, reference_lm = astronaut()
    w = reference.shape[1]
    x0, x1 = float(reference_lm[:, 0].min()), float(reference_lm[:, 0].max())
    side = np.clip(1.1 - 0.4 * (np.arange(w, dtype=np.float32) - x0) / (x1 - x0), 0.5, 1.3)[None, :, None]
    photo = np.clip(reference.astype(np.float32) * side * np.array([0.9, 0.7, 0.55], np.float32), 0, 255).astype(np.uint8)
    photo = _elsewhere_surroundings(photo, reference_lm, kind, (20, 210, 40))
    truth, target = moved_astronaut()
    roi_lm = (target - [BOX.x0, BOX.y0]).astype(np.float32)
    mask = polygon_mask(roi_lm, (BOX.y1 - BOX.y0, BOX.x1 - BOX.x0))
    hole = mask > 0
    skin = np.ascontiguousarray(truth[BOX.slices])
    truth = _elsewhere_surroundings(skin, roi_lm, kind, (220, 40, 200))
    truth[hole] = skin[hole]  # (under the mask: her skin)
    image = truth.copy()
    image[hole] = MASK_COLOUR
    warped, valid, _ = ReferenceWarper(photo, reference_lm, WarpOptions()).warp(roi_lm, mask.shape)
    face = FaceROI(box=BOX, image=image, landmarks=roi_lm, mask=mask, reference=warped, valid=valid)
    scored = hole & valid
    assert np.linalg.norm(_lab(warped[scored]).mean(0) - _lab(truth[scored]).mean(0)) > 10.0  # the photo is far off
    return ReferenceComposite().reconstruct([face])[0], truth, scored


@pytest.mark.parametrize("surroundings", ["green screen", "dark bar"])
def test_a_reference_from_elsewhere_is_not_tinted_nor_darkened_by_the_surroundings(surroundings: str) -> None:
    # The photo in front of a saturated green screen or above a black bar, the frame in front of a saturated magenta
    # wall or above a black bar: the ring around the mask holds the frame's skin only above the mask and beside it. The
    # rebuilt lower face takes the frame's light and colour, as it does in front of her own plain surroundings, not the
    # screens' nor the bars'.
    plain, truth, scored = _rebuilt_from_elsewhere("plain")
    plain_off = _lab(plain[scored]).mean(0) - _lab(truth[scored]).mean(0)
    out, truth, scored = _rebuilt_from_elsewhere(surroundings)
    off = _lab(out[scored]).mean(0) - _lab(truth[scored]).mean(0)
    # Near the truth: not darkened, not tinted along green-magenta (the screen's and the wall's axis).
    assert np.linalg.norm(off) < 5.0 and off[0] > -4.5 and abs(off[1]) < 2.5, off
    # The surroundings change little (the frame's skin the ring holds beside the mask is not the same).
    assert np.linalg.norm(off - plain_off) < 2.5, (off, plain_off)


def test_the_surround_fill_at_its_pixels_is_its_full_size_field_there_within_a_level() -> None:
    # ``surround`` reads its smooth field (a grid of cells) at the pixels it fills only, not resized to the whole
    # region: within a level of that full-size field, rounded, at those pixels.
    from unmask_video.reconstruct.surround import surround

    rng = np.random.default_rng(2)
    h, w = 300, 360
    image = cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3)).astype(np.uint8), (0, 0), 6)
    around = np.zeros((h, w), bool)
    cv2.ellipse(around.view(np.uint8), (180, 150), (120, 100), 0, 0, 360, 1, 12)
    box = (slice(40, 260), slice(20, 330))
    at = np.zeros((220, 310), bool)
    at[150:210, 10:60] = True
    at[120:200, 260:300] = True
    got = surround(image, around, 9.0, box, at).astype(int)
    # The same field resized to the whole grid, as before:
    ys, xs = np.nonzero(around)
    f = 9
    sh, sw = -(-h // f), -(-w // f)
    cell = (ys // f) * sw + xs // f
    ws = np.bincount(cell, minlength=sh * sw).astype(np.float32).reshape(sh, sw)
    vs = np.stack([np.bincount(cell, weights=image[ys, xs, c].astype(np.float64), minlength=sh * sw)
                   for c in range(3)], axis=-1).astype(np.float32).reshape(sh, sw, 3)
    blur = lambda a, s: cv2.GaussianBlur(a, (0, 0), s, borderType=cv2.BORDER_CONSTANT)  # noqa: E731
    field = (blur(vs, 1.0) + 1e-3 * blur(vs, 4.0)) / np.maximum(blur(ws, 1.0) + 1e-3 * blur(ws, 4.0), 1e-12)[..., None]
    full = cv2.resize(field, (w, h), interpolation=cv2.INTER_LINEAR)
    want = np.clip(full[box][at] + 0.5, 0, 255).astype(np.uint8).astype(int)
    assert got.shape == want.shape
    assert np.abs(got - want).max() <= 1


def test_coords_lists_the_pixels_as_numpys_nonzero() -> None:
    from unmask_video.reconstruct.lab_pixels import coords_of

    mask = np.random.default_rng(4).random((37, 53)) > 0.7
    ys, xs = coords_of(mask)
    want = np.nonzero(mask)
    assert np.array_equal(ys, want[0]) and np.array_equal(xs, want[1])


def test_a_strongly_coloured_collar_at_the_masks_edge_does_not_pull_the_seam_beyond_its_cap() -> None:
    # A teal collar (or a fringe of cloth) fills the ring's lower third, the frame lit from one side so that the ring's
    # differences are wide and the outlier test keeps the collar: the seam's pull on the rebuilt skin is held within
    # ``seam_cap`` (3) robust spreads of the frame's own skin colour on the ring, per Lab channel (quality benchmark:
    # lp_d12's teal collar tinted the rebuilt neck).
    from unmask_video.reconstruct.color_match import match_color
    from unmask_video.reconstruct.lab_pixels import channel_rows, to_lab
    from unmask_video.reconstruct.ring_colour import robust

    rng = np.random.default_rng(5)
    h, w = 160, 160
    yy, xx, hole, ring = _elliptic_hole(h, w, (70, 80), (48.0, 56.0), 16)
    base = np.array([200, 160, 140], np.float32) + rng.normal(0.0, 3.0, (h, w, 1))
    reference = np.clip(base, 0, 255).astype(np.uint8)
    image = np.clip(base * (1.0 + 0.3 * (xx[..., None] - 80) / 80.0), 0, 255).astype(np.uint8)  # light from the right
    image[hole] = (236, 236, 238)  # a white mask
    rows = np.flatnonzero(ring.any(axis=1))
    collar = (yy >= int(rows[-1] - 0.35 * (rows[-1] - rows[0]))) & ~hole
    image[collar] = np.clip(np.array([40, 130, 125]) + rng.normal(0.0, 3.0, (int(collar.sum()), 1)), 0, 255)
    spread = robust(channel_rows(to_lab(image[ring & ~collar])))[1]  # the frame skin's own variation (L, a, b)

    def lab(cap: float, seam: float) -> np.ndarray:
        out = match_color(reference, image, ring, hole, 0.35, False, hole, seam_sigma=seam, light="skin", seam_cap=cap)
        return cv2.cvtColor(out.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)[hole]

    no_seam = lab(0.0, 0.0)
    free = np.abs(lab(0.0, 0.05) - no_seam).max(axis=0)
    capped = np.abs(lab(CompositeOptions().seam_cap, 0.05) - no_seam).max(axis=0)
    bound = 3.0 * spread + 1.5  # (+ the working size's interpolation and 8-bit rounding)
    assert (free[1:] > 1.5 * bound[1:]).all(), (free, bound)  # uncapped, the collar's teal is pulled in (a by 34, b 20)
    assert (capped <= bound).all(), (capped, bound)


def test_the_nearest_fill_takes_each_pixel_past_the_mask_nearest_it_as_a_brute_force_search_does() -> None:
    # ``nearest_colour``'s labels (one per ``around`` pixel, raster order) name the nearest such pixel: unsmoothed,
    # every filled pixel is the colour of one ``around`` pixel at the smallest distance (within the 5x5 mask's error).
    from unmask_video.reconstruct.surround import nearest_colour

    rng = np.random.default_rng(4)
    h, w = 60, 80
    image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    around = rng.random((h, w)) < 0.02
    box = (slice(5, 55), slice(10, 70))
    at = rng.random((50, 60)) < 0.3
    got = nearest_colour(image, around, 0.01, box, at, 200)  # (a Gaussian this narrow leaves each pixel as it is)
    ays, axs = np.nonzero(around)
    for (y, x), colour in zip(np.argwhere(at), got):
        d = np.hypot(ays - (y + 5), axs - (x + 10))
        same = np.nonzero((image[ays, axs] == colour).all(axis=1))[0]
        assert same.size and d[same].min() <= d.min() * 1.03 + 0.05


def test_beside_the_jaw_a_collar_and_a_wall_along_the_masks_edge_go_on_as_themselves_not_as_one_grey() -> None:
    # The grey-mask man's jaw sides: past the mask's side edge a wall above and a white collar below, beside a
    # reference jaw narrower than the mask. The gap takes the wall's colour beside the wall and the collar's beside
    # the collar; the wide field (``fill_nearest_sigma=0``) mixed them into a grey.
    face, _ = masked_face()
    face.mask = cv2.dilate(face.mask, np.ones((31, 31), np.uint8))
    hole = face.mask > 0
    oval = face_region(hole.shape, face.landmarks) > 0
    wall, collar = np.array((60, 90, 150)), np.array((245, 245, 240))
    face.image = face.image.copy()
    ys = np.nonzero(hole.any(axis=1))[0]
    split = int(ys[0] + 0.6 * (ys[-1] - ys[0]))
    face.image[~oval & ~hole] = wall
    lower = np.zeros_like(hole)
    lower[split:] = True
    face.image[~oval & ~hole & lower] = collar
    face.image[hole] = MASK_COLOUR
    face.valid = face.valid & oval
    face.reference = np.where(face.valid[..., None], face.reference, 0).astype(np.uint8)
    column = (neck_column(hole.shape, face.landmarks) > 0) & (neck_region(hole.shape, face.landmarks, 0.4) > 0)
    beside = hole & (cv2.distanceTransform(oval.astype(np.uint8) ^ 1, cv2.DIST_L2, 3) > 12)
    beside &= cv2.dilate(column.astype(np.uint8), np.ones((9, 9), np.uint8)) == 0
    # (rows right by the split mix the two, as the frame's own edge between them does; far from it the wide field
    # is one colour too: the rows within a few of its sigmas)
    upper_gap, lower_gap = beside & ~lower, beside & lower
    upper_gap[split - 3:] = False
    upper_gap[: split - 15] = False
    lower_gap[: split + 3] = False
    lower_gap[split + 15:] = False
    assert upper_gap.sum() > 50 and lower_gap.sum() > 50, (upper_gap.sum(), lower_gap.sum())
    errors = {}
    for sigma in (0.01, 0.0):
        out = ReferenceComposite(CompositeOptions(fill_nearest_sigma=sigma)).reconstruct([face])[0].astype(np.float32)
        errors[sigma] = (float(np.abs(out[upper_gap] - wall).mean()), float(np.abs(out[lower_gap] - collar).mean()))
    assert max(errors[0.01]) < 10.0, errors
    assert max(errors[0.0]) > 2 * max(errors[0.01]), errors


def test_colours_by_label_are_the_nearest_ring_pixels_colours() -> None:
    """The nearest fill's gather (``_by_label``: packed colours, one gather) gives each pixel exactly the colour of its
    label's ring pixel, as indexing the image by that pixel's row and column does."""
    from unmask_video.reconstruct.surround import _by_label

    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (61, 47, 3), np.uint8)
    ring = np.zeros((61, 47), bool)
    ring[10:13, 5:40] = True
    ring[30:58, 44] = True
    _, labels = cv2.distanceTransformWithLabels((~ring).astype(np.uint8), cv2.DIST_L2, 5,
                                                labelType=cv2.DIST_LABEL_PIXEL)  # fmt: skip
    ys, xs = np.nonzero(ring)
    expected = image[ys[labels - 1], xs[labels - 1]].astype(np.float32)
    got = _by_label(image[ring], labels)
    assert got.dtype == np.float32 and got.shape == (61, 47, 3)
    assert np.array_equal(got, expected)


def _lab_a(image: np.ndarray) -> np.ndarray:
    """Lab a (redness) of an RGB uint8 image, float32."""
    return cv2.cvtColor(image, cv2.COLOR_RGB2Lab)[..., 1].astype(np.float32)


def _moustache(redder: float, above: float = 0.22):
    """A function that paints the reference photo ``redder`` Lab a units redder on a soft patch above its image-left
    upper lip (a stand-in's shaded, redder moustache; its centre ``above`` mouth widths above the lips' top), within
    the mouth's zone but off the lips, and on its lips, then relights it (:func:`_relit`)."""

    def paint(reference: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        h, w = reference.shape[:2]
        mouth = landmarks[list(landmark_sets.LIPS_OUTER)]
        left, right = landmarks[list(landmark_sets.MOUTH_CORNERS)]
        width = float(np.hypot(*(right - left)))
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
        cx, cy = 0.65 * left + 0.35 * right
        cy = float(mouth[:, 1].min()) - above * width
        weight = np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * (0.06 * width) ** 2))
        weight += _soft_lips((h, w), landmarks)
        return _redden(reference, landmarks, weight, redder)

    return paint


def test_a_redder_patch_beside_the_references_own_lips_is_bounded_as_skin() -> None:
    # The mouth's zone around the frame's mouth is wide (the warp carries the reference's mouth with the face above the
    # mask, not onto FaceMesh's guess): a stand-in's redder moustache above its lip lies in it and was kept unbounded
    # as the lips' colour. Where the warp put the reference's own lips is known (``FaceROI.reference_lips``): only
    # there is the colour the lips'.
    redder = 20.0
    plain, _ = masked_face(light=_moustache(0.0))
    face, _ = masked_face(light=_moustache(redder))
    hole = face.mask > 0

    in_reference = _lab_a(face.reference) - _lab_a(plain.reference)
    painted = in_reference > 0.3 * redder
    lips = np.zeros(hole.shape, np.uint8)
    cv2.fillPoly(lips, [np.round(face.landmarks[list(landmark_sets.LIPS_OUTER)]).astype(np.int32)], 1)
    on_lips = painted & hole & cv2.erode(lips, np.ones((3, 3), np.uint8)).astype(bool)
    patch = painted & hole & ~cv2.dilate(lips, np.ones((9, 9), np.uint8)).astype(bool)
    assert np.count_nonzero(patch) > 30 and np.count_nonzero(on_lips) > 50
    known = [dataclasses.replace(f, reference_lips=f.landmarks[list(landmark_sets.LIPS_OUTER)]) for f in (plain, face)]

    def carried(faces: list) -> np.ndarray:
        outs = [ReferenceComposite(CompositeOptions(light="skin")).reconstruct([f])[0] for f in faces]
        return _lab_a(outs[1]) - _lab_a(outs[0])

    unknown, bounded = carried([plain, face]), carried(known)
    share = [float(c[patch].mean()) / float(in_reference[patch].mean()) for c in (unknown, bounded)]
    # (without the lips' place, the patch is kept as the lips' colour: about 0.9 of it)
    assert share[0] > 0.8, share
    assert share[1] < 0.5, share
    # The lips keep their colour.
    assert float(bounded[on_lips].mean()) > 0.85 * float(in_reference[on_lips].mean())


def _lip_rim(redder: float, at: float = 0.07):
    """A function that paints the reference photo ``redder`` Lab a units redder on a thin band ``at`` mouth widths
    outside its lips' outline, above the image-left half of its upper lip (the shaded, redder edge of a stand-in's
    moustache right above the lip), and on its lips, then relights it (:func:`_relit`)."""

    def paint(reference: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        h, w = reference.shape[:2]
        left, right = landmarks[list(landmark_sets.MOUTH_CORNERS)]
        width = float(np.hypot(*(right - left)))
        _, far = _outside_lips((h, w), landmarks)
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
        centre = 0.5 * (left + right)
        weight = np.exp(-(((far - at * width) / (0.025 * width)) ** 2)) * (far > 0)
        weight *= (ys < centre[1]) & (xs < centre[0])
        weight += _soft_lips((h, w), landmarks)
        return _redden(reference, landmarks, weight, redder)

    return paint


def _lips_inside(shape: tuple[int, int], landmarks: np.ndarray) -> np.ndarray:
    """Inside the LIPS_OUTER outline of ``landmarks``: (h, w) uint8 {0, 1}."""
    lips = np.zeros(shape, np.uint8)
    cv2.fillPoly(lips, [np.round(landmarks[list(landmark_sets.LIPS_OUTER)]).astype(np.int32)], 1)
    return lips


def _soft_lips(shape: tuple[int, int], landmarks: np.ndarray) -> np.ndarray:
    """The lips (:func:`_lips_inside`) as a float32 weight, its edge blurred by a Gaussian of 1 px."""
    return cv2.GaussianBlur(_lips_inside(shape, landmarks).astype(np.float32), (0, 0), 1.0)


def _redden(reference: np.ndarray, landmarks: np.ndarray, weight: np.ndarray, redder: float) -> np.ndarray:
    """``reference`` ``redder`` Lab a units redder where ``weight`` (capped at 1) says, relit (:func:`_relit`)."""
    lab = cv2.cvtColor(reference, cv2.COLOR_RGB2Lab).astype(np.float32)
    lab[..., 1] += redder * np.minimum(weight, 1.0)
    return _relit(cv2.cvtColor(np.clip(lab, 0, 255).astype(np.uint8), cv2.COLOR_Lab2RGB), landmarks)


def _outside_lips(shape: tuple[int, int], landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(inside the LIPS_OUTER outline of ``landmarks``, (h, w) uint8 {0, 1}; each pixel's distance outside it, float32)."""
    lips = _lips_inside(shape, landmarks)
    return lips, cv2.distanceTransform(1 - lips, cv2.DIST_L2, 5)


def test_a_redder_rim_right_above_the_references_own_lips_is_bounded_as_skin() -> None:
    # The carried outline lies on the warped lips to a pixel: grown by 0.08 mouth widths (and faded over 0.08 more)
    # it took in the skin right above the upper lip, and a stand-in's shaded, redder moustache edge there was kept as
    # the lips' colour (the pink rim above the grey-mask man's rebuilt upper lip). A band 0.07 mouth widths above
    # the outline: 0.72 of it kept with that growth (as without the lips' place), 0.50 now; the lips keep theirs.
    redder = 20.0
    plain, _ = masked_face(light=_lip_rim(0.0))
    face, _ = masked_face(light=_lip_rim(redder))
    hole = face.mask > 0

    in_reference = _lab_a(face.reference) - _lab_a(plain.reference)
    left, right = face.landmarks[list(landmark_sets.MOUTH_CORNERS)]
    width = float(np.hypot(*(right - left)))
    lips, far = _outside_lips(hole.shape, face.landmarks)
    painted = in_reference > 0.3 * redder
    on_lips = painted & hole & cv2.erode(lips, np.ones((3, 3), np.uint8)).astype(bool)
    rim = painted & hole & (far > 0.04 * width)
    assert np.count_nonzero(rim) > 15 and np.count_nonzero(on_lips) > 50
    known = [dataclasses.replace(f, reference_lips=f.landmarks[list(landmark_sets.LIPS_OUTER)]) for f in (plain, face)]
    outs = [ReferenceComposite(CompositeOptions(light="skin")).reconstruct([f])[0] for f in known]
    carried = _lab_a(outs[1]) - _lab_a(outs[0])
    share = float(carried[rim].mean()) / float(in_reference[rim].mean())
    assert share < 0.6, share
    assert float(carried[on_lips].mean()) > 0.85 * float(in_reference[on_lips].mean())


def _finger_beside_the_jaw() -> tuple[FaceROI, np.ndarray, np.ndarray, tuple[int, int, int]]:
    """The set-up of the test above (dark hair beside the jaw, a mask reaching past the face's sides, a reference
    carrying only its face) with a skin-coloured finger laid over the mask's image-right side above the jaw's corners,
    left out of the mask: (face, the gap beside the jaw just under the finger, the finger, the hair's colour)."""
    face, hole, oval, hair = _hair_beside_the_jaw()
    # (the finger: a bar 12 px wide from outside the mask's side into it, across the face's outline, above the jaw's
    # corners; the skin's own colour, the rebuilt cheek's)
    lm = face.landmarks
    cols = np.flatnonzero(hole.any(axis=0))
    corner_y = float(lm[list(landmark_sets.NECK_SIDES)][:, 1].min())
    y = int(corner_y) - 22
    right = int(cols[-1])
    finger = np.zeros(hole.shape, np.uint8)
    cv2.line(finger, (right + 20, y - 8), (right - 45, y + 4), 1, 12)
    finger = finger > 0
    skin = tuple(int(v) for v in np.median(face.reference[face.valid & hole], axis=0))
    face.image[finger] = skin
    face.mask = np.where(finger, 0.0, face.mask).astype(np.float32)
    hole = face.mask > 0
    # (the gap beside the jaw under the finger: past the face's outline, in the hole, within 15 px of the finger)
    near = cv2.distanceTransform((~finger).astype(np.uint8), cv2.DIST_L2, 3) <= 15
    far_out = cv2.distanceTransform(oval.astype(np.uint8) ^ 1, cv2.DIST_L2, 3) > 3
    gap = hole & near & far_out & (np.arange(hole.shape[0])[:, None] > y)
    return face, gap, finger, hair


def test_the_gap_beside_the_jaw_under_a_finger_takes_the_hair_behind_it_not_the_finger() -> None:
    # A finger laid over the mask's side (KF94's frames 166-172): the segmentation leaves it out of the mask, so the
    # frame's pixels just past the mask hold the finger as well as the hair beside the face. The gap between the
    # rebuilt jaw and the mask's side under the finger is filled from the hair, not with the finger's colour (a pale
    # wedge between the jaw's shaded rim and the hair).
    face, gap, finger, hair = _finger_beside_the_jaw()
    assert gap.sum() > 100, gap.sum()
    skin = np.median(face.image[finger], axis=0)
    distance, pale = {}, {}
    for reach in (2.5, 0.0):
        out = ReferenceComposite(CompositeOptions(fill_front_reach=reach)).reconstruct([face])[0][gap].astype(np.float32)
        distance[reach] = float(np.abs(out - hair).mean())
        # (the pixels nearer the finger's colour than the hair's: the pale wedge)
        pale[reach] = int(np.count_nonzero(np.linalg.norm(out - skin, axis=1) < np.linalg.norm(out - hair, axis=1)))
    # (what is left near the finger's end past the mask's outline: there the finger lies beside the mask, no notch)
    assert distance[2.5] < 40.0 and distance[0.0] > 2 * distance[2.5], distance
    assert pale[2.5] < 0.5 * pale[0.0], pale


def test_a_pale_lining_in_a_pocket_of_the_mask_stays_what_the_gap_beside_it_takes() -> None:
    # The same pocket of the mask holding a pale hood's lining instead of a finger (not the skin's colour: the grey-mask
    # man's lining, taken in round a pocket by the mask's outline): it lies beside the face, and the fill reads it as
    # before (exactly the fill without the rule).
    face, gap, finger, _ = _finger_beside_the_jaw()
    face.image[finger] = (235, 235, 232)
    out = ReferenceComposite().reconstruct([face])[0]
    off = ReferenceComposite(CompositeOptions(fill_front_reach=0.0)).reconstruct([face])[0]
    assert np.array_equal(out, off)


def test_in_front_finds_a_fingers_notch_not_an_ear_loops_span_nor_a_jagged_outlines_pockets() -> None:
    # A round mask with a finger-wide notch cut into its side, an ear loop (a thin arc) leaving its other side, and a
    # jagged edge (pockets 2 px wide) at its bottom: the notch is in front of the mask; the span between the loop
    # and the mask's side (the background beside the face) and the pockets are not.
    from unmask_video.reconstruct.surround import in_front

    hole = np.zeros((200, 260), np.uint8)
    cv2.circle(hole, (130, 100), 70, 1, -1)
    finger = np.zeros_like(hole)
    cv2.line(finger, (215, 90), (150, 100), 1, 18)  # from outside the mask, 60 px into it
    hole[finger > 0] = 0
    cv2.ellipse(hole, (60, 100), (45, 50), 0, 90, 270, 1, 3)  # the loop round the mask's left side, 3 px thick
    for x in range(100, 160, 6):
        hole[166:171, x:x + 2] = 0  # the pockets along the bottom edge
    hole = hole > 0
    front = in_front(hole, 30.0, 8.0)
    assert front is not None
    inside_notch = (finger > 0) & (cv2.distanceTransform((~hole).astype(np.uint8), cv2.DIST_L2, 3) > 0)
    inside_notch &= np.arange(hole.shape[1]) < 190  # (the notch's part the mask's round outline wraps)
    assert front[inside_notch].mean() > 0.9, front[inside_notch].mean()
    assert not front[:, :58].any()  # (the loop's span)
    assert not front[160:, 95:165].any()  # (the pockets)
    assert not (front & hole).any()
    assert in_front(hole, 1.5, 8.0) is None
