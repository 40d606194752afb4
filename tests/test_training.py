"""The trainer: data preparation, pairs, losses with known answers, VGG loading, one-process training and resume.

Everything runs on the tiny generator at 64 px on faces made from skimage's astronaut (no shared data).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from training import losses as L
from training.augment import contrastive_augment, rotate_hue, simulate_second_photo
from training.config import TrainConfig, parse_command
from training.dataset import FacePairs, PairOptions
from training.discriminator import Discriminator
from training.evaluate import hole_metrics
from training.examples import write_example_faces, write_example_video
from training.prepare import PrepareOptions, prepare
from training.train import Dist, Trainer, lr_factor, main, run
from training.vgg import LAYERS, VGG19Features, VGGWeightsMissing, make_features
from unmask_video import landmark_sets as ls
from unmask_video.errors import InputError


@pytest.fixture(scope="module")
def faces(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("photos")
    write_example_faces(src, count=6, blank=1)
    out = tmp_path_factory.mktemp("prepared")
    report = prepare([src], out, PrepareOptions(size=64, val_fraction=0.3), progress=False)
    assert report.usable == 6 and report.no_face == 1
    return out


def tiny_cfg(data: Path, run_dir: Path, **kw) -> TrainConfig:
    base = dict(model="tiny", data=str(data), run_dir=str(run_dir), no_vgg=True, batch_size=2, num_workers=0,
                cpu_threads=1, disc_channels=8, log_every=1, sample_every=0, checkpoint_every=0, device="cpu")
    base.update(kw)
    return TrainConfig(**base)


# --------------------------------------------------------------------------------------------- data


def test_prepare_writes_aligned_crops_polygons_and_counts(faces: Path) -> None:
    m = json.loads((faces / "manifest.json").read_text())
    assert m["counts"]["usable"] == 6 and m["counts"]["unusable"] == 1 and m["counts"]["no_face"] == 1
    lms = np.load(faces / "landmarks.npy")
    assert lms.shape == (6, ls.NUM_LANDMARKS, 2)
    for f in m["faces"]:
        poly = np.asarray(f["mask_polygon"])
        assert poly.shape == (len(ls.MASK_REGION), 2)
        np.testing.assert_allclose(poly, lms[f["id"]][list(ls.MASK_REGION)], atol=0.01)
        assert (faces / f["image"]).is_file()
    # aligned: the eyes land at the same crop position in every variant (shifted, scaled, rotated, mirrored)
    eyes = lms[:, list(ls.LEFT_EYE_CORNERS + ls.RIGHT_EYE_CORNERS)].mean(1)
    assert eyes.std(0).max() < 1.5
    assert {f["split"] for f in m["faces"]} <= {"train", "val"}


def test_pairs_have_contract_shapes_and_a_useful_reference(faces: Path) -> None:
    ds = FacePairs(faces, "all", PairOptions(size=64), seed=0)
    s = ds.sample(0)
    hole = s["mask"] > 0.5
    assert s["target"].shape == (64, 64, 3) and s["mask"].shape == (64, 64)
    assert 0.1 < hole.mean() < 0.6
    assert np.array_equal(s["image"][~hole], s["target"][~hole])  # only the hole is covered
    # the simulated second photo, warped back, lands near the truth inside the face (much better than the hole fill)
    v = (s["ref_valid"] > 0.5) & hole
    assert v.mean() > 0.5 * hole.mean()
    err_ref = np.abs(s["reference"][v].astype(float) - s["target"][v]).mean()
    err_fill = np.abs(s["image"][v].astype(float) - s["target"][v]).mean()
    assert err_ref < 0.5 * err_fill
    t = ds[0]
    assert t["image"].shape == (3, 64, 64) and t["mask"].shape == (1, 64, 64)
    assert t["image"].min() >= -1 and t["image"].max() <= 1
    # deterministic per (seed, epoch, index); a new epoch draws a new pair
    assert np.array_equal(ds.sample(0)["mask"], s["mask"])
    ds.set_epoch(1)
    assert not np.array_equal(ds.sample(0)["mask"], s["mask"])


@pytest.fixture(scope="module")
def clip_faces(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A prepared folder from one example video: frames 0, 1 and 3, 4 (every 3rd frame and the one after it)."""
    src = tmp_path_factory.mktemp("clip")
    write_example_video(src / "clip.mp4", frames=6)
    out = tmp_path_factory.mktemp("prepared_clip")
    report = prepare([f"{src / 'clip.mp4'}@0-5"], out, PrepareOptions(size=96, video_every=3, video_frames=4),
                     progress=False)
    assert report.videos == 1 and report.photos == 4 and report.usable == 4
    return out


