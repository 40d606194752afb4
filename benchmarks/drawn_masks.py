"""Realistic drawn face masks for the quality benchmark (truth known): shapes, fabrics, hands.

Unlike :mod:`unmask_video.synthetic` (the tests' fixed surgical mask), these masks are drawn the way
real ones sit on a face, and vary from clip to clip:

- the top edge over the nose bridge (or, worn low, under the nose), curving down over the cheeks;
- the sides near the ears, the bottom hanging below the chin onto the neck (``drop``: 0.15-0.3 face
  heights, the face height being forehead top to chin);
- shaded as a curved surface lit from one side, with pleats (surgical) or a centre seam (KF94);
- fabrics: white, light blue, black, green, printed (stripes, dots, blotches), with a woven noise;
- optionally a hand passing in front of the lower face for part of the clip (it is in the truth too:
  the true mask is what the mask covers and the hand does not; the hand's pixels over the mask are
  :attr:`DrawnFrame.front`: what a method must leave as the input shows it).

:func:`mask_plan` picks a varied :class:`DrawnMask` per clip; :func:`draw` renders one frame
(:func:`draw_frame`: with the hand's pixels in front of the mask).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import cv2
import numpy as np

from unmask_video import landmark_sets

__all__ = ["DrawnFrame", "DrawnMask", "Hand", "mask_plan", "draw", "draw_frame", "face_height"]

WHITE = (238, 240, 242)
LIGHT_BLUE = (170, 205, 228)
BLACK = (34, 34, 38)
GREEN = (110, 185, 150)
MINT = (175, 220, 205)
PINK = (230, 180, 195)

_FOREHEAD_TOP, _CHIN = 10, 152
_BRIDGE, _BELOW_NOSE = 6, 164  # top of the nose bridge between the eyes; the skin between nose and lip
_EAR_L, _EAR_R = 234, 454
_JAW_L, _JAW_R = 172, 397  # jaw angles
_CHEEK_L, _CHEEK_R = 116, 345


@dataclass(frozen=True)
class Hand:
    """A hand crossing the lower face between frames ``start`` and ``end`` (from one side to the other)."""

    start: int
    end: int
    from_left: bool = True


@dataclass(frozen=True)
class DrawnMask:
    """One clip's mask: its colour, fabric, shape and what passes in front of it."""

    color: tuple[int, int, int]
    kind: str = "surgical"  # "surgical" (pleats) or "kf94" (a centre seam, fuller shape)
    pattern: str | None = None  # None, "stripes", "dots", "blotches"
    drop: float = 0.2  # how far below the chin the mask reaches, in face heights
    low: bool = False  # worn below the nose
    light: float = 0.4  # light direction across the face (-1: from image-left, 1: from image-right)
    hand: Hand | None = None
    seed: int = 0

    def describe(self) -> str:
        parts = [self.kind, {WHITE: "white", LIGHT_BLUE: "light blue", BLACK: "black", GREEN: "green",
                             MINT: "mint", PINK: "pink"}.get(self.color, str(self.color))]
        if self.pattern:
            parts.append(self.pattern)
        parts.append(f"drop {self.drop:.2f}")
        if self.low:
            parts.append("below the nose")
        if self.hand:
            parts.append(f"hand f{self.hand.start}-{self.hand.end}")
        return ", ".join(parts)


