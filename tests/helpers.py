"""Small test helpers: decode a file's frames and packets with PyAV, make odd input files."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np


def decode_frames(path: Path) -> tuple[list[np.ndarray], list[int]]:
    """All video frames (RGB uint8) and their pts."""
    images, pts = [], []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            images.append(frame.to_ndarray(format="rgb24"))
            pts.append(frame.pts)
    return images, pts


def audio_packets(path: Path) -> list[tuple[bytes, int | None]]:
    """Payload and pts of every audio packet of the first audio stream."""
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return []
        stream = container.streams.audio[0]
        return [(bytes(p), p.pts) for p in container.demux(stream) if p.size]


def write_audio_only(path: Path, seconds: float = 0.5) -> None:
    """An AAC file with a tone and no video stream."""
    rate = 44100
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=rate)
        t = np.arange(int(rate * seconds)) / rate
        samples = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        for start in range(0, len(samples), 1024):
            chunk = samples[start : start + 1024][None, :]
            frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
