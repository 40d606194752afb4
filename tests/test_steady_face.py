"""The rebuilt face averaged over time per track: steadier on a still head, no trail of a change the camera saw."""

from __future__ import annotations

import numpy as np

from unmask_video.stages import Box, FaceROI
from unmask_video.steady_face import SteadyFace, SteadyOptions


def _roi(landmarks: np.ndarray, seen: np.ndarray, shift: float = 0.0, mask: np.ndarray | None = None) -> FaceROI:
    h, w = seen.shape[:2]
    masked = np.ones((h, w), np.float32) if mask is None else mask  # (the whole ROI masked unless told)
    moved = (landmarks + np.float32(shift)).astype(np.float32)
    return FaceROI(Box(0, 0, w, h), seen, moved, masked, seen, masked > 0)


def _noisy(base: np.ndarray, seed: int, sigma: float = 6.0) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(0.0, sigma, base.shape)
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def test_a_still_face_flickers_less_and_weight_zero_changes_nothing(reference_landmarks):
    seen = np.full((320, 320, 3), 128, np.uint8)
    steady, off = SteadyFace(), SteadyFace(SteadyOptions(weight=0.0))
    raw = [_noisy(seen, k) for k in range(12)]
    out = [steady(1, k, _roi(reference_landmarks, seen), image) for k, image in enumerate(raw)]
    assert all(off(1, k, _roi(reference_landmarks, seen), image) is image for k, image in enumerate(raw))

    def flicker(frames: list[np.ndarray]) -> float:
        return float(np.mean([np.abs(b.astype(float) - a).mean() for a, b in zip(frames[5:], frames[6:])]))

    assert flicker(out) < 0.5 * flicker(raw), (flicker(out), flicker(raw))
    assert np.array_equal(out[0], raw[0])  # (nothing to average on a track's first frame)


def test_what_the_camera_saw_change_is_taken_at_once(reference_landmarks):
    seen = np.full((320, 320, 3), 128, np.uint8)
    steady = SteadyFace()
    for k in range(5):
        steady(1, k, _roi(reference_landmarks, seen), seen)
    hand = seen.copy()
    hand[100:200, 100:200] = 230  # a hand passes: the frame and the rebuilt face change there
    out = steady(1, 5, _roi(reference_landmarks, hand), hand)
    assert np.array_equal(out[120:180, 120:180], hand[120:180, 120:180])
    gone = steady(1, 6, _roi(reference_landmarks, seen), seen)  # ... and is gone again: no trail
    assert np.array_equal(gone[120:180, 120:180], seen[120:180, 120:180])


def test_a_moving_head_or_a_new_track_is_not_averaged(reference_landmarks):
    seen = np.full((320, 320, 3), 128, np.uint8)
    steady = SteadyFace()
    first = _noisy(seen, 0)
    steady(1, 0, _roi(reference_landmarks, seen), first)
    fast = _noisy(seen, 1)  # the head moved 0.2 face widths in a frame: its past has (almost) no weight
    size = float(np.ptp(reference_landmarks[:, 0]))
    out = steady(1, 1, _roi(reference_landmarks, seen, 0.2 * size), fast)
    assert np.abs(out.astype(int) - fast).max() <= 1
    other = _noisy(seen, 2)
    assert steady(2, 2, _roi(reference_landmarks, seen), other) is other  # another track: its own past
    late = _noisy(seen, 3)
    assert steady(1, 9, _roi(reference_landmarks, seen), late) is late  # too long since: afresh


def test_only_the_mask_is_averaged(reference_landmarks):
    """Outside the mask the blend shows the frame: a past carried there (hair or a hand moving beside the face)
    would be a trail."""
    seen = np.full((320, 320, 3), 128, np.uint8)
    mask = np.zeros((320, 320), np.float32)
    mask[160:, :] = 1.0
    steady = SteadyFace()
    raw = [_noisy(seen, k) for k in range(6)]
    out = [steady(1, k, _roi(reference_landmarks, seen, mask=mask), image) for k, image in enumerate(raw)]
    assert np.array_equal(out[-1][:160], raw[-1][:160])
    assert np.abs(out[-1][200:].astype(float) - 128).mean() < 0.7 * np.abs(raw[-1][200:].astype(float) - 128).mean()


def test_the_past_is_mixed_in_only_where_it_was_rebuilt(reference_landmarks):
    """A strip the last frame's mask missed showed the frame there (a white mask's rim): this frame's mask, grown
    over it, takes none of that past (``past_mask``); with ``past_mask=False`` the white trails on."""
    seen = np.full((320, 320, 3), 128, np.uint8)
    small, full = np.ones((320, 320), np.float32), np.ones((320, 320), np.float32)
    small[:, 200:] = 0.0
    for options, trails in ((SteadyOptions(), False), (SteadyOptions(past_mask=False), True)):
        steady = SteadyFace(options)
        for k in range(4):
            steady(1, k, _roi(reference_landmarks, seen, mask=full), np.full((320, 320, 3), 128, np.uint8))
        last = np.full((320, 320, 3), 128, np.uint8)
        last[:, 200:] = 240  # (the frame itself beside the mask: the cloth's rim left showing)
        steady(1, 4, _roi(reference_landmarks, seen, mask=small), last)
        out = steady(1, 5, _roi(reference_landmarks, seen, mask=full), np.full((320, 320, 3), 128, np.uint8))
        assert (np.abs(out[:, 220:].astype(float) - 128).mean() > 20) == trails

