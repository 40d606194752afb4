"""The mask and warp stages in a forked process: the in-process output, in order; a dead, hung or failing child is one
line of error, never a hang; the child ends with its parent."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import av
import numpy as np
import pytest

from unmask_video import frame_loop
from unmask_video.errors import ProcessingError
from unmask_video.frame_loop import FrameLoopOptions
from unmask_video.landmarks import TrackedFace, face_box
from unmask_video.pipeline import FramePipeline, PipelineOptions, PipelineStats, PreparedBatch
from unmask_video.prepare_process import PrepareProcess, ProcessOptions, fork_available
from unmask_video.runner import RunOptions, run_file
from unmask_video.stages import FaceROI
from unmask_video.synthetic import ClipSpec
from unmask_video.timing import StageTimer

pytestmark = pytest.mark.skipif(not fork_available(), reason="the prepare process needs fork")

ROOT = Path(__file__).resolve().parents[1]


class FakePipeline:
    """What :class:`PrepareProcess` uses of a pipeline: ``prepare`` gives each face its box's pixels as the mask
    (float32), the box's pixels + 1 as the reference and ``> 100`` as the validity."""

    def __init__(self) -> None:
        self.options = PipelineOptions()
        self.timer = StageTimer()
        self.stats = PipelineStats()

    def wait_for_reference(self) -> None:
        pass

    def prepare(self, images, faces_per_frame) -> PreparedBatch:
        batch = PreparedBatch(list(images), [], self.stats.frames)
        for index, (image, faces) in enumerate(zip(images, faces_per_frame)):
            self.stats.frames += 1
            batch.repeats.append(False)
            with self.timer("segment"):
                for face in faces:
                    box = face_box(face.landmarks, image.shape[:2], self.options.box_margin)
                    roi = image[box.slices]
                    batch.jobs.append((index, expected_roi(roi, box, face.landmarks), None))
                    batch.tracks.append(face.id)
        return batch


def expected_roi(roi: np.ndarray, box, landmarks: np.ndarray) -> FaceROI:
    return FaceROI(box, roi, landmarks - np.array([box.x0, box.y0], np.float32), roi[..., 0].astype(np.float32) / 255,
                   roi + 1, roi[..., 1] > 100, reference_yaw=0.125)  # fmt: skip


def face_at(x: float, y: float, size: float, face_id: int = 0) -> TrackedFace:
    angles = np.linspace(0, 2 * np.pi, 468, endpoint=False)
    landmarks = np.stack([x + size / 2 * np.cos(angles), y + size / 2 * np.sin(angles)], axis=1).astype(np.float32)
    return TrackedFace(face_id, landmarks)


def test_results_come_back_in_order_from_the_slots_and_the_pipe() -> None:
    """Two slots, eight frames: faces whose results fit the slot, two faces whose results do not (the pipe), a frame
    of another size (the pipe), a frame without faces; each frame's ROIs are views of the parent's frame."""
    rng = np.random.default_rng(3)
    pipeline = FakePipeline()
    child = PrepareProcess(pipeline, (120, 160), ProcessOptions(slots=2, result_frames=0.5))  # type: ignore[arg-type]
    try:
        frames = []
        for i in range(8):
            shape = (90, 100, 3) if i == 5 else (120, 160, 3)
            faces = [] if i == 3 else [face_at(50 + i, 40, 40, 0)] + ([face_at(110, 70, 60, 1)] if i in (2, 6) else [])
            frames.append((rng.integers(0, 256, shape, dtype=np.uint8), faces))
        # (submitted two ahead, as the loop's sending thread runs ahead of the receiving one)
        received = []
        for i, (image, faces) in enumerate(frames):
            child.submit(image, faces)
            if i >= 1:
                received.append(child.receive(frames[i - 1][0]))
        received.append(child.receive(frames[-1][0]))
        for i, ((image, faces), batch) in enumerate(zip(frames, received)):
            assert batch.first_frame == i and batch.images[0] is image
            assert batch.tracks == [face.id for face in faces]
            for (index, roi, _), face in zip(batch.jobs, faces):
                box = face_box(face.landmarks, image.shape[:2], pipeline.options.box_margin)
                want = expected_roi(image[box.slices], box, face.landmarks)
                assert index == 0 and roi.box == box and np.shares_memory(roi.image, image)
                assert roi.reference_yaw == want.reference_yaw  # (the reference's turn, for the composite)
                for got, expected in ((roi.mask, want.mask), (roi.reference, want.reference), (roi.valid, want.valid),
                                      (roi.landmarks, want.landmarks)):  # fmt: skip
                    assert got.dtype == expected.dtype and np.array_equal(got, expected)
        assert pipeline.stats.frames == 8  # the child's counts, handed back
        assert pipeline.timer.calls["segment"] == 8
    finally:
        child.close()
    assert not child._process.is_alive()


def _run(clip, out: Path, loop: FrameLoopOptions, pipeline: PipelineOptions | None = None):
    return run_file(RunOptions(input=str(clip.video_path), output=str(out), reference=str(clip.reference_path),
                               quiet=True, loop=loop, pipeline=pipeline or PipelineOptions()))  # fmt: skip


