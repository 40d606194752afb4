"""Make the shipped weights of a finished run: evaluate, export the EMA generator (fp16), write its model card.

    python -m training.ship RUN_DIR --out unmask_video/reconstruct/generator/weights/fast [--faces N]
    python -m training.quality_card unmask_video/reconstruct/generator/weights/fast.safetensors --write

Writes ``OUT.safetensors`` (fp16 EMA generator, the card in its metadata) and ``OUT.card.json`` (the full card: data,
steps, wall time, hardware, configuration and the evaluation table against the three baselines, measured here in the
same run on the held-out split), and prints the table as Markdown. Paths in the card are relative (folder names,
never the training machine's absolute paths). Whether ``--generator auto`` may use the weights is decided by the
quality benchmark, which ``training.quality_card --write`` records in the card afterwards.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import time
from pathlib import Path

import torch

from training.evaluate import COMPOSITE, INPAINT, MASKED, baseline_methods, evaluate, format_table, generator_method
from training.export import generator_from_checkpoint, save_generator

log = logging.getLogger(__name__)

#: How the training pairs were made, per TrainConfig.pairs.
PAIRS = {
    "photos": "target = the face; reference = a simulated second photo of the same face (perturbed TPS warp, "
              "pose/expression jitter, lighting and colour changes) warped back by unmask_video.warp.ReferenceWarper "
              "from noisy landmarks; hole = the MASK_REGION polygon with jitter or a drawn surgical mask",
    "composite": "training.composite_pairs: two consecutive frames of a face (videos: the following frame; photos: "
                 "the photo moved by a small random similarity); reference = another frame of the same person at "
                 "least 8 frames away (videos, 85 %) or a simulated second photo (photos, and 15 % of video faces), "
                 "with colour/light changes on the reference side only, warped by unmask_video.warp.ReferenceWarper "
                 "from noisy landmarks; hole = training.holes (surgical-mask outline, onto the neck, worn low or "
                 "high, occluders, edge wobble); input = the product's ReferenceComposite output on both frames",
}


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _span(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    import calendar

    return float(calendar.timegm(time.strptime(end, fmt)) - calendar.timegm(time.strptime(start, fmt)))


def portable(path: str) -> str:
    """A path as the card records it: under a ``shared/data`` folder from there on, else its last two parts."""
    parts = Path(path).parts
    for i in range(len(parts) - 1):
        if parts[i] == "shared" and parts[i + 1] == "data":
            return "/".join(parts[i:])
    return "/".join(parts[-2:]) if len(parts) > 1 else path


def ship(run_dir: Path, out: Path, faces: int | None = None, notes: str = "") -> dict:
    from unmask_video.reconstruct.generator.card import card_for_config

    run_dir = Path(run_dir)
    cfg = json.loads((run_dir / "config.json").read_text())
    info = json.loads((run_dir / "run.json").read_text())
    ckpt = run_dir / "checkpoints" / "last.pt"
    ema = generator_from_checkpoint(ckpt, ema=True)
    raw = generator_from_checkpoint(ckpt, ema=False)
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    pairs = cfg.get("pairs", "photos")
    methods = baseline_methods(pairs)
    methods["generator (EMA, shipped)"] = generator_method(ema)
    methods["generator (raw, not shipped)"] = generator_method(raw)
    t = time.time()
    results = evaluate(cfg["data"], methods, ema.config.size, faces, pairs=pairs)
    eval_s = time.time() - t
    manifest = json.loads((Path(cfg["data"]) / "manifest.json").read_text())
    splits = {s: sum(f["split"] == s for f in manifest["faces"]) for s in ("train", "val")}
    shipped = results["generator (EMA, shipped)"]
    beats = {name: shipped["psnr"] > results[name]["psnr"] for name in (MASKED, COMPOSITE, INPAINT)}
    folders = {portable(k): v for k, v in manifest.get("per_folder", {}).items()}
    training_data = (
        f"{splits['train']} aligned faces from {', '.join(sorted(folders))} "
        f"(prepared by training.prepare: {manifest['counts']['photos']} photos, "
        f"{manifest['counts']['unusable']} without a usable face); {splits['val']} held out for evaluation"
    )
    card_fields = {
        "training_data": training_data,
        "metrics": {f"{k}_{m}": round(v[m], 4) for k, v in (("generator", shipped), ("composite", results[COMPOSITE]),
                                                            ("inpaint", results[INPAINT]), ("masked", results[MASKED]))
                    for m in ("psnr", "ssim", "l1")},
        "notes": notes,
    }
    card = card_for_config(ema.config, **card_fields)
    out.parent.mkdir(parents=True, exist_ok=True)
    weights = out.with_suffix(".safetensors")
    digest = save_generator(ema, weights, half=True, card=card,
                            extra={"training_steps": str(info.get("steps")), "trained_by": "training.train"})
    full = {
        "name": ema.config.name,
        "weights": weights.name,
        "sha256": digest,
        "size_mb": round(weights.stat().st_size / 1e6, 2),
        "dtype": "float16 (loaded as float32 by the product)",
        "generator_config": json.loads(ema.config.to_json()),
        "parameters": card.parameters,
        "flops_per_crop": card.flops,
        "flops_note": card.flops_note,
        "data": {
            "source_folders": folders,
            "videos": sorted({f["person"] for f in manifest["faces"] if f.get("person")}),
            "prepare_counts": manifest["counts"],
            "alignment": manifest["alignment"],
            "crop_size": ema.config.size,
            "train_faces": splits["train"],
            "held_out_faces": splits["val"],
            "split": "stable hash of the source path (training.prepare.split_of), 5 % held out",
            "pairs": PAIRS.get(pairs, pairs),
        },
        "training": {
            "steps": info.get("steps"),
            "batch_size_per_process": cfg["batch_size"],
            "world_size_last_session": info.get("world_size"),
            "wall_time_s_last_session": info.get("wall_time_s_this_session"),
            "wall_clock_first_start_to_end_s": _span(info.get("started"), info.get("finished")),
            "started": info.get("started"),
            "finished": info.get("finished"),
            "hardware": (f"GPU: {info.get('device_name')} x {info.get('world_size')}"
                         if str(info.get("device", "")).startswith("cuda") else
                         f"CPU only: {_cpu_name()}, {os.cpu_count()} cores shared with other jobs, "
                         f"{info.get('cpu_threads_per_process')} torch thread(s) per process; no GPU"),
            "vgg": info.get("vgg"),
            "effective_loss_weights": info.get("effective_loss_weights"),
            "config": {**cfg, "data": portable(cfg["data"]), "run_dir": portable(cfg["run_dir"]),
                       "init_from": portable(cfg["init_from"]) if cfg.get("init_from") else ""},
            "sessions": info.get("sessions", []),
        },
        "evaluation": {
            "split": "held-out (val)",
            "faces": shipped["faces"],
            "protocol": "same deterministic held-out samples for every method; metrics only over hole pixels, on "
                        "uint8 RGB mapped to [0,1]: L1 mean |a-b|; PSNR 10 log10(1/MSE) per face, averaged; SSIM mean of "
                        "skimage's SSIM map (7x7, data_range 1) over the hole. Outputs composited into the known pixels.",
            "results": results,
            "generator_beats_on_psnr": beats,
            "eval_wall_s": round(eval_s, 1),
        },
        "notes": notes,
    }
    out.with_suffix(".card.json").write_text(json.dumps(full, indent=2))
    return full


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.ship", description=__doc__.split("\n\n")[0])
    p.add_argument("run_dir", type=Path)
    p.add_argument("--out", type=Path, required=True, help="path stem, e.g. unmask_video/generator/weights/fast")
    p.add_argument("--faces", type=int, default=None, help="at most this many held-out faces (default: all)")
    p.add_argument("--notes", default="")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    card = ship(a.run_dir, a.out, a.faces, a.notes)
    print(format_table(card["evaluation"]["results"]))  # the command's own output
    print(json.dumps(card["evaluation"]["generator_beats_on_psnr"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
