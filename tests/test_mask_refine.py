"""The later steps of the mask growth (mask_refine: snap_edges, grow_deeper, ear_loops): synthetic images, no
data needed."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from unmask_video import landmark_sets as ls
from unmask_video.colour_model import shading_free_chroma
from unmask_video.mask_refine import fill_print_notches, fill_unlike_holes, grow_deeper, snap_edges, sure_level
from unmask_video.search_region import search_polygons


def _scene(skin=(214, 170, 150), cloth=(236, 240, 244), radius=40):
    """A cloth-coloured disc on a skin-coloured square (lightly noisy), and the disc as truth."""
    rng = np.random.default_rng(0)
    image = np.zeros((160, 160, 3), np.float32) + np.array(skin, np.float32)
    truth = np.zeros((160, 160), np.uint8)
    cv2.circle(truth, (80, 80), radius, 1, -1)
    image[truth > 0] = cloth
    image += rng.normal(0, 3, image.shape)
    rgb = np.clip(image, 0, 255).astype(np.uint8)
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB), truth


def _boundary_error(mask, truth):
    return int((mask != truth).sum())


def _noisy_prob(truth, low=0.1, high=0.9):
    """A colour model's per-pixel P(mask): high on the cloth, low off it, noisy."""
    rng = np.random.default_rng(1)
    prob = np.where(truth > 0, high, low) + rng.normal(0, 0.1, truth.shape)
    return np.clip(prob, 0, 1).astype(np.float32)


def test_a_mask_grown_past_the_cloth_is_pulled_back_to_its_edge():
    lab, truth = _scene()
    # The growth's smoothing and closing carried the mask 6 px past the cloth all round.
    grown = cv2.dilate(truth, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (13, 13)))
    prob = _noisy_prob(truth)
    search = np.ones_like(truth)
    out = snap_edges(lab, prob, grown, search, size=160.0, band=0.06)
    assert _boundary_error(grown, truth) > 1500
    assert _boundary_error(out, truth) <= 0.15 * _boundary_error(grown, truth)


def test_a_mask_stopped_short_of_the_cloth_edge_is_pushed_out_to_it():
    lab, truth = _scene()
    grown = cv2.erode(truth, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (11, 11)))  # 5 px short
    prob = _noisy_prob(truth, low=0.2, high=0.7)  # shaded cloth: a weak model
    out = snap_edges(lab, prob, grown, np.ones_like(truth), size=160.0, band=0.06)
    assert _boundary_error(out, truth) <= 0.15 * _boundary_error(grown, truth)


def test_an_occluder_hole_stays_open_and_nothing_leaves_the_search_region():
    lab, truth = _scene()
    grown = truth.copy()
    cv2.circle(grown, (80, 80), 8, 0, -1)  # a fingertip the growth left out
    search = np.ones_like(truth)
    search[:, 110:] = 0
    out = snap_edges(lab, grown.astype(np.float32), grown, search, size=160.0)
    assert out[76:85, 76:85].sum() == 0
    assert out[:, 110:].sum() == 0
    assert (out & grown)[:, :110].sum() >= 0.97 * grown[:, :110].sum()


def test_the_colour_model_keeps_the_shaded_side_of_the_mask():
    """Cloth seen lit and in shadow (the same colour at 45 % light) against skin: with the chroma divided by the
    lightness, the shaded cloth is mask; binning raw Lab, it is not."""
    from unmask_video.colour_model import ColourModel

    rng = np.random.default_rng(2)

    def patch(rgb, n=2000, light=1.0):
        pixels = np.clip(np.array(rgb, np.float32) * light + rng.normal(0, 3, (n, 3)), 0, 255).astype(np.uint8)
        return cv2.cvtColor(pixels.reshape(-1, 1, 3), cv2.COLOR_RGB2LAB).reshape(-1, 3)

    cloth, skin = (170, 205, 228), (205, 160, 135)
    lit, shaded = patch(cloth), patch(cloth, light=0.45)
    other = np.concatenate([patch(skin), patch(skin, light=0.6), patch((60, 80, 60))])
    free = ColourModel(lit, other, shading_free=True)
    raw = ColourModel(lit, other, shading_free=False)
    shaded_img, skin_img = shaded.reshape(-1, 1, 3), patch(skin, light=0.8).reshape(-1, 1, 3)
    assert float(np.median(free.probability(shaded_img))) >= 0.6
    assert float(np.median(raw.probability(shaded_img))) < 0.5
    assert float(np.median(free.probability(skin_img))) < 0.3  # skin in any light stays skin


def test_ear_loops_are_thin_mask_coloured_strokes_touching_the_mask():
    from unmask_video.mask_refine import ear_loops

    size = 200.0
    mask = np.zeros((200, 200), np.uint8)
    cv2.rectangle(mask, (60, 90), (140, 160), 1, -1)
    prob = mask.astype(np.float32) * 0.9
    loop, stray, patch = (np.zeros_like(mask) for _ in range(3))
    cv2.line(loop, (141, 95), (190, 70), 1, 2)  # from the mask's corner toward the ear
    cv2.line(stray, (10, 40), (50, 40), 1, 2)  # mask-coloured, but apart from the mask
    cv2.circle(patch, (50, 150), 12, 1, -1)  # a patch of look-alike skin beside the mask
    for extra in (loop, stray, patch):
        prob[extra > 0] = 0.8
    face = np.ones_like(mask)
    out = ear_loops(prob, mask, face, size)
    assert (out[loop > 0] > 0).mean() >= 0.95
    assert out[stray > 0].sum() == 0 and out[patch > 0].sum() <= 0.05 * patch.sum()
    assert (out & mask).sum() == 0
    face[:, 170:] = 0  # the loop's part beyond the face outline is left alone (as likely hair)
    assert ear_loops(prob, mask, face, size)[:, 170:].sum() == 0


