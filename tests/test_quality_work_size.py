"""The quality benchmark's faces at a working size (``PipelineOptions.work_face_px``): --work-true sends the true-mask
rows' faces through it, and the masks it reads back (IoU, where the warp covered) are the full-size faces'."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import quality
from benchmarks.drawn_masks import draw_frame, mask_plan
from benchmarks.quality import Clip, run_ours
from unmask_video.face_units import face_size_px
from unmask_video.synthetic import astronaut_landmarks


def _clip(frames: int = 4) -> Clip:
    image, landmarks = astronaut_landmarks()
    spec = mask_plan(0, 40)
    spec = spec.__class__(**{**spec.__dict__, "hand": None})
    drawn = [draw_frame(image, landmarks, spec, t) for t in range(frames)]
    truth = [d.truth for d in drawn]
    masked = [image] + [d.masked for d in drawn[1:]]
    masks = [np.zeros(image.shape[:2], np.float32)] + [d.mask for d in drawn[1:]]
    return Clip("astronaut", spec, truth, masked, masks, [landmarks] * frames, [d.front for d in drawn])


@pytest.fixture
def small_cap(monkeypatch: pytest.MonkeyPatch) -> float:
    """A working size well below the astronaut's face."""
    _, landmarks = astronaut_landmarks()
    cap = round(0.6 * face_size_px(landmarks))
    monkeypatch.setitem(quality.PIPELINE_OVERRIDES, "work_face_px", float(cap))
    return cap


def test_work_true_sends_the_true_mask_rows_through_the_working_size(small_cap, monkeypatch) -> None:
    clip = _clip()
    monkeypatch.setattr(quality, "WORK_TRUE", [False])
    full, _, _ = run_ours(clip, "none", true_mask=True)
    monkeypatch.setattr(quality, "WORK_TRUE", [True])
    covered: list[np.ndarray] = []
    work, _, _ = run_ours(clip, "none", true_mask=True, valids=covered)
    region = clip.masks[2] > 0.5
    # the same face rebuilt, at the working size: close, not the same pixels
    assert not np.array_equal(full[2], work[2])
    error = np.abs(full[2].astype(np.float32) - work[2])[region].mean()
    assert 0.0 < error < 12.0
    # where the warp covered is read back at full size, over the full-size mask
    assert covered[2].shape == region.shape and covered[2][region].mean() > 0.5


def test_the_segmenter_rows_iou_of_a_face_at_a_working_size_is_its_full_size_masks(small_cap) -> None:
    clip = _clip()
    _, ious, _ = run_ours(clip, "none", true_mask=False)
    # (the shrunk mask pasted at the shrunk box's place scored about 0.5 here)
    assert min(ious) > 0.85
