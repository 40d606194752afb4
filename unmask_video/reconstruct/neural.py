"""The neural reconstruction stage: :class:`GeneratorReconstructor` implements
:class:`unmask_video.reconstruct.protocol.Reconstructor` over any generator backend.

Generators that correct the composite (``GeneratorConfig.base == "composite"``, the shipped kind): for each face
the reference composite (:class:`~unmask_video.reconstruct.composite.ReferenceComposite`: warped reference,
colour-matched, inpainted where the warp gives nothing) runs first; its output, the ROI image, the mask and the
warp's validity map are aligned into the model's square crop (:mod:`unmask_video.align`), converted once to the
model range (NCHW float32, [-1,1]) and run through the backend as one batch; the network predicts a correction of
the composite, which is warped back and added to the full-resolution composite. The composite keeps its detail;
the network changes colour, shading and shape at the crop's resolution.

Older generators (``base == "reference"``) take the warped reference instead; with ``detail_transfer`` the
high-frequency band of the full-resolution reference is added back where it is valid.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import cv2
import numpy as np

from unmask_video import align
from unmask_video.errors import InputError, ProcessingError
from unmask_video.face_units import face_size_px
from unmask_video.stages import FaceROI, Image
from unmask_video.reconstruct.backends import Backend, select_backend
from unmask_video.reconstruct.composite import CompositeOptions, ReferenceComposite
from unmask_video.reconstruct.generator.configs import REGISTRY, GeneratorConfig
from unmask_video.reconstruct.generator.card import beats_composite
from unmask_video.reconstruct.generator.weights import read_card, read_config

log = logging.getLogger(__name__)

#: Where shipped weights live: ``<registry name>.safetensors``.
SHIPPED_DIR = Path(__file__).resolve().parent / "generator" / "weights"
#: The configuration ``--generator auto`` uses, when its model card records a win over the composite.
DEFAULT_GENERATOR = "fast"


def shipped_weights(name: str) -> Path | None:
    path = SHIPPED_DIR / f"{name}.safetensors"
    return path if path.is_file() else None


def auto_weights() -> Path | None:
    """The weights ``--generator auto`` runs: the shipped default generator, only if its model card records that
    it beat the reference composite on the project's quality benchmark; else None (``auto`` means ``none``)."""
    path = shipped_weights(DEFAULT_GENERATOR)
    if path is None:
        return None
    if not beats_composite(read_card(path)):
        log.info("the shipped %r generator's model card records no win over the composite on benchmarks.quality",
                 DEFAULT_GENERATOR)
        return None
    return path


def resolve_weights(name: str) -> Path | None:
    """``auto`` -> :func:`auto_weights`; a registry name -> its shipped weights file, or None if not installed;
    anything else is a path to a weights file (InputError if it does not exist)."""
    if name == "auto":
        return auto_weights()
    if name in REGISTRY:
        return shipped_weights(name)
    path = Path(name).expanduser()
    if not path.is_file():
        raise InputError(
            f"--generator {name!r} is neither a known generator ({', '.join(sorted(REGISTRY))}) "
            "nor an existing .safetensors file"
        )
    return path


@dataclass
class GeneratorOptions:
    #: The most face crops per backend call (the pipeline's --batch groups frames; this caps memory).
    max_batch: int = 16
    #: Add the full-resolution reference's high-frequency band back where it is valid.
    detail_transfer: bool = True
    #: Crop pixels with a (resampled) mask above this are holes.
    hole_threshold: float = 0.02
    #: Grow the hole by this many crop pixels (mask-fabric fringes go into the hole).
    hole_dilate: int = 1


def to_model(images: np.ndarray) -> np.ndarray:
    """(B,H,W,C) uint8 -> (B,C,H,W) float32 in [-1,1]."""
    return np.ascontiguousarray(images.transpose(0, 3, 1, 2), dtype=np.float32) / 127.5 - 1.0


def from_model(batch: np.ndarray) -> np.ndarray:
    """(B,C,H,W) float in [-1,1] -> (B,H,W,C) float32 in [0,255]."""
    return (np.clip(batch.transpose(0, 2, 3, 1), -1.0, 1.0) + 1.0) * 127.5


@dataclass
class _Prepared:
    matrix: np.ndarray
    image: np.ndarray  # (S,S,3) uint8
    hole: np.ndarray  # (S,S) float32 {0,1}
    reference: np.ndarray  # (S,S,3) uint8
    valid: np.ndarray  # (S,S) float32 {0,1}