def test_video_frames_are_consecutive_pairs_of_one_person(clip_faces: Path) -> None:
    m = json.loads((clip_faces / "manifest.json").read_text())
    assert [f["frame"] for f in m["faces"]] == [0, 1, 3, 4]
    assert [f["next"] for f in m["faces"]] == [1, None, 3, None]
    assert len({f["person"] for f in m["faces"]}) == 1 and len({f["split"] for f in m["faces"]}) == 1
    assert m["framing"] == "face_neck"
    ds = FacePairs(clip_faces, "all", PairOptions(size=64, other_frame_prob=1.0))
    assert ds.by_person == {m["faces"][0]["person"]: [0, 1, 2, 3]}
    s = ds.sample(0)
    v = (s["ref_valid"] > 0.5) & (s["mask"] > 0.5)
    assert v.mean() > 0.1
    assert np.abs(s["reference"][v].astype(float) - s["target"][v]).mean() < 40  # another frame, warped: close


def test_composite_pairs_are_what_the_product_sees(clip_faces: Path) -> None:
    from training.composite_pairs import CompositePairOptions, CompositePairs
    from unmask_video.reconstruct.generator.networks import create_generator

    ds = CompositePairs(clip_faces, "all", CompositePairOptions(size=64, min_frame_gap=2), seed=3)
    assert len(ds) == 2  # frames 0 and 3 (their next frames exist)
    s = ds.sample(0)
    assert s["target"].shape == (2, 64, 64, 3) and s["mask"].shape == (2, 64, 64)
    hole = s["mask"] > 0.5
    assert 0.08 < hole.mean() < 0.6 and not np.array_equal(hole[0], hole[1])  # the mask moves with the face
    # the composite input: the masked frame outside the hole, rebuilt skin inside it, far better than the mask
    outside = ~(cv2.dilate(hole[0].astype(np.uint8), np.ones((9, 9), np.uint8)) > 0)
    assert np.abs(s["reference"][0][outside].astype(int) - s["image"][0][outside]).mean() < 2
    err_comp = np.abs(s["reference"][0][hole[0]].astype(int) - s["target"][0][hole[0]]).mean()
    err_masked = np.abs(s["image"][0][hole[0]].astype(int) - s["target"][0][hole[0]]).mean()
    assert err_comp < 0.5 * err_masked, (err_comp, err_masked)
    assert np.array_equal(ds.sample(0, epoch=0)["mask"], ds.sample(0, epoch=0)["mask"])  # seeded
    assert not np.array_equal(ds.sample(0, epoch=1)["mask"], s["mask"])
    t = ds[(0, 0)]
    assert t["image"].shape == (2, 3, 64, 64) and t["mask"].shape == (2, 1, 64, 64)
    # a fresh composite-correcting generator returns its composite input unchanged
    g = create_generator("tiny", base="composite").eval()
    with torch.no_grad():
        out = g(t["image"], t["mask"], t["reference"], t["ref_valid"]).refined
    assert torch.allclose(out, t["reference"], atol=1e-5)


