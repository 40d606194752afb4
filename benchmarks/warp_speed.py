"""Speed of the reference warp, colour match, gap inpainting and blend, per face ROI.

    python -m benchmarks.warp_speed [--sizes 150,300,500] [--repeat 50] [--baseline-rev REV]

Uses the astronaut photo (shipped with scikit-image), scaled so that the face ROI (the face oval's box
grown as the pipeline crops it) is about each size in pixels; the target is
the same face rotated and scaled, with a drawn lower-face mask. Prints milliseconds per ROI for each
step (process CPU time, one OpenCV thread by default), and the coarse-grid TPS warp as a ratio of the dense (every
pixel) TPS warp and of the face-only warp (no control points below the jaw) measured in the same run, and the
Poisson blend as a ratio of the feathered blend. The composite is also timed as it was at git revision
``--baseline-rev`` (the module's source read with ``git show``; skipped outside a git checkout), in the same run,
with the largest difference between the two outputs; so is the tracked warp (as the pipeline calls it: a face
track, the frame and its mask) as it was at ``--warp-baseline-rev`` (before its speed work of issue 14), with the
largest difference of the warped pixels and the number of validity pixels that differ; and the composite with
``CompositeOptions(light="skin")`` (the default) against ``light="ring"``, rounds alternating. A benchmark: it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import time
from pathlib import Path
from types import ModuleType
from typing import Callable

os.environ.setdefault("GLOG_minloglevel", "2")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from benchmarks.revisions import module_at  # noqa: E402
from unmask_video import landmark_sets  # noqa: E402
from unmask_video.face_shape import face_region  # noqa: E402
from unmask_video.reconstruct.composite import (  # noqa: E402
    CompositeOptions,
    ReferenceComposite,
    match_color,
)
from unmask_video.blend import DEFAULT_BLEND_WIDTH, blend_into  # noqa: E402
from unmask_video.face_units import face_size_px  # noqa: E402
from unmask_video.landmarks import face_box  # noqa: E402
from unmask_video.pipeline import PipelineOptions  # noqa: E402
from unmask_video.stages import FaceROI  # noqa: E402
from unmask_video.synthetic import astronaut_landmarks  # noqa: E402
from unmask_video.warp import ReferenceWarper, WarpOptions  # noqa: E402


def _ms(fn: Callable[[], object], repeat: int) -> float:
    """Milliseconds per call: the best of 5 rounds of process CPU time (steadier than wall time on a
    shared machine; with one OpenCV thread it is also the wall time of an idle core)."""
    for _ in range(3):  # warm-up
        fn()
    best = []
    for _ in range(5):
        t0 = time.process_time()
        for _ in range(repeat):
            fn()
        best.append((time.process_time() - t0) / repeat * 1000.0)
    return min(best)


#: The composite before its speed work (in-place pastes, ring listed once): the default baseline.
BASELINE_REV = "3cec95e"
#: The warp before its speed work of issue 14 (two remaps, full-size map scaling, control points twice).
WARP_BASELINE_REV = "88f4916"


#: The composite's sibling modules taken at the baseline's revision too, where that revision has them (module, path).
_COMPOSITE_SIBLINGS = (
    ("unmask_video.blend", "unmask_video/blend.py"),
    ("unmask_video.reconstruct.fill_seam", "unmask_video/reconstruct/fill_seam.py"),
    ("unmask_video.reconstruct.outside_fill", "unmask_video/reconstruct/outside_fill.py"),  # (imports fill_seam)
    # (the composite's own modules since it was split, each after those it imports)
    ("unmask_video.reconstruct.lab_pixels", "unmask_video/reconstruct/lab_pixels.py"),
    ("unmask_video.reconstruct.smooth_field", "unmask_video/reconstruct/smooth_field.py"),
    ("unmask_video.reconstruct.ring_colour", "unmask_video/reconstruct/ring_colour.py"),
    ("unmask_video.reconstruct.light_plane", "unmask_video/reconstruct/light_plane.py"),
    ("unmask_video.reconstruct.skin_chroma", "unmask_video/reconstruct/skin_chroma.py"),
    ("unmask_video.reconstruct.ring_weights", "unmask_video/reconstruct/ring_weights.py"),
    ("unmask_video.reconstruct.face_history", "unmask_video/reconstruct/face_history.py"),
    ("unmask_video.reconstruct.light_fields", "unmask_video/reconstruct/light_fields.py"),
    ("unmask_video.reconstruct.skin_light", "unmask_video/reconstruct/skin_light.py"),
    ("unmask_video.reconstruct.color_match", "unmask_video/reconstruct/color_match.py"),
    ("unmask_video.reconstruct.surround", "unmask_video/reconstruct/surround.py"),
    # (the composite's steps in modules of their own)
    ("unmask_video.reconstruct.cloth_bleed", "unmask_video/reconstruct/cloth_bleed.py"),
    ("unmask_video.reconstruct.eye_keep", "unmask_video/reconstruct/eye_keep.py"),
    ("unmask_video.reconstruct.neck_side", "unmask_video/reconstruct/neck_side.py"),  # (imports fill_seam)
    # (and its per-face state and bands in modules of their own, each after those it imports)
    ("unmask_video.reconstruct.composite_bands", "unmask_video/reconstruct/composite_bands.py"),
    ("unmask_video.reconstruct.field_refresh", "unmask_video/reconstruct/field_refresh.py"),
    ("unmask_video.reconstruct.rebuilt_carry", "unmask_video/reconstruct/rebuilt_carry.py"),
    ("unmask_video.reconstruct.face_averages", "unmask_video/reconstruct/face_averages.py"),
)


def _at_with_siblings(rev: str, siblings: tuple[tuple[str, str], ...], module_path: str, name: str) -> ModuleType:
    """``module_path`` as it was at git revision ``rev``, imported as the module ``name`` with each of ``siblings``
    ((module, path), each after those it imports) that the revision has imported first as ``_<stem>_baseline_<tag>``
    and imported from there (by it and by the siblings after it) instead of today's (CalledProcessError or OSError where
    git or the revision is not there)."""
    tag = re.sub(r"\W", "_", rev)  # (a module name: HEAD~1 -> HEAD_1)
    root = Path(__file__).resolve().parents[1]
    swaps: dict[str, str] = {}

    def own_siblings(source: str) -> str:
        for module, sibling in swaps.items():
            source = source.replace(f"from {module} import", f"from {sibling} import")
        return source

    for module, path in siblings:
        there = subprocess.run(["git", "cat-file", "-e", f"{rev}:{path}"], cwd=root, capture_output=True)
        if there.returncode == 0:
            sibling = f"_{Path(path).stem}_baseline_{tag}"
            module_at(rev, path, sibling, own_siblings)
            swaps[module] = sibling
    return module_at(rev, module_path, name.format(tag=tag), own_siblings)


def _composite_at(rev: str) -> ModuleType | None:
    """unmask_video/reconstruct/composite.py as it was at git revision ``rev``, imported as its own module with the
    ``blend``, ``reconstruct/fill_seam`` and ``reconstruct/outside_fill`` modules of that revision and the composite's
    own (``_COMPOSITE_SIBLINGS``) where it has them (an older composite imports neither fill module), each importing
    the others of that revision too; its other sibling modules today's. None, with a message, where git or the revision is not there."""
    try:
        path = "unmask_video/reconstruct/composite.py"
        return _at_with_siblings(rev, _COMPOSITE_SIBLINGS, path, "_composite_baseline_{tag}")
    except (OSError, subprocess.CalledProcessError):
        print(f"composite at {rev}: not found (no git checkout or no such revision); baseline skipped")
        return None


