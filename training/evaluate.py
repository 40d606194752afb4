"""Evaluation on the held-out split: L1, PSNR and SSIM inside the hole, against three baselines in the same run.

    python -m training.evaluate --data /tmp/faces96 --weights runs/fast/generator_ema.safetensors [--faces 500]

Every method gets the same held-out samples (deterministic: the same masks and simulated references in every run):

- ``masked input``: the crop as the camera sees it (a mask-coloured hole), i.e. doing nothing;
- ``reference composite``: the product's own ``--generator none`` path, :class:`unmask_video.reconstruct.composite.ReferenceComposite`
  (warped reference, colour-matched to the ring around the mask, gaps inpainted);
- ``cv2.inpaint``: OpenCV Telea inpainting of the hole (radius 5);
- the generator(s): refined output composited into the known pixels.

Metrics are computed only over hole pixels on uint8 RGB images mapped to [0, 1]: L1 = mean |a - b|; PSNR = 10 log10(1 /
MSE) with the MSE over hole pixels and channels (peak 1.0), averaged over faces; SSIM = the mean of skimage's SSIM map
(data_range 1.0, 7x7 window, per channel) over hole pixels. Higher PSNR / SSIM and lower L1 are better.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import cv2
import numpy as np
import torch

from unmask_video.metrics import mae_in_mask, psnr_in_mask, ssim_in_mask

from training.dataset import FacePairs, PairOptions

log = logging.getLogger(__name__)

Method = Callable[[list[dict[str, np.ndarray]]], list[np.ndarray]]

MASKED = "masked input"
COMPOSITE = "reference composite (--generator none)"
INPAINT = "cv2.inpaint (Telea)"


@dataclass
class Scores:
    l1: list[float] = field(default_factory=list)
    psnr: list[float] = field(default_factory=list)
    ssim: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> dict[str, float]:
        n = max(1, len(self.psnr))
        return {"l1": float(np.mean(self.l1)), "psnr": float(np.mean(self.psnr)), "ssim": float(np.mean(self.ssim)),
                "psnr_std": float(np.std(self.psnr)), "faces": len(self.psnr), "ms_per_face": 1000 * self.seconds / n}


def hole_metrics(pred: np.ndarray, truth: np.ndarray, hole: np.ndarray) -> tuple[float, float, float]:
    """(L1, PSNR dB, SSIM) inside ``hole`` for uint8 RGB images, on the [0, 1] range (PSNR capped at 100 dB).

    The product's own metrics (:mod:`unmask_video.metrics`), so the trainer and the benchmarks score alike.
    """
    if not np.asarray(hole).any():
        raise ValueError("empty hole")
    return (
        mae_in_mask(pred, truth, hole),
        min(psnr_in_mask(pred, truth, hole), 100.0),
        ssim_in_mask(pred, truth, hole),
    )


def masked_input_method(samples: list[dict[str, np.ndarray]]) -> list[np.ndarray]:
    return [s["image"] for s in samples]


def inpaint_method(samples: list[dict[str, np.ndarray]]) -> list[np.ndarray]:
    return [cv2.inpaint(s["image"], (s["mask"] > 0.5).astype(np.uint8), 5, cv2.INPAINT_TELEA) for s in samples]


def composite_method() -> Method:
    """The product's ``--generator none`` reconstruction on the same crop, mask and warped reference."""
    from unmask_video.reconstruct.composite import CompositeOptions, ReferenceComposite
    from unmask_video.stages import Box, FaceROI

    rc = ReferenceComposite(CompositeOptions())

    def run(samples: list[dict[str, np.ndarray]]) -> list[np.ndarray]:
        faces = []
        for s in samples:
            h, w = s["mask"].shape
            faces.append(FaceROI(box=Box(0, 0, w, h), image=s["image"], landmarks=s["landmarks"],
                                 mask=s["mask"].astype(np.float32), reference=s["reference"],
                                 valid=s["ref_valid"] > 0.5))
        return rc.reconstruct(faces)

    return run


