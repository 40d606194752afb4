"""Training pairs for a generator that corrects the reference composite (``GeneratorConfig.base == "composite"``).

One sample is two consecutive frames (``t`` and ``t+1``) of one face, each as the product sees it at inference:

- the target frame and its landmarks (a prepared crop, see :mod:`training.prepare`); the next frame is the video's
  following frame, or, for a photo, the same photo moved by a small random similarity (camera shake);
- the reference: another frame of the same person (real differences of expression, pose and light), or for photos
  a simulated second photo (:func:`training.augment.simulate_second_photo`), with colour and light changes applied
  to the reference only; it is warped onto each frame's (noisy) landmarks by the product's
  :class:`~unmask_video.warp.ReferenceWarper`;
- a realistic hole (:mod:`training.holes`, one style for both frames) painted a mask colour;
- the product's own :class:`~unmask_video.reconstruct.composite.ReferenceComposite` run on both frames in order (its
  colour smoothing carries from ``t`` to ``t+1`` as in a video).

Everything is built at the prepared size (the composite sees more pixels than the network, as at inference) and
resized to the model size. Tensors per key are (2, C, S, S): ``target``, ``image`` (masked frame), ``mask`` (the
hole as the product's ``GeneratorReconstructor`` makes it), ``reference`` (the composite's output), ``ref_valid``
(where the warp covered). Each sample draws from its own generator seeded by (seed, epoch, index).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from unmask_video.reconstruct.composite import CompositeOptions, ReferenceComposite
from unmask_video.stages import Box, FaceROI
from unmask_video.warp import ReferenceWarper, WarpOptions

from training.augment import SecondPhotoOptions, simulate_second_photo
from training.dataset import MASK_COLOURS, fill_hole, read_manifest, to_tensor_image, to_tensor_map
from training.holes import HoleOptions, HoleStyle

log = logging.getLogger(__name__)

KEYS = ("target", "image", "mask", "reference", "ref_valid")


@dataclass
class CompositePairOptions:
    size: int = 128  # model input size
    landmark_noise: float = 0.004  # landmark detection noise, of the crop size
    min_frame_gap: int = 8  # a reference frame is at least this many frames from the target
    video_repeat: int = 3  # training split: each video face counts this many times (real pairs outweigh photos)
    simulated_reference_prob: float = 0.15  # video faces: a simulated second photo of the target itself instead
    photo_shake: tuple[float, float] = (0.008, 1.5)  # photos' next frame: shift (of the size) and rotation (deg)
    hole_threshold: float = 0.02  # as GeneratorOptions: resampled mask above this is hole ...
    hole_dilate: int = 1  # ... grown by this many model pixels
    holes: HoleOptions = field(default_factory=HoleOptions)
    second_photo: SecondPhotoOptions = field(default_factory=SecondPhotoOptions)
    warp: WarpOptions = field(default_factory=WarpOptions)
    composite: CompositeOptions = field(default_factory=CompositeOptions)


class CompositePairs(Dataset):
    """Consecutive-frame composite-correction samples from a prepared folder, one split."""

    def __init__(self, folder: Path | str, split: str = "train", options: CompositePairOptions | None = None,
                 seed: int = 0, deterministic: bool = False, limit: int | None = None) -> None:
        self.folder = Path(folder)
        self.options = options or CompositePairOptions()
        self.seed = seed
        self.deterministic = deterministic
        manifest = read_manifest(self.folder)
        self.prepared_size = int(manifest["size"])
        self.framing = manifest.get("framing", "face")
        self.landmarks = np.load(self.folder / "landmarks.npy")
        self.all_faces = {f["id"]: f for f in manifest["faces"]}
        faces = [f for f in manifest["faces"] if split == "all" or f["split"] == split]
        # a video frame whose next frame is missing is no sample of its own (it can still be a reference)
        faces = [f for f in faces if f.get("person") is None or f.get("next") is not None]
        if limit is not None:
            faces = _spread_pick(faces, limit)
        elif split == "train" and self.options.video_repeat > 1:
            faces = faces + [f for f in faces if f.get("person")] * (self.options.video_repeat - 1)
        if not faces:
            raise ValueError(f"no faces in split {split!r} of {self.folder}")
        self.faces = faces
        self.by_person: dict[str, list[int]] = {}
        for f in manifest["faces"]:
            if f.get("person"):
                self.by_person.setdefault(f["person"], []).append(f["id"])

    def __len__(self) -> int:
        return len(self.faces)

    def _load(self, face_id: int) -> tuple[np.ndarray, np.ndarray]:
        face = self.all_faces[face_id]
        bgr = cv2.imread(str(self.folder / face["image"]), cv2.IMREAD_COLOR)
        if bgr is None:
            raise FileNotFoundError(self.folder / face["image"])
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), self.landmarks[face_id].astype(np.float32)

    def rng_for(self, index: int, epoch: int | None) -> np.random.Generator:
        return np.random.default_rng([self.seed, 0 if self.deterministic or epoch is None else epoch, index])

    def _reference(self, face: dict, target: np.ndarray, lm: np.ndarray, rng: np.random.Generator):
        o = self.options
        person = face.get("person")
        others = [j for j in self.by_person.get(person, [])
                  if abs(self.all_faces[j]["frame"] - face["frame"]) >= o.min_frame_gap] if person else []
        if others and rng.random() >= o.simulated_reference_prob:
            image, ref_lm = self._load(int(rng.choice(others)))
            geometry = replace(o.second_photo, rotate_deg=2.0, scale=0.02, shift=0.01, yaw=0.0, jitter=0.004,
                               expression=0.0)
            image, ref_lm = simulate_second_photo(image, ref_lm, rng, geometry)
            return image, ref_lm
        return simulate_second_photo(target, lm, rng, o.second_photo)

    def _next_frame(self, face: dict, target: np.ndarray, lm: np.ndarray, rng: np.random.Generator):
        if face.get("next") is not None:
            return self._load(face["next"])
        shift, degrees = self.options.photo_shake
        p = self.prepared_size
        m = cv2.getRotationMatrix2D((p / 2, p / 2), rng.uniform(-degrees, degrees), 1.0 + rng.uniform(-0.01, 0.01))
        m[:, 2] += rng.uniform(-shift, shift, 2) * p
        moved = cv2.warpAffine(target, m, (p, p), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        return moved, (lm @ m[:, :2].T + m[:, 2]).astype(np.float32)

    def sample(self, index: int, epoch: int | None = None) -> dict[str, np.ndarray]:
        """Both frames as numpy arrays at the model size: uint8 images (2,S,S,3), float32 maps (2,S,S)."""
        o = self.options
        rng = self.rng_for(index, epoch)
        face = self.faces[index]
        target, lm = self._load(face["id"])
        frames = [(target, lm), self._next_frame(face, target, lm, rng)]
        ref_image, ref_lm = self._reference(face, target, lm, rng)
        p = self.prepared_size
        noise = o.landmark_noise * p
        warper = ReferenceWarper(ref_image, ref_lm + rng.normal(0, noise, ref_lm.shape).astype(np.float32), o.warp)
        style = HoleStyle.sample(rng, o.holes)
        colour_seed = int(rng.integers(1 << 31))
        composite = ReferenceComposite(o.composite)
        out: dict[str, list[np.ndarray]] = {k: [] for k in KEYS}
        for image, landmarks in frames:
            seen = landmarks + rng.normal(0, noise, landmarks.shape).astype(np.float32)
            reference, valid, _ = warper.warp(seen, (p, p))
            hole = style.draw(landmarks, p)
            masked = fill_hole(image, hole, np.random.default_rng(colour_seed))
            roi = FaceROI(box=Box(0, 0, p, p), image=masked, landmarks=seen, mask=hole, reference=reference,
                          valid=valid.astype(bool))
            rebuilt = composite.reconstruct([roi])[0]
            for key, value in zip(KEYS, self._to_model(image, masked, hole, rebuilt, valid)):
                out[key].append(value)
        return {k: np.stack(v) for k, v in out.items()}

    def _to_model(self, target, masked, hole, rebuilt, valid):
        """Resize to the model size as the product's GeneratorReconstructor.prepare crops."""
        s, o = self.options.size, self.options
        area = cv2.INTER_AREA if s < self.prepared_size else cv2.INTER_LINEAR
        size = (s, s)
        small_hole = (cv2.resize(hole, size, interpolation=area) > o.hole_threshold).astype(np.uint8)
        if o.hole_dilate > 0:
            k = 2 * o.hole_dilate + 1
            small_hole = cv2.dilate(small_hole, np.ones((k, k), np.uint8))
        small_valid = cv2.resize(valid.astype(np.float32), size, interpolation=cv2.INTER_LINEAR) > 0.999
        return (
            cv2.resize(target, size, interpolation=area),
            cv2.resize(masked, size, interpolation=area),
            small_hole.astype(np.float32),
            cv2.resize(rebuilt, size, interpolation=area),
            small_valid.astype(np.float32),
        )

    def __getitem__(self, index: int | tuple[int, int]) -> dict[str, torch.Tensor]:
        """``index`` or ``(epoch, index)``: tensors (2,C,S,S), images in [-1,1], maps in {0,1}."""
        epoch, index = index if isinstance(index, tuple) else (None, index)
        s = self.sample(index, epoch)
        result = {}
        for k, v in s.items():
            conv = to_tensor_map if v.ndim == 3 else to_tensor_image
            result[k] = torch.stack([conv(x) for x in v])
        return result


def _spread_pick(items: list, count: int) -> list:
    """``count`` items spread evenly over the list (held-out samples from every source, not the first one only)."""
    if count >= len(items):
        return items
    step = len(items) / count
    return [items[int(math.floor(i * step))] for i in range(count)]


__all__ = ["CompositePairOptions", "CompositePairs", "KEYS", "MASK_COLOURS"]
