"""`unmask-video demo`: build a masked sample clip from skimage's astronaut photo and unmask it.

The clip is made by the project itself (head motion by warping, a drawn surgical mask, a tone as audio), so the
unmasked truth is known and the demo can say how much closer to it the output is than the masked input.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np
from rich.console import Console

from unmask_video.metrics import psnr_in_mask
from unmask_video.pipeline import PipelineOptions
from unmask_video.reconstruct.factory import ReconstructorOptions
from unmask_video.runner import RunOptions, run_file
from unmask_video.summary import print_summary
from unmask_video.synthetic import ClipSpec, make_clip
from unmask_video.io import VideoReader

log = logging.getLogger(__name__)


def run_demo(
    out_dir: Path,
    frames: int,
    pipeline: PipelineOptions,
    reconstructor: ReconstructorOptions,
    batch: int = 1,
    quiet: bool = False,
) -> int:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    console = Console()
    clip = make_clip(out_dir, ClipSpec(frames=frames))
    output = out_dir / "demo_unmasked.mp4"
    summary = run_file(
        RunOptions(
            input=str(clip.video_path),
            output=str(output),
            reference=str(clip.reference_path),
            # (no advice on the reference: it is the clip's own still, smiling as the clip does)
            pipeline=dataclasses.replace(pipeline, reference_advice=None),
            reconstructor=reconstructor,
            batch=batch,
            quiet=quiet,
            overwrite=True,  # the demo folder holds only the demo's own files
        )
    )
    before, after = _psnr_before_after(clip.video_path, output, clip.truth, clip.masks)
    if not quiet:
        print_summary(summary, console)
        console.print(f"masked input:  {clip.video_path}\nreference:     {clip.reference_path}\noutput:        {output}")
        console.print(
            f"PSNR inside the mask against the unmasked truth: masked input {before:.2f} dB -> output {after:.2f} dB"
        )
    return 0


def _psnr_before_after(masked: Path, output: Path, truth: np.ndarray, masks: np.ndarray) -> tuple[float, float]:
    scores: dict[str, list[float]] = {"before": [], "after": []}
    for key, path in (("before", masked), ("after", output)):
        with VideoReader(str(path)) as reader:
            for frame in reader.frames():
                if frame.index < len(truth) and masks[frame.index].any():
                    scores[key].append(psnr_in_mask(frame.image, truth[frame.index], masks[frame.index]))
    return float(np.mean(scores["before"])), float(np.mean(scores["after"]))
