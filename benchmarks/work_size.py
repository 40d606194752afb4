"""Per-stage CPU of the face chain (mask, warp, reconstruction, blend) by face size, with and without a working size.

    python -m benchmarks.work_size [--faces 512,768] [--frames 12] [--caps none,400,320] [--generator none]
                                   [--real 30] [--data ../shared/data] [--sheet /tmp/work_size.png]

Speed: synthetic frames (``unmask_video.synthetic``) with one face of each width in ``--faces`` (pixels; the frame
is 1280x720 up to a 512 px face, 1920x1080 above); the landmarks are found once per frame, then the face stages run
in this thread (OpenCV on one thread, so every stage's CPU is counted where it runs) for each value of
``PipelineOptions.work_face_px`` in ``--caps`` (none = the full face size), interleaved ``--repeat`` times. The
table shows each stage's CPU ms per frame (thread CPU time, medians) and the face chain's ratio to the first cap.

Quality (when the data folder exists; skipped with a line otherwise): the real masked clips (1080p grey mask
upscaled x2, 720p KF94 upscaled x1.5, with the references used for them elsewhere: the stand-in photo
faces/fmd/270.jpg and the KF94 clip's own bare frame 54) run through each cap; the PSNR of each cap's output against the first cap's inside the blended boxes
and the shift of their mean Lab colour there (a colour that changes with the working size) are printed, and ``--sheet`` writes crops of the rebuilt lower face (first cap | each cap, x2 zoom) to look at.
This is a benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")

import av  # noqa: E402
import cv2  # noqa: E402
import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from benchmarks.bare_faces import KF94_REFERENCE, read_frames  # noqa: E402
from unmask_video.landmarks import FaceTracker, TrackedFace, TrackerOptions  # noqa: E402
from unmask_video.pipeline import FramePipeline, PipelineOptions  # noqa: E402
from unmask_video.reconstruct.factory import ReconstructorOptions, build_reconstructor  # noqa: E402
from unmask_video.synthetic import ClipSpec, make_clip  # noqa: E402
from unmask_video.timing import StageTimer  # noqa: E402

STAGES = ("segment", "loops", "warp", "reconstruct", "blend")


def _cap(text: str) -> float | None:
    return None if text == "none" else float(text)


def _locate(frames: list[np.ndarray]) -> list[list[TrackedFace]]:
    tracker = FaceTracker(TrackerOptions())
    try:
        return [tracker.track_faces(frame, i / 25.0) for i, frame in enumerate(frames)]
    finally:
        tracker.close()


def _run(
    frames: list[np.ndarray], faces: list[list[TrackedFace]], reference: np.ndarray, cap: float | None, generator: str
) -> tuple[StageTimer, list[np.ndarray], list[list[tuple[int, int, int, int]]]]:
    timer = StageTimer(clock=time.thread_time)  # the calling thread's CPU time (not a shared machine's load)
    tracker = FaceTracker(TrackerOptions())
    pipeline = FramePipeline(
        reference, build_reconstructor(ReconstructorOptions(generator=generator)),
        PipelineOptions(work_face_px=cap), timer=timer, tracker=tracker,
    )  # fmt: skip
    outputs, changed = [], []
    try:
        for frame, found in zip(frames, faces):
            outputs.append(pipeline.rebuild([frame], [0.0], [found])[0])
            changed.append(pipeline.last_changed[0])
    finally:
        pipeline.close()
        tracker.close()
    return timer, outputs, changed


def speed(args: argparse.Namespace, console: Console, tmp: Path) -> None:
    caps = [_cap(c) for c in args.caps.split(",")]
    table = Table(title=f"face chain CPU ms per frame (this thread, OpenCV on 1 thread), medians of {args.repeat}")
    for column in ("face px", "work_face_px", *STAGES, "chain", "x first"):
        table.add_column(column, justify="right")
    for face_px in (int(f) for f in args.faces.split(",")):
        size = (1280, 720) if face_px <= 512 else (1920, 1080)
        clip = make_clip(tmp / f"f{face_px}", ClipSpec(frames=args.frames, size=size, audio_hz=None,
                                                       face_width=face_px / size[0]))  # fmt: skip
        frames = [np.ascontiguousarray(f) for f in clip.masked]
        faces = _locate(frames)
        per: dict[float | None, list[dict[str, float]]] = defaultdict(list)
        for _ in range(args.repeat):
            for cap in caps:
                timer, _, _ = _run(frames, faces, clip.reference, cap, args.generator)
                per[cap].append({s: timer.ms_per(s, len(frames)) for s in STAGES})
        base = None
        for cap in caps:
            ms = {s: statistics.median(r[s] for r in per[cap]) for s in STAGES}
            chain = sum(ms.values())
            base = chain if base is None else base
            table.add_row(str(face_px), "none" if cap is None else f"{cap:.0f}", *(f"{ms[s]:.1f}" for s in STAGES),
                          f"{chain:.1f}", f"{base / chain:.2f}")  # fmt: skip
    console.print(table)


def _read(path: Path, count: int, scale: float = 1.0) -> list[np.ndarray]:
    frames = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            image = frame.to_ndarray(format="rgb24")
            if scale != 1.0:
                image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
            frames.append(image)
            if len(frames) >= count:
                break
    return frames


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float32) - b.astype(np.float32)) ** 2))
    return 99.0 if mse == 0 else 10.0 * np.log10(255.0**2 / mse)


def _lab_mean(rgb: np.ndarray) -> np.ndarray:
    """The mean Lab colour (L in [0, 100]) of an RGB uint8 crop."""
    lab = cv2.cvtColor(rgb.reshape(1, -1, 3).astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    return lab.reshape(-1, 3).mean(axis=0)


def _reference(video: Path, ref: Path | int) -> np.ndarray:
    """The reference photo as RGB: a photo file, or the clip's own (bare) frame of that index."""
    if isinstance(ref, Path):
        return cv2.cvtColor(cv2.imread(str(ref)), cv2.COLOR_BGR2RGB)
    return read_frames(video, ref, ref + 1)[0]


