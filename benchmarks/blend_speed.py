"""Speed of the blend (its feathered alpha, the whole blend) and of decode's YUV -> RGB, against a git revision.

    python -m benchmarks.blend_speed [--baseline-rev d5620b0] [--repeat 20]

The blend runs on soft lower-face masks (an ellipse's lower part, a blurred rim, a softer patch) of the sizes the
pipeline gives it: a 290x380 box with a 15 px feather (the real KF94 clip's faces at 720p), 440x560 with a 25 px
feather (the speed benchmark's 720p face) and 730x920 with a 35 px feather (its 1080p face, where the feather is
computed at a third of the size). The conversion runs on 720p and 1080p yuv420p frames made from the astronaut
photo, each result kept a while as the frame loop keeps them. Each is timed against ``blend.py`` / ``io/color.py``
as they were at ``--baseline-rev`` (read with ``git show``) in alternating rounds: process CPU ms per call (best of
5 rounds, one OpenCV thread), the ratio, and the largest difference of the outputs (the alpha in 1/255, pixels in
levels). A benchmark: it asserts nothing.
"""

from __future__ import annotations

import os
from typing import Callable

os.environ.setdefault("GLOG_minloglevel", "2")

import av  # noqa: E402
import cv2  # noqa: E402
import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from skimage import data  # noqa: E402

from benchmarks.revisions import baseline_arguments, modules_at  # noqa: E402
from benchmarks.warp_speed import _ms_pair  # noqa: E402
from unmask_video import blend  # noqa: E402
from unmask_video.blend import DEFAULT_NOTCH_REACH  # noqa: E402
from unmask_video.io import color  # noqa: E402
from unmask_video.stages import Box  # noqa: E402

#: The code before the 8-bit feather and the converter's kept intermediates.
BASELINE_REV = "d5620b0"
#: (name, mask box height, width, feather px)
MASKS = (("KF94 720p", 290, 380, 15.0), ("speed 720p", 440, 560, 25.0), ("speed 1080p", 730, 920, 35.0))
#: The feather kept off the mask's notches and holes as the pipeline keeps it (``BlendOptions.notch_reach``).
NOTCH = DEFAULT_NOTCH_REACH


def soft_mask(height: int, width: int, seed: int) -> np.ndarray:
    """A lower-face mask filling an (height, width) box: an ellipse's lower part with a blurred, uneven rim and a
    softer patch, float32 in [0, 1], with a margin of zeros around it as the pipeline's face ROI has."""
    rng = np.random.default_rng(seed)
    margin = 40
    mask = np.zeros((height + 2 * margin, width + 2 * margin), np.float32)
    centre = (margin + width // 2, margin + height // 3)
    cv2.ellipse(mask, centre, (width // 2, 2 * height // 3), 0, 0, 180, 1.0, -1)
    cv2.rectangle(mask, (margin, margin + height // 8), (margin + width, centre[1]), 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), max(height / 60, 1.0))
    mask *= np.clip(1.0 + 0.2 * rng.standard_normal(mask.shape).astype(np.float32), 0.0, 1.0)
    mask[margin + height // 3 : margin + height // 2, margin + width // 3 : margin + width // 2] *= 0.4
    return np.clip(mask, 0.0, 1.0)


def yuv_frame(width: int, height: int) -> av.VideoFrame:
    rgb = cv2.resize(data.astronaut(), (width, height), interpolation=cv2.INTER_LINEAR)
    return av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24").reformat(format="yuv420p")


def _kept(convert: Callable[[av.VideoFrame], np.ndarray], frame: av.VideoFrame) -> Callable[[], None]:
    """One conversion per call, its result kept for the next 4 calls (the frame loop's queues keep a few)."""
    kept: list[np.ndarray] = []

    def call() -> None:
        kept.append(convert(frame))
        if len(kept) > 4:
            kept.pop(0)

    return call


def main() -> None:
    args = baseline_arguments(__doc__.splitlines()[0], BASELINE_REV, repeat=20)
    cv2.setNumThreads(1)
    paths = ["unmask_video/blend.py", "unmask_video/io/color.py"]
    old_blend, old_color = modules_at(args.baseline_rev, paths, "blend_speed")
    table = Table(title=f"CPU ms per call, one OpenCV thread: @{args.baseline_rev} -> this checkout (alternating rounds)")
    for column in ("what", "size", f"@{args.baseline_rev}", "now", "ratio", "largest difference"):
        table.add_column(column, justify="left" if column in ("what", "size") else "right")
    rng = np.random.default_rng(0)
    for index, (name, height, width, feather) in enumerate(MASKS):
        mask = soft_mask(height, width, index)
        h, w = mask.shape
        filled = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        frame = rng.integers(0, 256, (h + 100, w + 100, 3), dtype=np.uint8)
        box = Box(50, 50, 50 + w, 50 + h)
        size = f"{name}: {h}x{w}, {feather:.0f} px"
        before, now = _ms_pair(lambda: old_blend.feather_alpha(mask, feather, NOTCH),
                               lambda: blend.feather_alpha(mask, feather, NOTCH), args.repeat)  # fmt: skip
        alphas = (old_blend.feather_alpha(mask, feather, NOTCH), blend.feather_alpha(mask, feather, NOTCH))
        diff = np.abs(alphas[0] - alphas[1]).max() * 255
        table.add_row("feather_alpha", size, f"{before:.2f}", f"{now:.2f}", f"{now / before:.2f}x", f"{diff:.2f}/255")
        frames = {"old": frame.copy(), "new": frame.copy()}
        old_blend.blend_into(frames["old"], box, filled, mask, feather, notch_reach=NOTCH)
        blend.blend_into(frames["new"], box, filled, mask, feather, notch_reach=NOTCH)
        levels = int(np.abs(frames["old"].astype(np.int16) - frames["new"]).max())
        before, now = _ms_pair(lambda: old_blend.blend_into(frames["old"], box, filled, mask, feather, notch_reach=NOTCH),
                               lambda: blend.blend_into(frames["new"], box, filled, mask, feather, notch_reach=NOTCH),
                               args.repeat)  # fmt: skip
        table.add_row("blend_into", size, f"{before:.2f}", f"{now:.2f}", f"{now / before:.2f}x", f"{levels} levels")
    for width, height in ((1280, 720), (1920, 1080)):
        source = yuv_frame(width, height)
        old_convert, new_convert = old_color.FrameToRGB(), color.FrameToRGB()
        levels = int(np.abs(old_convert(source).astype(np.int16) - new_convert(source)).max())
        before, now = _ms_pair(_kept(old_convert, source), _kept(new_convert, source), args.repeat)
        table.add_row("FrameToRGB", f"{width}x{height}", f"{before:.2f}", f"{now:.2f}", f"{now / before:.2f}x",
                      f"{levels} levels")  # fmt: skip
    Console(width=200).print(table)


if __name__ == "__main__":
    main()
