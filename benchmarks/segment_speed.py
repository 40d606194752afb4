"""Speed (and accuracy) of mask segmentation: the method's plain k-means against the default, measured in one run.

    python -m benchmarks.segment_speed [--frames 60] [--video lp_d0.mp4] [--roi 430] [--data ../shared/data]
        [--baseline-rev REV] [--identical] [--only-baseline] [--real woman_puts_on_kf94_720p.mp4] [--start N]
        [--pipeline]

Decodes frames of a real talking-head clip from ../shared/data/videos/talking (PyAV), tracks its
landmarks (FaceMesh, not timed), draws a synthetic surgical mask on every frame (the ground truth),
crops the face ROI scaled to about ``--roi`` pixels, then times :class:`MaskSegmenter` on the ROIs with
the method's plain k-means (polygon only, no growth, no presence decision) and with the default (growth
over the search region, presence decision) with and without cluster reuse and with mask smoothing, after
a warm-up. Prints the median ms/frame over three passes, the reuse/no-reuse ratio, the cost of the
default over the plain k-means, the refit count, the mean IoU with the drawn mask and the frame-to-frame
IoU jitter (flicker).

Then the default as it is against the default as it was at git revision ``--baseline-rev`` (segment.py,
mask_refine.py, mask_presence.py and occluders.py read with ``git show`` and imported as their own modules; skipped
outside a git checkout), and the plain k-means, in alternating rounds on one OpenCV thread, timed in CPU time (best of
the rounds: a change of load on a shared machine falls on all alike): ms/frame, the ratio now / then, the cost over the
plain k-means then and now; per part (the scale-down, the features, the k-means fit and reuse, the clean-up, the colour
model, the growth, the snap, the rim cut, each presence cue, the occluders, the hem, the ear loops, the smoothing, the
scale-up with the feather, the segment call's own body), exclusive CPU time with the parts' calls wrapped
(:data:`PARTS`); and how much the masks of the two differ
(frames whose float masks are bit-identical, pixels as % of the mask area). ``--identical`` exits 1 unless every mask
is bit-identical (for speed work that must not move the mask). ``--real NAME``: the same comparison on a clip of a real
mask (``videos/masked``), as it is. ``--pipeline``: the ROI the pipeline gives the segmenter (the face box at its
margin, not rescaled) in the frame at 720 rows, instead of a box scaled to ``--roi``; ``--start``: the first frame read.

This is a benchmark, not a test: it asserts nothing but ``--identical``. It skips with a message when ../shared is absent.
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import os
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

os.environ.setdefault("GLOG_minloglevel", "2")

import av  # noqa: E402
import cv2  # noqa: E402
import numpy as np  # noqa: E402

from unmask_video.landmarks import FaceTracker, face_box  # noqa: E402
from unmask_video.mask_presence import PresenceOptions  # noqa: E402
from unmask_video.pipeline import PipelineOptions  # noqa: E402
from unmask_video.segment import MaskSegmenter, SegmentOptions  # noqa: E402
from unmask_video.synthetic import LIGHT_BLUE, MaskStyle, draw_surgical_mask  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "videos" / "talking"


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a >= 0.5, b >= 0.5
    return float((a & b).sum() / max((a | b).sum(), 1))


def _to_720p(image: np.ndarray) -> np.ndarray:
    """``image`` scaled to 720 rows and centred on a 1280 x 720 grey frame (a small talking-head clip as a 720p one)."""
    h, w = image.shape[:2]
    scaled = cv2.resize(image, (int(round(w * 720 / h)), 720), interpolation=cv2.INTER_LINEAR)
    frame = np.full((720, max(1280, scaled.shape[1]), 3), 128, np.uint8)
    x = (frame.shape[1] - scaled.shape[1]) // 2
    frame[:, x : x + scaled.shape[1]] = scaled
    return frame


def _load(
    path: Path, frames: int, roi: int, draw: bool = True, start: int = 0, pipeline: bool = False
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(ROI image, ROI landmarks, ROI truth mask) for the first ``frames`` frames with a face from frame ``start`` on
    (``draw`` False: a clip of a real mask, as it is; its "truth" is empty). ``pipeline``: the ROI the pipeline gives
    the segmenter (the face box at its margin, :class:`PipelineOptions`' ``box_margin``, not rescaled) in the frame
    at 720 rows (a smaller clip scaled up and centred on a 1280 x 720 frame) instead of a box scaled to ``roi``."""
    out = []
    margin = PipelineOptions().box_margin
    with av.open(str(path)) as container, FaceTracker() as tracker:
        stream = container.streams.video[0]
        for index, frame in enumerate(container.decode(stream)):
            if index < start:
                continue
            image = frame.to_ndarray(format="rgb24")
            if pipeline and image.shape[0] != 720:
                image = _to_720p(image)
            t = float(frame.time or 0.0)
            faces = tracker.track(image, t)
            if not faces:
                continue
            lm = faces[0]
            if draw:
                masked, truth = draw_surgical_mask(image, lm, MaskStyle(LIGHT_BLUE))
            else:
                masked, truth = image, np.zeros(image.shape[:2], np.float32)
            box = face_box(lm, image.shape, margin) if pipeline else face_box(lm, image.shape)
            scale = 1.0 if pipeline else roi / max(box.width, box.height)
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


