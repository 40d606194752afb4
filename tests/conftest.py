"""Shared pytest fixtures: synthetic masked clips made from ``skimage.data.astronaut()``.

Everything here is session-scoped and built on first use, so a test run pays for each clip once.
Nothing depends on ``../shared/data``.

Fixtures:

- ``synthetic_clip`` -- the default :class:`~unmask_video.synthetic.SyntheticClip`: 30 frames of
  320x320 at 25 fps, light-blue surgical mask, gentle head motion, 440 Hz AAC tone. Read
  ``clip.video_path`` (H.264 MP4) and ``clip.reference_path`` (PNG); compare against ``clip.truth``
  (N, H, W, 3) uint8 unmasked frames, ``clip.masks`` (N, H, W) float32 drawn masks,
  ``clip.landmarks`` (N, 468, 2) exact landmarks, ``clip.pts`` / ``clip.time_base`` / ``clip.times``.
  Treat its arrays as read-only: the clip is shared by every test of the session.
- ``synthetic_clip_factory`` -- ``make(spec: ClipSpec) -> SyntheticClip``, cached per spec, e.g.
  ``synthetic_clip_factory(ClipSpec(frames=24, size=(256, 256), audio_hz=None, motion=0.0))``.
- ``reference_image`` -- the reference still of the default clip, (320, 320, 3) uint8 RGB (the
  unmasked astronaut in another pose, mildly recoloured); ``reference_landmarks`` -- its exact
  (468, 2) float32 landmarks.
- ``astronaut`` -- ``skimage.data.astronaut()`` (512, 512, 3) uint8, read-only; ``astronaut_landmarks``
  -- its FaceMesh landmarks (468, 2) float32 (static mode, found once).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pytest

from unmask_video.synthetic import ClipSpec, SyntheticClip, astronaut_landmarks as _astronaut_landmarks, make_clip


def _freeze(clip: SyntheticClip) -> SyntheticClip:
    for arr in (clip.truth, clip.masks, clip.landmarks, clip.masked, clip.reference, clip.reference_landmarks):
        arr.setflags(write=False)
    return clip


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """ONNX exports and other cached files go to a session folder, not the user's real cache."""
    patch = pytest.MonkeyPatch()
    patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
    yield
    patch.undo()


@pytest.fixture(scope="session")
def synthetic_clip_factory(tmp_path_factory: pytest.TempPathFactory) -> Callable[[ClipSpec], SyntheticClip]:
    """``make(spec: ClipSpec = ClipSpec()) -> SyntheticClip``, rendered once per distinct spec per session.

    The files go to a session temporary folder; the returned arrays are read-only (copy before editing).
    """
    folder: Path = tmp_path_factory.mktemp("synthetic")
    cache: dict[ClipSpec, SyntheticClip] = {}

    def make(spec: ClipSpec = ClipSpec()) -> SyntheticClip:
        if spec not in cache:
            cache[spec] = _freeze(make_clip(folder, spec))
        return cache[spec]

    return make


@pytest.fixture(scope="session")
def synthetic_clip(synthetic_clip_factory: Callable[[ClipSpec], SyntheticClip]) -> SyntheticClip:
    """The default clip: ``ClipSpec()`` (30 frames, 320x320, 25 fps, light-blue mask, motion 1.0, 440 Hz AAC)."""
    return synthetic_clip_factory(ClipSpec())


@pytest.fixture(scope="session")
def reference_image(synthetic_clip: SyntheticClip) -> np.ndarray:
    """The default clip's reference still, (320, 320, 3) uint8 RGB, read-only (same pixels as ``reference_path``)."""
    return synthetic_clip.reference


@pytest.fixture(scope="session")
def reference_landmarks(synthetic_clip: SyntheticClip) -> np.ndarray:
    """Exact landmarks (468, 2) float32 of ``reference_image``."""
    return synthetic_clip.reference_landmarks


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """``skimage.data.astronaut()``: (512, 512, 3) uint8 RGB, one face about 90 px wide near x 180..270, y 75..175."""
    return _astronaut_landmarks()[0]


@pytest.fixture(scope="session")
def astronaut_landmarks() -> np.ndarray:
    """FaceMesh landmarks (468, 2) float32 of :func:`astronaut` (static mode), read-only."""
    return _astronaut_landmarks()[1]


@pytest.fixture(scope="module")
def one_torch_thread() -> Iterator[None]:
    """Run a test module's torch work on one thread (2 busy cores make torch's pool many times slower)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
