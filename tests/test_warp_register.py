"""The warped reference registered onto the frame's face above the mask (FaceMesh's landmarks above a mask lie high)."""

from __future__ import annotations

import cv2
import numpy as np

from tests.test_warp import astronaut, lower_face_and_neck, psnr
from unmask_video import landmark_sets
from unmask_video import warp as warp_module
from unmask_video.warp import ReferenceWarper, WarpOptions
from unmask_video.warp_register import residual_shift


def _scene() -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """The astronaut at twice her size (a 200 px face), her landmarks, a worn mask's region, her face height."""
    small, lm = astronaut()
    image = cv2.resize(small, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC)
    lm = (lm * 2.0).astype(np.float32)
    mask = lower_face_and_neck(image.shape[:2], lm)
    top, chin = (lm[i] for i in landmark_sets.FACE_HEIGHT)
    return np.ascontiguousarray(image), lm, mask, float(np.hypot(*(chin - top)))


def test_residual_shift_reads_how_far_down_the_warped_reference_must_move() -> None:
    image, _, mask, height = _scene()
    valid = np.ones(image.shape[:2], bool)
    for dy in (0, 3):
        warped = np.roll(image, -dy, axis=0)  # the reference lying dy pixels too high
        shift = residual_shift(image, warped, valid, mask, height)
        assert shift is not None and abs(shift[0]) < 1e-9 and abs(shift[1] - dy) < 0.75, (dy, shift)
    # Nothing visible above the mask: no measure.
    assert residual_shift(image, image, np.zeros_like(valid), mask, height) is None


def test_residual_shift_gives_no_measure_where_the_minimum_is_shallow() -> None:
    # A band whose gradients match in no shift (here: the warped reference is another picture) has a flat cost.
    image, _, mask, height = _scene()
    valid = np.ones(image.shape[:2], bool)
    warped = np.roll(image, -2, axis=0)
    deep = residual_shift(image, warped, valid, mask, height, min_depth=0.1)
    assert deep is not None and abs(deep[1] - 2) < 0.75
    noise = cv2.GaussianBlur(np.random.default_rng(3).integers(0, 255, image.shape, dtype=np.uint8), (0, 0), 3.0)
    assert residual_shift(image, noise, valid, mask, height) is not None  # (a minimum inside the range, by chance)
    assert residual_shift(image, noise, valid, mask, height, min_depth=0.1) is None


def test_landmarks_placed_high_over_a_mask_are_registered_down_from_a_tracks_first_frame() -> None:
    # The frame is the reference photo itself, its landmarks read 3 px too high (as FaceMesh reads them over a mask):
    # the track's first frame is measured before its warp, so already its warp lies on the face, and it stays there.
    image, lm, mask, _ = _scene()
    high = lm - np.float32([0.0, 3.0])
    band = (mask == 0) & (np.arange(image.shape[0])[:, None] > lm[landmark_sets.NOSE_BRIDGE, 1])
    plain = ReferenceWarper(image, lm, WarpOptions(frame_min_cutoff=0.0, register=0.0))
    warped, valid, _ = plain.warp(high, image.shape[:2], track=0, image=image, mask=mask)
    assert not plain._registration.offsets  # 0: off
    before = psnr(warped, image, band & valid)
    warper = ReferenceWarper(image, lm, WarpOptions(frame_min_cutoff=0.0))
    offsets = []
    for _ in range(6):
        warped, valid, _ = warper.warp(high, image.shape[:2], track=0, image=image, mask=mask)
        offsets.append(warper._registration.offsets[0].copy())
        assert psnr(warped, image, band & valid) > before + 3.0
    assert offsets[0][0] == 0.0 and 2.0 < offsets[0][1] <= 3.5, offsets[0]
    assert all(np.array_equal(o, offsets[0]) for o in offsets), offsets  # held: no wander by a fraction of a pixel
    # Never up: landmarks read low are left as they are.
    low = ReferenceWarper(image, lm, WarpOptions(frame_min_cutoff=0.0))
    for _ in range(4):
        low.warp(lm + np.float32([0.0, 3.0]), image.shape[:2], track=0, image=image, mask=mask)
    assert low._registration.offsets.get(0, np.zeros(2))[1] == 0.0
    warper.reset(0)
    assert 0 not in warper._registration.offsets and 0 not in warper._registration.seen