def _texture(seed: int = 0) -> np.ndarray:
    import cv2

    noise = np.random.default_rng(seed).uniform(0, 255, (320, 320, 3)).astype(np.float32)
    return np.clip(cv2.GaussianBlur(noise, (0, 0), 3) * 4 - 384, 0, 255).astype(np.uint8)


def _moved(image: np.ndarray, d: int) -> np.ndarray:
    """``image`` moved by ``d`` pixels right and down (as ``_roi`` moves the landmarks)."""
    return np.roll(image, (d, d), axis=(0, 1))


def test_a_landmark_jump_the_frame_does_not_show_is_not_followed(reference_landmarks):
    """A still head whose landmarks (and so the warped face) jump by 2 px and stay there: the rebuilt face is held
    where the frame's own motion (none) puts it (within ``hold``: 0.03 of this 130 px face, 4 px); without the
    registration the output goes with the landmarks."""
    seen = _texture()
    mask = np.zeros((320, 320), np.float32)
    mask[160:, :] = 1.0  # (the face is seen above the mask)

    def run(options: SteadyOptions) -> list[np.ndarray]:
        steady = SteadyFace(options)
        outs = []
        for k in range(10):
            jump = 2 if k >= 4 else 0
            outs.append(steady(1, k, _roi(reference_landmarks, seen, float(jump), mask=mask), _moved(seen, jump)))
        return outs

    def off_by(image: np.ndarray) -> float:  # (from the frame, inside the mask)
        return float(np.abs(image[170:310, 20:300].astype(float) - seen[170:310, 20:300]).mean())

    held, followed = run(SteadyOptions(hold=0.03)), run(SteadyOptions(register=False))
    moved = off_by(_moved(seen, 2))
    assert all(off_by(image) < 0.15 * moved for image in held[4:]), [round(off_by(i), 2) for i in held]
    assert off_by(followed[-1]) > 0.5 * moved


def test_a_motion_the_frame_shows_is_followed(reference_landmarks):
    """The head moves by 2 px a frame (frame, landmarks and rebuilt face alike): the output goes with it."""
    base = _texture(1)
    mask = np.zeros((320, 320), np.float32)
    mask[160:, :] = 1.0
    steady = SteadyFace()
    for k in range(8):
        frame = _moved(base, 2 * k)
        out = steady(1, k, _roi(reference_landmarks, frame, float(2 * k), mask=mask), frame)
        inner = (slice(170, 310), slice(40, 280))
        assert np.abs(out[inner].astype(float) - frame[inner]).mean() < 3.0, k


def test_a_lost_tracks_past_is_dropped(reference_landmarks):
    """A track not rebuilt for longer than ``gap`` frames is forgotten when another is (no ROI kept for the rest of
    the run)."""
    seen = np.full((320, 320, 3), 128, np.uint8)
    steady = SteadyFace(SteadyOptions(gap=3))
    for track in range(5):
        steady(track, 0, _roi(reference_landmarks, seen), seen)
    assert len(steady._last) == 5
    steady(9, 4, _roi(reference_landmarks, seen), seen)
    assert set(steady._last) == {9}


def test_own_mixes_in_place_with_the_same_result_and_otherwise_the_input_is_left_as_it_is(reference_landmarks):
    """``own=True`` (the pipeline's rebuilt ROI, given away): the hold and the mix write into it, the same pixels as
    with copies; without it the caller's array is never changed. (The landmarks jump: the hold moves the face too.)"""
    seen = _texture(2)
    mask = np.zeros((320, 320), np.float32)
    mask[160:, :] = 1.0
    given, owned = SteadyFace(SteadyOptions(hold=0.03)), SteadyFace(SteadyOptions(hold=0.03))
    for k in range(8):
        jump = 2 if k >= 3 else 0
        roi = _roi(reference_landmarks, seen, float(jump), mask=mask)
        rebuilt = _noisy(_moved(seen, jump), k)
        before = rebuilt.copy()
        out = given(1, k, roi, rebuilt)
        assert np.array_equal(rebuilt, before)
        mine = rebuilt.copy()
        out_owned = owned(1, k, roi, mine, own=True)
        assert np.array_equal(out_owned, out)
        assert out_owned is mine  # (no copy)


def test_the_past_weight_measured_smaller_is_close_to_the_full_size_one_and_stays_on_the_mask(reference_landmarks):
    """``weight_shrink``: the past's weight measured on 2 x 2 cells and scaled back mixes as the full-size one does,
    within a few levels at the mask's edge, and still nothing beside the mask."""
    rng = np.random.default_rng(7)
    seen = np.clip(128 + 40 * np.sin(np.arange(320) / 9.0)[None, :, None] + rng.normal(0, 3, (320, 320, 3)), 0, 255)
    seen = seen.astype(np.uint8)
    mask = np.zeros((320, 320), np.float32)
    mask[150:300, 40:280] = 1.0
    mask[149, 40:280] = 0.5  # (a soft top edge)
    full, small = SteadyFace(SteadyOptions(weight_shrink=1)), SteadyFace(SteadyOptions(weight_shrink=2))
    for k in range(6):
        image = _noisy(seen, k)
        a = full(1, k, _roi(reference_landmarks, seen, 0.1 * k, mask=mask), image)
        b = small(1, k, _roi(reference_landmarks, seen, 0.1 * k, mask=mask), image)
        assert np.array_equal(a[:149], image[:149]) and np.array_equal(b[:149], image[:149])
        difference = np.abs(a.astype(int) - b)
        assert difference.max() <= 8 and difference[155:295, 45:275].mean() < 0.5, (k, difference.max())
