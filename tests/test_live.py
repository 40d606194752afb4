"""Live mode without a camera: a producer process plays frames at real-time pace into a named pipe or a
loopback UDP socket, and the live loop reads it.

Every frame the producer sends carries its index in pixels (tests/live_producer.py), so the order of the
frames that come out (sink, recording, UDP stream) is checked on the pictures themselves.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import av
import numpy as np
import pytest

from tests.live_producer import read_index
from unmask_video.errors import InputError, ProcessingError
from unmask_video.cli import build_parser
from unmask_video.commands.live import live_from_args
from unmask_video.live import LiveOptions, LiveSource, format_cameras, run_live
from unmask_video.live_capture import LOW_LATENCY_OPTIONS, list_cameras, open_spec
from unmask_video.live_outputs import KeyAction, display_problem, key_action
from unmask_video.live_stats import LiveMeter

REPO = Path(__file__).resolve().parent.parent
PRODUCER = REPO / "tests" / "live_producer.py"
SIZE = (320, 240)
MARK = (slice(200, 230), slice(280, 310))  # where MarkingProcessor paints: away from the index blocks


# ------------------------------------------------------------------------------------------------ helpers


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_producer(out: str, frames: int, fps: float) -> subprocess.Popen:
    args = [sys.executable, str(PRODUCER), out, "--frames", str(frames), "--fps", str(fps), "--size", "%dx%d" % SIZE]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_process(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)


@pytest.fixture
def fifo(tmp_path: Path) -> str:
    path = tmp_path / "camera.fifo"
    os.mkfifo(path)
    return str(path)


class MarkingProcessor:
    """Paints a white square (so the outputs show it was applied), optionally slower than capture."""

    def __init__(self, sleep_ms: float = 0.0) -> None:
        self.sleep_s = sleep_ms / 1000.0
        self.warmed = False
        self.times: list[float] = []

    def warmup(self) -> None:
        self.warmed = True

    def process(self, image: np.ndarray, t: float) -> np.ndarray:
        assert self.warmed, "a frame was processed before warmup()"
        self.times.append(t)
        if self.sleep_s:
            time.sleep(self.sleep_s)
        out = image.copy()
        out[MARK] = 255
        return out


class CollectingOutput:
    """A live output that keeps the index drawn in each frame it gets, and the time it got it."""

    name = "collector"

    def __init__(self) -> None:
        self.indices: list[int] = []
        self.times: list[float] = []
        self.marked: list[bool] = []
        self.size: tuple[int, int] | None = None
        self.closed = False

    def open(self, width: int, height: int, fps: float) -> None:
        self.size = (width, height)

    def write(self, image: np.ndarray, t: float) -> None:
        self.indices.append(read_index(image))
        self.times.append(t)
        self.marked.append(bool(image[MARK].mean() > 250))

    def close(self) -> None:
        self.closed = True


def decoded_indices(path: str | Path) -> tuple[list[int], list[float]]:
    with av.open(str(path)) as container:
        frames = list(container.decode(video=0))
    return [read_index(f.to_ndarray(format="rgb24")) for f in frames], [float(f.time) for f in frames]


def increasing(values: list[int]) -> bool:
    return all(a < b for a, b in zip(values, values[1:]))


# ------------------------------------------------------------------------------------------- live sessions


def test_slow_processing_drops_frames_and_the_delay_stays_bounded(fifo: str, tmp_path: Path) -> None:
    """Processing at ~11 fps against a 25 fps source: half the frames are dropped, none are queued."""
    record = tmp_path / "session.mp4"
    sink = CollectingOutput()
    processor = MarkingProcessor(sleep_ms=90)
    producer = start_producer(fifo, frames=100, fps=25)
    try:
        stats = run_live(
            LiveSource(url=fifo, source_format="mpegts", read_timeout_s=5),
            processor,
            LiveOptions(window=False, record=record, extra_outputs=[sink], status=None),
        )
    finally:
        stop_process(producer)
    assert stats.end_reason == "end of stream" and not stats.source_lost
    assert stats.frames_shown >= 15
    # Frames the processing could not keep up with were dropped and counted, not buffered.
    assert stats.frames_dropped >= stats.frames_shown * 0.6
    assert abs(stats.frames_shown + stats.frames_dropped - stats.frames_captured) <= 1
    # Bounded delay: one processing time plus at most a frame interval, not growing over the run.
    assert stats.delay_p95_ms < 400
    quarter = len(stats.delays_ms) // 4
    assert np.median(stats.delays_ms[-quarter:]) - np.median(stats.delays_ms[:quarter]) < 100
    # Against the stream's own clock: a buffer anywhere would make the output fall behind by ~1.3 s here.
    assert stats.lag_growth_ms is not None and stats.lag_growth_ms < 250
    # Output frames are in capture order, processed, and the recording holds exactly them.
    assert increasing(stats.indices) and increasing(sink.indices)
    assert all(sink.marked) and sink.closed
    recorded, times = decoded_indices(record)
    assert recorded == sink.indices
    assert times[-1] == pytest.approx(sink.times[-1] - sink.times[0], abs=0.05)  # wall-clock timestamps
    assert processor.times == sorted(processor.times)
    assert not list(tmp_path.glob(".*partial*"))


def test_fast_processing_drops_nothing_and_the_udp_output_is_readable(tmp_path: Path) -> None:
    """UDP in, UDP out on loopback: every frame is shown, in order, and PyAV reads the output stream."""
    port_in, port_out = free_udp_port(), free_udp_port()
    received: list[int] = []
    sizes: set[tuple[int, int]] = set()
    errors: list[BaseException] = []

    def read_output() -> None:
        options = {"probesize": "100000", "analyzeduration": "500000"}
        try:
            with av.open(f"udp://127.0.0.1:{port_out}", format="mpegts", options=options, timeout=(15, 2)) as container:
                for frame in container.decode(video=0):
                    received.append(read_index(frame.to_ndarray(format="rgb24")))
                    sizes.add((frame.width, frame.height))
        except av.error.ExitError:
            pass  # the read timeout after the stream stopped: the normal end here
        except BaseException as error:  # noqa: BLE001 - reported by the test below
            errors.append(error)

    reader = threading.Thread(target=read_output, daemon=True)
    reader.start()
    sink = CollectingOutput()
    producer = start_producer(f"udp://127.0.0.1:{port_in}", frames=75, fps=15)
    try:
        stats = run_live(
            LiveSource(url=f"udp://127.0.0.1:{port_in}", open_timeout_s=10),
            MarkingProcessor(),
            # Stop before the producer does: the end of an MPEG-TS stream flushes its last two frames at once.
            LiveOptions(window=False, stream_url=f"udp://127.0.0.1:{port_out}", extra_outputs=[sink],
                        max_frames=30, status=None),  # fmt: skip
        )
    finally:
        stop_process(producer)
        reader.join(timeout=10)
    assert stats.end_reason == "frame limit"
    assert stats.frames_shown == 30
    assert stats.frames_dropped == 0
    assert stats.delay_p95_ms < 200
    # Every captured frame, in capture order: consecutive indices in the pictures.
    assert sink.indices == list(range(sink.indices[0], sink.indices[0] + 30))
    assert not errors, errors
    assert not reader.is_alive()
    assert sizes == {SIZE}
    assert len(received) >= 20 and increasing(received)
    assert set(received) <= set(sink.indices)


SIGINT_CHILD = """
import sys, time
from pathlib import Path
from unmask_video.live import LiveOptions, LiveSource, run_live

