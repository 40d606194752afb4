"""Video I/O: real files written and read with PyAV/FFmpeg in tmp_path (no shared data)."""

from __future__ import annotations

import os
import socket
import time
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from unmask_video import __version__
from unmask_video.errors import InputError, ProcessingError
from unmask_video.io import (
    METADATA_KEY,
    PROCESSED_COMMENT,
    BackgroundWriter,
    EncodeOptions,
    VideoReader,
    VideoWriter,
    check_output_path,
    is_stream_url,
    open_camera_source,
    read_image,
)

SR = 16000


def _picture(i: int, width: int, height: int) -> np.ndarray:
    """A smooth gradient with a moving block: compresses well, so decoded pixels stay close to these."""
    y, x = np.mgrid[0:height, 0:width]
    img = np.stack([x * 255 // max(1, width - 1), y * 255 // max(1, height - 1), np.full_like(x, 90)], -1)
    x0 = (i * 3) % max(1, width - 12)
    img[8:20, x0 : x0 + 12] = (250, 250, 40)
    return img.astype(np.uint8)


def make_clip(
    path: Path,
    *,
    frames: int = 12,
    size: tuple[int, int] = (64, 48),
    fps: int = 25,
    pts: list[int] | None = None,
    time_base: Fraction | None = None,
    audio: tuple[tuple[str, int], ...] = (("aac", 440),),
    rotation: int = 0,
    noise: bool = False,
    options: dict[str, str] | None = None,
) -> Path:
    """Write a small H.264 clip with sine-tone audio tracks (codec, Hz), optional irregular pts and rotation."""
    width, height = size
    rng = np.random.default_rng(0)
    with av.open(str(path), "w", container_options=options or {}) as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.codec_context.options = {"preset": "ultrafast"}
        tb = time_base or Fraction(1, fps)
        video.time_base = tb
        video.codec_context.time_base = tb
        if rotation:
            video.set_display_rotation(rotation)
        tracks = []
        for codec, hz in audio:
            stream = out.add_stream(codec, rate=SR)
            stream.layout = "mono"
            tracks.append((stream, hz))
        stamps = pts if pts is not None else list(range(frames))
        end_s = float((stamps[-1] + 1) * tb) if stamps else 0.0
        for i, stamp in enumerate(stamps):
            img = _picture(i, width, height)
            if noise:
                img = rng.integers(0, 256, img.shape, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = stamp
            out.mux(video.encode(frame))
        out.mux(video.encode())
        for stream, hz in tracks:
            samples = int(end_s * SR)
            for start in range(0, samples, 1024):
                t = (np.arange(start, min(samples, start + 1024)) / SR).astype(np.float64)
                wave = (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)[None]
                fmt = stream.codec_context.format.name if stream.codec_context.format else "fltp"
                if fmt.startswith("s16"):
                    wave = (wave * 32767).astype(np.int16)
                aframe = av.AudioFrame.from_ndarray(wave, format=fmt, layout="mono")
                aframe.sample_rate = SR
                aframe.pts = start
                out.mux(stream.encode(aframe))
            out.mux(stream.encode())
    return path


def test_timestamps_that_stand_still_are_retimed_at_the_nominal_rate(tmp_path: Path, caplog) -> None:
    src = tmp_path / "still.mp4"  # a bad muxer: every frame at pts 0 (the container's average rate becomes absurd)
    with av.open(str(src), "w") as out:
        video = out.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        video.options = {"bframes": "0"}
        for i in range(9):
            frame = av.VideoFrame.from_ndarray(_picture(i, 64, 48), format="rgb24")
            frame.pts = i
            for packet in video.encode(frame if i < 8 else None):
                packet.pts = packet.dts = 0
                out.mux(packet)
    with av.open(str(src)) as c:
        assert [f.pts for f in c.decode(video=0)] == [0] * 8
    with caplog.at_level("WARNING"), VideoReader(str(src)) as reader:
        frames = list(reader.frames())
    assert reader.info.fps == 25
    assert [f.time_s for f in frames] == pytest.approx([i / 25 for i in range(8)])
    assert reader.report.timestamps_repaired == 7
    assert "timestamps stop increasing at frame 1" in caplog.text
    dst = tmp_path / "out.mp4"
    roundtrip(src, dst)
    assert [float(t) for t in video_pts_seconds(dst)] == pytest.approx([i / 25 for i in range(8)])


def roundtrip(src: Path, dst: Path | str, options: EncodeOptions | None = None, **kw) -> VideoReader:
    with VideoReader(str(src)) as reader, VideoWriter(dst, reader, options or EncodeOptions(preset="ultrafast"), **kw) as writer:
        for frame in reader.frames(on_audio_packet=writer.mux_audio):
            writer.write(frame, frame.image)
        writer.commit()
    return reader


def video_pts_seconds(path: Path) -> list[Fraction]:
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        return [f.pts * f.time_base for f in c.decode(stream)]


def audio_packets(path: Path) -> list[list[tuple[bytes, Fraction]]]:
    with av.open(str(path)) as c:
        tracks: list[list[tuple[bytes, Fraction]]] = [[] for _ in c.streams.audio]
        for packet in c.demux(*c.streams.audio):
            if packet.size:
                tracks[packet.stream.index - c.streams.audio[0].index].append(
                    (bytes(packet), packet.pts * packet.time_base)
                )
        return tracks


def leftovers(folder: Path, keep: set[str]) -> list[str]:
    return sorted(name for name in os.listdir(folder) if name not in keep)


# -- round trips ------------------------------------------------------------------------------------------


def test_roundtrip_keeps_frames_pts_and_audio_packets(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "in.mp4", frames=12, audio=(("aac", 440), ("aac", 660)))
    dst = tmp_path / "out.mp4"
    reader = roundtrip(src, dst)
    assert reader.info.width == 64 and reader.info.height == 48
    assert reader.info.audio_streams == 2 and reader.info.codec == "h264"
    assert reader.info.frame_count == 12 and not reader.info.is_live
    assert reader.report.frames_decoded == 12 and reader.report.error is None
    assert reader.report.lost_fraction == 0.0

    assert video_pts_seconds(dst) == video_pts_seconds(src)
    src_audio, dst_audio = audio_packets(src), audio_packets(dst)
    assert len(dst_audio) == 2
    for a, b in zip(src_audio, dst_audio):
        assert len(a) > 5 and a == b  # same bytes, same timestamps, packet for packet
    with av.open(str(dst)) as c:
        decoded = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    diff = np.abs(decoded[5].astype(int) - _picture(5, 64, 48).astype(int)).mean()
    assert diff < 6, diff
    assert leftovers(tmp_path, {"in.mp4", "out.mp4"}) == []


def test_reader_yields_rgb_frames_with_times(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "in.mkv", frames=6, audio=())
    with VideoReader(str(src)) as reader:
        frames = list(reader.frames())
        with pytest.raises(RuntimeError):
            reader.frames()
    assert [f.index for f in frames] == list(range(6))
    assert [f.time_s for f in frames] == pytest.approx([i / 25 for i in range(6)])
    assert frames[0].image.shape == (48, 64, 3) and frames[0].image.dtype == np.uint8
    # red grows along x, green along y: RGB order, not BGR
    assert frames[0].image[24, 60, 0] > 200 and frames[0].image[24, 60, 2] < 120


@pytest.mark.parametrize("colorspace", [None, 1])  # untagged (BT.601 both ways) and tagged BT.709
def test_colours_survive_a_round_trip_without_bias(tmp_path: Path, colorspace: int | None) -> None:
    src = tmp_path / "in.mkv"
    truth = [_picture(i, 64, 48) for i in range(3)]
    with av.open(str(src), "w") as out:  # 4:4:4, lossless: the source holds exactly `truth` (up to YUV rounding)
        video = out.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv444p"
        video.codec_context.options = {"crf": "0", "preset": "ultrafast"}
        if colorspace:
            video.codec_context.colorspace = colorspace
        for i, img in enumerate(truth):
            frame = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv444p", dst_colorspace=colorspace)
            frame.pts = i
            out.mux(video.encode(frame))
        out.mux(video.encode())
    with VideoReader(str(src)) as reader:  # the 4:4:4 source reads back exactly
        assert np.abs(np.stack(truth).astype(int) - np.stack([f.image for f in reader.frames()])).mean() < 0.6
    dst = tmp_path / "out.mkv"
    roundtrip(src, dst, EncodeOptions(crf=0, preset="ultrafast"))  # yuv420p, lossless: only 4:2:0 is lost
    with VideoReader(str(dst)) as reader:
        images = [f.image for f in reader.frames()]
    diff = np.stack(truth).astype(float) - np.stack(images).astype(float)
    bias = diff.mean(axis=(0, 1, 2))
    # swscale's default 4:2:0 -> RGB is about +1 (darker) on every channel; the reader must not be
    assert np.all(np.abs(bias) < 0.4), bias
    assert np.abs(diff).mean() < 2.5


@pytest.mark.parametrize(
    "name,stamps,time_base",
    [
        ("vfr.mkv", [0, 33, 50, 120, 130, 200, 333, 340, 400, 500], Fraction(1, 1000)),
        # a late start (a phone's edit list): MP4 rounds it to 1 ms unless the movie timescale is kept
        ("late.mp4", [2502, 3502, 4502, 6001, 6502, 9000], Fraction(1, 30000)),
    ],
)
def test_variable_frame_rate_timestamps_survive(tmp_path: Path, name: str, stamps: list[int], time_base) -> None:
    options = {"movie_timescale": str(time_base.denominator)} if name.endswith(".mp4") else None
    src = make_clip(tmp_path / name, pts=stamps, time_base=time_base, options=options)
    with VideoReader(str(src)) as reader:
        assert [f.pts for f in reader.frames()] == stamps
        assert reader.info.time_base == time_base
    dst = tmp_path / "out.mp4"
    roundtrip(src, dst)
    assert video_pts_seconds(dst) == [s * time_base for s in stamps]
    assert audio_packets(dst) == audio_packets(src)


def test_raw_stream_without_timestamps_gets_a_regular_clock(tmp_path: Path) -> None:
    src = tmp_path / "raw.h264"  # an elementary stream: no container, no pts
    with av.open(str(src), "w") as out:
        video = out.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        for i in range(6):
            frame = av.VideoFrame.from_ndarray(_picture(i, 64, 48), format="rgb24")
            frame.pts = i
            out.mux(video.encode(frame))
        out.mux(video.encode())
    with VideoReader(str(src)) as reader:
        frames = list(reader.frames())
    assert [f.pts for f in frames] == [None] * 6
    assert [f.time_s for f in frames] == pytest.approx([i / 25 for i in range(6)])
    dst = tmp_path / "out.mp4"
    roundtrip(src, dst)
    assert [float(t) for t in video_pts_seconds(dst)] == pytest.approx([i / 25 for i in range(6)])


def test_odd_size_is_padded_keeping_the_picture(tmp_path: Path) -> None:
    src = tmp_path / "odd.mkv"
    # libx264 refuses odd yuv420p sizes, so the odd source is 4:4:4
    with av.open(str(src), "w") as out:
        video = out.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = 63, 47, "yuv444p"
        for i in range(5):
            frame = av.VideoFrame.from_ndarray(_picture(i, 63, 47), format="rgb24")
            frame.pts = i
            out.mux(video.encode(frame))
        out.mux(video.encode())
    dst = tmp_path / "out.mp4"
    roundtrip(src, dst)
    with av.open(str(dst)) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    assert len(frames) == 5 and frames[0].shape == (48, 64, 3)
    diff = np.abs(frames[2][:47, :63].astype(int) - _picture(2, 63, 47).astype(int)).mean()
    assert diff < 6, diff
    # the added column repeats the last one
    assert np.abs(frames[2][:47, 63].astype(int) - frames[2][:47, 62].astype(int)).mean() < 6


@pytest.mark.parametrize("rotation", [90, 270])
def test_rotation_tag_survives(tmp_path: Path, rotation: int) -> None:
    src = make_clip(tmp_path / "rot.mp4", rotation=rotation, audio=())
    dst = tmp_path / "out.mp4"
    reader = roundtrip(src, dst)
    assert reader.info.rotation == rotation
    with VideoReader(str(dst)) as check:
        assert check.info.rotation == rotation
        first = next(check.frames())
        assert first.image.shape == (48, 64, 3)  # rotation is a tag, the pixels are not turned


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".mov"])
def test_processed_by_metadata_reads_back(tmp_path: Path, suffix: str) -> None:
    src = make_clip(tmp_path / f"in{suffix}", frames=3, audio=())
    dst = tmp_path / f"out{suffix}"
    roundtrip(src, dst)
    with av.open(str(dst)) as c:
        tags = {k.lower(): v for k, v in c.metadata.items()}
    assert tags["comment"] == PROCESSED_COMMENT == f"processed by unmask-video {__version__}"
    assert tags[METADATA_KEY] == __version__


def test_audio_the_container_cannot_hold_is_reencoded_to_aac(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "in.mov", frames=25, audio=(("pcm_mulaw", 440),))  # mp4 cannot hold mu-law
    dst = tmp_path / "out.mp4"
    roundtrip(src, dst)
    with av.open(str(dst)) as c:
        stream = c.streams.audio[0]
        assert stream.codec_context.name == "aac"
        samples = sum(f.samples for f in c.decode(stream))
    assert abs(samples - SR) < 2048  # one second of tone, give or take the AAC priming


# -- damaged and wrong inputs -----------------------------------------------------------------------------


@pytest.mark.parametrize("name,options", [("in.mp4", {"movflags": "+faststart"}), ("in.mkv", None)])
def test_truncated_file_decodes_partially_and_reports_loss(tmp_path: Path, name: str, options) -> None:
    full = make_clip(tmp_path / name, frames=30, noise=True, options=options)
    data = full.read_bytes()
    cut = tmp_path / f"cut{full.suffix}"
    cut.write_bytes(data[: len(data) // 2])
    with VideoReader(str(cut)) as reader:
        frames = list(reader.frames())
    report = reader.report
    assert 3 <= len(frames) < 30
    assert report.frames_decoded == len(frames)
    assert report.frames_expected is not None and report.frames_expected >= 28
    assert report.error is not None
    assert 0.2 < report.lost_fraction < 0.95


def test_not_a_video_raises_input_error(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("just some words, not a video\n" * 20)
    png = tmp_path / "still.png"
    cv2.imwrite(str(png), _picture(0, 64, 48))
    audio_only = tmp_path / "tone.m4a"
    with av.open(str(audio_only), "w") as out:
        stream = out.add_stream("aac", rate=SR)
        stream.layout = "mono"
        wave = (0.3 * np.sin(np.arange(4096) / 5)).astype(np.float32)[None]
        aframe = av.AudioFrame.from_ndarray(wave, format="fltp", layout="mono")
        aframe.sample_rate, aframe.pts = SR, 0
        out.mux(stream.encode(aframe))
        out.mux(stream.encode())
    for path, words in [
        (text, "not a video"),
        (png, "still image"),
        (audio_only, "no video stream"),
        (tmp_path / "missing.mp4", "not found"),
        (tmp_path, "folder"),
    ]:
        with pytest.raises(InputError, match=words):
            VideoReader(str(path))


def test_unknown_codec_raises_input_error(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "in.mp4", frames=2, audio=())
    with VideoReader(str(src)) as reader:
        for options, words in [
            (EncodeOptions(codec="nope264"), "unknown video encoder"),
            (EncodeOptions(codec="aac"), "audio encoder"),
            (EncodeOptions(pix_fmt="not_a_format"), "pixel format"),
        ]:
            with pytest.raises(InputError, match=words):
                VideoWriter(tmp_path / "out.mp4", reader, options)
        with pytest.raises(InputError, match="container format"):
            VideoWriter(tmp_path / "out.unknownext", reader, EncodeOptions())
        with pytest.raises(InputError, match="unknown output format"):
            VideoWriter(tmp_path / "out.mp4", reader, EncodeOptions(), output_format="nosuchmuxer")
        with pytest.raises(InputError, match="cannot hold"):
            VideoWriter(tmp_path / "out.wav", reader, EncodeOptions())  # WAV holds no video
    assert leftovers(tmp_path, {"in.mp4"}) == []


# -- output path checks -----------------------------------------------------------------------------------


def test_check_output_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = make_clip(tmp_path / "in.mp4", frames=2, audio=())
    monkeypatch.chdir(tmp_path)
    assert check_output_path("in.mp4", "out.mp4") == tmp_path / "out.mp4"
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.mp4").symlink_to(src)
    os.link(src, tmp_path / "hard.mp4")
    for output in [str(src), "in.mp4", "./sub/../in.mp4", "link.mp4", "hard.mp4"]:
        with pytest.raises(InputError, match="is the input"):
            check_output_path(str(src), output)
    with pytest.raises(InputError, match="does not exist"):
        check_output_path("in.mp4", "nowhere/out.mp4")
    (tmp_path / "somefile.txt").write_text("x")
    with pytest.raises(InputError, match="not a folder"):
        check_output_path("in.mp4", "somefile.txt/out.mp4")
    with pytest.raises(InputError, match="is a folder"):
        check_output_path("in.mp4", "sub")
    with pytest.raises(ValueError):
        check_output_path("in.mp4", "udp://127.0.0.1:1234")
    assert src.exists() and src.stat().st_size > 0


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root can write into a 0o500 folder")
def test_check_output_path_read_only_folder(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(InputError, match="not writable"):
            check_output_path(str(tmp_path / "in.mp4"), str(folder / "out.mp4"))
    finally:
        folder.chmod(0o700)


# -- abort, Ctrl-C, streaming output ----------------------------------------------------------------------


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_abort_leaves_no_output_and_no_temp_file(tmp_path: Path, error: type[BaseException]) -> None:
    src = make_clip(tmp_path / "in.mp4", frames=8)
    dst = tmp_path / "out.mp4"
    with pytest.raises(error):
        with VideoReader(str(src)) as reader, VideoWriter(dst, reader, EncodeOptions(preset="ultrafast")) as writer:
            for frame in reader.frames(on_audio_packet=writer.mux_audio):
                writer.write(frame, frame.image)
                if frame.index == 4:
                    raise error("stop")
    assert leftovers(tmp_path, {"in.mp4"}) == []

    dst.write_bytes(b"an older output")  # an existing output is left as it was
    with pytest.raises(error):
        with VideoReader(str(src)) as reader, VideoWriter(dst, reader, EncodeOptions(preset="ultrafast")) as writer:
            frame = next(reader.frames())
            writer.write(frame, frame.image)
            raise error("stop")
    assert dst.read_bytes() == b"an older output"
    assert leftovers(tmp_path, {"in.mp4", "out.mp4"}) == []


# -- the writer thread ------------------------------------------------------------------------------------


def test_background_writer_matches_the_direct_writer(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "in.mp4", frames=14, audio=(("aac", 440), ("aac", 660)))
    direct, threaded = tmp_path / "direct.mp4", tmp_path / "threaded.mp4"
    roundtrip(src, direct, EncodeOptions(preset="ultrafast", threads=1))
    with VideoReader(str(src)) as reader, VideoWriter(
        threaded, reader, EncodeOptions(preset="ultrafast", threads=1)
    ) as video_writer, BackgroundWriter(video_writer, depth=2) as writer:
        for frame in reader.frames(on_audio_packet=writer.mux_audio):
            writer.write(frame, frame.image)
        writer.commit()
    assert writer.frames_written == 14 and writer.busy_s > 0
    assert video_pts_seconds(threaded) == video_pts_seconds(src)
    assert audio_packets(threaded) == audio_packets(direct)  # every packet, in order
    a, b = decode_frames_rgb(direct), decode_frames_rgb(threaded)
    assert len(a) == len(b) == 14
    assert all(np.array_equal(x, y) for x, y in zip(a, b))  # same frames, same order, same encoder settings
    assert leftovers(tmp_path, {"in.mp4", "direct.mp4", "threaded.mp4"}) == []


def test_background_writer_encodes_generated_audio(tmp_path: Path) -> None:
    from unmask_video.io.stream import AudioTrack, StreamDescription

    track = AudioTrack(rate=SR)
    desc = StreamDescription(width=64, height=48, rate=Fraction(25), time_base=Fraction(1, 25), audio_tracks=(track,))
    tone = np.sin(np.arange(SR) * 2 * np.pi * 440 / SR).astype(np.float32)[None]  # one second
    out = tmp_path / "gen.mp4"
    with VideoWriter(out, desc, EncodeOptions(preset="ultrafast"), mark_processed=False) as video_writer:
        video_writer.write_at(_picture(0, 64, 48), 0)
        with BackgroundWriter(video_writer, depth=2) as writer:
            for start in range(0, SR, 1024):
                writer.write_audio(0, tone[:, start : start + 1024], start)
            writer.commit()
    with av.open(str(out)) as container:
        audio = container.streams.audio[0]
        seconds = sum(frame.samples for frame in container.decode(audio)) / audio.rate
    assert seconds == pytest.approx(1.0, abs=0.1)


def decode_frames_rgb(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def test_background_writer_raises_the_worker_error_and_leaves_no_file(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "in.mp4", frames=10)
    dst = tmp_path / "out.mp4"
    with pytest.raises(ProcessingError, match="frame 3: expected an"):
        with VideoReader(str(src)) as reader, VideoWriter(dst, reader, EncodeOptions(preset="ultrafast")) as vw:
            with BackgroundWriter(vw, depth=2) as writer:
                for frame in reader.frames(on_audio_packet=writer.mux_audio):
                    bad = frame.index == 3
                    writer.write(frame, frame.image.astype(np.float32) if bad else frame.image)
                writer.commit()
    assert leftovers(tmp_path, {"in.mp4"}) == []


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_background_writer_interrupted_leaves_no_file(tmp_path: Path, error: type[BaseException]) -> None:
    src = make_clip(tmp_path / "in.mp4", frames=12)
    dst = tmp_path / "out.mp4"
    with pytest.raises(error):
        with VideoReader(str(src)) as reader, VideoWriter(dst, reader, EncodeOptions(preset="ultrafast")) as vw:
            with BackgroundWriter(vw, depth=3) as writer:
                for frame in reader.frames(on_audio_packet=writer.mux_audio):
                    writer.write(frame, frame.image)
                    if frame.index == 6:
                        raise error("stop")
    assert not writer._thread.is_alive()
    assert leftovers(tmp_path, {"in.mp4"}) == []
    with pytest.raises(ProcessingError, match="closed"):
        writer.write(frame, frame.image)


def test_commit_without_frames_fails_cleanly(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "in.mp4", frames=2, audio=())
    with VideoReader(str(src)) as reader, VideoWriter(tmp_path / "out.mp4", reader, EncodeOptions()) as writer:
        with pytest.raises(ProcessingError, match="no frame"):
            writer.commit()
    assert leftovers(tmp_path, {"in.mp4"}) == []


def test_udp_mpegts_output_streams_without_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = make_clip(tmp_path / "in.mp4", frames=10)
    monkeypatch.chdir(tmp_path)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(2.0)
    url = f"udp://127.0.0.1:{sock.getsockname()[1]}?pkt_size=1316"
    assert is_stream_url(url) and not is_stream_url(str(tmp_path / "x.mp4"))
    try:
        roundtrip(src, url, output_format="mpegts")
        received = b""
        while True:
            try:
                received += sock.recv(65536)
            except socket.timeout:
                break
            sock.settimeout(0.2)
    finally:
        sock.close()
    assert len(received) > 1000 and received[0] == 0x47  # MPEG-TS sync byte
    assert leftovers(tmp_path, {"in.mp4"}) == []


# -- images and cameras -----------------------------------------------------------------------------------


def test_read_image(tmp_path: Path) -> None:
    rgb = _picture(0, 64, 48)
    path = tmp_path / "face.png"
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    image = read_image(path)
    assert image.dtype == np.uint8 and image.shape == (48, 64, 3)
    assert np.array_equal(image, rgb)
    rgba = tmp_path / "rgba.png"
    cv2.imwrite(str(rgba), np.dstack([cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), np.full((48, 64), 128, np.uint8)]))
    assert np.array_equal(read_image(rgba), rgb)  # alpha dropped, still RGB
    gray = tmp_path / "gray.png"
    cv2.imwrite(str(gray), rgb[:, :, 1])
    assert read_image(gray).shape == (48, 64, 3)
    # a phone photo stored sideways with an EXIF orientation tag comes back upright
    from PIL import Image  # scikit-image's dependency

    exif = Image.new("RGB", (1, 1)).getexif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    Image.fromarray(rgb).save(tmp_path / "sideways.jpg", exif=exif)
    assert read_image(tmp_path / "sideways.jpg").shape == (64, 48, 3)
    (tmp_path / "bad.jpg").write_text("not an image")
    with pytest.raises(InputError, match="not an image"):
        read_image(tmp_path / "bad.jpg")
    with pytest.raises(InputError, match="not found"):
        read_image(tmp_path / "missing.jpg")


def test_open_camera_source_per_platform() -> None:
    assert open_camera_source(None, "linux") == ("/dev/video0", "v4l2")
    assert open_camera_source("2", "linux") == ("/dev/video2", "v4l2")
    assert open_camera_source("/dev/v4l/by-id/cam", "linux") == ("/dev/v4l/by-id/cam", "v4l2")
    assert open_camera_source(None, "darwin") == ("0", "avfoundation")
    assert open_camera_source("1", "darwin") == ("1", "avfoundation")
    assert open_camera_source("Integrated Camera", "win32") == ("video=Integrated Camera", "dshow")
    assert open_camera_source("video=USB Cam", "win32") == ("video=USB Cam", "dshow")
    with pytest.raises(InputError, match="by name"):
        open_camera_source(None, "win32")
    with pytest.raises(InputError):
        open_camera_source(None, "sunos5")


def test_missing_camera_device_raises_input_error() -> None:
    with pytest.raises(InputError, match="v4l2"):
        VideoReader("/dev/video_does_not_exist", input_format="v4l2")


# -- faults found by a hostile user (issue 12) -----------------------------------------------------------------


def _video_packet_offsets(path: Path) -> list[tuple[int, int]]:
    """(byte offset, size) of each video packet in the file."""
    with av.open(str(path)) as c:
        return [(p.pos, p.size) for p in c.demux(c.streams.video[0]) if p.size and p.pos is not None and p.pos >= 0]


def test_a_damaged_packet_is_skipped_and_the_rest_decodes(synthetic_clip_factory, tmp_path: Path) -> None:
    """2 KB of random bytes inside one video packet near the middle: one frame is lost, not half the video."""
    from unmask_video.synthetic import ClipSpec

    clip = synthetic_clip_factory(ClipSpec(frames=78))
    data = bytearray(clip.video_path.read_bytes())
    offsets = _video_packet_offsets(clip.video_path)
    pos, size = max(offsets[30:50], key=lambda o: o[1])  # a big (inter) packet in the middle
    length = min(2048, size)  # from the packet's start: its NAL length prefix and header are garbage too
    data[pos : pos + length] = np.random.default_rng(0).integers(0, 256, length, np.uint8).tobytes()
    bad = tmp_path / "damaged.mp4"
    bad.write_bytes(bytes(data))
    with VideoReader(str(bad)) as reader:
        frames = list(reader.frames())
    report = reader.report
    assert len(frames) >= 76  # FFmpeg decodes all but the damaged one; the reader once stopped there (~half)
    assert report.packets_skipped >= 1 and report.frames_lost == 78 - len(frames)
    assert report.error is not None and " s" in report.where() and "skipped" in report.error
    times = [f.time_s for f in frames]
    assert times == sorted(times) and times[-1] > 3.0  # decoding went on to the end


def test_an_output_that_appears_during_the_run_is_never_replaced(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "in.mp4", frames=4, audio=())
    dst = tmp_path / "out.mp4"
    with VideoReader(str(src)) as reader, VideoWriter(dst, reader, EncodeOptions(preset="ultrafast")) as writer:
        for frame in reader.frames():
            writer.write(frame, frame.image)
        dst.write_bytes(b"someone else's file")  # created at the output path mid-run
        with pytest.raises(ProcessingError, match=r"created by something else.*out-2\.mp4"):
            writer.commit()
    assert dst.read_bytes() == b"someone else's file"
    with VideoReader(str(tmp_path / "out-2.mp4")) as kept:  # this run's result is kept, complete
        assert sum(1 for _ in kept.frames()) == 4
    assert leftovers(tmp_path, {"in.mp4", "out.mp4", "out-2.mp4"}) == []


def test_two_runs_on_one_output_path_never_lose_either_result(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "in.mp4", frames=3, audio=())
    dst = tmp_path / "out.mp4"
    with VideoReader(str(src)) as r1, VideoReader(str(src)) as r2:
        w1 = VideoWriter(dst, r1, EncodeOptions(preset="ultrafast"))
        w2 = VideoWriter(dst, r2, EncodeOptions(preset="ultrafast"))
        assert w1.temp_path != w2.temp_path  # unique temporary names
        for f1, f2 in zip(r1.frames(), r2.frames()):
            w1.write(f1, f1.image)
            w2.write(f2, f2.image)
        assert w1.commit() == dst
        with pytest.raises(ProcessingError, match="out-2.mp4"):
            w2.commit()
    assert dst.stat().st_size > 0 and (tmp_path / "out-2.mp4").stat().st_size > 0
    assert leftovers(tmp_path, {"in.mp4", "out.mp4", "out-2.mp4"}) == []


def test_overwrite_replaces_the_output(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "in.mp4", frames=3, audio=())
    dst = tmp_path / "out.mp4"
    dst.write_bytes(b"old")
    roundtrip(src, dst, overwrite=True)
    assert dst.stat().st_size > 100 and leftovers(tmp_path, {"in.mp4", "out.mp4"}) == []


@pytest.mark.parametrize(
    "options,message",
    [
        (EncodeOptions(preset="nonsense"), r"rejects --preset nonsense; use one of ultrafast"),
        (EncodeOptions(crf=-5), r"rejects --crf -5"),
    ],
)
def test_bad_encoder_settings_fail_before_the_first_frame(tmp_path: Path, options: EncodeOptions, message: str) -> None:
    src = make_clip(tmp_path / "in.mp4", frames=2, audio=())
    with VideoReader(str(src)) as reader:
        with pytest.raises(InputError, match=message) as exc:
            VideoWriter(tmp_path / "out.mp4", reader, options)
    assert "\n" not in str(exc.value)
    assert leftovers(tmp_path, {"in.mp4"}) == []


@pytest.mark.parametrize("suffix,codec", [(".webm", "opus"), (".mpg", "mp2")])
def test_aac_is_converted_where_the_container_cannot_hold_it(tmp_path: Path, suffix: str, codec: str) -> None:
    src = make_clip(tmp_path / "in.mp4", frames=25, audio=(("aac", 440),))
    dst = tmp_path / f"out{suffix}"
    options = EncodeOptions(codec="libvpx-vp9" if suffix == ".webm" else "libx264", preset="ultrafast")
    roundtrip(src, dst, options)
    with av.open(str(dst)) as c:
        assert c.streams.audio[0].codec_context.name == codec
        samples = sum(f.samples for f in c.decode(c.streams.audio[0]))
        rate = c.streams.audio[0].codec_context.sample_rate
    with av.open(str(dst)) as c:
        assert sum(1 for _ in c.decode(video=0)) == 25
    assert abs(samples / rate - 1.0) < 0.15  # the second of tone made it across


def _add_subtitles(src: Path, dst: Path) -> Path:
    """Remux ``src`` into Matroska with one SubRip subtitle stream (two cues)."""
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        video = out.add_stream_from_template(inp.streams.video[0])
        subs = out.add_mux_stream("subrip")
        subs.time_base = Fraction(1, 1000)
        for packet in inp.demux(inp.streams.video[0]):
            if packet.dts is None:
                continue
            packet.stream = video
            out.mux(packet)
        for i, text in enumerate((b"hello", b"world")):
            cue = av.Packet(text)
            cue.stream, cue.pts, cue.dts, cue.duration = subs, i * 200, i * 200, 150
            cue.time_base = Fraction(1, 1000)
            out.mux(cue)
    return dst


def test_subtitles_are_copied_where_the_container_holds_them(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    src = _add_subtitles(make_clip(tmp_path / "plain.mp4", frames=12, audio=()), tmp_path / "in.mkv")
    roundtrip(src, tmp_path / "out.mkv")
    with av.open(str(tmp_path / "out.mkv")) as c:
        assert len(c.streams.subtitles) == 1
        cues = [bytes(p) for p in c.demux(c.streams.subtitles[0]) if p.size]
    assert cues == [b"hello", b"world"]
    caplog.clear()
    with caplog.at_level("WARNING"):
        roundtrip(src, tmp_path / "out.mp4")  # MP4 holds only mov_text: dropped, and said so as a warning
    assert any("subtitle stream" in r.getMessage() and "dropped" in r.getMessage() and r.levelname == "WARNING"
               for r in caplog.records)  # fmt: skip


def test_ts_output_says_it_was_processed(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "in.mp4", frames=3)
    roundtrip(src, tmp_path / "out.ts")
    # MPEG-TS has no comment field: the service description table names the provider (VLC shows it).
    assert f"unmask-video {__version__}".encode() in (tmp_path / "out.ts").read_bytes()


def test_a_silent_stream_url_input_times_out(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    start = time.monotonic()
    with pytest.raises(InputError, match=r"sent nothing within 1 s"):
        VideoReader(f"udp://127.0.0.1:{port}", open_timeout_s=1.0)
    assert time.monotonic() - start < 4


def test_reader_decodes_up_to_1080p_with_slice_threads_and_the_same_frames(tmp_path: Path) -> None:
    """Up to 1080p the decoder runs without frame threads (less CPU on a reader that has a thread of its own);
    the frames are those of frame-threaded decoding, bit for bit; larger frames keep frame threads."""
    from unmask_video.io.reader import decode_thread_type

    assert decode_thread_type(1920, 1080) == "SLICE" and decode_thread_type(1280, 720) == "SLICE"
    assert decode_thread_type(3840, 2160) == "AUTO" and decode_thread_type(0, 0) == "AUTO"
    src = make_clip(tmp_path / "in.mp4", frames=12, audio=())
    with VideoReader(str(src)) as reader:
        assert reader.video_stream.codec_context.thread_type.name == "SLICE"
        ours = [f.image for f in reader.frames()]
    with av.open(str(src)) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_type = "AUTO"
        planes = [f.to_ndarray() for f in container.decode(stream)]
    assert len(ours) == len(planes) == 12
    with av.open(str(src)) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_type = "SLICE"
        assert all(np.array_equal(a, f.to_ndarray()) for a, f in zip(planes, container.decode(stream)))


def test_libx264_writes_no_b_frames_unless_asked(tmp_path: Path) -> None:
    """``EncodeOptions.bframes`` 0 (the default): P-frames only after the key frame; None: the preset's B-frames."""
    from unmask_video.io.writer import write_clip

    rng = np.random.default_rng(3)
    base = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    frames = [np.roll(base, i, axis=1) for i in range(24)]  # (steady motion: x264's superfast chooses B-frames)
    types = {}
    for bframes in (0, None):
        path = write_clip(tmp_path / f"bf_{bframes}.mp4", frames, 25, EncodeOptions(bframes=bframes))
        with av.open(str(path)) as container:
            types[bframes] = {int(frame.pict_type) for frame in container.decode(video=0)}
    assert types[0] == {1, 2}  # I and P
    assert 3 in types[None]  # B