def test_holes_reach_the_neck_and_keep_their_style_over_frames(clip_faces: Path) -> None:
    from training.holes import HoleStyle

    lm = np.load(clip_faces / "landmarks.npy")
    chin = lm[0][ls.CHIN]
    low = [HoleStyle.sample(np.random.default_rng(i)) for i in range(40)]
    reach = [np.nonzero(st.draw(lm[0], 96).any(axis=1))[0].max() - chin[1] for st in low]
    assert max(reach) > 8 and min(reach) < 6  # some holes go well under the chin, some stop near it
    style = low[0]
    a, b = style.draw(lm[0], 96), style.draw(lm[1], 96)
    assert np.array_equal(a, style.draw(lm[0], 96)) and 0.8 < a.sum() / b.sum() < 1.25


def test_composite_step_uses_feature_matching_colour_and_temporal_losses(tmp_path: Path, clip_faces: Path) -> None:
    from training.config import LossWeights

    cfg = tiny_cfg(clip_faces, tmp_path / "run", pairs="composite", model_overrides={"base": "composite"},
                   losses=LossWeights(contrastive=0.0, feature_matching=1.0, colour=1.0, temporal=1.0))
    trainer = Trainer(cfg, Dist("cpu", 1))
    from training.train import pair_maker

    ds = pair_maker(cfg, 64)("all", seed=1)
    batch = {k: torch.stack([ds[i][k] for i in range(2)]) for k in ds[0]}
    vals = trainer.train_step(batch)
    for key in ("fm", "colour", "temporal", "hole", "adv", "base_l1_01"):
        assert np.isfinite(vals[key]), key
    assert vals["fm"] > 0 and vals["colour"] > 0 and vals["temporal"] > 0
    assert abs(vals["hole_l1_01"] - vals["base_l1_01"]) < 1e-4  # a fresh network: exactly the composite


def test_colour_and_temporal_losses_known_values() -> None:
    target = torch.zeros(1, 3, 16, 16)
    mask = torch.zeros(1, 1, 16, 16)
    mask[..., 4:12, 4:12] = 1
    cast = target + 0.2 * mask  # a colour cast over the hole
    assert abs(float(L.colour_loss(cast, target, mask)) - 0.2) < 1e-5
    noise = target + 0.2 * mask * (torch.arange(16).view(1, 1, 1, 16) % 2 * 2 - 1)  # zero-mean texture
    assert float(L.colour_loss(noise, target, mask)) < 0.5 * float(L.colour_loss(cast, target, mask))
    moved = target + 0.1
    assert float(L.temporal(target, moved, target, moved, mask)) == 0.0  # the truth changed the same way
    assert abs(float(L.temporal(target, moved, target, target, mask)) - 0.1) < 1e-6  # flicker


def test_second_photo_moves_landmarks_with_the_image() -> None:
    from skimage.data import astronaut

    img = np.ascontiguousarray(astronaut()[40:300, 90:350])
    ys, xs = np.mgrid[40:220:10, 40:220:10]
    pts = np.stack([xs.ravel(), ys.ravel()], 1).astype(np.float32)
    full = np.zeros((ls.NUM_LANDMARKS, 2), np.float32)
    full[:] = pts[np.arange(ls.NUM_LANDMARKS) % len(pts)]
    rng = np.random.default_rng(3)
    out, moved = simulate_second_photo(img, full, rng)
    assert out.shape == img.shape and moved.shape == full.shape
    shift = np.linalg.norm(moved - full, axis=1)
    assert 0.5 < shift.mean() < 40


# --------------------------------------------------------------------------------------------- losses


def test_hinge_losses_known_values() -> None:
    assert L.d_hinge(torch.full((4, 3), 2.0), torch.full((4, 3), -2.0)).item() == 0.0
    assert L.d_hinge(torch.zeros(2, 5), torch.zeros(2, 5)).item() == pytest.approx(2.0)
    assert L.d_hinge(torch.full((1, 1), 0.5), torch.full((1, 1), 0.25)).item() == pytest.approx(0.5 + 1.25)
    assert L.g_hinge(torch.full((2, 2), 3.0)).item() == pytest.approx(-3.0)


