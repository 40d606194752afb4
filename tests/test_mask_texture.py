"""mask_texture: a hood's mesh lining told from a smooth mask by its dots, and taken off the mask by its colour."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from unmask_video import landmark_sets
from unmask_video.mask_texture import dot_density, textured, without_foreign

CLOTH = (200, 198, 212)  # a pale lavender-grey mask (RGB)
LINING = (226, 224, 218)  # a white, slightly warm hood lining: close to the cloth, paler


def _mesh(shape: tuple[int, int], colour, period: int = 5, depth: float = 30.0) -> np.ndarray:
    """uint8 RGB of ``colour`` with dark 2 x 2 holes every ``period`` pixels, blurred a little as video is."""
    out = np.empty((*shape, 3), np.float32)
    out[:] = colour
    holes = np.zeros(shape, bool)
    for dy in (0, 1):
        for dx in (0, 1):
            holes[dy::period, dx::period] = True
    out[holes] -= depth
    return np.clip(cv2.GaussianBlur(out, (0, 0), 0.6), 0, 255).astype(np.uint8)


def _smooth(shape: tuple[int, int], colour, seed: int = 0) -> np.ndarray:
    """uint8 RGB of ``colour`` with a little noise, smoothed as a video encoder leaves a plain surface."""
    noise = cv2.GaussianBlur(np.random.default_rng(seed).normal(0.0, 1.5, (*shape, 3)).astype(np.float32), (0, 0), 1.0)
    return np.clip(np.array(colour, np.float32) + noise, 0, 255).astype(np.uint8)


def test_dot_density_sees_a_mesh_not_a_smooth_cloth_nor_a_step():
    mesh = cv2.cvtColor(_mesh((60, 60), LINING), cv2.COLOR_RGB2GRAY)
    cloth = cv2.cvtColor(_smooth((60, 60), CLOTH), cv2.COLOR_RGB2GRAY)
    step = np.full((60, 60), 200, np.uint8)
    step[:, 30:] = 90
    step = cv2.GaussianBlur(step, (0, 0), 1.5)
    d = [float(dot_density(g, 3, 9)[20:40, 20:40].mean()) for g in (mesh, cloth, step)]
    assert d[0] > 2.0
    assert d[0] > 10 * d[1]
    assert d[0] > 10 * d[2]  # (a closing keeps a step: no dots there)


def test_dot_density_within_counts_only_its_own_pixels():
    gray = cv2.cvtColor(np.hstack([_smooth((60, 40), CLOTH), _mesh((60, 40), LINING)]), cv2.COLOR_RGB2GRAY)
    within = np.zeros(gray.shape, bool)
    within[:, :40] = True
    plain = dot_density(gray, 3, 9)
    only = dot_density(gray, 3, 9, within)
    # (the cloth's column beside the mesh: the plain box sees the mesh's dots, the one within the cloth does not)
    assert plain[10:50, 36:40].mean() > 0.5
    assert only[10:50, 36:40].mean() < 0.3 * plain[10:50, 36:40].mean()


def _box_sums(image: np.ndarray, k: int) -> np.ndarray:
    """float64: the k x k box sums of a uint8 image (OpenCV's default border, reflected about the edge pixel), from an
    integral image: whole numbers, exact."""
    padded = cv2.copyMakeBorder(image, k // 2, k // 2, k // 2, k // 2, cv2.BORDER_REFLECT_101)
    total = cv2.integral(padded, sdepth=cv2.CV_64F)
    h, w = image.shape
    return total[k : k + h, k : k + w] - total[:h, k : k + w] - total[k : k + h, :w] + total[:h, :w]


@pytest.mark.parametrize("shape, k, seed", [((60, 80), 9, 0), ((37, 53), 15, 1), ((120, 90), 5, 2)])
def test_dot_density_is_the_box_means_of_whole_number_sums(shape, k, seed):
    # (its box means from the uint8 top-hat and the {0, 1} weight: the sums exact, the means within a float32 step of
    # the true ones; over ``within``, the sum over the count, 0 where the box holds none of it; no wrap of the uint8
    # product)
    rng = np.random.default_rng(seed)
    gray = cv2.GaussianBlur(rng.integers(0, 256, shape, dtype=np.uint8), (0, 0), 0.8)
    within = rng.random(shape) < 0.6
    within[: shape[0] // 2, : shape[1] // 2] = False  # (boxes with none of it)
    hat = cv2.morphologyEx(gray, cv2.MORPH_BLACKHAT, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))
    np.testing.assert_array_max_ulp(dot_density(gray, 3, k), (_box_sums(hat, k) / (k * k)).astype(np.float32), 1)
    weight = within.astype(np.uint8)
    count = _box_sums(weight, k)
    expected = (_box_sums(hat * weight, k) / np.maximum(count, 1.0)).astype(np.float32)
    got = dot_density(gray, 3, k, within)
    np.testing.assert_array_max_ulp(got, expected, 1)
    assert not got[: shape[0] // 2 - k, : shape[1] // 2 - k].any()
    assert np.array_equal(dot_density(gray, 3, k, np.asfortranarray(within)), got)  # (another memory layout)


def _cloth_and_strip(scale: float = 0.5) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A 240 x 240 window: smooth cloth with a mesh lining strip down its left side (columns 20-70, rows 60-220);
    (window, where, cloth, strip) with the masks at ``scale``."""
    window = _smooth((240, 240), CLOTH)
    window[60:220, 20:70] = _mesh((160, 50), LINING)
    n = int(round(240 * scale))
    strip = np.zeros((n, n), bool)
    strip[int(60 * scale) : int(220 * scale), int(20 * scale) : int(70 * scale)] = True
    where = np.zeros((n, n), bool)
    where[:, : int(110 * scale)] = True  # (the strip and the cloth beside it)
    cloth = ~where
    return window, where, cloth, strip


def test_textured_marks_the_lining_and_not_the_cloth_beside_it():
    window, where, cloth, strip = _cloth_and_strip()
    marks = textured(window, where, cloth, (0.5, 0.5), 270.0, ratio=3.0, floor=0.3)
    assert marks is not None
    assert marks[strip].mean() > 0.5
    # (the box reaches a few pixels past the mesh onto the cloth beside it, no further)
    near = cv2.dilate(strip.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    assert not (marks & ~near).any()


def test_textured_marks_nothing_on_plain_cloth_nor_on_a_small_face():
    window, where, cloth, strip = _cloth_and_strip()
    plain = _smooth((240, 240), CLOTH)
    assert textured(plain, where, cloth, (0.5, 0.5), 270.0, ratio=3.0, floor=0.3) is None
    # (a mesh patch smaller than ``piece`` faces squared: a seam's stitches, an ear loop's knot)
    small = plain.copy()
    small[100:116, 30:46] = _mesh((16, 16), LINING)
    assert textured(small, where, cloth, (0.5, 0.5), 270.0, ratio=3.0, floor=0.3) is None


def _mask_with_piece(colour) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A 120 x 120 mask of cloth whose image-left columns (the zone beside the jaw: 0-40) hold a piece of ``colour``
    (rows 30-110, columns 10-35): (the mask, the zone, the uint8 Lab image, the piece)."""
    shape = (120, 120)
    image = _smooth(shape, CLOTH)
    image[30:110, 10:35] = _smooth((80, 25), colour, seed=1)
    mask = np.zeros(shape, np.uint8)
    mask[10:110, 10:110] = 1
    zone = np.zeros(shape, bool)
    zone[:, :40] = True
    piece = np.zeros(shape, bool)
    piece[30:110, 10:35] = True
    return mask, zone, cv2.cvtColor(image, cv2.COLOR_RGB2LAB), piece


@pytest.mark.parametrize("other,goes", [(LINING, True), ((160, 156, 178), False), (CLOTH, False)],
                         ids=["paler-lining", "shaded-cloth", "the-cloth"])  # fmt: skip
def test_without_foreign_takes_off_only_a_paler_unlike_piece(other, goes):
    mask, zone, lab, piece = _mask_with_piece(other)
    cloth = (mask > 0) & ~zone
    foreign = np.zeros(mask.shape, bool)
    foreign[50:90, 15:30] = True
    out = without_foreign(mask, foreign, zone, lab, cloth, 4.0)
    if goes:
        assert out[piece].mean() < 0.05  # (its outline, where the median mixes it with the cloth, may stay)
        assert out[cloth].all()
    else:
        np.testing.assert_array_equal(out, mask)


def test_without_foreign_leaves_a_piece_without_marks():
    mask, zone, lab, _ = _mask_with_piece(LINING)
    foreign = np.zeros(mask.shape, bool)
    foreign[50:90, 60:80] = True  # (marks on the cloth, none on the lining)
    np.testing.assert_array_equal(without_foreign(mask, foreign, zone, lab, (mask > 0) & ~zone, 4.0), mask)


def _with_mesh_lining(masked: np.ndarray, truth: np.ndarray, top: int, colour) -> tuple[np.ndarray, np.ndarray]:
    """``masked`` with a mesh lining ``colour`` 45 px wide beside the mask's image-left edge, from row ``top`` down to
    the mask's bottom: (the image, the lining's pixels)."""
    strip = np.zeros(truth.shape, bool)
    for y in range(top, int(np.flatnonzero(truth.any(axis=1)).max()) + 1):
        xs = np.flatnonzero(truth[y])
        if xs.size:
            strip[y, max(int(xs.min()) - 45, 0) : int(xs.min())] = True
    out = masked.copy()
    out[strip] = _mesh(truth.shape, colour)[strip]
    return out, strip


def test_the_segmenter_leaves_a_mesh_lining_beside_the_jaw_out(astronaut, astronaut_landmarks):
    # The grey-mask man's hood: a white mesh lining beside his jaw, nearly the cloth's colour, taken with the mask
    # The astronaut at 3x (a face of about 310 px, as a 1080p talking head's) in a lavender-grey mask.
    from unmask_video.landmarks import face_box
    from unmask_video.segment import MaskSegmenter, SegmentOptions
    from unmask_video.synthetic import MaskStyle, draw_surgical_mask

    big = cv2.resize(astronaut, None, fx=3.0, fy=3.0, interpolation=cv2.INTER_CUBIC)
    lm = (astronaut_landmarks * 3.0).astype(np.float32)
    masked, truth = draw_surgical_mask(big, lm, MaskStyle(CLOTH, below_chin=0.15))
    truth = truth > 0.5
    hooded, strip = _with_mesh_lining(masked, truth, int(lm[landmark_sets.MOUTH_CORNERS[0], 1]), (210, 208, 216))
    box = face_box(lm, big.shape, 0.55)

    def figures(options: SegmentOptions) -> tuple[float, float]:
        mask = np.zeros(truth.shape, bool)
        roi_lm = lm - np.array([box.x0, box.y0], np.float32)
        mask[box.slices] = MaskSegmenter(options).segment(np.ascontiguousarray(hooded[box.slices]), roi_lm) >= 0.5
        return float((mask & strip).sum() / strip.sum()), float((truth & ~mask).sum() / truth.sum())

    taken, uncovered = figures(SegmentOptions())
    taken_off, _ = figures(SegmentOptions(rim_texture=0.0))
    assert uncovered <= 0.01
    # Without the texture the lining is taken with the mask: the check below means something.
    assert taken_off >= 0.5
    assert taken <= 0.5 * taken_off


def _foreign_over_whole_box(mask, foreign, zone, lab, cloth, tolerance):
    """:func:`without_foreign` as it was computed before it read only the pixels it needs: the chroma over lightness
    (:func:`colour_model.shading_free_chroma`) of every pixel of the mask's box, in float32."""
    from unmask_video.blend import mask_bbox
    from unmask_video.colour_model import shading_free_chroma
    from unmask_video.order_stats import median

    region = mask_bbox(mask, 1, mask.shape)
    smooth = cv2.medianBlur(np.ascontiguousarray(lab[region]), 3).astype(np.float32)
    free = shading_free_chroma(smooth[..., :1], smooth[..., 1:] - 128.0)
    colour = median(np.ascontiguousarray(np.concatenate([free, smooth[..., :1]], axis=2)[cloth[region]].T))
    off = (mask[region] > 0) & zone[region] & (((free - colour[:2]) ** 2).sum(axis=2) > tolerance**2)
    off &= smooth[..., 0] > colour[2]
    n, pieces = cv2.connectedComponents(off.astype(np.uint8), connectivity=8)
    marked = np.unique(pieces[foreign[region] & off])
    marked = marked[marked > 0]
    if marked.size == 0:
        return mask
    out = mask.copy()
    out[region][np.isin(pieces, marked)] = 0
    n, parts = cv2.connectedComponents(out, connectivity=8)
    kept = np.unique(parts[(out > 0) & ~zone])
    return np.isin(parts, kept[kept > 0]).astype(np.uint8)


@pytest.mark.parametrize("seed", range(6))
def test_without_foreign_reading_only_its_pixels_matches_the_whole_box(seed):
    """The candidates' and the cloth's pixels only (gathered, by the chroma table) give the mask the float32 formula
    over the whole box gave, bit for bit: noisy pale and dark pieces in the zone, on a mask off the window's edge, the
    marks beside and on them, some tolerances taking pieces off and some not."""
    rng = np.random.default_rng(seed)
    colour = LINING if seed % 2 == 0 else (150, 140, 170)
    mask, zone, lab, piece = _mask_with_piece(colour)
    lab = np.clip(lab.astype(np.int16) + rng.integers(-6, 7, lab.shape), 0, 255).astype(np.uint8)
    mask = np.roll(mask, (seed * 3 - 8, seed - 4), axis=(0, 1))
    cloth = (mask > 0) & ~zone & (rng.random(mask.shape) > 0.2)
    foreign = np.zeros(mask.shape, bool)
    foreign[40 + seed : 70 + seed, 12:40] = True
    tolerance = (1.0, 4.0, 12.0)[seed % 3]
    want = _foreign_over_whole_box(mask, foreign, zone, lab, cloth, tolerance)
    got = without_foreign(mask, foreign, zone, lab, cloth, tolerance)
    np.testing.assert_array_equal(got, want)


def test_the_whole_box_reference_takes_pieces_off():
    """(the equality above is not that of two untouched masks: the reference takes the pale lining off)"""
    mask, zone, lab, piece = _mask_with_piece(LINING)
    foreign = np.zeros(mask.shape, bool)
    foreign[50:90, 15:30] = True
    out = _foreign_over_whole_box(mask, foreign, zone, lab, (mask > 0) & ~zone, 4.0)
    assert out[piece].mean() < 0.05