#: Main after the rim cut (mask_refine.cut_at_rim), before its speed work: the default baseline. (The earlier speed
#: work (cv2.batchDistance, one shared probability blur, colour-bin tables) is measured against 02f0f4a.)
BASELINE_REV = "d583140"


#: The modules split out of mask_refine.py and segment.py (after 962b37a; rim_cut and segment_options to mask_paste
#: after fa74ff7), each in the order they import each other.
REFINE_SPLIT = ("mask_pixels", "colour_model", "search_region", "rim_cut")
SEGMENT_SPLIT = (
    "segment_options", "mask_region", "kmeans_clusters", "still_carry", "mask_cleanup", "segment_state", "mask_window",
    "mask_clusters", "side_growth", "presence_decision", "mask_paste",
)
SPLIT_OUT = REFINE_SPLIT + SEGMENT_SPLIT
#: Other modules the segmenter calls that are taken from the revision where it has them (after the split out of the
#: modules above; a revision without them uses today's).
OWN_MODULES = ("mask_texture",)
#: The modules that hold what were MaskSegmenter's methods (after fa74ff7): their calls of the :data:`PARTS` are timed
#: as the segment module's are (a method calling another went through the class, which the clock wraps).
METHODS_OUT = ("mask_window", "mask_clusters", "mask_cleanup", "side_growth", "presence_decision", "mask_paste")


