"""Two runs in one process give what each gives alone: nothing carried from the first changes the second.

`unmask-video demo` run twice in one Python process scored 25.47 then 25.63 dB: the pipeline's output was the same
for the same input, but the demo's own masked clip was not. libx264's macroblock tree reads memory it never wrote on
its B-frame path, so the same frames encoded with the preset's B-frames came out of whatever the heap held (the first
clip of a process alike every time only because fresh heap pages are zeros). The writer leaves the tree out whenever
x264 may use B-frames (:func:`unmask_video.io.writer.encoder_options`), so the synthetic clips are encoded without it.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from tests.helpers import decode_frames
from unmask_video.demo import run_demo
from unmask_video.io.writer import EncodeOptions, encoder_options
from unmask_video.pipeline import PipelineOptions
from unmask_video.reconstruct.factory import ReconstructorOptions
from unmask_video.synthetic import ClipSpec, make_clip


def _same_frames(a: Path, b: Path) -> list[int]:
    """The indices of the frames that differ between two videos of as many frames."""
    first, _ = decode_frames(a)
    second, _ = decode_frames(b)
    assert len(first) == len(second)
    return [i for i, (x, y) in enumerate(zip(first, second)) if not np.array_equal(x, y)]


def test_a_synthetic_clip_encodes_to_the_same_frames_each_time(tmp_path: Path) -> None:
    # (the preset's B-frames stay: the clips the tests decode keep frames to reorder)
    spec = ClipSpec(frames=40, size=(256, 256))
    clips = [make_clip(tmp_path / f"run{k}", spec) for k in range(3)]
    for clip in clips[1:]:
        assert _same_frames(clips[0].video_path, clip.video_path) == []
    with av.open(str(clips[0].video_path)) as container:
        types = {int(frame.pict_type) for frame in container.decode(video=0)}
    assert 3 in types, types  # (3: B)


def test_the_demo_twice_in_one_process_gives_the_same_output(tmp_path: Path) -> None:
    options = (PipelineOptions(), ReconstructorOptions(generator="none"))
    for k in range(2):
        assert run_demo(tmp_path / f"demo{k}", 60, *options, quiet=True) == 0
    # (the masked clip it makes, then its output)
    for name in (*(p.name for p in (tmp_path / "demo0").glob("clip_*.mp4")), "demo_unmasked.mp4"):
        assert _same_frames(tmp_path / "demo0" / name, tmp_path / "demo1" / name) == [], name


def test_the_writer_leaves_out_the_macroblock_tree_only_where_b_frames_may_come() -> None:
    x264 = av.Codec("libx264", "w")
    assert encoder_options(x264, EncodeOptions(preset="veryfast", bframes=None))["mbtree"] == "0"
    assert encoder_options(x264, EncodeOptions(preset="veryfast", bframes=2))["mbtree"] == "0"
    assert "mbtree" not in encoder_options(x264, EncodeOptions(preset="veryfast", bframes=0))
    # (a user who asks for the tree gets it)
    asked = EncodeOptions(preset="veryfast", bframes=None, extra={"mbtree": "1"})
    assert encoder_options(x264, asked)["mbtree"] == "1"
