"""Per-crop latency of the generator configurations on each available backend.

    python benchmarks/generator_latency.py [--configs fast,paper] [--backends torch,onnxruntime]
                                           [--batches 1,4] [--repeats 10] [--threads 2]

Each (configuration, backend, batch) is warmed up, then timed ``--repeats`` times; the table gives
milliseconds per crop (min and median: the project machines are shared, the minimum is the least
disturbed figure) and the ratio of the median to the baseline measured in the same run: the "fast"
configuration on ONNX Runtime at batch 1, the default on a CPU. Weights are the shipped ones where
installed, else freshly initialised (same cost). Parameters and FLOPs come from the model cards.
Configurations over 20 GFLOPs a crop (paper) are slow on a CPU: they are timed with fewer repeats.
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


def _weights(name: str, tmp: Path) -> Path:
    from unmask_video.reconstruct.generator import create_generator
    from unmask_video.reconstruct.neural import shipped_weights
    from unmask_video.reconstruct.generator.weights import save_weights

    shipped = shipped_weights(name)
    if shipped is not None:
        return shipped
    path = tmp / f"{name}.safetensors"
    save_weights(create_generator(name), path)
    return path


def _time(backend, size: int, batch: int, repeats: int, warmup: int) -> list[float]:
    from unmask_video.reconstruct.generator.parity import sample_inputs

    inputs = sample_inputs(size, batch, seed=0)
    args = [inputs[k] for k in ("image", "mask", "reference", "ref_valid")]
    for _ in range(warmup):
        backend.run(*args)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        backend.run(*args)
        times.append((time.perf_counter() - t0) * 1000.0 / batch)
    return times


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--configs", default="fast,paper")
    p.add_argument("--backends", default="torch,onnxruntime")
    p.add_argument("--batches", default="1,4")
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--threads", type=int, default=2, help="CPU threads per backend (the target machine has 2 cores)")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")

    import torch

    from unmask_video.reconstruct.backends import select_backend
    from unmask_video.reconstruct.generator.card import model_card

    torch.set_num_threads(a.threads)
    configs = [c for c in a.configs.split(",") if c]
    backends = [b for b in a.backends.split(",") if b]
    batches = [int(b) for b in a.batches.split(",") if b]
    if "fast" not in configs or "onnxruntime" not in backends or 1 not in batches:
        print("note: the baseline (fast, onnxruntime, batch 1) is always measured")
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; threads {a.threads}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="gen-latency-") as tmpdir:
        tmp = Path(tmpdir)
        plan = [("fast", "onnxruntime", 1)] + [
            (c, b, n) for c in configs for b in backends for n in batches if (c, b, n) != ("fast", "onnxruntime", 1)
        ]
        loaded: dict[tuple[str, str], object] = {}
        for cfg, be, batch in plan:
            card = model_card(cfg)
            key = (cfg, be)
            if key not in loaded:
                weights = _weights(cfg, tmp)
                t0 = time.perf_counter()
                loaded[key] = select_backend(be, weights, device="cpu", threads=a.threads)
                print(f"loaded {cfg} on {be} in {time.perf_counter() - t0:.1f} s ({loaded[key].provider})")
            heavy = card.flops > 20e9
            repeats = max(2, a.repeats // 5) if heavy else a.repeats
            times = _time(loaded[key], card.input_size, batch, repeats, warmup=1 if heavy else 3)
            rows.append((cfg, be, batch, card, min(times), statistics.median(times)))
    base = rows[0][5]
    print()
    print(f"{'config':8} {'backend':12} {'batch':>5} {'crop':>5} {'params M':>9} {'GFLOPs':>7} "
          f"{'ms/crop min':>12} {'ms/crop med':>12} {'x baseline':>10}")
    for cfg, be, batch, card, tmin, tmed in rows:
        print(f"{cfg:8} {be:12} {batch:5d} {card.input_size:5d} {card.parameters / 1e6:9.2f} "
              f"{card.flops / 1e9:7.2f} {tmin:12.1f} {tmed:12.1f} {tmed / base:10.2f}")
    print(f"\nbaseline: fast on onnxruntime, batch 1 = {base:.1f} ms/crop (median); "
          f"load average after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
