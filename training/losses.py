"""The method's losses. Images are (B,3,H,W) in [-1,1], masks (B,1,H,W) in {0,1} (1 = hole)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


def d_hinge(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Discriminator hinge loss: mean(relu(1 - D(real))) + mean(relu(1 + D(fake)))."""
    return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()


def g_hinge(fake: torch.Tensor) -> torch.Tensor:
    """Generator hinge loss: -mean(D(fake))."""
    return -fake.mean()


def masked_l1(x: torch.Tensor, y: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference over the pixels where ``weight`` is 1 (all channels); 0 if there are none."""
    w = weight.expand_as(x)
    return (torch.abs(x - y) * w).sum() / w.sum().clamp_min(1.0)


def hole_valid_l1(out: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(L1 inside the hole, L1 outside it), each averaged over its own pixels."""
    return masked_l1(out, target, mask), masked_l1(out, target, 1.0 - mask)


def total_variation(x: torch.Tensor, region: torch.Tensor | None = None) -> torch.Tensor:
    """Mean absolute difference between horizontal and vertical neighbours (inside ``region`` if given)."""
    dh = torch.abs(x[..., :, 1:] - x[..., :, :-1])
    dv = torch.abs(x[..., 1:, :] - x[..., :-1, :])
    if region is None:
        return dh.mean() + dv.mean()
    rh = torch.maximum(region[..., :, 1:], region[..., :, :-1]).expand_as(dh)
    rv = torch.maximum(region[..., 1:, :], region[..., :-1, :]).expand_as(dv)
    return (dh * rh).sum() / rh.sum().clamp_min(1.0) + (dv * rv).sum() / rv.sum().clamp_min(1.0)


def gram(f: torch.Tensor) -> torch.Tensor:
    """Gram matrix (B,C,C) normalised by C*H*W."""
    b, c, h, w = f.shape
    f = f.reshape(b, c, h * w).float()
    return f @ f.transpose(1, 2) / (c * h * w)


def perceptual(feats_x: list[torch.Tensor], feats_y: list[torch.Tensor]) -> torch.Tensor:
    """Sum over layers of the mean L1 between feature maps."""
    return sum(F.l1_loss(a.float(), b.float()) for a, b in zip(feats_x, feats_y))


def style(feats_x: list[torch.Tensor], feats_y: list[torch.Tensor]) -> torch.Tensor:
    """Sum over layers of the mean L1 between Gram matrices."""
    return sum(F.l1_loss(gram(a), gram(b)) for a, b in zip(feats_x, feats_y))


def info_nce(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.07) -> torch.Tensor:
    """Symmetric InfoNCE: row i of ``z1`` must pick row i of ``z2`` among all rows (and vice versa).

    Features are L2-normalised; logits are cosine similarities / ``temperature``.
    """
    a = F.normalize(z1.float(), dim=1)
    b = F.normalize(z2.float(), dim=1)
    logits = a @ b.t() / temperature
    labels = torch.arange(a.shape[0], device=a.device)
    return 0.5 * (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels))


def feature_matching(fake: list[torch.Tensor], real: list[torch.Tensor]) -> torch.Tensor:
    """Mean over the discriminator's hidden layers of the L1 between its activations on the output and on the
    truth (the truth's activations are constants)."""
    return sum(F.l1_loss(a.float(), b.detach().float()) for a, b in zip(fake, real)) / max(1, len(fake))


def low_frequency(x: torch.Tensor, weight: torch.Tensor, factor: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """Local means of ``x`` over the pixels where ``weight`` is 1, in cells of ``factor`` x ``factor`` pixels
    smoothed over 3 x 3 cells; returns (means (B,C,H/f,W/f), each cell's share of weighted pixels)."""
    w = F.avg_pool2d(weight, factor)
    num = F.avg_pool2d(x * weight, factor)
    w = F.avg_pool2d(w, 3, 1, 1, count_include_pad=False)
    num = F.avg_pool2d(num, 3, 1, 1, count_include_pad=False)
    return num / w.clamp_min(1e-3), w


def colour_loss(out: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, factor: int = 8) -> torch.Tensor:
    """L1 between the low-frequency colour (local means over the hole) of the output and of the truth: a colour
    cast or a shading band costs here even where fine texture differs."""
    a, w = low_frequency(out, mask, factor)
    b, _ = low_frequency(target, mask, factor)
    cells = (w > 0.05).float()
    return (torch.abs(a - b) * cells).sum() / (cells.sum() * out.shape[1]).clamp_min(1.0)


def temporal(out_t: torch.Tensor, out_n: torch.Tensor, target_t: torch.Tensor, target_n: torch.Tensor,
             region: torch.Tensor) -> torch.Tensor:
    """Flicker: mean |(out_n - out_t) - (target_n - target_t)| over ``region`` (the holes of both frames), the
    quality benchmark's temporal error."""
    return masked_l1(out_n - out_t, target_n - target_t, region)


def dilate(mask: torch.Tensor, px: int = 1) -> torch.Tensor:
    return F.max_pool2d(mask, 2 * px + 1, 1, px) if px > 0 else mask


@dataclass
class LossTerms:
    """Named, detached loss values for logging."""

    values: dict[str, float]
