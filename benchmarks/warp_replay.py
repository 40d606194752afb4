"""The reference warp as the pipeline calls it, replayed: today's warp against a git revision's, in one run.

    python -m benchmarks.warp_replay [--data ../shared/data/videos] [--sizes 1080p] [--calls 60] [--rounds 5]
                                     [--baseline-rev REV]

Runs the real command path once on each clip and records every call of the reference warp (the frame's ROI, its
landmarks, its mask, the region and the face track): the real masked clip ``masked/woman_puts_on_kf94_720p.mp4``
with its frame 54 (no mask yet) as the reference, where ``--data`` holds it, and the speed benchmark's self-made
clips (``--sizes``: face 40 % of the width). Then ``--calls`` of those calls, evenly spread, are replayed in order
through a fresh warper of today's ``unmask_video/warp.py`` and of the module as it was at ``--baseline-rev`` (read
with ``git show``), taking turns call by call (which goes first alternating by round), ``--rounds`` times: process
CPU ms per call (one OpenCV thread; the mean over the calls, the median over the rounds), the median of the rounds' ratios, and the largest difference of the warped pixels and the number of
validity pixels that differ. A benchmark: it asserts nothing.
"""

from __future__ import annotations

import argparse
import inspect
import os
import statistics
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

os.environ.setdefault("GLOG_minloglevel", "2")

import av  # noqa: E402
import cv2  # noqa: E402
import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

import unmask_video.pipeline as pipeline_module  # noqa: E402
import unmask_video.warp as warp_module  # noqa: E402
from benchmarks.speed import SIZES, Clip, make_bench_clip  # noqa: E402
from benchmarks.warp_speed import WARP_BASELINE_REV, _warp_module_or_none  # noqa: E402
from unmask_video.reconstruct.factory import ReconstructorOptions  # noqa: E402
from unmask_video.runner import RunOptions, run_file  # noqa: E402

REAL_CLIP = "masked/woman_puts_on_kf94_720p.mp4"
REFERENCE_FRAME = 54


def _record(clip: Clip, out: Path) -> tuple[tuple[Any, ...], list[dict[str, Any]]]:
    """The warper's construction arguments and every warp call of one run of the command path on ``clip``."""
    made: list[tuple[Any, ...]] = []
    calls: list[dict[str, Any]] = []

    class Recording(warp_module.ReferenceWarper):
        def __init__(self, image: np.ndarray, landmarks: np.ndarray, options: warp_module.WarpOptions) -> None:
            made.append((np.array(image), np.array(landmarks), options))
            super().__init__(image, landmarks, options)

        def warp(self, landmarks, shape, region=None, track=None, image=None, mask=None, origin=None):  # type: ignore[no-untyped-def]
            calls.append(dict(landmarks=np.array(landmarks), shape=tuple(shape), region=region, track=track,
                              image=None if image is None else np.array(image),
                              mask=None if mask is None else np.array(mask), origin=origin))  # fmt: skip
            return super().warp(landmarks, shape, region, track, image, mask, origin)

    saved = pipeline_module.ReferenceWarper
    pipeline_module.ReferenceWarper = Recording  # type: ignore[misc]
    try:
        run_file(RunOptions(input=str(clip.video), output=str(out), reference=str(clip.reference),
                            reconstructor=ReconstructorOptions(), quiet=True, overwrite=True))  # fmt: skip
    finally:
        pipeline_module.ReferenceWarper = saved  # type: ignore[misc]
    return made[-1], calls


def _replay(
    modules: list[ModuleType], made: tuple[Any, ...], calls: list[dict[str, Any]], reverse: bool = False
) -> list[tuple[float, list]]:
    """For each of ``modules``, a fresh warper over ``calls`` (in order; the modules take turns call by call, so a
    change of load falls on all alike): its CPU ms per call (mean) and its outputs. ``reverse``: each call is run by
    the last module first (the one that runs second finds the call's pictures in the caches, a few per cent cheaper:
    the rounds alternate)."""
    image, landmarks, options = made
    warpers = [m.ReferenceWarper(image, landmarks, m.WarpOptions(**vars(options))) for m in modules]
    # (the ROI's origin, for the neck's lag, where the revision's warp takes it)
    takes_origin = ["origin" in inspect.signature(m.ReferenceWarper.warp).parameters for m in modules]
    seconds = [0.0 for _ in modules]
    outputs: list[list] = [[] for _ in modules]
    order = list(enumerate(warpers))[::-1] if reverse else list(enumerate(warpers))
    for c in calls:
        for i, warper in order:
            t0 = time.process_time()
            where = {"origin": c["origin"]} if takes_origin[i] else {}
            outputs[i].append(warper.warp(c["landmarks"], c["shape"], c["region"], c["track"], c["image"], c["mask"], **where))
            seconds[i] += time.process_time() - t0
    return [(s * 1000.0 / len(calls), out) for s, out in zip(seconds, outputs)]


