"""The books of a training run folder, kept by rank 0 only.

    RUN_DIR/config.json              the TrainConfig of the latest session
    RUN_DIR/run.json                 world size, devices, versions, data, sessions (from-step, to-step, wall time)
    RUN_DIR/losses.csv               one row per logged step; on resume, rows past the checkpoint are dropped
    RUN_DIR/loss_curves.png          every column against the step (redrawn at each checkpoint)
    RUN_DIR/samples/step_*.png       masked input | reference input | coarse | result | truth
    RUN_DIR/checkpoints/last.pt      everything needed to resume exactly (written atomically)
"""

from __future__ import annotations

import csv
import json
import logging
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

log = logging.getLogger("training")

#: losses.csv columns, in order (a loss a run does not use stays empty).
COLUMNS = ("step", "epoch", "lr_g", "sec_per_step", "time", "d", "g", "adv", "fm", "hole", "valid", "tv", "colour",
           "temporal", "perceptual", "style", "contrastive", "hole_l1_01", "base_l1_01")


def now_utc() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def save_checkpoint(state: dict[str, Any], path: Path) -> None:
    """Write ``state`` to ``path`` atomically (a temporary file, then a rename): an interruption never leaves a
    half-written checkpoint."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path) -> dict[str, Any]:
    return torch.load(path, map_location="cpu", weights_only=True)


class RunFolder:
    """Config, session history, loss log, samples and checkpoints of one run folder."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.checkpoint = self.path / "checkpoints" / "last.pt"
        self.csv = self.path / "losses.csv"
        self.run_json = self.path / "run.json"
        self._fh = None
        self._t0 = time.time()

    # ---- sessions
    def start_session(self, config_json: str, info: dict[str, Any], step: int, world_size: int, device: str) -> None:
        """Write config.json and add a session to run.json (a resumed run keeps the earlier sessions)."""
        self.path.mkdir(parents=True, exist_ok=True)
        (self.path / "config.json").write_text(config_json)
        info = dict(info, started=now_utc())
        if step > 0 and self.run_json.is_file():
            prev = json.loads(self.run_json.read_text())
            info["started"] = prev.get("started", info["started"])
            info["wall_time_s_total"] = prev.get("wall_time_s_total", 0.0)
            info["sessions"] = prev.get("sessions", [])
        info.setdefault("sessions", [])
        info["sessions"].append({"world_size": world_size, "device": device, "from_step": step, "started": now_utc()})
        self.run_json.write_text(json.dumps(info, indent=2))
        self._t0 = time.time()

    def finish_session(self, step: int) -> float:
        """Record the end of this session in run.json; returns its wall time in seconds."""
        wall = round(time.time() - self._t0, 1)
        info = json.loads(self.run_json.read_text())
        info.update(finished=now_utc(), steps=step, wall_time_s_this_session=wall)
        if info.get("sessions"):
            info["sessions"][-1].update(to_step=step, wall_s=wall)
        info["wall_time_s_total"] = round(info.get("wall_time_s_total", 0) + wall, 1)
        self.run_json.write_text(json.dumps(info, indent=2))
        return wall

    # ---- the loss log
    def open_log(self, step: int) -> None:
        """Open losses.csv for appending; rows logged after ``step`` (the checkpoint resumed from) are dropped,
        as those steps are trained again."""
        fresh = step == 0 or not self.csv.exists()
        if not fresh:
            rows = list(csv.DictReader(self.csv.open()))
            kept = [r for r in rows if float(r["step"]) <= step]
            if len(kept) < len(rows):
                with self.csv.open("w", newline="") as fh:
                    w = csv.DictWriter(fh, fieldnames=list(rows[0]))
                    w.writeheader()
                    w.writerows(kept)
        self._fh = self.csv.open("w" if fresh else "a", newline="")
        if self._fh.tell() == 0:
            csv.DictWriter(self._fh, fieldnames=COLUMNS).writeheader()

    def log(self, row: dict[str, float]) -> None:
        csv.DictWriter(self._fh, fieldnames=COLUMNS, extrasaction="ignore").writerow(
            {k: (f"{row[k]:.6g}" if k in row else "") for k in COLUMNS}
        )
        self._fh.flush()

    def close_log(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    # ---- checkpoints and pictures
    def save(self, state: dict[str, Any]) -> None:
        """The checkpoint, then the loss curves (a plot never stops training)."""
        save_checkpoint(state, self.checkpoint)
        try:
            write_loss_curves(self.csv, self.path / "loss_curves.png")
        except Exception as e:  # noqa: BLE001
            log.warning("loss curves not written: %s", e)

    def sample_path(self, step: int) -> Path:
        return self.path / "samples" / f"step_{step:07d}.png"


def write_loss_curves(csv_path: Path, png_path: Path) -> None:
    """Plot every column of ``losses.csv`` against the step (one panel each), with OpenCV."""
    import cv2

    rows = list(csv.DictReader(csv_path.open()))
    if len(rows) < 2:
        return
    keys = [k for k in rows[0] if k not in ("step", "epoch", "sec_per_step", "time")
            and any(r.get(k) not in (None, "") for r in rows)]  # unused losses (e.g. without VGG) are left out
    steps = np.array([float(r["step"]) for r in rows])
    pw, ph, cols = 360, 200, 3
    nrows = math.ceil(len(keys) / cols)
    canvas = np.full((ph * nrows, pw * cols, 3), 255, np.uint8)
    for i, k in enumerate(keys):
        ys = np.array([float(r[k]) if r.get(k) not in (None, "") else np.nan for r in rows])
        ok = np.isfinite(ys)
        x0, y0 = (i % cols) * pw, (i // cols) * ph
        cv2.rectangle(canvas, (x0 + 40, y0 + 20), (x0 + pw - 10, y0 + ph - 25), (200, 200, 200), 1)
        if ok.sum() >= 2:
            lo, hi = float(np.nanmin(ys)), float(np.nanmax(ys))
            hi = hi if hi > lo else lo + 1e-6
            px = x0 + 40 + (steps[ok] - steps[0]) / max(1.0, steps[-1] - steps[0]) * (pw - 50)
            py = y0 + ph - 25 - (ys[ok] - lo) / (hi - lo) * (ph - 45)
            cv2.polylines(canvas, [np.stack([px, py], 1).astype(np.int32)], False, (200, 60, 30), 1, cv2.LINE_AA)
            cv2.putText(canvas, f"{hi:.3g}", (x0 + 2, y0 + 26), cv2.FONT_HERSHEY_SIMPLEX, 0.3, (0, 0, 0), 1)
            cv2.putText(canvas, f"{lo:.3g}", (x0 + 2, y0 + ph - 25), cv2.FONT_HERSHEY_SIMPLEX, 0.3, (0, 0, 0), 1)
        cv2.putText(canvas, k, (x0 + 45, y0 + 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1)
        cv2.putText(canvas, f"step {int(steps[-1])}", (x0 + pw - 90, y0 + ph - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.35,
                    (80, 80, 80), 1)
    cv2.imwrite(str(png_path), canvas)


def to_uint8(x: torch.Tensor) -> np.ndarray:
    return ((x.detach().float().clamp(-1, 1) + 1) * 127.5 + 0.5).byte().permute(0, 2, 3, 1).cpu().numpy()


@torch.no_grad()
def write_samples(model: nn.Module, batch: dict[str, torch.Tensor], path: Path, device: torch.device) -> None:
    """Rows (first frames): masked input | reference input (the composite for composite pairs) | coarse | result |
    truth."""
    import cv2

    model.eval()
    b = {k: (v[:, 0] if v.dim() == 5 else v).to(device) for k, v in batch.items()}
    out = model(b["image"], b["mask"], b["reference"], b["ref_valid"])
    comp = out.refined * b["mask"] + b["target"] * (1 - b["mask"])
    reference = b["reference"] if model.config.corrects_composite else b["reference"] * b["ref_valid"]
    cols = [b["image"], reference, out.coarse, comp, b["target"]]
    grid = np.concatenate([np.concatenate(list(to_uint8(c)), 0) for c in cols], 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(grid, cv2.COLOR_RGB2BGR))
