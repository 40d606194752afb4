"""The ``torch`` backend: the generator in PyTorch, on the CPU or CUDA.

On CUDA it runs in FP16 with channels-last memory, is warmed up at load, and replays CUDA graphs
captured per batch size (static input buffers) when ``cuda_graphs`` is on; a capture failure falls
back to eager execution with a warning. On the CPU it runs FP32 eager under ``inference_mode``.
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from unmask_video.reconstruct.generator.export import fuse_batchnorm

if TYPE_CHECKING:
    from unmask_video.reconstruct.generator.networks import Generator

log = logging.getLogger(__name__)


class TorchBackend:
    name = "torch"

    def __init__(
        self,
        weights: "str | Path | Generator",
        *,
        device: str = "cpu",
        fp16: bool | None = None,
        channels_last: bool | None = None,
        cuda_graphs: bool = True,
        warmup_batches: tuple[int, ...] = (1,),
        threads: int | None = None,
    ) -> None:
        import torch

        from unmask_video.reconstruct.generator.weights import load_weights, strip_parametrizations

        self.device = torch.device(device)
        cuda = self.device.type == "cuda"
        self.fp16 = cuda if fp16 is None else bool(fp16)
        self.channels_last = cuda if channels_last is None else bool(channels_last)
        self.cuda_graphs = cuda and cuda_graphs
        if threads and not cuda:
            torch.set_num_threads(int(threads))
        model = load_weights(weights) if isinstance(weights, (str, Path)) else copy.deepcopy(weights)
        model = fuse_batchnorm(strip_parametrizations(model.eval()))
        for p in model.parameters():
            p.requires_grad_(False)
        model = model.to(self.device)
        if self.fp16:
            model = model.half()
        if self.channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.model = model
        self.config = model.config
        self.dtype = torch.float16 if self.fp16 else torch.float32
        self._graphs: dict[int, Any] = {}
        precision = "fp16" if self.fp16 else "fp32"
        where = torch.cuda.get_device_name(self.device) if cuda else "CPU"
        self.provider = f"torch {torch.__version__} {precision} on {where}" + (
            ", channels-last" if self.channels_last else ""
        )
        if cuda:
            for b in warmup_batches:
                self.warmup(b)
        log.info("torch backend: %s", self.provider)

    def _to_tensor(self, a: np.ndarray) -> Any:
        import torch

        t = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).to(self.device, non_blocking=True)
        t = t.to(self.dtype)
        if self.channels_last:
            t = t.contiguous(memory_format=torch.channels_last)
        return t

    def _eager(self, *tensors: Any) -> Any:
        return self.model(*tensors).refined

    def warmup(self, batch: int = 1) -> None:
        """Run a few forwards at ``batch`` (cuDNN autotuning) and capture its CUDA graph."""
        import torch

        s = self.config.size
        zeros = [np.zeros((batch, c, s, s), np.float32) for c in (3, 1, 3, 1)]
        with torch.inference_mode():
            for _ in range(3):
                self._eager(*(self._to_tensor(z) for z in zeros))
        if self.cuda_graphs:
            self._capture(batch)
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def _capture(self, batch: int) -> None:
        import torch

        s = self.config.size
        try:
            static_in = [
                torch.zeros(batch, c, s, s, device=self.device, dtype=self.dtype) for c in (3, 1, 3, 1)
            ]
            if self.channels_last:
                static_in = [t.contiguous(memory_format=torch.channels_last) for t in static_in]
            stream = torch.cuda.Stream(self.device)
            stream.wait_stream(torch.cuda.current_stream(self.device))
            with torch.cuda.stream(stream), torch.inference_mode():
                for _ in range(2):
                    self._eager(*static_in)
            torch.cuda.current_stream(self.device).wait_stream(stream)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph), torch.inference_mode():
                static_out = self._eager(*static_in)
            self._graphs[batch] = (graph, static_in, static_out)
        except Exception as exc:  # noqa: BLE001 - fall back to eager, never stop
            log.warning("torch backend: CUDA graph capture failed at batch %d (%s); running eagerly", batch, exc)
            self.cuda_graphs = False

    def run(
        self, image: np.ndarray, mask: np.ndarray, reference: np.ndarray, ref_valid: np.ndarray
    ) -> np.ndarray:
        import torch

        batch = int(image.shape[0])
        if self.cuda_graphs and batch not in self._graphs:
            self._capture(batch)
        tensors = [self._to_tensor(a) for a in (image, mask, reference, ref_valid)]
        with torch.inference_mode():
            if self.cuda_graphs and batch in self._graphs:
                graph, static_in, static_out = self._graphs[batch]
                for dst, src in zip(static_in, tensors):
                    dst.copy_(src)
                graph.replay()
                out = static_out
            else:
                out = self._eager(*tensors)
            return out.float().contiguous().cpu().numpy()
