"""The generator network: shapes, value ranges, the hole contract, both variants, registry, init, cards."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from unmask_video.reconstruct.generator import REGISTRY, GeneratorConfig, create_generator, get_config
from unmask_video.reconstruct.generator.card import model_card
from unmask_video.reconstruct.generator.layers import INIT_KINDS, ZeroInit, init_weights
from unmask_video.reconstruct.generator.networks import count_parameters, meta_generator


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _inputs(size: int, batch: int = 2, seed: int = 0) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    image = torch.rand(batch, 3, size, size, generator=g) * 2 - 1
    reference = torch.rand(batch, 3, size, size, generator=g) * 2 - 1
    mask = torch.zeros(batch, 1, size, size)
    mask[:, :, size // 2 : size - 4, size // 5 : size - size // 5] = 1
    valid = torch.ones(batch, 1, size, size)
    valid[:, :, :, : size // 8] = 0
    return image, mask, reference, valid


def _random(name: str, **overrides) -> torch.nn.Module:
    torch.manual_seed(0)
    return init_weights(create_generator(name, **overrides), "kaiming", zero_heads=False).eval()


def _check_output(out, batch: int, size: int) -> None:
    for t in (out.coarse, out.refined):
        assert t.shape == (batch, 3, size, size)
        assert torch.isfinite(t).all()
        assert t.min() >= -1 and t.max() <= 1
    assert out.feature.shape == (batch, 512)
    assert torch.isfinite(out.feature).all()


@pytest.mark.parametrize("name", ["tiny", "tiny-original", "fast", "fast-original"])
def test_shapes_and_ranges(name: str) -> None:
    model = _random(name)
    s = model.config.size
    with torch.no_grad():
        _check_output(model(*_inputs(s)), 2, s)
        _check_output(model(*_inputs(s)[:2]), 2, s)  # no reference at all


def test_paper_shapes_at_reduced_size_and_full_size_on_meta() -> None:
    model = _random("paper", size=32)
    with torch.no_grad():
        _check_output(model(*_inputs(32, batch=1)), 1, 32)
    meta = meta_generator(get_config("paper"))
    out = meta(*(t.to("meta") for t in _inputs(256, batch=1)))
    assert out.refined.shape == (1, 3, 256, 256) and out.feature.shape == (1, 512)


def test_paper_card_figures() -> None:
    card = model_card("paper")
    assert 35e6 <= card.parameters <= 40e6  # the method's ~37M
    assert 100e9 <= card.flops <= 125e9  # the method's ~112 GFLOPs (2 x MACs)
    fast = model_card("fast")
    assert fast.parameters < card.parameters / 20 and fast.flops < card.flops / 100
    assert fast.input_size == 96 and fast.conditioned


@pytest.mark.parametrize("name", ["tiny", "tiny-original"])
def test_network_zeroes_the_hole_itself(name: str) -> None:
    model = _random(name)
    image, mask, reference, valid = _inputs(64)
    other = image.clone()
    other[mask.expand_as(image) > 0] = 0.9  # change only what is inside the hole
    with torch.no_grad():
        a, b = model(image, mask, reference, valid), model(other, mask, reference, valid)
    assert torch.equal(a.refined, b.refined) and torch.equal(a.coarse, b.coarse)


def test_fresh_conditioned_generator_passes_the_reference_through() -> None:
    model = create_generator("tiny").eval()
    image, mask, reference, valid = _inputs(64)
    with torch.no_grad():
        out = model(image, mask, reference, valid).refined
    v = valid.expand_as(reference) > 0
    assert torch.allclose(out[v], reference[v], atol=1e-6)
    assert torch.allclose(out[~v], torch.zeros_like(out[~v]))


def test_original_variant_sees_the_reference_only_inside_the_hole_where_valid() -> None:
    model = _random("tiny-original")
    image, mask, reference, valid = _inputs(64)
    outside = reference.clone()
    outside[(mask.expand_as(reference) == 0)] = -0.7
    inside = reference.clone()
    inside[(mask.expand_as(reference) > 0) & (valid.expand_as(reference) > 0)] = 0.3
    with torch.no_grad():
        base = model(image, mask, reference, valid).refined
        same = model(image, mask, outside, valid).refined
        changed = model(image, mask, inside, valid).refined
    assert torch.equal(base, same)
    assert (base - changed).abs().max() > 1e-5


def test_conditioned_variant_uses_the_reference_everywhere_valid() -> None:
    model = _random("tiny")
    image, mask, reference, valid = _inputs(64)
    outside = reference.clone()
    outside[(mask.expand_as(reference) == 0)] = -0.7
    with torch.no_grad():
        a = model(image, mask, reference, valid).refined
        b = model(image, mask, outside, valid).refined
    assert (a - b).abs().max() > 1e-3
    assert model.config.in_channels == 8 and create_generator("tiny-original").config.in_channels == 4


def test_registry_names_overrides_and_config_json() -> None:
    for name in ("paper", "fast", "tiny", "paper-original", "fast-original", "tiny-original"):
        assert name in REGISTRY
    assert REGISTRY["fast"].conditioned and not REGISTRY["fast-original"].conditioned
    assert create_generator("tiny", conditioned=False).config.in_channels == 4
    with pytest.raises(ValueError, match="unknown generator"):
        create_generator("huge")
    with pytest.raises(ValueError, match="unknown generator config fields"):
        create_generator("tiny", widht=3)
    with pytest.raises(ValueError, match="multiple of 16"):
        get_config("tiny", size=50)
    cfg = get_config("fast", cnum=12)
    assert GeneratorConfig.from_json(cfg.to_json()) == cfg
    model = create_generator(cfg)
    assert model.config == cfg and count_parameters(model) > count_parameters(create_generator("fast"))


@pytest.mark.parametrize("kind", INIT_KINDS)
def test_init_weights_kinds(kind: str) -> None:
    model = create_generator("tiny")
    conv = model.coarse.encoder[0].block.conv
    before = conv.weight.detach().clone()
    init_weights(model, kind)
    assert not torch.equal(before, conv.weight)
    assert conv.weight.std() > 0
    heads = [m for m in model.modules() if isinstance(m, ZeroInit)]
    assert heads and all(float(m.weight.detach().abs().max()) == 0 for m in heads)
    init_weights(model, kind, zero_heads=False)
    assert all(float(m.weight.detach().abs().max()) > 0 for m in heads)


def test_init_weights_rejects_unknown_kind() -> None:
    with pytest.raises(ValueError, match="unknown init"):
        init_weights(create_generator("tiny"), "uniformish")


def test_batchnorm_option_trains_and_evaluates() -> None:
    model = _random("tiny", norm="batch").train()
    out = model(*_inputs(64))
    (out.refined.mean() + out.coarse.mean() + out.feature.mean()).backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert len(grads) > 0.9 * len(list(model.parameters()))
    assert dataclasses.replace(model.config).norm == "batch"


# --------------------------------------------------------------------------------------------- benchmarks.gpu


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has CUDA: the benchmark would run")
def test_gpu_benchmark_without_cuda_exits_with_one_line() -> None:
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-m", "benchmarks.gpu"], cwd=root, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "CUDA" in lines[0], done.stderr


def test_gpu_benchmark_parts_run_on_the_cpu() -> None:
    # the parts the CUDA run uses, exercised here on the CPU with the tiny configuration
    import json

    from benchmarks import gpu

    lat = gpu.generator_latency("tiny", (1, 2), device="cpu", fp16=False, repeats=2)
    assert lat["crop"] == 64 and all(v["ms_per_crop"] > 0 for v in lat["batches"].values())
    burst = gpu.training_burst("tiny", batch=2, steps=1, device="cpu", amp="none")
    assert burst["crops_per_step"] == 4 and burst["crops_per_s"] > 0
    report: dict = {}
    gpu._part(report, "broken", lambda: 1 / 0)
    assert report["broken"]["error"].startswith("ZeroDivisionError") and json.dumps(report)
