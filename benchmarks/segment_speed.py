"""Speed (and accuracy) of mask segmentation: the method's plain k-means against the default, measured in one run.

    python -m benchmarks.segment_speed [--frames 60] [--video lp_d0.mp4] [--roi 430] [--data ../shared/data]

Decodes frames of a real talking-head clip from ../shared/data/videos/talking (PyAV), tracks its
landmarks (FaceMesh, not timed), draws a synthetic surgical mask on every frame (the ground truth),
crops the face ROI scaled to about ``--roi`` pixels, then times :class:`MaskSegmenter` on the ROIs with
the method's plain k-means (polygon only, no growth, no presence decision) and with the default (growth
over the search region, presence decision) with and without cluster reuse and with mask smoothing, after
a warm-up. Prints the median ms/frame over three passes, the reuse/no-reuse ratio, the cost of the
default over the plain k-means, the refit count, the mean IoU with the drawn mask and the frame-to-frame
IoU jitter (flicker).

Then the default as it is against the default as it was at git revision ``--baseline-rev`` (segment.py and
mask_refine.py read with ``git show`` and imported as their own modules; skipped outside a git checkout), and
the plain k-means, in alternating rounds on one OpenCV thread, timed in CPU time (best of the rounds: a change of
load on a shared machine falls on all alike): ms/frame, the ratio now / then, the cost over the plain k-means
then and now, and how much the masks of the two differ (frames identical, pixels as % of the mask area).

This is a benchmark, not a test: it asserts nothing. It skips with a message when ../shared is absent.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

os.environ.setdefault("GLOG_minloglevel", "2")

import av  # noqa: E402
import cv2  # noqa: E402
import numpy as np  # noqa: E402

from unmask_video.landmarks import FaceTracker, face_box  # noqa: E402
from unmask_video.mask_presence import PresenceOptions  # noqa: E402
from unmask_video.segment import MaskSegmenter, SegmentOptions  # noqa: E402
from unmask_video.synthetic import LIGHT_BLUE, MaskStyle, draw_surgical_mask  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "videos" / "talking"


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a >= 0.5, b >= 0.5
    return float((a & b).sum() / max((a | b).sum(), 1))


def _load(path: Path, frames: int, roi: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(ROI image, ROI landmarks, ROI truth mask) for the first ``frames`` frames with a face."""
    out = []
    with av.open(str(path)) as container, FaceTracker() as tracker:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            image = frame.to_ndarray(format="rgb24")
            t = float(frame.time or 0.0)
            faces = tracker.track(image, t)
            if not faces:
                continue
            lm = faces[0]
            masked, truth = draw_surgical_mask(image, lm, MaskStyle(LIGHT_BLUE))
            box = face_box(lm, image.shape)
            scale = roi / max(box.width, box.height)
            crop = cv2.resize(masked[box.slices], None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            tcrop = cv2.resize(truth[box.slices], (crop.shape[1], crop.shape[0]), interpolation=cv2.INTER_LINEAR)
            roi_lm = ((lm - np.array([box.x0, box.y0], np.float32)) * scale).astype(np.float32)
            out.append((crop, roi_lm, tcrop))
            if len(out) >= frames:
                break
    return out


def _jitter(ious: list[float]) -> float:
    """Mean absolute change of the IoU with the truth between consecutive frames: a flicker measure that
    does not mind the ROI box moving and resizing from frame to frame."""
    return float(np.mean(np.abs(np.diff(ious)))) if len(ious) > 1 else 0.0


def _time(data, options: SegmentOptions, passes: int = 3) -> tuple[float, float, float, MaskSegmenter]:
    """Median ms/frame over ``passes`` passes (the machine is shared: the median resists load spikes),
    mean IoU with the drawn masks, and the IoU jitter of the last pass."""
    seg = MaskSegmenter(options)
    for img, lm, _ in data[:3]:  # warm-up (imports, first k-means)
        seg.segment(img, lm)
    times, ious = [], []
    for _ in range(passes):
        seg, last = MaskSegmenter(options), []
        for img, lm, truth in data:
            t0 = time.perf_counter()
            mask = seg.segment(img, lm)
            times.append(time.perf_counter() - t0)
            last.append(_iou(mask, truth))
        ious += last
    return 1000.0 * float(np.median(times)), float(np.mean(ious)), _jitter(last), seg


#: Before the segmentation's speed work (nearest centres by cv2.batchDistance, one shared blur of the mask
#: probability, table look-ups of the colour bins, the snap's relief in uint8, distance thresholds for its band).
BASELINE_REV = "02f0f4a"


def _segment_at(rev: str) -> ModuleType | None:
    """unmask_video/segment.py (with its mask_refine.py) as it was at git revision ``rev``, imported as its own
    modules (None, with a message, where git or the revision is not there)."""
    root = Path(__file__).resolve().parents[1]
    folder = Path(tempfile.mkdtemp())
    modules = {}
    for name in ("mask_refine", "segment"):
        try:
            source = subprocess.run(
                ["git", "show", f"{rev}:unmask_video/{name}.py"], cwd=root, capture_output=True, text=True, check=True
            ).stdout
        except (OSError, subprocess.CalledProcessError):
            print(f"segmentation at {rev}: not found (no git checkout or no such revision); baseline skipped")
            return None
        module_name = f"_{name}_baseline_{rev}"
        source = source.replace("from unmask_video.mask_refine import", f"from _mask_refine_baseline_{rev} import")
        path = folder / f"{module_name}.py"
        path.write_text(source)
        spec = importlib.util.spec_from_file_location(module_name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module  # dataclasses look their module up
        spec.loader.exec_module(module)
        modules[name] = module
    return modules["segment"]


def _against_baseline(data, rev: str, rounds: int = 5) -> None:
    """CPU ms/frame of the default now and at ``rev`` and of the plain k-means, alternating; masks compared."""
    old = _segment_at(rev)
    if old is None:
        return
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)

    def run(make) -> tuple[float, list[np.ndarray]]:
        seg = make()
        start = time.process_time()
        masks = [seg.segment(img, lm) >= 0.5 for img, lm, _ in data]
        return 1000.0 * (time.process_time() - start) / len(data), masks

    makers = {
        f"default at {rev}": lambda: old.MaskSegmenter(old.SegmentOptions()),
        "default now": lambda: MaskSegmenter(SegmentOptions()),
        "plain k-means now": lambda: MaskSegmenter(SegmentOptions.plain_kmeans()),
    }
    best: dict[str, float] = {}
    masks: dict[str, list[np.ndarray]] = {}
    try:
        for _ in range(rounds):
            for name, make in makers.items():
                ms, masks[name] = run(make)
                best[name] = min(best.get(name, ms), ms)
    finally:
        cv2.setNumThreads(threads)
    then, now, plain = best[f"default at {rev}"], best["default now"], best["plain k-means now"]
    a, b = masks[f"default at {rev}"], masks["default now"]
    same = sum(bool((x == y).all()) for x, y in zip(a, b))
    differ = sum(int((x != y).sum()) for x, y in zip(a, b)) / max(sum(int(x.sum()) for x in a), 1)
    print(f"CPU ms/frame, one OpenCV thread, best of {rounds} alternating rounds: default at {rev} {then:.2f}, "
          f"now {now:.2f} (ratio {now / then:.3f}); plain k-means {plain:.2f}")
    print(f"default over the plain k-means: at {rev} {then - plain:+.2f} ms/frame, now {now - plain:+.2f} ms/frame")
    print(f"masks now vs at {rev}: {same} of {len(a)} frames identical, {100 * differ:.4f} % of the mask area differs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--data", type=Path, default=DATA.parents[1], help="the shared data folder (holds videos/)")
    parser.add_argument("--video", default="lp_d0.mp4")
    parser.add_argument(
        "--roi", type=int, default=430, help="ROI side in pixels after scaling (430: a talking head in 720p)"
    )
    parser.add_argument("--baseline-rev", default=BASELINE_REV, help="git revision of the segmentation timed as baseline")
    args = parser.parse_args()
    path = args.data / "videos" / "talking" / args.video
    if not path.exists():
        print(f"skipped: {path} not found (the ../shared data folder is absent)")
        sys.exit(0)
    data = _load(path, args.frames, args.roi)
    if not data:
        print(f"skipped: no face found in {path}")
        sys.exit(0)
    h, w = data[0][0].shape[:2]
    print(f"{path.name}: {len(data)} frames, ROI {w}x{h}, {os.cpu_count()} cores")
    rows = {}
    for name, opts in (
        ("k-means (method)", SegmentOptions.plain_kmeans(reuse=True)),
        # before issue 10's boundary snap, shading-free colour model, deeper search region and ear loops
        ("before (grown only)", SegmentOptions(
            reuse=True, snap=False, shading_free=False, below_jaw=0.3, search_jaw_floor=0.2, loops=False,
            edge_on_seed=False, presence=PresenceOptions(lips_ring_skin=0.0),
        )),
        ("reuse on", SegmentOptions(reuse=True)),
        ("reuse off", SegmentOptions(reuse=False)),
        ("reuse on, mask smoothing", SegmentOptions(reuse=True, temporal_smoothing=True)),
    ):
        ms, iou, jitter, seg = _time(data, opts)
        rows[name] = ms
        s = seg.stats
        print(
            f"{name:24s} {ms:7.2f} ms/frame (median)  IoU {iou:.3f}  IoU jitter {jitter:.4f}  "
            f"fits {s.fits}  reused {s.reused}  "
            f"refits {dict(s.refit_reasons)}"
        )
    print(f"reuse on / reuse off time ratio: {rows['reuse on'] / rows['reuse off']:.3f}")
    print(
        "default (growth + presence) vs the method's plain k-means: "
        f"{rows['reuse on'] - rows['k-means (method)']:+.2f} "
        f"ms/frame, ratio {rows['reuse on'] / rows['k-means (method)']:.3f}"
    )
    print(
        "default vs before (snap, shading-free model, deeper region, loops): "
        f"{rows['reuse on'] - rows['before (grown only)']:+.2f} ms/frame, "
        f"ratio {rows['reuse on'] / rows['before (grown only)']:.3f}"
    )
    print("IoU jitter: mean |IoU(t) - IoU(t-1)| with the drawn mask (flicker; lower is steadier)")
    _against_baseline(data, args.baseline_rev)


if __name__ == "__main__":
    main()
