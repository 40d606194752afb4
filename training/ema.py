"""Exponential moving average of the generator's weights (the copy that gets exported)."""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    def __init__(self, model: nn.Module, decay: float = 0.999, start: int = 0) -> None:
        self.decay = decay
        self.start = start
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        d = 0.0 if step < self.start else min(self.decay, (1 + step) / (10 + step))
        src = model.state_dict()
        for k, v in self.model.state_dict().items():
            s = src[k].detach()
            if v.dtype.is_floating_point:
                v.mul_(d).add_(s.to(v.dtype), alpha=1 - d)
            else:
                v.copy_(s)

    def state_dict(self) -> dict:
        return self.model.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state)
