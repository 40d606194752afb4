"""Quality of the reference composite on real talking-head videos: colour matching and blend modes.

    python -m benchmarks.composite_quality [--videos N] [--targets 15,30,45,60]

For each clip in ../shared/data/videos/talking: frame 0 is the reference still; later frames get a drawn
surgical mask (unmask_video.synthetic) and are rebuilt with the reference composite. The truth is the
unmasked frame. Three scenarios: the reference as decoded; the reference re-lit (gamma 0.85, channel
gains 1.08/0.97/0.88: another camera or light), which the colour match must undo; and the re-lit reference
with a segmentation that misses the right third of the mask (mask-coloured pixels then lie in the ring
the colour statistics come from; scored over the segmented part). Compared, all in this run: the baseline (warped reference pasted with no colour match and a
hard edge), global Lab colour transfer, global + local colour, each with the feathered blend, and the Poisson
blend. Reports PSNR/SSIM inside the mask and PSNR in the 10-pixel band around it (the seam), and the
difference of each variant to the baseline. Skips with a message when ../shared is absent. Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")

import av  # noqa: E402
import cv2  # noqa: E402
import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from unmask_video.blend import blend_into  # noqa: E402
from unmask_video.reconstruct.composite import CompositeOptions, ReferenceComposite  # noqa: E402
from unmask_video.errors import InputError  # noqa: E402
from unmask_video.landmarks import detect_reference_landmarks, face_box  # noqa: E402
from unmask_video.face_units import FaceLength  # noqa: E402
from unmask_video.metrics import psnr_in_mask, ssim_in_mask  # noqa: E402
from unmask_video.stages import FaceROI  # noqa: E402
from unmask_video.synthetic import draw_surgical_mask  # noqa: E402
from unmask_video.warp import ReferenceWarper, WarpOptions  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "videos" / "talking"

# name -> (CompositeOptions overrides, blend mode, feather px)
VARIANTS: dict[str, tuple[dict, str, float]] = {
    "baseline: paste, no colour, hard edge": ({"color_match": False, "band": FaceLength(0.0)}, "feather", 0.0),
    "no colour, feather": ({"color_match": False}, "feather", 6.0),
    "global colour, feather": ({"local_color_sigma": 0.0}, "feather", 6.0),
    "global colour + std, feather": ({"local_color_sigma": 0.0, "transfer_std": True}, "feather", 6.0),
    "global+local colour, feather": ({}, "feather", 6.0),
    "global+local colour, feather 12": ({"band": FaceLength(12.0)}, "feather", 12.0),
    "no colour, poisson": ({"color_match": False}, "poisson", 6.0),
    "global+local colour, poisson": ({}, "poisson", 6.0),
}


def _frames(path: Path, wanted: set[int]) -> dict[int, np.ndarray]:
    out: dict[int, np.ndarray] = {}
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i in wanted:
                out[i] = frame.to_ndarray(format="rgb24")
            if i >= max(wanted):
                break
    return out


def relit(image: np.ndarray) -> np.ndarray:
    """The image as if taken under another light: a gamma and per-channel gains."""
    f = image.astype(np.float32) / 255.0
    f = np.clip(f**0.85 * np.array([1.08, 0.97, 0.88], np.float32) + np.array([0.02, 0.0, -0.01], np.float32), 0, 1)
    return (f * 255.0 + 0.5).astype(np.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=7)
    parser.add_argument("--targets", default="15,30,45,60")
    args = parser.parse_args()
    console = Console(width=160)
    if not DATA.is_dir():
        console.print(f"skipped: {DATA} is absent (the shared data folder is not on this machine)")
        sys.exit(0)
    targets = [int(t) for t in args.targets.split(",")]
    scenarios = ("reference as decoded", "reference re-lit", "re-lit, segmentation misses a third")
    scores: dict[tuple[str, str], list[tuple[float, float, float]]] = {
        (sc, name): [] for sc in scenarios for name in VARIANTS
    }
    masked_scores: list[float] = []
    clips = sorted(DATA.glob("*.mp4"))[: args.videos]
    for path in clips:
        frames = _frames(path, {0, *targets})
        try:
            ref_lm = detect_reference_landmarks(frames[0])
        except InputError:
            console.print(f"{path.name}: no face in frame 0, skipped")
            continue
        warpers = {
            scenarios[0]: ReferenceWarper(frames[0], ref_lm, WarpOptions()),
            scenarios[1]: ReferenceWarper(relit(frames[0]), ref_lm, WarpOptions()),
        }
        warpers[scenarios[2]] = warpers[scenarios[1]]
        for t in targets:
            if t not in frames:
                continue
            truth = frames[t]
            try:
                lm = detect_reference_landmarks(truth)
            except InputError:
                continue
            masked, drawn = draw_surgical_mask(truth, lm)
            box = face_box(lm, truth.shape)
            roi_lm = (lm - [box.x0, box.y0]).astype(np.float32)
            roi = np.ascontiguousarray(masked[box.slices])
            missed = drawn.copy()
            xs = np.nonzero(drawn)[1]
            missed[:, int(xs.max() - (xs.max() - xs.min()) / 3) :] = 0.0
            masked_scores.append(psnr_in_mask(masked, truth, drawn > 0))
            for (scenario, name), (overrides, mode, feather) in (
                ((sc, name), v) for sc in scenarios for name, v in VARIANTS.items()
            ):
                segmented = missed if scenario == scenarios[2] else drawn
                mask = np.ascontiguousarray(segmented[box.slices])
                hole = segmented > 0
                band = (cv2.dilate(hole.astype(np.uint8), np.ones((21, 21), np.uint8)) > 0) & ~hole
                warped, valid, _ = warpers[scenario].warp(roi_lm, mask.shape)
                face = FaceROI(box=box, image=roi, landmarks=roi_lm, mask=mask, reference=warped, valid=valid)
                filled = ReferenceComposite(CompositeOptions(**overrides)).reconstruct([face])[0]
                out = masked.copy()
                blend_into(out, box, filled, mask, feather, mode=mode)
                # SSIM on the face box only (speed); the mask lies inside it.
                sl = box.slices
                scores[(scenario, name)].append(
                    (
                        psnr_in_mask(out, truth, hole),
                        ssim_in_mask(out[sl], truth[sl], hole[sl]),
                        psnr_in_mask(out, truth, band),
                    )
                )
        console.print(f"{path.name}: done")

    n = len(masked_scores)
    if not n:
        console.print("no usable frames")
        return
    for scenario in scenarios:
        table = Table(
            title=f"{scenario}: reference composite quality, {n} masked frames from {len(clips)} talking-head clips "
            f"(masked input PSNR in mask {np.mean(masked_scores):.2f} dB; d = difference to the baseline)"
        )
        for col in ("variant", "PSNR mask dB", "SSIM mask", "PSNR seam band dB", "d PSNR mask", "d SSIM", "d PSNR seam"):
            table.add_column(col, justify="right" if col != "variant" else "left")
        base = np.mean(np.array(scores[(scenario, next(iter(VARIANTS)))]), axis=0)
        for name in VARIANTS:
            m = np.mean(np.array(scores[(scenario, name)]), axis=0)
            d = m - base
            table.add_row(name, f"{m[0]:.2f}", f"{m[1]:.4f}", f"{m[2]:.2f}", f"{d[0]:+.2f}", f"{d[1]:+.4f}", f"{d[2]:+.2f}")
        console.print(table)


if __name__ == "__main__":
    main()
