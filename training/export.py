"""Export a trained generator (the EMA copy) as safetensors, fp32 or fp16, with its model card.

    python -m training.export RUN_DIR OUT.safetensors [--fp16] [--card card.json]

The file is written by the product's own :func:`unmask_video.reconstruct.generator.weights.save_weights` (config and card in
the metadata), so ``unmask-video`` loads it like any other weights file.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import sys
from pathlib import Path
from typing import Any

import torch
from torch import nn

log = logging.getLogger(__name__)


def save_generator(model: nn.Module, path: Path, *, half: bool = False, card: Any = None,
                   extra: dict[str, str] | None = None) -> str:
    """Save ``model`` (a Generator) to ``path``; ``half`` stores fp16 tensors. Returns the file's sha256."""
    from unmask_video.reconstruct.generator.weights import save_weights

    m = copy.deepcopy(model).cpu().eval()
    if half:
        m = m.half()
    return save_weights(m, path, card=card, extra=extra)


def generator_from_checkpoint(path: Path, ema: bool = True) -> nn.Module:
    """Rebuild the (EMA) generator stored in a training checkpoint."""
    from unmask_video.reconstruct.generator.configs import GeneratorConfig
    from unmask_video.reconstruct.generator.networks import create_generator

    ck = torch.load(path, map_location="cpu", weights_only=True)
    cfg = GeneratorConfig.from_json(ck["generator_config"])
    g = create_generator(cfg)
    g.load_state_dict(ck["generator_ema" if ema else "generator"])
    return g.eval()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.export", description=__doc__.split("\n\n")[0])
    p.add_argument("run_dir", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--fp16", action="store_true")
    p.add_argument("--raw", action="store_true", help="export the raw generator instead of its EMA copy")
    p.add_argument("--card", type=Path, help="a JSON file of ModelCard fields to store in the metadata")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    g = generator_from_checkpoint(a.run_dir / "checkpoints" / "last.pt", ema=not a.raw)
    card = None
    if a.card:
        from unmask_video.reconstruct.generator.card import ModelCard, card_for_config

        fields = json.loads(a.card.read_text())
        known = set(ModelCard.__dataclass_fields__)
        card = card_for_config(g.config, **{k: v for k, v in fields.items() if k in known and k not in
                                            ("name", "config", "input_size", "parameters", "flops")})
    digest = save_generator(g, a.out, half=a.fp16, card=card)
    log.info("wrote %s (%.1f MB, sha256 %s)", a.out, a.out.stat().st_size / 1e6, digest[:12])
    return 0


if __name__ == "__main__":
    sys.exit(main())
