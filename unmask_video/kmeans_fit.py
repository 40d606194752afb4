"""A small k-means for the segmenter's keyframe fits, in NumPy: greedy k-means++ seeding from a seeded generator,
Lloyd's iterations, the best of a few restarts by inertia. Deterministic: the same points and seed give the same
centres. On the segmenter's samples it costs about 4-5 ms a fit, where scikit-learn's ``KMeans`` spent about 6 ms
(after 1.1 s of import), and it gives the same centres (its seeding draws are scikit-learn's)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["KMeansOptions", "kmeans", "kmeans_plus_plus"]


@dataclass(frozen=True)
class KMeansOptions:
    """How a fit runs: ``restarts`` seedings, each followed by at most ``max_iter`` Lloyd iterations, stopped when
    the labels no longer change or the centres' squared shift is at most ``tol`` times the points' mean variance."""

    restarts: int = 2
    max_iter: int = 50
    tol: float = 1e-4


def _squared_distances(columns: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """(k, n) squared Euclidean distances of the points given as ``columns`` ((d, n) float64, one row a channel) to
    ``centres`` (k, d): the channel differences themselves, whole rows at a time (no BLAS product: no thread pool, no
    cancellation between large norms)."""
    out = np.empty((len(centres), columns.shape[1]), np.float64)
    for j, centre in enumerate(centres):
        row = out[j]
        np.subtract(columns[0], centre[0], out=row)
        row *= row
        for ch in range(1, len(columns)):
            d = columns[ch] - centre[ch]
            d *= d
            row += d
    return out


def kmeans_plus_plus(columns: np.ndarray, k: int, rng: np.random.RandomState) -> np.ndarray:
    """Greedy k-means++ on the points ``columns`` ((d, n)), drawn as scikit-learn's ``KMeans`` draws them from the
    same legacy generator (its ``random_state``): the first centre a random point, each next one the best (least
    potential) of ``2 + log k`` candidates drawn with probability proportional to the squared distance to the nearest
    centre so far, the distances and potentials in float32 as scikit-learn's on float32 points. (k, d) float64."""
    n = columns.shape[1]
    trials = 2 + int(np.log(k))
    weights = np.ones(n, np.float32)
    centres = np.empty((k, len(columns)), np.float64)
    first = int(rng.choice(n, p=weights / weights.sum()))
    centres[0] = columns[:, first]
    closest = _squared_distances(columns, centres[:1])[0].astype(np.float32)
    potential = closest @ weights
    for c in range(1, k):
        ids = np.searchsorted(np.cumsum(weights * closest), rng.uniform(size=trials) * potential)
        np.clip(ids, None, n - 1, out=ids)
        to_candidates = _squared_distances(columns, columns[:, ids].T).astype(np.float32)  # (trials, n)
        np.minimum(closest[None, :], to_candidates, out=to_candidates)
        pots = to_candidates @ weights
        best = int(np.argmin(pots))
        potential, closest = pots[best], to_candidates[best]
        centres[c] = columns[:, ids[best]]
    return centres


def _nearest(columns: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The nearest of the ``centres`` (k, d) to each point of ``columns`` ((d, n)): its index (the first of equally
    near ones, as an argmin) and the squared distance to it (float64), one centre's whole rows at a time."""
    labels = np.zeros(columns.shape[1], np.intp)
    best = _squared_distances(columns, centres[:1])[0]
    for j in range(1, len(centres)):
        sq = _squared_distances(columns, centres[j : j + 1])[0]
        np.putmask(labels, sq < best, j)  # (strictly nearer: a tie keeps the first centre)
        np.minimum(best, sq, out=best)
    return labels, best


def _lloyd(
    columns: np.ndarray, centres: np.ndarray, max_iter: int, tol: float
) -> tuple[np.ndarray, np.ndarray, float]:
    """Lloyd's iterations on ``columns`` ((d, n)) from ``centres`` (k, d): the centres, the points' nearest of them
    and their inertia (the sum of the squared distances of the points to their nearest centre)."""
    k = len(centres)
    labels: np.ndarray | None = None
    for _ in range(max_iter):
        new_labels, best = _nearest(columns, centres)
        if labels is not None and np.array_equal(new_labels, labels):
            break
        labels = new_labels
        counts = np.bincount(labels, minlength=k)
        moved = centres.copy()
        if counts.all():
            for ch in range(len(columns)):
                moved[:, ch] = np.bincount(labels, weights=columns[ch], minlength=k) / counts
        else:
            filled = counts > 0
            for ch in range(len(columns)):
                sums = np.bincount(labels, weights=columns[ch], minlength=k)
                moved[filled, ch] = sums[filled] / counts[filled]
            # (an emptied cluster: moved to the points farthest from their own centres)
            far = np.argsort(-best, kind="stable")
            for j, c in enumerate(np.flatnonzero(~filled)):
                moved[c] = columns[:, far[j]]
        shift = float(((moved - centres) ** 2).sum())
        centres = moved
        if shift <= tol:
            break
    labels, best = _nearest(columns, centres)
    return centres, labels, float(best.sum())


def _same_clustering(a: np.ndarray, b: np.ndarray, k: int) -> bool:
    """Whether the labels ``b`` are those of ``a`` renamed (each of ``a``'s clusters is one of ``b``'s), as
    scikit-learn's ``_is_same_clustering`` tells it."""
    pairs = np.bincount(a * k + b, minlength=k * k).reshape(k, k) > 0
    return bool((pairs.sum(axis=1) <= 1).all())


def kmeans(points: np.ndarray, k: int, seed: int, options: KMeansOptions = KMeansOptions()) -> np.ndarray:
    """The centres (k, d) float32 of a k-means fit of ``points`` (n, d), n >= k: the least inertia of
    ``options.restarts`` fits (a later one kept only if it clusters otherwise), each seeded by k-means++ from one
    legacy generator seeded with ``seed``, as scikit-learn's ``KMeans(n_clusters=k, n_init=restarts,
    max_iter=max_iter, tol=tol, random_state=seed)`` seeds and keeps them (its points centred on their mean first,
    as there): the same seeds, the same local optimum, the same centres but for float rounding."""
    x = np.asarray(points, np.float32)
    if len(x) < k:
        raise ValueError(f"k-means needs at least k={k} points, got {len(x)}")
    mean = x.mean(axis=0)
    centred = x - mean
    columns = np.ascontiguousarray(centred.T, dtype=np.float64)
    tol = options.tol * float(np.mean(np.var(centred, axis=0)))
    rng = np.random.RandomState(seed)
    best: tuple[np.ndarray, np.ndarray, float] | None = None
    for _ in range(max(options.restarts, 1)):
        fit = _lloyd(columns, kmeans_plus_plus(columns, k, rng), options.max_iter, tol)
        # (a restart replaces the best one only with another clustering, as scikit-learn's: the same clustering
        # found again keeps the first one's centres, whatever its float rounding says of their inertias)
        if best is None or (fit[2] < best[2] and not _same_clustering(fit[1], best[1], k)):
            best = fit
    assert best is not None
    return (best[0] + mean).astype(np.float32)