def test_a_track_is_measured_every_frame_at_first_then_every_few(monkeypatch) -> None:
    image, lm, mask, _ = _scene()
    calls: list[int] = []

    def counted(*args, **kwargs):
        calls.append(1)
        return residual_shift(*args, **kwargs)

    monkeypatch.setattr(warp_module, "residual_shift", counted)
    options = WarpOptions(frame_min_cutoff=0.0, register_every=3)
    warper = ReferenceWarper(image, lm, options)
    high = lm - np.float32([0.0, 3.0])
    per_frame = []
    for _ in range(20):
        before = len(calls)
        warper.warp(high, image.shape[:2], track=0, image=image, mask=mask)
        per_frame.append(len(calls) - before)
    first = warper._registration.samples()
    assert first == 8 and per_frame[:first] == [1] * first  # (25 frames' median: 8 measures, the first 8 frames)
    assert sum(per_frame[first:]) == len(range(first, 20, 3))
    warper.reset(0)  # a new track is measured at once again
    before = len(calls)
    warper.warp(high, image.shape[:2], track=0, image=image, mask=mask)
    assert len(calls) == before + 1


def test_a_measured_frame_is_warped_as_one_with_its_translation_held(monkeypatch) -> None:
    # The band the measure reads is warped in the same map as the box the caller reads: the frame's warp is the same,
    # whether the measure moved the translation (the box warped again) or not (the shared map's box), as a warp that
    # measures nothing with that translation held.
    image, lm, mask, _ = _scene()
    high = lm - np.float32([0.0, 3.0])
    options = WarpOptions(register_every=1)
    measured = ReferenceWarper(image, lm, options)
    held = ReferenceWarper(image, lm, options)
    monkeypatch.setattr(held._registration, "due", lambda track: False)
    region = (0, int(lm[:, 1].mean()), image.shape[1], image.shape[0])  # (below the band's top: the map is grown)
    for frame in range(4):
        shifted = high + np.float32([frame * 0.7, frame * 0.4])
        warped, valid, _ = measured.warp(shifted, image.shape[:2], region, track=0, image=image, mask=mask, origin=(0, 0))
        held._registration.offsets = {0: measured._registration.offsets[0].copy()}
        want, want_valid, _ = held.warp(shifted, image.shape[:2], region, track=0, image=image, mask=mask, origin=(0, 0))
        assert np.count_nonzero(valid != want_valid) <= 0.001 * np.count_nonzero(want_valid)
        both = valid & want_valid
        assert np.abs(warped[both].astype(np.int16) - want[both]).max() <= 1


def test_the_grey_of_the_first_rows_is_that_of_the_whole_picture() -> None:
    """``_gray`` with ``rows`` reads only the picture's rows those need: the same values, bit for bit, as the first rows
    of the whole picture's grey, at the working sizes the registration uses and at awkward ones."""
    from unmask_video.warp_register import _gray

    rng = np.random.default_rng(5)
    for t in range(400):
        h, w = (int(v) for v in rng.integers(10, 500, 2))
        k = [rng.uniform(0.2, 1.0), 240.0 / rng.uniform(240, 1200), rng.uniform(0.95, 1.0), 0.5][t % 4]
        size = (max(int(round(w * k)), 1), max(int(round(h * k)), 1))
        picture = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        rows = int(rng.integers(1, size[1] + 1))
        whole = cv2.resize(cv2.cvtColor(picture, cv2.COLOR_RGB2GRAY), size, interpolation=cv2.INTER_AREA)
        np.testing.assert_array_equal(_gray(picture, size, rows), whole[:rows].astype(np.float32))