def quality(args: argparse.Namespace, console: Console) -> None:
    data = Path(args.data)
    masked = data / "videos" / "masked"
    cases = [
        ("grey 1080p x2", masked / "man_grey_mask_1080p.mp4", data / "faces" / "fmd" / "270.jpg", 2.0),
        ("kf94 720p x1.5", masked / "woman_puts_on_kf94_720p.mp4", KF94_REFERENCE, 1.5),
    ]
    cases = [c for c in cases if c[1].exists() and (isinstance(c[2], int) or c[2].exists())]
    if not cases:
        console.print(f"quality: skipped ({masked} or the reference photos are missing)")
        return
    caps = [_cap(c) for c in args.caps.split(",")]
    table = Table(title="PSNR of each working size's output vs the first's, inside the blended boxes")
    for column in ("clip", "face px", "work_face_px", "frames", "PSNR dB", "worst frame dB", "mean Lab shift"):
        table.add_column(column, justify="right")
    crops = []
    for name, video, ref_path, scale in cases:
        frames = _read(video, args.real, scale)
        reference = _reference(video, ref_path)
        faces = _locate(frames)
        widths = [float(np.ptp(f.landmarks[:, 0])) for fs in faces for f in fs]
        runs = {cap: _run(frames, faces, reference, cap, args.generator) for cap in caps}
        _, first, boxes = runs[caps[0]]
        pick = max(range(len(frames)), key=lambda i: len(boxes[i]))
        for cap in caps:
            _, outs, _ = runs[cap]
            scores, shifts = [], []
            for i, bs in enumerate(boxes):
                for x0, y0, x1, y1 in bs:
                    scores.append(_psnr(first[i][y0:y1, x0:x1], outs[i][y0:y1, x0:x1]))
                    shifts.append(_lab_mean(outs[i][y0:y1, x0:x1]) - _lab_mean(first[i][y0:y1, x0:x1]))
            shift = np.mean(shifts, axis=0) if shifts else None
            face_px = f"{statistics.median(widths):.0f}" if widths else "-"
            table.add_row(name, face_px, "none" if cap is None else f"{cap:.0f}", str(len(scores)),
                          f"{statistics.mean(scores):.2f}" if scores else "-",
                          f"{min(scores):.2f}" if scores else "-",
                          "-" if shift is None else "L {:+.2f} a {:+.2f} b {:+.2f}".format(*shift))  # fmt: skip
        if boxes[pick]:
            x0, y0, x1, y1 = boxes[pick][0]
            row = [runs[cap][1][pick][y0:y1, x0:x1] for cap in caps]
            crops.append(np.concatenate([cv2.resize(c, None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST)
                                         for c in row], axis=1))  # fmt: skip
    console.print(table)
    if args.sheet and crops:
        width = max(c.shape[1] for c in crops)
        sheet = np.concatenate([np.pad(c, ((0, 0), (0, width - c.shape[1]), (0, 0))) for c in crops], axis=0)
        cv2.imwrite(args.sheet, cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
        console.print(f"crops (left to right: {args.caps}) written to {args.sheet}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--faces", default="512,768", help="face widths in pixels for the speed table; '' skips it")
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--caps", default="none,400,320", help="work_face_px values; the first is the baseline")
    parser.add_argument("--generator", default="none")
    parser.add_argument("--real", type=int, default=0, help="frames of each real clip for the quality check (0: skip)")
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[1] / ".." / "shared" / "data"))
    parser.add_argument("--sheet", default="", help="PNG path for the quality crops")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    console = Console(width=160)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        if args.faces:
            speed(args, console, Path(tmp))
    if args.real > 0:
        quality(args, console)


if __name__ == "__main__":
    main()
