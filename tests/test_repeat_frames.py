"""Repeated frames (a duplicated source frame): told apart from changed ones, given the repeated frame's output."""

from __future__ import annotations

import numpy as np

from tests.helpers import decode_frames
from unmask_video.io import read_image
from unmask_video.pipeline import FramePipeline, PipelineOptions
from unmask_video.reconstruct.factory import ReconstructorOptions, build_reconstructor
from unmask_video.repeat_frames import RepeatDetector, RepeatOptions


def _frame(seed: int = 0, size: tuple[int, int] = (96, 128)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = np.full((*size, 3), 120, np.uint8)
    image[20:60, 30:70] = rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)
    return image


def test_the_same_frame_with_coding_noise_repeats_and_a_moved_one_does_not():
    detector = RepeatDetector()
    key = _frame()
    assert not detector.repeats(key)  # the first frame is the key
    assert detector.repeats(key.copy())
    noise = np.random.default_rng(1).integers(-3, 4, key.shape)  # per-pixel noise: averages out over blocks
    assert detector.repeats(np.clip(key.astype(int) + noise, 0, 255).astype(np.uint8))
    moved = np.roll(key, 2, axis=1)  # a textured patch moved by 2 px
    assert not detector.repeats(moved)
    assert detector.repeats(moved.copy())  # ... and is the key now


def test_a_slow_drift_ends_the_repeats_once_it_adds_up():
    detector = RepeatDetector(RepeatOptions(tolerance=4.0))
    frame = _frame().astype(int)
    answers = []
    for step in range(6):  # a 1.5-level change per frame: each small against the frame before, not against the key
        answers.append(detector.repeats(np.clip(frame + int(1.5 * step), 0, 255).astype(np.uint8)))
    assert answers[:4] == [False, True, True, True]
    assert answers[4] is False  # 6 levels from the key: a new key


def test_nothing_to_repeat_another_size_or_disabled_is_never_a_repeat():
    frame = _frame()
    detector = RepeatDetector()
    detector.repeats(frame)
    assert not detector.repeats(frame, possible=False)
    assert not detector.repeats(np.pad(frame, ((0, 1), (0, 1), (0, 0))))  # another size (same block grid)
    off = RepeatDetector(RepeatOptions(enabled=False))
    assert not off.repeats(frame) and not off.repeats(frame)


def _pipeline(clip, repeats: bool = True) -> FramePipeline:
    options = PipelineOptions(repeats=RepeatOptions(enabled=repeats))
    return FramePipeline(read_image(clip.reference_path), build_reconstructor(ReconstructorOptions(generator="none")),
                         options)  # fmt: skip


def test_a_repeated_frame_gives_the_repeated_output_without_the_work(synthetic_clip):
    frames, _ = decode_frames(synthetic_clip.video_path)
    noisy = np.clip(frames[2].astype(int) + np.random.default_rng(0).integers(-2, 3, frames[2].shape), 0, 255)
    sequence = [frames[0], frames[1], frames[1].copy(), frames[2], noisy.astype(np.uint8), frames[3]]
    pipeline = _pipeline(synthetic_clip)
    outputs, boxes = [], []
    for i, image in enumerate(sequence):
        outputs.append(pipeline.process(image, i / 25))
        boxes.append(pipeline.last_changed[0])
    assert pipeline.stats.repeated_frames == 2 and pipeline.stats.faces == 4
    assert np.array_equal(outputs[2], outputs[1]) and boxes[2] == boxes[1]
    assert not np.array_equal(outputs[1], sequence[1])  # (the face was rebuilt)
    # The noisy repeat: the repeated frame's faces blended into it, its own pixels wherever they did not reach.
    assert boxes[4] == boxes[3] != []
    changed = np.zeros(sequence[4].shape[:2], bool)
    for x0, y0, x1, y1 in boxes[4]:
        changed[y0:y1, x0:x1] = True
    assert np.array_equal(outputs[4][~changed], sequence[4][~changed])
    face = np.abs(outputs[3].astype(int) - sequence[3]).max(axis=2) > 40  # (the rebuilt face: alpha near 1)
    assert face.sum() > 100 and np.abs(outputs[4].astype(int) - outputs[3])[face].max() <= 2  # (the noise: +-2)
    assert not np.array_equal(outputs[5], outputs[3])  # (the next frame moved: rebuilt)
    # The frames that were not repeats are as without the test.
    plain = _pipeline(synthetic_clip, repeats=False)
    expected = [plain.process(sequence[i], i / 25) for i in (0, 1, 3)]  # (the tracker never sees the repeats)
    assert plain.stats.repeated_frames == 0
    for got, want in zip([outputs[0], outputs[1], outputs[3]], expected):
        assert np.array_equal(got, want)


def test_repeats_in_a_batch_and_in_place_match_frame_by_frame(synthetic_clip):
    frames, _ = decode_frames(synthetic_clip.video_path)
    sequence = [frames[0], frames[0].copy(), frames[1], frames[1].copy(), frames[1].copy()]
    times = [i / 25 for i in range(len(sequence))]
    one = _pipeline(synthetic_clip)
    expected = [one.process(f, t) for f, t in zip(sequence, times)]
    batched = _pipeline(synthetic_clip)
    own = [f.copy() for f in sequence]
    got = batched.process_batch(own[:3], times[:3], in_place=True)
    got += batched.process_batch(own[3:], times[3:], in_place=True)
    assert batched.stats.repeated_frames == one.stats.repeated_frames == 3
    for out, frame, want in zip(got, own, expected):
        assert out is frame
        assert np.array_equal(out, want)
    assert batched.last_changed[-1] == batched.last_changed[-2] != []


def test_a_repeat_that_drifted_a_little_shows_no_edge_at_the_key_boxes(synthetic_clip):
    """A repeat within the test's tolerance (the light 4 levels brighter) gets the key's faces blended into it:
    where the key's blend did not reach, the repeat's own pixels (no box of the key's older light)."""
    frames, _ = decode_frames(synthetic_clip.video_path)
    key = frames[1]
    drifted = np.clip(key.astype(int) + 4, 0, 255).astype(np.uint8)
    pipeline = _pipeline(synthetic_clip)
    out_key = pipeline.process(key, 0.0)
    out_drift = pipeline.process(drifted, 0.04)
    assert pipeline.stats.repeated_frames == 1
    untouched = np.all(out_key == key, axis=2)  # (the key's blend left these as they were)
    x0, y0, x1, y1 = pipeline.last_changed[0][0]
    inside_box = np.zeros_like(untouched)
    inside_box[y0:y1, x0:x1] = True
    assert (untouched & inside_box).sum() > 1000
    # (the box's pixels the key left as they were: most lie past the blend's reach, where the repeat's own show;
    # a few the blend reached without changing them take up to the 4 levels' share of the key's face)
    near = np.abs(out_drift.astype(int) - drifted)[untouched & inside_box].max(axis=1)
    assert (near == 0).mean() > 0.9
    face = np.abs(out_key.astype(int) - key).max(axis=2) > 40
    assert face.sum() > 100 and np.abs(out_drift.astype(int) - out_key)[face].max() <= 2  # (alpha near 1)
