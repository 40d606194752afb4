"""Training pairs from a prepared face folder (see :mod:`training.prepare`).

One sample, for a face ``T`` with landmarks ``L`` (all at the model size ``S``):

- ``target``: ``T`` itself, the ground truth;
- ``mask``: the hole, the mask-region polygon of the manifest with random jitter of its vertices and a random
  grow/shrink (the method's precomputed lower-face polygon), optionally a drawn surgical mask;
- ``image``: ``T`` with a mask-coloured hole (the network zeroes the hole itself; the colour matters for the
  "masked input" baseline and for the original, non-conditioned variant);
- ``reference``/``ref_valid``: a simulated second photo of the same face (another frame of the same person when the
  manifest has one, else :func:`training.augment.simulate_second_photo`) warped back onto ``L`` by the product's own
  thin-plate-spline :class:`unmask_video.warp.ReferenceWarper` from noisy landmarks, as at inference.

Tensors are float32, images in [-1, 1] (3,S,S), maps in {0,1} (1,S,S). Every sample is drawn from its own
``numpy`` generator seeded by (seed, epoch, index), so a held-out sample is the same in every run.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from unmask_video.warp import ReferenceWarper, WarpOptions

from training.augment import SecondPhotoOptions, simulate_second_photo

log = logging.getLogger(__name__)

MASK_COLOURS = np.array([(200, 225, 235), (245, 245, 245), (30, 30, 35), (120, 170, 215), (235, 215, 220)], np.float32)


@dataclass
class PairOptions:
    size: int = 128
    polygon_jitter: float = 0.012  # vertex jitter, of the crop size
    grow_px: tuple[float, float] = (-0.02, 0.05)  # hole grow/shrink range, of the crop size
    landmark_noise: float = 0.004  # landmark detection noise, of the crop size, on both sides of the warp
    drawn_mask_prob: float = 0.0
    other_frame_prob: float = 0.7  # when a face has other frames of the same person, use one this often
    second_photo: SecondPhotoOptions = field(default_factory=SecondPhotoOptions)
    warp: WarpOptions = field(default_factory=WarpOptions)


def read_manifest(folder: Path) -> dict:
    path = Path(folder) / "manifest.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found; run python -m training.prepare FACES_DIR {folder} first")
    return json.loads(path.read_text())


def polygon_mask(polygon: np.ndarray, size: int, rng: np.random.Generator | None, options: PairOptions) -> np.ndarray:
    """(S,S) float32 {0,1}: the filled polygon, jittered and grown/shrunk when ``rng`` is given."""
    pts = np.asarray(polygon, np.float64).copy()
    grow = 0.0
    if rng is not None:
        pts += rng.normal(0, options.polygon_jitter * size, pts.shape)
        grow = rng.uniform(*options.grow_px) * size
    m = np.zeros((size, size), np.uint8)
    cv2.fillPoly(m, [np.round(pts * 16).astype(np.int32)], 1, lineType=cv2.LINE_8, shift=4)
    r = int(round(abs(grow)))
    if r:
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
        m = cv2.dilate(m, k) if grow > 0 else cv2.erode(m, k)
    return m.astype(np.float32)


def fill_hole(image: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``image`` with the hole painted a surgical-mask colour with mild shading and noise."""
    colour = MASK_COLOURS[rng.integers(len(MASK_COLOURS))]
    h, w = mask.shape
    shade = 1.0 + 0.08 * np.sin(np.linspace(0, rng.uniform(6, 14), h))[:, None, None]
    fill = colour[None, None] * shade + rng.normal(0, 4, (h, w, 3))
    out = image.astype(np.float32)
    m = mask[..., None]
    out = out * (1 - m) + fill * m
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def to_tensor_image(img: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(img.astype(np.float32).transpose(2, 0, 1) / 127.5 - 1.0)


def to_tensor_map(m: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(m, dtype=np.float32))[None]


class FacePairs(Dataset):
    """Reference-conditioned inpainting pairs from a prepared folder, one split."""

    def __init__(self, folder: Path | str, split: str = "train", options: PairOptions | None = None, seed: int = 0,
                 deterministic: bool = False, limit: int | None = None) -> None:
        self.folder = Path(folder)
        self.options = options or PairOptions()
        self.seed = seed
        self.deterministic = deterministic  # same sample for an index in every epoch (evaluation)
        self.epoch = 0
        manifest = read_manifest(self.folder)
        self.prepared_size = int(manifest["size"])
        lms = np.load(self.folder / "landmarks.npy")
        faces = [f for f in manifest["faces"] if split == "all" or f["split"] == split]
        if limit is not None:
            faces = faces[:limit]
        if not faces:
            raise ValueError(f"no faces in split {split!r} of {self.folder}")
        self.faces = faces
        self.landmarks = lms
        by_person: dict[str, list[int]] = {}
        for i, f in enumerate(faces):
            if f.get("person"):
                by_person.setdefault(f["person"], []).append(i)
        self.by_person = by_person
        self._scale = self.options.size / self.prepared_size
        self._drawer = None
        if self.options.drawn_mask_prob > 0:
            from unmask_video.synthetic import MaskStyle, draw_surgical_mask  # optional, another module

            self._drawer = (draw_surgical_mask, MaskStyle)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.faces)

    def _load(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        face = self.faces[i]
        bgr = cv2.imread(str(self.folder / face["image"]), cv2.IMREAD_COLOR)
        if bgr is None:
            raise FileNotFoundError(self.folder / face["image"])
        img = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        s = self.options.size
        if img.shape[0] != s:
            img = cv2.resize(img, (s, s), interpolation=cv2.INTER_AREA if img.shape[0] > s else cv2.INTER_CUBIC)
        lm = self.landmarks[face["id"]] * self._scale
        poly = np.asarray(face["mask_polygon"], np.float32) * self._scale
        return img, lm.astype(np.float32), poly

    def rng_for(self, index: int, epoch: int | None = None) -> np.random.Generator:
        epoch = 0 if self.deterministic else (self.epoch if epoch is None else epoch)
        return np.random.default_rng([self.seed, epoch, index])

    def sample(self, index: int, epoch: int | None = None) -> dict[str, np.ndarray]:
        """The sample as uint8 / float32 numpy arrays (also used by evaluation and the baselines)."""
        o = self.options
        rng = self.rng_for(index, epoch)
        target, lm, poly = self._load(index)
        s = o.size
        # the reference photo: another frame of the same person, or a simulated second photo
        person = self.faces[index].get("person")
        others = [j for j in self.by_person.get(person, []) if j != index] if person else []
        if others and rng.random() < o.other_frame_prob:
            ref_img, ref_lm, _ = self._load(int(rng.choice(others)))
            ref_img, ref_lm = simulate_second_photo(ref_img, ref_lm, rng, _mild(o.second_photo))
        else:
            ref_img, ref_lm = simulate_second_photo(target, lm, rng, o.second_photo)
        noise = o.landmark_noise * s
        warper = ReferenceWarper(ref_img, ref_lm + rng.normal(0, noise, ref_lm.shape).astype(np.float32), o.warp)
        reference, valid, _ = warper.warp(lm + rng.normal(0, noise, lm.shape).astype(np.float32), (s, s))
        # the hole
        if self._drawer is not None and rng.random() < o.drawn_mask_prob:
            draw, style_cls = self._drawer
            colour = tuple(int(c) for c in MASK_COLOURS[rng.integers(len(MASK_COLOURS))])
            masked, mask = draw(target, lm, style_cls(color=colour))
            mask = (np.asarray(mask) > 0.5).astype(np.float32)
        else:
            mask = polygon_mask(poly, s, rng, o)
            masked = fill_hole(target, mask, rng)
        return {"target": target, "image": masked, "mask": mask, "reference": reference,
                "ref_valid": valid.astype(np.float32), "landmarks": lm}

    def __getitem__(self, index: int | tuple[int, int]) -> dict[str, torch.Tensor]:
        """``index`` or ``(epoch, index)`` (what the trainer's sampler yields)."""
        epoch, index = index if isinstance(index, tuple) else (None, index)
        s = self.sample(index, epoch)
        return {
            "target": to_tensor_image(s["target"]),
            "image": to_tensor_image(s["image"]),
            "mask": to_tensor_map(s["mask"]),
            "reference": to_tensor_image(s["reference"]),
            "ref_valid": to_tensor_map(s["ref_valid"]),
        }


def _mild(o: SecondPhotoOptions) -> SecondPhotoOptions:
    """Smaller perturbations on top of a real second frame (it already differs in pose and expression)."""
    from dataclasses import replace

    return replace(o, rotate_deg=o.rotate_deg / 3, scale=o.scale / 3, shift=o.shift / 3, yaw=0.0, jitter=o.jitter / 2,
                   expression=0.0)


def worker_init(worker_id: int) -> None:
    """Keep OpenCV single-threaded inside loader workers (they already run in parallel)."""
    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)  # small TPS solves are far slower with a multi-threaded BLAS
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        pass
