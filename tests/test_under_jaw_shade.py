"""The reference photo's own shade under its jaw, read once on the photo (reference_shade.py) and lifted towards the
frame's light (reconstruct/under_jaw_shade.py)."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from tests.test_composite import masked_face
from tests.test_warp import astronaut
from unmask_video import landmark_sets
from unmask_video.face_axes import face_axes, neck_column
from unmask_video.reconstruct.composite import CompositeOptions, ReferenceComposite
from unmask_video.reconstruct.fill_seam import distance_to
from unmask_video.reconstruct import under_jaw_shade
from unmask_video.reconstruct.under_jaw_shade import ShadeTrack, UnderJawOptions, lift_under_jaw_shade
from unmask_video.reference_shade import ReferenceShade, reference_shade
from unmask_video.warp import ReferenceWarper, WarpOptions


def _skin(lightness: np.ndarray) -> np.ndarray:
    """(h, w, 3) uint8 RGB skin of the given (h, w) lightness (0-255), a little texture on it."""
    tone = np.array([1.0, 0.78, 0.66], np.float32)
    noise = np.random.default_rng(5).normal(0.0, 2.0, lightness.shape + (1,)).astype(np.float32)
    return np.clip(lightness[..., None] * tone + noise, 0, 255).astype(np.uint8)


def _under_chin(shape: tuple[int, int], landmarks: np.ndarray, start: float = 0.0, stop: float = 0.1) -> np.ndarray:
    """(h, w) float32: 1 from ``start`` face heights below the chin's landmark to ``stop``, in the neck's column."""
    down, height = face_axes(landmarks)
    h, w = shape
    t = np.arange(w, dtype=np.float32)[None, :] * down[0] + np.arange(h, dtype=np.float32)[:, None] * down[1]
    t -= np.float32(landmarks[landmark_sets.CHIN] @ down)
    band = (t > start * height) & (t < stop * height) & (neck_column(shape, landmarks) > 0)
    return band.astype(np.float32)


def _hole(face) -> np.ndarray:
    """The astronaut's drawn mask, which ends at her chin, reaching 0.12 face heights under it (a worn mask's)."""
    return (face.mask > 0) | (_under_chin(face.mask.shape, face.landmarks, -0.05, 0.12) > 0)


def _scene(ref_share: float, out_drop: float, neck_level: float = 200.0):
    """(frame, out, reference, hole, landmarks, shade): the astronaut's masked face; the frame's skin even (L
    ``neck_level`` below the mask, 200 elsewhere), the warped reference even with a band under the chin at
    ``ref_share`` of its light, the colour-matched rebuild ``out`` the frame's skin with that band ``out_drop`` levels
    darker; ``shade``: :func:`reference_shade` read on that reference (as if it were the photo)."""
    face, _ = masked_face()
    landmarks = face.landmarks
    hole = _hole(face)
    shape = hole.shape
    band = _under_chin(shape, landmarks)
    level = np.full(shape, 200.0, np.float32)
    frame_level = level.copy()
    frame_level[~hole & (_under_chin(shape, landmarks, 0.0, 1.0) > 0)] = neck_level
    frame = _skin(frame_level)
    reference = _skin(level * (1.0 - (1.0 - ref_share) * band))
    out = frame.copy()
    out[hole] = _skin(level - out_drop * band)[hole]
    shade = reference_shade(reference, landmarks, np.ones(shape, bool))
    assert shade is not None
    return frame, out, reference, hole, landmarks, shade


def _mean_l(rgb: np.ndarray, where: np.ndarray) -> float:
    return float(cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)[..., 0][where].mean())


def test_the_photos_deep_shade_under_the_chin_is_lifted_to_the_frames_light_and_nothing_outside_the_hole_changes() -> None:
    frame, out, reference, hole, lm, shade = _scene(ref_share=0.3, out_drop=50.0)
    assert shade.depth < 0.4  # (read on the photo: its band)
    before = out.copy()
    band = (_under_chin(hole.shape, lm, 0.02) > 0) & hole
    assert lift_under_jaw_shade(out, frame, reference, hole, hole, distance_to(hole), lm, shade)
    chin_l = _mean_l(before, hole & ~(_under_chin(hole.shape, lm, -0.1) > 0))
    gap = chin_l - _mean_l(before, band)
    assert gap > 30  # (the scene: a deep band)
    # (lifted to its smooth light's floor: the band's edges, smoothed into the skin around, are lifted less)
    assert chin_l - _mean_l(out, band) < 0.5 * gap
    assert np.array_equal(out[~hole], before[~hole])
    # above the chin (less the fade-in) nothing changes
    above = hole & ~(_under_chin(hole.shape, lm, -0.06) > 0)
    assert np.array_equal(out[above], before[above])


def test_a_mild_shade_in_the_photo_is_left_as_it_is() -> None:
    frame, out, reference, hole, lm, shade = _scene(ref_share=0.85, out_drop=50.0)
    assert shade.depth > UnderJawOptions().shade_from  # (read on the photo: nothing to do on any frame)
    before = out.copy()
    lift_under_jaw_shade(out, frame, reference, hole, hole, distance_to(hole), lm, shade)
    assert np.array_equal(out, before)


def test_a_frame_whose_neck_below_the_mask_is_as_dark_keeps_the_shade() -> None:
    frame, out, reference, hole, lm, shade = _scene(ref_share=0.3, out_drop=50.0, neck_level=145.0)
    before = out.copy()
    band = (_under_chin(hole.shape, lm, 0.02) > 0) & hole
    lift_under_jaw_shade(out, frame, reference, hole, hole, distance_to(hole), lm, shade)
    # (at most to the frame's neck: 145 of 200 is about 16 L below the skin's; the band sat 50 levels, about 20 L, down)
    assert _mean_l(out, band) - _mean_l(before, band) < 6


def _shade_under_jaw(image: np.ndarray, lm: np.ndarray) -> np.ndarray:
    """The astronaut's photo darkened under her chin to 0.4 of its light."""
    band = cv2.GaussianBlur(_under_chin(image.shape[:2], lm, -0.01), (0, 0), 3.0)
    return np.clip(image.astype(np.float32) * (1.0 - 0.6 * band[..., None]), 0, 255).astype(np.uint8)