class Identity:
    def warmup(self): pass
    def process(self, image, t): return image.copy()

def status(line):
    print("STATUS", line, flush=True)

stats = run_live(LiveSource(url=sys.argv[1], source_format="mpegts"), Identity(),
                 LiveOptions(window=False, record=Path(sys.argv[2]), status=status, status_interval_s=0.2))
print("END", stats.end_reason, stats.frames_shown, flush=True)
"""


def test_sigint_stops_cleanly_with_a_playable_recording(fifo: str, tmp_path: Path) -> None:
    record = tmp_path / "interrupted.mp4"
    producer = start_producer(fifo, frames=300, fps=25)
    child = subprocess.Popen(
        [sys.executable, "-c", SIGINT_CHILD, fifo, str(record)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        assert child.stdout is not None
        for line in child.stdout:  # bounded: the child ends with the producer (12 s) at the latest
            if line.startswith("STATUS") or time.monotonic() > deadline:
                break
        time.sleep(0.5)
        child.send_signal(signal.SIGINT)
        out, _ = child.communicate(timeout=15)
    finally:
        stop_process(child)
        stop_process(producer)
    assert child.returncode == 0
    end = [line for line in out.splitlines() if line.startswith("END")]
    assert end and end[0].startswith("END interrupted"), out
    shown = int(end[0].split()[-1])
    indices, times = decoded_indices(record)
    assert len(indices) == shown >= 5
    assert increasing(indices)
    assert times == sorted(times)
    assert not list(tmp_path.glob(".*partial*"))


def test_a_source_that_disappears_ends_the_session_and_keeps_the_recording(tmp_path: Path) -> None:
    port = free_udp_port()
    record = tmp_path / "kept.mkv"
    sink = CollectingOutput()
    producer = start_producer(f"udp://127.0.0.1:{port}", frames=250, fps=25)

    class KillAfter(CollectingOutput):
        def write(self, image: np.ndarray, t: float) -> None:
            super().write(image, t)
            if len(self.indices) == 10:
                producer.kill()  # the "camera" is unplugged mid-session
                self.killed_at = time.perf_counter()

    killer = KillAfter()
    try:
        stats = run_live(
            LiveSource(url=f"udp://127.0.0.1:{port}", read_timeout_s=1.0),
            MarkingProcessor(),
            LiveOptions(window=False, record=record, extra_outputs=[sink, killer], status=None),
        )
        ended = time.perf_counter()
    finally:
        stop_process(producer)
    assert stats.source_lost
    assert "sent nothing" in stats.end_reason
    assert ended - killer.killed_at < 4.0  # read timeout 1 s plus a margin
    indices, _ = decoded_indices(record)
    assert len(indices) >= 10 and indices == sink.indices and sink.closed


@pytest.mark.slow
def test_the_real_pipeline_removes_the_mask_live(synthetic_clip, fifo: str, tmp_path: Path) -> None:
    """End to end: the synthetic masked clip played live through FramePipeline (reference composite), with live
    mode's options as ``unmask-video live`` sets them (the composite's reads in turn among them)."""
    from unmask_video.live import pipeline_options_for_live, reconstructor_options_for_live
    from unmask_video.pipeline import FramePipeline, PipelineOptions
    from unmask_video.reconstruct.factory import ReconstructorOptions, build_reconstructor

    height, width = synthetic_clip.truth.shape[1:3]
    rebuild = build_reconstructor(reconstructor_options_for_live(ReconstructorOptions(generator="none")))
    assert rebuild.options.reads_in_turn  # type: ignore[attr-defined]
    pipeline = FramePipeline(synthetic_clip.reference, rebuild, pipeline_options_for_live(PipelineOptions()))
    record = tmp_path / "live.mp4"
    producer = subprocess.Popen(
        [sys.executable, str(PRODUCER), fifo, "--clip", str(synthetic_clip.video_path), "--fps", "15",
         "--frames", "75", "--size", f"{width}x{height}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        stats = run_live(LiveSource(url=fifo, source_format="mpegts"), pipeline,
                         LiveOptions(window=False, record=record, max_seconds=1.5, status=None))  # fmt: skip
    finally:
        stop_process(producer)
    assert stats.end_reason == "time limit" and stats.frames_shown >= 6
    assert pipeline.stats.frames_with_face >= stats.frames_shown // 2
    with av.open(str(record)) as container:
        outputs = [f.to_ndarray(format="rgb24").astype(np.float32) for f in container.decode(video=0)]
    assert len(outputs) == stats.frames_shown
    masked = synthetic_clip.masked.astype(np.float32)
    truth = synthetic_clip.truth.astype(np.float32)
    drawn = synthetic_clip.masks > 0.5
    outside = ~drawn.any(axis=0)
    outside[1::2] = False  # every other row is plenty to tell the frames apart
    better = 0
    for out in outputs:
        # Which source frame this is: the one it matches away from the mask (which the pipeline leaves alone).
        away = np.abs(masked[:, outside] - out[outside]).mean(axis=(1, 2))
        k = int(np.argmin(away))
        assert away[k] < 8
        inside = drawn[k]
        better += np.abs(out - truth[k])[inside].mean() < 0.7 * np.abs(masked[k] - truth[k])[inside].mean()
    assert better >= len(outputs) * 0.6


WINDOW_CHILD = """
import sys
from pathlib import Path
from unmask_video.live import LiveOptions, LiveSource, run_live

