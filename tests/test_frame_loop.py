"""The threaded frame loop: same output as the serial loop, order kept, errors and Ctrl-C stop it cleanly."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import pytest

from unmask_video.frame_loop import FrameLoopOptions, run_threaded
from unmask_video.runner import RunOptions, run_file
from unmask_video.synthetic import ClipSpec
from unmask_video.timing import StageTimer


@dataclass
class Frame:
    image: np.ndarray
    time_s: float
    index: int


class Source:
    """Yields ``count`` frames with an audio packet before every other one and one after the last."""

    def __init__(self, count: int, fail_at: int | None = None) -> None:
        self.count, self.fail_at = count, fail_at
        self.closed = False

    def frames(self, on_packet=None):
        try:
            for i in range(self.count):
                if i == self.fail_at:
                    raise OSError(f"bad packet at frame {i}")
                if i % 2 == 0 and on_packet is not None:
                    on_packet(f"audio-{i}")
                yield Frame(np.full((4, 4, 3), i % 256, np.uint8), i / 25.0, i)
            if on_packet is not None:
                on_packet("audio-end")
        finally:
            self.closed = True


class Pipeline:
    """Adds 1 to every frame the landmarks stage 'found' (even frames), records the order of each stage."""

    debug = None

    def __init__(self, fail_at: int | None = None, prepare_fails_at: int | None = None) -> None:
        self.located: list[int] = []
        self.prepared: list[int] = []
        self.rebuilt: list[int] = []
        self.fail_at, self.prepare_fails_at = fail_at, prepare_fails_at
        self.threads: set[str] = set()
        self.prepare_threads: set[str] = set()

    def locate(self, image, t):
        self.threads.add(threading.current_thread().name)
        index = round(t * 25)
        self.located.append(index)
        if index == self.fail_at:
            raise ValueError(f"landmarks failed at frame {index}")
        return [np.zeros((468, 2), np.float32)] if index % 2 == 0 else []

    def rebuild(self, images, times, faces_per_frame, in_place=False):
        return self.finish(self.prepare(images, faces_per_frame), in_place)

    def prepare(self, images, faces_per_frame):
        self.prepare_threads.add(threading.current_thread().name)
        for image in images:
            index = int(image[0, 0, 0])  # (the frames' values are their index until the blend adds 1)
            self.prepared.append(index)
            if index == self.prepare_fails_at:
                raise ValueError(f"mask failed at frame {index}")
        return list(zip(images, faces_per_frame))

    def finish(self, batch, in_place=False):
        out = []
        self.last_changed = []
        for image, faces in batch:
            self.rebuilt.append(int(image[0, 0, 0]))
            if faces:
                image += 1
            out.append(image)
            self.last_changed.append([(0, 0, image.shape[1], image.shape[0])] if faces else [])
        return out


class Sink:
    def __init__(self, interrupt_at: int | None = None) -> None:
        self.events: list[object] = []
        self.interrupt_at = interrupt_at

    def write(self, frame, image):
        if frame.index == self.interrupt_at:
            raise KeyboardInterrupt
        self.events.append((frame.index, int(image[0, 0, 0])))
        assert frame.changed == ([(0, 0, 4, 4)] if frame.index % 2 == 0 else [])  # what the stages changed, per frame

    def mux_packet(self, packet):
        self.events.append(packet)


def _workers_alive() -> list[str]:
    names = ("unmask-video-decode", "unmask-video-landmarks", "unmask-video-prepare", "unmask-video-prepare-get")
    return [t.name for t in threading.enumerate() if t.name in names]


@pytest.mark.parametrize("decode_thread", [False, True])
@pytest.mark.parametrize("split", [False, True])
@pytest.mark.parametrize("batch", [1, 3])
def test_frames_and_audio_keep_their_order(batch: int, split: bool, decode_thread: bool) -> None:
    source, pipeline, sink = Source(20), Pipeline(), Sink()
    run_threaded(source, sink, pipeline, StageTimer(), batch=batch, depth=2, split_face_stages=split,
                 decode_thread=decode_thread)  # fmt: skip
    expected: list[object] = []
    for i in range(20):
        if i % 2 == 0:
            expected.append(f"audio-{i}")
        expected.append((i, i + 1 if i % 2 == 0 else i))
    assert sink.events == [*expected, "audio-end"]
    assert pipeline.located == pipeline.prepared == pipeline.rebuilt == list(range(20))
    assert pipeline.threads == {"unmask-video-landmarks"}  # landmarks off the calling thread
    # mask and warp on their own thread when split, else on the calling one
    assert pipeline.prepare_threads == ({"unmask-video-prepare"} if split else {threading.current_thread().name})
    assert source.closed and _workers_alive() == []


@pytest.mark.parametrize("decode_thread", [False, True])
@pytest.mark.parametrize("where", ["decode", "landmarks", "prepare"])
def test_worker_errors_reach_the_caller(where: str, decode_thread: bool) -> None:
    source = Source(30, fail_at=7 if where == "decode" else None)
    pipeline = Pipeline(fail_at=7 if where == "landmarks" else None, prepare_fails_at=7 if where == "prepare" else None)
    sink = Sink()
    error = OSError if where == "decode" else ValueError
    with pytest.raises(error, match="at frame 7"):
        run_threaded(source, sink, pipeline, StageTimer(), depth=2, split_face_stages=True, decode_thread=decode_thread)
    assert [e for e in sink.events if isinstance(e, tuple)] == [(i, i + 1 - i % 2) for i in range(7)]
    assert _workers_alive() == []


def test_ctrl_c_in_the_caller_stops_the_workers() -> None:
    source = Source(10_000)
    with pytest.raises(KeyboardInterrupt):
        run_threaded(source, Sink(interrupt_at=5), Pipeline(), StageTimer(), depth=2, split_face_stages=True)
    assert _workers_alive() == []
    assert source.closed  # the decode thread closed its iterator: the reader can be closed after


def test_threaded_run_writes_the_same_video_as_the_serial_loop(synthetic_clip_factory, tmp_path: Path) -> None:
    """Serial, threaded (decode on the landmarks thread or its own), split on a thread or in the prepare process:
    the same frames, the same counts."""
    clip = synthetic_clip_factory(ClipSpec(frames=12, size=(192, 192)))
    decoded = {}
    stats = {}
    ways = {
        "serial": FrameLoopOptions(threads=False),
        "threaded": FrameLoopOptions(depth=2, split_face_stages=False),
        "decode thread": FrameLoopOptions(depth=2, split_face_stages=False, decode_thread=True),
        "prepare thread": FrameLoopOptions(depth=2, prepare_process=False),
        "prepare process": FrameLoopOptions(depth=2, prepare_process=True),
    }
    for name, loop in ways.items():
        out = tmp_path / f"{name.replace(' ', '_')}.mp4"
        summary = run_file(
            RunOptions(input=str(clip.video_path), output=str(out), reference=str(clip.reference_path), quiet=True,
                       loop=loop)
        )  # fmt: skip
        assert summary.frames == 12 and summary.frames_with_face > 0 and summary.frames_with_mask > 0
        stats[name] = (summary.frames, summary.frames_with_face, summary.frames_with_mask, summary.frames_repeated)
        with av.open(str(out)) as container:
            assert len(container.streams.audio) == 1
            decoded[name] = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    for name in ways:
        assert len(decoded[name]) == 12
        assert all(np.array_equal(a, b) for a, b in zip(decoded["serial"], decoded[name])), name
        assert stats[name] == stats["serial"], name
    assert _workers_alive() == []


def test_os_thread_names_are_set_restored_and_inherited(tmp_path):
    import threading
    from pathlib import Path

    from unmask_video.timing import os_thread_named

    if not Path("/proc/self/task").is_dir():
        pytest.skip("OS thread names are read from Linux /proc")

    def comm() -> str:
        return Path(f"/proc/self/task/{threading.get_native_id()}/comm").read_text().strip()

    before = comm()
    seen: list[str] = []
    with os_thread_named("probe-with-a-long-name"):
        inside = comm()
        child = threading.Thread(target=lambda: seen.append(comm()))
        child.start()
        child.join()
    assert inside == "uv-probe-with-a"  # (15 bytes: the kernel's limit)
    assert seen == [inside]  # a thread started inside the block carries the name, as native threads do
    assert comm() == before


def test_a_wrapped_function_counts_each_call_in_its_stage_and_returns_its_result() -> None:
    ticks = iter(range(100))
    timer = StageTimer(clock=lambda: float(next(ticks)))
    double = timer.wrap("double", lambda x: 2 * x)
    assert [double(1), double(4)] == [2, 8]
    assert timer.calls["double"] == 2 and timer.seconds["double"] == 2.0  # one tick per call on this clock

    def fails() -> None:
        raise ValueError("bad")

    with pytest.raises(ValueError):
        timer.wrap("fails", fails)()
    assert timer.calls["fails"] == 1  # counted even when it raises


class CountingPipeline(Pipeline):
    """Records OpenCV's thread count on the face stages' thread."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.opencv_threads: set[int] = set()

    def finish(self, batch, in_place=False):
        import cv2

        self.opencv_threads.add(cv2.getNumThreads())
        return super().finish(batch, in_place)