def _photo_shade(light=None) -> ReferenceShade | None:
    """What the warper reads on the astronaut's photo (relit by ``light``), as ``masked_face`` warps it."""
    photo, lm = astronaut()
    if light is not None:
        photo = light(photo, lm)
    return ReferenceWarper(photo, lm, WarpOptions(reach_skin_only=False)).reference_shade


def test_the_warper_reads_the_photos_shade_once_deep_where_it_is_darkened_under_the_jaw() -> None:
    plain, shaded = _photo_shade(), _photo_shade(_shade_under_jaw)
    assert plain is not None and shaded is not None
    # (her own photo: her suit's dark collar ring reaches the zone's lowest pixels; the band is far deeper)
    assert shaded.depth < 0.4 < 0.55 < plain.depth
    assert abs(shaded.chin - plain.chin) < 3.0  # (the chin's own light, above the band)


def test_the_composite_keeps_a_shaded_photos_shade_where_the_frame_below_the_mask_is_as_dark() -> None:
    """The astronaut's photo shaded under the chin, rebuilt through the composite with the shade the warper read on
    it: below her mask the frame shows her suit's black collar ring, no lit neck, so the shade is the frame's light
    too and the rebuild is as with the rule off (the rule runs: the photo's shade is deep enough)."""
    face, truth = masked_face(light=_shade_under_jaw)
    hole = _hole(face)
    cloth = face.image[face.mask > 0][0]
    shade = _photo_shade(_shade_under_jaw)
    assert shade is not None and shade.depth < UnderJawOptions().shade_from
    face = dataclasses.replace(face, mask=hole.astype(np.uint8) * 255, image=np.where(hole[..., None], cloth, truth),
                               reference_shade=shade)  # fmt: skip
    off = ReferenceComposite(CompositeOptions(under_jaw=UnderJawOptions(depth=-1.0))).reconstruct_one(face)
    on = ReferenceComposite(CompositeOptions()).reconstruct_one(face)
    assert np.array_equal(on, off)


