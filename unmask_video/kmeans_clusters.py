"""The k-means clustering of the mask segmenter (the fit itself: :mod:`unmask_video.kmeans_fit`): a keyframe's fit
(:class:`ClusterFit`) and the later frames' pixels assigned to its centres (:func:`nearest_centres`); the maps of the
chosen clusters; the colour histogram that tells a scene change; what a centre's colour says against the forehead's
skin (:func:`shaded_skin`, :func:`is_warm`)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from unmask_video.mask_pixels import gaussian_reach


@dataclass
class ClusterFit:
    """Cluster centres fitted on a keyframe, and what the fit looked like there."""

    centres: np.ndarray  # (k, 3) float32 in feature space
    mask_clusters: np.ndarray  # (n,) bool, the centres currently taken as mask
    eligible: np.ndarray  # (n,) bool, the k-means centres (False: the skin anchor, never mask)
    mean_dist: float  # mean pixel-to-centre distance at the keyframe
    share: float  # mask share of the polygon at the previous frame
    hist: np.ndarray  # normalised colour histogram of the region at the keyframe
    skin: np.ndarray | None = None  # forehead skin colour (feature space), when visible
    age: int = 0  # frames since the fit
    unmasked: bool = False  # the "mask" cluster has the forehead's skin colour: no mask is worn
    past_hands: bool = False  # the mask cluster was chosen on the core a skin-coloured occluder leaves free
    skin_gap: float = float("inf")  # the chosen mask centres' nearest distance to the forehead probe (inf: no probe)


def blur_reach(sigma: float) -> int:
    """How far (pixels) :func:`mask_clusters.features`' Gaussian blur of ``sigma`` reaches; 0 when it does not blur."""
    return gaussian_reach(sigma) if sigma >= 0.5 else 0


def has_distinct(rows: np.ndarray, k: int) -> bool:
    """Whether ``rows`` ((n, d)) holds at least ``k`` distinct rows (``len(np.unique(rows, axis=0)) >= k``: that sorts
    the rows, several ms on a k-means sample; this drops the rows equal to a first one, k times at most)."""
    rest = rows
    for _ in range(k):
        if len(rest) == 0:
            return False
        rest = rest[(rest != rest[0]).any(axis=1)]
    return True


def clusters_map(
    labels: np.ndarray, region_idx: np.ndarray, chosen: np.ndarray, shape: tuple[int, int]
) -> np.ndarray:
    """(h, w) uint8, 1 at the region's pixels (``region_idx`` into the flattened ``shape``) whose k-means cluster
    (``labels``) is one of the ``chosen`` ((k,) bool), 0 elsewhere."""
    out = np.zeros(shape[0] * shape[1], np.uint8)
    out[region_idx[chosen[labels]]] = 1
    return out.reshape(shape)


def cluster_map(
    labels: np.ndarray, region_idx: np.ndarray, chosen: np.ndarray, shape: tuple[int, int]
) -> np.ndarray:
    """(h, w) int32: at the region's pixels whose k-means cluster is one of the ``chosen``, that cluster; -1 elsewhere."""
    out = np.full(shape[0] * shape[1], -1, np.int32)
    out[region_idx] = np.where(chosen[labels], labels, -1)
    return out.reshape(shape)


def colour_histogram(image: np.ndarray, region: np.ndarray) -> np.ndarray:
    hist = cv2.calcHist([image], [0, 1, 2], region, [8, 8, 8], [0, 256, 0, 256, 0, 256]).ravel()
    return hist / max(float(hist.sum()), 1.0)


def nearest_centres(feats: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The nearest centre of every feature (labels, int; the first of equally near ones) and the distance to it
    (float32): the values of ``cv2.batchDistance(..., NORM_L2, K=1)`` (per feature the float32 sum of the squared
    channel differences in channel order, its square root), by whole-column NumPy operations, one centre at a
    time: about 2.4x faster than batchDistance's nearest-neighbour search on the k-means region's pixels."""
    f = np.ascontiguousarray(np.asarray(feats, np.float32).T)  # (channels, n): whole contiguous columns
    best: np.ndarray | None = None
    labels = np.zeros(f.shape[1], np.intp)
    for j, centre in enumerate(np.asarray(centres, np.float32)):
        sq = np.subtract(f[0], centre[0])
        sq *= sq
        for ch in range(1, len(f)):
            d = np.subtract(f[ch], centre[ch])
            d *= d
            sq += d
        if best is None:
            best = sq
        else:
            np.putmask(labels, sq < best, j)  # (strictly nearer: a tie keeps the first centre)
            np.minimum(best, sq, out=best)
    assert best is not None
    return labels, np.sqrt(best, out=best)


def shaded_skin(centres: np.ndarray, skin: np.ndarray, more: float) -> np.ndarray:
    """bool (k,): the ``centres`` (feature space) darker than the forehead's ``skin`` whose chroma along the skin's
    hue (Lab a, b from grey) is at least ``more`` beyond the skin's own: its shade, not a paler cloth."""
    hue = skin[1:] - np.float32(128.0)
    norm = float(np.linalg.norm(hue))
    if norm < 1e-3:
        return np.zeros(len(centres), bool)
    along = (centres[:, 1:] - np.float32(128.0)) @ (hue / norm)
    return (centres[:, 0] < skin[0]) & (along >= norm + more)


def is_warm(skin: np.ndarray) -> bool:
    """Does this (feature-space) colour look like lit skin: red and yellow enough (Lab a, b above neutral)?"""
    return bool((skin[1] - 128.0) + (skin[2] - 128.0) >= 8.0)

