"""The GAN trainer: one process, or DistributedDataParallel under torchrun.

    python -m training.train --data /tmp/faces --run-dir runs/fast --model fast --no-vgg
    python -m training.train --config runs/fast/config.json --losses.hole 4        # a file, then overrides
    torchrun --standalone --nproc_per_node 4 -m training.train --config runs/fast/config.json

Every :class:`~training.config.TrainConfig` field is a flag (``--help`` lists them); ``--config FILE`` sets the
defaults. The run folder's books (config, sessions, loss log, samples, checkpoints) are :mod:`training.run_folder`.
Starting again with the same run folder resumes exactly from its last checkpoint unless ``--no-resume``.
"""

from __future__ import annotations

import json
import logging
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
from training.config import TrainConfig, parse_command
from training.dataset import FacePairs, PairOptions, worker_init
from training.discriminator import Discriminator, init_discriminator
from training.ema import EMA
from training.run_folder import RunFolder, load_checkpoint, write_samples

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

    def resume(self, ckpt: dict[str, Any], scheds: list, path: Path) -> None:
        """Continue exactly where ``ckpt`` stopped (weights, EMA, optimisers, schedulers, scalers, step)."""
        if json.loads(ckpt["generator_config"]) != json.loads(self.gen_config.to_json()):
            raise InputError(f"{path} holds a different generator configuration; use another --run-dir or "
                             "--no-resume")
        self.load(ckpt, scheds)
        if self.world.main:
            log.info("resumed from %s at step %d", path, self.step)

    def init_generator(self, path: str) -> None:
        """Start the generator (and its EMA) from the weights of another run: a training checkpoint (its EMA
        generator) or a .safetensors file of the same configuration."""
        if path.endswith(".safetensors"):
            from safetensors.torch import load_file

            state = load_file(path)
        else:
            state = load_checkpoint(Path(path))["generator_ema"]
        self.g.load_state_dict(state)
        if self.ema is not None:
            self.ema.model.load_state_dict(state)
        if self.world.main:
            log.info("generator initialised from %s", path)

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
            # random states, so a resumed run draws what the uninterrupted run would have drawn
            "rng_torch": torch.get_rng_state(),
            "rng_aug": self.aug_gen.get_state(),
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
        if "rng_torch" in ckpt:  # checkpoints of older trainers lack them
            torch.set_rng_state(ckpt["rng_torch"])
            self.aug_gen.set_state(ckpt["rng_aug"])


# --------------------------------------------------------------------------------------------- the loop


def run(cfg: TrainConfig, resume: bool = True, show_progress: bool = True) -> dict[str, Any]:
    """Train; returns a summary (rank 0) with the final step, wall time and the last losses."""
    world = Dist(cfg.device, cfg.cpu_threads)
    try:
        return _run(cfg, world, resume, show_progress)
    finally:
        world.close()