def _module_or_none(rev: str, module_path: str) -> ModuleType | None:
    """``module_path`` (a module with no sibling imports to swap) as it was at git revision ``rev``, imported as its
    own module (None, with a message, where git or the revision is not there)."""
    stem = Path(module_path).stem
    try:
        return module_at(rev, module_path, f"_{stem}_baseline_{rev}")
    except (OSError, subprocess.CalledProcessError):
        print(f"{stem} at {rev}: not found (no git checkout or no such revision); baseline skipped")
        return None


#: The warp's own modules taken at the baseline's revision too, where that revision has them (module, path), each
#: after those it imports: the jaw's opening (read off the mask on every frame), the registration, and those it was split
#: into (warp_maps imports tps; warp_reference warp_maps, face_shape, below_jaw and reference_picture; warp_control
#: face_shape and below_jaw).
_WARP_SIBLINGS = tuple(
    (f"unmask_video.{stem}", f"unmask_video/{stem}.py")
    for stem in (
        "jaw_opening", "warp_register", "tps", "warp_maps", "face_shape", "below_jaw", "reference_picture",
        "warp_reference", "warp_control", "shape_smoothing", "neck_lag", "same_place",
    )
)


def _warp_module_or_none(rev: str) -> ModuleType | None:
    """``unmask_video/warp.py`` as it was at git revision ``rev``, with its own modules of that revision too where it
    has them (``_WARP_SIBLINGS``: the registration's speed is the warp's, and a revision after the split keeps its
    spline, maps and the rest there), imported as their own modules (None, with a message, where git or the revision
    is not there)."""
    try:
        return _at_with_siblings(rev, _WARP_SIBLINGS, "unmask_video/warp.py", "_warp_baseline_{tag}")
    except (OSError, subprocess.CalledProcessError):
        print(f"warp at {rev}: not found (no git checkout or no such revision); baseline skipped")
        return None


