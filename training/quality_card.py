"""Score a generator against the composite on the project's quality benchmark and record it in its model card.

    python -m training.quality_card WEIGHTS.safetensors [--clips 7] [--frames 60] [--talking DIR] [--write]

Runs :mod:`benchmarks.quality` (real talking-head clips from ``../shared/data/videos/talking``, a drawn mask, the
truth known; the product pipeline with its default smoothing) twice on the same clips in one run: ``--generator
none`` and ``--generator WEIGHTS``. Prints the PSNR inside the true mask per clip, and with ``--write`` stores
:func:`unmask_video.reconstruct.generator.card.quality_record` in the card inside the weights file (and in the
``.card.json`` beside it, if there is one). ``--generator auto`` runs the weights only if that record shows a win
(:func:`~unmask_video.reconstruct.generator.card.beats_composite`). Skips with a message when the clips are absent.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


def sheet_row(truth: list, masked: list, masks: list, outputs: dict[str, list], tile: int = 160) -> np.ndarray:
    """One contact-sheet row for the middle frame of a clip: masked | each generator's output | truth, cropped
    around the true mask."""
    import cv2

    t = len(truth) // 2
    ys, xs = np.nonzero(masks[t] > 0.5)
    if ys.size == 0:
        return np.zeros((tile, tile * (2 + len(outputs)), 3), np.uint8)
    h, w = masks[t].shape
    m = max(8, int(0.25 * max(ys.ptp(), xs.ptp())))
    box = (slice(max(ys.min() - m, 0), min(ys.max() + m + 1, h)), slice(max(xs.min() - m, 0), min(xs.max() + m + 1, w)))
    images = [masked[t], *(o[t] for o in outputs.values()), truth[t]]
    return np.hstack([cv2.resize(np.ascontiguousarray(im[box]), (tile, tile), interpolation=cv2.INTER_AREA)
                      for im in images])


def per_clip_scores(generators: list[str], clips: list[Path], frames: int, sheet: list | None = None,
                    skipped: dict[str, str] | None = None) -> dict[str, dict[str, dict[str, float]]]:
    """{generator: {clip name: {"psnr", "ssim", "tde"[, "cast"]}}} of the product end to end (its own segmenter
    and smoothing defaults) on the benchmark's clips and drawn masks; each clip is loaded once and run with every
    generator. Works with the realistic-mask benchmark (``Clip``, ``run_ours(clip, generator, true_mask)``) and
    with its earlier form (``run_ours(truth, masked, masks, generator, ...)``)."""
    from benchmarks import quality as q

    results: dict[str, dict[str, dict[str, float]]] = {g: {} for g in generators}
    for number, path in enumerate(clips):
        try:
            runs = _score_clip(q, number, path, frames, generators, sheet)
        except Exception as exc:  # noqa: BLE001 - a clip the benchmark cannot run is skipped for every generator
            reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            log.warning("%s skipped: the benchmark failed on it (%s)", path.stem, reason)
            if skipped is not None:
                skipped[path.stem] = reason
            continue
        if runs is None:
            continue
        for g, scores in runs.items():
            results[g][path.stem] = {k: float(np.mean(getattr(scores, k))) for k in ("psnr", "ssim", "tde", "cast")
                                     if getattr(scores, k, None)}
        log.info("%s: PSNR %s", path.stem, {g: round(r[path.stem]["psnr"], 2) for g, r in results.items()})
    return results


def _score_clip(q, number: int, path: Path, frames: int, generators: list[str], sheet: list | None):
    """The benchmark's scores of every generator on one clip (None: too few frames with a face)."""
    if hasattr(q, "Clip"):
        clip = q.load_clip(path, frames, number)
        if len(clip.truth) < 3:
            return None
        outputs = {g: q.run_ours(clip, g, true_mask=False)[0] for g in generators}
        runs = {g: q.evaluate(clip, outputs[g]) for g in generators}
        if sheet is not None:
            sheet.append(sheet_row(clip.truth, clip.masked, clip.masks, outputs))
    else:
        _, landmark_smoothing, mask_smoothing = q.VARIANTS[1]  # the product's default
        truth, masked, masks = q.load_clip(path, frames, q.STYLES[number % len(q.STYLES)])
        if len(truth) < 3:
            return None
        runs, outputs = {}, {}
        for g in generators:
            runs[g] = q.Scores()
            outputs[g] = q.run_ours(truth, masked, masks, g, landmark_smoothing, mask_smoothing)[0]
            q.evaluate(truth, outputs[g], masks, runs[g])
        if sheet is not None:
            sheet.append(sheet_row(truth, masked, masks, outputs))
    return runs