def test_hole_and_valid_l1_known_values() -> None:
    target = torch.zeros(1, 3, 4, 4)
    out = torch.zeros(1, 3, 4, 4)
    mask = torch.zeros(1, 1, 4, 4)
    mask[..., :2, :] = 1  # top half is the hole
    out[..., :2, :] = 0.5
    out[..., 2:, :] = -0.25
    hole, valid = L.hole_valid_l1(out, target, mask)
    assert hole.item() == pytest.approx(0.5)
    assert valid.item() == pytest.approx(0.25)


def test_total_variation_known_values() -> None:
    assert L.total_variation(torch.ones(1, 3, 8, 8)).item() == 0.0
    checker = (torch.arange(8)[:, None] + torch.arange(8)[None, :]) % 2 * 2.0 - 1.0
    x = checker.expand(1, 3, 8, 8)
    assert L.total_variation(x).item() == pytest.approx(4.0)  # |+-2| horizontally and vertically
    ramp = torch.arange(8.0).expand(1, 1, 8, 8)  # +1 per column
    assert L.total_variation(ramp).item() == pytest.approx(1.0)
    region = torch.zeros(1, 1, 8, 8)
    assert L.total_variation(ramp, region).item() == 0.0


def test_gram_style_and_perceptual_known_values() -> None:
    f = torch.ones(1, 2, 2, 2)  # two constant channels
    g = L.gram(f)
    assert torch.allclose(g, torch.full((1, 2, 2), 4.0 / 8.0))
    feats = [torch.randn(2, 4, 8, 8), torch.randn(2, 8, 4, 4)]
    assert L.style(feats, feats).item() == 0.0
    assert L.perceptual(feats, feats).item() == 0.0
    shifted = [x + 0.5 for x in feats]
    assert L.perceptual(shifted, feats).item() == pytest.approx(1.0)  # 0.5 per layer, two layers


def test_info_nce_known_values() -> None:
    b, tau = 4, 0.5
    z = torch.eye(b, 8)
    expected = -math.log(math.exp(1 / tau) / (math.exp(1 / tau) + (b - 1)))
    assert L.info_nce(z, z, tau).item() == pytest.approx(expected, rel=1e-5)
    # matching the wrong partner is worse; scale of the features does not matter
    assert L.info_nce(z, z.roll(1, 0), tau).item() > expected + 1
    assert L.info_nce(3 * z, z, tau).item() == pytest.approx(expected, rel=1e-5)


def test_contrastive_augment_flips_maps_and_keeps_grey_under_hue() -> None:
    g = torch.Generator().manual_seed(0)
    img = torch.linspace(-1, 1, 16).expand(2, 3, 16, 16).clone()
    mask = torch.zeros(2, 1, 16, 16)
    mask[..., :4] = 1
    out = contrastive_augment({"image": img, "mask": mask}, g)
    assert torch.equal(out["mask"], mask.flip(-1))  # horizontal flip with p=1, maps get only the flip
    assert out["image"].min() >= -1 and out["image"].max() <= 1
    x = torch.rand(3, 3, 5, 5)
    assert torch.allclose(rotate_hue(x, torch.full((3,), 2 * math.pi)), x, atol=1e-5)
    grey = torch.full((1, 3, 4, 4), 0.4)
    assert torch.allclose(rotate_hue(grey, torch.tensor([1.0])), grey, atol=1e-5)


