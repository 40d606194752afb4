"""Where the warped reference meets the composite's fill: a soft edge, no step, no rim."""

from __future__ import annotations

import cv2
import numpy as np

from tests.test_composite import MASK_COLOUR, masked_face, scaled_face
from unmask_video.face_shape import face_region
from unmask_video.face_units import REFERENCE_FACE_PX, FaceLength, face_size_px
from unmask_video.reconstruct.composite import CompositeOptions, ReferenceComposite
from unmask_video.reconstruct.fill_seam import blur_around, feather_into_fill
from unmask_video.reconstruct.outside_fill import on_face


def test_the_warped_skin_fades_into_the_fill_without_a_step_and_loses_its_rim() -> None:
    # Warped skin (200) on the left with a dark one-pixel rim along its edge (what lay past the matte, sampled with
    # it), the fill (100) on the right.
    h, w, edge, width = 20, 80, 40, 12.0
    out = np.full((h, w, 3), 100, np.uint8)
    out[:, :edge] = 200
    out[:, edge - 1] = 60
    covered = np.zeros((h, w), bool)
    covered[:, :edge] = True
    before = out.copy()
    feather_into_fill(out, ~covered, covered, width)
    row = out[h // 2, :, 0].astype(np.int32)
    # No step: the 100 levels between skin and fill are spread over the fade (a hard edge is one step of 100 or 140).
    assert np.abs(np.diff(row)).max() <= 25, row
    assert row[edge - 1] > 150  # (the rim took the skin's colour, not kept its dark shade)
    # Deep in the skin and far in the fill nothing changed.
    assert np.array_equal(out[:, : edge - int(width)], before[:, : edge - int(width)])
    assert np.array_equal(out[:, edge + int(width) + 1 :], before[:, edge + int(width) + 1 :])
    # A zero width leaves the step.
    hard = before.copy()
    feather_into_fill(hard, ~covered, covered, 0.0)
    assert np.array_equal(hard, before)


def test_on_a_small_face_the_rim_along_a_stepped_edge_takes_the_skins_colour_whole() -> None:
    # The fade of a 120 px face (4 px: its inside a pixel and a half wide). Warped skin (200) left of a stepped
    # diagonal edge (the warp's validity on a slanted cheek, pixel by pixel), its first pixels along the edge dark (60:
    # hair beside the reference's cheek, sampled with it), a pale wall's fill (230) on the right.
    h, w, width = 40, 60, 4.2
    cols = np.arange(w)[None, :]
    covered = cols < (20 + np.arange(h)[:, None] // 2)
    out = np.full((h, w, 3), 230, np.uint8)
    out[covered] = 200
    rim = covered & ~np.roll(covered, -1, axis=1)  # (the last warped pixel of each row)
    out[rim] = 60
    feather_into_fill(out, ~covered, covered, width)
    # (kept three quarters dark, the rim drew a dark stepped line along the cheek's side)
    assert out[rim][:, 0].min() >= 185, out[rim][:, 0]
    # The skin two pixels in and deeper is as it was.
    deep = covered & ~np.roll(covered, -3, axis=1)
    assert (out[covered & ~deep][:, 0] == 200).all()
    # A first pixel near the skin's colour (a reference of the person: her own skin to the edge) fades as before, most
    # of it kept (three quarters at a distance of 1 in a fade 1.5 px wide).
    out = np.full((h, w, 3), 230, np.uint8)
    out[covered] = 200
    out[rim] = 185
    feather_into_fill(out, ~covered, covered, width)
    assert 185 <= out[rim][:, 0].min() and out[rim][:, 0].max() <= 193, out[rim][:, 0]


def test_no_step_where_the_warp_ends_beside_the_jaw_and_the_surround_fill_takes_over() -> None:
    # The reference shows no skin beside the jaw on one side (its matte ends at the face's outline): there the
    # composite fills from the frame's surroundings, here a saturated blue, far from the skin's colour.
    face, _ = scaled_face(*masked_face(), REFERENCE_FACE_PX)  # (the fade's width at the face size it is given for)
    # (a mask reaching past the face's outline at its sides, as a real one does towards the ears)
    face.mask = cv2.dilate(face.mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (41, 41)))
    hole = face.mask > 0
    face.image = face.image.copy()
    face.image[hole] = MASK_COLOUR
    oval = face_region(hole.shape, face.landmarks, antialiased=False) > 0
    xs = np.nonzero(hole)[1]
    left = np.arange(hole.shape[1])[None, :] < (xs.min() + xs.max()) // 2
    face.valid = face.valid & ~(left & ~oval)
    face.reference = np.where(face.valid[..., None], face.reference, 0).astype(np.uint8)
    around = cv2.dilate(hole.astype(np.uint8), np.ones((61, 61), np.uint8)).astype(bool) & ~hole
    face.image[around & left] = (30, 60, 220)
    # (what the surround fill takes: not on the face, nor under the jaw in the neck's column, where the rebuilt skin is
    # continued instead: tests/test_outside_fill.py)
    inner = on_face(hole, face.landmarks, image=face.image)
    filled = hole & ~face.valid & ~inner
    assert filled.sum() > 200
    # The rebuilt pixels (warped, or the skin continued) next to the fill, and the fill's next to them.
    rebuilt = hole & (face.valid | inner)
    seam = cv2.dilate(filled.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & rebuilt
    seam |= cv2.dilate(seam.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & filled
    assert seam.sum() > 40

    def step(out: np.ndarray) -> float:
        grey = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY).astype(np.float32)
        gradient = np.hypot(cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3))
        return float(np.percentile(gradient[seam], 90))

    hard = ReferenceComposite(CompositeOptions(fill_feather=FaceLength(0.0, 0.0)))
    soft = ReferenceComposite(CompositeOptions())
    out_hard, out_soft = hard.reconstruct([face])[0], soft.reconstruct([face])[0]
    assert step(out_soft) < 0.45 * step(out_hard), (step(out_soft), step(out_hard))
    # The warped skin away from the fill is the same pixels.
    width = soft.lengths(face_size_px(face.landmarks)).fill_feather
    gaps = hole & ~face.valid
    deep = hole & face.valid & (cv2.distanceTransform((~gaps).astype(np.uint8), cv2.DIST_L2, 5) > 2 * width + 2)
    assert deep.sum() > 500 and np.array_equal(out_soft[deep], out_hard[deep])


def test_the_wide_blur_at_a_reduced_size_stays_within_a_level_of_the_full_size_blur() -> None:
    # The fade's fallback average (4x the near blur's sigma) is computed at 1/2, 1/4 or 1/8 of the size (the blur
    # there at least 2.75 px; sigmas up to 40 px, where 1/8 is taken): on a thin band of skin
    # colour (what it blurs) it must stay within a fraction of a level of OpenCV's full-size blur, in colour and in
    # weight, so the fade's output moves by at most one level.
    from unmask_video.reconstruct.fill_seam import _wide_blur

    rng = np.random.default_rng(3)
    h, w = 171, 243
    stack = np.zeros((h, w, 4), np.float32)
    band = np.zeros((h, w), np.uint8)
    cv2.ellipse(band, (120, 90), (80, 60), 15, 0, 360, 1, 6)
    on = band.astype(bool)
    stack[on, :3] = rng.uniform(120, 220, (on.sum(), 3))
    stack[on, 3] = 1.0
    for sigma in (4.0, 6.9, 11.0, 17.0, 24.0, 40.0):
        exact = cv2.GaussianBlur(stack, (0, 0), sigma)
        fast = _wide_blur(stack, sigma)
        assert fast.shape == exact.shape and fast.dtype == np.float32
        weight_err = np.abs(fast[..., 3] - exact[..., 3]).max()
        assert weight_err < 0.05 * exact[..., 3].max(), (sigma, weight_err)
        seen = exact[..., 3] > 0.05
        colour_exact = exact[seen, :3] / exact[seen, 3:]
        colour_fast = fast[seen, :3] / np.maximum(fast[seen, 3:], 1e-6)
        assert np.abs(colour_fast - colour_exact).mean() < 1.0
    small = _wide_blur(stack, 2.0)  # below 4 px the blur is the exact one
    assert np.array_equal(small, cv2.GaussianBlur(stack, (0, 0), 2.0))


def test_the_fade_on_each_side_of_the_face_alone_is_the_fade_over_the_box_around_both() -> None:
    # The fill beside the jaw lies on both sides of the face: the fade works on a box around each side (with what it
    # reads), not on the box around both, which holds the whole face between them. Same pixels changed, within a level.
    from unmask_video.reconstruct.fill_seam import _feather_piece, _reach, pieces as _pieces

    rng = np.random.default_rng(5)
    h, w, width = 150, 400, 10.0
    out = rng.integers(90, 110, (h, w, 3)).astype(np.uint8)
    covered = np.zeros((h, w), bool)
    cv2.ellipse(covered.view(np.uint8), (200, 60), (150, 110), 0, 0, 360, 1, -1)
    out[covered] = rng.integers(180, 220, (int(covered.sum()), 3)).astype(np.uint8)
    filled = np.zeros((h, w), bool)
    filled[60:150, 20:60] = True  # beside the jaw, image left
    filled[80:150, 335:380] = True  # and image right
    filled &= ~covered
    assert len(_pieces(filled, _reach(width))) == 2
    whole, pieces = out.copy(), out.copy()
    _feather_piece(whole, filled, covered, width)
    feather_into_fill(pieces, filled, covered, width)
    assert not np.array_equal(whole, out)  # (the fade did something)
    assert np.abs(whole.astype(int) - pieces).max() <= 1


def test_the_fade_takes_no_fresh_region_sized_memory_and_its_far_average_is_coarse() -> None:
    # The fade's region-sized temporaries (distance maps, the colour stack, both blurs) live in scratch buffers kept
    # between faces (a fresh one costs a page fault per 4 KiB, more than its work); the far average, which decides only
    # where the near one has nothing, is blurred at a quarter of the size from a near sigma of 1.75 px up.
    from unmask_video.reconstruct.fill_seam import _blur_factor
    from unmask_video.reconstruct.scratch import scratch

    assert _blur_factor(4 * 1.78, least=1.75) == 4 and _blur_factor(4 * 1.78) == 2 and _blur_factor(3.9) == 1
    h, w, edge = 60, 90, 45
    out = np.full((h, w, 3), 100, np.uint8)
    out[:, :edge] = 200
    covered = np.zeros((h, w), bool)
    covered[:, :edge] = True
    first = out.copy()
    feather_into_fill(first, ~covered, covered, 10.0)
    stack = scratch("fill_seam.stack", (h, w, 4))
    second = out.copy()
    feather_into_fill(second, ~covered, covered, 10.0)
    assert np.array_equal(first, second)  # (the kept buffers' old contents do not leak into the next call)
    assert scratch("fill_seam.stack", (h, w, 4)).__array_interface__["data"][0] == stack.__array_interface__["data"][0]


def test_the_blur_around_some_pixels_is_the_whole_images_blur_there() -> None:
    # (the blur on the pixels' box and the kernel's reach is bit for bit the whole image's at those pixels, with the
    # image's own border wherever the box reaches it)
    rng = np.random.default_rng(3)
    image = rng.random((90, 120, 4), dtype=np.float32) * 255
    for border in (cv2.BORDER_CONSTANT, cv2.BORDER_DEFAULT):
        for sigma in (1.0, 2.6, 3.7):
            for box in ((slice(40, 50), slice(50, 70)), (slice(0, 6), slice(100, 120)), (slice(85, 90), slice(0, 3))):
                where = np.zeros(image.shape[:2], bool)
                where[box] = rng.random((box[0].stop - box[0].start, box[1].stop - box[1].start)) < 0.5
                whole = cv2.GaussianBlur(image, (0, 0), sigma, borderType=border)
                near = blur_around(image, sigma, where, border, "test.blur_around")
                assert np.array_equal(near[where], whole[where]), (border, sigma, box)


def test_the_wide_blur_of_a_stack_padded_to_whole_cells_stays_near_the_full_size_blur() -> None:
    # The fade pads its stack with zeros to whole cells of 8 px (weighted_stack's ``cell``), so that the wide blur's
    # area resize takes OpenCV's fast path, its cells aligned with the pixels: read at the pixels (the padded result's
    # (h, w) corner), the colour it gives stays within a level of OpenCV's full-size blur on average, and within a few
    # levels at worst, where the band has weight (a normalised average: the zeros past the edge weigh nothing).
    from unmask_video.reconstruct.fill_seam import _wide_blur, weighted_stack

    rng = np.random.default_rng(5)
    h, w = 171, 243  # (neither a multiple of 8)
    image = np.zeros((h, w, 3), np.uint8)
    band = np.zeros((h, w), np.uint8)
    cv2.ellipse(band, (120, 90), (80, 60), 15, 0, 360, 1, 6)
    on = band.astype(bool)
    image[on] = rng.uniform(120, 220, (on.sum(), 3))
    stack = weighted_stack(image, band, "test.padded", 8)
    assert stack.shape == (176, 248, 4) and not stack[h:].any() and not stack[:, w:].any()
    plain = stack[:h, :w].copy()
    assert np.array_equal(plain, weighted_stack(image, band, "test.plain"))
    for sigma in (4.0, 6.9, 11.0, 17.0, 24.0):
        exact = cv2.GaussianBlur(plain, (0, 0), sigma)
        fast = _wide_blur(stack, sigma, shape=(h, w))[:h, :w]
        seen = exact[..., 3] > 0.05
        colour_exact = exact[seen, :3] / exact[seen, 3:]
        colour_fast = fast[seen, :3] / np.maximum(fast[seen, 3:], 1e-6)
        err = np.abs(colour_fast - colour_exact)
        assert err.mean() < 1.0 and err.max() < 6.0, (sigma, err.mean(), err.max())
        # (the blur below 4 px is the full-size one of the pixels alone, padding or not)
    assert np.array_equal(_wide_blur(stack, 2.0, shape=(h, w)), cv2.GaussianBlur(plain, (0, 0), 2.0))


def test_the_pixels_taken_by_flat_index_are_numpys_two_index_gather() -> None:
    from unmask_video.mask_pixels import pixels_at

    rng = np.random.default_rng(2)
    image = rng.random((37, 53, 4)).astype(np.float32)
    ys, xs = rng.integers(0, 37, 200), rng.integers(0, 53, 200)
    assert np.array_equal(pixels_at(image, ys, xs), image[ys, xs])
    padded = rng.random((40, 56, 4)).astype(np.float32)  # (a wide blur's padded result, read at the pixels)
    assert np.array_equal(pixels_at(padded, ys, xs), padded[ys, xs])


def test_the_wide_blur_read_on_boxes_around_the_pixels_is_the_whole_stacks_bit_for_bit() -> None:
    from unmask_video.mask_pixels import pixels_at
    from unmask_video.reconstruct.fill_seam import _blur_factor, _wide_blur, _wide_blur_at

    rng = np.random.default_rng(13)
    factors = set()
    for trial in range(60):
        h, w = int(rng.integers(60, 300)), int(rng.integers(200, 700))
        ph, pw = -(-h // 8) * 8, -(-w // 8) * 8
        stack = np.zeros((ph, pw, 4), np.float32)
        stack[:h, :w] = (rng.random((h, w, 4)) * 255).astype(np.float32)
        stack[:h, :w][rng.random((h, w)) < 0.5] = 0.0
        sigma, least = float(rng.uniform(4.0, 18.0)), (2.75, 1.75)[trial % 2]
        changed = np.zeros((h, w), bool)
        # (a narrow band down each side, far apart: the fill beside the jaw on both sides; sometimes one only)
        for x0 in (int(rng.integers(0, 20)), int(rng.integers(w - 40, w - 5)))[: 1 + trial % 3 // 2 + 1]:
            y0 = int(rng.integers(0, h // 2))
            changed[y0 : y0 + int(rng.integers(5, h // 2)), x0 : x0 + int(rng.integers(2, 30))] = True
        changed &= rng.random((h, w)) < 0.8
        at = np.flatnonzero(changed)
        ys, xs = at // w, at % w
        whole = pixels_at(_wide_blur(stack, sigma, least, shape=(h, w)), ys, xs)
        assert np.array_equal(_wide_blur_at(stack, sigma, (h, w), ys, xs, "test", least), whole), trial
        factors.add(_blur_factor(sigma, least))
    assert factors == {2, 4, 8}


def test_the_distance_near_the_pixels_it_is_read_at_is_the_whole_boxs_below_its_bound() -> None:
    from unmask_video.reconstruct.fill_seam import _distance_near, distance_to

    rng = np.random.default_rng(17)
    for trial in range(60):
        h, w = (int(v) for v in rng.integers(40, 260, 2))
        where = cv2.GaussianBlur(rng.random((h, w)).astype(np.float32), (0, 0), float(rng.uniform(0.5, 4.0))) > 0.53
        at = np.zeros((h, w), bool)
        y0, x0 = int(rng.integers(0, h)), int(rng.integers(0, w))
        at[y0 : y0 + int(rng.integers(1, 40)), x0 : x0 + int(rng.integers(1, 40))] = True
        at &= rng.random((h, w)) < 0.7
        at = at | where if trial % 3 == 0 else at  # (the distance to the pixels read at themselves: the fade's own)
        below = float(rng.uniform(1.0, 40.0))
        whole, near = distance_to(where), _distance_near(where, at, below, "test").copy()
        close = at & (whole < below)
        assert np.array_equal(near[close], whole[close]), trial
        assert (near[at & ~close] >= below).all(), trial
        if trial % 3 == 0:  # (all of ``where`` in the box: every pixel's distance below the bound is the whole's)
            assert np.array_equal(near[whole < below], whole[whole < below]), trial
            assert (near[whole >= below] >= below).all(), trial
