"""Backends (``--backend`` choices and errors, torch vs onnxruntime agreement) and the
GeneratorReconstructor on a real FaceMesh face."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from unmask_video.errors import InputError
from unmask_video.reconstruct.generator import create_generator
from unmask_video.reconstruct.backends import BACKEND_CHOICES, select_backend
from unmask_video.reconstruct.generator.parity import sample_inputs
from unmask_video.reconstruct.generator.layers import init_weights
from unmask_video.reconstruct.neural import GeneratorReconstructor, resolve_weights
from unmask_video.reconstruct.generator.weights import save_weights
from unmask_video.landmark_sets import MASK_REGION
from unmask_video.stages import Box, FaceROI

NO_CUDA = not torch.cuda.is_available()
NO_TENSORRT = importlib.util.find_spec("tensorrt") is None or NO_CUDA


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def random_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Freshly initialised tiny weights with every path active (heads and attention randomised)."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("w") / "tiny.safetensors"
    save_weights(init_weights(create_generator("tiny"), zero_heads=False), path)
    return path


@pytest.fixture(scope="module")
def fresh_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Freshly initialised tiny weights as created (zero heads: a pass-through of the reference)."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("w") / "fresh.safetensors"
    save_weights(create_generator("tiny"), path)
    return path


def test_choices() -> None:
    assert BACKEND_CHOICES == ("auto", "torch", "onnxruntime", "tensorrt")


def test_unknown_backend_and_device_are_input_errors(random_weights: Path) -> None:
    with pytest.raises(InputError, match="unknown --backend 'openvino'"):
        select_backend("openvino", random_weights)
    with pytest.raises(InputError, match="unknown --device"):
        select_backend("torch", random_weights, device="tpu")


def test_missing_weights_are_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        select_backend("onnxruntime", tmp_path / "none.safetensors")
    with pytest.raises(InputError, match="neither a known generator"):
        resolve_weights(str(tmp_path / "none.safetensors"))


@pytest.mark.skipif(not NO_CUDA, reason="this machine has CUDA")
def test_cuda_device_without_cuda_is_an_input_error(random_weights: Path) -> None:
    with pytest.raises(InputError, match="no CUDA GPU"):
        select_backend("torch", random_weights, device="cuda")


@pytest.mark.skipif(not NO_TENSORRT, reason="TensorRT and CUDA are present")
def test_tensorrt_without_tensorrt_is_a_clear_input_error(random_weights: Path) -> None:
    with pytest.raises(InputError) as exc:
        select_backend("tensorrt", random_weights)
    msg = str(exc.value)
    assert "tensorrt" in msg.lower() and "--backend onnxruntime" in msg and "\n" not in msg


def test_torch_and_onnxruntime_agree(random_weights: Path) -> None:
    a = select_backend("torch", random_weights, device="cpu")
    b = select_backend("onnxruntime", random_weights, device="cpu", threads=1)
    assert a.name == "torch" and "CPU" in a.provider
    assert b.name == "onnxruntime" and b.provider.startswith("onnxruntime") and "CPU" in b.provider
    inputs = sample_inputs(64, batch=3, seed=11)
    args = [inputs[k] for k in ("image", "mask", "reference", "ref_valid")]
    out_a, out_b = a.run(*args), b.run(*args)
    assert out_a.shape == out_b.shape == (3, 3, 64, 64) and out_a.dtype == out_b.dtype == np.float32
    assert np.abs(out_a - out_b).max() < 1e-4
    assert -1 <= out_a.min() and out_a.max() <= 1 and out_a.std() > 0.01


@pytest.mark.skipif(not NO_CUDA, reason="with CUDA, auto picks a GPU backend")
def test_auto_on_a_cpu_machine_is_onnxruntime_cpu(random_weights: Path) -> None:
    backend = select_backend("auto", random_weights, threads=1)
    assert backend.name == "onnxruntime" and backend.provider.endswith("CPU (1 threads)")
    rec = GeneratorReconstructor.from_weights(random_weights, backend="auto", threads=1)
    assert rec.provider.startswith("onnxruntime: ") and rec.name == "tiny"


def _face(astronaut: np.ndarray, landmarks: np.ndarray, shift: int = 0) -> FaceROI:
    box = Box(140 + shift, 50, 310 + shift, 210)
    image = astronaut[box.slices].copy()
    lm = (landmarks - np.array([box.x0, box.y0], np.float32)).astype(np.float32)
    mask = np.zeros(image.shape[:2], np.float32)
    cv2.fillPoly(mask, [np.round(lm[list(MASK_REGION)]).astype(np.int32)], 1.0)
    mask = cv2.GaussianBlur(mask, (0, 0), 1.5)
    rng = np.random.default_rng(shift)
    reference = np.clip(image.astype(np.int16) + rng.integers(-40, 40, 3), 0, 255).astype(np.uint8)
    valid = np.ones(image.shape[:2], bool)
    valid[:, : 20 + shift] = False
    return FaceROI(box, image, lm, mask, reference, valid)


def test_reconstructor_passes_the_reference_through_with_fresh_weights(
    fresh_weights: Path, astronaut: np.ndarray, astronaut_landmarks: np.ndarray
) -> None:
    # A freshly initialised conditioned generator outputs the warped reference where it is valid;
    # with detail transfer the ROI result must then be the full-resolution reference itself.
    rec = GeneratorReconstructor.from_weights(fresh_weights, backend="onnxruntime", threads=1)
    faces = [_face(astronaut, astronaut_landmarks, s) for s in (0, 4, 8)]
    out = rec.reconstruct(faces)
    assert len(out) == 3
    for face, img in zip(faces, out):
        assert img.shape == face.image.shape and img.dtype == np.uint8
        inside = (face.mask > 0.5) & face.valid
        inside &= cv2.erode(face.valid.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
        err = np.abs(img.astype(np.int16) - face.reference.astype(np.int16))[inside]
        assert err.mean() < 1.0, err.mean()


def test_a_fresh_composite_correcting_generator_returns_the_composite(
    tmp_path: Path, astronaut: np.ndarray, astronaut_landmarks: np.ndarray
) -> None:
    # base "composite": the network's input is the composite's output and a fresh network (zero heads) adds no
    # correction, so the stage's result is the composite's own; trained weights (here: random heads) change it.
    from unmask_video.reconstruct.composite import ReferenceComposite

    torch.manual_seed(0)
    fresh, changed = tmp_path / "fresh.safetensors", tmp_path / "random.safetensors"
    save_weights(create_generator("tiny", base="composite", framing="face_neck"), fresh)
    save_weights(init_weights(create_generator("tiny", base="composite"), zero_heads=False), changed)
    faces = [_face(astronaut, astronaut_landmarks, s) for s in (0, 4)]
    want = ReferenceComposite().reconstruct(faces)
    rec = GeneratorReconstructor.from_weights(fresh, backend="onnxruntime", threads=1)
    assert rec.composite is not None and rec.reach_px(300.0) is None
    for face, got, ref in zip(faces, rec.reconstruct(faces), want):
        region = cv2.dilate((face.mask > 0).astype(np.uint8), np.ones((25, 25), np.uint8)) > 0
        err = np.abs(got.astype(np.int16) - ref.astype(np.int16))[region]
        assert err.mean() < 1.0 and np.percentile(err, 99) <= 3, (err.mean(), err.max())
    other = GeneratorReconstructor.from_weights(changed, backend="torch", device="cpu").reconstruct(faces[:1])[0]
    assert np.abs(other.astype(np.int16) - want[0].astype(np.int16))[faces[0].mask > 0.5].mean() > 2.0


def test_reconstructor_keeps_face_order_and_skips_unmasked(
    random_weights: Path, astronaut: np.ndarray, astronaut_landmarks: np.ndarray
) -> None:
    rec = GeneratorReconstructor.from_weights(random_weights, backend="torch", device="cpu")
    faces = [_face(astronaut, astronaut_landmarks, s) for s in (0, 6)]
    empty = _face(astronaut, astronaut_landmarks, 3)
    empty.mask[:] = 0
    together = rec.reconstruct([faces[0], empty, faces[1]])
    alone = [rec.reconstruct([f])[0] for f in faces]
    assert np.array_equal(together[1], empty.image)
    for a, b in zip((together[0], together[2]), alone):
        assert np.abs(a.astype(np.int16) - b.astype(np.int16)).max() <= 1
    assert not np.array_equal(together[0][:, : together[2].shape[1]], together[2])


@pytest.mark.gpu
@pytest.mark.skipif(NO_CUDA, reason="needs an NVIDIA GPU with CUDA")
def test_torch_cuda_fp16_channels_last_graphs_agree_with_cpu(random_weights: Path) -> None:
    cpu = select_backend("torch", random_weights, device="cpu")
    gpu = select_backend("torch", random_weights, device="cuda")
    assert gpu.fp16 and gpu.channels_last and "fp16" in gpu.provider
    inputs = sample_inputs(64, batch=2, seed=3)
    args = [inputs[k] for k in ("image", "mask", "reference", "ref_valid")]
    want = cpu.run(*args)
    for _ in range(2):  # the second call replays the captured CUDA graph
        got = gpu.run(*args)
        assert got.dtype == np.float32 and np.abs(got - want).max() < 0.05
    assert not gpu.cuda_graphs or 2 in gpu._graphs
