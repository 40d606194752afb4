"""Where a mask can be on a face, from its landmarks: the search region from the nose bridge down past the jaw line
and out past the ears (:func:`search_polygon`; :func:`search_polygons` for several depths under the jaw at once), and
the jaw's profile from the ears to the chin that shapes it (:func:`jaw_profile`)."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

from unmask_video import landmark_sets as ls


@functools.lru_cache(maxsize=4)
def jaw_profile(n: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`search_polygon`'s weights along the jaw's ``n`` points: sin^2 from the ears (0) to the chin (1), and
    the position across, -1 .. 1 (computed once: the segmenter builds two or three polygons a frame)."""
    profile = np.sin(np.linspace(0.0, np.pi, n)) ** 2
    profile.flags.writeable = False
    spread = np.linspace(-1.0, 1.0, n)
    spread.flags.writeable = False
    return profile, spread


def search_polygon(
    landmarks: np.ndarray,
    size: float,
    below_jaw: float = 0.3,
    side: float = 0.02,
    above: float = 0.03,
    jaw_floor: float = 0.2,
    cheek: float = 0.0,
) -> np.ndarray:
    """Where the mask may be, (N, 2) float32 in the landmarks' coordinates.

    The jaw line is moved down (along the face's vertical axis) by ``below_jaw`` x ``size`` under the chin,
    ``jaw_floor`` of that at the ears (beside the neck is background or hair), and outward by ``side`` x ``size``
    at the ears, and ``cheek`` x ``size`` more along the jaw's sides (fading to none at the chin: a mask stands off
    the cheeks, most visibly on a turned face's far side, past FaceMesh's outline); the under-eye line is raised by
    ``above`` x ``size`` and its middle point is the nose bridge (landmark 6) instead of 197.
    """
    return search_polygons(landmarks, size, ((below_jaw, side, cheek),), above, jaw_floor)[0]


def search_polygons(
    landmarks: np.ndarray,
    size: float,
    shapes: Sequence[tuple[float, float, float]],
    above: float = 0.03,
    jaw_floor: float = 0.2,
) -> list[np.ndarray]:
    """:func:`search_polygon` for each (``below_jaw``, ``side``, ``cheek``) of ``shapes``, with the same ``above`` and
    ``jaw_floor``: the same polygons, bit for bit, with what they share (the face's axis, the landmarks' look-ups, the
    under-eye line, the jaw moved down once per ``below_jaw``) done once (the segmenter builds four a frame)."""
    lm = np.asarray(landmarks, np.float32)
    top_pt, chin = lm[ls.NOSE_BRIDGE], lm[ls.CHIN]
    down = chin - top_pt
    down /= max(float(np.linalg.norm(down)), 1e-6)
    jaw_at = lm[ls.index(ls.JAW)]  # (a fancy index: a copy)
    profile, spread = jaw_profile(len(jaw_at))  # (0 at the ears, 1 at the chin; -1 .. 1 across)
    top_at = lm[ls.index(ls.UNDER_EYES)]
    top_at[len(top_at) // 2] = top_pt
    top_at -= down[None, :] * (size * above)
    lowered: dict[float, tuple[np.ndarray, np.ndarray]] = {}  # below_jaw -> (the jaw moved down, the unit across)
    out = []
    for below_jaw, side, cheek in shapes:
        if below_jaw not in lowered:
            jaw = jaw_at.copy()
            jaw += down[None, :] * (size * below_jaw * (jaw_floor + (1.0 - jaw_floor) * profile))[:, None]
            across = jaw[-1] - jaw[0]
            across /= max(float(np.linalg.norm(across)), 1e-6)
            lowered[below_jaw] = jaw, across
        jaw, across = lowered[below_jaw]
        edge = side * (1.0 - profile) ** 2 + cheek * (1.0 - profile)  # outward push, most of it at the ears
        jaw = jaw.copy()
        jaw += across[None, :] * (spread * size * edge)[:, None]
        top = top_at.copy()
        top[0] += across * size * (side + cheek)
        top[-1] -= across * size * (side + cheek)
        out.append(np.concatenate([jaw, top]).astype(np.float32))
    return out