def write_record(weights: Path, record: dict) -> None:
    """Store ``record`` as the card's ``quality_benchmark`` in ``weights`` (rewritten atomically, tensors unchanged)
    and in the ``.card.json`` beside it."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    from unmask_video.reconstruct.generator.card import ModelCard
    from unmask_video.reconstruct.generator.weights import file_sha256

    with safe_open(str(weights), framework="pt") as f:
        meta = dict(f.metadata() or {})
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    card = dataclasses.replace(ModelCard.from_json(meta["card"]), quality_benchmark=record)
    meta["card"] = card.to_json()
    tmp = weights.with_name(weights.name + ".tmp")
    save_file(tensors, str(tmp), metadata=meta)
    tmp.replace(weights)
    sidecar = weights.with_name(weights.name.replace(".safetensors", ".card.json"))
    if sidecar.is_file():
        full = json.loads(sidecar.read_text())
        full.update(quality_benchmark=record, sha256=file_sha256(weights),
                    size_mb=round(weights.stat().st_size / 1e6, 2))
        sidecar.write_text(json.dumps(full, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.quality_card", description=__doc__.split("\n\n")[0])
    p.add_argument("weights", type=Path)
    p.add_argument("--clips", type=int, default=7)
    p.add_argument("--frames", type=int, default=60)
    p.add_argument("--write", action="store_true", help="record the result in the weights' model card")
    p.add_argument("--sheet", type=Path, help="write a contact sheet PNG: per clip masked | composite | generator | "
                   "truth (the middle frame)")
    p.add_argument("--talking", type=Path, help="the benchmark's clip folder (default: benchmarks.quality's, "
                   "../shared/data/videos/talking beside the repository)")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from benchmarks import quality as q
    from unmask_video.native_log import filter_native_stderr
    from unmask_video.reconstruct.generator.card import quality_record

    filter_native_stderr()
    if not a.weights.is_file():
        print(f"error: {a.weights} does not exist; pass a generator .safetensors file", file=sys.stderr)
        return 2
    talking = a.talking or (q.DATA / "talking" if hasattr(q, "DATA") else q.TALKING)
    clips = sorted(talking.glob("*.mp4"))[: a.clips] if talking.is_dir() else []
    if not clips:
        print(f"skipped: no talking-head clips at {talking} (the shared data folder is absent; see --talking)")
        return 0
    t0 = time.time()
    rows: list = []
    skipped: dict[str, str] = {}
    scores = per_clip_scores(["none", str(a.weights)], clips, a.frames, rows, skipped)
    if a.sheet and rows:
        import cv2

        cv2.imwrite(str(a.sheet), cv2.cvtColor(np.vstack(rows), cv2.COLOR_RGB2BGR))
        log.info("contact sheet (masked | composite | generator | truth): %s", a.sheet)
    composite, generator = scores["none"], scores[str(a.weights)]
    record = quality_record(
        {c: v["psnr"] for c, v in generator.items()},
        {c: v["psnr"] for c, v in composite.items()},
        frames_per_clip=a.frames,
        skipped_clips=skipped,
        variant="end to end (the product's segmenter and default smoothing)",
        generator_tde=round(float(np.mean([v["tde"] for v in generator.values()])), 3),
        composite_tde=round(float(np.mean([v["tde"] for v in composite.values()])), 3),
        generator_ssim=round(float(np.mean([v["ssim"] for v in generator.values()])), 4),
        composite_ssim=round(float(np.mean([v["ssim"] for v in composite.values()])), 4),
        **({"generator_cast": round(float(np.mean([v["cast"] for v in generator.values()])), 3),
            "composite_cast": round(float(np.mean([v["cast"] for v in composite.values()])), 3)}
           if all("cast" in v for v in [*generator.values(), *composite.values()]) else {}),
        measured=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    )
    print("| clip | composite PSNR dB | generator PSNR dB | delta |")  # the command's own output
    print("|---|---|---|---|")
    for clip in record["clips"]:
        g, c = record["generator_psnr_db"][clip], record["composite_psnr_db"][clip]
        print(f"| {clip} | {c:.2f} | {g:.2f} | {g - c:+.2f} |")
    print(f"| mean | {record['mean_composite_psnr_db']:.2f} | {record['mean_generator_psnr_db']:.2f} | "
          f"{record['mean_generator_psnr_db'] - record['mean_composite_psnr_db']:+.2f} |")
    print(f"TDE composite {record['composite_tde']:.2f}, generator {record['generator_tde']:.2f}; "
          f"beats the composite: {record['beats_composite']} ({time.time() - t0:.0f} s)")
    if a.write:
        write_record(a.weights, record)
        log.info("recorded in the model card of %s", a.weights)
    return 0


if __name__ == "__main__":
    sys.exit(main())
