"""Video I/O cost: VideoReader/VideoWriter against a bare PyAV decode/encode loop, same clip, same run.

    python benchmarks/video_io.py [VIDEO ...]      (default: the shared talking-head and masked clips)

Prints milliseconds per frame for decode (to RGB) and encode (libx264 veryfast crf 18), and the ratio of
the project's reader/writer to the bare loop (1.00 = no overhead); then the one-off costs of the writer: opening
(encoder, option and container checks, header) and committing (flush, close, no-replace publish) against a bare
``av.open`` + ``add_stream`` and a bare flush + close + ``os.replace``. Skips when ../shared is absent.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import av

from unmask_video.io import EncodeOptions, VideoReader, VideoWriter

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "videos"
DEFAULT = ["talking/lp_d10.mp4", "masked/woman_puts_on_kf94_720p.mp4"]
MAX_FRAMES = 120


def bare(path: Path, out: Path) -> tuple[float, float, int, float, float]:
    """Plain PyAV: decode to RGB, encode every frame again (no audio, no timestamps kept)."""
    dec = enc = 0.0
    n = 0
    tmp = out.with_name("." + out.name + ".partial.mp4")
    with av.open(str(path)) as src:
        t = time.perf_counter()
        dst = av.open(str(tmp), "w")
        vin = src.streams.video[0]
        vin.codec_context.thread_type = "AUTO"
        vout = dst.add_stream("libx264", rate=vin.average_rate or 25)
        vout.width, vout.height, vout.pix_fmt = vin.width // 2 * 2, vin.height // 2 * 2, "yuv420p"
        vout.codec_context.options = {"crf": "18", "preset": "veryfast"}
        opening = time.perf_counter() - t
        frames = src.decode(vin)
        while n < MAX_FRAMES:
            t = time.perf_counter()
            frame = next(frames, None)
            if frame is None:
                break
            image = frame.to_ndarray(format="rgb24")
            dec += time.perf_counter() - t
            t = time.perf_counter()
            dst.mux(vout.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
            enc += time.perf_counter() - t
            n += 1
        t = time.perf_counter()
        dst.mux(vout.encode())
        dst.close()
        os.replace(tmp, out)
        committing = time.perf_counter() - t
    return dec, enc, n, opening, committing


def project(path: Path, out: Path) -> tuple[float, float, int, float, float]:
    dec = enc = 0.0
    n = 0
    out.unlink(missing_ok=True)
    with VideoReader(str(path)) as reader:
        t = time.perf_counter()
        writer = VideoWriter(out, reader.description(), EncodeOptions())
        opening = time.perf_counter() - t
        frames = reader.frames(on_packet=writer.mux_packet)
        while n < MAX_FRAMES:
            t = time.perf_counter()
            frame = next(frames, None)
            dec += time.perf_counter() - t
            if frame is None:
                break
            t = time.perf_counter()
            writer.write(frame, frame.image)
            enc += time.perf_counter() - t
            n += 1
        t = time.perf_counter()
        writer.commit()
        committing = time.perf_counter() - t
    return dec, enc, n, opening, committing


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or [DATA / name for name in DEFAULT]
    missing = [p for p in paths if not p.exists()]
    if missing:
        print(f"skipped: {missing[0]} not found (the benchmark needs ../shared/data or a video argument)")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        for path in paths:
            project(path, Path(tmp) / "warmup.mp4")  # warm-up: codec init, page cache
            b_dec, b_enc, n, b_open, b_commit = bare(path, Path(tmp) / "bare.mp4")
            p_dec, p_enc, m, p_open, p_commit = project(path, Path(tmp) / "project.mp4")
            with av.open(str(path)) as c:
                size = f"{c.streams.video[0].width}x{c.streams.video[0].height}"
            print(f"{path.name} ({size}, {n} frames)")
            print(f"  decode  bare {1000 * b_dec / n:6.2f} ms/frame   VideoReader {1000 * p_dec / m:6.2f} ms/frame"
                  f"   ratio {p_dec / m / (b_dec / n):.2f}")
            print(f"  encode  bare {1000 * b_enc / n:6.2f} ms/frame   VideoWriter {1000 * p_enc / m:6.2f} ms/frame"
                  f"   ratio {p_enc / m / (b_enc / n):.2f}")
            print(f"  open    bare {1000 * b_open:6.2f} ms         VideoWriter {1000 * p_open:6.2f} ms"
                  f"         (checks + header; ratio {p_open / max(b_open, 1e-9):.1f})")
            print(f"  commit  bare {1000 * b_commit:6.2f} ms         VideoWriter {1000 * p_commit:6.2f} ms"
                  f"         (flush + close + publish; ratio {p_commit / max(b_commit, 1e-9):.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
