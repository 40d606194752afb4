"""The segmenter's NumPy k-means (:mod:`unmask_video.kmeans_fit`)."""

from __future__ import annotations

import numpy as np
import pytest

from unmask_video.kmeans_fit import KMeansOptions, kmeans


def _blobs(seed: int, spread: float) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 60, (3, 3)).astype(np.float32)
    points = np.vstack([rng.normal(c, spread, (900 + 300 * i, 3)) for i, c in enumerate(centres)]).astype(np.float32)
    return points[rng.permutation(len(points))], centres


def _sorted(c: np.ndarray) -> np.ndarray:
    return c[np.lexsort(c.T[::-1])]


def test_kmeans_finds_separated_clusters_and_is_deterministic() -> None:
    points, truth = _blobs(1, 2.0)
    centres = kmeans(points, 3, 0)
    assert centres.shape == (3, 3) and centres.dtype == np.float32
    assert np.abs(_sorted(centres) - _sorted(truth)).max() < 0.5
    assert np.array_equal(kmeans(points, 3, 0), centres)  # (the same points and seed: the same centres)


@pytest.mark.parametrize("seed", range(12))
def test_kmeans_reaches_scikit_learns_fit_from_its_seeds(seed: int) -> None:
    """Seeded as scikit-learn's ``KMeans(random_state=...)`` seeds (the same legacy generator's draws), overlapping
    clusters with several local optima end where scikit-learn's end, the restarts' best kept alike."""
    sklearn_cluster = pytest.importorskip("sklearn.cluster")
    points, _ = _blobs(100 + seed, 9.0)
    sample = points[:4000]
    ours = kmeans(sample, 3, 0, KMeansOptions(restarts=2, max_iter=50))
    theirs = sklearn_cluster.KMeans(n_clusters=3, n_init=2, random_state=0, max_iter=50).fit(sample).cluster_centers_
    assert np.abs(_sorted(ours) - _sorted(theirs)).max() < 0.05


def test_kmeans_with_an_emptied_cluster_and_repeated_points() -> None:
    """Few distinct points, many repeats: every centre a real place (an emptied cluster is moved to a far point)."""
    points = np.vstack([np.zeros((50, 3)), np.full((3, 3), 10.0), np.full((2, 3), 20.0)]).astype(np.float32)
    centres = kmeans(points, 3, 0)
    assert np.isfinite(centres).all()
    assert sorted(np.round(centres[:, 0]).tolist()) == [0.0, 10.0, 20.0]
    with pytest.raises(ValueError):
        kmeans(points[:2], 3, 0)
