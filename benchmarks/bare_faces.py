"""Bare faces pass through: the pipeline on real clips where nobody wears a mask, output against input.

    python -m benchmarks.bare_faces [--frames 150] [--data ../shared/data/videos]

Runs the file pipeline's stages (FramePipeline, default options, the reference composite) over the first
``--frames`` frames of every clip in videos/talking and videos/small_faces, and over the first 120 frames of
videos/masked/woman_puts_on_kf94_720p.mp4 before she puts the mask on, in two rows: frames 0-49 (she holds the
mask up in front of her face: not worn, but covering it) and 50-119 (bare; the mask in her hand beside her face,
then the cut to the product shot); the reference is a late frame of the same clip (KF94: frame 54, clean). Per clip: frames whose output differs from
the input in any pixel, the frames the pipeline counted as masked, and the lowest whole-frame PSNR (inf: every
frame unchanged). The aim (issue 10): no bare frame changed, whole-frame PSNR >= 45 dB. Skips with a message
when the data folder is absent. A benchmark: it asserts nothing.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")

import av  # noqa: E402
import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from unmask_video.metrics import psnr  # noqa: E402
from unmask_video.pipeline import FramePipeline  # noqa: E402
from unmask_video.reconstruct.factory import ReconstructorOptions, build_reconstructor  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "videos"
KF94 = "masked/woman_puts_on_kf94_720p.mp4"
KF94_STRETCHES = ((0, 50), (50, 120))  # no mask worn: held up in front of the face, then bare
KF94_REFERENCE = 54  # bare, the mask and its loops away from the face


@dataclass
class BareResult:
    clip: str
    frames: int
    changed: int
    masked: int
    worst_psnr: float
    seconds: float


def read_frames(path: Path, start: int, end: int) -> list[np.ndarray]:
    frames = []
    with av.open(str(path)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index >= end:
                break
            if index >= start:
                frames.append(frame.to_ndarray(format="rgb24"))
    return frames


def run_clip(path: Path, start: int, end: int, reference: np.ndarray, name: str) -> BareResult:
    frames = read_frames(path, start, end)
    pipeline = FramePipeline(reference, build_reconstructor(ReconstructorOptions(generator="none")))
    changed, worst = 0, math.inf
    t = time.perf_counter()
    try:
        for index, frame in enumerate(frames):
            out = pipeline.process(frame, index / 25)
            if not np.array_equal(out, frame):
                changed += 1
                worst = min(worst, psnr(out, frame))
    finally:
        pipeline.close()
    return BareResult(name, len(frames), changed, pipeline.stats.frames_with_mask, worst, time.perf_counter() - t)


def late_frame(path: Path) -> np.ndarray:
    """A frame near the end of the clip (the reference: it is not among the frames processed)."""
    with av.open(str(path)) as container:
        count = container.streams.video[0].frames or 300
    return read_frames(path, max(0, count - 5), count - 4)[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bare_faces", description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=150, help="frames per bare clip (from the start)")
    parser.add_argument("--data", type=Path, default=DATA, help="the shared videos folder")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"skipped: no data folder {args.data} (pass --data)")
        return 0
    if not (args.data / "talking").is_dir() and (args.data / "videos").is_dir():
        args.data = args.data / "videos"  # the shared data folder given instead of its videos folder
    jobs = [(p, 0, args.frames) for folder in ("talking", "small_faces") for p in sorted((args.data / folder).glob("*.mp4"))]
    kf94 = args.data / KF94
    if kf94.exists():
        jobs += [(kf94, start, end) for start, end in KF94_STRETCHES]
    if not jobs:
        print(f"no clips: {args.data} has no talking/, small_faces/ or {KF94} (pass --data ../shared/data/videos)")
        return 2
    console = Console()
    table = Table(title="bare faces: output against input")
    for column in ("clip", "frames", "frames changed", "counted as masked", "worst whole-frame PSNR dB", "s"):
        table.add_column(column, justify="left" if column == "clip" else "right")
    total = changed = 0
    for path, start, end in jobs:
        reference = read_frames(kf94, KF94_REFERENCE, KF94_REFERENCE + 1)[0] if path == kf94 else late_frame(path)
        name = f"{path.stem}@{start}-{end}"
        result = run_clip(path, start, end, reference, name)
        total, changed = total + result.frames, changed + result.changed
        worst = "inf" if math.isinf(result.worst_psnr) else f"{result.worst_psnr:.1f}"
        table.add_row(name, str(result.frames), str(result.changed), str(result.masked), worst, f"{result.seconds:.0f}")
        console.print(f"{name}: {result.changed} of {result.frames} frames changed")
    table.add_row("all", str(total), str(changed), "", "", "")
    console.print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
