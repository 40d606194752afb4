"""Everything worth measuring on a CUDA machine, in one command that prints one JSON document.

    python -m benchmarks.gpu [--budget-s 450] [--skip-tests] [--frames 90]

1. the ``gpu`` and ``tensorrt`` pytest markers (what can run there runs; the rest skips with its reason);
2. torch CUDA FP16 latency (channels-last, the torch backend's settings) of ``fast`` and ``paper`` at batch 1, 8
   and 32: milliseconds per batch and per crop (median of CUDA-event timings after a warm-up);
3. end-to-end 1080p frames per second of the real command path (PyAV decode -> FaceMesh -> mask -> warp ->
   generator on the torch CUDA backend -> blend -> encode) on a self-made clip, next to ``--generator none``;
4. a training-throughput burst: generator + discriminator steps of the trainer (bf16 autocast) on a fixed batch
   of composite-correction pairs, crops per second, for ``fast`` and ``paper``.

Each part has its share of ``--budget-s`` (the whole stays under 8 minutes); a part that fails is reported in the
JSON with its error and the others still run. Without CUDA it exits at once with a one-line message (exit 1).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

os.environ.setdefault("GLOG_minloglevel", "2")

ROOT = Path(__file__).resolve().parents[1]
NO_CUDA = "benchmarks.gpu needs an NVIDIA GPU with CUDA (torch.cuda.is_available() is False here); run it on a CUDA machine"


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def _part(report: dict[str, Any], name: str, fn: Callable[[], Any]) -> None:
    """Run one part; its result (or its error, in one line) goes into ``report[name]`` with its wall time."""
    t0 = time.time()
    try:
        report[name] = fn()
    except Exception as exc:  # noqa: BLE001 - one failing part must not hide the others
        report[name] = {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"}
    if isinstance(report[name], dict):
        report[name]["wall_s"] = round(time.time() - t0, 1)


# --------------------------------------------------------------------------------------------- 1. tests


def run_marked_tests(timeout_s: float) -> dict[str, Any]:
    """``pytest -m "gpu or tensorrt"`` over the suite: counts of passed / failed / skipped and the summary line."""
    cmd = [sys.executable, "-m", "pytest", "-q", "-m", "gpu or tensorrt", "-p", "no:cacheprovider", "tests"]
    try:
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return {"error": f"the marked tests did not finish within {timeout_s:.0f} s"}
    lines = [ln for ln in done.stdout.splitlines() if ln.strip()]
    summary = lines[-1] if lines else ""
    counts = {k: int(n) for n, k in re.findall(r"(\d+) (passed|failed|skipped|deselected|error|errors)", summary)}
    failed = [ln.split(" ", 1)[1] for ln in lines if ln.startswith("FAILED ")][:10]
    return {"exit_code": done.returncode, "summary": summary, "counts": counts, "failed": failed}


# --------------------------------------------------------------------------------------------- 2. latency


def generator_latency(name: str, batches: tuple[int, ...], device: str = "cuda", fp16: bool = True,
                      repeats: int = 20, budget_s: float = 60.0) -> dict[str, Any]:
    """Median milliseconds per batch and per crop of a freshly initialised ``name`` generator (FP16, channels-last
    on CUDA), refined output only, as the torch backend runs it."""
    import torch

    from unmask_video.reconstruct.generator import create_generator

    model = create_generator(name).eval().to(device)
    dtype = torch.float16 if fp16 else torch.float32
    fmt = torch.channels_last if device == "cuda" else torch.contiguous_format
    model = model.to(dtype=dtype, memory_format=fmt)
    s = model.config.size
    out: dict[str, Any] = {"crop": s, "dtype": str(dtype).replace("torch.", ""), "batches": {}}
    t_end = time.time() + budget_s
    for b in batches:
        if time.time() > t_end:
            out["batches"][str(b)] = {"skipped": "out of this part's time"}
            continue
        args = [torch.rand(b, c, s, s, device=device, dtype=dtype).contiguous(memory_format=fmt) for c in (3, 1, 3, 1)]
        args[1] = (args[1] > 0.5).to(dtype)
        args[3] = torch.ones_like(args[3])
        times = []
        with torch.inference_mode():
            for i in range(repeats + 3):
                if device == "cuda":
                    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                    start.record()
                    model(*args)
                    stop.record()
                    torch.cuda.synchronize()
                    ms = start.elapsed_time(stop)
                else:
                    t = time.perf_counter()
                    model(*args)
                    ms = (time.perf_counter() - t) * 1000
                if i >= 3:
                    times.append(ms)
        times.sort()
        med = times[len(times) // 2]
        out["batches"][str(b)] = {"ms_per_batch": round(med, 3), "ms_per_crop": round(med / b, 3),
                                  "crops_per_s": round(1000 * b / med, 1)}
    del model
    if device == "cuda":
        torch.cuda.empty_cache()
    return out


# --------------------------------------------------------------------------------------------- 3. end to end


def end_to_end(frames: int, generators: tuple[str, ...], backend: str = "torch", size: tuple[int, int] = (1920, 1080),
               batch: int = 8) -> dict[str, Any]:
    """fps of the real command path on a self-made clip of ``size`` for each generator (``none`` = the composite)."""
    from unmask_video.pipeline import PipelineOptions
    from unmask_video.reconstruct.factory import ReconstructorOptions
    from unmask_video.runner import RunOptions, run_file
    from unmask_video.synthetic import ClipSpec, make_clip

    result: dict[str, Any] = {"size": f"{size[0]}x{size[1]}", "frames": frames, "batch": batch}
    with tempfile.TemporaryDirectory() as tmp:
        clip = make_clip(Path(tmp) / "clip", ClipSpec(frames=frames, size=size, audio_hz=None))
        for generator in generators:
            summary = run_file(RunOptions(
                input=str(clip.video_path), output=str(Path(tmp) / f"out_{generator}.mp4"),
                reference=str(clip.reference_path), pipeline=PipelineOptions(),
                reconstructor=ReconstructorOptions(generator=generator, backend=backend if generator != "none" else "auto",
                                                   device="cuda" if generator != "none" else "auto"),
                batch=batch, quiet=True, overwrite=True))
            result[generator] = {"fps": round(summary.fps, 2), "seconds": round(summary.seconds, 2),
                                 "frames": summary.frames, "backend": summary.backend}
    return result


# --------------------------------------------------------------------------------------------- 4. training


def training_burst(name: str, batch: int, steps: int, device: str = "cuda", amp: str = "bf16",
                   size: int | None = None) -> dict[str, Any]:
    """Trainer steps (discriminator + generator, every loss of the composite run) on one fixed batch of synthetic
    composite-correction pairs made from the astronaut photo: seconds per step and crops per second."""
    import numpy as np
    import torch

    from training.config import LossWeights, TrainConfig
    from training.train import Dist, Trainer
    from unmask_video.reconstruct.generator.configs import get_config

    cfg = TrainConfig(model=name, data="unused", no_vgg=True, batch_size=batch, num_workers=0, device=device, amp=amp,
                      pairs="composite", disc_channels=64, cpu_threads=0 if device == "cuda" else 1,
                      losses=LossWeights(contrastive=0.0, feature_matching=1.0, colour=3.0, temporal=2.0))
    trainer = Trainer(cfg, Dist(device, cfg.cpu_threads))
    s = size or get_config(name).size
    batch_t = synthetic_pair_batch(batch, s)
    for _ in range(2):  # warm-up (cuDNN autotuning, allocator)
        trainer.train_step(batch_t)
    if device == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(steps):
        trainer.train_step(batch_t)
    if device == "cuda":
        torch.cuda.synchronize()
    sec = (time.perf_counter() - t) / steps
    crops = 2 * batch  # two consecutive frames per face
    peak = torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else float("nan")
    return {"crop": s, "faces_per_step": batch, "crops_per_step": crops, "sec_per_step": round(sec, 4),
            "crops_per_s": round(crops / sec, 1), "amp": amp,
            "peak_gpu_memory_gib": None if np.isnan(peak) else round(peak, 2)}


def synthetic_pair_batch(batch: int, size: int) -> dict[str, Any]:
    """A (batch, 2, C, S, S) batch shaped like training.composite_pairs' output, from the astronaut photo."""
    import cv2
    import numpy as np
    import torch
    from skimage.data import astronaut

    face = cv2.resize(astronaut()[30:286, 130:386], (size, size), interpolation=cv2.INTER_AREA)
    rng = np.random.default_rng(0)
    out: dict[str, list] = {k: [] for k in ("target", "image", "mask", "reference", "ref_valid")}
    for i in range(batch):
        frames = {k: [] for k in out}
        for f in range(2):
            target = np.roll(face, i + f, axis=1).astype(np.float32) / 127.5 - 1.0
            mask = np.zeros((size, size), np.float32)
            mask[size // 2:, size // 5: 4 * size // 5] = 1.0
            ref = target + rng.normal(0, 0.05, target.shape).astype(np.float32)
            frames["target"].append(torch.from_numpy(target.transpose(2, 0, 1)))
            frames["image"].append(torch.from_numpy((target * (1 - mask[..., None])).transpose(2, 0, 1)))
            frames["mask"].append(torch.from_numpy(mask)[None])
            frames["reference"].append(torch.from_numpy(ref.transpose(2, 0, 1)))
            frames["ref_valid"].append(torch.ones(1, size, size))
        for k in out:
            out[k].append(torch.stack(frames[k]))
    return {k: torch.stack(v) for k, v in out.items()}


# --------------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.gpu", description=__doc__.split("\n\n")[0])
    p.add_argument("--budget-s", type=float, default=450.0, help="time for all parts together (default 450)")
    p.add_argument("--frames", type=int, default=90, help="frames of the 1080p end-to-end clip")
    p.add_argument("--skip-tests", action="store_true", help="leave out the marked pytest run")
    a = p.parse_args(argv)
    if not cuda_available():
        print(f"error: {NO_CUDA}", file=sys.stderr)
        return 1
    import torch

    from unmask_video.native_log import filter_native_stderr

    filter_native_stderr()
    t0 = time.time()
    budget = a.budget_s
    report: dict[str, Any] = {
        "device": torch.cuda.get_device_name(0),
        "cuda": torch.version.cuda,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if not a.skip_tests:
        _part(report, "tests_gpu_tensorrt", lambda: run_marked_tests(0.35 * budget))
    latency: dict[str, Any] = {}
    for name in ("fast", "paper"):
        _part(latency, name, lambda n=name: generator_latency(n, (1, 8, 32), budget_s=0.08 * budget))
    report["torch_cuda_fp16_latency"] = latency
    remaining = budget - (time.time() - t0)
    frames = a.frames if remaining > 0.3 * budget else max(20, a.frames // 3)
    _part(report, "end_to_end_1080p_torch_cuda", lambda: end_to_end(frames, ("none", "fast")))
    burst: dict[str, Any] = {}
    for name, batch in (("fast", 32), ("paper", 8)):
        if time.time() - t0 > 0.92 * budget:
            burst[name] = {"skipped": "out of the time budget"}
            continue
        _part(burst, name, lambda n=name, b=batch: training_burst(n, b, steps=10))
    report["training_burst"] = burst
    report["wall_s"] = round(time.time() - t0, 1)
    print(json.dumps(report, indent=2))  # the command's output: one JSON document
    return 0


if __name__ == "__main__":
    sys.exit(main())