def test_discriminator_six_sn_blocks() -> None:
    d = Discriminator(8)
    convs = [m for m in d.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 6
    assert all(c.kernel_size == (5, 5) and c.stride == (2, 2) for c in convs)
    assert all(hasattr(c, "parametrizations") and "weight" in c.parametrizations for c in convs)
    assert d(torch.zeros(2, 3, 64, 64), torch.zeros(2, 1, 64, 64)).shape == (2, 32)


def test_lr_schedule_constant_then_linear_decay() -> None:
    assert lr_factor(0, 10, 15, 5) == 1.0
    assert lr_factor(99, 10, 15, 5) == 1.0
    assert lr_factor(125, 10, 15, 5) == pytest.approx(0.5)
    assert lr_factor(150, 10, 15, 5) == 0.0


def test_hole_metrics_known_values() -> None:
    truth = np.full((16, 16, 3), 100, np.uint8)
    hole = np.zeros((16, 16), bool)
    hole[4:12, 4:12] = True
    l1, psnr, ssim = hole_metrics(truth, truth, hole)
    assert l1 == 0 and psnr >= 99 and ssim == pytest.approx(1.0)
    off = truth.copy()
    off[hole] += 51  # 0.2 of the range
    l1, psnr, _ = hole_metrics(off, truth, hole)
    assert l1 == pytest.approx(0.2) and psnr == pytest.approx(20 * math.log10(1 / 0.2), abs=1e-6)


def test_config_file_then_generated_flags(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    cfg, resume, progress = parse_command(["--losses.hole", "4", "--batch-size", "3", "--model-overrides", "cnum", "4",
                                           "--pairs", "composite", "--no-resume"])
    assert cfg.losses.hole == 4 and cfg.batch_size == 3 and cfg.model_overrides == {"cnum": 4}
    assert cfg.pairs == "composite" and not resume and progress
    cfg.save(tmp_path / "c.json")
    assert TrainConfig.load(tmp_path / "c.json") == cfg
    again, _, _ = parse_command(["--config", str(tmp_path / "c.json"), "--lr-g", "0.002"])  # the file, then a flag
    assert again.losses.hole == 4 and again.batch_size == 3 and again.lr_g == 0.002
    for bad in (["--no-such-key", "1"], ["--amp", "fp8"], ["--set", "batch_size=3"]):
        with pytest.raises(SystemExit):
            parse_command(bad)
    capsys.readouterr()


# --------------------------------------------------------------------------------------------- VGG


@pytest.fixture(scope="module")
def vgg_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised VGG19 in torchvision's state-dict layout (the real ImageNet file is not here)."""
    with torch.device("meta"):
        shapes = {k: v.shape for k, v in make_features(len(make_features(99)) - 1).state_dict().items()}
    g = torch.Generator().manual_seed(0)
    state = {f"features.{k}": torch.randn(s, generator=g) * (0.05 if k.endswith("weight") else 0.01)
             for k, s in shapes.items()}
    state["classifier.0.weight"] = torch.zeros(2, 2)  # the rest of torchvision's file is ignored
    path = tmp_path_factory.mktemp("hub") / "vgg19-dcbb9e9d.pth"
    torch.save(state, path)
    return path


def test_vgg_loads_torchvision_layout(vgg_file: Path) -> None:
    state = torch.load(vgg_file, weights_only=True)
    vgg = VGG19Features(vgg_file)
    assert torch.equal(vgg.features[0].weight, state["features.0.weight"])
    assert torch.equal(vgg.features[28].bias, state["features.28.bias"])
    out = vgg(torch.zeros(1, 3, 32, 32))
    assert [o.shape[1] for o in out] == [64, 128, 256, 512, 512] and len(out) == len(LAYERS)
    assert not any(p.requires_grad for p in vgg.parameters())


def test_vgg_missing_weights_error_and_no_vgg_flag(tmp_path: Path, faces: Path, monkeypatch,
                                                   capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty_hub"))
    with pytest.raises(VGGWeightsMissing, match="--no-vgg"):
        VGG19Features(None)
    with pytest.raises(InputError, match="does not exist"):
        VGG19Features(tmp_path / "nope.pth")
    run_dir = tmp_path / "run"
    args = ["--data", str(faces), "--run-dir", str(run_dir), "--model", "tiny", "--batch-size", "2",
            "--max-steps", "1", "--num-workers", "0", "--no-progress", "--device", "cpu",
            "--disc-channels", "8", "--cpu-threads", "1", "--log-every", "1"]
    assert main(args) == 2  # no weights, no flag: a one-line error, nothing trained
    err = capsys.readouterr().err
    assert "VGG19 ImageNet weights not found" in err and "--no-vgg" in err
    assert not (run_dir / "checkpoints").exists()
    assert main(args + ["--no-vgg"]) == 0
    info = json.loads((run_dir / "run.json").read_text())
    assert info["vgg"].startswith("disabled")
    assert info["effective_loss_weights"]["perceptual"] == 0 and info["effective_loss_weights"]["style"] == 0
    assert json.loads((run_dir / "config.json").read_text())["no_vgg"] is True


def test_training_with_vgg_weights_uses_both_terms(tmp_path: Path, faces: Path, vgg_file: Path) -> None:
    cfg = tiny_cfg(faces, tmp_path / "run", no_vgg=False, vgg_weights=str(vgg_file))
    trainer = Trainer(cfg, Dist("cpu", 1))
    ds = FacePairs(faces, "all", PairOptions(size=64))
    batch = {k: torch.stack([ds[i][k] for i in range(2)]) for k in ds[0]}
    vals = trainer.train_step(batch)
    assert vals["perceptual"] > 0 and vals["style"] > 0


# --------------------------------------------------------------------------------------------- training


def test_loss_falls_on_a_fixed_batch(tmp_path: Path, faces: Path) -> None:
    # contrastive off: its random augmentation would change the batch every step
    from training.config import LossWeights

    torch.manual_seed(0)
    cfg = tiny_cfg(faces, tmp_path / "run", lr_g=1e-3, beta1=0.9, losses=LossWeights(contrastive=0.0))
    trainer = Trainer(cfg, Dist("cpu", 1))
    ds = FacePairs(faces, "all", PairOptions(size=64), seed=1)
    batch = {k: torch.stack([ds[i][k] for i in range(4)]) for k in ds[0]}
    hole, d = [], []
    for _ in range(15):
        v = trainer.train_step(batch)
        hole.append(v["hole"])
        d.append(v["d"])
    assert np.mean(hole[-3:]) < 0.9 * np.mean(hole[:3]), hole
    assert trainer.step == 15 and np.isfinite(hole + d).all()


def test_one_process_run_and_resume_continue_where_they_stopped(tmp_path: Path, faces: Path) -> None:
    run_dir = tmp_path / "run"
    cfg = tiny_cfg(faces, run_dir, max_steps=2, checkpoint_every=1, sample_every=2)
    summary = run(cfg, show_progress=False)
    assert summary["step"] == 2
    ck = torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)
    assert ck["step"] == 2 and json.loads(ck["generator_config"])["name"] == "tiny"
    assert (run_dir / "generator_ema.safetensors").is_file() and (run_dir / "loss_curves.png").is_file()
    assert list((run_dir / "samples").glob("step_*.png"))
    first_g = ck["generator"]

    from dataclasses import replace

    trainer_seen: dict[str, int] = {}
    import training.train as tt

    orig = tt.Trainer.load

    def spy(self, ckpt, scheds):  # record where the resumed run starts, and that it starts from the saved weights
        orig(self, ckpt, scheds)
        trainer_seen["step"] = self.step
        trainer_seen["same"] = all(torch.equal(self.g.state_dict()[k], first_g[k]) for k in first_g)

    tt.Trainer.load = spy
    try:
        summary = run(replace(cfg, max_steps=4), show_progress=False)
    finally:
        tt.Trainer.load = orig
    assert trainer_seen == {"step": 2, "same": True}
    assert summary["step"] == 4
    steps = [int(r["step"]) for r in csv.DictReader((run_dir / "losses.csv").open())]
    assert steps == [1, 2, 3, 4]
    resumed = torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)
    assert resumed["step"] == 4
    sessions = json.loads((run_dir / "run.json").read_text())["sessions"]
    assert [(s["from_step"], s["to_step"]) for s in sessions] == [(0, 2), (2, 4)]
    # exactly: the same weights as a run of 4 steps that was never interrupted
    straight = run(replace(cfg, max_steps=4, run_dir=str(tmp_path / "straight")), show_progress=False)
    assert straight["step"] == 4
    whole = torch.load(tmp_path / "straight" / "checkpoints" / "last.pt", weights_only=True)
    for key in ("generator", "discriminator"):
        for name, value in whole[key].items():
            assert torch.allclose(resumed[key][name], value, atol=1e-6), (key, name)


def test_exported_ema_generator_loads_in_the_product(tmp_path: Path, faces: Path) -> None:
    from training.export import generator_from_checkpoint, save_generator
    from unmask_video.reconstruct.generator.weights import load_weights

    run(tiny_cfg(faces, tmp_path / "run", max_steps=1), show_progress=False)
    g = generator_from_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")
    save_generator(g, tmp_path / "g16.safetensors", half=True)
    from safetensors.torch import load_file

    stored = load_file(str(tmp_path / "g16.safetensors"))
    assert all(v.dtype == torch.float16 for v in stored.values() if v.is_floating_point())
    back = load_weights(tmp_path / "g16.safetensors")  # rebuilt from the file alone
    for k, v in g.state_dict().items():
        torch.testing.assert_close(back.state_dict()[k].float(), v, atol=2e-3, rtol=2e-3)


def test_bf16_autocast_step_runs_and_fp16_needs_cuda(tmp_path: Path, faces: Path) -> None:
    ds = FacePairs(faces, "all", PairOptions(size=64))
    batch = {k: torch.stack([ds[i][k] for i in range(2)]) for k in ds[0]}
    trainer = Trainer(tiny_cfg(faces, tmp_path / "run", amp="bf16"), Dist("cpu", 1))
    vals = trainer.train_step(batch)
    assert all(np.isfinite(v) for v in vals.values())
    assert all(p.dtype == torch.float32 for p in trainer.g.parameters())  # master weights stay fp32
    if not torch.cuda.is_available():
        trainer = Trainer(tiny_cfg(faces, tmp_path / "run2", amp="fp16"), Dist("cpu", 1))
        with pytest.raises(InputError, match="fp16 needs a CUDA device"):
            trainer.train_step(batch)


@pytest.mark.parametrize("kind", ["kaiming", "normal", "xavier", "orthogonal"])
def test_initialisation_options(kind: str) -> None:
    from training.config import TrainConfig
    from training.discriminator import init_discriminator
    from training.train import build_generator

    torch.manual_seed(0)
    g = build_generator(TrainConfig(model="tiny", init=kind))
    d = Discriminator(8)
    init_discriminator(d, kind)
    w = d.net[0].parametrizations.weight.original
    if kind == "normal":
        assert abs(float(w.detach().std()) - 0.02) < 0.005
    if kind == "orthogonal":
        flat = w.detach().reshape(w.shape[0], -1)
        torch.testing.assert_close(flat @ flat.t(), torch.eye(w.shape[0]), atol=1e-4, rtol=0)
    assert all(torch.isfinite(p).all() for p in g.parameters())
    with pytest.raises(ValueError):
        init_discriminator(d, "uniform")


def test_loader_workers_survive_epochs_and_draw_new_pairs(tmp_path: Path, faces: Path) -> None:
    # one spawned, persistent worker across several passes over the data; (epoch, index) reaches it
    cfg = tiny_cfg(faces, tmp_path / "run", num_workers=1, max_steps=7)
    assert run(cfg, show_progress=False)["step"] == 7
    ds = FacePairs(faces, "all", PairOptions(size=64))
    a, b = ds[(0, 1)], ds[(1, 1)]
    assert not torch.equal(a["mask"], b["mask"])
    assert torch.equal(ds[(1, 1)]["mask"], b["mask"])


def test_cards_record_portable_paths() -> None:
    from training.ship import portable

    assert portable("/work/shared/data/faces/fmd") == "shared/data/faces/fmd"
    assert portable("/home/someone/data/videos/talking") == "videos/talking"
    assert portable("/tmp/gen/data192") == "gen/data192"
