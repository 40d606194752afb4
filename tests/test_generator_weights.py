"""Weights as safetensors: round trip, self-description, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from unmask_video.errors import InputError
from unmask_video.reconstruct.generator import create_generator
from unmask_video.reconstruct.generator.card import ModelCard
from unmask_video.reconstruct.generator.layers import init_weights
from unmask_video.reconstruct.generator.weights import (
    file_sha256,
    load_weights,
    read_card,
    read_config,
    read_metadata,
    save_weights,
)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _inputs(size: int = 64) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(1)
    image = torch.rand(2, 3, size, size, generator=g) * 2 - 1
    mask = torch.zeros(2, 1, size, size)
    mask[:, :, size // 2 :] = 1
    return image, mask, image.flip(-1), torch.ones(2, 1, size, size)


def _model(**overrides):
    torch.manual_seed(0)
    return init_weights(create_generator("tiny", **overrides), zero_heads=False).eval()


def _one_line(exc: pytest.ExceptionInfo) -> str:
    msg = str(exc.value)
    assert "\n" not in msg
    return msg


def test_round_trip_rebuilds_the_same_network(tmp_path: Path) -> None:
    model = _model(norm="batch")
    model.train()
    model(*_inputs())  # move the BatchNorm running statistics off their defaults
    model.eval()
    path = tmp_path / "g.safetensors"
    card = ModelCard(name="tiny", config="tiny", input_size=64, training_data="none", metrics={"psnr": 1.5})
    digest = save_weights(model, path, card=card)
    assert digest == file_sha256(path)
    loaded = load_weights(path)
    assert loaded.config == model.config and not loaded.training
    with torch.no_grad():
        assert torch.equal(loaded(*_inputs()).refined, model(*_inputs()).refined)
    assert read_config(path) == model.config
    assert read_card(path).metrics == {"psnr": 1.5}
    assert read_metadata(path)["format"].startswith("unmask-video-generator")
    assert path.read_bytes()[:8] != b"\x80\x02\x8a\nl\xfc\x9c"  # not a pickle: safetensors header
    json.loads(path.read_bytes()[8 : 8 + int.from_bytes(path.read_bytes()[:8], "little")])


def test_fp16_weights_file_loads_as_float32(tmp_path: Path) -> None:
    model = _model()
    path = tmp_path / "half.safetensors"
    save_weights(model.half(), path)
    assert next(iter(load_file(str(path)).values())).dtype == torch.float16
    loaded = load_weights(path)
    assert next(loaded.parameters()).dtype == torch.float32
    with torch.no_grad():
        diff = (loaded(*_inputs()).refined - model.float()(*_inputs()).refined).abs().max()
    assert diff < 0.05


def test_spectral_norm_is_stripped_on_save(tmp_path: Path) -> None:
    model = _model()
    conv = model.refine.enc[1].conv
    torch.nn.utils.parametrizations.spectral_norm(conv)
    model.eval()
    with torch.no_grad():
        expected = model(*_inputs()).refined
    path = tmp_path / "sn.safetensors"
    save_weights(model, path)
    assert not any("parametrizations" in k for k in load_file(str(path)))
    with torch.no_grad():
        assert torch.allclose(load_weights(path)(*_inputs()).refined, expected, atol=1e-5)


def test_missing_file_is_a_one_line_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError) as exc:
        load_weights(tmp_path / "nope.safetensors")
    assert "not found" in _one_line(exc)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "pickle"])
def test_corrupt_file_is_a_one_line_input_error(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "g.safetensors"
    save_weights(_model(), path)
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(b"\x13" * 64 + data[64:])
    else:
        torch.save(_model().state_dict(), path)
    with pytest.raises(InputError) as exc:
        load_weights(path)
    msg = _one_line(exc)
    assert str(path) in msg


def test_weights_that_do_not_match_their_config(tmp_path: Path) -> None:
    good = tmp_path / "g.safetensors"
    save_weights(_model(), good)
    meta = read_metadata(good)
    tensors = load_file(str(good))
    bad = tmp_path / "bad.safetensors"
    meta_wrong = dict(meta, config=create_generator("tiny", cnum=4).config.to_json())
    save_file(tensors, str(bad), metadata=meta_wrong)
    with pytest.raises(InputError) as exc:
        load_weights(bad)
    assert "do not match" in _one_line(exc) and "wrong shapes" in str(exc.value)
    missing = tmp_path / "missing.safetensors"
    save_file({k: v for k, v in tensors.items() if "head" not in k}, str(missing), metadata=meta)
    with pytest.raises(InputError) as exc:
        load_weights(missing)
    assert "missing" in _one_line(exc)


def test_foreign_safetensors_without_config(tmp_path: Path) -> None:
    path = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(3)}, str(path))
    with pytest.raises(InputError) as exc:
        load_weights(path)
    assert "no unmask-video generator config" in _one_line(exc)


def test_auto_runs_a_generator_only_when_its_card_records_a_win(tmp_path: Path, monkeypatch) -> None:
    from unmask_video.reconstruct import factory, neural
    from unmask_video.reconstruct.generator.card import beats_composite, quality_record

    lost = quality_record({"a": 20.0, "b": 24.0}, {"a": 20.5, "b": 21.0})  # +1.25 dB mean, but clip a loses 0.5 dB
    small = quality_record({"a": 20.6, "b": 21.2}, {"a": 20.5, "b": 21.0})  # better everywhere, by too little
    won = quality_record({"a": 21.3, "b": 22.3}, {"a": 20.5, "b": 21.0})
    assert not lost["beats_composite"] and not small["beats_composite"] and won["beats_composite"]
    forged = dict(lost, beats_composite=True)  # a verdict the figures do not support
    model = _model()
    monkeypatch.setattr(neural, "SHIPPED_DIR", tmp_path)
    monkeypatch.setattr(neural, "DEFAULT_GENERATOR", "tiny")
    for record, expected in (({}, False), (lost, False), (small, False), (forged, False), (won, True)):
        card = ModelCard(name="tiny", config="tiny", input_size=64, quality_benchmark=record)
        save_weights(model, tmp_path / "tiny.safetensors", card=card)
        assert beats_composite(read_card(tmp_path / "tiny.safetensors")) is expected
        assert (neural.resolve_weights("auto") is not None) is expected
        built = factory.build_reconstructor(factory.ReconstructorOptions(generator="auto", backend="torch"))
        assert ("auto" in built.name) is not expected, built.name  # the summary says the composite ran
        assert neural.resolve_weights("tiny") == tmp_path / "tiny.safetensors"  # asked by name: always runs


def test_shipped_cards_carry_no_absolute_paths_and_auto_follows_them() -> None:
    from unmask_video.reconstruct import neural
    from unmask_video.reconstruct.generator.card import beats_composite

    shipped = sorted(neural.SHIPPED_DIR.glob("*.safetensors"))
    assert shipped, f"no shipped weights in {neural.SHIPPED_DIR}"
    for path in shipped:
        meta = read_metadata(path)
        for text in [meta["card"], *(p.read_text() for p in neural.SHIPPED_DIR.glob("*.card.json"))]:
            assert "/work/" not in text and "/tmp/" not in text and "/home/" not in text
        if path.stem == neural.DEFAULT_GENERATOR:
            assert (neural.resolve_weights("auto") == path) is beats_composite(read_card(path))


def test_reading_a_card_does_not_import_torch() -> None:
    """``--generator auto`` reads the shipped weights' card on every run; when the card sends it to the composite,
    torch (seconds to import) must not be loaded for that header."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from unmask_video.reconstruct import neural\n"
        "from unmask_video.reconstruct.generator.weights import read_card\n"
        "path = neural.shipped_weights(neural.DEFAULT_GENERATOR)\n"
        "assert path is not None\n"
        "read_card(path)\n"
        "neural.resolve_weights('auto')\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stdout + out.stderr


def test_quality_card_records_the_benchmark_in_both_cards(tmp_path: Path) -> None:
    from training.quality_card import write_record
    from unmask_video.reconstruct.generator.card import beats_composite, quality_record

    model = _model()
    path = tmp_path / "tiny.safetensors"
    save_weights(model, path)
    sidecar = tmp_path / "tiny.card.json"
    sidecar.write_text(json.dumps({"name": "tiny", "sha256": file_sha256(path)}))
    before = load_file(str(path))
    record = quality_record({"a": 21.5, "b": 21.0}, {"a": 20.0, "b": 19.9}, frames_per_clip=5)
    write_record(path, record)
    assert read_card(path).quality_benchmark == record and beats_composite(read_card(path))
    after = load_file(str(path))
    assert all(torch.equal(before[k], after[k]) for k in before)  # the tensors are untouched
    full = json.loads(sidecar.read_text())
    assert full["quality_benchmark"] == record and full["sha256"] == file_sha256(path)
