"""The GAN trainer. One process, or DistributedDataParallel under torchrun.

    python -m training.train --data /tmp/faces --run-dir runs/fast --model fast --no-vgg
    torchrun --standalone --nproc_per_node 4 -m training.train --config runs/fast/config.json
    torchrun --nnodes 2 --node_rank 0 --nproc_per_node 8 --rdzv_backend c10d --rdzv_endpoint HOST:29500 \
        -m training.train --config cfg.json

A run folder holds ``config.json`` (the :class:`TrainConfig`), ``run.json`` (world size, devices, versions, whether
VGG was used), ``losses.csv`` and ``loss_curves.png``, ``samples/step_*.png``, ``eval.csv`` and
``checkpoints/last.pt`` (generator, EMA generator, discriminator, optimisers, schedulers, scalers, step, both
configurations). Starting again with the same run folder resumes from ``last.pt`` unless ``--no-resume``.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import math
import os
import platform
import sys
import time
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, DistributedSampler, Sampler

from unmask_video.errors import InputError, UnmaskError

from training import losses as L
from training.augment import contrastive_augment
from training.config import TrainConfig, apply_overrides
from training.dataset import FacePairs, PairOptions, worker_init
from training.discriminator import Discriminator, init_discriminator
from training.ema import EMA

log = logging.getLogger("training")


# --------------------------------------------------------------------------------------------- distributed


class Dist:
    """World facts for this process (a world of one without torchrun)."""

    def __init__(self, device_pref: str = "auto", cpu_threads: int = 0) -> None:
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        self.local_world = int(os.environ.get("LOCAL_WORLD_SIZE", str(self.world)))
        use_cuda = torch.cuda.is_available() if device_pref == "auto" else device_pref == "cuda"
        if use_cuda and not torch.cuda.is_available():
            raise InputError("--device cuda was asked for but no CUDA device is available; use --device cpu")
        if use_cuda:
            torch.cuda.set_device(self.local_rank % torch.cuda.device_count())
            self.device = torch.device("cuda", torch.cuda.current_device())
        else:
            self.device = torch.device("cpu")
            cores = os.cpu_count() or 1
            torch.set_num_threads(cpu_threads or max(1, cores // max(1, self.local_world)))
        self.enabled = self.world > 1
        if self.enabled and not dist.is_initialized():
            dist.init_process_group(backend="nccl" if use_cuda else "gloo")

    @property
    def main(self) -> bool:
        return self.rank == 0

    def any(self, flag: bool) -> bool:
        """True on every rank if ``flag`` is True on any rank (keeps ranks in step when one decides to stop)."""
        if not self.enabled:
            return flag
        t = torch.tensor([1.0 if flag else 0.0], device=self.device)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item() > 0)

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def close(self) -> None:
        if self.enabled and dist.is_initialized():
            dist.destroy_process_group()


class OffsetSampler(Sampler[tuple[int, int]]):
    """A distributed sampler that can start part-way through an epoch (resume).

    It yields ``(epoch, index)`` pairs, so loader workers that live across epochs (persistent workers) still draw
    each epoch's own random pairs.
    """

    def __init__(self, base: DistributedSampler, batch_size: int) -> None:
        self.base = base
        self.batch_size = batch_size
        self.skip_batches = 0
        self.epoch = 0

    def set_epoch(self, epoch: int, skip_batches: int = 0) -> None:
        self.base.set_epoch(epoch)
        self.epoch = epoch
        self.skip_batches = skip_batches

    def __iter__(self) -> Iterator[tuple[int, int]]:
        idx = list(self.base)
        return iter([(self.epoch, i) for i in idx[self.skip_batches * self.batch_size:]])

    def __len__(self) -> int:
        return max(0, len(self.base) - self.skip_batches * self.batch_size)


# --------------------------------------------------------------------------------------------- building


def build_generator(cfg: TrainConfig) -> nn.Module:
    from unmask_video.reconstruct.generator.networks import create_generator
    from unmask_video.reconstruct.generator.layers import init_weights

    g = create_generator(cfg.model, **cfg.model_overrides)
    init_weights(g, cfg.init)
    return g


def build_vgg(cfg: TrainConfig, device: torch.device) -> nn.Module | None:
    if cfg.no_vgg:
        return None
    from training.vgg import VGG19Features

    return VGG19Features(cfg.vgg_weights or None).to(device)


def pair_maker(cfg: TrainConfig, size: int):
    """``make(split, **kwargs)`` -> the training pairs ``cfg.pairs`` asks for, at the model size."""
    if cfg.pairs == "photos":
        options = PairOptions(size=size, drawn_mask_prob=cfg.drawn_mask_prob)
        return lambda split, **kw: FacePairs(cfg.data, split, options, **kw)
    if cfg.pairs == "composite":
        from training.composite_pairs import CompositePairOptions, CompositePairs

        composite_options = CompositePairOptions(size=size)
        return lambda split, **kw: CompositePairs(cfg.data, split, composite_options, **kw)
    raise InputError(f"pairs={cfg.pairs!r} is not one of photos, composite")


def effective_losses(cfg: TrainConfig):
    """The loss weights really used: perceptual and style are 0 without VGG."""
    if cfg.no_vgg:
        return replace(cfg.losses, perceptual=0.0, style=0.0)
    return cfg.losses


def lr_factor(step: int, steps_per_epoch: int, epochs: int, decay_epochs: int) -> float:
    """1 for the constant epochs, then linear down to 0 over ``decay_epochs``."""
    e = step / max(1, steps_per_epoch)
    start = epochs - decay_epochs
    if decay_epochs <= 0 or e < start:
        return 1.0
    return max(0.0, (epochs - e) / decay_epochs)


def autocast_ctx(cfg: TrainConfig, device: torch.device):
    if cfg.amp == "none":
        return nullcontext()
    if cfg.amp not in ("bf16", "fp16"):
        raise InputError(f"--amp {cfg.amp} is not one of none, bf16, fp16")
    if cfg.amp == "fp16" and device.type != "cuda":
        raise InputError("--amp fp16 needs a CUDA device; use --amp bf16 on a CPU")
    return torch.autocast(device.type, dtype=torch.bfloat16 if cfg.amp == "bf16" else torch.float16)


# --------------------------------------------------------------------------------------------- one step


class Trainer:
    def __init__(self, cfg: TrainConfig, world: Dist) -> None:
        self.cfg = cfg
        self.world = world
        dev = world.device
        self.device = dev
        self.vgg = build_vgg(cfg, dev)  # first: a missing weights file stops the run before any work
        torch.manual_seed(cfg.seed)  # same initial weights on every rank (DDP also broadcasts them)
        self.g = build_generator(cfg).to(dev)
        self.d = Discriminator(cfg.disc_channels).to(dev)
        init_discriminator(self.d, cfg.init)
        self.gen_config = self.g.config
        self.size = cfg.image_size or self.gen_config.size
        if self.size != self.gen_config.size:
            raise InputError(f"image_size {self.size} does not match the {cfg.model} generator's {self.gen_config.size}")
        torch.manual_seed(cfg.seed + 1000 * world.rank)  # per-rank randomness from here on
        np.random.seed(cfg.seed + 1000 * world.rank)
        self.ema = EMA(self.g, cfg.ema_decay, cfg.ema_start) if world.main else None
        if world.enabled:
            ids = [dev.index] if dev.type == "cuda" else None
            self.g_ddp: nn.Module = DDP(self.g, device_ids=ids)
            self.d_ddp: nn.Module = DDP(self.d, device_ids=ids)
        else:
            self.g_ddp, self.d_ddp = self.g, self.d
        self.opt_g = torch.optim.Adam(self.g.parameters(), lr=cfg.lr_g, betas=(cfg.beta1, cfg.beta2))
        self.opt_d = torch.optim.Adam(self.d.parameters(), lr=cfg.lr_d, betas=(cfg.beta1, cfg.beta2))
        fp16 = cfg.amp == "fp16"
        self.scaler_g = torch.amp.GradScaler(dev.type, enabled=fp16)
        self.scaler_d = torch.amp.GradScaler(dev.type, enabled=fp16)
        self.w = effective_losses(cfg)
        self.aug_gen = torch.Generator().manual_seed(cfg.seed + 7919 * world.rank)
        self.step = 0

    # ---- the step
    def train_step(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        """One discriminator and one generator update. Tensors are (B,C,S,S), or (B,F,C,S,S) for F consecutive
        frames of a face (composite pairs): all frames go through the generator, the first of each through the
        discriminator, and consecutive frames feed the temporal loss."""
        cfg, w = self.cfg, self.w
        b = {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}
        frames = b["image"].shape[1] if b["image"].dim() == 5 else 1
        if b["image"].dim() == 5:
            b = {k: v.flatten(0, 1) for k, v in b.items()}
        n = b["image"].shape[0]  # frames of all faces
        first = slice(0, n, frames)  # the first frame of each face
        use_con = w.contrastive > 0
        if use_con:
            aug = contrastive_augment(b, self.aug_gen)
            b = {k: torch.cat([b[k], aug[k]], 0) for k in b}
        image, mask, target = b["image"], b["mask"], b["target"]
        amp = autocast_ctx(cfg, self.device)
        with amp:
            out = self.g_ddp(image, mask, b["reference"], b["ref_valid"])
        coarse, refined, feat = out.coarse.float(), out.refined.float(), out.feature.float()
        comp = refined * mask + target * (1 - mask)
        real, fake, hole = target[:n][first], comp[:n][first], mask[:n][first]

        # discriminator: real faces vs composited outputs (first frames, un-augmented)
        k = real.shape[0]
        self.opt_d.zero_grad(set_to_none=True)
        with amp:
            scores = self.d_ddp(torch.cat([real, fake.detach()], 0), torch.cat([hole, hole], 0))
        d_loss = L.d_hinge(scores[:k].float(), scores[k:].float())
        self.scaler_d.scale(d_loss).backward()
        self._clip(self.d, self.scaler_d, self.opt_d)
        self.scaler_d.step(self.opt_d)
        self.scaler_d.update()

        # generator
        terms: dict[str, torch.Tensor] = {}
        self.d.requires_grad_(False)
        with amp:  # the plain module: no DDP sync, D is not updated here
            fake_scores, fake_feats = self.d.features(fake, hole)
            if w.feature_matching > 0:
                with torch.no_grad():
                    _, real_feats = self.d.features(real, hole)
        self.d.requires_grad_(True)
        terms["adv"] = L.g_hinge(fake_scores.float())
        if w.feature_matching > 0:
            terms["fm"] = L.feature_matching(fake_feats, real_feats)
        hole_r, valid_r = L.hole_valid_l1(refined, target, mask)
        hole_c, valid_c = L.hole_valid_l1(coarse, target, mask)
        terms["hole"] = hole_r + w.coarse * hole_c
        terms["valid"] = valid_r + w.coarse * valid_c
        terms["tv"] = L.total_variation(comp, L.dilate(mask, 1))
        if w.colour > 0:
            terms["colour"] = L.colour_loss(refined, target, mask)
        if w.temporal > 0 and frames > 1:
            shape = (n // frames, frames) + comp.shape[1:]
            c5, t5 = comp[:n].reshape(shape), target[:n].reshape(shape)
            m5 = mask[:n].reshape((n // frames, frames) + mask.shape[1:])
            terms["temporal"] = L.temporal(c5[:, :-1].flatten(0, 1), c5[:, 1:].flatten(0, 1), t5[:, :-1].flatten(0, 1),
                                           t5[:, 1:].flatten(0, 1), torch.maximum(m5[:, :-1], m5[:, 1:]).flatten(0, 1))
        if self.vgg is not None and (w.perceptual > 0 or w.style > 0):
            with amp:
                f_t = [f.detach() for f in self.vgg(target)]
                f_r = self.vgg(refined)
                f_c = self.vgg(comp)
            terms["perceptual"] = L.perceptual(f_r, f_t) + L.perceptual(f_c, f_t)
            terms["style"] = L.style(f_r, f_t) + L.style(f_c, f_t)
        if use_con:
            terms["contrastive"] = L.info_nce(feat[:n], feat[n:], cfg.contrastive_temperature)
        weights = {"adv": w.adversarial, "hole": w.hole, "valid": w.valid, "tv": w.tv, "perceptual": w.perceptual,
                   "style": w.style, "contrastive": w.contrastive, "fm": w.feature_matching, "colour": w.colour,
                   "temporal": w.temporal}
        g_loss = sum(weights[k] * v for k, v in terms.items())
        if not use_con:  # keep the feature head in the graph (zero gradient), as DDP wants every parameter used
            g_loss = g_loss + 0.0 * feat.sum()
        self.opt_g.zero_grad(set_to_none=True)
        self.scaler_g.scale(g_loss).backward()
        self._clip(self.g, self.scaler_g, self.opt_g)
        self.scaler_g.step(self.opt_g)
        self.scaler_g.update()
        self.step += 1
        if self.ema is not None:
            self.ema.update(self.g, self.step)
        vals = {k: float(v.detach()) for k, v in terms.items()}
        vals.update(d=float(d_loss.detach()), g=float(g_loss.detach()))
        with torch.no_grad():
            vals["hole_l1_01"] = float(L.masked_l1(refined[:n], target[:n], mask[:n])) / 2  # in [0,1] units
            if cfg.pairs == "composite":  # the composite alone, for comparison (the network's base)
                vals["base_l1_01"] = float(L.masked_l1(b["reference"][:n], target[:n], mask[:n])) / 2
        return vals

    def _clip(self, model: nn.Module, scaler, opt) -> None:
        if self.cfg.grad_clip > 0:
            scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_(model.parameters(), self.cfg.grad_clip)

    # ---- checkpoints
    def state(self, epoch: float, scheds: list) -> dict[str, Any]:
        return {
            "step": self.step,
            "epoch": epoch,
            "generator": self.g.state_dict(),
            "generator_ema": self.ema.state_dict() if self.ema is not None else self.g.state_dict(),
            "discriminator": self.d.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "sched": [s.state_dict() for s in scheds],
            "scaler_g": self.scaler_g.state_dict(),
            "scaler_d": self.scaler_d.state_dict(),
            "train_config": self.cfg.to_json(),
            "generator_config": self.gen_config.to_json(),
        }

    def load(self, ckpt: dict[str, Any], scheds: list) -> None:
        self.g.load_state_dict(ckpt["generator"])
        self.d.load_state_dict(ckpt["discriminator"])
        if self.ema is not None:
            self.ema.load_state_dict(ckpt["generator_ema"])
        self.opt_g.load_state_dict(ckpt["opt_g"])
        self.opt_d.load_state_dict(ckpt["opt_d"])
        for s, st in zip(scheds, ckpt["sched"]):
            s.load_state_dict(st)
        self.scaler_g.load_state_dict(ckpt["scaler_g"])
        self.scaler_d.load_state_dict(ckpt["scaler_d"])
        self.step = int(ckpt["step"])


def save_checkpoint(state: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path) -> dict[str, Any]:
    return torch.load(path, map_location="cpu", weights_only=True)


# --------------------------------------------------------------------------------------------- outputs


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


# --------------------------------------------------------------------------------------------- the loop


def run(cfg: TrainConfig, resume: bool = True, show_progress: bool = True) -> dict[str, Any]:
    """Train; returns a summary (rank 0) with the final step, wall time and the last losses."""
    world = Dist(cfg.device, cfg.cpu_threads)
    try:
        return _run(cfg, world, resume, show_progress)
    finally:
        world.close()


def _run(cfg: TrainConfig, world: Dist, resume: bool, show_progress: bool) -> dict[str, Any]:
    run_dir = Path(cfg.run_dir)
    ckpt_path = run_dir / "checkpoints" / "last.pt"
    if not cfg.data:
        raise InputError("no training data: pass --data FOLDER (made by python -m training.prepare)")
    trainer = Trainer(cfg, world)
    size = trainer.size
    make_pairs = pair_maker(cfg, size)
    train_set = make_pairs("train", seed=cfg.seed)
    base = DistributedSampler(train_set, num_replicas=world.world, rank=world.rank, shuffle=True, seed=cfg.seed,
                              drop_last=True)
    sampler = OffsetSampler(base, cfg.batch_size)
    loader = DataLoader(train_set, batch_size=cfg.batch_size, sampler=sampler, num_workers=cfg.num_workers,
                        drop_last=True, worker_init_fn=worker_init, persistent_workers=cfg.num_workers > 0,
                        # spawned, not forked: a worker forked from a process with running threads can deadlock
                        multiprocessing_context="spawn" if cfg.num_workers > 0 else None,
                        pin_memory=world.device.type == "cuda")
    full_epoch = len(base) // cfg.batch_size
    if full_epoch == 0:
        raise InputError(f"the training split has {len(train_set)} faces, fewer than one batch per process; "
                         "lower --batch-size or prepare more faces")
    spe = cfg.steps_per_epoch or full_epoch
    total = cfg.epochs * spe
    if cfg.max_steps:
        total = min(total, cfg.max_steps)
    f = lambda s: lr_factor(s, spe, cfg.epochs, cfg.decay_epochs)  # noqa: E731
    scheds = [torch.optim.lr_scheduler.LambdaLR(trainer.opt_g, f), torch.optim.lr_scheduler.LambdaLR(trainer.opt_d, f)]

    if resume and ckpt_path.is_file():
        ck = load_checkpoint(ckpt_path)
        saved = json.loads(ck["generator_config"])
        if saved != json.loads(trainer.gen_config.to_json()):
            raise InputError(f"{ckpt_path} holds a different generator configuration; use another --run-dir or "
                             "--no-resume")
        trainer.load(ck, scheds)
        if world.main:
            log.info("resumed from %s at step %d", ckpt_path, trainer.step)
    if world.main:
        run_dir.mkdir(parents=True, exist_ok=True)
        cfg.save(run_dir / "config.json")
        info = {
            "world_size": world.world,
            "device": str(world.device),
            "device_name": torch.cuda.get_device_name(world.device) if world.device.type == "cuda" else platform.processor() or platform.machine(),
            "cpu_threads_per_process": torch.get_num_threads(),
            "torch": torch.__version__,
            "generator_config": json.loads(trainer.gen_config.to_json()),
            "vgg": "disabled (--no-vgg): perceptual and style losses not used" if cfg.no_vgg else trainer.vgg.source,
            "effective_loss_weights": vars(trainer.w),
            "train_faces": len(train_set),
            "steps_per_epoch": spe,
            "planned_steps": total,
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        prev_path = run_dir / "run.json"
        if trainer.step > 0 and prev_path.is_file():  # resumed: keep the history of earlier sessions
            prev = json.loads(prev_path.read_text())
            info["started"] = prev.get("started", info["started"])
            info["wall_time_s_total"] = prev.get("wall_time_s_total", 0.0)
            info["sessions"] = prev.get("sessions", [])
        info.setdefault("sessions", [])
        info["sessions"].append({"world_size": world.world, "device": str(world.device), "from_step": trainer.step,
                                 "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
        prev_path.write_text(json.dumps(info, indent=2))
    sample_batch = None
    if world.main:
        try:
            val = make_pairs("val", seed=cfg.seed + 1, deterministic=True, limit=8)
        except ValueError:  # no held-out faces: show training faces
            val = make_pairs("train", seed=cfg.seed + 1, deterministic=True, limit=8)
        sample_batch = {k: torch.stack([val[i][k] for i in range(len(val))]) for k in val[0]}

    csv_path = run_dir / "losses.csv"
    writer = None
    if world.main:
        fresh = not csv_path.exists() or trainer.step == 0
        if not fresh:  # drop rows logged after the checkpoint we resumed from (they are trained again)
            rows = list(csv.DictReader(csv_path.open()))
            kept = [r for r in rows if float(r["step"]) <= trainer.step]
            if len(kept) < len(rows):
                with csv_path.open("w", newline="") as fh0:
                    w0 = csv.DictWriter(fh0, fieldnames=list(rows[0]))
                    w0.writeheader()
                    w0.writerows(kept)
        fh = csv_path.open("w" if fresh else "a", newline="")
        writer = (fh, fresh)
    t0 = time.time()
    last_t, last_step = t0, trainer.step
    acc: dict[str, list[float]] = {}
    summary: dict[str, Any] = {}
    progress = _Progress(show_progress and world.main, total, trainer.step)
    stop = trainer.step >= total
    try:
        while not stop:
            data_pass, skip = divmod(trainer.step, full_epoch)  # passes over the data, resumable mid-pass
            sampler.set_epoch(data_pass, skip)
            for batch in loader:
                vals = trainer.train_step(batch)
                for s in scheds:
                    s.step()
                for k, v in vals.items():
                    acc.setdefault(k, []).append(v)
                step = trainer.step
                epoch = step / spe
                progress.update(step, vals)
                if world.main and (step % cfg.log_every == 0 or step == total):
                    now = time.time()
                    row = {"step": step, "epoch": epoch, "lr_g": scheds[0].get_last_lr()[0],
                           "sec_per_step": (now - last_t) / max(1, step - last_step), "time": now - t0}
                    row.update({k: float(np.mean(v)) for k, v in acc.items()})
                    _write_row(writer, row)
                    summary["last"] = row
                    acc.clear()
                    last_t, last_step = now, step
                if world.main and sample_batch is not None and cfg.sample_every and step % cfg.sample_every == 0:
                    write_samples(trainer.ema.model, sample_batch, run_dir / "samples" / f"step_{step:07d}.png",
                                  trainer.device)
                out_of_time = cfg.time_budget_min > 0 and (time.time() - t0) > cfg.time_budget_min * 60
                if step >= total or world.any(out_of_time):
                    stop = True
                    break
                if cfg.checkpoint_every and step % cfg.checkpoint_every == 0:
                    _checkpoint(trainer, epoch, scheds, ckpt_path, world, csv_path)
    finally:
        progress.close()
        if writer is not None:
            writer[0].close()
    epoch = trainer.step / spe
    _checkpoint(trainer, epoch, scheds, ckpt_path, world, csv_path)
    if world.main:
        from training.export import save_generator

        save_generator(trainer.ema.model, run_dir / "generator_ema.safetensors", half=False,
                       extra={"step": str(trainer.step)})
        if sample_batch is not None:
            write_samples(trainer.ema.model, sample_batch, run_dir / "samples" / f"step_{trainer.step:07d}.png",
                          trainer.device)
        info = json.loads((run_dir / "run.json").read_text())
        info.update(finished=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), steps=trainer.step,
                    wall_time_s_this_session=round(time.time() - t0, 1))
        if info.get("sessions"):
            info["sessions"][-1].update(to_step=trainer.step, wall_s=round(time.time() - t0, 1))
        info["wall_time_s_total"] = round(info.get("wall_time_s_total", 0) + time.time() - t0, 1)
        (run_dir / "run.json").write_text(json.dumps(info, indent=2))
        summary.update(step=trainer.step, wall_s=time.time() - t0, run_dir=str(run_dir))
    world.barrier()
    return summary


def _checkpoint(trainer: Trainer, epoch: float, scheds: list, path: Path, world: Dist, csv_path: Path) -> None:
    if world.main:
        save_checkpoint(trainer.state(epoch, scheds), path)
        try:
            write_loss_curves(csv_path, path.parent.parent / "loss_curves.png")
        except Exception as e:  # noqa: BLE001 - a plot must never stop training
            log.warning("loss curves not written: %s", e)
    world.barrier()


def _write_row(writer, row: dict[str, float]) -> None:
    fh, fresh = writer
    keys = ["step", "epoch", "lr_g", "sec_per_step", "time", "d", "g", "adv", "fm", "hole", "valid", "tv", "colour",
            "temporal", "perceptual", "style", "contrastive", "hole_l1_01", "base_l1_01"]
    w = csv.DictWriter(fh, fieldnames=keys, extrasaction="ignore")
    if fresh and fh.tell() == 0:
        w.writeheader()
    w.writerow({k: (f"{row[k]:.6g}" if k in row else "") for k in keys})
    fh.flush()


class _Progress:
    """A rich progress bar on rank 0 (nothing elsewhere)."""

    def __init__(self, enabled: bool, total: int, start: int) -> None:
        self.bar = None
        if enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

            self.bar = Progress(TextColumn("train"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                TimeRemainingColumn(), TextColumn("{task.description}"))
            self.bar.start()
            self.task = self.bar.add_task("", total=total, completed=start)

    def update(self, step: int, vals: dict[str, float]) -> None:
        if self.bar is not None:
            desc = " ".join(f"{k}={vals[k]:.3f}" for k in ("g", "d", "hole") if k in vals)
            self.bar.update(self.task, completed=step, description=desc)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


# --------------------------------------------------------------------------------------------- CLI


def parse_config(argv: list[str] | None) -> tuple[TrainConfig, bool, bool]:
    p = argparse.ArgumentParser(prog="python -m training.train", description="Train the inpainting generator (GAN).")
    p.add_argument("--config", type=Path, help="a config.json (TrainConfig); flags below override it")
    p.add_argument("--data", help="folder made by python -m training.prepare")
    p.add_argument("--run-dir")
    p.add_argument("--model", help="generator configuration: tiny | fast | paper (| *-original)")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--epochs", type=int)
    p.add_argument("--decay-epochs", type=int)
    p.add_argument("--steps-per-epoch", type=int)
    p.add_argument("--max-steps", type=int)
    p.add_argument("--time-budget-min", type=float)
    p.add_argument("--lr-g", type=float)
    p.add_argument("--lr-d", type=float)
    p.add_argument("--init", choices=["kaiming", "normal", "xavier", "orthogonal"])
    p.add_argument("--amp", choices=["none", "bf16", "fp16"])
    p.add_argument("--device", choices=["auto", "cpu", "cuda"])
    p.add_argument("--num-workers", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--vgg-weights", help="torchvision-layout VGG19 ImageNet state dict (vgg19-dcbb9e9d.pth)")
    p.add_argument("--no-vgg", action="store_true", help="train without the perceptual and style losses")
    p.add_argument("--no-resume", action="store_true", help="start over even if the run folder has a checkpoint")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                   help="any other TrainConfig field, e.g. losses.hole=4 log_every=10")
    a = p.parse_args(argv)
    cfg = TrainConfig.load(a.config) if a.config else TrainConfig()
    flag_map = {"data": "data", "run_dir": "run_dir", "model": "model", "batch_size": "batch_size",
                "epochs": "epochs", "decay_epochs": "decay_epochs", "steps_per_epoch": "steps_per_epoch",
                "max_steps": "max_steps", "time_budget_min": "time_budget_min", "lr_g": "lr_g", "lr_d": "lr_d",
                "init": "init", "amp": "amp", "device": "device", "num_workers": "num_workers", "seed": "seed",
                "vgg_weights": "vgg_weights"}
    changes = {field: getattr(a, arg) for arg, field in flag_map.items() if getattr(a, arg) is not None}
    if a.no_vgg:
        changes["no_vgg"] = True
    cfg = replace(cfg, **changes)
    cfg = apply_overrides(cfg, a.set)
    return cfg, not a.no_resume, not a.no_progress


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s",
                        handlers=[logging.StreamHandler(sys.stderr)])
    try:
        cfg, resume, show = parse_config(argv)
        if int(os.environ.get("RANK", "0")) != 0:
            logging.getLogger().setLevel(logging.WARNING)
        summary = run(cfg, resume=resume, show_progress=show)
    except UnmaskError as e:
        sys.stderr.write(f"error: {e}\n")
        return e.exit_code
    if summary:
        log.info("done: step %s in %.0f s, run folder %s", summary.get("step"), summary.get("wall_s", 0),
                 summary.get("run_dir"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
