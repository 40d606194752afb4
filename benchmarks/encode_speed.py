"""Encoder cost and quality: libx264 presets, tunes, thread counts and crf, as ratios to the old default.

    python -m benchmarks.encode_speed [--clips talking/lp_s32.mp4,masked/man_grey_mask_1080p.mp4] [--frames 60]
                                      [--data ../shared/data]

For each clip (real video under ../shared/data/videos; skipped with a message when absent), the first
``--frames`` frames are decoded and converted to yuv420p once, then encoded with each setting into memory. Prints
per setting: the CPU time of the whole process per frame (every x264 thread counted: what the encoder takes
from the other stages on a 2-core machine), the wall time per frame, the PSNR of the encoded frames against the
frames given to the encoder (Y, U and V planes together: the encoder's own loss, nothing else) and the bitrate,
each as a ratio to the first setting (superfast crf 21, 2 threads, the preset's 3 B-frames: the default before
helper iofast; today's, ``EncodeOptions()``, is the same without B-frames). The settings are interleaved
over ``--repeat`` rounds and the medians kept, so the load of a shared machine hits them alike.

Every encode gets the frames as the writer gives them: no picture type (a decoded frame carries the decoder's
I/P/B type, and libx264 obeys a frame's type: before this was reset, the first setting was encoded with the source's
frame types and each later one with those its predecessor chose) and the encoder's time base (the decoded frames'
own time base made the first encode's frames 1/12800 s apart). Figures printed before that fix (iofast) are wrong.
"""

from __future__ import annotations

import argparse
import io
import resource
import statistics
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from unmask_video.metrics import psnr as psnr_db

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SETTINGS = [  # (preset, tune, threads, crf, x264-params); threads 0 = x264's own choice
    ("superfast", None, 2, 21, ""),  # the default before iofast
    ("veryfast", None, 0, 18, ""),  # the default before issue 14
    ("superfast", None, 0, 21, ""),
    ("superfast", None, 1, 21, ""),
    ("superfast", None, 2, 21, "bframes=0"),  # today's default (EncodeOptions: bframes 0)
    ("superfast", None, 1, 21, "bframes=0"),
    ("superfast", None, 2, 20, "bframes=0"),
    ("ultrafast", None, 2, 19, ""),
    ("ultrafast", None, 2, 20, ""),
    ("ultrafast", None, 1, 19, ""),
    ("veryfast", "zerolatency", 0, 18, ""),
]


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def load(path: Path, frames: int) -> tuple[list[av.VideoFrame], float]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rate = float(stream.average_rate or 25)
        out = []
        for frame in container.decode(video=0):
            out.append(frame.reformat(format="yuv420p"))
            if len(out) >= frames:
                break
    return out, rate


def encode(
    frames: list[av.VideoFrame], rate: float, preset: str, tune: str | None, threads: int, crf: int, params: str = ""
):
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=round(rate))
        stream.width, stream.height, stream.pix_fmt = frames[0].width, frames[0].height, "yuv420p"
        stream.codec_context.thread_count = threads
        stream.codec_context.options = {"crf": str(crf), "preset": preset, **({"tune": tune} if tune else {}),
                                        **({"x264-params": params} if params else {})}  # fmt: skip
        time_base = Fraction(1, round(rate))
        wall, cpu = time.perf_counter(), _cpu_s()
        for i, frame in enumerate(frames):
            frame.pts, frame.time_base = i, time_base
            frame.pict_type = 0  # AV_PICTURE_TYPE_NONE: x264 chooses (see the module docstring)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
        wall, cpu = time.perf_counter() - wall, _cpu_s() - cpu
    data = buffer.getvalue()
    with av.open(io.BytesIO(data)) as container:
        decoded = [f.to_ndarray() for f in container.decode(video=0)]
    psnr = psnr_db(np.stack(decoded), np.stack([s.to_ndarray() for s in frames[: len(decoded)]]))
    n = len(frames)
    return 1000 * cpu / n, 1000 * wall / n, psnr, len(data) * 8 * rate / n / 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", default="talking/lp_s32.mp4,masked/man_grey_mask_1080p.mp4")
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--data", type=Path, default=DATA, help="the shared data folder (default ../shared/data)")
    args = parser.parse_args()
    for name in args.clips.split(","):
        path = args.data / "videos" / name
        if not path.exists():
            print(f"skipped {name}: {path} is absent (the benchmark needs ../shared/data or --data)")
            continue
        frames, rate = load(path, args.frames)
        results: dict[tuple, list[tuple[float, float, float, float]]] = {s: [] for s in SETTINGS}
        for _ in range(args.repeat):
            for setting in SETTINGS:
                results[setting].append(encode(frames, rate, *setting))
        print(f"{name}: {frames[0].width}x{frames[0].height}, {len(frames)} frames, libx264")
        print(f"  {'preset':<10} {'tune':<12} {'threads':>7} {'crf':>4} {'x264-params':<12} {'CPU ms/f':>9} {'x':>5} {'wall ms/f':>9} "
              f"{'PSNR dB':>8} {'d dB':>6} {'kbit/s':>8} {'x':>5}")  # fmt: skip
        base = [statistics.median(v) for v in zip(*results[SETTINGS[0]])]
        for setting, runs in results.items():
            cpu, wall, psnr, kbps = (statistics.median(v) for v in zip(*runs))
            preset, tune, threads, crf, params = setting
            print(f"  {preset:<10} {tune or '-':<12} {threads or 'auto':>7} {crf:>4} {params or '-':<12} {cpu:9.1f} {cpu / base[0]:5.2f} "
                  f"{wall:9.1f} {psnr:8.2f} {psnr - base[2]:+6.2f} {kbps:8.0f} {kbps / base[3]:5.2f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
