"""Live mode's pipeline options (:func:`unmask_video.live.pipeline_options_for_live`): what differs from a file run,
and the live segmenter's masks on the astronaut photo with drawn masks."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.test_segment import STYLES, iou, roi
from unmask_video.errors import InputError
from unmask_video.live import LiveOptions, pipeline_options_for_live
from unmask_video.pipeline import PipelineOptions
from unmask_video.segment import MaskSegmenter, SegmentOptions
from unmask_video.synthetic import draw_surgical_mask


def test_live_options_turn_repeats_off_and_shrink_the_segmenters_window() -> None:
    file_run = PipelineOptions()
    live = pipeline_options_for_live(file_run, LiveOptions())
    assert not live.repeats.enabled
    assert live.segment.work_size == LiveOptions().segment_work_size < SegmentOptions().work_size
    # the file run's options are left as they were
    assert file_run.repeats.enabled and file_run.segment.work_size == SegmentOptions().work_size
    # every other segmenter option is the file run's
    assert {**vars(live.segment), "work_size": 0} == {**vars(file_run.segment), "work_size": 0}


def test_live_options_can_keep_the_file_runs_segmenter() -> None:
    live = pipeline_options_for_live(PipelineOptions(), LiveOptions(segment_work_size=None))
    assert live.segment.work_size == SegmentOptions().work_size and not live.repeats.enabled


def test_live_segmenter_working_size_is_checked() -> None:
    with pytest.raises(InputError):
        pipeline_options_for_live(PipelineOptions(), LiveOptions(segment_work_size=16))


@pytest.mark.parametrize("name", list(STYLES))
def test_live_segmenter_finds_the_drawn_masks(astronaut, astronaut_landmarks, name) -> None:
    """At live mode's working size the drawn masks are found as well as the file runs' gate asks (IoU 0.85 with
    the truth), and close to the file runs' masks. The photo scaled 2.5x: the astronaut's face (a 156 px ROI) is
    smaller than either working size, and a 720p camera's face is about this size."""
    scale = 2.5
    big = cv2.resize(astronaut, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    landmarks = ((astronaut_landmarks + 0.5) * scale - 0.5).astype(np.float32)
    masked, truth = draw_surgical_mask(big, landmarks, STYLES[name])
    img, tru, lm = roi(masked, truth, landmarks)
    live = pipeline_options_for_live(PipelineOptions(), LiveOptions()).segment
    mask = MaskSegmenter(live).segment(img, lm)
    file_mask = MaskSegmenter(SegmentOptions()).segment(img, lm)
    assert mask.shape == img.shape[:2] and mask.dtype == np.float32
    assert not np.array_equal(mask, file_mask)  # (the working size applies: the window is larger than both)
    assert iou(mask, tru) >= 0.85, f"{name}: IoU {iou(mask, tru):.3f}"
    assert iou(mask, file_mask) >= 0.9, f"{name}: IoU with the file run's mask {iou(mask, file_mask):.3f}"