def generator_method(model: torch.nn.Module, device: str = "cpu") -> Method:
    model = model.to(device).eval()
    dtype = next(model.parameters()).dtype

    def t_img(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(a.astype(np.float32).transpose(2, 0, 1) / 127.5 - 1.0)

    @torch.no_grad()
    def run(samples: list[dict[str, np.ndarray]]) -> list[np.ndarray]:
        img = torch.stack([t_img(s["image"]) for s in samples]).to(device, dtype)
        ref = torch.stack([t_img(s["reference"]) for s in samples]).to(device, dtype)
        m = torch.stack([torch.from_numpy(s["mask"].astype(np.float32))[None] for s in samples]).to(device, dtype)
        v = torch.stack([torch.from_numpy(s["ref_valid"].astype(np.float32))[None] for s in samples]).to(device, dtype)
        out = model(img, m, ref, v).refined.float().clamp(-1, 1)
        pred = ((out + 1) * 127.5 + 0.5).clamp(0, 255).byte().permute(0, 2, 3, 1).cpu().numpy()
        return list(pred)

    return run


def evaluate(data: Path | str, methods: dict[str, Method], size: int, faces: int | None = None, seed: int = 12345,
             batch: int = 16, split: str = "val", pairs: str = "photos") -> dict[str, dict[str, float]]:
    """Score every method on the same held-out samples; returns {method: {l1, psnr, ssim, ...}}.

    ``pairs="composite"``: composite-correction samples (their first frame), whose ``reference`` is already the
    composite's output (what a composite-correcting generator takes)."""
    if pairs == "composite":
        from training.composite_pairs import CompositePairOptions, CompositePairs

        ds = CompositePairs(data, split, CompositePairOptions(size=size), seed=seed, deterministic=True, limit=faces)
        sample = lambda i: {k: v[0] for k, v in ds.sample(i).items()}  # noqa: E731
    else:
        ds = FacePairs(data, split, PairOptions(size=size), seed=seed, deterministic=True, limit=faces)
        sample = ds.sample
    scores = {name: Scores() for name in methods}
    for start in range(0, len(ds), batch):
        samples = [sample(i) for i in range(start, min(len(ds), start + batch))]
        for name, fn in methods.items():
            t = time.perf_counter()
            preds = fn(samples)
            scores[name].seconds += time.perf_counter() - t
            for s, p in zip(samples, preds):
                hole = s["mask"] > 0.5
                comp = np.where(hole[..., None], p, s["target"])  # keep the known pixels, as the product's blend does
                l1, ps, ss = hole_metrics(comp, s["target"], hole)
                scores[name].l1.append(l1)
                scores[name].psnr.append(ps)
                scores[name].ssim.append(ss)
    return {name: sc.summary() for name, sc in scores.items()}


def baseline_methods(pairs: str = "photos") -> dict[str, Method]:
    """The masked input, the composite (already in composite samples' ``reference``) and cv2.inpaint."""
    composite = (lambda samples: [s["reference"] for s in samples]) if pairs == "composite" else composite_method()
    return {MASKED: masked_input_method, COMPOSITE: composite, INPAINT: inpaint_method}


def format_table(results: dict[str, dict[str, float]]) -> str:
    lines = ["| method | L1 (hole, 0..1) | PSNR (hole, dB) | SSIM (hole) | faces |", "|---|---|---|---|---|"]
    for name, r in results.items():
        lines.append(f"| {name} | {r['l1']:.4f} | {r['psnr']:.2f} | {r['ssim']:.4f} | {r['faces']} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.evaluate", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, type=Path)
    p.add_argument("--weights", type=Path, nargs="*", default=[], help="generator .safetensors files to score")
    p.add_argument("--checkpoint", type=Path, nargs="*", default=[], help="training checkpoints (EMA generator)")
    p.add_argument("--size", type=int, default=0, help="crop size (default: the first generator's)")
    p.add_argument("--faces", type=int, default=None, help="at most this many held-out faces")
    p.add_argument("--json", type=Path, help="write the results here")
    p.add_argument("--pairs", choices=["photos", "composite"], default="photos",
                   help="the samples: reference-based pairs, or composite-correction pairs (what base=composite "
                   "generators take)")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from unmask_video.reconstruct.generator.weights import load_weights

    from training.export import generator_from_checkpoint

    methods = baseline_methods(a.pairs)
    size = a.size
    for w in a.weights:
        g = load_weights(w).float()
        methods[f"generator {w.name}"] = generator_method(g)
        size = size or g.config.size
    for c in a.checkpoint:
        g = generator_from_checkpoint(c)
        methods[f"generator {c.parent.parent.name} (EMA)"] = generator_method(g)
        size = size or g.config.size
    if not size:
        p.error("give --size when no generator is scored")
    res = evaluate(a.data, methods, size, a.faces, pairs=a.pairs)
    print(format_table(res))  # the CLI's own output
    if a.json:
        a.json.write_text(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
