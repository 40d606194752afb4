"""The rebuilt skin's tone with a reference in other light: the reference's own light across the face and its own shade
in the ring (issue 11)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.test_composite import MASK_COLOUR, masked_face
from unmask_video import landmark_sets
from unmask_video.stages import FaceROI
from unmask_video.reconstruct import ring_weights
from unmask_video.reconstruct.composite import CompositeOptions, ReferenceComposite
from unmask_video.reconstruct.light_plane import across_light, across_share
from unmask_video.reconstruct.ring_weights import in_own_shade
from unmask_video.reconstruct.skin_light import _SkinBase


def _lightness(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)[..., 0]


def _side_lit(reference: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """The reference photo lit from its image-right side: 0.6x at the face's left edge to 1.3x at its right."""
    w = reference.shape[1]
    x0, x1 = float(landmarks[:, 0].min()), float(landmarks[:, 0].max())
    side = np.clip(0.6 + 0.7 * (np.arange(w, dtype=np.float32) - x0) / (x1 - x0), 0.5, 1.4)[None, :, None]
    return np.clip(reference.astype(np.float32) * side, 0, 255).astype(np.uint8)


def _side_bleached(reference: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """The reference photo bleached towards its image-left side (the side the frame's own light comes from) by a
    harsher light: its Lab L raised and its a lowered by 25 and 14 at the face's left edge to 0 at its right."""
    w = reference.shape[1]
    x0, x1 = float(landmarks[:, 0].min()), float(landmarks[:, 0].max())
    lab = cv2.cvtColor(reference.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    ramp = np.clip((x1 - np.arange(w, dtype=np.float32)) / (x1 - x0), 0.0, 1.0)[None, :]
    lab[..., 0] += 25.0 * ramp
    lab[..., 1] -= 14.0 * ramp
    return np.clip(cv2.cvtColor(lab, cv2.COLOR_Lab2RGB) * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _halves(face, image: np.ndarray, channel: int = 0) -> float:
    """The mean lightness (``channel`` 0; 1: redness, Lab a) of the hole's image-right half less its image-left half,
    the lips left out."""
    hole = face.mask > 0
    lips = np.zeros(hole.shape, np.uint8)
    cv2.fillPoly(lips, [np.round(face.landmarks[list(landmark_sets.LIPS_OUTER)]).astype(np.int32)], 1)
    skin = hole & (cv2.dilate(lips, np.ones((9, 9), np.uint8)) == 0)
    nose_x = face.landmarks[landmark_sets.NOSE_TIP, 0]
    right = np.zeros_like(skin)
    right[:, int(round(nose_x)):] = True
    lightness = cv2.cvtColor(image.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)[..., channel]
    return float(lightness[skin & right].mean() - lightness[skin & ~right].mean())


def _ring(slope_frame: float, slope_reference: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple]:
    """A ring of pixels above and below a mask (two rows of 200 pixels), the frame's and the reference's L rising by
    the given slopes from its left end to its right (a falling by half of it, b flat, a little noise)."""
    rng = np.random.default_rng(3)
    xs = np.tile(np.arange(200), 2)
    ys = np.repeat([10, 150], 200)
    t = xs / 199.0

    def lab(slope: float) -> np.ndarray:
        # (a falls as L rises, by half: the lighter side paler, as a side light bleaches it)
        return np.stack([60.0 + slope * (t - 0.5), 15.0 - 0.5 * slope * (t - 0.5), 15.0 + 0 * t]) + rng.normal(
            0, 1.0, (3, len(t)))

    return lab(slope_frame), lab(slope_reference), np.ones(len(t), bool), (ys, xs)


def test_the_share_of_the_references_light_across_taken_out_is_how_far_the_ring_says_it_is_not_the_frames() -> None:
    for frame, reference, expected in ((20, 20, 0.0), (20, 18, 0.0), (-12, 26, 1.0), (0, 30, 1.0), (30, 0, 1.0),
                                       (2, -2, 0.0)):  # fmt: skip
        tgt, ref, both, coords = _ring(frame, reference)
        share, slope, _ = across_share(tgt, ref, both, coords)
        assert abs(float(share[0]) - expected) < 0.15, (frame, reference, share)
        # (a falls by half of L's slope: its share follows L's, on its own floor; b is flat in both and left alone)
        assert abs(float(share[1]) - expected) < 0.15, (frame, reference, share)
        assert not share[2] and not slope[2]
        assert abs(float(slope[0]) * 199 - frame) < 1.0, (frame, slope)  # (the frame's, per pixel)
        assert abs(float(slope[1]) * 199 + 0.5 * frame) < 1.0, (frame, slope)
    tgt, ref, both, coords = _ring(-12, 26)
    assert not across_share(tgt, ref, np.zeros_like(both), coords)[0].any()  # too few pixels: nothing taken out


def test_a_reference_lit_from_one_side_does_not_carry_its_bright_side_onto_an_evenly_lit_face() -> None:
    face, truth = masked_face(light=_side_lit)
    steps = {}
    for across in (0.0, 1.0):
        out = ReferenceComposite(CompositeOptions(across=across)).reconstruct([face])[0]
        steps[across] = _halves(face, out)
    truth_step = _halves(face, truth)
    # (with the reference's light across carried, its bright side shows: the halves differ by far more than the truth's)
    assert abs(steps[0.0] - truth_step) > 6.0, (steps, truth_step)
    # (the frame's own light across, darker on the image right, comes from the ring: not all of it reaches the hole's
    # middle, but the reference's bright side is gone)
    assert abs(steps[1.0] - truth_step) < 0.75 * abs(steps[0.0] - truth_step), (steps, truth_step)
    assert steps[1.0] < steps[0.0] - 2.0, (steps, truth_step)


def test_a_reference_bleached_on_one_side_does_not_carry_its_pale_cheek_onto_an_evenly_coloured_face() -> None:
    face, truth = masked_face(light=_side_bleached)
    steps = {}
    for across in (0.0, 1.0):
        out = ReferenceComposite(CompositeOptions(across=across)).reconstruct([face])[0]
        steps[across] = _halves(face, out, channel=1)
    truth_step = _halves(face, truth, channel=1)
    # (carried, the reference's bleached side shows: its image-left half less red than the truth's; the ring's own
    # colour, spread, fills in part of it, not all)
    assert steps[0.0] > truth_step + 1.5, (steps, truth_step)
    assert abs(steps[1.0] - truth_step) < 0.4 * abs(steps[0.0] - truth_step), (steps, truth_step)


def test_a_reference_in_the_frames_own_light_keeps_its_light_across() -> None:
    # The reference is the truth's own photo: the ring shows the same light across in both, nothing is taken out.
    face, _ = masked_face()
    on = ReferenceComposite(CompositeOptions()).reconstruct([face])[0]
    off = ReferenceComposite(CompositeOptions(across=0.0)).reconstruct([face])[0]
    assert np.array_equal(on, off)


def test_the_references_shade_is_a_shade_the_frame_does_not_show_there() -> None:
    # Ring pixels: the reference's smooth skin light L 70 and the frame's 60 (another light); the reference's pixel
    # and the frame's, in L.
    ref = np.array([70.0, 40.0, 40.0, 55.0, 40.0, 40.0], np.float32)
    tgt = np.array([60.0, 60.0, 33.0, 60.0, 70.0, 60.0], np.float32)
    skin = np.array([True, True, True, True, True, False])
    lab = lambda lightness: np.stack([lightness, np.full_like(lightness, 15.0), np.full_like(lightness, 15.0)])
    smooth = lab(np.full(6, 70.0, np.float32))
    shade = in_own_shade(lab(ref), smooth, lab(tgt), np.full(6, 60.0, np.float32), skin, 0.5)
    # lit in both; a socket under the frame's lit lid; the same shade in both (its L differs less: the frame's light is
    # darker); a shallow shade; the frame lighter than its light (counts as its light); no skin in the reference
    assert shade.tolist() == [False, True, False, False, True, False]
    assert not in_own_shade(lab(ref), smooth, lab(ref), np.full(6, 70.0, np.float32), skin, 0.5).any()  # the same photo


def _with_dark_sockets(
    face: FaceROI, truth: np.ndarray, both: bool, sockets: float = 0.6, darker: float = 0.6
) -> tuple[FaceROI, np.ndarray, np.ndarray]:
    """(face, truth, band): ``face`` with a stand-in's dark eye sockets: its reference ``darker`` (another light), and
    far darker still (``sockets``) in the ring above the mask under the eyes; ``both``: the frame's truth as dark there
    too; ``band``: the top of the hole, where the rebuilt skin meets the frame's under the eyes."""
    hole = face.mask > 0
    dist = cv2.distanceTransform((~hole).astype(np.uint8), cv2.DIST_L2, 5)
    yy, xx = np.mgrid[: hole.shape[0], : hole.shape[1]]
    cols = np.flatnonzero(hole.any(axis=0))
    top = np.where(hole.any(axis=0), hole.argmax(axis=0), 0)[None, :]
    above = ~hole & (dist < 20) & (yy < top) & (np.abs(xx - 0.5 * (cols[0] + cols[-1])) < 0.4 * (cols[-1] - cols[0]))
    reference = (face.reference * np.float32(darker)).astype(np.uint8)
    reference[above] = (reference[above] * np.float32(sockets)).astype(np.uint8)
    face.reference = reference
    if both:
        truth = truth.copy()
        truth[above] = (truth[above] * np.float32(sockets)).astype(np.uint8)
        face.image = truth.copy()
        face.image[hole] = MASK_COLOUR
    rows = np.flatnonzero(hole.any(axis=1))
    band = hole & face.valid & (yy < rows[0] + 0.3 * (rows[-1] - rows[0]))
    return face, truth, band


def test_a_stand_ins_dark_eye_sockets_do_not_lighten_the_rebuilt_skin_under_the_eyes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The grey-mask man's pale band along the mask's top edge: the stand-in's eye sockets under his lit lower lids,
    # compared pixel by pixel, raised the light field and the seam there. (The painted sockets are 6 % of the ring's
    # kept pixels, a stand-in's a fifth: the share from which they are left out is lowered to theirs.)
    monkeypatch.setattr(ring_weights, "_SHADE_SHARE", (0.02, 0.05))
    face, truth, band = _with_dark_sockets(*masked_face(), both=False)
    lift = {}
    for shade in (0.0, 0.5):
        out = ReferenceComposite(CompositeOptions(ring_shade=shade)).reconstruct([face])[0]
        lift[shade] = float((_lightness(out) - _lightness(truth))[band].mean())
    assert lift[0.0] > 8.0, lift  # (about 9.4)
    assert lift[0.5] < 0.85 * lift[0.0], lift  # (about 7.5)


def test_a_few_pixels_in_the_references_shade_are_left_in() -> None:
    # (a lash or a lid a little off: the comparison's noise, which the spread averages out)
    assert ring_weights.shade_strength(np.arange(100) < 5) == 0.0
    assert ring_weights.shade_strength(np.arange(100) < 20) == 1.0
    assert 0.0 < ring_weights.shade_strength(np.arange(100) < 15) < 1.0
    face, truth, _ = _with_dark_sockets(*masked_face(), both=False)  # (6 % of the ring)
    on = ReferenceComposite(CompositeOptions()).reconstruct([face])[0]
    off = ReferenceComposite(CompositeOptions(ring_shade=0.0)).reconstruct([face])[0]
    assert np.array_equal(on, off)


def test_a_shade_the_frame_shows_too_still_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    # The same shade in the frame (the person's own photo, in another light): the light field and the seam as without
    # the test (whatever share of the ring it is).
    monkeypatch.setattr(ring_weights, "_SHADE_SHARE", (0.0, 0.01))
    face, truth, band = _with_dark_sockets(*masked_face(), both=True, sockets=0.45)
    on = ReferenceComposite(CompositeOptions()).reconstruct([face])[0]
    off = ReferenceComposite(CompositeOptions(ring_shade=0.0)).reconstruct([face])[0]
    assert float(np.abs(_lightness(on) - _lightness(off))[face.mask > 0].mean()) < 0.3


def test_the_neck_weighs_less_where_its_change_of_light_is_not_the_faces() -> None:
    # Ring pixels above the mouth (rows 10) and below it (rows 150), the mouth's landmarks between; frame minus
    # reference there, in Lab.
    ys = np.repeat([10, 150], 60)
    xs = np.tile(np.arange(60), 2)
    mouth = np.array([[90.0, 80.0], [110.0, 90.0]], np.float32)
    usable = np.ones(len(ys), bool)

    def lab(face: float, neck: float, b: float = 5.0) -> np.ndarray:
        return np.stack([np.where(ys < 80, face, neck), np.full(len(ys), 12.0), np.where(ys < 80, 5.0, b)]).astype(np.float32)

    def weight(tgt: np.ndarray, ref: np.ndarray, usable: np.ndarray = usable) -> float:
        return ring_weights.neck_weight(tgt, ref, (ys, xs), usable, mouth, 4.0)[1]

    tgt = lab(70.0, 70.0)
    neck, _ = ring_weights.neck_weight(tgt, lab(60.0, 60.0), (ys, xs), usable, mouth, 4.0)
    assert neck.tolist() == (ys > 90).tolist()
    assert weight(tgt, lab(60.0, 60.0)) == 1.0  # (the same light)
    assert weight(lab(70.0, 50.0), lab(60.0, 42.1)) == 1.0  # (a shade in both, its L changed less: luminance scaled alike)
    assert weight(tgt, lab(60.0, 55.6)) == pytest.approx(0.55, abs=0.05)  # (the neck 4.4 L darker in the reference only)
    assert weight(tgt, lab(60.0, 45.0)) == pytest.approx(ring_weights._NECK_WEIGHT)  # (a stand-in's shaded neck)
    assert weight(tgt, lab(60.0, 58.5, b=15.0)) == pytest.approx(ring_weights._NECK_WEIGHT)  # (its colour: b 10 apart)
    assert weight(tgt, lab(60.0, 65.0)) == 1.0  # (the frame's neck in a shade the reference does not show)
    # (too few usable pixels on either side to tell: as it is)
    assert weight(tgt, lab(60.0, 45.0), ys > 90) == 1.0


def test_a_neck_whose_gap_the_faces_own_trend_leads_to_still_counts() -> None:
    # A light from below (a photo of the same person relit): the change of light grows down the face above the mouth
    # and on past it to the neck; a stand-in's shaded neck: a step the face above does not lead to (its change falls
    # towards the mouth, the neck's rises past it: the grey-mask man).
    ys = np.repeat(np.concatenate([np.arange(10, 71, 10), np.arange(100, 161, 10)]), 20).astype(np.float32)
    xs = np.tile(np.arange(20), 14).astype(np.float32)
    mouth = np.array([[90.0, 80.0], [110.0, 90.0]], np.float32)
    usable = np.ones(len(ys), bool)
    ref = np.stack([np.full(len(ys), 60.0), np.full(len(ys), 12.0), np.full(len(ys), 5.0)]).astype(np.float32)

    def weight(lightness: np.ndarray) -> float:
        tgt = ref.copy()
        tgt[0] = lightness
        return ring_weights.neck_weight(tgt, ref, (ys, xs), usable, mouth, 4.0)[1]

    assert weight(60.0 + 0.1 * ys) == 1.0  # (the ramp: the neck 9 L past the face, where the face's trend leads)
    assert weight(np.where(ys < 80, 68.0 - 0.1 * ys, 75.0)) == pytest.approx(ring_weights._NECK_WEIGHT)  # (a step)
    past_trend = np.where(ys < 80, 61.0 + 0.02 * ys, 75.0)
    assert weight(past_trend) == pytest.approx(ring_weights._NECK_WEIGHT)  # (past the trend)
    assert weight(np.where(ys < 80, 68.0 - 0.1 * ys, 45.0)) == 1.0  # (the frame's own shade below the mouth)
    explained = ring_weights._unexplained(np.array([9.0, 0.0, 0.0], np.float32), ref, (ys, xs), 130.0)
    assert np.array_equal(explained, np.array([9.0, 0.0, 0.0], np.float32))  # (a flat face explains nothing)


def test_the_necks_trend_reads_integer_rows_as_the_composite_gives_them() -> None:
    # The composite's ring rows are integers (np.nonzero's): an even count of them once had a median row of 0 (the
    # order statistics' half of an integer type), which moved the face's trend to the image's top and left the ramp's
    # neck weighed down.
    ys = np.repeat(np.concatenate([np.arange(10, 71, 10), np.arange(100, 161, 10)]), 20)
    xs = np.tile(np.arange(20), 14)
    mouth = np.array([[90.0, 80.0], [110.0, 90.0]], np.float32)
    ref = np.stack([np.full(len(ys), 60.0), np.full(len(ys), 12.0), np.full(len(ys), 5.0)]).astype(np.float32)
    tgt = ref.copy()
    tgt[0] = 60.0 + 0.1 * ys
    usable = np.ones(len(ys), bool)
    assert ring_weights.neck_weight(tgt, ref, (ys, xs), usable, mouth, 4.0)[1] == 1.0
    change = np.stack([0.1 * ys, np.zeros(len(ys)), np.zeros(len(ys))]).astype(np.float32)
    apart = np.array([9.0, 0.0, 0.0], np.float32)
    as_floats = ring_weights._unexplained(apart, change, (ys.astype(np.float32), xs.astype(np.float32)), 130.0)
    assert np.allclose(ring_weights._unexplained(apart, change, (ys, xs), 130.0), as_floats, atol=1e-4)
    assert as_floats[0] == pytest.approx(4.5, abs=1e-3)  # (the trend from the face's median row, 40, to 130: 9 L)


def _with_shaded_neck(face: FaceROI, truth: np.ndarray, both: bool) -> tuple[FaceROI, np.ndarray, np.ndarray]:
    """(face, truth, lower): ``face`` with a stand-in's neck in its jaw's shadow: its reference darker (another light),
    and darker still below the mouth outside the hole; ``both``: the frame's truth as dark there too; ``lower``: the
    hole's rebuilt pixels between its top third and the mouth."""
    hole = face.mask > 0
    yy = np.mgrid[: hole.shape[0], : hole.shape[1]][0]
    below = ~hole & (yy > face.landmarks[list(landmark_sets.LIPS_OUTER), 1].max())
    face.reference = (face.reference * np.float32(0.7)).astype(np.uint8)
    face.reference[below] = (face.reference[below] * np.float32(0.6)).astype(np.uint8)
    if both:
        truth = truth.copy()
        truth[below] = (truth[below] * np.float32(0.6)).astype(np.uint8)
        face.image = truth.copy()
        face.image[hole] = MASK_COLOUR
    rows = np.flatnonzero(hole.any(axis=1))
    mouth_top = face.landmarks[list(landmark_sets.LIPS_OUTER), 1].min()
    lower = hole & face.valid & (yy > rows[0] + 0.3 * (rows[-1] - rows[0])) & (yy < mouth_top)
    return face, truth, lower


def test_a_stand_ins_shaded_neck_does_not_lighten_the_rebuilt_lower_face() -> None:
    # The grey-mask man's pale lower face: his lit neck against the stand-in's shaded one, spread from the ring's
    # part below the mouth over the whole rebuilt face.
    # (the default: on)
    face, truth, lower = _with_shaded_neck(*masked_face(), both=False)
    lift = {}
    for name, opts in (("off", CompositeOptions(neck_gap=0.0)), ("default", CompositeOptions())):
        out = ReferenceComposite(opts).reconstruct([face])[0]
        lift[name] = float((_lightness(out) - _lightness(truth))[lower].mean())
    assert lift["off"] > 3.0, lift
    assert abs(lift["default"]) < 0.6 * lift["off"], lift


def test_a_neck_in_the_same_shade_in_the_frame_still_counts() -> None:
    face, truth, _ = _with_shaded_neck(*masked_face(), both=True)
    on = ReferenceComposite(CompositeOptions()).reconstruct([face])[0]
    off = ReferenceComposite(CompositeOptions(neck_gap=0.0)).reconstruct([face])[0]
    assert np.array_equal(on, off)
    assert CompositeOptions().neck_gap == 8.0  # (on by default since the trend's integer median was fixed)


def _lit_down(reference: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """The reference photo lit from above: 1.2x at the face's top to 0.5x at its chin (0.35x at the least below it)."""
    h = reference.shape[0]
    y0, y1 = float(landmarks[:, 1].min()), float(landmarks[:, 1].max())
    down = np.clip(1.2 - 0.7 * (np.arange(h, dtype=np.float32) - y0) / (y1 - y0), 0.35, 1.3)[:, None, None]
    return np.clip(reference.astype(np.float32) * down, 0, 255).astype(np.uint8)


def test_the_frames_skin_beside_a_narrower_warp_tells_the_light_down_the_face() -> None:
    # A photo from elsewhere lit from above, warped onto the face above the mask's middle only (beside the lower face
    # the warp carries nothing): the ring shows skin above the mask alone, the frame's skin beside the lower face tells
    # how the light changes down it.
    face, truth = masked_face(light=_lit_down)
    hole = face.mask > 0
    rows = np.flatnonzero(hole.any(axis=1))
    yy = np.arange(hole.shape[0])[:, None]
    face.valid = face.valid & (hole | (yy < (rows[0] + rows[-1]) // 2))
    bottom = hole & face.valid & (yy > rows[0] + 0.66 * (rows[-1] - rows[0]))
    error = {}
    for beside in (False, True):
        out = ReferenceComposite(CompositeOptions(beside=beside)).reconstruct([face])[0]
        error[beside] = float((_lightness(out) - _lightness(truth))[bottom].mean())
    # (the reference's dark chin carried: far darker than the truth; with the frame's skin beside it, much less so)
    assert error[False] < -15.0, error
    assert error[True] > error[False] + 5.0, error


def test_the_frames_skin_beside_the_warp_counts_only_where_the_rings_skin_does_not_reach_below_the_masks_middle() -> None:
    # The ring's skin pixels change by +4 L; 50 pixels of the frame's skin (L 65) beside the mask, the reference's
    # smooth skin light there L 40.
    rng = np.random.default_rng(0)
    skin = np.stack([rng.normal(60, 2, 200), rng.normal(15, 1, 200), rng.normal(15, 1, 200)]).astype(np.float32)
    test = ring_weights.FrameSkin.of(skin)
    small = (8, 8)
    s_ref = np.tile(np.array([[40.0], [12.0], [12.0]], np.float32), (1, 64))
    beside = (skin[:, :50] + np.float32([[5.0], [0.0], [0.0]]), (np.arange(50), np.arange(50)), np.arange(50) % 64)
    ring_change = np.tile(np.array([[4.0], [1.0], [-1.0]], np.float32), (1, 40))
    found = ring_weights.beside_change(beside, test, s_ref, small, ring_change, 0.0)
    assert found is not None
    change, _, _, weight = found
    assert weight == 1.0
    assert abs(float(np.median(change[0])) - 25.0) < 2.0  # (the frame's L 65 against the reference's light 40)
    # (a/b: the ring's change, plus the reference's colour lit by the further 21 L: 12 * 21 / 56)
    assert abs(float(np.median(change[1])) - (1.0 + 12.0 * 21.0 / 56.0)) < 1.0
    cover = ring_weights.BESIDE_COVER
    assert ring_weights.beside_change(beside, test, s_ref, small, ring_change, 0.5 * cover)[3] == 0.5
    assert ring_weights.beside_change(beside, test, s_ref, small, ring_change, cover) is None
    # (a few beside the warp's edge against a ring of much skin: none; above the mask's middle: none)
    many = np.tile(ring_change[:, :1], (1, 1000))
    assert ring_weights.beside_change(beside, test, s_ref, small, many, 0.0) is None
    assert ring_weights.beside_change(beside, test, s_ref, small, ring_change, 0.0, mid=60.0) is None
    # (hair or a shade beside the face, darker than the skin's floor there: none)
    dark = (beside[0] * np.float32([[0.7], [1.0], [1.0]]), beside[1], beside[2])
    assert ring_weights.beside_change(dark, test, s_ref, small, ring_change, 0.0) is None


def test_the_frames_light_across_is_not_continued_past_the_rings_skin() -> None:
    # The ring shows skin only between columns 40 and 160 of a region 200 wide (beside the mask's sides: a wall, hair):
    # its slope across is known there, and the field that replaces the reference's is held at its ends beyond them.
    tgt, ref, both, (ys, xs) = _ring(-12, 26)
    both &= (xs >= 40) & (xs <= 160)
    share, slope, columns = across_share(tgt, ref, both, (ys, xs))
    assert share[0] > 0.85 and columns.tolist() == [40.0, 160.0], (share, columns)
    # The reference's skin over the whole region at its working size (1:1 here), lit across by its own 26 L.
    small = (200, 20)
    cols = np.tile(np.arange(200, dtype=np.float32), 20)
    lab = np.stack([60.0 + 26.0 * (cols / 199.0 - 0.5), np.full_like(cols, 15.0), np.full_like(cols, 15.0)])
    on = np.ones(cols.size, bool)
    free = across_light(lab, on, small, share, slope)
    held = across_light(lab, on, small, share, slope, (float(columns[0]), float(columns[1])))
    assert free is not None and held is not None
    free_l, held_l = free[0].reshape(20, 200)[0], held[0].reshape(20, 200)[0]
    # (between the ring's ends the same field; beyond them held, where it had run on: 38 L from end to end)
    assert np.allclose(free_l[40:161], held_l[40:161], atol=1e-4)
    assert np.allclose(held_l[:40], held_l[40], atol=1e-4) and np.allclose(held_l[161:], held_l[160], atol=1e-4)
    assert abs(float(free_l[0] - free_l[40])) > 5.0 and abs(float(free_l[199] - free_l[160])) > 5.0, free_l[[0, 40, 160, 199]]


def _blotched(reference: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """Someone else's skin: the photo with its own blotchy colour (a/b strays of 6 Lab units in 4-pixel blocks, not the
    frame's: the colour bound's trust about 0)."""
    h, w = reference.shape[:2]
    lab = cv2.cvtColor(reference.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    rng = np.random.default_rng(11)
    blotches = rng.normal(0.0, 6.0, ((h + 3) // 4, (w + 3) // 4, 2)).astype(np.float32)
    lab[..., 1:] += cv2.resize(blotches, (w, h), interpolation=cv2.INTER_NEAREST)
    return np.clip(cv2.cvtColor(lab, cv2.COLOR_Lab2RGB) * 255.0 + 0.5, 0, 255).astype(np.uint8)


def test_levelling_takes_the_share_of_the_references_smooth_light_out_and_keeps_its_detail() -> None:
    rng = np.random.default_rng(5)
    h, w = 40, 50
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    light = 60.0 + 0.4 * xx - 0.3 * yy  # (a broad light over the face)
    lab = np.stack([light, 10.0 + 0.1 * yy, 20.0 - 0.1 * xx]) + rng.normal(0.0, 2.0, (3, h, w)).astype(np.float32)
    ref = np.clip(cv2.cvtColor(np.ascontiguousarray(lab.transpose(1, 2, 0)), cv2.COLOR_Lab2RGB) * 255 + 0.5, 0, 255)
    ref = ref.astype(np.uint8)
    ring = np.zeros((h, w), bool)
    ring[:4] = True
    apply = ~ring
    base = _SkinBase.of(ref, ring, apply, None, 0.35)
    before_light, before_detail = base.s_ref.copy(), base.lab_small - base.s_ref
    on = base.skin & (cv2.resize(apply.view(np.uint8), base.small, interpolation=cv2.INTER_NEAREST).reshape(-1) > 0)
    base.level(apply, np.array([0.75, 0.5, 0.0], np.float32))
    spread_before = np.ptp(before_light[:, on], axis=1)
    spread_after = np.ptp(base.s_ref[:, on], axis=1)
    assert np.allclose(spread_after, spread_before * np.array([0.25, 0.5, 1.0]), rtol=1e-3, atol=1e-3)
    assert np.allclose(np.median(base.s_ref[:, on], axis=1), np.median(before_light[:, on], axis=1), atol=1e-3)
    assert np.allclose(base.lab_small - base.s_ref, before_detail, atol=1e-3)
    # (the ring's reference pixels are read less what was taken out)
    assert base.across is not None and np.allclose(base.across, before_light - base.s_ref, atol=1e-3)


def test_a_stand_ins_own_light_is_levelled_on_the_frames_that_reuse_the_fields_too() -> None:
    face, _ = masked_face(light=_blotched)
    hole = face.mask > 0
    off = ReferenceComposite(CompositeOptions(level_light=0.0)).reconstruct([face])[0]
    reusing = ReferenceComposite(CompositeOptions(carry_frames=1))
    measuring = ReferenceComposite(CompositeOptions(field_refresh=1, carry_frames=1))
    unlevelled = ReferenceComposite(CompositeOptions(level_light=0.0, carry_frames=1))
    first = reusing.reconstruct([face])[0]
    for rebuild in (measuring, unlevelled):
        rebuild.reconstruct([face])
    # (a stand-in's colour: its light levelled, the rebuilt skin changed)
    assert np.abs(first.astype(np.int16) - off)[hole].mean() > 0.5
    # (the next frame reuses the fields measured on the first: levelled alike, and not as the unlevelled reuse is)
    a, b = reusing.reconstruct([face])[0], measuring.reconstruct([face])[0]
    assert np.abs(a.astype(np.int16) - b).max() <= 1
    assert np.abs(a.astype(np.int16) - unlevelled.reconstruct([face])[0])[hole].mean() > 0.5


@pytest.mark.parametrize("cast", [(0, 0, 0), (40, -10, -30)])
def test_the_persons_own_photo_is_not_levelled(cast: tuple[int, int, int]) -> None:
    # The reference is the truth's own photo, as it is or with a colour cast: its colour strays are the frame's (the
    # colour bound's trust about 1, 0.6 with the cast), nothing is taken out of its light.
    face, _ = masked_face(cast=cast)
    on = ReferenceComposite(CompositeOptions(level_light=1.0)).reconstruct([face])[0]
    off = ReferenceComposite(CompositeOptions(level_light=0.0)).reconstruct([face])[0]
    assert np.array_equal(on, off)