def mask_plan(index: int, frames: int) -> DrawnMask:
    """A varied mask for clip number ``index`` of ``frames`` frames (deterministic)."""
    rng = np.random.default_rng(1000 + index)
    looks = [
        (LIGHT_BLUE, "surgical", None),
        (WHITE, "kf94", None),
        (BLACK, "surgical", None),
        (GREEN, "surgical", None),
        (WHITE, "surgical", "stripes"),
        (MINT, "kf94", None),
        (PINK, "surgical", "blotches"),
        (LIGHT_BLUE, "kf94", "dots"),
        (WHITE, "surgical", None),
        (BLACK, "kf94", "dots"),
    ]
    color, kind, pattern = looks[index % len(looks)]
    hand = None
    if index % 3 == 1 and frames >= 30:
        start = int(rng.integers(frames // 4, frames // 2))
        hand = Hand(start, min(start + 14, frames - 1), from_left=bool(index % 2))
    return DrawnMask(
        color=color,
        kind=kind,
        pattern=pattern,
        drop=float(rng.uniform(0.15, 0.3)),
        low=index % 4 == 3,
        light=float(rng.uniform(-0.8, 0.8)),
        hand=hand,
        seed=index,
    )


def face_height(landmarks: np.ndarray) -> float:
    """Forehead top (landmark 10) to chin (152), in pixels."""
    pts = np.asarray(landmarks, np.float64)
    return float(np.linalg.norm(pts[_CHIN] - pts[_FOREHEAD_TOP])) + 1e-6


def _axes(pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors (down the face, across it from image-left to image-right)."""
    down = pts[_CHIN] - pts[_FOREHEAD_TOP]
    down /= np.linalg.norm(down) + 1e-9
    across = np.array([-down[1], down[0]])
    if np.dot(across, pts[_EAR_R] - pts[_EAR_L]) < 0:
        across = -across
    return down, across


def _bezier(p0: np.ndarray, p1: np.ndarray, p2: np.ndarray, n: int = 24) -> np.ndarray:
    t = np.linspace(0.0, 1.0, n)[:, None]
    return (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t**2 * p2


def outline(landmarks: np.ndarray, spec: DrawnMask) -> np.ndarray:
    """The mask's outline (K, 2) float32 in image pixels."""
    pts = np.asarray(landmarks, np.float64)
    fh = face_height(pts)
    down, across = _axes(pts)
    if spec.low:
        top_mid = pts[_BELOW_NOSE] + down * 0.01 * fh
        cheek_drop = 0.13
    else:
        top_mid = pts[_BRIDGE] + down * 0.06 * fh
        cheek_drop = 0.07
    # Top corners: on the cheeks under the outer eye corners, towards the ears.
    cl = pts[_CHEEK_L] + down * cheek_drop * fh - across * 0.07 * fh
    cr = pts[_CHEEK_R] + down * cheek_drop * fh + across * 0.07 * fh
    # Side edges: from the cheek corners down the face just inside the ears to the jaw angles.
    jl = pts[_JAW_L] - across * 0.03 * fh + down * 0.02 * fh
    jr = pts[_JAW_R] + across * 0.03 * fh + down * 0.02 * fh
    bottom = pts[_CHIN] + down * spec.drop * fh
    width = float(np.linalg.norm(jr - jl))
    top_l = _bezier(cl, 0.5 * (cl + top_mid) - down * 0.05 * fh, top_mid, 16)
    top_r = _bezier(top_mid, 0.5 * (cr + top_mid) - down * 0.05 * fh, cr, 16)[1:]
    side_r = _bezier(cr, 0.5 * (cr + jr) + across * 0.04 * fh, jr, 12)[1:]
    # The bottom hangs from the jaw angles round under the chin to ``bottom`` (a cubic through it).
    depth = float(np.dot(bottom - 0.5 * (jl + jr), down)) * 4.0 / 3.0
    c1 = jr + down * depth - across * 0.12 * width
    c2 = jl + down * depth + across * 0.12 * width
    t = np.linspace(0.0, 1.0, 32)[1:, None]
    bot = (1 - t) ** 3 * jr + 3 * (1 - t) ** 2 * t * c1 + 3 * (1 - t) * t**2 * c2 + t**3 * jl
    side_l = _bezier(jl, 0.5 * (cl + jl) - across * 0.04 * fh, cl, 12)[1:-1]
    return np.concatenate([top_l, top_r, side_r, bot, side_l]).astype(np.float32)


def _noise(shape: tuple[int, int], rng: np.random.Generator, sigma: float) -> np.ndarray:
    n = rng.standard_normal(shape).astype(np.float32)
    n = cv2.GaussianBlur(n, (0, 0), sigma)
    return n / (n.std() + 1e-6)


def _fabric(spec: DrawnMask, u: np.ndarray, v: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(h, w, 3) float32 base colour of the fabric with its print, over face coordinates u (across), v (down)."""
    base = np.asarray(spec.color, np.float32)[None, None, :] * np.ones(u.shape + (1,), np.float32)
    if spec.pattern == "stripes":
        s = (np.sin((u * 0.7 + v) * 2 * math.pi * 9.0) > 0.5).astype(np.float32)
        ink = np.array([90, 110, 170], np.float32)
        base = base * (1 - 0.55 * s[..., None]) + ink * 0.55 * s[..., None]
    elif spec.pattern == "dots":
        du, dv = (u * 7.0) % 1.0 - 0.5, (v * 8.0 + 0.5 * np.floor(u * 7.0)) % 1.0 - 0.5
        d = np.clip((0.2 - np.sqrt(du**2 + dv**2)) * 25.0, 0.0, 1.0)
        ink = np.array([240, 240, 240], np.float32) if np.mean(spec.color) < 128 else np.array([40, 60, 120], np.float32)
        base = base * (1 - d[..., None]) + ink * d[..., None]
    elif spec.pattern == "blotches":
        b = np.clip((_noise(u.shape, rng, max(u.shape) / 25.0) - 0.6) * 3.0, 0.0, 1.0)
        ink = np.array([150, 70, 110], np.float32)
        base = base * (1 - 0.7 * b[..., None]) + ink * 0.7 * b[..., None]
    return base


class DrawnFrame(NamedTuple):
    """One drawn frame (:func:`draw_frame`)."""

    #: The frame with the mask (and the hand in front of it) drawn on it.
    masked: np.ndarray
    #: The frame with the hand drawn in, no mask: what a method should give.
    truth: np.ndarray
    #: float32 (H, W) in {0, 1}: where the drawn mask or its ear loops are visible (not the hand in front).
    mask: np.ndarray
    #: bool (H, W): the hand's pixels inside the mask's outline (the mask behind them hidden). Not mask: the input
    #: is right there, and a method must leave it (a blend that fades the rebuilt face over the hand is wrong).
    front: np.ndarray


def draw(
    image: np.ndarray, landmarks: np.ndarray, spec: DrawnMask, frame: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw ``spec`` on the face with these landmarks in frame number ``frame``.

    Returns ``(masked image, truth image, true mask)``: the truth is ``image`` with the hand drawn in
    (if it passes in this frame), the mask float32 (H, W) in {0, 1} where the drawn mask or its ear loops are
    visible.
    """
    masked, truth, mask, _ = draw_frame(image, landmarks, spec, frame)
    return masked, truth, mask


def draw_frame(image: np.ndarray, landmarks: np.ndarray, spec: DrawnMask, frame: int = 0) -> DrawnFrame:
    """:func:`draw`, with the hand's pixels in front of the mask (:attr:`DrawnFrame.front`)."""
    h, w = image.shape[:2]
    pts = np.asarray(landmarks, np.float64)
    fh = face_height(pts)
    down, across = _axes(pts)
    poly = outline(pts, spec)
    x0, y0 = np.maximum(np.floor(poly.min(axis=0)).astype(int) - 4, 0)
    x1, y1 = np.minimum(np.ceil(poly.max(axis=0)).astype(int) + 5, [w, h])
    truth = image.copy()
    hand_alpha = _draw_hand(truth, pts, spec, frame)
    empty = np.zeros((h, w), np.float32)
    if x1 <= x0 or y1 <= y0:
        return DrawnFrame(truth.copy(), truth, empty, np.zeros((h, w), bool))
    cover = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillPoly(cover, [np.round((poly - [x0, y0]) * 16).astype(np.int32)], 255, cv2.LINE_AA, shift=4)
    alpha = cover.astype(np.float32) / 255.0

    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    centre = 0.5 * (pts[_EAR_L] + pts[_EAR_R])
    half_w = 0.5 * float(np.linalg.norm(pts[_EAR_R] - pts[_EAR_L])) + 1e-6
    u = ((xx - centre[0]) * across[0] + (yy - centre[1]) * across[1]) / half_w
    top = pts[_BELOW_NOSE] if spec.low else pts[_BRIDGE]
    v = ((xx - top[0]) * down[0] + (yy - top[1]) * down[1]) / fh
    rng = np.random.default_rng(spec.seed * 7919 + frame)
    fabric_rng = np.random.default_rng(spec.seed)  # the print stays the same from frame to frame
    base = _fabric(spec, u, v, fabric_rng)

    # A curved surface: normal turns away across (a cylinder) and down below the chin.
    chin_v = float(np.dot(pts[_CHIN] - top, down)) / fh
    nx = np.clip(u, -1.2, 1.2) * 0.9
    ny = np.clip((v - chin_v) * 3.0, -0.3, 1.0) * 0.8 - 0.15
    nz = np.sqrt(np.maximum(1.0 - np.clip(nx**2 + ny**2, 0, 0.95), 0.05))
    light = np.array([spec.light, -0.35, 1.0])
    light /= np.linalg.norm(light)
    lambert = np.clip(nx * light[0] + ny * light[1] + nz * light[2], 0.0, 1.0)
    shade = 0.35 + 0.7 * lambert
    if spec.kind == "surgical":
        bowed = v + 0.08 * u**2
        top_v = float(np.dot(pts[1] - top, down)) / fh if not spec.low else 0.02
        for k in range(3):
            p = top_v + 0.08 + (chin_v - top_v) * (k + 0.5) / 3.2
            d = bowed - p
            shade += 0.07 * np.exp(-((d + 0.02) ** 2) / (2 * 0.02**2))
            shade -= 0.18 * np.exp(-((d - 0.008) ** 2) / (2 * 0.006**2))
    else:  # KF94: a centre seam and a fold under the chin
        seam = np.exp(-(u**2) / (2 * 0.012**2))
        shade -= 0.12 * seam
        shade += 0.05 * np.exp(-(u**2) / (2 * 0.05**2))
    shade *= 1.0 + 0.03 * _noise(u.shape, fabric_rng, 0.7)  # weave
    shade *= 1.0 + 0.01 * rng.standard_normal(u.shape).astype(np.float32)  # sensor noise, per frame
    dist = cv2.distanceTransform((cover >= 128).astype(np.uint8), cv2.DIST_L2, 3)
    shade -= 0.08 * np.exp(-dist / max(0.012 * fh, 1.0))  # hem
    rgb = np.clip(base * shade[..., None], 0, 255)

    masked = image.copy()
    a = alpha[..., None]
    crop = image[y0:y1, x0:x1].astype(np.float32) * (1 - a) + rgb * a
    masked[y0:y1, x0:x1] = np.clip(np.round(crop), 0, 255).astype(np.uint8)
    # Ear loops: thin lines from the top corners towards the ears. They are part of the mask (what must be
    # removed): they are in the true mask, not in the truth image.
    loop = np.asarray([c * 0.9 for c in spec.color], np.float32)
    thick = max(int(round(0.008 * fh)), 1)
    loops = np.zeros((h, w), np.uint8)
    for corner, ear in ((poly[0], pts[_EAR_L]), (poly[len(poly) // 2 - 12], pts[_EAR_R])):
        cv2.line(loops, tuple(np.round(corner).astype(int)), tuple(np.round(ear).astype(int)), 255, thick, cv2.LINE_AA)
    la = loops.astype(np.float32)[..., None] / 255.0
    masked = np.clip(np.round(masked * (1 - la) + loop * la), 0, 255).astype(np.uint8)
    true_mask = empty.copy()
    true_mask[y0:y1, x0:x1] = alpha >= 0.5
    true_mask[loops >= 128] = 1.0
    front = np.zeros((h, w), bool)
    if hand_alpha is not None:
        ha = hand_alpha[..., None]
        masked = np.clip(np.round(masked * (1 - ha) + truth * ha), 0, 255).astype(np.uint8)
        front = (hand_alpha >= 0.5) & (true_mask > 0.5)
        true_mask[front] = 0.0
    return DrawnFrame(masked, truth, true_mask, front)


def _draw_hand(image: np.ndarray, pts: np.ndarray, spec: DrawnMask, frame: int) -> np.ndarray | None:
    """Draw the hand (in place) if it passes in this frame; returns its (H, W) alpha or None."""
    hand = spec.hand
    if hand is None or not (hand.start <= frame <= hand.end):
        return None
    h, w = image.shape[:2]
    fh = face_height(pts)
    down, across = _axes(pts)
    t = (frame - hand.start) / max(hand.end - hand.start, 1)
    side = -1.0 if hand.from_left else 1.0
    mouth = pts[13]
    palm = mouth + across * side * (0.9 - 1.8 * t) * fh * 0.6 + down * 0.15 * fh
    # Skin colour of the person: median of the forehead patch (their own skin).
    fx, fy = np.round(pts[151]).astype(int)
    r = max(int(0.04 * fh), 2)
    patch = image[max(fy - r, 0) : fy + r, max(fx - r, 0) : fx + r].reshape(-1, 3)
    skin = np.median(patch, axis=0) if len(patch) else np.array([200, 160, 140])
    layer = np.zeros((h, w), np.uint8)
    axes = (int(0.2 * fh), int(0.26 * fh))
    angle = math.degrees(math.atan2(down[1], down[0])) - 90.0
    c = tuple(np.round(palm).astype(int))
    cv2.ellipse(layer, c, axes, angle, 0, 360, 255, -1, cv2.LINE_AA)
    for k in range(4):  # fingers pointing up the face
        base = palm - down * 0.18 * fh + across * (k - 1.5) * 0.085 * fh
        tip = base - down * (0.22 + 0.04 * (k in (1, 2))) * fh
        cv2.line(layer, tuple(np.round(base).astype(int)), tuple(np.round(tip).astype(int)), 255,
                 max(int(0.075 * fh), 2), cv2.LINE_AA)
    alpha = layer.astype(np.float32) / 255.0
    if not alpha.any():
        return None
    ys, xs = np.mgrid[0:h, 0:w]
    shading = 0.85 + 0.2 * np.clip(((xs - c[0]) * across[0] + (ys - c[1]) * across[1]) / (0.3 * fh) * spec.light, -1, 1)
    colour = skin[None, None, :] * shading[..., None]
    out = image.astype(np.float32) * (1 - alpha[..., None]) + colour * alpha[..., None]
    image[...] = np.clip(np.round(out), 0, 255).astype(np.uint8)
    return alpha
