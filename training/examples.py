"""A few face photos made from ``skimage.data.astronaut()``, for tests and smoke runs (no shared data needed)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def write_example_faces(folder: Path, count: int = 6, blank: int = 0) -> list[Path]:
    """Write ``count`` variants of the astronaut portrait (shifts, scales, flips, colour casts) and ``blank`` images
    without a face into ``folder``; returns the paths."""
    from skimage.data import astronaut

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    base = astronaut()[40:300, 90:350]  # 260x260 around the face
    rng = np.random.default_rng(0)
    paths = []
    for i in range(count):
        img = base
        if i % 2:
            img = img[:, ::-1]
        s = 1.0 + 0.08 * (i % 3)
        m = cv2.getRotationMatrix2D((130, 110), float(rng.uniform(-6, 6)), s)
        m[:, 2] += rng.uniform(-8, 8, 2)
        img = cv2.warpAffine(np.ascontiguousarray(img), m, (260, 260), borderMode=cv2.BORDER_REFLECT101)
        img = np.clip(img.astype(np.float32) * rng.uniform(0.85, 1.15, 3), 0, 255).astype(np.uint8)
        p = folder / f"face_{i:02d}.png"
        cv2.imwrite(str(p), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        paths.append(p)
    for j in range(blank):
        p = folder / f"blank_{j:02d}.png"
        cv2.imwrite(str(p), np.full((120, 160, 3), 90 + 40 * j, np.uint8))
        paths.append(p)
    return paths


def write_example_video(path: Path, frames: int = 6) -> Path:
    """A short H.264 clip of the astronaut's face drifting and turning a little (one person, several frames)."""
    from skimage.data import astronaut

    from unmask_video.io import write_clip

    base = np.ascontiguousarray(astronaut()[40:300, 90:350])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)

    def images():
        for i in range(frames):
            m = cv2.getRotationMatrix2D((130, 110), 2.0 * i, 1.0 + 0.02 * i)
            m[:, 2] += (2 * i, i)
            yield cv2.warpAffine(base, m, (260, 260), borderMode=cv2.BORDER_REFLECT101)

    return write_clip(path, images(), 10)
