"""Augmentations.

Two kinds:

- :func:`simulate_second_photo` (numpy / cv2, in the data loader): the same face as if in another photo, for the
  reference-conditioned generator: a perturbed thin-plate-spline warp (pose and expression jitter), lighting and
  colour changes, a little blur and noise. It returns the new image and its landmarks (moved with the warp).
- :func:`contrastive_augment` (torch, on batches): the augmented copy used by the InfoNCE loss: horizontal flip
  (p=1.0), brightness, contrast and saturation (p=0.75 each), hue rotation (p=1.0), as the method specifies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from unmask_video import landmark_sets as ls
from unmask_video.tps import fit_tps


# --------------------------------------------------------------------------------------------- second photo


@dataclass
class SecondPhotoOptions:
    rotate_deg: float = 6.0  # in-plane rotation, uniform +-
    scale: float = 0.06  # relative, uniform +-
    shift: float = 0.03  # of the crop size, uniform +-
    yaw: float = 0.06  # horizontal squeeze of one side (a small head turn), relative
    jitter: float = 0.012  # of the crop size: independent jitter of every control point
    expression: float = 0.03  # of the crop size: mouth/jaw movement (open, smile, shift)
    gain: float = 0.15  # per-channel gain, relative +-
    brightness: float = 0.10  # additive, of the 0..1 range, +-
    contrast: float = 0.20  # relative +-
    saturation: float = 0.25  # relative +-
    gamma: float = 0.20  # relative +-
    shading: float = 0.25  # strength of a directional lighting gradient
    blur_prob: float = 0.3
    noise: float = 0.015  # Gaussian noise std, 0..1 range


def _similarity(rng: np.random.Generator, o: SecondPhotoOptions, size: int) -> np.ndarray:
    a = math.radians(rng.uniform(-o.rotate_deg, o.rotate_deg))
    s = 1.0 + rng.uniform(-o.scale, o.scale)
    c = np.array([size / 2.0, size / 2.0])
    rot = s * np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    t = c - rot @ c + rng.uniform(-o.shift, o.shift, 2) * size
    return np.hstack([rot, t[:, None]])


def _move_points(points: np.ndarray, landmarks: np.ndarray, rng: np.random.Generator, o: SecondPhotoOptions,
                 size: int) -> np.ndarray:
    """Where ``points`` (K, 2) go in the second photo: similarity, yaw squeeze, expression, jitter."""
    m = _similarity(rng, o, size)
    out = points @ m[:, :2].T + m[:, 2]
    # yaw: compress one side of the face towards the nose, stretch the other
    nose_x = float(landmarks[ls.NOSE_TIP, 0])
    yaw = rng.uniform(-o.yaw, o.yaw)
    out[:, 0] += yaw * (out[:, 0] - nose_x) * np.sign(out[:, 0] - nose_x)
    # expression: points near the mouth move together (open / smile / shift)
    mouth = landmarks[list(ls.MOUTH)].mean(0)
    d = np.linalg.norm(points - mouth, axis=1) / (0.25 * size)
    w = np.exp(-(d**2))[:, None]
    open_ = rng.uniform(-0.3, 1.0) * o.expression * size
    smile = rng.uniform(-0.5, 1.0) * o.expression * size
    below = (points[:, 1] > mouth[1]).astype(np.float64)[:, None]
    side = np.clip((points[:, 0] - mouth[0]) / (0.15 * size), -1, 1)[:, None]
    delta = np.hstack([side * smile * 0.5, below * open_ - np.abs(side) * smile * 0.3])
    delta += rng.normal(0, o.expression * size * 0.2, 2)
    out = out + w * delta
    out += rng.normal(0, o.jitter * size, out.shape)
    return out


def _photometric(img: np.ndarray, rng: np.random.Generator, o: SecondPhotoOptions) -> np.ndarray:
    x = img.astype(np.float32) / 255.0
    x = np.clip(x, 0, 1) ** (1.0 + rng.uniform(-o.gamma, o.gamma))
    x = x * (1.0 + rng.uniform(-o.gain, o.gain, 3)).astype(np.float32)
    grey = x.mean(2, keepdims=True)
    x = grey + (x - grey) * (1.0 + rng.uniform(-o.saturation, o.saturation))
    mean = x.mean()
    x = mean + (x - mean) * (1.0 + rng.uniform(-o.contrast, o.contrast))
    x = x + rng.uniform(-o.brightness, o.brightness)
    h, w = x.shape[:2]
    ang = rng.uniform(0, 2 * math.pi)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ramp = ((xx / w - 0.5) * math.cos(ang) + (yy / h - 0.5) * math.sin(ang)) * 2
    x = x * (1.0 + rng.uniform(0, o.shading) * ramp)[..., None]
    if rng.random() < o.blur_prob:
        x = cv2.GaussianBlur(x, (0, 0), rng.uniform(0.4, 1.0))
    x = x + rng.normal(0, o.noise * rng.random(), x.shape).astype(np.float32)
    return np.clip(x * 255.0 + 0.5, 0, 255).astype(np.uint8)


def simulate_second_photo(image: np.ndarray, landmarks: np.ndarray, rng: np.random.Generator,
                          options: SecondPhotoOptions | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The face of ``image`` as if in another photo; returns (image, landmarks) of that photo.

    The geometric change is a thin-plate spline through the :data:`TPS_CONTROL` points plus a frame of fixed
    border points, moved by a random similarity, a yaw squeeze, mouth/jaw movement and per-point jitter.
    """
    o = options or SecondPhotoOptions()
    h, w = image.shape[:2]
    size = float(max(h, w))
    ctrl = landmarks[list(ls.TPS_CONTROL)].astype(np.float64)
    border = np.array([[x, y] for x in (0, w / 2, w - 1) for y in (0, h / 2, h - 1) if (x, y) != (w / 2, h / 2)])
    src = np.vstack([ctrl, border])
    dst = _move_points(src, landmarks, rng, o, size)
    dst[len(ctrl):] = src[len(ctrl):] + (dst[len(ctrl):] - src[len(ctrl):]) * 0.5  # the frame moves less
    backward = fit_tps(src, dst, 1e-3)  # second-photo pixel -> first-photo pixel
    forward = fit_tps(dst, src, 1e-3)  # first-photo pixel -> second-photo pixel
    step = 4  # the spline is smooth: evaluate it on a coarse grid and upsample the map
    cx = np.linspace(0, w - 1, -(-w // step) + 1)
    cy = np.linspace(0, h - 1, -(-h // step) + 1)
    gx, gy = backward.grid(cx, cy)
    gx = cv2.resize(gx, (w, h), interpolation=cv2.INTER_LINEAR)
    gy = cv2.resize(gy, (w, h), interpolation=cv2.INTER_LINEAR)
    warped = cv2.remap(image, gx, gy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    new_lm = forward(landmarks).astype(np.float32)
    return _photometric(warped, rng, o), new_lm


# --------------------------------------------------------------------------------------------- contrastive


@dataclass
class ContrastiveAugmentOptions:
    flip_p: float = 1.0
    brightness: float = 0.4
    brightness_p: float = 0.75
    contrast: float = 0.4
    contrast_p: float = 0.75
    saturation: float = 0.4
    saturation_p: float = 0.75
    hue: float = 0.1  # fraction of a full turn, +-
    hue_p: float = 1.0


def _grey(x: torch.Tensor) -> torch.Tensor:
    return (0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3])


def rotate_hue(x: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """Rotate the hue of RGB images ``x`` (B,3,H,W) in [0,1] by ``angle`` radians (B,) about the grey axis (YIQ)."""
    yiq = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]], dtype=x.dtype,
                       device=x.device)
    rgb = torch.linalg.inv(yiq)
    c, s = torch.cos(angle), torch.sin(angle)
    zero, one = torch.zeros_like(c), torch.ones_like(c)
    rot = torch.stack([torch.stack([one, zero, zero], -1), torch.stack([zero, c, -s], -1),
                       torch.stack([zero, s, c], -1)], -2)  # (B,3,3)
    m = rgb @ rot @ yiq  # (B,3,3)
    return torch.einsum("bij,bjhw->bihw", m, x)


def contrastive_augment(tensors: dict[str, torch.Tensor], generator: torch.Generator | None = None,
                        options: ContrastiveAugmentOptions | None = None) -> dict[str, torch.Tensor]:
    """The augmented copy of a batch for the contrastive loss.

    ``tensors`` holds ``image`` and optionally ``reference`` (B,3,H,W) in [-1,1], and maps (``mask``,
    ``ref_valid``, ``target``...) that only get the geometric part (the flip). Colour changes are drawn once
    per sample and applied identically to image and reference, so the pair stays consistent.
    """
    o = options or ContrastiveAugmentOptions()
    g = generator
    any_t = next(iter(tensors.values()))
    b, dev = any_t.shape[0], any_t.device

    def u(lo: float, hi: float) -> torch.Tensor:
        return (torch.rand(b, generator=g) * (hi - lo) + lo).to(dev).view(b, 1, 1, 1)

    def p(prob: float) -> torch.Tensor:
        return (torch.rand(b, generator=g) < prob).to(dev).view(b, 1, 1, 1)

    flip = p(o.flip_p)
    bright, bright_on = u(1 - o.brightness, 1 + o.brightness), p(o.brightness_p)
    contr, contr_on = u(1 - o.contrast, 1 + o.contrast), p(o.contrast_p)
    sat, sat_on = u(1 - o.saturation, 1 + o.saturation), p(o.saturation_p)
    hue, hue_on = u(-o.hue, o.hue) * 2 * math.pi, p(o.hue_p)
    colour_keys = {"image", "reference", "target"}
    out: dict[str, torch.Tensor] = {}
    for k, t in tensors.items():
        t = torch.where(flip, t.flip(-1), t)
        if k in colour_keys:
            x = (t.float() + 1) / 2
            x = torch.where(bright_on, x * bright, x)
            m = _grey(x).mean(dim=(1, 2, 3), keepdim=True)
            x = torch.where(contr_on, (x - m) * contr + m, x)
            gr = _grey(x)
            x = torch.where(sat_on, (x - gr) * sat + gr, x)
            x = torch.where(hue_on, rotate_hue(x, hue.view(b)), x)
            t = (x.clamp(0, 1) * 2 - 1).to(t.dtype)
        out[k] = t
    return out
