"""The stand-in's skin bands brought down to the frame's upper-face skin (:mod:`unmask_video.reconstruct.skin_grain`)."""

from __future__ import annotations

import cv2
import numpy as np

from tests.test_skin_detail import _freckled_stand_in, _lightness
from unmask_video.landmark_sets import EYES_AND_BROWS, FACE_OVAL, NUM_LANDMARKS
from unmask_video.reconstruct.color_match import match_color
from unmask_video.reconstruct.lab_pixels import channel_rows, to_lab
from unmask_video.reconstruct.skin_grain import (
    ANATOMY,
    MIN_GAIN,
    FrameGrain,
    band_amplitudes,
    damp_grain,
    frame_grain,
    grain_gains,
)


def _blotches(h: int, w: int, seed: int, size: float = 2.0, depth: float = 0.25) -> np.ndarray:
    """(h, w) float32 in [0, depth]: dark blotches about ``size`` pixels across, scattered."""
    rng = np.random.default_rng(seed)
    spots = np.zeros((h, w), np.float32)
    for y, x in rng.integers(0, max(h, w), (h * w // 60, 2)):
        cv2.circle(spots, (int(x), int(y)), int(rng.integers(1, 4)), 1.0, -1)
    return depth * np.clip(cv2.GaussianBlur(spots, (0, 0), size), 0.0, 1.0)


def _skin(h: int, w: int, seed: int, blotchy: bool) -> np.ndarray:
    """(h, w, 3) uint8 RGB skin, a little sensor noise, with or without dark blotches."""
    rng = np.random.default_rng(seed)
    skin = np.array([225, 185, 160], np.float32) + rng.normal(0.0, 1.0, (h, w, 1))
    if blotchy:
        skin *= 1.0 - _blotches(h, w, seed)[..., None]
    return np.clip(skin, 0, 255).astype(np.uint8)


def _lab_planes(rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    return np.ascontiguousarray(channel_rows(to_lab(rgb).reshape(-1, 3)).reshape(3, h, w))


def test_band_amplitudes_read_blotches_and_need_enough_skin() -> None:
    h, w = 80, 80
    everywhere = np.ones((h, w), bool)
    plain = band_amplitudes(_lab_planes(_skin(h, w, 1, False)), everywhere, 100.0)
    blotchy = band_amplitudes(_lab_planes(_skin(h, w, 1, True)), everywhere, 100.0)
    assert plain is not None and blotchy is not None and plain.shape == (2, 3) and plain.dtype == np.float32
    # (the blotches, a few pixels across on a face 100 px across, are in the middle band, and in the fine one too)
    assert blotchy[1, 0] > 4.0 * plain[1, 0], (plain, blotchy)
    assert blotchy[0, 0] > plain[0, 0]
    few = np.zeros((h, w), bool)
    few[:8, :8] = True
    assert band_amplitudes(_lab_planes(_skin(h, w, 1, True)), few, 100.0) is None


def test_the_same_skin_on_both_sides_is_left_alone_and_a_blotchier_one_is_scaled_down() -> None:
    h, w = 80, 80
    lab = _lab_planes(_skin(h, w, 2, True))
    skin = np.ones(h * w, bool)
    amplitudes = band_amplitudes(lab, skin.reshape(h, w), 100.0)
    assert amplitudes is not None
    rows = lab.reshape(3, -1)
    # The person's own skin: within what relief explains, nothing is done.
    assert grain_gains(FrameGrain(amplitudes, 100.0), rows, skin, (w, h)) is None
    # A frame far smoother than the photo: its lightness bands are scaled down, never below MIN_GAIN; the broad band
    # by the square root of the middle one's.
    smooth = FrameGrain(amplitudes / 8.0, 100.0)
    gains = grain_gains(smooth, rows, skin, (w, h))
    assert gains is not None and gains.shape == (3, 3)
    assert np.all(gains >= MIN_GAIN) and np.all(gains <= 1.0)
    assert gains[1, 0] < 0.5 and gains[0, 0] < 0.5, gains
    np.testing.assert_allclose(gains[2], np.sqrt(gains[1]), rtol=1e-6)
    # Just past what relief explains: scaled down a little.
    near = grain_gains(FrameGrain(amplitudes / (1.2 * ANATOMY[0]), 100.0), rows, skin, (w, h))
    assert near is not None and 0.6 < near[1, 0] < 1.0, near


def test_damp_grain_scales_the_blotches_where_weighted_and_keeps_the_smooth_light() -> None:
    h, w = 60, 80
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    light = 0.2 * xx - 0.1 * yy  # a slope of light: kept
    blotches = -40.0 * _blotches(h, w, 3)
    dev = np.stack([(light + blotches).reshape(-1), np.zeros(h * w, np.float32), np.zeros(h * w, np.float32)])
    dev = dev.astype(np.float32)
    before = dev.copy()
    weight = np.ones(h * w, np.float32)
    weight[: w * 15] = 0.0  # the top rows are the lips: left alone
    gains = np.ones((3, 3), np.float32)
    gains[:, 0] = (0.3, 0.3, 0.6)
    damp_grain(dev, np.ones(h * w, bool), weight, (w, h), 100.0, gains)
    np.testing.assert_array_equal(dev[1:], before[1:])
    np.testing.assert_array_equal(dev[0, : w * 15], before[0, : w * 15])
    inner = (slice(25, 50), slice(15, 65))
    was = (before[0].reshape(h, w) - light)[inner]
    now = (dev[0].reshape(h, w) - light)[inner]
    assert 0.2 < np.std(now) / np.std(was) < 0.6, np.std(now) / np.std(was)
    # The light's slope is left: the blotches' mean darkening is taken towards it, not the light itself.
    slope = np.polyfit(xx[inner].ravel(), dev[0].reshape(h, w)[inner].ravel(), 1)[0]
    assert abs(slope - 0.2) < 0.05, slope


def _face_landmarks(h: int, w: int) -> np.ndarray:
    """(468, 2): a synthetic face's landmarks: its oval an ellipse filling most of an (h, w) image, its eyes and brows
    small clusters in the upper half, every other point in the middle."""
    lm = np.tile(np.float32([w / 2, h * 0.6]), (NUM_LANDMARKS, 1))
    t = np.linspace(0.0, 2.0 * np.pi, len(FACE_OVAL), endpoint=False)
    lm[list(FACE_OVAL)] = np.stack([w / 2 + 0.4 * w * np.sin(t), h / 2 - 0.45 * h * np.cos(t)], axis=1)
    for k, outline in enumerate(EYES_AND_BROWS):
        x = w * (0.35 if k % 2 == 0 else 0.65)
        y = h * (0.4 if k < 2 else 0.33)
        s = np.linspace(-1.0, 1.0, len(outline))
        lm[list(outline)] = np.stack([x + 0.06 * w * s, y + 0.01 * h * np.sin(3 * s)], axis=1)
    return lm


def test_frame_grain_reads_the_upper_face_skin_not_the_mask_nor_the_eyes() -> None:
    h, w = 200, 180
    lm = _face_landmarks(h, w)
    mask = np.zeros((h, w), np.float32)
    mask[int(0.5 * h):] = 1.0
    plain = _skin(h, w, 4, False)
    blotchy = _skin(h, w, 4, True)
    # A grey mask, dark eyes and brows drawn on a plain face: they are not its skin's grain.
    drawn = plain.copy()
    drawn[mask > 0] = (200, 200, 205)
    for outline in EYES_AND_BROWS:
        cv2.fillConvexPoly(drawn, cv2.convexHull(np.round(lm[list(outline)]).astype(np.int32)), (60, 40, 30))
    even = frame_grain(drawn, lm, mask, 0.5)
    assert even is not None and abs(even.face - 0.5 * 0.9 * h) < 1.0
    mottled = frame_grain(np.where(mask[..., None] > 0, drawn, blotchy), lm, mask, 0.5)
    assert mottled is not None
    assert mottled.amplitudes[1, 0] > 3.0 * even.amplitudes[1, 0], (even.amplitudes, mottled.amplitudes)
    # No skin left to read (the mask over the whole face): None.
    assert frame_grain(drawn, lm, np.ones((h, w), np.float32), 0.5) is None


def _rebuilt(frame: np.ndarray, hole: np.ndarray, ring: np.ndarray, reference: np.ndarray,
             grain: FrameGrain | None) -> np.ndarray:  # fmt: skip
    return match_color(reference, frame, ring, hole, 0.35, False, hole, seam_sigma=0.05, light="skin",
                       grain=None if grain is None else (lambda k: grain))  # fmt: skip


def test_a_blotchy_stand_in_on_a_smooth_face_is_rebuilt_smoother_and_the_persons_own_photo_is_not_touched() -> None:
    frame, hole, ring, freckled, plain = _freckled_stand_in()
    inner = hole & (cv2.erode(hole.astype(np.uint8), np.ones((21, 21), np.uint8)) > 0)
    painted = _lightness(freckled) - _lightness(plain)

    def carried(grain: FrameGrain | None) -> float:
        diff = _lightness(_rebuilt(frame, hole, ring, freckled, grain)) - _lightness(_rebuilt(frame, hole, ring, plain,
                                                                                                grain))  # fmt: skip
        return float(np.std(diff[inner]) / np.std(painted[inner]))

    # The frame's upper face as even as the plain stand-in's skin, read at the working scale.
    h, w = frame.shape[:2]
    k = min(1.0, 96 / max(h, w))
    lab = _lab_planes(cv2.resize(plain, (round(w * k), round(h * k)), interpolation=cv2.INTER_AREA))
    even = band_amplitudes(lab, np.ones(lab.shape[1:], bool), 112.0 * k)
    assert even is not None
    without, with_grain = carried(None), carried(FrameGrain(even, 112.0 * k))
    assert with_grain < 0.6 * without, (without, with_grain)
    # The frame's upper face as freckled as the photo (the person's own photo): the same pixels as without.
    own = band_amplitudes(_lab_planes(cv2.resize(freckled, lab.shape[:0:-1], interpolation=cv2.INTER_AREA)),
                          np.ones(lab.shape[1:], bool), 112.0 * k)  # fmt: skip
    assert own is not None
    np.testing.assert_array_equal(_rebuilt(frame, hole, ring, freckled, FrameGrain(own, 112.0 * k)),
                                  _rebuilt(frame, hole, ring, freckled, None))  # fmt: skip


def test_the_grain_measured_on_one_frame_holds_on_the_frames_between() -> None:
    from unmask_video.reconstruct.light_fields import Anchor, LightTrack

    frame, hole, ring, freckled, plain = _freckled_stand_in()
    h, w = frame.shape[:2]
    k = min(1.0, 96 / max(h, w))
    lab = _lab_planes(cv2.resize(plain, (round(w * k), round(h * k)), interpolation=cv2.INTER_AREA))
    amplitudes = band_amplitudes(lab, np.ones(lab.shape[1:], bool), 112.0 * k)
    assert amplitudes is not None
    even = FrameGrain(amplitudes, 112.0 * k)
    anchor = Anchor(np.float32([80.0, 85.0]), 112.0)

    def rebuilt(track: LightTrack) -> np.ndarray:
        return match_color(freckled, frame, ring, hole, 0.35, False, hole, seam_sigma=0.05, light="skin", track=track,
                           grain=lambda s: even)  # fmt: skip

    first = LightTrack(anchor)
    measured = rebuilt(first)
    fields = first.measured
    assert fields is not None and fields.grain is not None and fields.grain[0][1, 0] < 0.9
    again = LightTrack(anchor, reuse=fields, tolerance=0.1)
    reused = rebuilt(again)
    assert again.reused
    assert np.abs(reused.astype(np.int16) - measured).max() <= 1


def test_the_frame_grain_is_read_on_one_ask_in_grain_refresh_and_held_between_at_the_face_size_now() -> None:
    from unmask_video.reconstruct.composite import CompositeOptions
    from unmask_video.reconstruct.face_averages import FaceAverages

    averages = FaceAverages(CompositeOptions(grain_refresh=3))
    reads: list[float] = []
    size = [100.0]

    def read(k: float) -> FrameGrain:
        reads.append(k)
        return FrameGrain(np.full((2, 3), float(len(reads)), np.float32), size[0] * k)

    centre = np.array([200.0, 150.0], np.float32)
    got = []
    for frame in range(7):
        # (the face moves a little and grows; the working scale changes)
        located, size[0] = (np.zeros((1, 2), np.float32), centre + frame, 100.0 + frame), 100.0 + frame
        got.append(averages.grain(located, read, 100.0 + frame)(0.5))
    assert len(reads) == 3  # the 1st, 4th and 7th asks
    assert [float(g.amplitudes[0, 0]) for g in got] == [1, 1, 1, 2, 2, 2, 3]
    assert [g.face for g in got] == [50.0 + 0.5 * f for f in range(7)]
    # another face far away is read on its own; a read that found too little skin holds None
    other = averages.grain((np.zeros((1, 2), np.float32), centre + 500.0, 100.0), lambda k: None, 100.0)
    assert other(0.5) is None
    assert averages.grain((np.zeros((1, 2), np.float32), centre + 500.0, 100.0), read, 100.0)(0.5) is None
    assert len(reads) == 3
    # every ask reads at 1
    every = FaceAverages(CompositeOptions(grain_refresh=1))
    for _ in range(3):
        every.grain((np.zeros((1, 2), np.float32), centre, 100.0), read, 100.0)(0.5)
    assert len(reads) == 6