def test_ear_loops_leave_the_mask_at_its_sides_and_may_be_three_pixels_wide():
    # A small working face (170 px): the loops' opening is 3 px. An anti-aliased slanted loop 3 px wide from the
    # mask's top corner is a loop (OpenCV's 3 px ellipse is a cross, which such a stroke holds in places: it was cut
    # into short bits); a thin mask-coloured stroke from the mask's top middle (an eye's highlight, a noisy nose bridge)
    # is not: loops leave the mask at its side edge.
    from unmask_video.mask_refine import ear_loops

    size = 170.0
    mask = np.zeros((200, 200), np.uint8)
    cv2.rectangle(mask, (50, 90), (150, 160), 1, -1)
    prob = mask.astype(np.float32) * 0.9
    loop = np.zeros((200, 200), np.float32)
    cv2.line(loop, (151, 92), (190, 75), 1.0, 2, cv2.LINE_AA)  # from the mask's corner toward the ear
    top = np.zeros((200, 200), np.float32)
    cv2.line(top, (100, 90), (139, 73), 1.0, 2, cv2.LINE_AA)  # the same stroke, from the mask's top middle
    prob = np.maximum(prob, 0.9 * np.maximum(loop, top))
    out = ear_loops(prob, mask, np.ones_like(mask), size)
    assert (out[loop >= 0.56] > 0).mean() >= 0.95  # (where P >= 0.5)
    assert out[top >= 0.56].sum() == 0


def test_ear_loops_run_on_past_the_face_outline_from_the_mask_side_only():
    from unmask_video.mask_refine import ear_loops

    size = 200.0
    mask = np.zeros((240, 240), np.uint8)
    cv2.rectangle(mask, (60, 90), (140, 160), 1, -1)
    prob = mask.astype(np.float32) * 0.9
    face = np.zeros_like(mask)
    face[:, 40:160] = 1  # the face outline ends 20 px beside the mask
    beyond = np.ones_like(mask)
    loop, strand, collar, tangle = (np.zeros_like(mask) for _ in range(4))
    cv2.polylines(loop, [np.array([[141, 100], [165, 90], [185, 70], [190, 45]], np.int32)], False, 1, 2)
    cv2.line(strand, (10, 30), (30, 140), 1, 2)  # a hair highlight beyond the outline, apart from the mask
    cv2.line(collar, (70, 161), (15, 215), 1, 2)  # a white collar leaving the mask's bottom
    cv2.line(strand, (100, 89), (200, 20), 1, 2)  # a pale hair strand leaving the mask's top, not its side
    # a tangle of pale hair highlights (or a rim of a pale background) from the mask's side: a zigzag, not a stroke
    zig = [[141, 96]] + [[215 if i % 2 == 0 else 150, 96 + 7 * (i + 1)] for i in range(6)]
    cv2.polylines(tangle, [np.array(zig, np.int32)], False, 1, 1)
    for extra in (loop, strand, collar):
        prob[extra > 0] = 0.8
    out = ear_loops(prob, mask, face, size, beyond=beyond)
    assert (out[loop > 0] > 0).mean() >= 0.95  # the whole loop, to the ear
    assert out[(loop > 0) & (face == 0)].sum() > 30
    assert out[(strand > 0) & (face == 0)].sum() == 0
    assert out[(collar > 0) & (face == 0)].sum() == 0
    assert (out & mask).sum() == 0
    assert ear_loops(prob, mask, face, size)[face == 0].sum() == 0  # without ``beyond``: within the outline
    prob2 = mask.astype(np.float32) * 0.9
    prob2[tangle > 0] = 0.8
    assert ear_loops(prob2, mask, face, size, beyond=beyond)[face == 0].sum() == 0


def _deep_scene():
    """A 200 px window: the search region is the top 120 rows, the deep band the rows 120-180 under it. The cloth
    (P(mask) 0.97) runs on to row 165; a pale collar strip (0.97 too) runs off the mask's side down the band."""
    truth = np.zeros((200, 200), np.uint8)
    cv2.ellipse(truth, (100, 80), (70, 85), 0, 0, 360, 1, -1)  # down to row 165
    collar = np.zeros_like(truth)
    cv2.line(collar, (170, 110), (199, 199), 1, 9)
    search = np.zeros_like(truth)
    search[:120] = 1
    band = np.zeros_like(truth)
    band[120:180] = 1
    prob = np.where((truth | collar) > 0, 0.97, 0.1).astype(np.float32)
    return truth, collar, search, band, prob


def test_a_mask_cut_off_by_the_search_region_is_continued_into_the_deep_band():
    truth, collar, search, band, prob = _deep_scene()
    prob = np.where(truth > 0, 0.97, 0.1).astype(np.float32)
    grown = truth & search  # the growth stopped at the search region's bottom
    out = grow_deeper(prob, grown, band, size=200.0, threshold=0.9, front=0.25)
    below = truth & band
    assert (out & below).sum() >= 0.9 * below.sum()  # (its edge a pixel or two inside: the snap moves it)
    assert (out & (1 - truth)).sum() <= 0.03 * below.sum()
    assert (out & grown).sum() == grown.sum()  # nothing of the grown mask is lost
    assert out[180:].sum() == 0  # nothing past the band


def test_the_deep_band_takes_nothing_without_a_wide_front():
    truth, collar, search, band, prob = _deep_scene()
    # The mask ends inside the search region (row 100): only the collar strip reaches the band.
    grown = truth.copy()
    grown[100:] = 0
    grown |= collar & search
    prob = np.where(((truth > 0) & (np.arange(200)[:, None] < 100)) | (collar > 0), 0.97, 0.1).astype(np.float32)
    assert (grow_deeper(prob, grown, band, size=200.0, threshold=0.9, front=0.25) & band).sum() == 0
    # A colour below the threshold (a collar the model half believes) never joins, even along a wide front.
    weak = np.where(truth > 0, 0.8, 0.1).astype(np.float32)
    assert (grow_deeper(weak, truth & search, band, size=200.0, threshold=0.9) & band).sum() == 0


def test_the_colour_bins_are_those_of_the_formula():
    """The bins come from two table look-ups per pixel: they are the Lab bins computed directly."""
    from unmask_video.colour_model import _AB_BINS, _FREE_LUT, _L_BINS, _bins

    lab = np.random.default_rng(3).integers(0, 256, (64, 48, 3), dtype=np.uint8)
    light = lab[..., 0].astype(np.int64)
    l_bin = light * _L_BINS >> 8
    for shading_free in (True, False):
        if shading_free:
            a, b = _FREE_LUT[lab[..., 0], lab[..., 1]].astype(np.int64), _FREE_LUT[lab[..., 0], lab[..., 2]]
        else:
            a, b = lab[..., 1].astype(np.int64) * _AB_BINS >> 8, lab[..., 2].astype(np.int64) * _AB_BINS >> 8
        expected = (l_bin * _AB_BINS + a) * _AB_BINS + b
        np.testing.assert_array_equal(_bins(lab, shading_free), expected)
        np.testing.assert_array_equal(_bins(lab.reshape(-1, 3), shading_free), expected.ravel())  # (n, 3) samples