def _lit_neck_scene():
    """The astronaut's photo shaded under the chin, masked, with the frame's neck below her mask lit as her skin (her
    cheek's colour in place of the suit's collar): the face (with the shade the warper reads on the photo) and its
    hole."""
    face, truth = masked_face(light=_shade_under_jaw)
    hole = _hole(face)
    cloth = face.image[face.mask > 0][0]
    lm = face.landmarks
    cheek = np.median(truth[hole & (_under_chin(hole.shape, lm, -0.3, -0.2) > 0)], axis=0)
    lit = np.where((_under_chin(hole.shape, lm, 0.0, 1.0) > 0)[..., None], cheek, truth).astype(np.uint8)
    face = dataclasses.replace(face, mask=hole.astype(np.uint8) * 255, image=np.where(hole[..., None], cloth, lit),
                               reference_shade=_photo_shade(_shade_under_jaw))  # fmt: skip
    return face, hole


def test_the_composite_lifts_the_photos_shade_where_the_frame_shows_a_lit_neck_below_the_mask() -> None:
    """Through the composite (``FaceROI.reference_shade``): the astronaut's photo shaded under the chin, the frame's
    neck below her mask lit as her skin: the rebuilt skin under the chin comes out lighter than with the rule off,
    and nothing changes above the chin or outside the hole and its blend band."""
    face, hole = _lit_neck_scene()
    lm = face.landmarks
    off = ReferenceComposite(CompositeOptions(under_jaw=UnderJawOptions(depth=-1.0))).reconstruct_one(face)
    on = ReferenceComposite(CompositeOptions()).reconstruct_one(face)
    band = hole & (_under_chin(hole.shape, lm, 0.02, 0.1) > 0)
    assert _mean_l(on, band) > _mean_l(off, band) + 3.0
    above = hole & ~(_under_chin(hole.shape, lm, -0.06, 1.0) > 0)
    assert np.array_equal(on[above], off[above])


def test_a_photo_without_a_shade_of_its_own_costs_nothing_and_changes_nothing() -> None:
    """A photo whose light under the jaw is nowhere as deep as ``shade_from`` of its chin's: the rule returns at
    once, whatever the frame (here the deep-band scene, which it lifts for a shaded photo)."""
    frame, out, reference, hole, lm, shade = _scene(ref_share=0.3, out_drop=50.0)
    before = out.copy()
    plain = dataclasses.replace(shade, depth=UnderJawOptions().shade_from)
    assert not lift_under_jaw_shade(out, frame, reference, hole, hole, distance_to(hole), lm, plain)
    assert not lift_under_jaw_shade(out, frame, reference, hole, hole, distance_to(hole), lm, None)
    assert np.array_equal(out, before)


def test_off_leaves_the_rebuild_as_before() -> None:
    face, _ = masked_face()
    face = dataclasses.replace(face, reference_shade=_photo_shade())
    off = dataclasses.replace(CompositeOptions(), under_jaw=UnderJawOptions(depth=-1.0))
    a = ReferenceComposite(off).reconstruct_one(face)
    b = ReferenceComposite(CompositeOptions()).reconstruct_one(face)
    # (the astronaut's own photo: no deep shade under her chin, nothing to lift)
    assert np.array_equal(a, b)


def _moved(image: np.ndarray, dx: int, dy: int) -> np.ndarray:
    return np.roll(image, (dy, dx), axis=(0, 1))


def test_a_lift_decided_on_a_measuring_frame_is_laid_again_where_the_face_moved_without_reading_the_frame() -> None:
    """The deep-band scene's lift decided on one frame (``ShadeTrack``, measuring), then laid on the next, where the
    face moved 2 px across and 1 down, as a frame that reuses the colour fields: within a few levels of deciding it
    there, nothing off the hole changed; the frame is not read (its neck below the mask now as dark as the band, which
    would keep the shade if read)."""
    frame, out, reference, hole, lm, shade = _scene(ref_share=0.3, out_drop=50.0)
    track = ShadeTrack()
    assert lift_under_jaw_shade(out, frame, reference, hole, hole, distance_to(hole), lm, shade, track=track)
    assert track.held is not None
    dark, _, _, _, _, _ = _scene(ref_share=0.3, out_drop=50.0, neck_level=145.0)
    _, out2, _, _, _, _ = _scene(ref_share=0.3, out_drop=50.0)
    frame2, out2, reference2, hole2 = (_moved(a, 2, 1) for a in (dark, out2, reference, hole))
    lm2 = lm + np.float32([2.0, 1.0])
    before = out2.copy()
    track.reuse = True
    assert lift_under_jaw_shade(out2, frame2, reference2, hole2, hole2, distance_to(hole2), lm2, shade, track=track)
    assert np.array_equal(out2[~hole2], before[~hole2])
    there = _moved(out, 2, 1)  # (decided on the first frame's lit neck, moved as the face)
    assert int(np.abs(out2[hole2].astype(int) - there[hole2]).max()) <= 3
    band = (_under_chin(hole2.shape, lm2, 0.02) > 0) & hole2
    assert _mean_l(out2, band) > _mean_l(before, band) + 10.0  # (lifted: the held change, not the dark neck's read)