def _run(cfg: TrainConfig, world: Dist, resume: bool, show_progress: bool) -> dict[str, Any]:
    if not cfg.data:
        raise InputError("no training data: pass --data FOLDER (made by python -m training.prepare)")
    folder = RunFolder(cfg.run_dir)
    trainer = Trainer(cfg, world)
    make_pairs = pair_maker(cfg, trainer.size)
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
    total = min(cfg.epochs * spe, cfg.max_steps) if cfg.max_steps else cfg.epochs * spe
    factor = lambda s: lr_factor(s, spe, cfg.epochs, cfg.decay_epochs)  # noqa: E731
    scheds = [torch.optim.lr_scheduler.LambdaLR(o, factor) for o in (trainer.opt_g, trainer.opt_d)]
    if resume and folder.checkpoint.is_file():
        trainer.resume(load_checkpoint(folder.checkpoint), scheds, folder.checkpoint)
    elif cfg.init_from:
        trainer.init_generator(cfg.init_from)
    sample_batch = None
    if world.main:
        folder.start_session(cfg.to_json(), session_info(cfg, trainer, world, len(train_set), spe, total),
                             trainer.step, world.world, str(world.device))
        folder.open_log(trainer.step)
        try:
            val = make_pairs("val", seed=cfg.seed + 1, deterministic=True, limit=8)
        except ValueError:  # no held-out faces: show training faces
            val = make_pairs("train", seed=cfg.seed + 1, deterministic=True, limit=8)
        sample_batch = {k: torch.stack([val[i][k] for i in range(len(val))]) for k in val[0]}
    t0 = last_t = time.time()
    last_step = trainer.step
    acc: dict[str, list[float]] = {}
    summary: dict[str, Any] = {}
    progress = _Progress(show_progress and world.main, total, trainer.step)
    stop = trainer.step >= total
    try:
        while not stop:
            sampler.set_epoch(*divmod(trainer.step, full_epoch))  # passes over the data, resumable mid-pass
            for batch in loader:
                vals = trainer.train_step(batch)
                for sched in scheds:
                    sched.step()
                for k, v in vals.items():
                    acc.setdefault(k, []).append(v)
                step = trainer.step
                progress.update(step, vals)
                if world.main and (step % cfg.log_every == 0 or step == total):
                    now = time.time()
                    row = {"step": step, "epoch": step / spe, "lr_g": scheds[0].get_last_lr()[0],
                           "sec_per_step": (now - last_t) / max(1, step - last_step), "time": now - t0}
                    row.update({k: float(np.mean(v)) for k, v in acc.items()})
                    folder.log(row)
                    summary["last"], last_t, last_step = row, now, step
                    acc.clear()
                if world.main and cfg.sample_every and step % cfg.sample_every == 0:
                    write_samples(trainer.ema.model, sample_batch, folder.sample_path(step), trainer.device)
                out_of_time = cfg.time_budget_min > 0 and (time.time() - t0) > cfg.time_budget_min * 60
                stop = step >= total or world.any(out_of_time)
                if stop:
                    break
                if cfg.checkpoint_every and step % cfg.checkpoint_every == 0:
                    _checkpoint(trainer, folder, scheds, step / spe, world)
    finally:
        progress.close()
        folder.close_log()
    _checkpoint(trainer, folder, scheds, trainer.step / spe, world)
    if world.main:
        from training.export import save_generator

        save_generator(trainer.ema.model, folder.path / "generator_ema.safetensors", half=False,
                       extra={"step": str(trainer.step)})
        write_samples(trainer.ema.model, sample_batch, folder.sample_path(trainer.step), trainer.device)
        wall = folder.finish_session(trainer.step)
        summary.update(step=trainer.step, wall_s=wall, run_dir=str(folder.path))
    world.barrier()
    return summary


def session_info(cfg: TrainConfig, trainer: Trainer, world: Dist, faces: int, spe: int, total: int) -> dict[str, Any]:
    """What run.json records about this session's machine, model and plan."""
    cuda = world.device.type == "cuda"
    return {
        "world_size": world.world,
        "device": str(world.device),
        "device_name": torch.cuda.get_device_name(world.device) if cuda else platform.processor() or platform.machine(),
        "cpu_threads_per_process": torch.get_num_threads(),
        "torch": torch.__version__,
        "generator_config": json.loads(trainer.gen_config.to_json()),
        "vgg": "disabled (--no-vgg): perceptual and style losses not used" if cfg.no_vgg else trainer.vgg.source,
        "effective_loss_weights": vars(trainer.w),
        "train_faces": faces,
        "steps_per_epoch": spe,
        "planned_steps": total,
    }


def _checkpoint(trainer: Trainer, folder: RunFolder, scheds: list, epoch: float, world: Dist) -> None:
    if world.main:
        folder.save(trainer.state(epoch, scheds))
    world.barrier()


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


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s",
                        handlers=[logging.StreamHandler(sys.stderr)])
    try:
        cfg, resume, show = parse_command(argv)
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