def test_a_face_at_a_working_size_comes_back_from_the_process_as_the_thread_makes_it(synthetic_clip_factory, tmp_path) -> None:
    """``work_face_px``: the working-size face's own image and its full-size mask travel with its ROI."""
    clip = synthetic_clip_factory(ClipSpec(frames=6, size=(256, 192)))
    face = float(np.ptp(clip.landmarks[0][:, 0]))
    options = PipelineOptions(work_face_px=0.75 * face)
    frames = {}
    for name, on in (("thread", False), ("process", True)):
        _run(clip, tmp_path / f"{name}.mp4", FrameLoopOptions(prepare_process=on), options)
        with av.open(str(tmp_path / f"{name}.mp4")) as container:
            frames[name] = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    _run(clip, tmp_path / "full.mp4", FrameLoopOptions(), PipelineOptions(work_face_px=None))
    with av.open(str(tmp_path / "full.mp4")) as container:
        full = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames["process"]) == 6
    assert all(np.array_equal(a, b) for a, b in zip(frames["thread"], frames["process"]))
    assert not all(np.array_equal(a, b) for a, b in zip(frames["thread"], full))  # (the working size was used)


def test_a_run_through_the_process_writes_what_the_thread_writes(synthetic_clip_factory, tmp_path, monkeypatch) -> None:
    clip = synthetic_clip_factory(ClipSpec(frames=10, size=(256, 192)))
    made: list[PrepareProcess] = []

    class Recorded(PrepareProcess):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(frame_loop, "PrepareProcess", Recorded)
    thread = _run(clip, tmp_path / "thread.mp4", FrameLoopOptions(prepare_process=False))
    assert made == []
    assert FrameLoopOptions().prepare_process is False  # (off by default: see FrameLoopOptions)
    process = _run(clip, tmp_path / "process.mp4", FrameLoopOptions(prepare_process=True))
    assert len(made) == 1 and not made[0]._process.is_alive()
    assert process.frames_with_mask > 0 and process.timer.calls["segment"] == thread.timer.calls["segment"] > 0
    for name in ("frames", "frames_with_face", "frames_without_face", "frames_with_mask", "frames_repeated"):
        assert getattr(process, name) == getattr(thread, name), name
    frames = {}
    for name in ("thread", "process"):
        with av.open(str(tmp_path / f"{name}.mp4")) as container:
            frames[name] = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames["process"]) == 10
    assert all(np.array_equal(a, b) for a, b in zip(frames["thread"], frames["process"]))
    # above process_max_pixels (or with a batch) the thread is used
    on = FrameLoopOptions(prepare_process=True)
    assert FrameLoopOptions(prepare_process=True, process_max_pixels=256 * 192 - 1).process_for(256, 192, 1) is None
    assert on.process_for(256, 192, 2) is None and on.process_for(1920, 1080, 1) is None
    assert on.process_for(1280, 720, 1) is not None and FrameLoopOptions().process_for(1280, 720, 1) is None


@pytest.mark.parametrize("how", ["dies", "hangs", "raises"])
def test_a_child_that_dies_hangs_or_fails_is_one_line_of_error(how, synthetic_clip_factory, tmp_path, monkeypatch) -> None:
    clip = synthetic_clip_factory(ClipSpec(frames=8, size=(192, 192)))
    parent = os.getpid()
    real = FramePipeline.prepare

    def prepare(self, images, faces_per_frame):
        if os.getpid() != parent and self.stats.frames >= 2:  # (in the child, from its third frame)
            if how == "dies":
                os._exit(7)
            if how == "hangs":
                time.sleep(120)
            raise ValueError("the mask failed at frame 3")
        return real(self, images, faces_per_frame)

    monkeypatch.setattr(FramePipeline, "prepare", prepare)
    out = tmp_path / "out.mp4"
    error = ValueError if how == "raises" else ProcessingError
    start = time.monotonic()
    with pytest.raises(error) as caught:
        _run(clip, out, FrameLoopOptions(prepare_process=True, process=ProcessOptions(timeout_s=1.0)))
    message = str(caught.value)
    assert "\n" not in message
    assert {"dies": "ended unexpectedly (exit code 7) at frame 3", "hangs": "gave no result for frame 3 in 1 s",
            "raises": "the mask failed at frame 3"}[how] in message  # fmt: skip
    assert time.monotonic() - start < 60
    assert not out.exists()
    assert [t for t in frame_loop.threading.enumerate() if t.name.startswith("unmask-video-prepare")] == []
    import multiprocessing

    assert [p for p in multiprocessing.active_children() if p.name == "unmask-video-prepare"] == []


_ORPHAN = """
import os, sys
sys.path.insert(0, sys.argv[1])
sys.path.insert(0, os.path.join(sys.argv[1], "tests"))
from test_prepare_process import FakePipeline
from unmask_video.prepare_process import PrepareProcess
child = PrepareProcess(FakePipeline(), (32, 32))
print(child.pid, flush=True)
os._exit(0)  # (no close: the child must notice alone)
"""


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state in ("Z", "X")


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_the_child_ends_with_its_parent() -> None:
    done = subprocess.run([sys.executable, "-c", _ORPHAN, str(ROOT)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    pid = int(done.stdout.split()[0])
    deadline = time.monotonic() + 10
    while not _gone(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _gone(pid)
