"""Lengths in face units: the composite's bands and the blend's feather grow with the face (synthetic faces only)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage.data import astronaut

from tests.test_composite import MASK_COLOUR, masked_face, scaled_face
from unmask_video.blend import DEFAULT_BLEND_WIDTH, blend_into, feather_alpha, mask_bbox
from unmask_video.face_units import REFERENCE_FACE_PX, FaceLength, face_size_px
from unmask_video.pipeline import FramePipeline, PipelineOptions, PreparedBatch
from unmask_video.reconstruct.composite import CompositeOptions, ReferenceComposite
from unmask_video.face_detect import resize
from unmask_video.stages import Box, FaceROI
from unmask_video.work_face import WorkScales, grow_back, shrink_face

SMALL, LARGE = REFERENCE_FACE_PX, 2.5 * REFERENCE_FACE_PX  # (above every floor: the bands are proportional)


def test_a_face_length_scales_with_the_face_above_its_floor() -> None:
    length = FaceLength(12.0, 6.0)
    assert length.px(REFERENCE_FACE_PX) == pytest.approx(12.0)
    assert length.px(2 * REFERENCE_FACE_PX) == pytest.approx(24.0)
    assert length.px(0.25 * REFERENCE_FACE_PX) == pytest.approx(6.0)  # the floor
    assert FaceLength(2.0, 4.0).px(10.0) == pytest.approx(2.0)  # a floor never raises a length above its own value
    assert FaceLength(0.0, 4.0).px(500.0) == 0.0  # off stays off
    lm = np.array([[10.0, 20.0], [110.0, 60.0], [50.0, 170.0]], np.float32)
    assert face_size_px(lm) == pytest.approx(150.0)  # the longer side of the landmarks' box


def test_face_size_px_is_the_axis_reductions_number_for_any_landmarks() -> None:
    """Its cheaper per-column extents give the very float32 number of the (N, 2) reductions along axis 0: random
    faces, a single point, float64 and strided input, and a NaN in either column (it stays NaN)."""

    def by_axis(landmarks: np.ndarray) -> float:
        lm = np.asarray(landmarks, np.float32)
        return float((lm.max(axis=0) - lm.min(axis=0)).max())

    rng = np.random.default_rng(7)
    cases = [(rng.random((468, 2)) * rng.uniform(1, 2000) - rng.uniform(0, 500)).astype(np.float32) for _ in range(200)]
    cases += [np.array([[3.5, -2.25]], np.float32), rng.random((468, 2)) * 700.0, (rng.random((468, 4)) * 300)[:, ::2]]
    for column in (0, 1):
        nan = (rng.random((468, 2)) * 300).astype(np.float32)
        nan[5, column] = np.nan
        cases.append(nan)
    for lm in cases:
        got, want = face_size_px(lm), by_axis(lm)
        assert got == want or (np.isnan(got) and np.isnan(want))


def _lit(face: FaceROI, truth: np.ndarray) -> np.ndarray:
    """The truth lit from one side (the reference is not), with the mask painted on ``face.image``; returns it."""
    h, w = truth.shape[:2]
    ramp = np.linspace(1.2, 0.75, w, dtype=np.float32)[None, :, None] * np.linspace(0.9, 1.1, h, dtype=np.float32)[:, None, None]
    lit_truth = np.clip(truth * ramp, 0, 255).astype(np.uint8)
    face.image = lit_truth.copy()
    face.image[face.mask > 0] = MASK_COLOUR
    return lit_truth


def _blended(face: FaceROI, rebuilt: np.ndarray, width: float) -> np.ndarray:
    h, w = face.image.shape[:2]
    frame = face.image.copy()
    blend_into(frame, Box(0, 0, w, h), rebuilt, face.mask, width)
    return frame


def _edge_step(out: np.ndarray, truth: np.ndarray, hole: np.ndarray, unit: float) -> float:
    """The largest jump of the output's error across the mask edge, over segments of the edge (bands and segments
    ``unit`` times those at the reference size: 3 and 12 px)."""
    err = out.astype(np.float32) - truth.astype(np.float32)
    k = 2 * int(round(3 * unit)) + 1
    inside = hole & (cv2.erode(hole.astype(np.uint8), np.ones((k, k), np.uint8)) == 0)
    outside = ~hole & (cv2.dilate(hole.astype(np.uint8), np.ones((k, k), np.uint8)) > 0)
    step = int(round(12 * unit))
    xs = np.nonzero(hole)[1]
    steps = []
    for x0 in range(int(xs.min()), int(xs.max()), step):
        a, b = inside.copy(), outside.copy()
        a[:, : x0] = b[:, : x0] = False
        a[:, x0 + step :] = b[:, x0 + step :] = False
        if a.sum() > 10 and b.sum() > 10:
            steps.append(float(np.abs(err[a].mean(0) - err[b].mean(0)).max()))
    return max(steps)


def test_the_bands_are_the_same_in_face_terms_on_a_small_and_a_large_face() -> None:
    base = masked_face(cast=(15, 5, -10))
    reaches, steps = {}, {}
    for size in (SMALL, LARGE):
        face, truth = scaled_face(*base, size)
        lit_truth = _lit(face, truth)
        face_px = face_size_px(face.landmarks)
        composite = ReferenceComposite(CompositeOptions())
        rebuilt = composite.reconstruct([face])[0]
        hole = face.mask > 0
        dist = cv2.distanceTransform((~hole).astype(np.uint8), cv2.DIST_L2, 5)
        # How far out the composite continues the face (its blend band), and the blend's feather, in face sizes.
        changed = np.any(rebuilt != face.image, axis=2) & ~hole
        width = DEFAULT_BLEND_WIDTH.px(face_px)
        alpha = feather_alpha(face.mask, width)
        reaches[size] = (float(dist[changed].max()) / face_px, float(dist[alpha > 0.02].max()) / face_px)
        steps[size] = _edge_step(_blended(face, rebuilt, width), lit_truth, hole, face_px / REFERENCE_FACE_PX)
        if size == LARGE:  # the feather it had in pixels (what it is at the reference size)
            steps["pixels"] = _edge_step(_blended(face, rebuilt, 12.0), lit_truth, hole, face_px / REFERENCE_FACE_PX)
    (band_s, feather_s), (band_l, feather_l) = reaches[SMALL], reaches[LARGE]
    assert band_l == pytest.approx(band_s, abs=1.5 / SMALL) and band_s == pytest.approx(12 / REFERENCE_FACE_PX, abs=1.5 / SMALL)
    assert feather_l == pytest.approx(feather_s, abs=1.5 / SMALL), reaches
    # The step at the mask edge (this frame is lit strongly from one side and the reference has a cast) is no
    # bigger on the large face than on the small one, and far smaller than with the feather in pixels (about 17,
    # 16 and 37).
    assert steps[LARGE] < 1.1 * steps[SMALL] + 1.0, steps
    assert steps[LARGE] < 0.6 * steps["pixels"], steps


def test_the_masks_shadow_is_skipped_on_a_large_face_as_on_a_small_one() -> None:
    # The shadow a worn mask throws around it is as wide in face terms on a large face: the colour statistics skip
    # it there too (in pixels they would sample inside it and darken the rebuilt face).
    base = masked_face()
    errors = {}
    for size in (SMALL, LARGE):
        face, truth = scaled_face(*base, size)
        unit = face_size_px(face.landmarks) / REFERENCE_FACE_PX
        hole = face.mask > 0
        dist = cv2.distanceTransform((~hole).astype(np.uint8), cv2.DIST_L2, 5)
        shadow = ~hole & (dist <= 5 * unit)
        face.image = face.image.copy()
        face.image[shadow] = (face.image[shadow] * np.array([0.9, 0.87, 0.87])).astype(np.uint8)
        k = 2 * int(round(15 * unit)) + 1
        inner = hole & (cv2.erode(hole.astype(np.uint8), np.ones((k, k), np.uint8)) > 0)  # away from the seam
        out = ReferenceComposite(CompositeOptions(color_smoothing=0.0)).reconstruct([face])[0]
        errors[size] = float(np.abs(out[inner].astype(np.float64).mean(0) - truth[inner].astype(np.float64).mean(0)).max())
    assert errors[SMALL] < 3.0 and errors[LARGE] < 3.0, errors


def test_a_large_face_at_a_working_size_keeps_the_colour_of_the_full_size_one() -> None:
    # ``PipelineOptions.work_face_px``: the face chain runs on the face shrunk to the working size (its reference warped
    # there: here the full-size one shrunk alike), the rebuilt face grown back into the full-size blend. Its bands in
    # face units cover the same skin: the same colour.
    face, truth = scaled_face(*masked_face(cast=(15, 5, -10)), LARGE)
    face.mask_box = mask_bbox(face.mask > 0, 0, face.mask.shape)
    lit_truth = _lit(face, truth)
    reference = cv2.resize(masked_face()[1], None, fx=2.0, fy=2.0)  # any face photo: the reference's landmarks only
    hole = face.mask > 0
    h, w = face.image.shape[:2]
    image, landmarks, mask, box, tight, work = shrink_face(face.image, face.landmarks, face.mask, face.box,
                                                           face.mask_box, (slice(0, h), slice(0, w)), SMALL / LARGE)
    size = (image.shape[1], image.shape[0])
    small = FaceROI(box, image, landmarks, mask, resize(face.reference, *size),
                    resize(face.valid.astype(np.uint8) * 255, *size) == 255, tight, full=work)  # fmt: skip
    outs = {}
    for work_px, roi in ((None, face), (SMALL, small)):
        pipeline = FramePipeline(reference, ReferenceComposite(CompositeOptions()), PipelineOptions(work_face_px=work_px))
        frame = face.image.copy()
        outs[work_px] = pipeline.finish(PreparedBatch([frame], [(0, roi, None)], 0))[0]
        changed = pipeline.last_changed[0]
        pipeline.close()
        outside = np.ones(frame.shape[:2], bool)
        for x0, y0, x1, y1 in changed:
            outside[y0:y1, x0:x1] = False
        assert np.array_equal(outs[work_px][outside], face.image[outside])
    full, small = outs[None], outs[SMALL]
    mean = lambda a: a[hole].astype(np.float64).mean(0)  # noqa: E731
    assert np.abs(mean(small) - mean(full)).max() < 1.0, (mean(small), mean(full))
    mse = float(np.mean((small[hole].astype(np.float64) - full[hole]) ** 2))
    assert 10 * np.log10(255.0**2 / mse) > 32.0
    unit = LARGE / REFERENCE_FACE_PX
    assert _edge_step(small, lit_truth, hole, unit) < _edge_step(full, lit_truth, hole, unit) + 1.0


def test_a_tracks_working_scale_is_held_near_the_cap_and_a_small_face_is_never_scaled() -> None:
    scales = WorkScales(400.0, 0.15)
    assert scales.scale(1, 300.0) == (None, False) and scales.scale(1, 399.0) == (None, False)
    assert scales.scale(1, 500.0) == (0.8, True)  # (from full size: the track's warp starts afresh)
    assert scales.scale(1, 520.0) == (0.8, False) and scales.scale(1, 440.0) == (0.8, False)  # (held)
    assert scales.scale(1, 300.0) == (None, True)  # (0.8 x 300 is 40 % below the cap: back at full size)
    assert scales.scale(1, 800.0) == (0.5, True)
    assert scales.scale(2, 800.0) == (0.5, False)  # (a new track)
    scales.forget(2)
    assert scales.scale(2, 200.0) == (None, False)
    assert scales.scale(3, 410.0) == (400.0 / 410.0, False)
    assert scales.scale(3, 395.0) == (400.0 / 410.0, False)  # (just below the cap: held, no switch to and fro)


def test_a_face_grown_back_bicubic_is_where_the_shrink_put_it_and_keeps_more_of_its_detail() -> None:
    # ``grow_back``: the working-size face resized back on its crop, the region cut out. The grown pixels sit where
    # the shrink took them (the same as the bilinear warp of the region with the shrink's pixel centres), and bicubic
    # keeps more of the fine detail (lips' edges, skin grain) than bilinear did.
    image = astronaut()
    landmarks = np.zeros((478, 2), np.float32)
    mask = np.zeros(image.shape[:2], np.float32)
    box = Box(0, 0, image.shape[1], image.shape[0])
    crop = (slice(40, 460), slice(60, 470))
    region = (slice(90, 400), slice(120, 430))
    small, _, _, _, _, work = shrink_face(image, landmarks, mask, box, None, crop, 288 / 400)
    sx, sy = work.scale
    to_small = np.array([[sx, 0.0, (region[1].start - crop[1].start + 0.5) * sx - 0.5],
                         [0.0, sy, (region[0].start - crop[0].start + 0.5) * sy - 0.5]])  # fmt: skip
    size = (region[1].stop - region[1].start, region[0].stop - region[0].start)
    warped = cv2.warpAffine(small, to_small, size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
    linear = grow_back(small, work, region, "linear")
    cubic = grow_back(small, work, region)
    assert linear.shape == cubic.shape == image[region].shape
    # (the warp's coordinates are rounded to 1/32 px, the resize's finer: a few levels apart on the sharpest edges; a
    # grown face off by half a pixel would be tens of levels apart there)
    apart = np.abs(linear.astype(np.int16) - warped)
    assert apart.max() <= 6 and apart.mean() < 0.5
    detail = lambda a: float(np.mean((a.astype(np.float32) - cv2.GaussianBlur(a, (0, 0), 1.5)) ** 2))  # noqa: E731
    error = lambda a: float(np.mean((a.astype(np.float32) - image[region]) ** 2))  # noqa: E731
    assert detail(cubic) > 1.15 * detail(linear) and error(cubic) < error(linear)
