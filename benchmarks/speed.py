"""Speed of the pipeline: per-stage milliseconds and end-to-end fps, on the CPU.

    python -m benchmarks.speed [--frames 60] [--sizes 480p,720p,1080p] [--generators none,fast]

Runs the real command path (PyAV decode -> landmarks -> mask -> warp -> reconstruction -> blend -> PyAV encode) on
self-made clips at each size: the reference composite (--generator none) with the mask-cluster reuse on (the
baseline) and off, then each generator asked for (e.g. fast, with its weights installed), all as ratios to the
baseline measured in this run. This is a benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from unmask_video.native_log import filter_native_stderr  # noqa: E402
from unmask_video.pipeline import PipelineOptions  # noqa: E402
from unmask_video.reconstruct.factory import ReconstructorOptions  # noqa: E402
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
    parser.add_argument("--generators", default="none", help="comma-separated, e.g. none,fast (none is the baseline)")
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--encode-queue", type=int, default=3, help="frames queued for the encoder thread (0: no thread)")
    args = parser.parse_args()
    filter_native_stderr()
    console = Console(width=200)
    table = Table(title=f"unmask-video pipeline speed ({os.cpu_count()} cores)")
    for column in ("size", "generator", "reuse"):
        table.add_column(column)
    for stage in STAGE_ORDER:
        table.add_column(f"{stage} ms", justify="right")
    table.add_column("fps", justify="right")
    table.add_column("fps / baseline", justify="right")
    generators = [g for g in args.generators.split(",") if g != "none"]
    runs = [("none", True), ("none", False), *[(g, True) for g in generators]]
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.sizes.split(","):
            clip = make_clip(Path(tmp) / name, ClipSpec(frames=args.frames, size=SIZES[name], audio_hz=None))
            for generator in {g for g, _ in runs}:  # warm-up: first FaceMesh graph, ONNX export cache, allocators
                _run(clip, Path(tmp) / "warm.mp4", True, generator, args.backend, args.batch, args.encode_queue)
            results = [
                (generator, reuse, _run(clip, Path(tmp) / f"{name}.mp4", reuse, generator, args.backend, args.batch,
                                        args.encode_queue))
                for generator, reuse in runs
            ]
            baseline = results[0][2].fps
            for generator, reuse, summary in results:
                cells = [f"{summary.timer.ms_per(stage, summary.frames):.1f}" for stage in STAGE_ORDER]
                label = generator if generator == "none" else f"{generator} ({summary.backend})"
                table.add_row(name, label, "on" if reuse else "off", *cells, f"{summary.fps:.1f}",
                              f"{summary.fps / baseline:.2f}x")
    console.print(table)
    console.print(
        "fps = frames / wall time of the whole run (decode, all stages, encode). Baseline: generator none with "
        "mask-cluster reuse on, same size, same run. 'encode' runs on its own thread; 'encode wait' is what the "
        "frame loop lost to it."
    )

if __name__ == "__main__":
    main()
