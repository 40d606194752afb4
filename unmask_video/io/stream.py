"""What a writer needs to know about the video it encodes: :class:`StreamDescription`.

File mode takes it from the reader (:meth:`unmask_video.io.reader.VideoReader.description`), live mode from the
capture; the writer (:class:`unmask_video.io.writer.VideoWriter`) is built from it, so padding, colour, tags,
temporary files and overwrite rules are the same for both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Mapping


@dataclass(frozen=True)
class AudioTrack:
    """An audio track the caller generates (rather than copies from a source): encoded by the writer."""

    codec: str = "aac"
    rate: int = 48000
    layout: str = "mono"


@dataclass(frozen=True)
class StreamDescription:
    width: int
    height: int
    rate: Fraction  # nominal frame rate (timestamps are what count)
    time_base: Fraction  # of the timestamps given to the writer
    rotation: int = 0  # display rotation tag, degrees counter-clockwise
    colorspace: int | None = None  # AVColorSpace / primaries / transfer tags of the source
    color_primaries: int | None = None
    color_trc: int | None = None
    tags: Mapping[str, str] = field(default_factory=dict)  # container tags of the source to keep
    #: Streams of the source copied packet for packet (audio, subtitles); their packets go to ``mux_packet``.
    copied_streams: tuple[Any, ...] = ()
    #: Audio the caller generates, written with :meth:`~unmask_video.io.writer.VideoWriter.write_audio`.
    audio_tracks: tuple[AudioTrack, ...] = ()
