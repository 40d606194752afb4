"""The ``onnxruntime`` backend: the checked, cached ONNX export of the weights in an ORT session.

CUDA / TensorRT execution providers are used where this onnxruntime build has them; ONNX Runtime
falls back to the CPU silently when a provider cannot start, so ``provider`` is read back from the
session (what really runs), and a fallback is logged as a warning.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from unmask_video.errors import ProcessingError
from unmask_video.reconstruct.generator.export import INPUT_NAMES, ExportReport, cached_onnx

log = logging.getLogger(__name__)

GPU_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider")


class OnnxRuntimeBackend:
    name = "onnxruntime"

    def __init__(
        self,
        weights_path: str | Path,
        *,
        gpu: bool = True,
        threads: int | None = None,
        fp16: bool = False,
        cache_dir: str | Path | None = None,
    ) -> None:
        import onnxruntime as ort

        self.export: ExportReport = cached_onnx(weights_path, fp16=fp16, cache_dir=cache_dir)
        available = ort.get_available_providers()
        wanted = [p for p in GPU_PROVIDERS if gpu and p in available] + ["CPUExecutionProvider"]
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            opts.intra_op_num_threads = int(threads)
            opts.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(self.export.path), opts, providers=wanted)
        except Exception as exc:  # noqa: BLE001 - ORT raises its own exception types
            raise ProcessingError(
                f"ONNX Runtime could not load {self.export.path} ({str(exc).splitlines()[0]}); "
                "delete the file to re-export it, or use --backend torch"
            ) from None
        active = self.session.get_providers()
        if wanted[0] != "CPUExecutionProvider" and active[0] != wanted[0]:
            log.warning("onnxruntime: %s did not start, running on %s", wanted[0], active[0])
        self.providers = active
        self.provider = f"onnxruntime {ort.__version__} {active[0].replace('ExecutionProvider', '')}" + (
            f" ({threads} threads)" if threads else ""
        )
        self.parity = (self.export.max_abs_err, self.export.psnr)
        log.info("onnxruntime backend: %s; %s", self.provider, self.export.summary())

    def run(
        self, image: np.ndarray, mask: np.ndarray, reference: np.ndarray, ref_valid: np.ndarray
    ) -> np.ndarray:
        feeds = {
            n: np.ascontiguousarray(a, dtype=np.float32)
            for n, a in zip(INPUT_NAMES, (image, mask, reference, ref_valid))
        }
        return self.session.run(["refined"], feeds)[0].astype(np.float32, copy=False)