def test_a_measuring_frame_that_lifts_nothing_holds_nothing_and_the_reusing_frames_are_left() -> None:
    """A frame whose neck below the mask is as dark decides no lift (nothing held); the next frame, reusing the
    fields, is left as it is even where its neck is lit (it is not read), and a new measure decides again."""
    dark, out, reference, hole, lm, shade = _scene(ref_share=0.3, out_drop=50.0, neck_level=90.0)
    track = ShadeTrack()
    assert not lift_under_jaw_shade(out, dark, reference, hole, hole, distance_to(hole), lm, shade, track=track)
    assert track.held is None
    frame, out, reference, hole, lm, shade = _scene(ref_share=0.3, out_drop=50.0)
    before = out.copy()
    track.reuse = True
    assert not lift_under_jaw_shade(out, frame, reference, hole, hole, distance_to(hole), lm, shade, track=track)
    assert np.array_equal(out, before)
    track.reuse = False
    assert lift_under_jaw_shade(out, frame, reference, hole, hole, distance_to(hole), lm, shade, track=track)
    assert track.held is not None and not np.array_equal(out, before)


def test_the_composite_lays_the_held_lift_on_the_frames_that_reuse_the_colour_fields(monkeypatch) -> None:
    """The lit-neck scene through one composite on three frames in a row (the face still: the second and third reuse
    the colour fields, ``field_refresh``): each rebuilt lighter under the chin than with the rule off, the reusing
    frames within a level or two of the measuring one."""
    face, hole = _lit_neck_scene()
    lm = face.landmarks
    options = dataclasses.replace(CompositeOptions(), carry_frames=1)
    assert options.field_refresh >= 3
    off = ReferenceComposite(dataclasses.replace(options, under_jaw=UnderJawOptions(depth=-1.0)))
    on = ReferenceComposite(options)
    band = hole & (_under_chin(hole.shape, lm, 0.02, 0.1) > 0)
    laid = []
    lay = under_jaw_shade._lay
    monkeypatch.setattr(under_jaw_shade, "_lay", lambda *a: laid.append(1) or lay(*a))
    frames = [(on.reconstruct_one(face), off.reconstruct_one(face)) for _ in range(3)]
    assert len(laid) == 2  # (the second and third frames laid the held lift)
    for lifted, plain in frames:
        assert _mean_l(lifted, band) > _mean_l(plain, band) + 3.0
    first = frames[0][0].astype(int)
    for lifted, _ in frames[1:]:
        assert np.abs(_mean_l(lifted, band) - _mean_l(frames[0][0], band)) < 1.0
        assert np.percentile(np.abs(lifted[band].astype(int) - first[band]), 99) <= 3


def test_a_large_photos_shade_is_read_at_a_reduced_size_as_at_its_full_size(monkeypatch) -> None:
    """A portrait whose face is far taller than ``READ_HEIGHT`` (the astronaut's shaded and plain photos at 5x) is
    read at a reduced size: the same depth and chin light as read at its full size, to a few hundredths."""
    from unmask_video import reference_shade as shade_module

    photo, lm = astronaut()
    for image in (photo, _shade_under_jaw(photo, lm)):
        big = cv2.resize(image, None, fx=5.0, fy=5.0, interpolation=cv2.INTER_CUBIC)
        big_lm = (lm.astype(np.float64) + 0.5) * 5.0 - 0.5
        assert face_axes(big_lm)[1] > 1.2 * shade_module.READ_HEIGHT
        skin = np.ones(big.shape[:2], bool)
        reduced = reference_shade(big, big_lm, skin)
        monkeypatch.setattr(shade_module, "READ_HEIGHT", 1e9)
        full = reference_shade(big, big_lm, skin)
        monkeypatch.undo()
        assert reduced is not None and full is not None
        assert abs(reduced.depth - full.depth) < 0.03
        assert abs(reduced.chin - full.chin) < 2.0