class Mark:
    def warmup(self): pass
    def process(self, image, t):
        out = image.copy()
        out[200:230, 280:310] = 255
        return out

stats = run_live(LiveSource(url=sys.argv[1], source_format="mpegts"), Mark(),
                 LiveOptions(window=True, record=Path(sys.argv[2]), snapshot_dir=Path(sys.argv[3]),
                             status=lambda line: print("STATUS", line, flush=True), status_interval_s=0.2))
print("END", stats.end_reason, stats.frames_shown, flush=True)
"""


@pytest.mark.skipif(shutil.which("Xvfb") is None or shutil.which("xdotool") is None,
                    reason="needs Xvfb and xdotool (apt install xvfb xdotool) for a window without a screen")
def test_window_keys_snapshot_toggle_and_quit(fifo: str, tmp_path: Path) -> None:  # fmt: skip
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", "1", "-screen", "0", "800x600x24", "-nolisten", "tcp"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)  # fmt: skip
    producer = child = None
    try:
        assert xvfb.stdout is not None
        env = {**os.environ, "DISPLAY": f":{xvfb.stdout.readline().strip()}"}

        def xdotool(*args: str) -> str:
            return subprocess.run(["xdotool", *args], env=env, capture_output=True, text=True, timeout=10).stdout

        record, snapshots = tmp_path / "window.mp4", tmp_path / "snaps"
        producer = start_producer(fifo, frames=300, fps=25)
        child = subprocess.Popen([sys.executable, "-c", WINDOW_CHILD, fifo, str(record), str(snapshots)], cwd=REPO,
                                 env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)  # fmt: skip
        assert child.stdout is not None
        deadline = time.monotonic() + 20
        for line in child.stdout:  # bounded: the child ends with the producer (12 s) at the latest
            if line.startswith("STATUS") or time.monotonic() > deadline:
                break
        window = xdotool("search", "--name", "unmask-video").split()
        assert window, "the preview window did not appear"
        xdotool("windowfocus", window[0])
        for key, pause in (("s", 0.7), ("space", 1.0), ("q", 0.0)):
            xdotool("key", key)
            time.sleep(pause)
        out, _ = child.communicate(timeout=15)
    finally:
        for process in (child, producer, xvfb):
            if process is not None:
                stop_process(process)
    end = [line for line in out.splitlines() if line.startswith("END")]
    assert end and "quit" in end[0], out
    shots = list(snapshots.glob("unmask-snapshot-*.png"))
    assert len(shots) == 1
    import cv2

    shot = cv2.imread(str(shots[0]))
    assert shot.shape == (SIZE[1], SIZE[0], 3) and shot[MARK].mean() > 250  # taken with the effect on
    with av.open(str(record)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    marked = [bool(f[MARK].mean() > 250) for f in frames]
    # The effect was on, then space turned it off: marked frames first, then unmarked ones, in order.
    assert marked[0] and not marked[-1] and marked == sorted(marked, reverse=True)
    assert increasing([read_index(f) for f in frames])


# ------------------------------------------------------------------------------------- errors, no session


def test_the_window_needs_a_display_and_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert display_problem(system="Linux") is not None
    assert display_problem({"DISPLAY": ":0"}, system="Linux", probe=False) is None
    # A display that is set but cannot be reached: OpenCV would abort the process; the probe says so instead.
    unreachable = display_problem({**os.environ, "DISPLAY": ":97"}, system="Linux")
    assert unreachable is not None and "cannot open on display :97" in unreachable
    for options in (LiveOptions(window=True, record=tmp_path / "x.mp4"), LiveOptions()):
        with pytest.raises(InputError, match="no display.*--no-window"):
            run_live(LiveSource(url="udp://127.0.0.1:9"), MarkingProcessor(), options)


def test_no_output_at_all_is_an_input_error() -> None:
    with pytest.raises(InputError, match="no output"):
        run_live(LiveSource(url="udp://127.0.0.1:9"), MarkingProcessor(), LiveOptions(window=False))


def test_a_missing_camera_gives_a_clear_message(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    # No display but a recording: the window is left out quietly and the camera is what fails.
    with pytest.raises(InputError, match=r"/dev/video97.*does not exist.*--list-cameras"):
        run_live(LiveSource(device="97"), MarkingProcessor(), LiveOptions(record=tmp_path / "x.mp4"))
    assert not list(tmp_path.iterdir())


def test_a_silent_stream_gives_a_clear_message(tmp_path: Path) -> None:
    port = free_udp_port()
    start = time.perf_counter()
    with pytest.raises(InputError, match="sent nothing within 1 s"):
        run_live(LiveSource(url=f"udp://127.0.0.1:{port}", open_timeout_s=1.0), MarkingProcessor(),
                 LiveOptions(window=False, record=tmp_path / "x.mp4"))  # fmt: skip
    assert time.perf_counter() - start < 5


def test_the_processor_must_keep_the_frame_shape(fifo: str, tmp_path: Path) -> None:
    class Cropping(MarkingProcessor):
        def process(self, image: np.ndarray, t: float) -> np.ndarray:
            return image[:100]

    producer = start_producer(fifo, frames=60, fps=25)
    try:
        with pytest.raises(ProcessingError, match="returned"):
            run_live(LiveSource(url=fifo, source_format="mpegts"), Cropping(),
                     LiveOptions(window=False, record=tmp_path / "x.mp4", status=None))  # fmt: skip
    finally:
        stop_process(producer)


def test_virtual_camera_without_pyvirtualcam_says_how_to_install(tmp_path: Path) -> None:
    try:
        import pyvirtualcam  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("pyvirtualcam is installed here: the message for a missing one cannot be shown")
    with pytest.raises(InputError, match=r"pip install 'unmask-video\[virtualcam\]'"):
        run_live(LiveSource(url="udp://127.0.0.1:9"), MarkingProcessor(), LiveOptions(window=False, virtual_cam=True))


# ------------------------------------------------------------------------------------ pieces, no source


def test_cameras_and_streams_open_with_the_right_demuxer_and_options() -> None:
    spec = open_spec(LiveSource(device="2", video_size="1280x720", framerate="30", input_format="mjpeg"), "linux")
    assert (spec.target, spec.format, spec.is_camera) == ("/dev/video2", "v4l2", True)
    assert spec.options == {"video_size": "1280x720", "framerate": "30", "input_format": "mjpeg"}
    assert open_spec(LiveSource(), "linux").target == "/dev/video0"
    mac = open_spec(LiveSource(input_format="uyvy422"), "darwin")
    assert (mac.target, mac.format, mac.options["pixel_format"]) == ("0", "avfoundation", "uyvy422")
    windows = open_spec(LiveSource(device="Integrated Camera"), "win32")
    assert (windows.target, windows.format) == ("video=Integrated Camera", "dshow")
    udp = open_spec(LiveSource(url="udp://0.0.0.0:5000", options={"fifo_size": "1000"}))
    assert not udp.is_camera and udp.format is None
    assert udp.options["probesize"] == LOW_LATENCY_OPTIONS["probesize"] and udp.options["fifo_size"] == "1000"
    assert "nobuffer" not in udp.options.get("fflags", "")  # it would drop the probed key frame
    assert "overrun_nonfatal" not in open_spec(LiveSource(url="rtsp://cam/x")).options
    assert open_spec(LiveSource(url="rtsp://cam/x", low_latency=False)).options == {}


def test_list_cameras_reads_v4l2_devices_and_names(tmp_path: Path) -> None:
    dev, sysfs = tmp_path / "dev", tmp_path / "sys"
    for name in ("video0", "video10", "video2"):
        (dev / name).parent.mkdir(exist_ok=True)
        (dev / name).touch()
    (sysfs / "video0").mkdir(parents=True)
    (sysfs / "video0" / "name").write_text("Integrated Camera: Integrated C\n")
    cameras = list_cameras("Linux", dev, sysfs)
    assert [c.device for c in cameras] == [str(dev / "video0"), str(dev / "video2"), str(dev / "video10")]
    assert cameras[0].name == "Integrated Camera: Integrated C" and cameras[1].name == ""
    assert list(format_cameras(cameras))[0] == f"{dev / 'video0'}\tIntegrated Camera: Integrated C"
    assert list(format_cameras([])) == ["no cameras found"]


def test_window_keys() -> None:
    assert key_action(ord("q")) is KeyAction.QUIT and key_action(27) is KeyAction.QUIT
    assert key_action(ord(" ")) is KeyAction.TOGGLE
    assert key_action(ord("s")) is KeyAction.SNAPSHOT
    assert key_action(-1) is None and key_action(ord("x")) is None
    assert key_action(0x100000 | ord("q")) is KeyAction.QUIT  # waitKey's modifier bits are ignored


def test_command_line_flags_become_live_options(tmp_path: Path) -> None:
    parser = build_parser()

    def parse(*argv: str) -> argparse.Namespace:
        return parser.parse_args(["live", *argv])

    args = parse(
        "1", "--video-size", "640x480", "--framerate", "30", "--input-format", "mjpeg",
        "-o", "udp://127.0.0.1:5000", "--format", "mpegts", "--record", str(tmp_path / "r.mp4"),
        "--no-window", "--source-option", "thread_queue_size=8",
    )  # fmt: skip
    source, options = live_from_args(args)
    assert (source.device, source.url, source.video_size, source.framerate) == ("1", None, "640x480", "30")
    assert source.input_format == "mjpeg" and source.options == {"thread_queue_size": "8"}
    assert (options.stream_url, options.stream_format, options.window) == ("udp://127.0.0.1:5000", "mpegts", False)
    assert options.record == tmp_path / "r.mp4"
    source, options = live_from_args(parse("-o", str(tmp_path / "x.mkv")))
    assert source.device is None and options.record == tmp_path / "x.mkv" and options.window is None
    source, _ = live_from_args(parse("rtsp://cam/stream"))
    assert source.url == "rtsp://cam/stream" and source.device is None
    with pytest.raises(InputError, match="KEY=VALUE"):
        live_from_args(parse("--source-option", "nonsense"))


def test_meter_figures_and_status_line() -> None:
    meter = LiveMeter(window_s=10.0)
    for i in range(20):  # 20 frames at 10 fps, delays 10..29 ms, the stream clock in step with the wall clock
        meter.record(i * 2, captured_at=i * 0.1 - (10 + i) / 1000, stream_time=5 + i * 0.1, output_at=i * 0.1)
    stats = meter.finish(now=1.9)
    assert stats.frames_shown == 20 and stats.fps == pytest.approx(20 / 1.9)
    assert stats.delay_median_ms == pytest.approx(19.5) and stats.delay_p95_ms == pytest.approx(28.05)
    assert stats.lag_growth_ms == pytest.approx(0.0, abs=1e-6)
    line = meter.status_line(dropped=7)
    assert "10.0 fps" in line and "dropped 7" in line and "p95" in line
    stats.frames_dropped, stats.frames_captured = 7, 27
    assert "7 of 27 captured frames dropped" in stats.summary()


# ------------------------------------------------------------------------------- faults found in issue 12


def test_a_long_keyframe_interval_stream_shows_from_its_first_frames(fifo: str, tmp_path: Path) -> None:
    """MPEG-TS H.264 with one key frame at the start (x264's default interval of 250 frames): frames are shown
    from the first ones sent, and the session does not end while the producer is still sending."""
    producer = subprocess.Popen(
        [sys.executable, str(PRODUCER), fifo, "--frames", "60", "--fps", "25", "--gop", "250", "--size", "%dx%d" % SIZE],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    sink = CollectingOutput()
    record = tmp_path / "long_gop.mp4"
    try:
        stats = run_live(LiveSource(url=fifo, source_format="mpegts"), MarkingProcessor(),
                         LiveOptions(window=False, record=record, extra_outputs=[sink], status=None))  # fmt: skip
    finally:
        stop_process(producer)
    assert stats.frames_shown >= 50, stats.summary()  # was 0 ("end of stream" after all frames were sent)
    assert sink.indices[0] <= 3 and increasing(sink.indices)
    assert stats.end_reason == "end of stream"
    indices, _ = decoded_indices(record)
    assert indices == sink.indices


def test_a_recording_never_replaces_an_existing_file(tmp_path: Path) -> None:
    from unmask_video.live_outputs import LiveWriter

    record = tmp_path / "session.mp4"
    record.write_bytes(b"yesterday's session")
    with pytest.raises(InputError, match="already exists.*--overwrite"):
        run_live(LiveSource(url="udp://127.0.0.1:9"), MarkingProcessor(), LiveOptions(window=False, record=record))
    assert record.read_bytes() == b"yesterday's session"
    # Two sessions recording side by side get their own temporary files.
    a, b = LiveWriter(tmp_path / "a.mkv"), LiveWriter(tmp_path / "a2.mkv")
    c = LiveWriter(tmp_path / "a.mkv")
    for writer in (a, b, c):
        writer.open(*SIZE, 25.0)
    temps = {w._writer.temp_path for w in (a, b, c)}  # type: ignore[union-attr]
    assert len(temps) == 3 and all(t is not None and t.exists() for t in temps)
    frame = np.zeros((SIZE[1], SIZE[0], 3), np.uint8)
    for writer in (a, c):
        writer.write(frame, 0.0)
        writer.write(frame, 0.04)
    a.close()
    with pytest.raises(ProcessingError, match="a-2.mkv"):  # c's file appeared meanwhile: kept beside it
        c.close()
    b.close()  # no frame: nothing is left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-2.mkv", "a.mkv", "session.mp4"]


def test_a_recording_says_it_was_processed(fifo: str, tmp_path: Path) -> None:
    from unmask_video import __version__
    from unmask_video.io import METADATA_KEY, PROCESSED_COMMENT

    producer = start_producer(fifo, frames=20, fps=25)
    record, stream_copy = tmp_path / "tagged.mkv", tmp_path / "tagged.ts"
    try:
        run_live(LiveSource(url=fifo, source_format="mpegts"), MarkingProcessor(),
                 LiveOptions(window=False, record=record, status=None, max_frames=10))  # fmt: skip
    finally:
        stop_process(producer)
    with av.open(str(record)) as container:
        tags = {k.lower(): v for k, v in container.metadata.items()}
    assert tags["comment"] == PROCESSED_COMMENT and tags[METADATA_KEY.lower()] == __version__
    producer = start_producer(fifo, frames=20, fps=25)
    try:
        run_live(LiveSource(url=fifo, source_format="mpegts"), MarkingProcessor(),
                 LiveOptions(window=False, record=stream_copy, status=None, max_frames=10))  # fmt: skip
    finally:
        stop_process(producer)
    assert f"unmask-video {__version__}".encode() in stream_copy.read_bytes()


class SwitchRecordingProcessor(MarkingProcessor):
    """Records Python's thread switch interval while it processes."""

    def __init__(self) -> None:
        super().__init__()
        self.intervals: set[float] = set()

    def process(self, image: np.ndarray, t: float) -> np.ndarray:
        self.intervals.add(sys.getswitchinterval())
        return super().process(image, t)


def test_the_switch_interval_is_held_during_a_session_and_restored_after(fifo: str, tmp_path: Path) -> None:
    before = sys.getswitchinterval()
    processor = SwitchRecordingProcessor()
    producer = start_producer(fifo, frames=20, fps=25)
    try:
        stats = run_live(
            LiveSource(url=fifo, source_format="mpegts", read_timeout_s=5),
            processor,
            LiveOptions(window=False, extra_outputs=[CollectingOutput()], status=None, switch_interval_s=0.002),
        )
    finally:
        stop_process(producer)
    assert stats.frames_shown >= 5
    assert processor.intervals == {0.002}
    assert sys.getswitchinterval() == before
