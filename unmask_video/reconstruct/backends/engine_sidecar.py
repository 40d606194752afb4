"""The metadata sidecar written next to every engine, and the checks made before an engine is loaded.

A TensorRT engine is only valid for the GPU model, the TensorRT version and the weights it was built
from, and a truncated or swapped engine file can crash the process that deserialises it. So each
``X.engine`` gets an ``X.engine.json`` sidecar, and :func:`check_engine` refuses (with a message that says
how to rebuild) an engine whose sidecar is missing or unreadable, whose bytes do not match the recorded
hash, or that was built for another GPU, TensorRT version or weights.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shlex
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from unmask_video.errors import InputError
from unmask_video.reconstruct.generator.weights import file_sha256

SIDECAR_SUFFIX = ".json"
FORMAT_VERSION = 1


class EngineRefused(InputError):
    """An engine file that must not be loaded here; the message says why and how to rebuild it."""


@dataclass(frozen=True)
class RuntimeInfo:
    """What an engine must match on the machine that loads it."""

    tensorrt_version: str
    gpu_name: str
    compute_capability: str  # "8.6"


@dataclass
class EngineMeta:
    """Everything recorded about one built engine."""

    tensorrt_version: str
    gpu_name: str
    compute_capability: str
    weights_sha256: str
    precision: str  # "fp16" | "fp32"
    builder: str  # "tensorrt" | "torch-tensorrt"
    batch: tuple[int, int, int]  # min, opt, max
    #: input name -> shape at batch 1 (C, H, W after the batch axis), in the engine's input order.
    inputs: dict[str, list[int]]
    outputs: dict[str, list[int]]
    engine_sha256: str
    engine_bytes: int
    build_time: str  # ISO 8601, UTC
    build_seconds: float
    weights_path: str = ""  # as given to build-engine, for the rebuild hint
    parity: dict[str, float] = field(default_factory=dict)  # max_abs_error, psnr_db
    tool_version: str = ""
    format_version: int = FORMAT_VERSION

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "EngineMeta":
        known = {f.name for f in dataclasses.fields(cls)}
        missing = [f.name for f in dataclasses.fields(cls)
                   if f.name not in data and f.default is dataclasses.MISSING
                   and f.default_factory is dataclasses.MISSING]  # type: ignore[misc]
        if missing:
            raise ValueError(f"missing fields {missing}")
        kwargs = {k: v for k, v in data.items() if k in known}
        kwargs["batch"] = tuple(int(b) for b in kwargs["batch"])
        return cls(**kwargs)

    def rebuild_command(self, engine_path: Path | str) -> str:
        weights = self.weights_path or "WEIGHTS"
        lo, opt, hi = self.batch
        return (f"unmask-video build-engine {shlex.quote(weights)} -o {shlex.quote(str(engine_path))} "
                f"--precision {self.precision} --batch {lo}:{opt}:{hi}")


def sidecar_path(engine_path: Path | str) -> Path:
    return Path(f"{engine_path}{SIDECAR_SUFFIX}")



def atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_engine(engine_path: Path | str, engine: bytes, meta: EngineMeta) -> Path:
    """Write the engine and its sidecar atomically (sidecar last); fills in the engine hash and size."""
    engine_path = Path(engine_path)
    meta.engine_sha256 = hashlib.sha256(engine).hexdigest()
    meta.engine_bytes = len(engine)
    atomic_write(engine_path, engine)
    atomic_write(sidecar_path(engine_path), meta.to_json().encode())
    return sidecar_path(engine_path)


def read_sidecar(engine_path: Path | str) -> EngineMeta:
    """The sidecar of ``engine_path``; EngineRefused when it is missing or unreadable."""
    engine_path = Path(engine_path)
    side = sidecar_path(engine_path)
    hint = (f"rebuild it with `unmask-video build-engine WEIGHTS -o {shlex.quote(str(engine_path))}`")
    if not side.is_file():
        raise EngineRefused(f"engine {engine_path} has no metadata file {side.name} beside it, so it cannot be "
                            f"checked against this GPU and these weights: {hint}")
    try:
        meta = EngineMeta.from_dict(json.loads(side.read_text()))
    except (ValueError, TypeError, json.JSONDecodeError) as exc:
        raise EngineRefused(f"metadata file {side} of engine {engine_path} is unreadable ({exc}): {hint}") from exc
    if meta.format_version != FORMAT_VERSION:
        raise EngineRefused(f"metadata file {side} has format {meta.format_version}, this version reads "
                            f"{FORMAT_VERSION}: rebuild the engine with `{meta.rebuild_command(engine_path)}`")
    return meta


def mismatches(meta: EngineMeta, runtime: RuntimeInfo, weights_sha256: str | None) -> list[str]:
    """What about this machine (and these weights) the engine was not built for; empty when it fits."""
    found = []
    if meta.tensorrt_version != runtime.tensorrt_version:
        found.append(f"TensorRT {meta.tensorrt_version}, this machine has TensorRT {runtime.tensorrt_version}")
    if meta.gpu_name != runtime.gpu_name or meta.compute_capability != runtime.compute_capability:
        found.append(f"GPU {meta.gpu_name} (compute {meta.compute_capability}), this machine has "
                     f"{runtime.gpu_name} (compute {runtime.compute_capability})")
    if weights_sha256 is not None and meta.weights_sha256 != weights_sha256:
        found.append(f"weights {meta.weights_sha256[:12]}, the weights in use are {weights_sha256[:12]}")
    return found


def check_engine(engine_path: Path | str, runtime: RuntimeInfo, weights_sha256: str | None) -> EngineMeta:
    """Everything that can be checked before deserialising: return the sidecar or raise EngineRefused.

    ``weights_sha256=None`` skips the weights check (an engine the user names explicitly without weights).
    """
    engine_path = Path(engine_path)
    if not engine_path.is_file():
        raise EngineRefused(f"engine file {engine_path} does not exist: build one with "
                            f"`unmask-video build-engine WEIGHTS -o {shlex.quote(str(engine_path))}`")
    meta = read_sidecar(engine_path)
    rebuild = meta.rebuild_command(engine_path)
    size = engine_path.stat().st_size
    if size != meta.engine_bytes or file_sha256(engine_path) != meta.engine_sha256:
        raise EngineRefused(f"engine {engine_path} is corrupt or was changed after it was built "
                            f"({size} bytes, hash does not match its metadata): rebuild it with `{rebuild}`")
    problems = mismatches(meta, runtime, weights_sha256)
    if problems:
        raise EngineRefused(f"engine {engine_path} was built for {'; '.join(problems)}: rebuild it on this "
                            f"machine with `{rebuild}`")
    return meta