def _segment_at(rev: str) -> dict[str, ModuleType] | None:
    """unmask_video/segment.py (with its mask_refine.py, mask_edge.py, mask_presence.py, occluders.py, mask_texture.py
    where ``rev`` has it (:data:`OWN_MODULES`), and the modules split out of the first and the last where ``rev`` has
    them: :data:`SPLIT_OUT`) as it was at git revision ``rev``, imported as their own modules, by their names (None,
    with a message, where git or the revision is not there)."""
    root = Path(__file__).resolve().parents[1]
    folder = Path(tempfile.mkdtemp())
    modules = {}
    names = (
        "occluders", "mask_presence", *REFINE_SPLIT, *OWN_MODULES, "mask_refine", "mask_edge", *SEGMENT_SPLIT, "segment",
    )
    for name in names:
        try:
            source = subprocess.run(
                ["git", "show", f"{rev}:unmask_video/{name}.py"], cwd=root, capture_output=True, text=True, check=True
            ).stdout
        except (OSError, subprocess.CalledProcessError):
            if name in SPLIT_OUT or name in OWN_MODULES:
                continue  # (a revision before the split: mask_refine.py or segment.py holds it)
            print(f"segmentation at {rev}: not found (no git checkout or no such revision); baseline skipped")
            return None
        module_name = f"_{name}_baseline_{rev}"
        for other in names:
            source = source.replace(f"from unmask_video.{other} import", f"from _{other}_baseline_{rev} import")
        path = folder / f"{module_name}.py"
        path.write_text(source)
        spec = importlib.util.spec_from_file_location(module_name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module  # dataclasses look their module up
        spec.loader.exec_module(module)
        modules[name] = module
    return modules


#: The parts of the default segmentation, timed apart: names in a segment module's namespace (the functions it calls)
#: or its MaskSegmenter's methods, before the split out of segment.py (:data:`SPLIT_OUT`) or after it (a name a
#: revision lacks is skipped; a method moved out is named beside the function it became). What none of them holds is
#: the segment call's own body ("rest").
PARTS: dict[str, tuple[str, ...]] = {
    "scale down": ("resize",),
    "features": (
        "MaskSegmenter._features", "features", "MaskSegmenter._histogram", "colour_histogram",
        "MaskSegmenter._core_mask", "core_mask",
    ),
    "k-means fit": ("MaskSegmenter._fit", "fit_clusters", "MaskSegmenter._skin_colour", "skin_colour"),
    "k-means reuse": (
        "MaskSegmenter._assign", "nearest_centres", "MaskSegmenter._choose", "choose_clusters",
        "MaskSegmenter._refit_reason", "refit_reason",
    ),
    "clean": ("MaskSegmenter._clean", "clean_kmeans_mask"),
    "colour model": ("MaskSegmenter._colour_model",),
    "grow": ("smooth_probability", "grow", "grow_deeper"),
    "snap": ("snap_edges",),
    "rim cut": (
        "cut_at_rim", "_cluster_map", "cluster_map", "MaskSegmenter._under_jaw", "under_jaw", "MaskSegmenter._over_nose",
        "over_nose",
    ),
    "edge cue": ("edge_contrast",),
    "lips cue": ("lip_contrast",),
    "mouth cue": ("mouth_darkness",),
    "presence": (
        "MaskSegmenter._presence", "decide_presence", "lower_face", "lower_cover", "presence_score",
    ),
    "occluders": ("skin_occluders", "entering", "MaskSegmenter._skin_in_front", "skin_in_front"),
    "hem": ("add_hem",),
    "ear loops": ("ear_loops",),
    "print, peaks": ("fill_unlike_holes", "fill_print_notches", "cut_narrow_peaks"),
    "side strips": (
        "MaskSegmenter._side_strips", "side_strips", "MaskSegmenter._grow_sides", "grow_sides",
        "MaskSegmenter._off_open_sides", "off_open_sides",
    ),
    "polygons": (
        "face_size", "region_polygon", "search_polygon", "search_polygons", "MaskSegmenter._core_mask", "core_mask",
    ),
    "edge model": ("edge_model",),
    "lining": ("MaskSegmenter._without_lining", "textured", "without_foreign"),
    "still check": ("MaskSegmenter._still", "MaskSegmenter._keep_still"),
    "smoothing": ("MaskSegmenter._smooth",),
    "scale up, feather": ("MaskSegmenter._paste", "paste", "MaskSegmenter._feather"),
}


class _PartClock:
    """Exclusive CPU time per part: each part's wrapped calls, less the time of the wrapped calls inside them."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = {}
        self._stack: list[float] = []

    def wrap(self, part: str, fn):
        def timed(*args, **kwargs):
            start = time.process_time()
            self._stack.append(0.0)
            try:
                return fn(*args, **kwargs)
            finally:
                elapsed = time.process_time() - start
                inner = self._stack.pop()
                self.totals[part] = self.totals.get(part, 0.0) + elapsed - inner
                if self._stack:
                    self._stack[-1] += elapsed

        return timed


@contextmanager
def _clocked(modules: dict[str, ModuleType], clock: _PartClock):
    """The parts (:data:`PARTS`) of the segment module and of the modules holding what were its MaskSegmenter's
    methods (:data:`METHODS_OUT`, where ``modules`` has them), and its MaskSegmenter.segment, wrapped by ``clock``."""
    module = modules["segment"]
    callers = [module, *(modules[name] for name in METHODS_OUT if name in modules)]
    undo = []
    for part, names in {**PARTS, "rest": ("MaskSegmenter.segment",)}.items():
        for name, owner in ((name, owner) for name in names for owner in callers):
            if name.startswith("MaskSegmenter."):
                if owner is not module:
                    continue
                owner, name = module.MaskSegmenter, name.split(".", 1)[1]
            if not hasattr(owner, name):
                continue
            raw = inspect.getattr_static(owner, name)
            fn = raw.__func__ if isinstance(raw, staticmethod) else raw
            timed = clock.wrap(part, fn)
            setattr(owner, name, staticmethod(timed) if isinstance(raw, staticmethod) else timed)
            undo.append((owner, name, raw))
    try:
        yield
    finally:
        for owner, name, raw in reversed(undo):
            setattr(owner, name, raw)


def _against_baseline(data, rev: str, rounds: int = 5) -> bool:
    """CPU ms/frame of the default now and at ``rev`` and of the plain k-means, in total and per part of the default
    (:data:`PARTS`); masks compared. True when every mask is bit-identical.

    The machine is shared and its load changes from second to second: the three run side by side, frame by frame
    (each its own segmenter, in an order that turns round every frame), and each figure is the best of ``rounds``
    passes. The default's parts are timed in a second set of passes, with their calls wrapped (the wrapping costs a
    little): exclusive CPU time, the segment call's own body as "rest"."""
    old_modules = _segment_at(rev)
    if old_modules is None:
        return True
    old = old_modules["segment"]
    now_modules = {
        name: sys.modules[f"unmask_video.{name}"]
        for name in ("segment", *METHODS_OUT)
        if f"unmask_video.{name}" in sys.modules
    }
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    makers = {
        f"default at {rev}": lambda: old.MaskSegmenter(old.SegmentOptions()),
        "default now": lambda: MaskSegmenter(SegmentOptions()),
        "plain k-means now": lambda: MaskSegmenter(SegmentOptions.plain_kmeans()),
    }

    def side_by_side(names: list[str]) -> tuple[dict[str, float], dict[str, list[np.ndarray]]]:
        segs = {name: makers[name]() for name in names}
        spent = dict.fromkeys(names, 0.0)
        masks: dict[str, list[np.ndarray]] = {name: [] for name in names}
        for i, (img, lm, _) in enumerate(data):
            for name in names if i % 2 == 0 else names[::-1]:
                start = time.process_time()
                masks[name].append(segs[name].segment(img, lm))
                spent[name] += time.process_time() - start
        reused.update({
            name: (seg.stats.still, getattr(seg.stats, "moved", 0), getattr(seg.stats, "seeded", 0))
            for name, seg in segs.items()
        })
        return {name: 1000.0 * t / len(data) for name, t in spent.items()}, masks

    reused: dict[str, tuple[int, int, int]] = {}

    best: dict[str, float] = {}
    best_parts: dict[str, dict[str, float]] = {"then": {}, "now": {}}
    masks: dict[str, list[np.ndarray]] = {}
    try:
        for _ in range(rounds):
            ms, masks = side_by_side(list(makers))
            for name, value in ms.items():
                best[name] = min(best.get(name, value), value)
            clocks = {"then": _PartClock(), "now": _PartClock()}
            with _clocked(old_modules, clocks["then"]), _clocked(now_modules, clocks["now"]):
                side_by_side([f"default at {rev}", "default now"])
            for key, clock in clocks.items():
                for part, t in clock.totals.items():
                    value = 1000.0 * t / len(data)
                    best_parts[key][part] = min(best_parts[key].get(part, value), value)
    finally:
        cv2.setNumThreads(threads)
    then, now, plain = best[f"default at {rev}"], best["default now"], best["plain k-means now"]
    a, b = masks[f"default at {rev}"], masks["default now"]
    same = sum(bool(np.array_equal(x, y)) for x, y in zip(a, b))
    differ = sum(int(((x >= 0.5) != (y >= 0.5)).sum()) for x, y in zip(a, b)) / max(
        sum(int((x >= 0.5).sum()) for x in a), 1
    )
    print(f"CPU ms/frame, one OpenCV thread, side by side frame by frame, best of {rounds} passes: default at {rev} "
          f"{then:.2f}, now {now:.2f} (ratio {now / then:.3f}); plain k-means {plain:.2f}")
    print(f"default over the plain k-means: at {rev} {then - plain:+.2f} ms/frame, now {now - plain:+.2f} ms/frame")
    print(f"per part of the default (exclusive CPU ms/frame, calls wrapped; best of {rounds}): at {rev} -> now")
    for part in (*PARTS, "rest"):
        t0, t1 = best_parts["then"].get(part, 0.0), best_parts["now"].get(part, 0.0)
        print(f"  {part:12s} {t0:6.2f} -> {t1:6.2f}  ratio {t1 / t0 if t0 > 0 else float('nan'):.3f}")
    print(f"masks now vs at {rev}: {same} of {len(a)} frames bit-identical (float masks), "
          f"{100 * differ:.4f} % of the mask area differs")
    if same < len(a):
        ious = [_iou(x >= 0.5, y >= 0.5) for x, y in zip(a, b) if (x >= 0.5).any() or (y >= 0.5).any()]
        if ious:
            print(f"  IoU of the masks (>= 0.5) now vs at {rev}, frames with a mask: mean {np.mean(ious):.4f}, "
                  f"lowest {min(ious):.4f}")
    for name in (f"default at {rev}", "default now"):
        still, moved, seeded = reused.get(name, (0, 0, 0))
        print(f"  {name}: {still} frames reused on a still face, {moved} carried by the face's motion, {seeded} seeded "
              f"runs (the carried mask's outline settled again), of {len(a)}")
    return same == len(a)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--data", type=Path, default=DATA.parents[1], help="the shared data folder (holds videos/)")
    parser.add_argument("--video", default="lp_d0.mp4")
    parser.add_argument(
        "--roi", type=int, default=430, help="ROI side in pixels after scaling (430: a talking head in 720p)"
    )
    parser.add_argument("--start", type=int, default=0, help="the first frame read (e.g. 150 on the KF94 clip)")
    parser.add_argument(
        "--pipeline", action="store_true",
        help="the pipeline's own ROI (the face box at its margin, not rescaled) in the frame at 720 rows (a smaller "
        "clip scaled up onto a 1280 x 720 frame) instead of --roi",
    )
    parser.add_argument("--baseline-rev", default=BASELINE_REV, help="git revision of the segmentation timed as baseline")
    parser.add_argument(
        "--identical", action="store_true",
        help="exit 1 unless the default's masks are bit-identical to those at --baseline-rev (speed work only)",
    )
    parser.add_argument("--only-baseline", action="store_true", help="only the same-run comparison with --baseline-rev")
    parser.add_argument(
        "--real", metavar="NAME",
        help="a clip of a real mask under videos/masked (e.g. woman_puts_on_kf94_720p.mp4) instead of --video with a "
        "drawn one: only the same-run comparison with --baseline-rev (no truth to measure IoU with)",
    )
    args = parser.parse_args()
    path = args.data / "videos" / ("masked" if args.real else "talking") / (args.real or args.video)
    if not path.exists():
        print(f"skipped: {path} not found (the ../shared data folder is absent)")
        sys.exit(0)
    data = _load(path, args.frames, args.roi, draw=not args.real, start=args.start, pipeline=args.pipeline)
    if not data:
        print(f"skipped: no face found in {path}")
        sys.exit(0)
    h, w = data[0][0].shape[:2]
    print(f"{path.name}: {len(data)} frames, ROI {w}x{h}, {os.cpu_count()} cores")
    if args.only_baseline or args.real:
        identical = _against_baseline(data, args.baseline_rev)
        sys.exit(1 if args.identical and not identical else 0)
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
    identical = _against_baseline(data, args.baseline_rev)
    if args.identical and not identical:
        print(f"FAILED: --identical: the masks differ from those at {args.baseline_rev}")
        sys.exit(1)


if __name__ == "__main__":
    main()
