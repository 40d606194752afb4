"""DistributedDataParallel through torchrun: two CPU processes (gloo) train a few steps and rank 0 checkpoints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from training.examples import write_example_faces
from training.prepare import PrepareOptions, prepare


@pytest.fixture(scope="module")
def faces(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("photos")
    write_example_faces(src, count=6)
    out = tmp_path_factory.mktemp("prepared")
    assert prepare([src], out, PrepareOptions(size=64), progress=False).usable == 6
    return out


@pytest.mark.skipif(not torch.distributed.is_available() or not torch.distributed.is_gloo_available(),
                    reason="this torch build has no gloo backend")
def test_two_process_gloo_run_writes_one_checkpoint(tmp_path: Path, faces: Path) -> None:
    run_dir = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "training.train", "--data", str(faces), "--run-dir", str(run_dir), "--model", "tiny", "--no-vgg",
           "--batch-size", "1", "--max-steps", "3", "--num-workers", "0", "--device", "cpu", "--no-progress",
           "--disc-channels", "8", "--cpu-threads", "1", "--log-every", "1", "--checkpoint-every", "2"]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ckpts = sorted(p.name for p in (run_dir / "checkpoints").iterdir())
    assert ckpts == ["last.pt"]  # rank 0 alone writes, and only the one rolling file
    ck = torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)
    assert ck["step"] == 3
    info = json.loads((run_dir / "run.json").read_text())
    assert info["world_size"] == 2 and info["steps"] == 3
    rows = (run_dir / "losses.csv").read_text().strip().splitlines()
    assert len(rows) == 1 + 3  # header + one row per step, from rank 0 only
    # the generator moved away from its initialisation
    from training.config import TrainConfig
    from training.train import build_generator

    torch.manual_seed(0)
    init = build_generator(TrainConfig(model="tiny")).state_dict()
    assert any(not torch.equal(init[k], v) for k, v in ck["generator"].items())


def test_two_process_run_without_contrastive_loss(tmp_path: Path, faces: Path) -> None:
    # the feature head is then outside the loss; DDP must still see every parameter used
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "training.train", "--data", str(faces), "--run-dir", str(tmp_path / "run"), "--model", "tiny",
           "--no-vgg", "--batch-size", "1", "--max-steps", "2", "--num-workers", "0", "--device", "cpu",
           "--no-progress", "--disc-channels", "8", "--cpu-threads", "1", "--losses.contrastive", "0"]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert torch.load(tmp_path / "run" / "checkpoints" / "last.pt", weights_only=True)["step"] == 2
