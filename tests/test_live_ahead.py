"""Live mode's landmarks one frame ahead (unmask_video.live_ahead): order kept, stale frames dropped, bounded,
paced, errors raised on the processing thread, and the same pictures as the stages run in turn."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from unmask_video.live_ahead import LandmarksAhead


class NewestSlot:
    """A stand-in for LatestFrameCapture: a producer thread publishes 0, 1, 2 ... every ``period_s``; ``get`` hands
    out the newest one not yet taken (older ones are dropped and counted)."""

    def __init__(self, count: int, period_s: float) -> None:
        self.count, self.period_s = count, period_s
        self.cond = threading.Condition()
        self.slot: tuple[int, float] | None = None
        self.dropped = 0
        self.ended = False
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "NewestSlot":
        self.thread.start()
        return self

    def _run(self) -> None:
        for index in range(self.count):
            time.sleep(self.period_s)
            with self.cond:
                self.dropped += self.slot is not None
                self.slot = (index, time.perf_counter())
                self.cond.notify_all()
        with self.cond:
            self.ended = True
            self.cond.notify_all()

    def get(self, timeout: float) -> tuple[int, float] | None:
        with self.cond:
            if self.slot is None and not self.ended:
                self.cond.wait(timeout)
            item, self.slot = self.slot, None
            return item


def drain(ahead: LandmarksAhead, busy_s: float) -> list:
    out = []
    deadline = time.perf_counter() + 20
    while not ahead.finished and time.perf_counter() < deadline:
        got = ahead.get(timeout=0.05)
        if got is not None:
            out.append((got, time.perf_counter()))
            time.sleep(busy_s)  # the face stages of this frame
    ahead.close()
    return out


def test_frames_come_in_order_and_stale_ones_are_dropped_not_queued() -> None:
    """A 500 fps source, landmarks 4 ms, face stages 12 ms: most frames are dropped, the rest come in order,
    and each one is the newest there was when its landmarks started (at most one frame is ever ahead)."""
    source = NewestSlot(count=400, period_s=0.002).start()
    located: list[int] = []

    def locate(item: tuple[int, float]) -> int:
        located.append(item[0])
        time.sleep(0.004)
        return item[0] * 10

    got = drain(LandmarksAhead(source.get, locate, lambda: source.ended, pace=False).start(), busy_s=0.012)
    indices = [g.item[0] for g, _ in got]
    assert len(indices) >= 10
    assert all(a < b for a, b in zip(indices, indices[1:]))  # capture order
    assert [g.result for g, _ in got] == [i * 10 for i in indices]  # each frame with its own landmarks
    assert located == indices  # nothing located was thrown away, nothing handed out twice
    assert source.dropped >= len(indices)  # the frames the loop could not keep up with were dropped
    # Bounded: a frame handed out never waited for more than one frame's face stages (plus scheduling slack).
    waits = [taken - g.started_at for g, taken in got]
    assert float(np.median(waits)) < 0.012 + 0.004 + 0.02


def test_pacing_starts_the_landmarks_just_in_time() -> None:
    """Face stages of 40 ms, landmarks of 3 ms: unpaced, a located frame waits ~35 ms for the face stages; paced,
    the landmarks start late enough that it waits only a few ms (a fresher frame, the same throughput)."""
    results = {}
    for pace in (False, True):
        source = NewestSlot(count=600, period_s=0.001).start()
        got = drain(LandmarksAhead(source.get, lambda item: time.sleep(0.003), lambda: source.ended, pace=pace).start(),
                    busy_s=0.040)  # fmt: skip
        waits = [taken - g.started_at - 0.003 for g, taken in got[3:]]  # after the averages settled
        results[pace] = (float(np.median(waits)), len(got))
    unpaced, paced = results[False], results[True]
    assert unpaced[0] > 0.025
    assert paced[0] < 0.5 * unpaced[0]
    assert paced[1] >= 0.8 * unpaced[1]  # throughput kept


def test_an_error_in_the_landmarks_is_raised_on_the_processing_thread() -> None:
    source = NewestSlot(count=50, period_s=0.002).start()

    def locate(item: tuple[int, float]) -> None:
        if item[0] >= 5:
            raise RuntimeError("landmarks failed")

    ahead = LandmarksAhead(source.get, locate, lambda: source.ended).start()
    with pytest.raises(RuntimeError, match="landmarks failed"):
        drain(ahead, busy_s=0.001)
    ahead.close()


def test_landmarks_ahead_give_the_same_pictures_as_the_stages_in_turn(synthetic_clip) -> None:
    """The real pipeline: every frame located one ahead on the worker and rebuilt in place gives exactly the
    frames ``process`` gives when all stages run in turn (the tracker sees the same frames in the same order)."""
    from unmask_video.pipeline import FramePipeline
    from unmask_video.reconstruct.factory import ReconstructorOptions, build_reconstructor

    frames = [np.array(f) for f in synthetic_clip.masked[:12]]

    def pipeline() -> FramePipeline:
        return FramePipeline(synthetic_clip.reference, build_reconstructor(ReconstructorOptions(generator="none")))

    serial = pipeline()
    try:
        expected = [serial.process(f, i / 25) for i, f in enumerate(frames)]
    finally:
        serial.close()
    assert sum(not np.array_equal(e, f) for e, f in zip(expected, frames)) >= 6  # the masks were removed

    for prepare_ahead in (False, True):
        queue = [(index, frame.copy()) for index, frame in enumerate(frames)]
        split = pipeline()

        def locate(item: tuple[int, np.ndarray]) -> object:
            faces = split.locate(item[1], item[0] / 25)
            return split.prepare([item[1]], [faces]) if prepare_ahead else faces

        try:
            ahead = LandmarksAhead(lambda timeout: queue.pop(0) if queue else None, locate, lambda: not queue).start()
            outputs = []
            for got, _ in drain_all(ahead):
                (index, image), located = got.item, got.result
                if prepare_ahead:  # the mask and warp ran on the worker: only reconstruction and blend here
                    outputs.append(split.finish(located, in_place=True)[0])
                else:
                    outputs.append(split.rebuild([image], [index / 25], [located], in_place=True)[0])
        finally:
            split.close()
        assert len(outputs) == len(expected)
        for out, want in zip(outputs, expected):
            assert np.array_equal(out, want)


def drain_all(ahead: LandmarksAhead) -> list:
    return drain(ahead, busy_s=0.0)


class SplitMarker:
    """A processor that splits like FramePipeline: ``locate`` reads the frame's index (sleeping like landmarks),
    ``rebuild`` checks it got that frame's own result and paints the mark (sleeping like the face stages)."""

    def __init__(self, locate_ms: float, rebuild_ms: float) -> None:
        self.locate_s, self.rebuild_s = locate_ms / 1000, rebuild_ms / 1000
        self.located: list[int] = []
        self.rebuilt: list[int] = []
        self.threads: set[str] = set()

    def warmup(self) -> None:
        pass

    def locate(self, image: np.ndarray, t: float) -> int:
        from tests.live_producer import read_index

        self.threads.add(threading.current_thread().name)
        time.sleep(self.locate_s)
        index = read_index(image)
        self.located.append(index)
        return index

    def rebuild(self, images, times, faces_per_frame, in_place: bool = False) -> list[np.ndarray]:
        from tests.live_producer import read_index
        from tests.test_live import MARK

        (image,), (index,) = images, faces_per_frame
        assert read_index(image) == index  # this frame's own landmarks
        time.sleep(self.rebuild_s)
        self.rebuilt.append(index)
        out = image if in_place else image.copy()
        out[MARK] = 255
        return [out]

    def process(self, image: np.ndarray, t: float) -> np.ndarray:
        return self.rebuild([image], [t], [self.locate(image, t)])[0]