@pytest.mark.parametrize("fails", [False, True])
def test_opencv_is_held_to_one_thread_during_the_loop_and_restored_after(fails: bool) -> None:
    import cv2

    before = cv2.getNumThreads()
    cv2.setNumThreads(3)
    try:
        pipeline = CountingPipeline(fail_at=7 if fails else None)
        if fails:
            with pytest.raises(ValueError, match="at frame 7"):
                run_threaded(Source(20), Sink(), pipeline, StageTimer(), depth=2, split_face_stages=True, opencv=1)
        else:
            run_threaded(Source(20), Sink(), pipeline, StageTimer(), depth=2, split_face_stages=True, opencv=1)
        assert pipeline.opencv_threads == {1}
        assert cv2.getNumThreads() == 3
        untouched = CountingPipeline()
        run_threaded(Source(4), Sink(), untouched, StageTimer(), depth=2)  # opencv=None: left as it is
        assert untouched.opencv_threads == {3}
    finally:
        cv2.setNumThreads(before)


def test_opencv_is_held_to_one_thread_only_on_few_cores(monkeypatch) -> None:
    from unmask_video import frame_loop

    monkeypatch.setattr(frame_loop, "usable_cores", lambda: 2)
    assert FrameLoopOptions().opencv_threads() == 1
    assert FrameLoopOptions(threads=False).opencv_threads() is None
    assert FrameLoopOptions(single_opencv_cores=0).opencv_threads() is None
    monkeypatch.setattr(frame_loop, "usable_cores", lambda: 8)
    assert FrameLoopOptions().opencv_threads() is None


class SwitchPipeline(Pipeline):
    """Records Python's thread switch interval wherever the face stages run."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.intervals: set[float] = set()

    def finish(self, batch, in_place=False):
        import sys

        self.intervals.add(sys.getswitchinterval())
        return super().finish(batch, in_place)


@pytest.mark.parametrize("fails", [False, True])
def test_the_switch_interval_is_held_during_the_loop_and_restored_after(fails: bool) -> None:
    import sys

    before = sys.getswitchinterval()
    pipeline = SwitchPipeline(fail_at=7 if fails else None)
    if fails:
        with pytest.raises(ValueError, match="at frame 7"):
            run_threaded(Source(20), Sink(), pipeline, StageTimer(), depth=2, split_face_stages=True, switch_s=0.001)
    else:
        run_threaded(Source(20), Sink(), pipeline, StageTimer(), depth=2, split_face_stages=True, switch_s=0.001)
    assert pipeline.intervals == {0.001}
    assert sys.getswitchinterval() == before
    untouched = SwitchPipeline()
    run_threaded(Source(4), Sink(), untouched, StageTimer(), depth=2)  # switch_s=None: left as it is
    assert untouched.intervals == {before}
