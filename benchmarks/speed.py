"""Speed of the CPU pipeline (no neural generator): per-stage milliseconds and end-to-end fps.

    python -m benchmarks.speed [--frames 60] [--sizes 480p,720p,1080p] [--generator none]

Runs the real command path (PyAV decode -> landmarks -> mask -> warp -> reconstruction -> blend -> PyAV encode) on
self-made clips at each size, once with the mask-cluster reuse on and once with it off, and prints both with their
ratio, all measured in this run. This is a benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from unmask_video.pipeline import PipelineOptions  # noqa: E402
from unmask_video.reconstructors import ReconstructorOptions  # noqa: E402
from unmask_video.runner import RunOptions, RunSummary, run_file  # noqa: E402
from unmask_video.summary import STAGE_ORDER  # noqa: E402
from unmask_video.synthetic import ClipSpec, make_clip  # noqa: E402

SIZES = {"480p": (854, 480), "720p": (1280, 720), "1080p": (1920, 1080)}


def _run(clip, out: Path, reuse: bool, generator: str, backend: str, batch: int, encode_queue: int) -> RunSummary:
    options = PipelineOptions()
    options.segment.reuse = reuse
    return run_file(
        RunOptions(
            input=str(clip.video_path),
            output=str(out),
            reference=str(clip.reference_path),
            pipeline=options,
            reconstructor=ReconstructorOptions(generator=generator, backend=backend),
            batch=batch,
            encode_queue=encode_queue,
            quiet=True,
            overwrite=True,
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--sizes", default="480p,720p,1080p")
    parser.add_argument("--generator", default="none")
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--encode-queue", type=int, default=3, help="frames queued for the encoder thread (0: no thread)")
    args = parser.parse_args()
    console = Console(width=200)
    table = Table(title=f"unmask-video pipeline speed ({os.cpu_count()} cores, generator {args.generator})")
    table.add_column("size")
    table.add_column("reuse")
    stages = (*STAGE_ORDER, "encode wait")  # encode runs on its own thread; "wait" is what the frame loop lost to it
    for stage in stages:
        table.add_column(f"{stage} ms", justify="right")
    table.add_column("fps", justify="right")
    table.add_column("fps ratio on/off", justify="right")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.sizes.split(","):
            size = SIZES[name]
            clip = make_clip(Path(tmp) / name, ClipSpec(frames=args.frames, size=size, audio_hz=None))
            _run(clip, Path(tmp) / "warm.mp4", True, args.generator, args.backend, args.batch, args.encode_queue)  # warm-up
            results = {}
            for reuse in (True, False):
                results[reuse] = _run(
                    clip, Path(tmp) / f"{name}.mp4", reuse, args.generator, args.backend, args.batch, args.encode_queue
                )
            for reuse in (True, False):
                summary = results[reuse]
                cells = [f"{summary.timer.ms_per(stage, summary.frames):.1f}" for stage in stages]
                ratio = results[True].fps / results[False].fps if reuse else 1.0
                table.add_row(name, "on" if reuse else "off", *cells, f"{summary.fps:.1f}", f"{ratio:.2f}x")
    console.print(table)
    console.print("fps = frames / wall time of the whole run (decode, all stages, encode); ratio against reuse off.")


if __name__ == "__main__":
    main()
