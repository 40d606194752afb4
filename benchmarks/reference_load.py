"""Cost of loading the reference: the reference warper built with and without the mirror fill of hidden face skin.

    python -m benchmarks.reference_load [--sizes 300,600,1000] [--repeat 5] [--ref PHOTO]

The reference matte and, with ``WarpOptions.mirror_fill``, the fill of the face skin the photo hides from the mirror
side of the face (:func:`unmask_video.reference_matte.mirror_fill`) run once, when the reference is loaded; nothing
of it runs per frame. Uses the astronaut photo (shipped with scikit-image) with a dark lock of hair drawn over one
cheek, scaled so the face is about each size in pixels tall, or a photo given with ``--ref`` (landmarks from
FaceMesh). Prints milliseconds per load (process CPU time, one OpenCV thread), the mirror fill alone, and the
ratio against the load without it, rounds alternating. A benchmark: it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("GLOG_minloglevel", "2")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from unmask_video import landmark_sets  # noqa: E402
from unmask_video.face_shape import face_region  # noqa: E402
from unmask_video.landmarks import detect_reference_landmarks  # noqa: E402
from unmask_video.reference_matte import mirror_fill, reference_matte  # noqa: E402
from unmask_video.synthetic import astronaut_landmarks  # noqa: E402
from unmask_video.warp import ReferenceWarper, WarpOptions  # noqa: E402


def _haired(size: int) -> tuple[np.ndarray, np.ndarray]:
    """The astronaut scaled to a face ``size`` pixels tall, a dark lock over her image-left cheek."""
    image, lm = astronaut_landmarks()
    top, chin = (lm[i] for i in landmark_sets.FACE_HEIGHT)
    s = size / float(np.hypot(*(chin - top)))
    big = cv2.resize(image, None, fx=s, fy=s, interpolation=cv2.INTER_CUBIC if s > 1 else cv2.INTER_AREA)
    big_lm = (lm * s).astype(np.float32)
    start = (int(big_lm[234, 0] - 0.05 * size), int(big_lm[234, 1] + 0.1 * size))
    end = (int(big_lm[172, 0] + 0.08 * size), int(big_lm[172, 1] - 0.05 * size))
    cv2.line(big, start, end, (40, 28, 22), max(int(0.07 * size), 3))
    return big, big_lm


def _ms(fn, repeat: int) -> float:
    start = time.process_time()
    for _ in range(repeat):
        fn()
    return (time.process_time() - start) * 1000.0 / repeat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="300,600,1000", help="face heights in pixels (astronaut)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--ref", help="a reference photo instead of the astronaut")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    scenes = []
    if args.ref:
        image = cv2.cvtColor(cv2.imread(args.ref, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        scenes.append((args.ref, image, detect_reference_landmarks(image)))
    else:
        scenes += [(f"astronaut, face {size} px", *_haired(size)) for size in (int(v) for v in args.sizes.split(","))]
    table = Table(title="reference load, ms (process CPU time, one OpenCV thread)")
    for column in ("reference", "load, no fill", "load, mirror fill", "ratio", "mirror fill alone", "filled px"):
        table.add_column(column, justify="right")
    for name, image, lm in scenes:
        off, on = WarpOptions(mirror_fill=False), WarpOptions(mirror_fill=True)
        ReferenceWarper(image, lm, on)  # (warm-up)
        t_off = t_on = 0.0
        for _ in range(args.repeat):  # rounds alternating
            t_off += _ms(lambda: ReferenceWarper(image, lm, off), 1)
            t_on += _ms(lambda: ReferenceWarper(image, lm, on), 1)
        warper = ReferenceWarper(image, lm, off)
        ref, ref_lm = warper.image, warper.landmarks
        top, chin = (ref_lm[i] for i in landmark_sets.FACE_HEIGHT)
        height = float(np.hypot(*(chin - top)))
        face = face_region(ref.shape[:2], ref_lm)
        matte = reference_matte(ref, ref_lm, face, face, height)
        fill_ms = _ms(lambda: mirror_fill(ref, ref_lm, matte, face, height), args.repeat)
        filled = int(np.count_nonzero(mirror_fill(ref, ref_lm, matte, face, height)[1] != matte))
        t_off, t_on = t_off / args.repeat, t_on / args.repeat
        table.add_row(name, f"{t_off:.1f}", f"{t_on:.1f}", f"{t_on / max(t_off, 1e-9):.2f}x", f"{fill_ms:.1f}", str(filled))
    Console().print(table)


if __name__ == "__main__":
    main()
