"""A stand-in live source for the live-mode tests and benchmark: plays frames at real-time pace.

Run as a subprocess::

    python tests/live_producer.py OUT [--format mpegts] [--fps 25] [--frames 100] [--size 320x240] [--clip FILE]

OUT is a named pipe (os.mkfifo; opening it blocks until the reader opens it) or a URL such as
``udp://127.0.0.1:PORT``. Each frame is muxed as MPEG-TS (H.264, zero-latency) when its wall-clock time
comes, like a camera or a network camera would deliver it. Without ``--clip`` every frame carries its own
index, drawn as a row of black/white blocks that :func:`read_index` decodes again after compression.
With ``--clip`` the frames of that video are played (from ``--start``, looped, cropped and resized to ``--size``).
"""

from __future__ import annotations

import argparse
import sys
import time
from fractions import Fraction
from typing import Iterator

import numpy as np

INDEX_BITS = 12
BLOCK = 16  # pixels per index block: survives H.264 at default quality


def draw_index(image: np.ndarray, index: int) -> None:
    """Write ``index`` into the top-left row of blocks of ``image`` (in place): white = 1, black = 0."""
    for bit in range(INDEX_BITS):
        value = 255 if (index >> bit) & 1 else 0
        image[0:BLOCK, bit * BLOCK : (bit + 1) * BLOCK] = value


def read_index(image: np.ndarray) -> int:
    """Read back the index written by :func:`draw_index`, from a decoded (possibly compressed) frame."""
    index = 0
    half = BLOCK // 2
    for bit in range(INDEX_BITS):
        patch = image[half - 2 : half + 2, bit * BLOCK + half - 2 : bit * BLOCK + half + 2]
        if float(patch.mean()) > 127.5:
            index |= 1 << bit
    return index


def synthetic_frames(width: int, height: int, count: int) -> Iterator[np.ndarray]:
    """Moving gradient frames with their index drawn in."""
    ys, xs = np.mgrid[0:height, 0:width]
    for i in range(count):
        frame = np.empty((height, width, 3), np.uint8)
        frame[..., 0] = (xs + 3 * i) % 256
        frame[..., 1] = (ys + 2 * i) % 256
        frame[..., 2] = 128
        draw_index(frame, i)
        yield frame


def clip_frames(
    path: str, width: int, height: int, count: int, start_s: float = 0.0, loop: int = 50
) -> list[np.ndarray]:
    """``count`` frames of a video file from ``start_s`` on, cropped to the aspect of ``width`` x ``height`` and
    resized; the first ``loop`` frames are decoded once (before playing starts) and played in a loop."""
    import av
    import cv2

    frames: list[np.ndarray] = []
    with av.open(path) as container:
        for frame in container.decode(video=0):
            if frame.time is not None and frame.time < start_s:
                continue
            image = frame.to_ndarray(format="rgb24")
            h, w = image.shape[:2]
            crop_w, crop_h = min(w, round(h * width / height)), min(h, round(w * height / width))
            x0, y0 = (w - crop_w) // 2, (h - crop_h) // 2
            image = image[y0 : y0 + crop_h, x0 : x0 + crop_w]
            frames.append(cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA))
            if len(frames) >= min(count, loop):
                break
    if not frames:
        raise SystemExit(f"no frames in {path} after {start_s} s")
    return [frames[i % len(frames)] for i in range(count)]


def play(
    out: str, fmt: str, fps: float, frames: Iterator[np.ndarray], width: int, height: int, gop: int | None = None
) -> int:
    import av

    if out.startswith("udp://") and "pkt_size" not in out:
        out += ("&" if "?" in out else "?") + "pkt_size=1316"
    # Every packet goes out as soon as it is muxed, as a camera would send it.
    container = av.open(out, "w", format=fmt, options={"flush_packets": "1", "max_delay": "0"})
    stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1000))
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    # Zero latency: no B-frames and no look-ahead, so each frame leaves the encoder at once; a key frame
    # every half second (unless ``gop`` says otherwise) lets a reader that joins late start decoding quickly.
    gop = gop or max(1, int(fps // 2))
    stream.options = {"preset": "ultrafast", "tune": "zerolatency", "g": str(gop), "keyint_min": str(gop)}
    sent = 0
    start = time.perf_counter()
    try:
        for i, image in enumerate(frames):
            due = start + i / fps
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
            sent += 1
        for packet in stream.encode():
            container.mux(packet)
    except (BrokenPipeError, OSError):
        pass  # the reader went away: a live source does not care
    finally:
        try:
            container.close()
        except (BrokenPipeError, OSError):
            pass
    return sent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--format", default="mpegts")
    parser.add_argument("--fps", type=float, default=25.0)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--size", default="320x240")
    parser.add_argument("--clip", default=None)
    parser.add_argument("--start", type=float, default=0.0, help="with --clip: play from this time on (s)")
    parser.add_argument("--gop", type=int, default=None, help="frames between key frames (default: half a second)")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.split("x"))
    if args.clip:
        frames = iter(clip_frames(args.clip, width, height, args.frames, args.start))
    else:
        frames = synthetic_frames(width, height, args.frames)
    play(args.out, args.format, args.fps, frames, width, height, args.gop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
