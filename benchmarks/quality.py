"""Quality on real talking-head clips with a drawn mask (ground truth known).

    python -m benchmarks.quality [--frames 90] [--clips N] [--generator none]

For each clip in ../shared/data/videos/talking: landmarks found on the unmasked frames, a synthetic surgical mask
drawn from them (the truth mask), frame 0 used as the reference still, frames from 1 on evaluated. Reported inside
the true mask: PSNR and SSIM against the unmasked truth, mask IoU of our segmentation, and the temporal error
TDE = mean over frames and mask pixels of |(out_t - out_t-1) - (truth_t - truth_t-1)| (flicker only), for:
the masked input, cv2.inpaint (Telea) frame by frame with the TRUE mask, and unmask-video with no temporal smoothing,
with landmark smoothing (the default) and with landmark and mask smoothing, all measured in this run. Skips with a message when ../shared is absent.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from unmask_video.landmarks import FaceTracker, TrackerOptions  # noqa: E402
from unmask_video.native_log import filter_native_stderr  # noqa: E402
from unmask_video.metrics import iou, psnr_in_mask, ssim_in_mask, temporal_error  # noqa: E402
from unmask_video.pipeline import FramePipeline, PipelineOptions  # noqa: E402
from unmask_video.reconstruct.factory import ReconstructorOptions, build_reconstructor  # noqa: E402
from unmask_video.stages import FaceROI  # noqa: E402
from unmask_video.synthetic import MaskStyle, draw_surgical_mask  # noqa: E402
from unmask_video.io import VideoReader  # noqa: E402

TALKING = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "videos" / "talking"
STYLES = (MaskStyle(color=(200, 225, 235), pleats=3), MaskStyle(color=(245, 245, 245), pleats=3),
          MaskStyle(color=(30, 30, 35), pleats=2))


@dataclass
class Scores:
    psnr: list[float] = field(default_factory=list)
    ssim: list[float] = field(default_factory=list)
    tde: list[float] = field(default_factory=list)
    iou: list[float] = field(default_factory=list)


class _MaskRecorder(FramePipeline):
    """The product pipeline, also keeping the full-frame mask it segmented (for IoU)."""

    last_mask: np.ndarray | None = None

    def _face_roi(self, image, landmarks, face_id) -> FaceROI:  # type: ignore[override]
        roi = super()._face_roi(image, landmarks, face_id)
        self.last_mask = np.zeros(image.shape[:2], np.float32)
        self.last_mask[roi.box.slices] = roi.mask
        return roi


def load_clip(path: Path, frames: int, style: MaskStyle):
    truth, masked, masks = [], [], []
    tracker = FaceTracker(TrackerOptions(smoothing=False))
    with VideoReader(str(path)) as reader:
        for frame in reader.frames():
            if len(truth) >= frames:
                break
            faces = tracker.track(frame.image, frame.time_s)
            if not faces:
                continue
            image, mask = draw_surgical_mask(frame.image, faces[0], style)
            truth.append(frame.image)
            masked.append(image)
            masks.append(mask)
    tracker.close()
    return truth, masked, masks


def evaluate(truth, outputs, masks, scores: Scores, start: int = 1) -> None:
    for t in range(start, len(truth)):
        scores.psnr.append(psnr_in_mask(outputs[t], truth[t], masks[t]))
        scores.ssim.append(ssim_in_mask(outputs[t], truth[t], masks[t]))
        if t > start:
            union = np.maximum(masks[t], masks[t - 1])
            scores.tde.append(temporal_error(outputs[t - 1], outputs[t], truth[t - 1], truth[t], union))


#: Variants of ours: (name, landmark smoothing, mask smoothing). The product's default is the second.
VARIANTS = (
    ("unmask-video, smoothing off", False, False),
    ("unmask-video, landmark smoothing (default)", True, False),
    ("unmask-video, landmark + mask smoothing", True, True),
)


def run_ours(
    truth, masked, masks, generator: str, landmark_smoothing: bool, mask_smoothing: bool
) -> tuple[list[np.ndarray], list[float]]:
    options = PipelineOptions()
    options.tracker.smoothing = landmark_smoothing
    options.segment.temporal_smoothing = mask_smoothing
    pipeline = _MaskRecorder(
        truth[0], build_reconstructor(ReconstructorOptions(generator=generator)), options
    )
    outputs, ious = [masked[0]], []
    for t in range(1, len(masked)):
        pipeline.last_mask = None
        outputs.append(pipeline.process(masked[t], t / 25))
        ious.append(iou(pipeline.last_mask, masks[t]) if pipeline.last_mask is not None else 0.0)
    pipeline.close()
    return outputs, ious


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=90)
    parser.add_argument("--clips", type=int, default=7)
    parser.add_argument("--generator", default="none")
    args = parser.parse_args()
    filter_native_stderr()
    console = Console()
    clips = sorted(TALKING.glob("*.mp4"))[: args.clips] if TALKING.is_dir() else []
    if not clips:
        console.print(f"skipped: no talking-head clips at {TALKING} (the shared data folder is absent)")
        return 0
    methods = ("masked input", "cv2.inpaint Telea (true mask)", *(name for name, _, _ in VARIANTS))
    scores = {m: Scores() for m in methods}
    for number, path in enumerate(clips):
        style = STYLES[number % len(STYLES)]
        truth, masked, masks = load_clip(path, args.frames, style)
        if len(truth) < 3:
            console.print(f"{path.name}: too few frames with a face, skipped")
            continue
        evaluate(truth, masked, masks, scores["masked input"])
        telea = [cv2.inpaint(m, (k > 0.5).astype(np.uint8), 5, cv2.INPAINT_TELEA) for m, k in zip(masked, masks)]
        evaluate(truth, telea, masks, scores["cv2.inpaint Telea (true mask)"])
        for name, landmark_smoothing, mask_smoothing in VARIANTS:
            outputs, ious = run_ours(truth, masked, masks, args.generator, landmark_smoothing, mask_smoothing)
            evaluate(truth, outputs, masks, scores[name])
            scores[name].iou.extend(ious)
        console.print(f"{path.name}: {len(truth)} frames, mask colour {style.color}")
    table = Table(title=f"quality inside the true mask, {len(clips)} talking-head clips, generator {args.generator}")
    for column in ("method", "PSNR dB", "SSIM", "TDE (0-255)", "mask IoU"):
        table.add_column(column, justify="right" if column != "method" else "left")
    for name, s in scores.items():
        table.add_row(name, f"{np.mean(s.psnr):.2f}", f"{np.mean(s.ssim):.3f}", f"{np.mean(s.tde):.2f}",
                      f"{np.mean(s.iou):.3f}" if s.iou else "-")
    console.print(table)
    ours, telea, masked_in = scores[VARIANTS[1][0]], scores[methods[1]], scores[methods[0]]
    checks = {
        "PSNR beats the masked input": np.mean(ours.psnr) > np.mean(masked_in.psnr),
        "PSNR beats Telea": np.mean(ours.psnr) > np.mean(telea.psnr),
        "SSIM beats both": np.mean(ours.ssim) > max(np.mean(masked_in.ssim), np.mean(telea.ssim)),
        "TDE (default smoothing) below Telea's": np.mean(ours.tde) < np.mean(telea.tde),
        "TDE lower with smoothing than without": np.mean(ours.tde) < np.mean(scores[VARIANTS[0][0]].tde),
    }
    for check, ok in checks.items():
        console.print(f"{'yes' if ok else 'NO '}  {check}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
