"""`unmask-video batch`: manifest checks, the report, exit codes, resume, --retry-failed, and on a local Ray
(2 CPUs, 2 workers, loopback only) the parallel run with a worker killed mid-video.

Clips are small (192x192, 16 frames) and run with ``--generator none`` to keep the module short.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
from pathlib import Path
from typing import Sequence

import pytest

from tests.helpers import decode_frames
from unmask_video.batch import BatchOptions, jobs_from_manifest, run_batch
from unmask_video.batch.leftovers import partial_files
from unmask_video.batch.ray_executor import RayOptions, use_loopback
from unmask_video.batch.worker import Task, WorkerProgress
from unmask_video.cli import main
from unmask_video.reconstruct.factory import ReconstructorOptions
from unmask_video.runner import RunOptions
from unmask_video.synthetic import ClipSpec

FRAMES = 16
LONG = 40  # the clip whose worker is killed: long enough for its encoder to have written to the temporary file
SPEC = ClipSpec(frames=FRAMES, size=(192, 192), audio_hz=None)


@pytest.fixture(scope="module")
def clips(synthetic_clip_factory, tmp_path_factory):
    """A folder with three short masked clips (one long enough to kill its worker mid-way), a broken .mp4,
    the reference photo, and a manifest of all four written with relative paths."""
    folder = tmp_path_factory.mktemp("batch_in")
    specs = {"a": SPEC, "b": ClipSpec(frames=FRAMES, size=(192, 192), audio_hz=None, seed=1),
             "long": ClipSpec(frames=LONG, size=(192, 192), audio_hz=None, seed=2)}
    for name, spec in specs.items():
        shutil.copy(synthetic_clip_factory(spec).video_path, folder / f"{name}.mp4")
    shutil.copy(synthetic_clip_factory(SPEC).reference_path, folder / "face.png")
    # (a truncated MP4: its header and nothing else. Random bytes were flaky: about 1 in 200 draws probes as an audio
    # stream, which is reported as "no video stream", not "not a video")
    (folder / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(3988))
    write_manifest(folder / "all.csv", [(f"{n}.mp4", "face.png") for n in ("a", "b", "long", "broken")])
    return folder


def write_manifest(path: Path, rows: Sequence[tuple[str, ...]], header: str = "input,reference") -> Path:
    path.write_text(header + "\n" + "".join(",".join(row) + "\n" for row in rows))
    return path


def batch(capsys, *args) -> tuple[int, str]:
    code = main(["batch", *[str(a) for a in args], "--generator", "none", "-q"])
    return code, capsys.readouterr().err


def report(out: Path) -> dict[str, dict]:
    lines = [json.loads(line) for line in (out / "report.jsonl").read_text().splitlines()]
    return {Path(line["input"]).name: line for line in lines}


def assert_whole(output: Path, frames: int) -> None:
    images, _ = decode_frames(output)
    assert len(images) == frames
    assert not partial_files(output), partial_files(output)


# --- checks before any work -------------------------------------------------------------------


def test_missing_column_is_exit_2(clips, tmp_path, capsys):
    manifest = write_manifest(tmp_path / "m.csv", [("a.mp4",)], header="video")
    code, err = batch(capsys, manifest, "--out", tmp_path / "out", "--no-ray")
    assert code == 2 and "no 'input' or 'reference' column" in err
    assert not (tmp_path / "out").exists()


def test_every_manifest_problem_is_named_before_any_work(clips, tmp_path, capsys):
    rows = [
        (str(clips / "a.mp4"), str(clips / "face.png")),
        (str(clips / "missing.mp4"), str(clips / "face.png")),
        (str(clips / "b.mp4"), str(clips / "nobody.png")),
        (str(clips / "b.mp4"), str(clips / "face.png"), "a.mp4"),  # writes a.mp4's output too
    ]
    manifest = write_manifest(tmp_path / "m.csv", rows[:3] + [rows[3]], header="input,reference,output")
    code, err = batch(capsys, manifest, "--out", tmp_path / "out", "--no-ray")
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("unmask-video: error:") and "nothing was processed" in err
    assert "missing.mp4 does not exist" in err and "nobody.png does not exist" in err
    assert "is also written by line 2" in err
    assert not (tmp_path / "out").exists()


def test_relative_paths_and_default_outputs(clips, tmp_path):
    jobs = jobs_from_manifest(clips / "all.csv", tmp_path / "out")
    assert [j.input for j in jobs] == [clips / f"{n}.mp4" for n in ("a", "b", "long", "broken")]
    assert [j.output for j in jobs] == [tmp_path / "out" / f"{n}.mp4" for n in ("a", "b", "long", "broken")]
    assert {j.reference for j in jobs} == {clips / "face.png"}


def test_folder_needs_a_reference(clips, tmp_path, capsys):
    code, err = batch(capsys, clips, "--out", tmp_path / "out", "--no-ray")
    assert code == 2 and "pass --ref" in err


def test_a_cluster_address_where_nothing_answers_is_exit_2(clips, tmp_path, capsys):
    pytest.importorskip("ray", reason="Ray is not installed (pip install 'unmask-video[ray]')")
    with socket.socket() as probe:  # a free port: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, err = batch(capsys, clips / "all.csv", "--out", tmp_path / "out", "--ray", f"127.0.0.1:{port}")
    assert code == 2 and f"nothing answers at the Ray address 127.0.0.1:{port}" in err
    assert not (tmp_path / "out").exists()


# --- in-process: report, exit codes, resume, --retry-failed ------------------------------------


def test_in_process_report_resume_and_retry_failed(clips, tmp_path, capsys):
    manifest = write_manifest(tmp_path / "m.csv", [(str(clips / n), str(clips / "face.png")) for n in ("a.mp4", "broken.mp4")])
    out = tmp_path / "out"
    code, err = batch(capsys, manifest, "--out", out, "--no-ray")
    assert code == 1, err  # one video failed, the other went on
    lines = report(out)
    assert lines["a.mp4"]["status"] == "ok" and lines["a.mp4"]["frames"] == FRAMES
    assert lines["a.mp4"]["frames_with_face"] == FRAMES and lines["a.mp4"]["fps"] > 0
    assert lines["broken.mp4"]["status"] == "failed" and "not a video" in lines["broken.mp4"]["error"]
    assert_whole(out / "a.mp4", FRAMES)
    assert not (out / "broken.mp4").exists()
    done = (out / "a.mp4").stat().st_mtime_ns

    code, _ = batch(capsys, manifest, "--out", out, "--no-ray")  # rerun: nothing to do
    lines = report(out)
    assert code == 1 and lines["a.mp4"]["status"] == "skipped" and lines["a.mp4"]["frames"] == FRAMES
    assert lines["broken.mp4"]["status"] == "failed" and lines["broken.mp4"]["error"].startswith("earlier run:")
    assert (out / "a.mp4").stat().st_mtime_ns == done

    code, _ = batch(capsys, manifest, "--out", out, "--no-ray", "--retry-failed")
    lines = report(out)
    assert code == 1 and lines["a.mp4"]["status"] == "skipped"
    assert lines["broken.mp4"]["status"] == "failed" and not lines["broken.mp4"]["error"].startswith("earlier run:")
    assert (out / "a.mp4").stat().st_mtime_ns == done

    # Other options: the finished output is not this batch's result any more, and is not replaced silently.
    code, err = batch(capsys, manifest, "--out", out, "--no-ray", "--crf", "30")
    assert code == 2 and "pass --overwrite" in err and (out / "a.mp4").stat().st_mtime_ns == done
    code, _ = batch(capsys, manifest, "--out", out, "--no-ray", "--crf", "30", "--overwrite")
    assert code == 1 and report(out)["a.mp4"]["status"] == "ok"
    assert_whole(out / "a.mp4", FRAMES)


def test_all_ok_is_exit_0_and_a_changed_input_is_not_skipped(clips, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(clips / "a.mp4", folder / "x.mp4")
    out = tmp_path / "out"
    assert batch(capsys, folder, "--ref", clips / "face.png", "--out", out, "--no-ray")[0] == 0
    assert report(out)["x.mp4"]["status"] == "ok"
    shutil.copy(clips / "b.mp4", folder / "x.mp4")  # new content: not the same input any more
    code, err = batch(capsys, folder, "--ref", clips / "face.png", "--out", out, "--no-ray")
    assert code == 2 and "already exist" in err
    assert batch(capsys, folder, "--ref", clips / "face.png", "--out", out, "--no-ray", "--overwrite")[0] == 0
    assert report(out)["x.mp4"]["status"] == "ok"


def test_without_ray_it_runs_in_process_and_says_so(clips, tmp_path, monkeypatch, caplog):
    import unmask_video.batch.run as batch_run

    monkeypatch.setattr(batch_run, "ray_installed", lambda: False)
    manifest = write_manifest(tmp_path / "m.csv", [(str(clips / "a.mp4"), str(clips / "face.png"))])
    jobs = jobs_from_manifest(manifest, tmp_path / "out")
    with caplog.at_level(logging.WARNING, logger="unmask_video"):
        outcome = run_batch(BatchOptions(jobs, tmp_path / "out", _template(), quiet=True))
    assert outcome.executor == "in-process" and outcome.exit_code == 0
    assert any("Ray is not installed" in r.getMessage() for r in caplog.records)


def test_a_worker_keeps_opencv_and_torch_to_its_share_of_the_cores():
    import cv2
    import torch

    from unmask_video.batch.worker import VideoWorker

    before = cv2.getNumThreads(), torch.get_num_threads()
    try:
        cv2.setNumThreads(4)
        template = RunOptions(input="", output="", reference="", reconstructor=ReconstructorOptions(generator="none"))
        VideoWorker(template, threads=1).setup()
        assert (cv2.getNumThreads(), torch.get_num_threads()) == (1, 1)
    finally:
        cv2.setNumThreads(before[0])
        torch.set_num_threads(before[1])


def test_models_and_facemesh_are_loaded_once_per_worker(clips, tmp_path, monkeypatch):
    import unmask_video.batch.worker as worker_module
    import unmask_video.pipeline as pipeline_module
    import unmask_video.runner as runner_module

    built = {"reconstructor": 0, "tracker": 0}
    real_build, real_tracker = worker_module.build_reconstructor, worker_module.FaceTracker

    def build(options):
        built["reconstructor"] += 1
        return real_build(options)

    def tracker(options):
        built["tracker"] += 1
        return real_tracker(options)

    def forbidden(*args, **kwargs):
        raise AssertionError("a video built its own models")

    monkeypatch.setattr(worker_module, "build_reconstructor", build)
    monkeypatch.setattr(worker_module, "FaceTracker", tracker)
    monkeypatch.setattr(runner_module, "build_reconstructor", forbidden)
    monkeypatch.setattr(pipeline_module, "FaceTracker", forbidden)
    rows = [(str(clips / n), str(clips / "face.png")) for n in ("a.mp4", "b.mp4")]
    jobs = jobs_from_manifest(write_manifest(tmp_path / "m.csv", rows), tmp_path / "out")
    outcome = run_batch(BatchOptions(jobs, tmp_path / "out", _template(), use_ray=False, quiet=True))
    assert [r.status for r in outcome.results] == ["ok", "ok"]
    assert [r.frames_with_face for r in outcome.results] == [FRAMES, FRAMES]  # the lent tracker was reset between
    assert built == {"reconstructor": 1, "tracker": 1}


def _template() -> RunOptions:
    return RunOptions("", "", "", reconstructor=ReconstructorOptions(generator="none"), quiet=True)


# --- on a local Ray: 2 workers, a worker killed mid-video ----------------------------------------


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'unmask-video[ray]')")
    saved = os.environ.get("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER")
    use_loopback()
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    yield ray
    ray.shutdown()
    if saved is None:
        os.environ.pop("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", None)
    else:
        os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = saved


class KillOnce:
    """Kills (SIGKILL) the worker process running ``video`` once its temporary output file is on disk."""

    def __init__(self, video: str, output: Path) -> None:
        self.video = video
        self.output = output
        self.killed_pid: int | None = None
        self.partials_at_kill: list[Path] = []

    def workers(self, count: int) -> None:
        pass

    def started(self, task: Task) -> None:
        pass

    def finished(self, result) -> None:
        pass

    def update(self, snapshots: Sequence[tuple[WorkerProgress, float]]) -> None:
        for snap, _ in snapshots:
            if self.killed_pid is None and snap.video and Path(snap.video).name == self.video:
                self.partials_at_kill = partial_files(self.output)
                if self.partials_at_kill and snap.frames_done < (snap.frames_total or 0):
                    os.kill(snap.pid, signal.SIGKILL)
                    self.killed_pid = snap.pid


def test_ray_two_workers_a_broken_video_and_a_killed_worker(local_ray, clips, tmp_path, capsys):
    node = local_ray.nodes()[0]
    assert node["NodeManagerAddress"] == "127.0.0.1"  # loopback only
    out = tmp_path / "out"
    jobs = jobs_from_manifest(clips / "all.csv", out)
    killer = KillOnce("long.mp4", out / "long.mp4")
    options = BatchOptions(jobs, out, _template(), RayOptions(workers=2), use_ray=True, quiet=True)
    outcome = run_batch(options, observer=killer)

    assert outcome.executor == "ray" and outcome.exit_code == 1
    assert killer.killed_pid is not None and killer.partials_at_kill  # killed mid-video, its temp file existed
    lines = report(out)
    assert set(lines) == {"a.mp4", "b.mp4", "long.mp4", "broken.mp4"}
    assert lines["long.mp4"]["status"] == "ok" and lines["long.mp4"]["attempts"] == 2
    assert lines["broken.mp4"]["status"] == "failed" and "not a video" in lines["broken.mp4"]["error"]
    assert {lines[n]["worker"] for n in ("a.mp4", "b.mp4", "long.mp4", "broken.mp4")} == {0, 1}  # both worked
    for name, frames in (("a.mp4", FRAMES), ("b.mp4", FRAMES), ("long.mp4", LONG)):
        assert lines[name]["frames"] == lines[name]["frames_with_face"] == frames
        assert_whole(out / name, frames)
    assert sorted(p.name for p in out.iterdir()) == ["a.mp4", "b.mp4", "long.mp4", "report.jsonl"]

    # A rerun through the command skips what is done without starting a worker.
    code, _ = batch(capsys, clips / "all.csv", "--out", out, "--workers", "2")
    assert code == 1
    assert [report(out)[n]["status"] for n in ("a.mp4", "b.mp4", "long.mp4", "broken.mp4")] == [
        "skipped", "skipped", "skipped", "failed"]
