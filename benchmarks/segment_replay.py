"""The segmenter's calls in the command's own run, recorded once, replayed against a git revision's segmenter.

    python -m benchmarks.segment_replay record OUT.npz VIDEO REFERENCE
    python -m benchmarks.segment_replay record OUT.npz --speed-720p [--frames 60]
    python -m benchmarks.segment_replay replay CALLS.npz [CALLS.npz ...] [--baseline-rev main] [--rounds 5]
        [--profile PROFILE.out]

``record`` runs the command (default options, the serial loop) on a video with its reference photo (or on
``benchmarks.speed``'s self-made 720p clip) and keeps, in order, every call the pipeline makes to
``MaskSegmenter.segment`` (a copy of the ROI, its landmarks, the face id) and to ``MaskSegmenter.reset``, and each
call's output mask, in one ``.npz`` file.

``replay`` feeds the recorded calls, in order, to this checkout's segmenter and to the one of ``--baseline-rev``
(the whole ``unmask_video`` package as it was there, from ``git archive``, imported under another name, so every
module the segmenter calls is the revision's): each its own fresh ``MaskSegmenter``, taking turns call by call (the
order turned round every call), one OpenCV thread and one BLAS thread as the pipeline runs them. It prints the CPU ms
a call (this thread's clock: ``time.thread_time``; the median of ``--rounds`` rounds), the ratio now / then, and
how many of the outputs are bit-identical to the baseline's and to the recorded ones. ``--profile``: this checkout's
calls once more under cProfile with the thread's clock, written to PROFILE (``pstats``). A benchmark: it asserts
nothing.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

os.environ.setdefault("GLOG_minloglevel", "2")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from unmask_video import segment  # noqa: E402

#: One recorded event: ("segment", image, landmarks, face id, output) or ("reset", face id or None).
Event = tuple[Any, ...]


@contextmanager
def _recording(events: list[Event]) -> Iterator[None]:
    """While in it, every ``MaskSegmenter.segment`` and ``reset`` call of a segmenter with the default options (not
    the reference check's probe) is appended to ``events`` (copies)."""
    cls = segment.MaskSegmenter
    original_segment, original_reset = cls.segment, cls.reset
    default = segment.SegmentOptions()

    def recording_segment(self: segment.MaskSegmenter, image: np.ndarray, landmarks: np.ndarray,
                          face_id: int = 0) -> np.ndarray:  # fmt: skip
        if self.options != default:  # (the reference check's probe)
            return original_segment(self, image, landmarks, face_id)
        kept_image, kept_lm = image.copy(), np.array(landmarks, np.float32)
        out = original_segment(self, image, landmarks, face_id)
        events.append(("segment", kept_image, kept_lm, face_id, out.copy()))
        return out

    def recording_reset(self: segment.MaskSegmenter, face_id: int | None = None) -> None:
        if self.options == default:
            events.append(("reset", face_id))
        original_reset(self, face_id)

    cls.segment, cls.reset = recording_segment, recording_reset  # type: ignore[method-assign]
    try:
        yield
    finally:
        cls.segment, cls.reset = original_segment, original_reset  # type: ignore[method-assign]


def record(video: Path, reference: Path) -> list[Event]:
    """The segmenter's calls of the command's run (default options, the serial loop) on ``video``."""
    from unmask_video.runner import RunOptions, run_file

    events: list[Event] = []
    with tempfile.TemporaryDirectory() as tmp, _recording(events):
        options = RunOptions(input=str(video), output=str(Path(tmp) / "out.mp4"), reference=str(reference),
                             quiet=True, overwrite=True)  # fmt: skip
        options.loop.threads = False
        run_file(options)
    return events


def save(path: Path, events: list[Event]) -> None:
    arrays: dict[str, np.ndarray] = {}
    kinds = []
    for k, event in enumerate(events):
        if event[0] == "segment":
            _, image, lm, face_id, out = event
            arrays[f"i{k}"], arrays[f"l{k}"], arrays[f"o{k}"] = image, lm, out
            kinds.append((0, face_id))
        else:
            kinds.append((1, -1 if event[1] is None else event[1]))
    np.savez(path, kinds=np.array(kinds, np.int64), **arrays)


def load(path: Path) -> list[Event]:
    data = np.load(path)
    events: list[Event] = []
    for k, (kind, face_id) in enumerate(data["kinds"]):
        if kind == 0:
            events.append(("segment", data[f"i{k}"], data[f"l{k}"], int(face_id), data[f"o{k}"]))
        else:
            events.append(("reset", None if face_id < 0 else int(face_id)))
    return events


def package_at(rev: str, folder: Path) -> Any:
    """``unmask_video`` as it was at git revision ``rev``, imported as the package ``_seg_base`` (its own imports of
    ``unmask_video.`` rewritten): the revision's segment module."""
    root = Path(__file__).resolve().parents[1]
    archive = subprocess.run(["git", "-C", str(root), "archive", rev, "unmask_video"], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    (folder / "unmask_video").rename(folder / "_seg_base")
    for path in (folder / "_seg_base").rglob("*.py"):
        text = path.read_text()
        path.write_text(text.replace("from unmask_video.", "from _seg_base.").replace("from unmask_video import",
                                                                                      "from _seg_base import")
                        .replace("import unmask_video.", "import _seg_base."))  # fmt: skip
    sys.path.insert(0, str(folder))
    return importlib.import_module("_seg_base.segment")


def replay(events: list[Event], modules: list[Any], rounds: int) -> tuple[list[float], list[int], int]:
    """CPU ms a segment call of each module's segmenter over ``events`` (median of ``rounds``), how many outputs are
    bit-identical to the recorded ones (per module), and how many of the last module's outputs differ from the
    first's."""
    calls = sum(1 for e in events if e[0] == "segment")
    per: list[list[float]] = [[] for _ in modules]
    warm = [e for e in events if e[0] == "segment"][:3]
    for m in modules:  # (first calls: imports, OpenCV's tables, scikit-learn)
        seg = m.MaskSegmenter(m.SegmentOptions())
        for _, image, lm, face_id, _ in warm:
            seg.segment(image.copy(), lm, face_id)
    same_as_recorded = [0 for _ in modules]
    differ = 0
    for r in range(rounds):
        segs = [m.MaskSegmenter(m.SegmentOptions()) for m in modules]
        spent = [0.0 for _ in modules]
        n = 0
        for event in events:
            if event[0] == "reset":
                for s in segs:
                    s.reset(event[1])
                continue
            _, image, lm, face_id, recorded = event
            order = list(range(len(modules)))
            if (n + r) % 2:
                order.reverse()
            n += 1
            outs: dict[int, np.ndarray] = {}
            for i in order:
                given = image.copy()
                t0 = time.thread_time()
                outs[i] = segs[i].segment(given, lm, face_id)
                spent[i] += time.thread_time() - t0
            if r == 0:
                for i in outs:
                    same_as_recorded[i] += int(np.array_equal(outs[i], recorded))
                differ += int(not np.array_equal(outs[0], outs[len(modules) - 1]))
        for i in range(len(modules)):
            per[i].append(1000.0 * spent[i] / max(calls, 1))
    return [statistics.median(p) for p in per], same_as_recorded, differ


def profile(events: list[Event], out: Path) -> None:
    """This checkout's calls once under cProfile (the thread's CPU clock), written to ``out``."""
    seg = segment.MaskSegmenter(segment.SegmentOptions())
    profiler = cProfile.Profile(time.thread_time)
    for event in events:
        if event[0] == "reset":
            seg.reset(event[1])
            continue
        _, image, lm, face_id, _ = event
        given = image.copy()
        profiler.enable()
        seg.segment(given, lm, face_id)
        profiler.disable()
    profiler.dump_stats(str(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record")
    rec.add_argument("out", type=Path)
    rec.add_argument("video", type=Path, nargs="?")
    rec.add_argument("reference", type=Path, nargs="?")
    rec.add_argument("--speed-720p", action="store_true", help="benchmarks.speed's self-made 720p clip")
    rec.add_argument("--frames", type=int, default=None, help="the self-made clip's length (60)")
    rep = sub.add_parser("replay")
    rep.add_argument("calls", type=Path, nargs="+")
    rep.add_argument("--baseline-rev", default="main")
    rep.add_argument("--rounds", type=int, default=5)
    rep.add_argument("--profile", type=Path, default=None)
    args = parser.parse_args()
    if args.command == "record":
        if args.speed_720p:
            from benchmarks.speed import SIZES, make_bench_clip

            with tempfile.TemporaryDirectory() as tmp:
                clip = make_bench_clip(Path(tmp), SIZES["720p"], args.frames or 60)
                events = record(clip.video, clip.reference)
        else:
            if args.video is None or args.reference is None:
                raise SystemExit("record: VIDEO and REFERENCE (or --speed-720p)")
            events = record(args.video, args.reference)
        save(args.out, events)
        print(f"{args.out}: {sum(1 for e in events if e[0] == 'segment')} segment calls, "
              f"{sum(1 for e in events if e[0] == 'reset')} resets")  # fmt: skip
        return
    cv2.setNumThreads(1)
    with threadpool_limits(limits=1, user_api="blas"), tempfile.TemporaryDirectory() as tmp:
        base = package_at(args.baseline_rev, Path(tmp))
        for path in args.calls:
            events = load(path)
            (old_ms, new_ms), same, differ = replay(events, [base, segment], args.rounds)
            calls = sum(1 for e in events if e[0] == "segment")
            print(f"{path.name}: {calls} calls, {args.baseline_rev} {old_ms:.2f} -> now {new_ms:.2f} CPU ms a call "
                  f"({new_ms / old_ms:.3f}); as recorded: {args.baseline_rev} {same[0]}, now {same[1]}; "
                  f"now differs from {args.baseline_rev} on {differ}")  # fmt: skip
            if args.profile is not None:
                profile(events, args.profile.with_name(f"{args.profile.stem}_{path.stem}{args.profile.suffix}"))


if __name__ == "__main__":
    main()