def _reference_frame(video: Path, index: int, out: Path) -> Path:
    with av.open(str(video)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i == index:
                cv2.imwrite(str(out), cv2.cvtColor(frame.to_ndarray(format="rgb24"), cv2.COLOR_RGB2BGR))
                return out
    raise SystemExit(f"{video} has no frame {index}")


def replay_clips(data: Path, sizes: str, frames: int, tmp: Path, console: Console) -> dict[str, Clip]:
    """The clips a replay benchmark records from, by name: the real KF94 clip (with its frame
    :data:`REFERENCE_FRAME` as the reference) when ``data`` has it, and a self-made clip per name in ``sizes``
    (comma-separated keys of :data:`~benchmarks.speed.SIZES`, ``frames`` long), written under ``tmp``."""
    clips: dict[str, Clip] = {}
    real = data / REAL_CLIP
    if real.is_file():
        clips["KF94 720p (real)"] = Clip(real, _reference_frame(real, REFERENCE_FRAME, tmp / "reference.png"))
    else:
        console.print(f"{real} not found: the real clip is skipped (pass --data)")
    for name in filter(None, sizes.split(",")):
        clips[f"{name} (synthetic)"] = make_bench_clip(tmp / name, SIZES[name], frames)
    return clips


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data" / "videos")
    parser.add_argument("--sizes", default="1080p", help=f"self-made clips, of {', '.join(SIZES)} ('' for none)")
    parser.add_argument("--frames", type=int, default=48, help="frames of each self-made clip")
    parser.add_argument("--calls", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--baseline-rev", default=WARP_BASELINE_REV)
    args = parser.parse_args()
    console = Console(width=200)
    baseline = _warp_module_or_none(args.baseline_rev)
    tmp = Path(tempfile.mkdtemp(prefix="warp_replay_"))
    clips = replay_clips(args.data, args.sizes, args.frames, tmp, console)
    cv2.setNumThreads(1)
    table = Table(title=f"reference warp as the pipeline calls it, CPU ms per call (medians of {args.rounds} "
                        f"rounds, the two warps taking turns call by call, 1 OpenCV thread)")  # fmt: skip
    for col in ("clip", "calls (of)", f"@{args.baseline_rev}", "new", "new / baseline", "max |new - baseline|",
                "valid px differing (of)"):  # fmt: skip
        table.add_column(col, justify="right")
    for name, clip in clips.items():
        cv2.setNumThreads(cv2.getNumberOfCPUs())
        made, recorded = _record(clip, tmp / "out.mp4")
        cv2.setNumThreads(1)
        calls = recorded[:: max(1, len(recorded) // args.calls)][: args.calls]
        if not calls:
            console.print(f"{name}: the warp was never called (no mask found)")
            continue
        new_ms, old_ms = [], []
        for k in range(args.rounds):
            # (every other round the baseline warps each call first: the second to warp a call runs a few per cent
            # cheaper, its pictures in the caches)
            runs = _replay([warp_module] if baseline is None else [warp_module, baseline], made, calls, k % 2 == 1)
            (ms, new_out), *old = runs
            new_ms.append(ms)
            if old:
                ms, old_out = old[0]
                old_ms.append(ms)
        cells = ["-", f"{statistics.median(new_ms):.2f}", "-", "-", "-"]
        if baseline is not None:
            diff = max(int(np.abs(a[0].astype(np.int16) - b[0]).max()) for a, b in zip(old_out, new_out))
            differing = sum(int((a[1] != b[1]).sum()) for a, b in zip(old_out, new_out))
            total = sum(int(a[1].sum()) for a in old_out)
            ratio = statistics.median(n / o for n, o in zip(new_ms, old_ms))
            cells = [f"{statistics.median(old_ms):.2f}", cells[1], f"{ratio:.2f}", str(diff), f"{differing} ({total})"]
        table.add_row(name, f"{len(calls)} ({len(recorded)})", *cells)
    console.print(table)


if __name__ == "__main__":
    main()
