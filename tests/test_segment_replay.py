"""benchmarks.segment_replay: the segmenter's calls recorded in order (resets too), saved and loaded as they were,
replayed through each module's segmenter with the outputs compared."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.segment_replay import _recording, load, replay, save
from unmask_video import segment
from unmask_video.synthetic import LIGHT_BLUE, MaskStyle, astronaut_landmarks, draw_surgical_mask


def _calls() -> list[tuple[np.ndarray, np.ndarray]]:
    image, lm = astronaut_landmarks()
    masked, _ = draw_surgical_mask(image, lm, MaskStyle(LIGHT_BLUE))
    shifted = np.roll(masked, 2, axis=1)  # (a second frame: the face moved by 2 px)
    return [(masked, lm), (shifted, lm + np.float32([2, 0])), (masked, lm)]


def test_the_pipelines_calls_are_recorded_in_order_and_saved_as_they_were(tmp_path: Path) -> None:
    events: list = []
    with _recording(events):
        seg = segment.MaskSegmenter(segment.SegmentOptions())
        probe = segment.MaskSegmenter(segment.SegmentOptions(reuse=False))  # (not the pipeline's: not recorded)
        (a, lm_a), (b, lm_b), (c, lm_c) = _calls()
        first = seg.segment(a, lm_a, 3)
        probe.segment(a, lm_a)
        seg.segment(b, lm_b, 3)
        seg.reset(3)
        seg.segment(c, lm_c, 3)
    assert segment.MaskSegmenter.segment.__name__ == "segment"  # (the class as it was after the block)
    assert [e[0] for e in events] == ["segment", "segment", "reset", "segment"]
    assert events[0][3] == 3 and np.array_equal(events[0][4], first) and first.any()
    save(tmp_path / "calls.npz", events)
    loaded = load(tmp_path / "calls.npz")
    assert [e[0] for e in loaded] == [e[0] for e in events]
    for e, f in zip(events, loaded):
        if e[0] == "segment":
            assert all(np.array_equal(x, y) for x, y in zip(e[1:3] + e[4:], f[1:3] + f[4:])) and e[3] == f[3]
        else:
            assert e[1] == f[1]


def test_the_replay_times_each_module_and_finds_the_recorded_outputs() -> None:
    events: list = []
    with _recording(events):
        seg = segment.MaskSegmenter(segment.SegmentOptions())
        for image, lm in _calls():
            seg.segment(image, lm)
    (a, b), same, differ = replay(events, [segment, segment], rounds=2)
    assert a > 0 and b > 0
    assert same == [3, 3] and differ == 0
