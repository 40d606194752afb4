"""The decoder's YUV -> RGB conversion keeps its intermediates between frames: each frame's result is its own."""

from __future__ import annotations

import av
import numpy as np

from unmask_video.io.color import FrameToRGB


def _frame(width: int, height: int, seed: int) -> av.VideoFrame:
    rng = np.random.default_rng(seed)
    rgb = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    return av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")


def test_one_converter_gives_each_frame_what_a_fresh_one_gives() -> None:
    shared = FrameToRGB()
    frames = [_frame(64, 48, 0), _frame(64, 48, 1), _frame(90, 60, 2), _frame(64, 48, 3)]  # (a size change too)
    outputs = [shared(frame) for frame in frames]
    for frame, output in zip(frames, outputs):  # (read after all were converted: none was overwritten)
        assert np.array_equal(output, FrameToRGB()(frame))
    assert len({id(output) for output in outputs}) == len(outputs)
    assert not np.array_equal(outputs[0], outputs[1])