def test_holes_are_what_the_mask_leaves_out_away_from_the_border():
    from unmask_video.mask_refine import holes_of as _holes

    mask = np.zeros((60, 80), np.uint8)
    cv2.rectangle(mask, (10, 10), (70, 50), 1, -1)
    cv2.circle(mask, (30, 30), 6, 0, -1)  # a hole
    mask[25:35, 60:80] = 0  # a notch open to the border: no hole
    mask[0:3, 0:3] = 1  # a corner piece: the border around it is still outside
    holes = _holes(mask)
    expected = np.zeros_like(mask)
    cv2.circle(expected, (30, 30), 6, 1, -1)
    np.testing.assert_array_equal(holes, expected > 0)
    diagonal = np.ones((20, 20), np.uint8)
    diagonal[5, 5] = diagonal[6, 6] = 0  # two pixels touching at a corner: two 4-connected holes
    assert _holes(diagonal).sum() == 2
    assert not _holes(np.zeros((5, 5), np.uint8)).any()


def test_holes_in_the_masks_box_are_those_of_the_whole_image():
    from unmask_video.mask_refine import holes_of

    def whole(binary: np.ndarray) -> np.ndarray:  # (one flood over the whole image, as before the box)
        out = np.ones((binary.shape[0] + 2, binary.shape[1] + 2), np.uint8)
        out[1:-1, 1:-1] = binary == 0
        cv2.floodFill(out, None, (0, 0), 0)
        return out[1:-1, 1:-1] > 0

    rng = np.random.default_rng(3)
    for i in range(500):
        h, w = (int(v) for v in rng.integers(3, 30, 2))
        binary = (rng.random((h, w)) < rng.random()).astype(np.uint8)
        if i % 2:
            binary = cv2.dilate(binary, np.ones((3, 3), np.uint8))
        np.testing.assert_array_equal(holes_of(binary), whole(binary))


@pytest.mark.parametrize(
    "separable, tail, line_width",
    [(False, 5, 0.045), (True, 5, 0.045), (True, 3, 0.045), (True, 3, 0.03)],
    ids=["7x7 median", "separable median", "separable, 3x3 tail", "5-tap separable, 3x3 tail"],
)
def test_the_rim_cut_takes_off_a_look_alike_collar_but_not_the_cloth_beyond_a_pleat(separable, tail, line_width):
    from unmask_video.rim_cut import cut_at_rim

    rng = np.random.default_rng(3)
    h, w = 200, 200
    image = np.zeros((h, w, 3), np.float32) + (214, 170, 150)  # skin
    cloth = np.zeros((h, w), np.uint8)
    cv2.ellipse(cloth, (100, 90), (70, 60), 0, 0, 360, 1, -1)
    collar = np.zeros((h, w), np.uint8)
    collar[150:, 40:160] = 1
    collar &= 1 - cloth
    image[cloth > 0] = (232, 234, 240)  # a cool white mask
    image[collar > 0] = (236, 228, 208)  # a warm white collar touching its lower rim
    image[126:129, 40:160][cloth[126:129, 40:160] > 0] = (150, 152, 158)  # a pleat's shadow line under the jaw
    image += rng.normal(0, 2.0, image.shape)
    lab = cv2.cvtColor(np.clip(image, 0, 255).astype(np.uint8), cv2.COLOR_RGB2LAB)
    below = np.zeros((h, w), np.uint8)
    below[110:] = 1  # under the jaw line
    sure = cloth & (1 - below)
    grown = cloth | collar  # the growth took the collar in
    outside = np.ones((h, w), bool)
    outside[collar > 0] = False  # (the colour model calls the collar mask)
    # (the separable median stands in for medians over more than 5 x 5 only: a 7 x 7 one here; and for the 5 x 5 one
    # (line width 0.03 x 160 px) with ``small``)
    wide = {"line_width": line_width, "separable": True, "tail": tail, "small": True} if separable else {}
    out = cut_at_rim(lab, grown, sure, below, size=160.0, outside=outside, same_cloth=4.0, hem_px=1, **wide)
    assert (out & collar).sum() <= 0.1 * collar.sum()
    assert (cloth & (1 - out)).sum() <= 0.01 * cloth.sum()  # the cloth under the pleat line stays
    # Nothing above the jaw line leaves the mask.
    assert ((grown > 0) & (below == 0) & (out == 0)).sum() == 0


