"""The per-frame pipeline on self-made clips: what it changes, what it leaves alone, and how well."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.helpers import decode_frames
from unmask_video.reconstruct.composite import CompositeOptions
from unmask_video.landmarks import FaceTracker, TrackerOptions, face_box
from unmask_video.metrics import iou, psnr_in_mask
from unmask_video.pipeline import FramePipeline, PipelineOptions
from unmask_video.reconstruct.factory import ReconstructorOptions, build_reconstructor
from unmask_video.segment import MaskSegmenter, SegmentOptions
from unmask_video.synthetic import ClipSpec, MaskStyle
from unmask_video.io import read_image


def _pipeline(clip, **kwargs) -> FramePipeline:
    reference = read_image(clip.reference_path)
    reconstructor = build_reconstructor(ReconstructorOptions(generator="none"))
    return FramePipeline(reference, reconstructor, PipelineOptions(**kwargs))


def test_pixels_away_from_the_mask_are_untouched(synthetic_clip):
    frames, _ = decode_frames(synthetic_clip.video_path)
    pipeline = _pipeline(synthetic_clip)
    changed_any = False
    for index, frame in enumerate(frames[:8]):
        before = frame.copy()
        out = pipeline.process(frame, index / 25)
        assert np.array_equal(frame, before), "the pipeline modified its input frame"
        grown = cv2.dilate((synthetic_clip.masks[index] > 0).astype(np.uint8), np.ones((41, 41), np.uint8)) > 0
        assert np.array_equal(out[~grown], frame[~grown]), "pixels far from the mask changed"
        changed_any |= not np.array_equal(out[grown], frame[grown])
    assert changed_any
    assert pipeline.stats.frames == 8 and pipeline.stats.frames_with_face == 8


def test_reconstruction_is_closer_to_the_truth_than_the_masked_input(synthetic_clip):
    frames, _ = decode_frames(synthetic_clip.video_path)
    pipeline = _pipeline(synthetic_clip)
    before, after = [], []
    for index, frame in enumerate(frames[:12]):
        out = pipeline.process(frame, index / 25)
        truth, mask = synthetic_clip.truth[index], synthetic_clip.masks[index]
        before.append(psnr_in_mask(frame, truth, mask))
        after.append(psnr_in_mask(out, truth, mask))
    assert np.mean(after) > np.mean(before) + 3.0, (np.mean(before), np.mean(after))


def test_frames_without_a_face_pass_through_and_are_counted(synthetic_clip):
    frames, _ = decode_frames(synthetic_clip.video_path)
    pipeline = _pipeline(synthetic_clip)
    blank = np.full_like(frames[0], 90)
    sequence = [frames[0], blank, frames[1], blank.copy()]
    outputs = [pipeline.process(image, i / 25) for i, image in enumerate(sequence)]
    assert outputs[1] is sequence[1] or np.array_equal(outputs[1], sequence[1])
    assert np.array_equal(outputs[3], sequence[3])
    assert pipeline.stats.frames_without_face == 2
    assert pipeline.stats.frames_with_face == 2


def test_batched_processing_matches_frame_by_frame(synthetic_clip):
    frames, _ = decode_frames(synthetic_clip.video_path)
    frames = frames[:6]
    times = [i / 25 for i in range(len(frames))]
    one_by_one = _pipeline(synthetic_clip)
    expected = [one_by_one.process(f, t) for f, t in zip(frames, times)]
    batched = _pipeline(synthetic_clip)
    got = batched.process_batch(frames[:3], times[:3]) + batched.process_batch(frames[3:], times[3:])
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        assert np.array_equal(a, b)


def test_in_place_processing_gives_the_same_frames_without_copies(synthetic_clip):
    frames, _ = decode_frames(synthetic_clip.video_path)
    frames = frames[:4]
    times = [i / 25 for i in range(len(frames))]
    copied = _pipeline(synthetic_clip)
    expected = [copied.process(f, t) for f, t in zip(frames, times)]
    own = [f.copy() for f in frames]
    in_place = _pipeline(synthetic_clip)
    got = [in_place.process_batch([f], [t], in_place=True)[0] for f, t in zip(own, times)]
    for frame, out, want in zip(own, got, expected):
        assert out is frame  # blended into the frame itself
        assert np.array_equal(out, want)
    assert not all(np.array_equal(a, b) for a, b in zip(frames, own))


@pytest.mark.parametrize(
    "style",
    [
        MaskStyle(color=(245, 245, 245), pleats=3),
        MaskStyle(color=(200, 225, 235), pleats=3),
        MaskStyle(color=(30, 30, 35), pleats=2),
        MaskStyle(color=(220, 120, 140), pleats=3, pattern="stripes"),
    ],
    ids=["white", "blue", "black", "patterned"],
)
def test_mask_segmentation_on_decoded_video_reaches_iou_085(synthetic_clip_factory, style):
    clip = synthetic_clip_factory(ClipSpec(frames=12, style=style, audio_hz=None))
    frames, _ = decode_frames(clip.video_path)
    tracker = FaceTracker(TrackerOptions())
    segmenter = MaskSegmenter(SegmentOptions())
    scores = []
    for index, frame in enumerate(frames):
        faces = tracker.track(frame, index / 25)
        assert faces, f"no face found in frame {index}"
        box = face_box(faces[0], frame.shape[:2], 0.25)
        roi_landmarks = faces[0] - np.array([box.x0, box.y0], np.float32)
        mask = np.zeros(frame.shape[:2], np.float32)
        mask[box.slices] = segmenter.segment(frame[box.slices], roi_landmarks, 0)
        scores.append(iou(mask, clip.masks[index]))
    tracker.close()
    assert np.mean(scores) >= 0.85, scores


def test_numpy_blas_runs_on_one_thread_while_a_pipeline_is_open(synthetic_clip):
    from threadpoolctl import threadpool_info, threadpool_limits

    def blas_threads() -> list[int]:
        return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]

    if not blas_threads():
        pytest.skip("numpy is built without a BLAS that threadpoolctl can see")
    with threadpool_limits(limits=2, user_api="blas"):  # (the machine may have one core: say 2 ourselves)
        before = blas_threads()
        if 2 not in before:
            pytest.skip("no BLAS here that runs on several threads")
        pipeline = _pipeline(synthetic_clip)
        try:
            assert set(blas_threads()) == {1}
        finally:
            pipeline.close()
        assert blas_threads() == before


def test_the_warper_is_set_up_on_a_thread_of_its_own_and_its_error_raised_where_it_is_used(synthetic_clip, monkeypatch):
    import threading

    from unmask_video import pipeline as pipeline_module
    from unmask_video.errors import InputError

    built_on: list[str] = []

    def rejects(*args, **kwargs):
        built_on.append(threading.current_thread().name)
        raise InputError("the reference face is too small")

    monkeypatch.setattr(pipeline_module, "ReferenceWarper", rejects)
    pipeline = _pipeline(synthetic_clip)  # (no error yet: the set-up runs beside the first frames)
    try:
        with pytest.raises(InputError, match="too small"):
            pipeline.warper
        with pytest.raises(InputError, match="too small"):
            pipeline.check_reference()
        assert built_on == ["unmask-video-reference"]
    finally:
        pipeline.close()  # (raises nothing)
