"""Which crop size for the ``fast`` generator: cost and attainable quality of 96, 128 and 160 px, in one run.

    python -m benchmarks.crop_size [--sizes 96,128,160] [--data PREPARED_DIR] [--faces 60] [--threads 2]

Cost, per size: parameters, GFLOPs (counted), and ONNX Runtime CPU milliseconds per crop at batch 1 (min and median
of ``--repeats``), as ratios to the first size measured in this run.

Quality, with ``--data`` (a folder made by ``training.prepare``, e.g. at 192 px with the ``face_neck`` framing):
the generator corrects the composite at the crop's resolution, and the product adds that correction, upsampled, to
the full-resolution composite. So the best a crop of side S can do is the composite plus the perfect correction
seen at S: ``composite + up(down_S(truth - composite))``. The table gives that ceiling's PSNR inside the hole, next
to the composite's, on the same held-out composite-correction samples (``training.composite_pairs``). A size whose
ceiling is far above what training reaches is not what limits quality; then the cheaper size wins.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np


def cost(size: int, threads: int, repeats: int, tmp: Path) -> dict[str, float]:
    from unmask_video.reconstruct.backends import select_backend
    from unmask_video.reconstruct.generator import create_generator
    from unmask_video.reconstruct.generator.card import model_card
    from unmask_video.reconstruct.generator.parity import sample_inputs
    from unmask_video.reconstruct.generator.weights import save_weights

    card = model_card("fast", size=size)
    path = tmp / f"fast{size}.safetensors"
    save_weights(create_generator("fast", size=size), path)
    backend = select_backend("onnxruntime", path, device="cpu", threads=threads)
    inputs = sample_inputs(size, 1, seed=0)
    args = [inputs[k] for k in ("image", "mask", "reference", "ref_valid")]
    for _ in range(3):
        backend.run(*args)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        backend.run(*args)
        times.append((time.perf_counter() - t0) * 1000.0)
    return {"params_m": card.parameters / 1e6, "gflops": card.flops / 1e9, "ms_min": min(times),
            "ms_med": statistics.median(times)}


def ceilings(data: Path, sizes: list[int], faces: int) -> dict[str, float]:
    """Mean PSNR inside the hole of the composite and of ``composite + up(down_S(truth - composite))`` per size."""
    from training.composite_pairs import CompositePairOptions, CompositePairs
    from unmask_video.metrics import psnr_in_mask

    ds = CompositePairs(data, "all", seed=5, deterministic=True, limit=faces)
    full = ds.prepared_size
    ds.options = CompositePairOptions(size=full)  # everything at the prepared (full) resolution
    scores: dict[str, list[float]] = {"composite": [], **{str(s): [] for s in sizes}}
    for i in range(len(ds)):
        sample = ds.sample(i)
        truth, comp, hole = sample["target"][0], sample["reference"][0], sample["mask"][0]
        scores["composite"].append(psnr_in_mask(comp, truth, hole))
        diff = truth.astype(np.float32) - comp.astype(np.float32)
        for s in sizes:
            small = cv2.resize(diff, (s, s), interpolation=cv2.INTER_AREA)
            up = cv2.resize(small, (full, full), interpolation=cv2.INTER_LINEAR)
            scores[str(s)].append(psnr_in_mask(np.clip(comp + up + 0.5, 0, 255).astype(np.uint8), truth, hole))
    return {k: float(np.mean(v)) for k, v in scores.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.crop_size", description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="96,128,160")
    p.add_argument("--data", type=Path, help="a prepared folder (training.prepare) for the quality ceiling")
    p.add_argument("--faces", type=int, default=60)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=20)
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    sizes = [int(s) for s in a.sizes.split(",") if s]
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; ORT threads {a.threads}")
    with tempfile.TemporaryDirectory(prefix="crop-size-") as tmp:
        costs = {s: cost(s, a.threads, a.repeats, Path(tmp)) for s in sizes}
    quality = None
    if a.data is not None:
        if (a.data / "manifest.json").is_file():
            quality = ceilings(a.data, sizes, a.faces)
        else:
            print(f"skipped the quality ceiling: {a.data} is not a prepared folder (python -m training.prepare)")
    base = costs[sizes[0]]
    print(f"\n{'crop':>5} {'params M':>9} {'GFLOPs':>7} {'x':>5} {'ORT ms min':>10} {'ORT ms med':>10} {'x':>5}"
          + (f" {'ceiling PSNR dB':>16}" if quality else ""))
    for s in sizes:
        c = costs[s]
        row = (f"{s:5d} {c['params_m']:9.2f} {c['gflops']:7.2f} {c['gflops'] / base['gflops']:5.2f} "
               f"{c['ms_min']:10.2f} {c['ms_med']:10.2f} {c['ms_med'] / base['ms_med']:5.2f}")
        if quality:
            row += f" {quality[str(s)]:16.2f}"
        print(row)
    if quality:
        print(f"the composite alone on the same samples: {quality['composite']:.2f} dB PSNR in the hole "
              f"({a.faces} faces of {a.data.name})")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
