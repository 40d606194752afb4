"""The reference composite's CPU per face, today's against a git revision's, on faces recorded once and kept.

    python -m benchmarks.composite_speed [--cache FACES.pkl] [--baseline-rev REV]
                                         [--rounds 5] [--faces 24] [--profile]

The faces the composite is given (ROI, mask, landmarks, warped reference, validity) are recorded from real runs of
the command path once and pickled to ``--cache`` (later runs read them back: an iteration costs the replay only):
the real KF94 clip with its own bare frame as the reference (720p), the quality benchmark's ``lp_s32`` with its drawn
mask and its frame 0 (720p, as warped and with the still relit), and the speed benchmark's self-made clips at 720p
and 1080p (face 40 % of the width); with ``--real`` also the grey-mask man (1080p) and the white-mask woman (720p)
with the stand-in references of the real-clip picture check (``../faces/fmd/270.jpg`` and ``16.jpg`` beside
``--data``) where they are there. Each scene's faces go in order through a fresh composite of today's modules
and of the modules as they were at ``--baseline-rev`` (composite.py with that revision's blend.py, fill_seam.py and
outside_fill.py: ``warp_speed._composite_at``, as composite_replay), taking turns face by face,
``--rounds`` times, one OpenCV thread and one BLAS thread. ``--clips NAME=VIDEO:REFERENCE,...``: instead, every face
of the command's run on each video file with that reference, in order (the colour fields measured and reused as in
the run), as scene NAME (e.g. the three real masked clips with their references; written to ``--cache`` as above).

Prints process CPU ms per face (mean over the faces, median over the rounds) of the whole composite and of its parts
(each timed inclusively in the modules of its revision that call it, today's split modules or a revision's one
composite.py alike: ``composite_replay.PARTS``), the median of the rounds'
ratios, and the largest difference of the outputs and the lowest per-face PSNR of today's against the revision's over
the pixels either changed. ``--profile``: a cProfile of today's composite over all scenes instead. Asserts nothing.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pickle
import pstats
import statistics
import tempfile
import time
from pathlib import Path
from types import ModuleType

os.environ.setdefault("GLOG_minloglevel", "2")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

import unmask_video.reconstruct.composite as composite_module  # noqa: E402
from benchmarks.composite_replay import (  # noqa: E402
    FILL,
    SKIN_LIGHT,
    Part,
    _output_difference,
    _PartTimer,
    _quality_faces,
    _record,
    _relit,
)
from benchmarks.speed import Clip  # noqa: E402
from benchmarks.steady_speed import _clip_list  # noqa: E402
from benchmarks.warp_speed import _composite_at  # noqa: E402
from unmask_video.cache import cache_dir  # noqa: E402
from unmask_video.stages import FaceROI  # noqa: E402

#: The parts timed, inclusive of what they call, in the modules of the composite's revision that call them (see
#: :class:`~benchmarks.composite_replay.Part`); then OpenCV's Telea inpainting (:data:`TELEA`), wherever it is called.
PARTS = (
    Part("colour match", "match_color", (("match_color",),), ("composite",)),
    Part("skin light", "match_skin_light", SKIN_LIGHT, ("color_match", "composite")),
    Part("on-face fill", "fill_on_face", (("fill_on_face",),), ("composite",)),
    Part("surround", "fill", FILL, ("composite",)),
    Part("feather", "feather_into_fill", (("feather_into_fill",),), ("composite",)),
)
#: (label, key) of the Telea inpainting part (``cv2.inpaint``, timed by patching ``cv2``).
TELEA = ("telea", "inpaint")
#: (scene, clip under ``masked``, stand-in reference under ``../faces/fmd``) recorded with ``--real``.
REAL = (
    ("man 1080p, stand-in ref", "man_grey_mask_1080p.mp4", "270.jpg"),
    ("woman 720p, stand-in ref", "woman_white_mask_720.mp4", "16.jpg"),
)


def _record_all(
    data: Path, quality_frames: int, synthetic_frames: int, faces: int, real: bool
) -> dict[str, list[FaceROI]]:
    """The scenes, by name: the faces recorded (at most ``faces`` per scene, evenly spread)."""
    from benchmarks.speed import SIZES, Clip, make_bench_clip
    from benchmarks.warp_replay import REAL_CLIP, REFERENCE_FRAME, _reference_frame

    tmp = Path(tempfile.mkdtemp(prefix="composite_speed_rec_"))
    clips: dict[str, Clip] = {}
    if (data / REAL_CLIP).is_file():
        reference = _reference_frame(data / REAL_CLIP, REFERENCE_FRAME, tmp / "ref.png")
        clips["KF94 720p"] = Clip(data / REAL_CLIP, reference)
    for name, video, photo in REAL if real else ():
        clip = Clip(data / "masked" / video, data.parent / "faces" / "fmd" / photo)
        if clip.video.is_file() and clip.reference.is_file():
            clips[name] = clip
    for size in ("720p", "1080p"):
        clips[f"synthetic {size}"] = make_bench_clip(tmp / size, SIZES[size], synthetic_frames)
    scenes: dict[str, list[FaceROI]] = {}

    def spread(found: list[FaceROI]) -> list[FaceROI]:
        return found[:: max(1, len(found) // faces)][:faces]

    for name, clip in clips.items():
        found = _record(clip, tmp / "out.mp4")
        if found:
            scenes[name] = spread(found)
    quality = _quality_faces(data, "lp_s32", quality_frames)
    if quality is not None and quality[0]:
        scenes["lp_s32 720p"], scenes["lp_s32 720p, relit"] = spread(quality[0]), spread(quality[1])
    scenes["synthetic 720p, relit"] = _relit(scenes["synthetic 720p"], 1)
    return scenes


def _record_clips(text: str) -> dict[str, list[FaceROI]]:
    """Every face of the command's run on each ``NAME=VIDEO:REFERENCE`` of ``text`` (comma-separated), in order, by
    name."""
    tmp = Path(tempfile.mkdtemp(prefix="composite_speed_clips_"))
    return {name: _record(Clip(video, reference), tmp / "out.mp4") for name, video, reference in _clip_list(text)}


def _replay(modules: list[ModuleType], faces: list[FaceROI]) -> list[tuple[dict[str, float], list[np.ndarray]]]:
    """Each of ``modules``' composites over ``faces``, taking turns face by face: CPU ms per face by part, outputs."""
    composites = [m.ReferenceComposite(m.CompositeOptions()) for m in modules]
    timers = [_PartTimer(m, PARTS) for m in modules]
    inpaint = [0.0 for _ in modules]
    totals = [0.0 for _ in modules]
    outputs: list[list[np.ndarray]] = [[] for _ in modules]
    original = cv2.inpaint
    for face in faces:
        for i, (composite, timer) in enumerate(zip(composites, timers)):
            spent = [0.0]

            def timed_inpaint(*args: object, **kwargs: object) -> np.ndarray:
                t = time.process_time()
                try:
                    return original(*args, **kwargs)
                finally:
                    spent[0] += time.process_time() - t

            cv2.inpaint = timed_inpaint
            try:
                with timer:
                    t0 = time.process_time()
                    outputs[i].append(composite.reconstruct([face])[0])
                    totals[i] += time.process_time() - t0
            finally:
                cv2.inpaint = original
            inpaint[i] += spent[0]
    results = []
    for i, timer in enumerate(timers):
        ms = {"total": totals[i] * 1000.0 / len(faces), "inpaint": inpaint[i] * 1000.0 / len(faces)}
        for part in PARTS:
            ms[part.key] = timer.seconds[part.key] * 1000.0 / len(faces) if timer.has(part.key) else float("nan")
        results.append((ms, outputs[i]))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data" / "videos",
                        help="the shared videos folder (from a worktree under /work/wt: /work/shared/data/videos)")
    parser.add_argument("--cache", type=Path, default=None,
                        help="the recorded faces (a pickle: only one this benchmark wrote; default: in the user's cache)")
    parser.add_argument("--faces", type=int, default=24, help="faces per scene (evenly spread), when recording")
    parser.add_argument("--real", action="store_true",
                        help="also record the grey-mask man and the white-mask woman with stand-in references")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--baseline-rev", default="HEAD")
    parser.add_argument("--scenes", default="", help="scene names separated by ; (a subset)")
    parser.add_argument("--profile", action="store_true", help="cProfile today's composite instead")
    parser.add_argument("--clips", default="",
                        help="record every face of these video files instead, NAME=VIDEO:REFERENCE comma-separated")
    args = parser.parse_args()
    if args.cache is None:  # (not the shared temporary folder: a pickle there could be anyone's)
        args.cache = cache_dir("benchmarks") / "composite_speed_faces.pkl"
    if args.cache.is_file():
        scenes = pickle.loads(args.cache.read_bytes())
    elif args.clips:
        scenes = _record_clips(args.clips)
        args.cache.write_bytes(pickle.dumps(scenes))
    else:
        scenes = _record_all(args.data, 30, 24, args.faces, args.real)
        args.cache.write_bytes(pickle.dumps(scenes))
    if args.scenes:
        scenes = {k: v for k, v in scenes.items() if k in args.scenes.split(";")}
    cv2.setNumThreads(1)
    threadpool_limits(limits=1, user_api="blas")
    if args.profile:
        composite = composite_module.ReferenceComposite()
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(args.rounds):
            for faces in scenes.values():
                for face in faces:
                    composite.reconstruct([face])
        profile.disable()
        pstats.Stats(profile).sort_stats("tottime").print_stats(45)
        pstats.Stats(profile).sort_stats("cumulative").print_stats(45)
        return
    baseline = _composite_at(args.baseline_rev)
    modules = [composite_module] if baseline is None else [composite_module, baseline]
    # (a warm-up face through each: OpenCV builds its Lab tables on the process's first conversion, 0.2 s, which the
    # first module timed would otherwise pay)
    for module in modules:
        module.ReferenceComposite().reconstruct([next(iter(scenes.values()))[0]])
    keys = ["total"] + [part.key for part in PARTS] + [TELEA[1]]
    labels = ["composite"] + [part.label for part in PARTS] + [TELEA[0]]
    print(f"CPU ms per face, @{args.baseline_rev} -> today (medians of {args.rounds} rounds, taking turns face by "
          f"face, 1 OpenCV thread)")  # fmt: skip
    print("| scene (faces, ROI) | " + " | ".join(labels) + " | max diff | worst PSNR dB |")
    print("|---" * (len(labels) + 3) + "|")
    for name, faces in scenes.items():
        rounds = [_replay(modules, faces) for _ in range(args.rounds)]
        cells = []
        for key in keys:
            new = statistics.median(r[0][0][key] for r in rounds)
            if baseline is None:
                cells.append(f"{new:.2f}")
                continue
            old = statistics.median(r[1][0][key] for r in rounds)
            if np.isnan(old) or np.isnan(new) or old <= 0:
                cells.append(f"{old:.2f} -> {new:.2f}")
                continue
            ratio = statistics.median(r[0][0][key] / r[1][0][key] for r in rounds if r[1][0][key] > 0)
            cells.append(f"{old:.2f} -> {new:.2f} ({ratio:.2f}x)")
        diff = psnr = "-"
        if baseline is not None:
            diff, psnr = _output_difference(rounds[-1][0][1], rounds[-1][1][1], faces)
        shape = faces[0].image.shape
        print(f"| {name} ({len(faces)}, {shape[1]}x{shape[0]}) | " + " | ".join(cells) + f" | {diff} | {psnr} |",
              flush=True)


if __name__ == "__main__":
    main()