def test_the_boxed_filters_give_the_same_values_where_they_are_read():
    """The filters' reach as the boxes count it (mask_pixels.gaussian_reach, kmeans_clusters.blur_reach) covers OpenCV's
    own kernels: a median and a Gaussian blur on the box around a region give the whole image's values in the region."""
    from unmask_video.blend import mask_bbox
    from unmask_video.mask_pixels import gaussian_reach
    from unmask_video.kmeans_clusters import blur_reach

    rng = np.random.default_rng(5)
    lab = rng.integers(0, 256, (120, 140, 3), dtype=np.uint8)
    where = np.zeros((120, 140), bool)
    where[40:70, 50:90] = True
    for sigma in (0.7, 1.28, 2.4):
        assert blur_reach(sigma) == gaussian_reach(sigma)
        for k in (3, 7):
            box = mask_bbox(where, k // 2 + gaussian_reach(sigma), where.shape)
            whole = cv2.GaussianBlur(cv2.medianBlur(lab, k), (0, 0), sigma)
            part = np.zeros_like(lab)
            part[box] = cv2.GaussianBlur(cv2.medianBlur(lab[box], k), (0, 0), sigma)
            np.testing.assert_array_equal(part[where], whole[where])
            # (one pixel less of reach would not do: the test can fail)
            box = mask_bbox(where, k // 2 + gaussian_reach(sigma) - 1, where.shape)
            part[box] = cv2.GaussianBlur(cv2.medianBlur(lab[box], k), (0, 0), sigma)
            assert not np.array_equal(part[where], whole[where])
    assert mask_bbox(np.zeros((5, 5), bool), 2, (5, 5)) is None



def test_the_shading_free_chroma_table_is_the_function_on_every_uint8_value():
    from unmask_video.colour_model import _FREE_CHROMA, shading_free_chroma

    light, chroma = np.meshgrid(np.arange(256), np.arange(256), indexing="ij")
    pixels = np.stack([light.ravel(), chroma.ravel()], axis=1).astype(np.float32)
    want = shading_free_chroma(pixels[:, :1], pixels[:, 1:] - 128.0)[:, 0]
    assert _FREE_CHROMA.dtype == np.float32 and np.array_equal(_FREE_CHROMA, want)


def _hem_scene(hem_rgb=None, noise=2.0, skin=(200, 150, 130), cloth=(190, 220, 240), radius=40):
    """A cloth disc on skin, ringed (``hem_rgb``) by a 1-px hem, and the disc without its hem as the found mask."""
    rng = np.random.default_rng(3)
    image = np.zeros((140, 140, 3), np.float32) + np.array(skin, np.float32)
    disc = np.zeros((140, 140), np.uint8)
    cv2.circle(disc, (70, 70), radius, 1, -1)
    inner = cv2.erode(disc, np.ones((3, 3), np.uint8))
    image[disc > 0] = cloth
    if hem_rgb is not None:
        image[(disc > 0) & (inner == 0)] = hem_rgb
    image += rng.normal(0, noise, image.shape)
    lab = cv2.cvtColor(np.clip(image, 0, 255).astype(np.uint8), cv2.COLOR_RGB2LAB)
    return lab, disc, inner


def test_the_hem_joins_the_mask_and_the_skin_beyond_it_does_not():
    from unmask_video.mask_refine import add_hem

    for hem in ((120, 125, 130), (245, 245, 245)):  # a grey seam, a white binding
        lab, disc, found = _hem_scene(hem)
        out = add_hem(lab, found, 2)
        ring = (disc > 0) & (found == 0)
        assert (out[ring] > 0).mean() > 0.95, hem
        assert not ((out > 0) & (disc == 0)).any(), hem  # 2 px allowed, none taken past the hem
        assert (out[found > 0] > 0).all()


def test_no_hem_no_change_and_noise_is_no_hem():
    from unmask_video.mask_refine import add_hem

    lab, disc, _ = _hem_scene(None)  # the cloth meets the skin directly
    assert (add_hem(lab, disc, 2) == disc).all()
    lab, disc, _ = _hem_scene(None, noise=12.0)  # a grainy photo: single skin pixels stray towards the cloth
    ring = (cv2.dilate(disc, np.ones((3, 3), np.uint8)) > 0) & (disc == 0)
    assert ((add_hem(lab, disc, 2) > 0) & (disc == 0)).sum() < 0.05 * ring.sum()
    assert (add_hem(lab, disc, 0) == disc).all()


def test_the_cloths_chroma_spread_onto_the_skin_joins_the_mask():
    from unmask_video.mask_refine import add_hem

    skin, cloth = np.array((200, 150, 130), np.float32), np.array((150, 200, 240), np.float32)
    lab, disc, found = _hem_scene(None, skin=tuple(skin), cloth=tuple(cloth))
    # The ring just outside: the skin's lightness, its chroma half-way to the cloth's (halved colour resolution).
    ring = (cv2.dilate(disc, np.ones((3, 3), np.uint8)) > 0) & (disc == 0)
    skin_lab = cv2.cvtColor(skin.astype(np.uint8)[None, None], cv2.COLOR_RGB2LAB)[0, 0].astype(np.float32)
    cloth_lab = cv2.cvtColor(cloth.astype(np.uint8)[None, None], cv2.COLOR_RGB2LAB)[0, 0].astype(np.float32)
    bled = skin_lab.copy()
    bled[1:] = 0.5 * (skin_lab[1:] + cloth_lab[1:])
    lab[ring] = np.round(bled).astype(np.uint8)
    out = add_hem(lab, disc, 2)
    assert (out[ring] > 0).mean() > 0.95
    assert not ((out > 0) & (disc == 0) & ~ring).any()


def test_no_sure_cloth_is_near_nothing_without_a_warning():
    import warnings

    from unmask_video.rim_cut import _near_cloth

    lab = np.full((20, 20, 3), 128, np.uint8)
    where = np.zeros((20, 20), bool)
    where[5:10, 5:10] = True
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (the median of no pixels warned "Mean of empty slice")
        near = _near_cloth(lab, where, np.zeros((20, 20), np.uint8), None, 4.0)
    assert near.shape == (25,) and not near.any()


def test_near_cloth_reach_does_not_depend_on_the_parity_of_the_sure_cloth():
    """A dark pixel beside a pale cloth: its reach in levels is taken at its own lightness, whether the sampled sure
    cloth holds an even or an odd count of pixels (the cloth's lightness was a floor only for an odd count: the uint8
    median of an even count was 0)."""
    from unmask_video.rim_cut import _near_cloth

    near = []
    for count in (10, 11):
        lab = np.full((20, 20, 3), 128, np.uint8)
        lab[..., 0] = 200
        lab[15, 15] = (60, 130, 128)  # (two levels of a from the cloth, at a third of its lightness)
        kept = np.zeros((20, 20), np.uint8)
        kept.flat[:count] = 1
        where = np.zeros((20, 20), bool)
        where[15, 15] = True
        near.append(int(_near_cloth(lab, where, kept, None, 2.0, levels=3.0)[0]))
    assert near == [1, 1]


def test_nonzero_is_numpys_nonzero():
    """The hem's and the ear loops' faster stand-in: ``nonzero`` is np.nonzero (same order). (The rim cut's medians:
    tests/test_order_stats.py.)"""
    from unmask_video.mask_pixels import nonzero

    rng = np.random.default_rng(0)
    for dtype in (np.uint8, bool, np.int32):
        image = (rng.random((37, 53)) < 0.2).astype(dtype)
        ys, xs = nonzero(image)
        want = np.nonzero(image)
        assert np.array_equal(ys, want[0]) and np.array_equal(xs, want[1])
    assert all(len(v) == 0 for v in nonzero(np.zeros((4, 5), np.uint8)))


def test_median_networks_select_the_median():
    """Each selection network gives the median of every 0/1 input (the 0-1 principle: then of every input)."""
    import itertools

    from unmask_video.mask_pixels import MEDIAN_NETWORKS

    for k, network in MEDIAN_NETWORKS.items():
        for bits in itertools.product((0, 1), repeat=k):
            p = list(bits)
            for a, b in network:
                p[a], p[b] = min(p[a], p[b]), max(p[a], p[b])
            assert p[k // 2] == sorted(bits)[k // 2], (k, bits)


def test_separable_median_is_a_median_down_then_across():
    """``separable_median``: a k-tap median down the columns then along the rows with the border replicated (NumPy's
    median over shifted copies for k = 3, 5, 7 and 9); it takes out thin lines and keeps a step."""
    from unmask_video.mask_pixels import separable_median

    rng = np.random.default_rng(2)
    image = rng.integers(0, 256, (23, 31, 3), dtype=np.uint8)
    for k in (3, 5, 7, 9):
        r = k // 2
        tall = np.pad(image, ((r, r), (0, 0), (0, 0)), mode="edge")
        down = np.median(np.stack([tall[j : j + 23] for j in range(k)]), axis=0).astype(np.uint8)
        wide = np.pad(down, ((0, 0), (r, r), (0, 0)), mode="edge")
        want = np.median(np.stack([wide[:, j : j + 31] for j in range(k)]), axis=0).astype(np.uint8)
        assert np.array_equal(separable_median(image, k), want), k
    flat = np.full((40, 40), 100, np.uint8)
    flat[:, 20:] = 200  # a step
    lined = flat.copy()
    lined[18:20, :] = 30  # a 2 px line across it (a pleat)
    cv2.line(lined, (0, 0), (39, 39), 30, 1)  # and a diagonal one
    inner = (slice(4, -4), slice(4, -4))  # (the diagonal's ends in the image's corners stay)
    assert np.array_equal(separable_median(lined, 7)[inner], flat[inner])


@pytest.mark.parametrize("diameter", [1, 3, 5, 7, 9, 11, 15, 23])
def test_disk_morph_is_opencvs_morphology_by_the_ellipse(diameter):
    from unmask_video.blend import disk_morph

    rng = np.random.default_rng(diameter)
    # (blobs with holes and thin bits, touching the border: the border handling counts too)
    blobs = (cv2.GaussianBlur(rng.random((97, 83)).astype(np.float32), (0, 0), 3) > 0.5).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (diameter, diameter))
    for op in (cv2.MORPH_ERODE, cv2.MORPH_DILATE, cv2.MORPH_OPEN, cv2.MORPH_CLOSE):
        np.testing.assert_array_equal(disk_morph(blobs, op, diameter), cv2.morphologyEx(blobs, op, kernel))


def _lab_of(rgb: tuple[int, int, int]) -> np.ndarray:
    return cv2.cvtColor(np.uint8([[rgb]]), cv2.COLOR_RGB2LAB)[0, 0]


def _skin_chroma() -> np.ndarray:
    lab = _lab_of((200, 150, 125)).astype(np.float32)
    return shading_free_chroma(lab[:1], lab[1:] - 128.0)


def _printed_disc() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A light blue disc (the mask) on skin with two holes: a purple blotch and a skin-coloured fingertip, shaded darker
    (uint8 mask, Lab image, the blotch, the fingertip)."""
    h = w = 120
    image = np.full((h, w, 3), (200, 150, 125), np.uint8)
    mask = np.zeros((h, w), np.uint8)
    cv2.circle(mask, (60, 60), 45, 1, -1)
    image[mask > 0] = (170, 200, 230)
    blotch = np.zeros((h, w), np.uint8)
    cv2.circle(blotch, (45, 50), 8, 1, -1)
    finger = np.zeros((h, w), np.uint8)
    cv2.circle(finger, (75, 70), 8, 1, -1)
    image[blotch > 0] = (110, 60, 120)
    image[finger > 0] = (140, 105, 88)  # (the skin in shade: the same chroma over lightness)
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB)
    return mask & (1 - blotch) & (1 - finger), lab, blotch > 0, finger > 0


def test_fill_unlike_holes_takes_a_print_s_blotch_and_leaves_a_shaded_fingertip():
    mask, lab, blotch, finger = _printed_disc()
    out = fill_unlike_holes(mask, lab, _skin_chroma(), 15.0)
    assert out[blotch].all()
    assert not out[finger].any()
    assert (out >= mask).all()


def test_fill_print_notches_fills_a_blotch_the_edge_cut_once_the_print_is_known():
    mask, lab, blotch, _ = _printed_disc()
    filled = fill_unlike_holes(mask, lab, _skin_chroma(), 15.0)
    # a blotch of the print's colour cut by the disc's edge: a notch, no hole
    image = cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)
    notch = np.zeros(mask.shape, np.uint8)
    cv2.circle(notch, (60, 104), 8, 1, -1)
    notch &= (filled > 0).astype(np.uint8)
    image[notch > 0] = (110, 60, 120)
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB)
    cut = filled & (1 - notch)
    out = fill_print_notches(cut, lab, filled > mask, _skin_chroma(), 15.0)
    # (in the cut mask's convex hull: up to the chord across the notch, where the outline is at its lowest)
    assert out[notch > 0].mean() >= 0.9
    assert not (out & (1 - (cut | notch))).any()  # (the skin beyond the edge stays out)
    # no print seen inside (no hole filled): nothing is added
    assert (fill_print_notches(cut, lab, np.zeros(mask.shape, bool), _skin_chroma(), 15.0) == cut).all()


def test_fill_print_notches_takes_the_print_s_hue_at_another_lightness_only_with_hue():
    """The hole filled is the print's pale blotch; the notch the edge cut is a darker blotch of the same hue (as 4:2:0
    video leaves a print: the holes filled its paler ones): taken with ``hue``, not without; a grey print's hue says
    nothing, so a grey notch is not taken."""
    mask, lab, blotch, _ = _printed_disc()
    image = cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)
    image[blotch] = (165, 110, 175)  # (the pale blotch: purple)
    notch = np.zeros(mask.shape, np.uint8)
    cv2.circle(notch, (60, 104), 8, 1, -1)
    notch &= (mask | blotch).astype(np.uint8)
    # (a darker blotch of the same hue: its chroma over lightness the pale one's, its Lab far from it)
    pale = _lab_of((165, 110, 175)).astype(np.float32)
    dark_l = 100.0  # (L + 16 above 50 on the uint8 scale: chroma over lightness is not floored)
    dark_ab = shading_free_chroma(pale[:1], pale[1:] - 128.0) * (dark_l * 100.0 / 255.0 + 16.0) / 128.0 + 128.0
    dark = np.uint8([[[dark_l, *np.round(dark_ab)]]])
    image[notch > 0] = cv2.cvtColor(dark, cv2.COLOR_LAB2RGB)[0, 0]
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB)
    filled = fill_unlike_holes(mask, lab, _skin_chroma(), 15.0)
    assert filled[blotch].all()
    cut = filled & (1 - notch)
    assert fill_print_notches(cut, lab, filled > mask, _skin_chroma(), 15.0)[notch > 0].mean() < 0.1
    out = fill_print_notches(cut, lab, filled > mask, _skin_chroma(), 15.0, hue=8.0)
    assert out[notch > 0].mean() >= 0.9
    assert not (out & (1 - (cut | notch))).any()
    # a grey print (pale grey blotch), a dark grey notch: no hue to go by, nothing added past the Lab rule
    image[blotch] = (185, 185, 185)
    image[notch > 0] = (70, 70, 70)
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB)
    filled = fill_unlike_holes(mask, lab, _skin_chroma(), 15.0)
    assert filled[blotch].all()
    assert fill_print_notches(filled & (1 - notch), lab, filled > mask, _skin_chroma(), 15.0, hue=8.0)[notch > 0].mean() < 0.1


def _hand_scene():
    """A 200 px window: a mask (P(mask) 0.97) split by a hand (skin, P(mask) 0.02) coming up from below through its
    middle; the search region stops at column 150 (FaceMesh's landmarks moved with the hand), the mask's side beyond
    the hand runs on to column 170; hair of the mask's colour runs off the mask's other side past the search region."""
    cloth = np.zeros((200, 200), np.uint8)
    cv2.ellipse(cloth, (100, 100), (70, 60), 0, 0, 360, 1, -1)
    hand = np.zeros_like(cloth)
    hand[70:, 105:125] = 1  # the palm and the wrist, from below
    cloth &= 1 - hand
    cloth[:70] = cloth[:70] * (np.arange(200)[None, :] < 105)  # over the fingers the cloth is the body's only
    hair = np.zeros_like(cloth)
    hair[60:140, 5:31] = 1
    hair &= 1 - cloth
    search = np.zeros_like(cloth)
    search[20:190, 28:151] = 1
    prob = np.full(cloth.shape, 0.1, np.float32)
    prob[(cloth | hair) > 0] = 0.97
    prob[hand > 0] = 0.02
    body = np.zeros_like(cloth)
    body[80:120, 60:90] = 1  # the k-means mask on the core
    side = cloth.copy()
    side[:, :125] = 0  # the side beyond the hand
    return cloth, hand, hair, search, prob, body & cloth, side


def test_the_mask_beyond_a_hand_joins_it_and_the_hand_and_hair_beside_it_do_not():
    from unmask_video.mask_refine import join_past_hand, smooth_probability

    cloth, hand, hair, search, prob, body, side = _hand_scene()
    grown = cloth & search & (1 - side)  # the growth kept to the body
    grown[:, :31] = 0
    wide = (cv2.distanceTransform(1 - search, cv2.DIST_L2, 5) <= 25).astype(np.uint8)
    smooth = smooth_probability(prob, 200.0)
    out, past = join_past_hand(smooth, grown, hand, wide, 200.0, 0.9, body)
    assert (out & side).sum() >= 0.85 * side.sum()  # past the search region too (its rim a pixel or two inside)
    assert (out & side & (1 - search)).sum() >= 0.75 * (side & (1 - search)).sum()
    assert (out & hand).sum() == 0  # the hand stays in front
    assert (out & hair).sum() == 0  # beside the body, not the hand: no part of the mask past it
    assert (out & grown).sum() == grown.sum()
    assert (past & side).sum() == (out & side).sum() and (past & grown & (1 - side)).sum() == 0
    # No hand: nothing joins.
    out, past = join_past_hand(smooth, grown, np.zeros_like(hand), wide, 200.0, 0.9, body)
    assert (out == grown).all() and past.sum() == 0


def test_the_rim_cut_keeps_the_held_side_beyond_a_hand_under_a_jaw_line_placed_too_high():
    from unmask_video.rim_cut import cut_at_rim

    cloth, hand, hair, search, prob, body, side = _hand_scene()
    rng = np.random.default_rng(4)
    image = np.zeros((200, 200, 3), np.float32) + (120, 110, 100)  # a dark background
    image[cloth > 0] = (232, 234, 240)
    image[hand > 0] = (214, 170, 150)
    image += rng.normal(0, 2.0, image.shape)
    lab = cv2.cvtColor(np.clip(image, 0, 255).astype(np.uint8), cv2.COLOR_RGB2LAB)
    below = np.zeros((200, 200), np.uint8)
    below[65:] = 1  # the jaw line placed too high: the side beyond the hand lies all under it
    mask = cloth.copy()
    sure = mask & (1 - below)
    outside = prob < 0.5
    cut = cut_at_rim(lab, mask, sure, below, size=160.0, outside=outside)
    assert (cut & side).sum() == 0  # cut off from the mask above the jaw line by the hand: it went
    held = cut_at_rim(lab, mask, sure, below, size=160.0, outside=outside, held=side)
    assert (held & side).sum() == side.sum()
    np.testing.assert_array_equal(held & (1 - side), cut & (1 - side))


def _peak_scene():
    """A white mask (its top edge rising over the nose in a wide bump) on a skin-coloured square, 200 px face; a narrow
    spike of skin climbing from its top edge (taken in by the growth) and a narrow fold of cloth beside it."""
    from unmask_video.mask_refine import cut_narrow_peaks  # noqa: F401 (imported by the tests)

    rng = np.random.default_rng(5)
    mask = np.zeros((200, 240), np.uint8)
    mask[100:180, 20:220] = 1
    nose = np.zeros_like(mask)
    nose[80:100, 95:145] = 1  # the nose bridge's rise: 50 px, a quarter of the face
    spike = np.zeros_like(mask)
    spike[60:100, 40:48] = 1  # 8 px wide, 40 tall: skin
    fold = np.zeros_like(mask)
    fold[70:100, 180:187] = 1  # 7 px wide, 30 tall: cloth
    image = np.zeros((200, 240, 3), np.float32) + (214, 170, 150)
    image[(mask | nose | fold) > 0] = (236, 240, 244)
    image += rng.normal(0, 2.0, image.shape)
    lab = cv2.cvtColor(np.clip(image, 0, 255).astype(np.uint8), cv2.COLOR_RGB2LAB)
    return lab, mask, nose, spike, fold


def test_cut_narrow_peaks_cuts_a_narrow_spike_and_keeps_the_wide_nose_rise():
    from unmask_video.mask_refine import cut_narrow_peaks

    lab, mask, nose, spike, fold = _peak_scene()
    grown = mask | nose | spike
    out = cut_narrow_peaks(grown, 200.0, reach=0.08, tall=0.02)
    assert (out & spike).sum() == 0  # the spike leaves, down to the top line it rose from
    assert (out & nose).sum() == nose.sum()  # the wide rise over the nose stays
    assert (out & mask).sum() == mask.sum()  # the body stays
    # A short bump (under ``tall``) stays; a spike narrower than ``reach`` but as wide as the nose rise with a wider
    # reach stays too.
    bump = np.zeros_like(mask)
    bump[97:100, 40:48] = 1
    np.testing.assert_array_equal(cut_narrow_peaks(mask | bump, 200.0, 0.08, 0.02), mask | bump)
    np.testing.assert_array_equal(cut_narrow_peaks(grown, 200.0, reach=0.03, tall=0.02), grown)
    # ``least``: a peak holding less area than this (face^2) above the line stays.
    np.testing.assert_array_equal(cut_narrow_peaks(grown, 200.0, 0.08, 0.02, least=0.01), grown)
    assert (cut_narrow_peaks(grown, 200.0, 0.08, 0.02, least=0.005) & spike).sum() == 0


def test_cut_narrow_peaks_keeps_a_peak_of_the_cloth_s_colour():
    from unmask_video.mask_refine import cut_narrow_peaks

    lab, mask, nose, spike, fold = _peak_scene()
    grown = mask | nose | spike | fold
    # By shape alone both narrow peaks go ...
    out = cut_narrow_peaks(grown, 200.0, 0.08, 0.02)
    assert (out & (spike | fold)).sum() == 0
    # ... by colour the fold (the cloth's chroma) stays and the skin spike goes.
    out = cut_narrow_peaks(grown, 200.0, 0.08, 0.02, lab=lab, cloth=mask, same_cloth=4.0)
    assert (out & fold).sum() == fold.sum()
    assert (out & spike).sum() == 0
    assert (out & (mask | nose)).sum() == (mask | nose).sum()
    # No peak: the mask comes back as it is (the same array: nothing copied).
    assert cut_narrow_peaks(mask, 200.0, 0.08, 0.02, lab=lab, cloth=mask, same_cloth=4.0) is mask


def test_pixels_of_and_at_are_numpys_indexing():
    """mask_pixels.pixels_of / pixels_at give ``image[where]`` / ``image[ys + oy, xs + ox]`` (the same rows in the same
    order), on contiguous images and on views (the fallback)."""
    from unmask_video.mask_pixels import pixels_at, pixels_of

    rng = np.random.default_rng(7)
    image = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    where = rng.random((40, 50)) < 0.1
    np.testing.assert_array_equal(pixels_of(image, where), image[where])
    view = image[3:30, 5:41]
    np.testing.assert_array_equal(pixels_of(view, where[3:30, 5:41]), view[where[3:30, 5:41]])
    np.testing.assert_array_equal(pixels_of(image, np.zeros((40, 50), bool)), image[np.zeros((40, 50), bool)])
    ys, xs = rng.integers(0, 20, 30), rng.integers(0, 25, 30)
    np.testing.assert_array_equal(pixels_at(image, ys, xs, (7, 4)), image[ys + 4, xs + 7])
    np.testing.assert_array_equal(pixels_at(view, ys, xs), view[ys, xs])


def test_free_chroma_table_gives_the_float32_values_for_every_lightness_and_chroma():
    from unmask_video.colour_model import free_chroma_of

    light, chroma = np.meshgrid(np.arange(256), np.arange(256), indexing="ij")
    pixels = np.stack([light.ravel(), chroma.ravel(), 255 - chroma.ravel()], axis=1).astype(np.uint8)
    as_float = pixels.astype(np.float32)
    expected = shading_free_chroma(as_float[:, :1], as_float[:, 1:] - 128.0)
    assert expected.dtype == np.float32
    np.testing.assert_array_equal(free_chroma_of(pixels), expected)


def test_cloth_free_chroma_is_mean_free_chroma_of_one_label_bit_for_bit() -> None:
    from unmask_video.colour_model import cloth_free_chroma, mean_free_chroma

    rng = np.random.default_rng(7)
    for shape, share in (((60, 80), 0.5), ((235, 209), 0.4), ((31, 17), 0.02), ((40, 40), 0.0)):
        lab = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
        lab[: shape[0] // 3] = (200, 128, 129)  # (a flat patch: many equal values, chroma 0 and 1 among them)
        where = (rng.random(shape) < share).astype(np.uint8)
        want = mean_free_chroma(lab, where.astype(np.int32), 2)[1]
        got = cloth_free_chroma(lab, where)
        assert got.dtype == np.float64 and np.array_equal(got, want)
        assert np.array_equal(cloth_free_chroma(lab, where > 0), want)


def _lit_neck_scene():
    """A cool white mask whose lower rim, under the jaw line, is a faint step onto a lit pale neck (a little less
    light, a little yellower), with the neck's shaded side and a grey shirt below it; the mask shades smoothly towards
    its underside (warmer and darker there)."""
    rng = np.random.default_rng(5)
    h, w = 200, 200
    image = np.zeros((h, w, 3), np.float32) + (130, 132, 136)  # a grey shirt
    neck = np.zeros((h, w), np.uint8)
    neck[110:175, 60:145] = 1
    cloth = np.zeros((h, w), np.uint8)
    cv2.ellipse(cloth, (100, 80), (75, 65), 0, 0, 360, 1, -1)
    image[neck > 0] = (226, 212, 198)  # her lit neck: nearly the cloth's colour
    image[110:175, 60:72] = (170, 140, 124)  # its shaded side
    ramp = np.clip((np.arange(h, dtype=np.float32) - 110.0) / 35.0, 0.0, 1.0)[:, None, None]
    shaded = (1 - ramp) * np.float32((236, 238, 242)) + ramp * np.float32((200, 196, 194))
    image = np.where(cloth[..., None] > 0, np.broadcast_to(shaded, image.shape), image)
    image += rng.normal(0, 2.0, image.shape)
    lab = cv2.cvtColor(np.clip(image, 0, 255).astype(np.uint8), cv2.COLOR_RGB2LAB)
    below = np.zeros((h, w), np.uint8)
    below[100:] = 1  # under the jaw line
    neck &= 1 - cloth
    lit = neck.copy()
    lit[:, :72] = 0
    return lab, cloth, neck, lit, below


def test_the_rim_cut_takes_off_a_lit_neck_of_the_white_cloths_colour_and_keeps_its_shaded_underside():
    """``lit_skin``: the growth took her lit neck in with the cloth (woman_white_mask_720); from the shirt its collar
    is a stronger step than the cloth's faint lower rim, so the plain cut leaves it. Marked as skin (as light as the
    lit cloth, yellower) it floods in and leaves at the rim; the cloth's warm shaded underside stays."""
    from unmask_video.rim_cut import cut_at_rim

    lab, cloth, neck, lit, below = _lit_neck_scene()
    grown = cloth | neck
    sure = cloth & (1 - below)
    outside = grown == 0
    plain = cut_at_rim(lab, grown, sure, below, size=160.0, outside=outside, same_cloth=4.0, hem_px=1)
    assert (plain & lit).sum() >= 0.5 * lit.sum()  # (the case: the neck's lit part stays with the plain cut)
    out = cut_at_rim(lab, grown, sure, below, size=160.0, outside=outside, same_cloth=4.0, hem_px=1, lit_skin=6.0)
    assert (out & neck).sum() <= 0.05 * neck.sum()
    assert (cloth & (1 - out)).sum() <= 0.01 * cloth.sum()  # the shaded underside stays
    assert ((grown > 0) & (below == 0) & (out == 0)).sum() == 0


def _dark_cloth_beside_hair(hair_taken: bool) -> tuple[np.ndarray, ...]:
    """A black cloth (Lab 82, 128, 126) whose corner by the ear, in the shade of dark hair down the image-left side
    (70, 130, 129), is darker and two levels of a redder (66, 130, 126); all of it in the top cut's band but the
    lower half. ``hair_taken``: the growth took in the hair beside the corner. (lab, grown, sure, band, outside,
    corner, hair taken)"""
    rng = np.random.default_rng(5)
    h, w = 200, 200
    lab = np.zeros((h, w, 3), np.float32) + (170, 150, 150)  # skin
    cloth = np.zeros((h, w), np.uint8)
    cv2.ellipse(cloth, (110, 120), (70, 60), 0, 0, 360, 1, -1)
    cloth[60:120, 40:180] = 1
    corner = np.zeros((h, w), np.uint8)
    corner[60:100, 40:62] = 1
    corner &= cloth
    taken = np.zeros((h, w), np.uint8)
    if hair_taken:
        taken[50:100, 26:40] = 1
    lab[cloth > 0] = (82, 128, 126)
    lab[corner > 0] = (66, 130, 126)
    lab[:, :40] = (70, 130, 129)
    lab = np.clip(np.round(lab + rng.normal(0, 1.0, lab.shape)), 0, 255).astype(np.uint8)
    band = np.zeros((h, w), np.uint8)
    band[:100] = 1
    sure = cloth & (1 - band)
    sure[:, :70] = 0
    grown = cloth | taken
    return lab, grown, sure, band, grown == 0, corner, taken


def test_the_rim_cut_keeps_a_black_cloths_corner_by_dark_hair_within_two_levels_of_its_colour():
    """lp_d11: the dark hair floods into the black mask's corner by the ear through no colour step, and that corner's
    chroma over lightness (two uint8 levels of a redder, 5.1 at a dark lightness) lies past ``same_cloth``: with
    ``same_levels`` it stays; the hair the growth took in beside it (two and three levels off) still goes."""
    from unmask_video.rim_cut import cut_at_rim

    lab, grown, sure, band, outside, corner, _ = _dark_cloth_beside_hair(False)
    common = {"size": 160.0, "outside": outside, "same_cloth": 4.0, "hem_px": 2}
    plain = cut_at_rim(lab, grown, sure, band, **common)
    assert (plain & corner).sum() < 0.5 * corner.sum()  # (the bite the option is for)
    out = cut_at_rim(lab, grown, sure, band, same_levels=2.2, **common)
    assert (out & corner).sum() >= 0.98 * corner.sum()
    assert (grown & (1 - out)).sum() <= 0.002 * grown.sum()
    lab, grown, sure, band, outside, corner, taken = _dark_cloth_beside_hair(True)
    out = cut_at_rim(lab, grown, sure, band, same_levels=2.2, **dict(common, outside=outside))
    assert (out & taken).sum() <= 0.1 * taken.sum()
    assert (out & corner).sum() >= 0.98 * corner.sum()


def test_search_polygons_built_together_are_those_built_one_by_one(astronaut_landmarks):
    """The segmenter's four polygons from one call (what they share done once, the jaw lowered once per depth) are
    those of one call each, bit for bit; the chin goes down by ``below_jaw`` x the face size along the face's axis."""
    lm = astronaut_landmarks.astype(np.float32)
    size = 180.0
    shapes = [(0.3, 0.02, 0.0), (0.6, 0.02, 0.0), (0.6, 0.02, 0.05), (0.6, 0.08, 0.05)]
    together = search_polygons(lm, size, shapes, 0.03, 0.2)
    assert len(together) == len(shapes)
    for shape, polygon in zip(shapes, together):
        alone = search_polygons(lm, size, [shape], 0.03, 0.2)[0]
        assert polygon.dtype == np.float32 and np.array_equal(polygon, alone)
    down = lm[ls.CHIN] - lm[ls.NOSE_BRIDGE]
    down /= np.linalg.norm(down)
    jaw = lm[ls.index(ls.JAW)]
    chin = len(jaw) // 2  # (the jaw's middle point: no push across there)
    for (below, _, _), polygon in zip(shapes, together):
        np.testing.assert_allclose(polygon[chin], jaw[chin] + down * size * below, atol=1e-3)
    assert not np.array_equal(together[1], together[2]) and not np.array_equal(together[2], together[3])


def test_sure_level_is_the_k_means_masks_median_less_the_margin_at_most_the_ceiling():
    prob = np.zeros((20, 20), np.float32)
    seed = np.zeros((20, 20), np.uint8)
    seed[5:15, 5:15] = 1
    prob[5:15, 5:15] = np.linspace(0.6, 0.8, 100, dtype=np.float32).reshape(10, 10)
    prob[0, 0] = 1.0  # (off the k-means mask: not counted)
    assert sure_level(prob, seed, 0.9, 0.05) == pytest.approx(0.65, abs=0.01)
    prob[5:15, 5:15] = 0.99
    assert sure_level(prob, seed, 0.9, 0.05) == pytest.approx(0.9)