class GeneratorReconstructor:
    """Rebuilds masked faces with a generator backend (see the module docstring)."""

    def __init__(
        self,
        backend: Backend,
        config: GeneratorConfig,
        options: GeneratorOptions | None = None,
        weights_path: Path | None = None,
        composite: CompositeOptions | None = None,
    ) -> None:
        self.backend = backend
        self.config = config
        self.options = options or GeneratorOptions()
        self.weights_path = weights_path
        self.name = config.name
        #: The composite this generator corrects (None: it takes the warped reference itself).
        self.composite = ReferenceComposite(composite) if config.corrects_composite else None
        self.provider = f"{backend.name}: {backend.provider}"
        self.size = config.size
        kernel = 2 * self.options.hole_dilate + 1
        self._kernel = np.ones((kernel, kernel), np.uint8)

    @classmethod
    def from_weights(
        cls,
        weights: str | Path,
        backend: str = "auto",
        engine: str | Path | None = None,
        device: str = "auto",
        options: GeneratorOptions | None = None,
        composite: CompositeOptions | None = None,
        **backend_options: Any,
    ) -> "GeneratorReconstructor":
        config = read_config(weights)
        chosen = select_backend(backend, weights, device=device, engine=engine, **backend_options)
        return cls(chosen, config, options, Path(weights), composite)

    def reach_px(self, face_px: float) -> None:
        """None: the network reads the whole aligned face crop of the warped reference (or of the composite)."""
        return None

    def warmup(self, batch: int = 1) -> None:
        s = self.size
        zeros = [np.zeros((batch, c, s, s), np.float32) for c in (3, 1, 3, 1)]
        self.backend.run(*zeros)

    def prepare(self, face: FaceROI, base: Image | None = None) -> _Prepared:
        """The model crops of a face; ``base`` is the composite's output for it (generators that correct it)."""
        s = self.size
        m = align.align_matrix(face.landmarks, s, self.config.framing)
        image = align.crop(face.image, m, s)
        mask = align.crop(face.mask.astype(np.float32), m, s, border=cv2.BORDER_CONSTANT)
        hole = (mask > self.options.hole_threshold).astype(np.uint8)
        if self.options.hole_dilate > 0:
            hole = cv2.dilate(hole, self._kernel)
        reference = align.crop(face.reference if base is None else base, m, s)
        valid = align.crop(face.valid.astype(np.float32), m, s, border=cv2.BORDER_CONSTANT, antialias=False)
        return _Prepared(m, image, hole.astype(np.float32), reference, (valid > 0.999).astype(np.float32))

    def run_crops(self, prepared: Sequence[_Prepared]) -> np.ndarray:
        """The backend on prepared crops: (B,S,S,3) float32 in [0,255]."""
        image = to_model(np.stack([p.image for p in prepared]))
        reference = to_model(np.stack([p.reference for p in prepared]))
        mask = np.stack([p.hole for p in prepared])[:, None]
        valid = np.stack([p.valid for p in prepared])[:, None]
        out = self.backend.run(image, mask, reference, valid)
        expected = (len(prepared), 3, self.size, self.size)
        if tuple(out.shape) != expected:
            raise ProcessingError(
                f"generator backend {self.backend.name} returned shape {tuple(out.shape)}, expected {expected}; "
                "the weights or engine do not match, rebuild them"
            )
        if not np.isfinite(out).all():  # every backend: NaN/inf would show as a black face
            raise ProcessingError(
                f"the generator ({self.backend.name}) produced NaN or infinite values: its weights are broken "
                "(retrain or re-download them), or use --generator none"
            )
        return from_model(out)

    def paste_back(self, face: FaceROI, prep: _Prepared, out_crop: np.ndarray, base: Image | None = None) -> Image:
        """Warp the generated crop back into the ROI, over the mask's bounding box (grown by the composite's
        blend band when correcting ``base``, the composite's output, which is returned elsewhere; otherwise the
        rest of the ROI is returned as it was)."""
        h, w = face.image.shape[:2]
        result = face.image.copy() if base is None else base.copy()
        bx, by, bw, bh = cv2.boundingRect((face.mask > 0).view(np.uint8))
        if bw == 0 or bh == 0:
            return result
        grow = 2 if self.composite is None else int(np.ceil(self.composite.lengths(face_size_px(face.landmarks)).band)) + 2
        x0, y0 = max(bx - grow, 0), max(by - grow, 0)
        x1, y1 = min(bx + bw + grow, w), min(by + bh + grow, h)
        m = prep.matrix.copy()
        m[:, 2] += m[:, :2] @ np.array([x0, y0], np.float64)  # box pixel -> crop pixel
        shape = (y1 - y0, x1 - x0)
        out = align.uncrop(out_crop, m, shape)
        if base is not None:  # the composite at full resolution plus the network's correction of it
            out += base[y0:y1, x0:x1].astype(np.float32) - align.uncrop(prep.reference.astype(np.float32), m, shape)
            ref = None
        else:
            ref = face.reference[y0:y1, x0:x1]
        if ref is not None and self.options.detail_transfer and align.crop_scale(m) < 1.0:
            low_ref = align.uncrop(prep.reference.astype(np.float32), m, shape)
            weight = align.uncrop(prep.valid, m, shape) * face.valid[y0:y1, x0:x1]
            out += weight[..., None] * (ref.astype(np.float32) - low_ref)
        corners = align.transform_points(
            np.array([[0, 0], [shape[1] - 1, 0], [0, shape[0] - 1], [shape[1] - 1, shape[0] - 1]]), m
        )
        if corners.min() < 0 or corners.max() > self.size - 1:  # the box leaves the crop
            cover = align.coverage(m, self.size, shape)[..., None]
            outside = (face.image if base is None else base)[y0:y1, x0:x1].astype(np.float32)
            out = cover * out + (1.0 - cover) * outside
        result[y0:y1, x0:x1] = np.clip(out + 0.5, 0, 255).astype(np.uint8)
        return result

    def reconstruct(self, faces: Sequence[FaceROI]) -> list[Image]:
        results: list[Image | None] = [None] * len(faces)
        todo = []
        for i, face in enumerate(faces):
            if not np.any(face.mask > 0):
                results[i] = face.image.copy()
            else:
                todo.append(i)
        bases: list[Image | None] = [None] * len(faces)
        if self.composite is not None and todo:
            for i, rebuilt in zip(todo, self.composite.reconstruct([faces[i] for i in todo])):
                bases[i] = rebuilt
        step = max(1, self.options.max_batch)
        for start in range(0, len(todo), step):
            idx = todo[start : start + step]
            prepared = [self.prepare(faces[i], bases[i]) for i in idx]
            crops = self.run_crops(prepared)
            for k, i in enumerate(idx):
                results[i] = self.paste_back(faces[i], prepared[k], crops[k], bases[i])
        return [r for r in results if r is not None]