class PreparingMarker(SplitMarker):
    """A SplitMarker that also prepares apart, like FramePipeline: ``prepare`` (sleeping like the mask and warp)
    notes its thread and the frame's index, ``finish`` paints the mark on that frame."""

    def __init__(self, locate_ms: float, prepare_ms: float, finish_ms: float) -> None:
        super().__init__(locate_ms, finish_ms)
        self.prepare_s = prepare_ms / 1000
        self.prepare_threads: set[str] = set()
        self.finish_threads: set[str] = set()

    def prepare(self, images, faces_per_frame) -> tuple[np.ndarray, int]:
        self.prepare_threads.add(threading.current_thread().name)
        time.sleep(self.prepare_s)
        (image,), (index,) = images, faces_per_frame
        return image, index

    def finish(self, prepared: tuple[np.ndarray, int], in_place: bool = False) -> list[np.ndarray]:
        self.finish_threads.add(threading.current_thread().name)
        image, index = prepared
        return self.rebuild([image], [0.0], [index], in_place)


def live_session(tmp_path, processor, **options):
    """A live session of 75 frames at 25 fps from the producer through a named pipe into a collecting output, with
    ``processor`` and ``LiveOptions`` ``options``: (the session's stats, the output)."""
    import os

    from tests.test_live import CollectingOutput, start_producer, stop_process
    from unmask_video.live import LiveOptions, LiveSource, run_live

    fifo = tmp_path / "camera.fifo"
    os.mkfifo(fifo)
    sink = CollectingOutput()
    producer = start_producer(str(fifo), frames=75, fps=25)
    try:
        stats = run_live(LiveSource(url=str(fifo), source_format="mpegts", read_timeout_s=5), processor,
                         LiveOptions(window=False, extra_outputs=[sink], status=None, **options))  # fmt: skip
    finally:
        stop_process(producer)
    return stats, sink


