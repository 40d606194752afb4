"""Generator weights as safetensors (never pickles), self-describing.

The metadata of every file holds ``format``, ``config`` (the :class:`GeneratorConfig` as JSON) and
``card`` (the :class:`ModelCard` as JSON), so a file alone is enough to rebuild the network.
Errors are one-line :class:`~unmask_video.errors.InputError` messages.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from unmask_video.errors import InputError
from unmask_video.reconstruct.generator.card import ModelCard
from unmask_video.reconstruct.generator.configs import GeneratorConfig

if TYPE_CHECKING:
    import torch

    from unmask_video.reconstruct.generator.networks import Generator

log = logging.getLogger(__name__)

FORMAT = "unmask-video-generator/1"


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file (the cache key of exported models)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def strip_parametrizations(model: "torch.nn.Module") -> "torch.nn.Module":
    """Remove spectral norm (old hook style or ``torch.nn.utils.parametrize``) in place, keeping the
    normalised weights. Returns ``model``."""
    import torch
    from torch.nn.utils import parametrize

    for m in model.modules():
        if parametrize.is_parametrized(m):
            for name in list(m.parametrizations.keys()):
                parametrize.remove_parametrizations(m, name, leave_parametrized=True)
        for key, hook in list(m._forward_pre_hooks.items()):
            if type(hook).__name__ == "SpectralNorm":
                torch.nn.utils.remove_spectral_norm(m, hook.name)
    return model


def save_weights(
    model: "Generator",
    path: str | Path,
    *,
    card: ModelCard | None = None,
    extra: dict[str, str] | None = None,
) -> str:
    """Write ``model``'s weights to ``path`` (safetensors) with its config and card; return the sha256.

    Spectral-norm parametrisations, if the caller added any, are folded into plain weights first.
    """
    from safetensors.torch import save_file

    from unmask_video.reconstruct.generator.card import card_for_config

    plain = strip_parametrizations(copy.deepcopy(model)).cpu()
    tensors = {k: v.detach().contiguous() for k, v in plain.state_dict().items()}
    cfg: GeneratorConfig = model.config
    if card is None:
        card = card_for_config(cfg)
    metadata = {"format": FORMAT, "config": cfg.to_json(), "card": card.to_json()}
    for k, v in (extra or {}).items():
        metadata[str(k)] = str(v)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata=metadata)
    tmp.replace(path)
    digest = file_sha256(path)
    log.info("saved generator %s (%s) to %s, sha256 %s", cfg.name, card.summary(), path, digest[:12])
    return digest


def read_metadata(path: str | Path) -> dict[str, str]:
    """The metadata of a weights file, with one-line errors for missing, corrupt or foreign files."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise InputError(f"generator weights not found: {path}; pass an existing .safetensors file")
    try:
        # the header only: the numpy framework spares the default run torch's import (seconds) when the card
        # says the composite is used
        with safe_open(str(path), framework="numpy") as f:
            meta = f.metadata() or {}
    except Exception as exc:  # safetensors raises several types for bad headers
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(
            f"generator weights {path} are not a readable safetensors file ({reason}); "
            "the file is corrupt or truncated, export or download it again"
        ) from None
    if meta.get("format") != FORMAT or "config" not in meta:
        raise InputError(
            f"generator weights {path} carry no unmask-video generator config "
            f"(format {meta.get('format')!r}); save them with unmask_video.reconstruct.generator.weights.save_weights"
        )
    return meta


def read_config(path: str | Path) -> GeneratorConfig:
    meta = read_metadata(path)
    try:
        return GeneratorConfig.from_json(meta["config"])
    except (ValueError, TypeError, json.JSONDecodeError) as exc:
        raise InputError(f"generator weights {path} have an unusable config ({exc}); re-save them") from None


def read_card(path: str | Path) -> ModelCard | None:
    meta = read_metadata(path)
    if "card" not in meta:
        return None
    try:
        return ModelCard.from_json(meta["card"])
    except (ValueError, TypeError):
        return None


def load_weights(path: str | Path, device: Any = "cpu") -> "Generator":
    """Rebuild the generator stored in ``path`` (eval mode) on ``device``.

    Raises InputError (one line) if the file is missing, corrupt, or its tensors do not match its
    configuration (names or shapes).
    """
    from safetensors.torch import load_file

    from unmask_video.reconstruct.generator.networks import Generator

    cfg = read_config(path)
    try:
        tensors = load_file(str(path), device="cpu")
    except Exception as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"generator weights {path} could not be read ({reason}); export them again") from None
    model = Generator(cfg)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    wrong = sorted(k for k in set(expected) & set(tensors) if tuple(expected[k].shape) != tuple(tensors[k].shape))
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing (e.g. {missing[0]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected (e.g. {unexpected[0]})")
        if wrong:
            k = wrong[0]
            parts.append(
                f"{len(wrong)} with wrong shapes (e.g. {k} {tuple(tensors[k].shape)} vs {tuple(expected[k].shape)})"
            )
        raise InputError(
            f"generator weights {path} do not match their config {cfg.name!r}: tensors "
            + ", ".join(parts)
            + "; the file was saved by another version, re-export it"
        )
    model.load_state_dict(tensors, strict=True)
    return model.eval().to(device)
