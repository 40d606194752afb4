"""The cloth's colour bleeding past a segmented mask's edge: read from the frame, kept out of the colour ring."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.test_composite import _mean_colour_error, masked_face, scaled_face
from unmask_video.face_units import REFERENCE_FACE_PX, FaceLength
from unmask_video.landmarks import face_box
from unmask_video.reconstruct.cloth_bleed import BleedOptions, bleed_px
from unmask_video.reconstruct.composite import CompositeOptions, ReferenceComposite
from unmask_video.reconstruct.face_history import face_in_frame
from unmask_video.reconstruct.fill_seam import distance_to
from unmask_video.segment import MaskSegmenter, SegmentOptions
from unmask_video.synthetic import LIGHT_BLUE, MaskStyle, draw_surgical_mask

SKIN = (205, 150, 125)
CLOTH = (120, 170, 220)


def _bled(outside: np.ndarray, hole: np.ndarray, reach: float) -> np.ndarray:
    """(h, w, 3) uint8: ``outside`` with the cloth's colour laid on the hole and fading over ``reach`` px past it
    (half the cloth's colour on the first pixel; ``reach`` 0: none)."""
    dist = distance_to(hole)
    share = np.where(hole, 1.0, 0.5 * np.clip(1.0 - (dist - 0.5) / max(reach, 1e-6), 0.0, 1.0) if reach > 0 else 0.0)
    out = outside * (1.0 - share[..., None]) + np.array(CLOTH, np.float64) * share[..., None]
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def _disc(shape: tuple[int, int] = (200, 200), radius: float = 50.0) -> np.ndarray:
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return np.hypot(yy - shape[0] / 2, xx - shape[1] / 2) <= radius


def _noisy_skin(shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.array(SKIN, np.float64) + rng.normal(0.0, 4.0, (*shape, 3))


@pytest.mark.parametrize("reach", [0.0, 3.0, 6.0])
def test_bleed_is_read_as_far_as_the_cloths_colour_leans_into_the_skin(reach: float) -> None:
    hole = _disc()
    image = _bled(_noisy_skin(hole.shape), hole, reach)
    valid = np.ones(hole.shape, bool)
    read = bleed_px(image, hole, valid, distance_to(hole), BleedOptions(reach=10.0, skin_from=12.0, skin_to=20.0))
    assert read is not None
    # (the mix falls under a fifth of the way to the cloth's at 0.6 of the reach past the first pixel)
    expected = 0.0 if reach == 0 else 0.5 + 0.6 * reach
    assert abs(read - expected) < 1.0, (reach, read)


def test_no_bleed_is_read_where_the_cloth_is_the_skins_colour() -> None:
    hole = _disc()
    image = np.clip(np.round(_noisy_skin(hole.shape)), 0, 255).astype(np.uint8)
    lab = cv2.cvtColor(np.array([[SKIN]], np.uint8), cv2.COLOR_RGB2LAB)
    lab[..., 0] -= 60  # (a darker cloth of the skin's chroma)
    image[hole] = cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)[0, 0]
    read = bleed_px(image, hole, np.ones(hole.shape, bool), distance_to(hole))
    assert read is None


def test_the_colour_ring_starts_past_the_bleed_and_is_averaged_over_frames() -> None:
    face, _ = scaled_face(*masked_face(), REFERENCE_FACE_PX)
    hole = face.mask > 0
    face.image = _bled(face.image.astype(np.float64), hole, 5.0)
    composite = ReferenceComposite(CompositeOptions())
    lengths = composite.lengths(REFERENCE_FACE_PX)
    dist = distance_to(hole)
    alone = composite._off_cloth(face.image, hole, face.valid, dist, lengths)
    assert alone.ring_gap > lengths.ring_gap + 1.0 and alone.stats_gap > lengths.stats_gap + 2.0, alone
    assert alone.stats_gap - lengths.stats_gap == pytest.approx(alone.ring_gap, abs=1e-6)
    unread = ReferenceComposite(CompositeOptions(bleed=FaceLength(0.0))).lengths(REFERENCE_FACE_PX)
    assert composite._off_cloth(face.image, hole, face.valid, dist, unread) == unread
    # A frame whose bleed is not read (None) keeps the face's past; a new one moves it by a fifth.
    located = face_in_frame(face)
    smooth = composite._averages.bleed(located)
    assert smooth(0.5) == pytest.approx(0.5)
    assert composite._averages.bleed(located)(None) == pytest.approx(0.5)
    assert composite._averages.bleed(located)(0.0) == pytest.approx(0.4)


def test_the_cloths_bleed_does_not_tint_the_rebuilt_face() -> None:
    # The frame's skin round the hole takes the cloth's colour for some pixels (a compressed video's chroma smear, a
    # fringe the segmentation missed), further than the statistics' own gap: the ring past it keeps the rebuilt face,
    # and its edge where the seam meets the frame, the skin's colour.
    face, truth = scaled_face(*masked_face(cast=(20, -5, -15)), REFERENCE_FACE_PX)
    hole = face.mask > 0
    face.image = _bled(face.image.astype(np.float64), hole, 10.0)
    inner = hole & (cv2.erode(hole.astype(np.uint8), np.ones((31, 31), np.uint8)) > 0)  # away from the seam
    edge = hole & ~(cv2.erode(hole.astype(np.uint8), np.ones((13, 13), np.uint8)) > 0)  # where it meets the frame
    errors = {}
    for reach in (0.0, 6.0):
        options = CompositeOptions(bleed=FaceLength(reach), color_smoothing=0.0)
        out = ReferenceComposite(options).reconstruct([face])[0]
        errors[reach] = (_mean_colour_error(out, truth, inner), _mean_colour_error(out, truth, edge))
    # (about 6.7 and 13.4 read from the hole, 2.1 and 2.0 past the bleed)
    assert errors[6.0][0] < min(3.0, 0.5 * errors[0.0][0]), errors
    assert errors[6.0][1] < min(3.0, 0.3 * errors[0.0][1]), errors


def test_the_segmented_hole_ends_at_the_cloths_line(astronaut, astronaut_landmarks):
    # The segmenter's soft edge lies inside the cloth (SegmentOptions.feather_inward): the composite's hole, mask > 0,
    # is its 0.5 region, not a blurred tail some 3 sigma past it; without the cut the tail reaches past it.
    masked, _ = draw_surgical_mask(astronaut, astronaut_landmarks, MaskStyle(LIGHT_BLUE))
    box = face_box(astronaut_landmarks, masked.shape[:2])
    img, lm = masked[box.slices], (astronaut_landmarks - np.array([box.x0, box.y0], np.float32)).astype(np.float32)
    inward = MaskSegmenter(SegmentOptions()).segment(img, lm)
    whole = MaskSegmenter(SegmentOptions(feather_inward=False)).segment(img, lm)
    assert np.array_equal(inward > 0, inward >= 0.5)
    assert np.array_equal(inward >= 0.5, whole >= 0.5)  # (the same line)
    tail = np.count_nonzero(whole > 0) - np.count_nonzero(whole >= 0.5)
    assert tail > 0.05 * np.count_nonzero(whole >= 0.5), tail



def test_the_skins_and_the_cloths_medians_are_numpys() -> None:
    """:func:`cloth_bleed.fringe_medians` (``order_stats.median`` per channel) gives ``np.median``'s numbers of the
    same pixels' Lab, odd and even counts of them among the discs, and None where the cloth is too small to tell."""
    from unmask_video.reconstruct.cloth_bleed import _band, _cloth, _lab, _sample, fringe_medians

    opts, counts = BleedOptions(), set()
    for radius in (30.0, 31.0, 32.0, 33.0, 50.0):
        hole = _disc(radius=radius)
        image = _bled(_noisy_skin(hole.shape, 5), hole, 3.0)
        valid = np.ones(hole.shape, bool)
        dist = distance_to(hole)
        got = fringe_medians(image, hole, valid, dist)
        assert got is not None
        skin = _lab(image, _sample(_band(dist, valid.view(np.uint8), opts.skin_from, opts.skin_to)))
        cloth = _lab(image, _sample(_cloth(hole, opts)))
        for mine, pixels in zip(got, (skin, cloth)):
            counts.add(len(pixels) % 2)
            want = np.median(pixels, axis=0)
            assert mine.dtype == want.dtype and np.array_equal(mine, want)
    assert counts == {0, 1}
    small = _disc(radius=3.0)
    black = np.zeros((*small.shape, 3), np.uint8)
    assert fringe_medians(black, small, np.ones(small.shape, bool), distance_to(small)) is None