def test_a_live_session_runs_the_mask_and_warp_with_the_landmarks_when_the_processor_prepares(tmp_path) -> None:
    """A processor with prepare/finish (as FramePipeline): the worker runs locate and prepare, the processing
    thread only finish; every shown frame is its own, in order. Landmarks 15 ms + prepare 40 ms ahead of a 35 ms
    finish: overlapped, the fps is bounded by the slower thread (55 ms), not by all three in turn (90 ms)."""
    from tests.test_live import increasing

    processor = PreparingMarker(locate_ms=15, prepare_ms=40, finish_ms=35)
    stats, sink = live_session(tmp_path, processor)
    assert stats.frames_shown >= 10 and all(sink.marked)
    assert processor.threads == processor.prepare_threads == {"unmask-video-live-landmarks"}
    assert processor.finish_threads and "unmask-video-live-landmarks" not in processor.finish_threads
    assert increasing(sink.indices) and sink.indices == processor.rebuilt == processor.located
    assert stats.fps > 1000 / 90 * 1.05


def test_a_live_session_runs_the_landmarks_ahead_in_order_and_drops_stale_frames(tmp_path) -> None:
    """run_live with a splitting processor slower than the 25 fps source: the landmarks run on the worker thread,
    every shown frame was located once and rebuilt with its own landmarks, in capture order; the frames it could
    not keep up with were dropped at the capture, and the delay stays bounded (no queue)."""
    from tests.test_live import increasing
    from unmask_video.timing import StageTimer

    processor, timer = SplitMarker(locate_ms=25, rebuild_ms=60), StageTimer()
    stats, sink = live_session(tmp_path, processor, timer=timer)
    assert stats.end_reason == "end of stream"
    assert stats.frames_shown >= 10 and all(sink.marked)
    assert processor.threads == {"unmask-video-live-landmarks"}
    assert increasing(sink.indices) and sink.indices == processor.rebuilt == processor.located
    assert stats.frames_dropped >= stats.frames_shown * 0.5
    assert abs(stats.frames_shown + stats.frames_dropped - stats.frames_captured) <= 1
    # Overlapped, the fps is bounded by the face stages (60 ms), not by landmarks + face stages (85 ms) ...
    assert stats.fps > 1000 / 85 * 1.05
    # ... and the delay by one pass through both, plus a frame interval, not by a queue.
    assert stats.delay_p95_ms < 25 + 60 + 40 + 100
    assert len(stats.waits_ms) == stats.frames_shown
    assert {"rgb", "decode", "output"} <= set(timer.seconds)


def test_the_mask_and_warp_in_a_forked_process_give_the_same_pictures(synthetic_clip) -> None:
    """``LiveOptions.prepare_process``: the worker's mask and warp run in the forked process of the file loop; the
    frames come out exactly as when every stage runs in turn (the child keeps the segmenter's and warper's state)."""
    from dataclasses import dataclass

    import av

    from unmask_video.live import _Frames, _State
    from unmask_video.pipeline import FramePipeline
    from unmask_video.prepare_process import PrepareProcess, ProcessOptions, fork_available
    from unmask_video.reconstruct.factory import ReconstructorOptions, build_reconstructor
    from unmask_video.timing import StageTimer

    if not fork_available():
        pytest.skip("no fork on this platform")

    @dataclass
    class Item:
        frame: av.VideoFrame
        captured_at: float

    items = [Item(av.VideoFrame.from_ndarray(np.array(f), format="rgb24"), i / 25)
             for i, f in enumerate(synthetic_clip.masked[:10])]  # fmt: skip

    def pipeline() -> FramePipeline:
        return FramePipeline(synthetic_clip.reference, build_reconstructor(ReconstructorOptions(generator="none")))

    serial = pipeline()
    converted = _Frames(serial, _State(), StageTimer(), 0.0)
    try:
        expected = [serial.process(converted.image(item), item.captured_at) for item in items]
    finally:
        serial.close()
    split = pipeline()
    frames = _Frames(split, _State(), StageTimer(), 0.0, prepare=True)
    height, width = expected[0].shape[:2]
    frames.child = PrepareProcess(split, (height, width), ProcessOptions(slots=2))
    try:
        outputs = []
        for item in items:
            image, prepared = frames.locate(item)
            outputs.append(frames.process(item, image, prepared)[0])
    finally:
        frames.child.close()
        split.close()
    assert sum(not np.array_equal(out, f) for out, f in zip(outputs, synthetic_clip.masked)) >= 5  # masks removed
    for out, want in zip(outputs, expected):
        assert np.array_equal(out, want)