def _ms_pair(fn_a: Callable[[], object], fn_b: Callable[[], object], repeat: int) -> tuple[float, float]:
    """:func:`_ms` of two functions whose rounds alternate, so that a change of load on a shared machine
    falls on both alike."""
    for _ in range(3):
        fn_a()
        fn_b()
    best_a, best_b = [], []
    for _ in range(5):
        for fn, best in ((fn_a, best_a), (fn_b, best_b)):
            t0 = time.process_time()
            for _ in range(repeat):
                fn()
            best.append((time.process_time() - t0) / repeat * 1000.0)
    return min(best_a), min(best_b)


def _scene(size: int):
    """Reference image + landmarks and a masked target ROI whose side is about ``size`` pixels."""
    image, lm = astronaut_landmarks()
    box0 = face_box(lm, image.shape)
    s = size / max(box0.width, box0.height)
    big = cv2.resize(image, None, fx=s, fy=s, interpolation=cv2.INTER_CUBIC if s > 1 else cv2.INTER_AREA)
    big_lm = (lm * s).astype(np.float32)
    center = big_lm[list(landmark_sets.FACE_OVAL)].mean(axis=0)
    m = cv2.getRotationMatrix2D((float(center[0]), float(center[1])), 7.0, 1.04)
    frame = cv2.warpAffine(big, m, (big.shape[1], big.shape[0]), borderMode=cv2.BORDER_REFLECT)
    target = (big_lm @ m[:, :2].T + m[:, 2]).astype(np.float32)
    box = face_box(target, frame.shape, PipelineOptions().box_margin)
    roi_lm = (target - [box.x0, box.y0]).astype(np.float32)
    roi = np.ascontiguousarray(frame[box.slices])
    mask = np.zeros(roi.shape[:2], np.uint8)
    poly = np.round(roi_lm[list(landmark_sets.MASK_REGION)]).astype(np.int32)
    cv2.fillPoly(mask, [poly], 1)
    roi[mask > 0] = (200, 225, 235)
    return big, big_lm, frame, box, roi, roi_lm, mask.astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="150,300,500")
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1, help="OpenCV threads (default 1: per-core cost)")
    parser.add_argument("--baseline-rev", default=BASELINE_REV, help="git revision of the composite timed as baseline")
    parser.add_argument(
        "--warp-baseline-rev", default=WARP_BASELINE_REV, help="git revision of the warp timed as baseline"
    )
    args = parser.parse_args()
    baseline = _composite_at(args.baseline_rev)
    warp_baseline = _warp_module_or_none(args.warp_baseline_rev)
    console = Console(width=200)
    cv2.setNumThreads(args.threads)
    table = Table(
        title=f"warp / composite / blend, CPU ms per face ROI ({os.cpu_count()} cores, {cv2.getNumThreads()} OpenCV threads)"
    )
    for col in (
        "ROI px",
        "TPS warp",
        "dense TPS (baseline)",
        "warp / dense",
        "face-only warp",
        "warp / face-only",
        "warp, tracked",
        f"tracked @{args.warp_baseline_rev}",
        "new / baseline ",
        "max |new - baseline| (valid px differing)",
        "x FaceMesh under mask",
        "x reach not skin-only",
        "colour match",
        "inpaint (gap)",
        "composite total",
        f"composite @{args.baseline_rev}",
        "new / baseline",
        "max |new - baseline|",
        "blend feather",
        "blend poisson",
        "poisson / feather",
    ):
        table.add_column(col, justify="right")
    skin_lines: list[str] = []
    for size in (int(s) for s in args.sizes.split(",")):
        ref, ref_lm, frame, box, roi, roi_lm, mask = _scene(size)
        shape = roi.shape[:2]
        warper = ReferenceWarper(ref, ref_lm, WarpOptions())
        dense = ReferenceWarper(ref, ref_lm, WarpOptions(grid_step=1, max_grid_nodes=0))
        t_warp = _ms(lambda: warper.warp(roi_lm, shape), args.repeat)
        t_dense = _ms(lambda: dense.warp(roi_lm, shape), max(args.repeat // 10, 3))
        oval_only = ReferenceWarper(ref, ref_lm, WarpOptions(neck_reach=0.0))  # no control points below the jaw
        t_oval = _ms(lambda: oval_only.warp(roi_lm, shape), args.repeat)
        # As the pipeline calls it (a face track: shape smoothing and the rigid-frame filter), with the control
        # points under the mask from the reference through the seen landmarks (default) or FaceMesh's guess.
        t_tracked = _ms(lambda: warper.warp(roi_lm, shape, track=0, image=roi, mask=mask), args.repeat)
        warp_cells = ["-", "-", "-"]
        if warp_baseline is not None:
            old_warper = warp_baseline.ReferenceWarper(ref, ref_lm, warp_baseline.WarpOptions())
            t_old_warp, t_tracked = _ms_pair(
                lambda: old_warper.warp(roi_lm, shape, track=0, image=roi, mask=mask),
                lambda: warper.warp(roi_lm, shape, track=0, image=roi, mask=mask),
                args.repeat,
            )
            # Fresh warpers on both sides (the per-track smoothing starts alike), a few frames each.
            a_w = warp_baseline.ReferenceWarper(ref, ref_lm, warp_baseline.WarpOptions())
            b_w = ReferenceWarper(ref, ref_lm, WarpOptions())
            diff, differing = 0, 0
            for k in range(5):
                moved = (roi_lm + np.float32(0.7 * k)).astype(np.float32)
                a_img, a_valid = a_w.warp(moved, shape, track=0, image=roi, mask=mask)[:2]  # (a revision's: a pair)
                b_img, b_valid = b_w.warp(moved, shape, track=0, image=roi, mask=mask)[:2]
                diff = max(diff, int(np.abs(a_img.astype(np.int16) - b_img).max()))
                differing += int((a_valid != b_valid).sum())
            warp_cells = [f"{t_old_warp:.2f}", f"{t_tracked / t_old_warp:.2f}", f"{diff} ({differing})"]
        # The same without the skin-only reach past the face outline (and its same-place test against the frame).
        anything = ReferenceWarper(ref, ref_lm, WarpOptions(reach_skin_only=False))
        t_anything = _ms(lambda: anything.warp(roi_lm, shape, track=0), args.repeat)
        guessed = ReferenceWarper(ref, ref_lm, WarpOptions(neck_from_reference=False, jaw_from_reference=0.0, frame_min_cutoff=0.0))
        t_guessed = _ms(lambda: guessed.warp(roi_lm, shape, track=0), args.repeat)

        warped, valid, _ = warper.warp(roi_lm, shape)
        hole = (mask > 0).astype(np.uint8)
        ring = (cv2.dilate(hole, np.ones((21, 21), np.uint8)) > 0) & (hole == 0) & (face_region(shape, roi_lm) > 0) & valid
        paste = (cv2.dilate(hole, np.ones((13, 13), np.uint8)) > 0) & valid
        options = CompositeOptions()
        t_color = _ms(
            lambda: match_color(warped, roi, ring, paste, options.local_color_sigma, hole=hole > 0, seam_sigma=options.seam_sigma),
            args.repeat,
        )

        # A gap of about 5 % of the hole, as when the reference does not show part of the face.
        gap_valid = valid.copy()
        ys, xs = np.nonzero(hole)
        cy, cx = int(ys.mean()), int(xs.mean())
        r = max(int(0.06 * size), 3)
        gap_valid[cy - r : cy + r, cx - r : cx + r] = False
        gap = (hole > 0) & ~gap_valid
        t_inpaint = _ms(lambda: cv2.inpaint(roi, gap.astype(np.uint8), 3, cv2.INPAINT_TELEA), args.repeat)

        composite = ReferenceComposite(CompositeOptions())
        face = FaceROI(box=box, image=roi, landmarks=roi_lm, mask=mask, reference=warped, valid=gap_valid)
        t_comp = _ms(lambda: composite.reconstruct([face]), args.repeat)
        filled = composite.reconstruct([face])[0]
        base_cells = ["-", "-", "-"]
        if baseline is not None:
            # Fresh instances on both sides (the per-face colour history starts alike), rounds alternating.
            old = baseline.ReferenceComposite(baseline.CompositeOptions())
            t_old, t_comp = _ms_pair(lambda: old.reconstruct([face]), lambda: composite.reconstruct([face]), args.repeat)
            a = baseline.ReferenceComposite(baseline.CompositeOptions()).reconstruct([face])[0]
            b = ReferenceComposite(CompositeOptions()).reconstruct([face])[0]
            diff = int(np.abs(a.astype(np.int16) - b).max())
            base_cells = [f"{t_old:.2f}", f"{t_comp / t_old:.2f}", str(diff)]

        # The composite with the colour and light from the frame's skin (CompositeOptions.light="skin", the default),
        # against the light from the ring (light="ring") in the same alternating rounds.
        skin = ReferenceComposite(CompositeOptions(light="skin"))
        ring_light = ReferenceComposite(CompositeOptions(light="ring"))
        t_ring, t_skin = _ms_pair(lambda: ring_light.reconstruct([face]), lambda: skin.reconstruct([face]), args.repeat)
        skin_lines.append(f"{box.width}x{box.height}: composite light=skin {t_skin:.2f} ms, light=ring {t_ring:.2f} ms "
                          f"({t_skin / t_ring:.2f}x)")

        work = frame.copy()
        width = DEFAULT_BLEND_WIDTH.px(face_size_px(roi_lm))
        t_feather = _ms(lambda: blend_into(work, box, filled, mask, width), args.repeat)
        t_poisson = _ms(lambda: blend_into(work, box, filled, mask, width, mode="poisson"), max(args.repeat // 5, 3))
        table.add_row(
            f"{box.width}x{box.height}",
            f"{t_warp:.2f}",
            f"{t_dense:.2f}",
            f"{t_warp / t_dense:.2f}",
            f"{t_oval:.2f}",
            f"{t_warp / t_oval:.2f}",
            f"{t_tracked:.2f}",
            *warp_cells,
            f"{t_tracked / t_guessed:.2f}",
            f"{t_tracked / t_anything:.2f}",
            f"{t_color:.2f}",
            f"{t_inpaint:.2f}",
            f"{t_comp:.2f}",
            *base_cells,
            f"{t_feather:.2f}",
            f"{t_poisson:.2f}",
            f"{t_poisson / t_feather:.1f}",
        )
    console.print(table)
    for line in skin_lines:
        console.print(line)


if __name__ == "__main__":
    main()
