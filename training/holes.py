"""Realistic training holes: where a worn mask hides the face.

A hole starts from the product's surgical-mask outline (:func:`unmask_video.synthetic.mask_outline`: nose bridge to
under the chin, ear to ear) and varies the way real masks and real segmentations do: the bottom reaches down onto the
neck, the mask is worn low (under the nose) or high, it is wider or narrower, its edge is jittered and grown or
shrunk by a few pixels, and an occluder (a hand, a scarf, hair) can cover more of the lower face.

:class:`HoleStyle` is drawn once and applied to any number of frames (:meth:`HoleStyle.draw`), so consecutive frames
get the same mask moving with the face.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from unmask_video.synthetic import mask_outline

_BRIDGE, _CHIN = 6, 152  # nose bridge and chin landmarks (the face's vertical axis)


@dataclass
class HoleOptions:
    neck_prob: float = 0.6  # the bottom edge goes down onto the neck ...
    neck_reach: tuple[float, float] = (0.05, 0.35)  # ... by this much of the face height (bridge to chin)
    low_prob: float = 0.15  # worn low: the top edge under the nose
    high_prob: float = 0.15  # worn high: the top edge nearer the eyes
    width: tuple[float, float] = (0.94, 1.12)  # across the face, relative
    jitter: float = 0.008  # vertex jitter, of the crop size
    grow_px: tuple[int, int] = (-1, 3)  # the edge grown (a dilated segmentation) or shrunk, crop pixels at 192
    occluder_prob: float = 0.25  # an ellipse (hand, scarf, hair) joined to the hole
    occluder_radius: tuple[float, float] = (0.18, 0.4)  # of the face height


@dataclass
class HoleStyle:
    """One random draw of :class:`HoleOptions` (the same for every frame it is applied to)."""

    neck: float
    top: float  # > 0: lower (worn low), < 0: higher, in face heights
    width: float
    grow: int
    occluder: tuple[float, float, float, float] | None  # (u, v, radius_u, radius_v) in face units
    seed: int

    @classmethod
    def sample(cls, rng: np.random.Generator, options: HoleOptions | None = None) -> "HoleStyle":
        o = options or HoleOptions()
        neck = rng.uniform(*o.neck_reach) if rng.random() < o.neck_prob else 0.0
        r = rng.random()
        top = rng.uniform(0.12, 0.22) if r < o.low_prob else (-rng.uniform(0.02, 0.07) if r < o.low_prob + o.high_prob else 0.0)
        occluder = None
        if rng.random() < o.occluder_prob:
            rad = rng.uniform(*o.occluder_radius)
            occluder = (rng.uniform(-0.8, 0.8), rng.uniform(0.5, 1.1), rad * rng.uniform(0.8, 1.6), rad)
        return cls(
            neck=float(neck),
            top=float(top),
            width=float(rng.uniform(*o.width)),
            grow=int(rng.integers(o.grow_px[0], o.grow_px[1] + 1)),
            occluder=occluder,
            seed=int(rng.integers(1 << 31)),
        )

    def draw(self, landmarks: np.ndarray, size: int, jitter: float = HoleOptions.jitter) -> np.ndarray:
        """The (size, size) float32 {0,1} hole on a face with these landmarks (crop pixels)."""
        pts = np.asarray(landmarks, np.float64)
        bridge, chin = pts[_BRIDGE], pts[_CHIN]
        down = chin - bridge
        face_h = float(np.linalg.norm(down)) + 1e-6
        down /= face_h
        across = np.array([-down[1], down[0]])
        outline = mask_outline(pts).astype(np.float64)
        centre = outline.mean(axis=0)
        u = (outline - centre) @ across
        v = (outline - bridge) @ down / face_h  # 0 at the bridge, 1 at the chin
        # across: wider or narrower
        outline += np.outer(u * (self.width - 1.0), across)
        # bottom onto the neck: points below the mouth move down, most under the chin
        below = np.clip((v - 0.55) / 0.45, 0.0, 1.0)
        centred = np.exp(-((u / (0.6 * face_h)) ** 2))
        outline += np.outer(self.neck * face_h * below * (0.4 + 0.6 * centred), down)
        # top lower (worn under the nose) or higher
        above = np.clip((0.5 - v) / 0.5, 0.0, 1.0)
        outline += np.outer(self.top * face_h * above, down)
        rng = np.random.default_rng(self.seed)
        # a smooth wobble along the edge (a segmentation's error), not per-vertex noise
        wobble = rng.normal(0.0, jitter * size, outline.shape)
        k = max(3, len(outline) // 12)
        kernel = np.ones(k) / np.sqrt(k)
        wobble = np.stack([np.convolve(np.tile(wobble[:, i], 3), kernel, "same")[len(outline):2 * len(outline)]
                           for i in range(2)], axis=1)
        outline += wobble
        hole = np.zeros((size, size), np.uint8)
        cv2.fillPoly(hole, [np.round(outline * 16).astype(np.int32)], 1, lineType=cv2.LINE_8, shift=4)
        if self.occluder is not None:
            ou, ov, ru, rv = self.occluder
            c = bridge + ov * face_h * down + ou * 0.5 * face_h * across
            angle = float(np.degrees(np.arctan2(across[1], across[0])))
            axes = (max(1, int(ru * face_h)), max(1, int(rv * face_h)))
            cv2.ellipse(hole, (int(c[0]), int(c[1])), axes, angle, 0, 360, 1, -1)
        grow = int(round(self.grow * size / 192))
        if grow:
            k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * abs(grow) + 1, 2 * abs(grow) + 1))
            hole = cv2.dilate(hole, k) if grow > 0 else cv2.erode(hole, k)
        return hole.astype(np.float32)
