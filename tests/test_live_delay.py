"""Where live mode's delay goes, and what shortens it: each shown frame's delay split at the stage boundaries
(unmask_video.live_stats.FrameMarks), a stale captured frame given up for the next one
(LatestFrameCapture.get(fresh=...)), and the encoders fed the decoded planes (live_outputs.SourcePlanes)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import av
import numpy as np
import pytest

from tests.test_live import CollectingOutput, increasing, start_producer, stop_process
from unmask_video.io.color import FrameToRGB
from unmask_video.live import LiveEncodeOptions, LiveOptions, LiveSource, run_live
from unmask_video.live_capture import LatestFrameCapture
from unmask_video.live_stats import SPANS, FrameMarks, LiveMeter

# ------------------------------------------------------------------------------------- the delay by span


def test_the_spans_of_a_frame_add_up_to_its_delay() -> None:
    meter = LiveMeter()
    marks = FrameMarks(3, captured_at=10.000, stream_time=None, taken_at=10.004, located_at=10.030,
                       picked_at=10.031, processed_at=10.050, output_at=10.052)  # fmt: skip
    meter.record_marks(marks, written_at=10.060)
    stats = meter.finish(10.060)
    spans = {name: values[0] for name, values in stats.spans_ms.items()}
    assert list(spans) == list(SPANS)
    assert spans == pytest.approx({"capture": 4, "locate": 26, "slot": 1, "process": 19, "queue": 2, "output": 8})
    assert sum(spans.values()) == pytest.approx(stats.delays_ms[0]) == pytest.approx(60)
    assert stats.waits_ms == pytest.approx([4]) and stats.indices == [3]
    assert stats.span_percentiles(50)["locate"] == pytest.approx(26)


# ----------------------------------------------------------------------------- a stale frame given up


class FakeFrame(SimpleNamespace):
    time = None


def idle_capture() -> LatestFrameCapture:
    """A LatestFrameCapture whose thread is not started: the test publishes the frames itself."""
    stream = SimpleNamespace(thread_type=None, codec_context=SimpleNamespace(width=4, height=4))
    return LatestFrameCapture(SimpleNamespace(streams=SimpleNamespace(video=[stream])), "fake")


def steady(capture: LatestFrameCapture, period_s: float, count: int = 10) -> None:
    for i in range(count):
        if i:
            time.sleep(period_s)
        capture._publish(FakeFrame(n=i))


PERIOD = 0.1


def test_a_stale_frame_is_given_up_for_the_next_one() -> None:
    """A 10 fps source: the frame in the slot is 0.6 intervals old when it is asked for; the next one arrives
    0.1 intervals later and is the one taken; the stale one is counted as dropped."""
    capture = idle_capture()
    steady(capture, PERIOD)
    stale = capture._slot
    assert stale is not None
    time.sleep(0.6 * PERIOD - (time.perf_counter() - stale.captured_at))
    assert_the_next_frame_is_taken(capture, after=0.1)
    assert capture.period_s == pytest.approx(PERIOD, rel=0.5)


def assert_the_next_frame_is_taken(capture: LatestFrameCapture, after: float, period: float = PERIOD) -> None:
    """A frame is asked for while the next one arrives ``after`` intervals later: that one is taken, the stale one
    in the slot dropped."""
    dropped = capture.dropped
    later = threading.Timer(after * period, lambda: capture._publish(FakeFrame(n="next")))
    later.start()
    got = capture.get(timeout=1.0, fresh=0.5)
    later.join()
    assert got is not None and got.frame.n == "next"
    assert capture.dropped == dropped + 1 and capture.stale_waits == 1


def test_a_stale_frame_is_taken_when_no_newer_one_comes() -> None:
    capture = idle_capture()
    steady(capture, PERIOD)
    stale = capture._slot
    time.sleep(0.7 * PERIOD)
    got = capture.get(timeout=1.0, fresh=0.5)  # (stale, and nothing more comes)
    assert got is stale and capture.stale_waits == 1 and capture._slot is None


def test_a_taker_that_cannot_keep_up_takes_a_stale_frame_at_once() -> None:
    """A taker that spends more than an interval on each frame would only idle while waiting for a fresher one: the
    stale frame (0.6 intervals old, the next one due in 0.4) is taken as it is (no wait, nothing dropped)."""
    capture = slow_taker_with_a_stale_frame(0.6)
    dropped = capture.dropped
    got = capture.get(timeout=1.0, fresh=0.5)
    assert got is not None and got.frame.n == "old"
    assert capture.stale_waits == 0 and capture.dropped == dropped


#: The slow taker's source: a 5 fps one, so that a late wake-up on a busy machine is small against its interval
SLOW_PERIOD = 0.2


def slow_taker_with_a_stale_frame(age: float, late_every: int = 0) -> LatestFrameCapture:
    """A taker that spends 1.5 intervals on each frame, asking for a frame that is ``age`` intervals old; with
    ``late_every``, every so many frames of the source came half an interval late (its arrivals' 90th percentile
    is then 1.5 intervals: a stale frame's wait would usually last that long)."""
    capture = idle_capture()
    for i in range(12):
        if i:
            time.sleep(SLOW_PERIOD * (1.5 if late_every and i % late_every == 0 else 1.0))
        capture._publish(FakeFrame(n=i))
    assert capture.get(timeout=1.0, fresh=0.5) is not None
    time.sleep((1.5 - age) * SLOW_PERIOD)
    capture._publish(FakeFrame(n="old"))
    time.sleep(age * SLOW_PERIOD - (time.perf_counter() - capture._slot.captured_at))
    return capture


def test_a_taker_that_cannot_keep_up_waits_for_a_next_frame_due_within_a_fifth_interval() -> None:
    """The frame in the slot is 0.85 intervals old: the next one is due 0.15 intervals later, so the slow taker waits
    for it (a short wait of its own time against a frame 0.85 intervals younger); the stale one is dropped."""
    assert_the_next_frame_is_taken(slow_taker_with_a_stale_frame(0.85), after=0.15, period=SLOW_PERIOD)


def test_a_slow_takers_wait_ends_a_fifth_of_an_interval_after_the_next_frame_was_due() -> None:
    """A source whose frames often come late, and nothing more comes: the slow taker takes its stale frame a fifth of
    an interval after the next one was due (1.2 intervals after the stale one arrived), not at the wait's usual end
    (the arrivals' 90th percentile, here 1.5 intervals)."""
    capture = slow_taker_with_a_stale_frame(0.85, late_every=3)
    stale = capture._slot
    assert stale is not None
    got = capture.get(timeout=1.0, fresh=0.5)
    ended = time.perf_counter() - stale.captured_at
    assert got is stale and capture.stale_waits == 1
    assert 1.1 * SLOW_PERIOD <= ended < 1.4 * SLOW_PERIOD


def test_a_fresh_frame_or_an_unsteady_start_is_taken_at_once() -> None:
    capture = idle_capture()
    steady(capture, PERIOD)
    capture._publish(FakeFrame(n="fresh"))
    got = capture.get(timeout=1.0, fresh=0.5)  # (just published: younger than half an interval)
    assert got is not None and got.frame.n == "fresh" and capture.stale_waits == 0
    starting = idle_capture()
    steady(starting, PERIOD, count=3)  # (too few frames to know the source's pace)
    assert starting.get(timeout=1.0, fresh=0.5) is not None and starting.stale_waits == 0
    steady(starting, PERIOD, count=2)
    assert starting.get(timeout=1.0) is not None and starting.stale_waits == 0  # (fresh=None: as before)


class SlowMarker:
    """A splitting processor slower than its source (like FramePipeline: locate on the worker, rebuild here);
    paints a mark and notes the frames it saw."""

    def __init__(self, locate_ms: float, rebuild_ms: float) -> None:
        self.locate_s, self.rebuild_s = locate_ms / 1000, rebuild_ms / 1000
        self.located: list[int] = []

    def warmup(self) -> None:
        pass

    def process(self, image: np.ndarray, t: float) -> np.ndarray:
        return self.rebuild([image], [t], [self.locate(image, t)])[0]

    def locate(self, image: np.ndarray, t: float) -> int:
        from tests.live_producer import read_index

        time.sleep(self.locate_s)
        self.located.append(read_index(image))
        return self.located[-1]

    def rebuild(self, images, times, faces, in_place: bool = False) -> list[np.ndarray]:
        time.sleep(self.rebuild_s)
        out = images[0] if in_place else images[0].copy()
        out[200:230, 280:310] = 255
        return [out]


@pytest.mark.parametrize("stale_after, ahead", [(0.5, True), (None, True), (0.5, False)])
def test_a_session_that_gives_up_stale_frames_keeps_their_order_and_its_figures(
    tmp_path: Path, stale_after: float | None, ahead: bool
) -> None:
    """A processor slower than the 25 fps source (landmarks 50 ms, on the worker or not, and a 20 ms rebuild):
    every shown frame is processed once, in capture order, with its own landmarks; the spans of every frame add up
    to its delay (without the worker, its spans are 0); and every frame decoded is shown or dropped (given-up stale
    frames are counted as dropped)."""
    fifo = tmp_path / "camera.fifo"
    os.mkfifo(fifo)
    sink, processor = CollectingOutput(), SlowMarker(locate_ms=50, rebuild_ms=20)
    producer = start_producer(str(fifo), frames=60, fps=25)
    try:
        stats = run_live(LiveSource(url=str(fifo), source_format="mpegts", read_timeout_s=5), processor,
                         LiveOptions(window=False, extra_outputs=[sink], status=None, stale_after=stale_after,
                                     landmarks_ahead=ahead))  # fmt: skip
    finally:
        stop_process(producer)
    assert stats.frames_shown >= 10 and all(sink.marked)
    assert increasing(sink.indices) and sink.indices == processor.located
    assert abs(stats.frames_shown + stats.frames_dropped - stats.frames_captured) <= 1
    totals = np.sum([stats.spans_ms[name] for name in SPANS], axis=0)
    assert totals == pytest.approx(stats.delays_ms, abs=1e-6)
    assert min(min(values) for values in stats.spans_ms.values()) >= 0.0
    assert stale_after is not None or stats.fresher_waits == 0
    if not ahead:
        assert max(stats.spans_ms["locate"]) == max(stats.spans_ms["slot"]) == 0.0


# -------------------------------------------------------------------------- the encoders and the planes


class BoxPainter:
    """A splitting processor that changes one box of each frame in place and says so, like FramePipeline's
    ``last_changed``; keeps a copy of every frame it was given."""

    BOX = (96, 64, 160, 128)  # x0, y0, x1, y1

    def __init__(self) -> None:
        self.inputs: list[np.ndarray] = []
        self.last_changed: list[list[tuple[int, int, int, int]]] = []

    def warmup(self) -> None:
        pass

    def process(self, image: np.ndarray, t: float) -> np.ndarray:
        return self.rebuild([image], [t], [self.locate(image, t)])[0]

    def locate(self, image: np.ndarray, t: float) -> None:
        return None

    def rebuild(self, images, times, faces, in_place: bool = False) -> list[np.ndarray]:
        self.inputs.append(images[0].copy())
        out = images[0] if in_place else images[0].copy()
        x0, y0, x1, y1 = self.BOX
        out[y0:y1, x0:x1] = (200, 40, 90)
        self.last_changed = [[self.BOX]]
        return [out]


def test_the_recording_keeps_the_decoded_pixels_outside_the_changed_box(tmp_path: Path) -> None:
    """Lossless recording (crf 0): outside the box the processor changed, each recorded frame is the decoded
    source frame itself (its planes went to the encoder untouched: the same RGB as the processor was given, to
    the level); inside, the processor's colour. Converting the whole frame back from RGB would move levels."""
    fifo = tmp_path / "camera.fifo"
    os.mkfifo(fifo)
    processor, record = BoxPainter(), tmp_path / "rec.mkv"
    producer = start_producer(str(fifo), frames=30, fps=25)
    try:
        stats = run_live(LiveSource(url=str(fifo), source_format="mpegts", read_timeout_s=5), processor,
                         LiveOptions(window=False, record=record, status=None,
                                     encode=LiveEncodeOptions(crf=0)))  # fmt: skip
    finally:
        stop_process(producer)
    to_rgb = FrameToRGB()
    with av.open(str(record)) as container:
        recorded = [to_rgb(frame) for frame in container.decode(video=0)]
    assert stats.frames_shown >= 10 and len(recorded) == len(processor.inputs) == stats.frames_shown
    x0, y0, x1, y1 = BoxPainter.BOX
    outside = np.ones(recorded[0].shape[:2], bool)
    outside[y0 - 2 : y1 + 2, x0 - 2 : x1 + 2] = False  # (the box's chroma neighbours)
    for got, given in zip(recorded, processor.inputs):
        assert np.array_equal(got[outside], given[outside])
        assert np.abs(got[y0 + 2 : y1 - 2, x0 + 2 : x1 - 2].astype(int) - (200, 40, 90)).max() <= 3


# ------------------------------------------------------------------------------------ the outputs' order


def test_the_outputs_a_viewer_watches_are_written_before_the_recording(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the outputs thread a frame goes to the virtual camera first, then the stream, the recording last: the
    call app does not wait for the encoders."""
    import unmask_video.live as live

    class FakeCamera:
        name = "virtual camera"

        def __init__(self, device: str | None = None) -> None:
            self.device = device

    monkeypatch.setattr(live, "VirtualCameraOutput", FakeCamera)
    options = LiveOptions(window=False, virtual_cam=True, stream_url="udp://127.0.0.1:5000",
                          record=tmp_path / "session.mkv")  # fmt: skip
    outputs, window = live._make_outputs(options)
    assert window is None
    assert [output.name for output in outputs] == ["virtual camera", "stream", "recording"]
