"""Which k-means clusters are the mask: the features and the core they are told by, the fit, the choice of the mask
clusters on every frame, and when a kept fit must be refitted."""

from __future__ import annotations

import logging
from collections.abc import Callable

import cv2
import numpy as np

from unmask_video import landmark_sets as ls
from unmask_video.colour_model import shading_free_chroma
from unmask_video.kmeans_clusters import ClusterFit, clusters_map, has_distinct, is_warm, nearest_centres, shaded_skin
from unmask_video.kmeans_fit import kmeans
from unmask_video.mask_presence import lower_face
from unmask_video.mask_region import face_size
from unmask_video.occluders import entering
from unmask_video.segment_options import SegmentOptions

log = logging.getLogger(__name__)

__all__ = [
    "core_mask", "features", "probe_pixels", "skin_colour", "fit_clusters", "core_share_past_hands", "free_chroma",
    "choose_clusters", "refit_reason",
]


def core_mask(lm: np.ndarray, size: float, shape: tuple[int, int], opt: SegmentOptions) -> np.ndarray:
    core = np.zeros(shape, np.uint8)
    r = max(int(round(opt.core_radius * size)), 1)
    points = ls.MASK_CORE + (ls.MASK_CHIN if opt.core_chin else ())
    for x, y in np.round(lm[ls.index(points)]).astype(np.int32).tolist():  # (Python ints: no conversion per point)
        cv2.circle(core, (x, y), r, 1, -1)
    return core > 0


def features(image: np.ndarray, size: float, opt: SegmentOptions, pixels: np.ndarray | None = None) -> np.ndarray:
    """The k-means features of ``image`` (uint8 RGB): blurred, Lab, float32, the lightness weighted; (h, w, 3), or
    (n, 3) of the ``pixels`` (flat indices) only (the blurred RGB pixels taken, then converted: the same values as the
    whole image's Lab at them)."""
    sigma = opt.blur_sigma * size
    if sigma >= 0.5:
        image = cv2.GaussianBlur(image, (0, 0), sigma)
    if pixels is not None:
        # (the blurred pixels taken first (np.take of rows: 3x faster than a fancy index), then converted as one row:
        # OpenCV's uint8 Lab is per pixel, the same values as the whole image's at those pixels, for fewer pixels)
        rgb = np.take(np.ascontiguousarray(image).reshape(-1, 3), pixels, axis=0)
        lab = cv2.cvtColor(rgb[None], cv2.COLOR_RGB2LAB)[0] if len(rgb) else rgb  # (none: cvtColor refuses it)
    else:
        lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB)
    lab = lab.astype(np.float32)
    lab[..., 0] *= opt.lightness_weight
    return lab


def probe_pixels(image: np.ndarray, lm: np.ndarray, poly: np.ndarray, opt: SegmentOptions) -> np.ndarray | None:
    """RGB pixels (n, 3) of the forehead probe disks outside the search polygon, or None if too few."""
    r = max(int(round(opt.core_radius * face_size(lm))), 1)
    centres = np.round(lm[ls.index(ls.FOREHEAD)]).astype(np.int32)
    # (drawn in the disks' box only, clipped to the image: the same pixels, in the same order, as over the whole ROI)
    h, w = image.shape[:2]
    x0, y0 = np.maximum(centres.min(axis=0) - r, 0).tolist()
    x1, y1 = np.minimum(centres.max(axis=0) + r + 1, [w, h]).tolist()
    if x1 <= x0 or y1 <= y0:
        return None
    probe = np.zeros((y1 - y0, x1 - x0), np.uint8)
    for x, y in (centres - [x0, y0]).tolist():
        cv2.circle(probe, (x, y), r, 1, -1)
    cv2.fillPoly(probe, [poly - np.array([x0, y0], np.int32)], 0)
    pixels = image[y0:y1, x0:x1][probe > 0]
    return pixels if len(pixels) >= 20 else None


def skin_colour(image: np.ndarray, lm: np.ndarray, poly: np.ndarray, opt: SegmentOptions) -> np.ndarray | None:
    """Median feature of the forehead probe disks outside the search polygon, or None if too few."""
    pixels = probe_pixels(image, lm, poly, opt)
    if pixels is None:
        return None
    lab = cv2.cvtColor(pixels.reshape(1, -1, 3), cv2.COLOR_RGB2LAB).reshape(-1, 3).astype(np.float32)
    lab[:, 0] *= opt.lightness_weight
    return np.median(lab, axis=0).astype(np.float32)


def fit_clusters(
    feats: np.ndarray,
    region_idx: np.ndarray,
    core: np.ndarray,
    lm: np.ndarray,
    hist: np.ndarray,
    shape: tuple[int, int],
    skin: np.ndarray | None,
    opt: SegmentOptions,
    cloth: Callable[[np.ndarray, np.ndarray], bool] | None = None,
) -> ClusterFit:
    """The k-means fit of the region's ``feats`` and the mask clusters chosen among its centres. ``cloth``: told every
    feature's cluster (labels) and the clusters first chosen ((k,) bool, of the skin's colour), whether their map is
    cloth of the skin's own colour (a beige mask on beige skin): then they stay the mask, instead of a cluster unlike
    the skin (``skin_far_only``)."""
    k = opt.clusters
    rng = np.random.default_rng(opt.seed)  # a fresh seeded generator: the same frame gives the same fit
    n = min(opt.sample_pixels, len(feats))
    sample = feats[rng.choice(len(feats), n, replace=False)] if len(feats) > n else feats
    if not has_distinct(sample, k):  # flat region: jitter so that k-means has k distinct points
        sample = sample + rng.normal(0, 0.5, sample.shape).astype(np.float32)
    centres = kmeans(sample, k, opt.seed)
    labels, dist = nearest_centres(feats, centres)
    eligible = np.ones(k, bool)
    mask_clusters = choose_clusters(labels, region_idx, core, lm, shape, eligible, opt)
    unmasked = hands_core = False
    if skin is not None:
        main = centres[mask_clusters]
        gap = float(np.linalg.norm(main - skin, axis=1).min())
        unmasked = gap < opt.no_mask_below
        # (nearer than ``skin_near``: the skin itself; a white mask's lit side on pale skin is a little further)
        distance = np.linalg.norm(centres - skin, axis=1)
        far = distance >= min(opt.skin_near, opt.skin_min_distance)
        if opt.skin_near_shaded > opt.skin_near:
            far &= ~((distance < opt.skin_near_shaded) & shaded_skin(centres, skin, opt.skin_shade_chroma))
        log.debug("fit: centres %s, skin %s", np.round(centres, 1).tolist(), np.round(skin, 1).tolist())
        # (only against a warm probe: an overexposed or grey forehead says nothing about the skin's colour)
        if (
            opt.skin_far_only and is_warm(skin) and far.any() and not far[mask_clusters].all()
            and not (cloth is not None and cloth(labels, mask_clusters))
        ):
            # The core is bare skin (a mask worn low, or no mask): the mask, if any, is a cluster unlike skin
            # that still holds a part of the core (the chin, the mouth), not hair or background on the rim.
            core_labels = labels[core.ravel()[region_idx]]
            core_share = np.bincount(core_labels, minlength=k) / max(len(core_labels), 1)
            past_hands = False
            if float(core_share[far].max()) < opt.far_core_share:
                clear = np.linalg.norm(centres - skin, axis=1) >= opt.presence.hand_colour
                core_share = core_share_past_hands(labels, region_idx, core, lm, shape, far, opt, clear)
                past_hands = True
            if float(core_share[far].max()) >= opt.far_core_share:
                eligible = far
                hands_core = past_hands
                mask_clusters = choose_clusters(labels, region_idx, core, lm, shape, eligible, opt, hands_core)
                gap = float(np.linalg.norm(centres[mask_clusters] - skin, axis=1).min())
        if opt.skin_anchor and gap >= opt.skin_min_distance:
            centres = np.vstack([centres, skin[None, :]]).astype(np.float32)
            eligible = np.append(eligible, False)
            labels, dist = nearest_centres(feats, centres)
            mask_clusters = choose_clusters(labels, region_idx, core, lm, shape, eligible, opt, hands_core)
        else:
            log.debug("skin probe %.1f from the mask centre: not used", gap)
    share = float(mask_clusters[labels].mean())
    return ClusterFit(
        centres, mask_clusters, eligible, float(dist.mean()), share, hist, skin=skin, unmasked=unmasked,
        past_hands=hands_core, skin_gap=gap if skin is not None else float("inf"),
    )


def core_share_past_hands(
    labels: np.ndarray,
    region_idx: np.ndarray,
    core: np.ndarray,
    lm: np.ndarray,
    shape: tuple[int, int],
    far: np.ndarray,
    opt: SegmentOptions,
    clear: np.ndarray | None = None,
) -> np.ndarray:
    """Each cluster's share of the core pixels that no skin-coloured occluder hides: a hand in front of the mask,
    coming into the face from below, holds the nose and mouth; the mask is the cluster around it. When the occluder
    hides nearly the whole core, the shares of what it leaves of the lower face under the nose, counted for the
    ``clear`` clusters only ((k,) bool; None: all), or all zeros (``hands_lower`` off)."""
    k = len(far)
    hands = entering(clusters_map(labels, region_idx, ~far, shape), lm, face_size(lm))
    free = core & (hands == 0)
    counts = np.bincount(labels[free.ravel()[region_idx]], minlength=k).astype(np.float64)
    if counts.sum() < 0.02 * max(int(core.sum()), 1):
        if not opt.hands_lower:
            return np.zeros(k)
        # (the hand hides the whole core, a mask worn below the nose with a hand flat over its middle: what the
        # hand leaves of the lower face under the nose, the mask's sides, stands in for it; only clusters
        # ``clear``ly unlike the skin count there: a bare face's shaded side is not)
        lower = lower_face(shape, lm)
        free = (lower > 0) & (hands == 0)
        counts = np.bincount(labels[free.ravel()[region_idx]], minlength=k).astype(np.float64)
        if counts.sum() < 0.02 * max(int(lower.sum()), 1):
            return np.zeros(k)
        if clear is not None:
            return np.where(clear, counts, 0.0) / counts.sum()
    return counts / counts.sum()


def free_chroma(feats: np.ndarray, opt: SegmentOptions) -> np.ndarray:
    """(n, 2) float32: the Lab chroma (a, b) of segmenter features (n, 3) divided by their lightness, as the colour
    model's shading-free bins do (:mod:`unmask_video.mask_refine`): a shaded colour keeps it."""
    light = feats[:, 0] / opt.lightness_weight
    return shading_free_chroma(light[:, None], feats[:, 1:] - 128.0)


def choose_clusters(
    labels: np.ndarray,
    region_idx: np.ndarray,
    core: np.ndarray,
    lm: np.ndarray,
    shape: tuple[int, int],
    eligible: np.ndarray,
    opt: SegmentOptions,
    among_eligible: bool = False,
) -> np.ndarray:
    """Pick the mask cluster(s) among the ``eligible`` centres: the one with most core pixels, plus any
    other holding a share of the core whose pixels lie as much inside the polygon (not on its rim).
    ``among_eligible``: the shares count the eligible centres' core pixels only (a hand in front of the mask
    holds most of the core: the mask's lit and shaded sides share what it leaves)."""
    k = len(eligible)
    core_flat = core.ravel()[region_idx]
    core_counts = np.bincount(labels[core_flat], minlength=k).astype(np.float64)
    if among_eligible:
        core_counts = np.where(eligible, core_counts, 0.0)
    core_share = core_counts / max(core_counts.sum(), 1.0)
    # The inner part of the region: the unexpanded polygon shrunk toward its centre.
    inner_poly = lm[ls.index(ls.MASK_REGION)].astype(np.float32)  # (region_polygon with no margin)
    centre = inner_poly.mean(axis=0)
    inner_poly = centre + 0.7 * (inner_poly - centre)
    inner = np.zeros(shape, np.uint8)
    cv2.fillPoly(inner, [np.round(inner_poly).astype(np.int32)], 1)
    inner_flat = inner.ravel()[region_idx] > 0
    totals = np.bincount(labels, minlength=k).astype(np.float64)
    inner_frac = np.bincount(labels[inner_flat], minlength=k) / np.maximum(totals, 1.0)
    main = int(np.where(eligible, core_share, -1.0).argmax())
    chosen = np.zeros(k, bool)
    chosen[main] = True
    ratio = opt.merge_inner_ratio_hands if among_eligible else opt.merge_inner_ratio
    for c in np.flatnonzero(eligible):
        if c != main and core_share[c] >= opt.merge_core_share and inner_frac[c] >= ratio * inner_frac[main]:
            chosen[c] = True
    log.debug("core share %s inner fraction %s -> mask clusters %s", core_share, inner_frac, chosen)
    return chosen


def refit_reason(
    fit: ClusterFit,
    labels: np.ndarray,
    dist: np.ndarray,
    hist: np.ndarray,
    core: np.ndarray,
    region_idx: np.ndarray,
    opt: SegmentOptions,
) -> str | None:
    if fit.age >= opt.max_reuse_frames:
        return "age"
    if 0.5 * float(np.abs(hist - fit.hist).sum()) > opt.scene_threshold:
        return "scene"
    if float(dist.mean()) > opt.refit_threshold * max(fit.mean_dist, 1.0):
        return "fit"
    in_mask = fit.mask_clusters[labels]
    if abs(float(in_mask.mean()) - fit.share) > opt.share_jump:
        return "share"
    core_flat = core.ravel()[region_idx]
    if core_flat.any() and float(in_mask[core_flat].mean()) < 0.5:
        return "core"
    return None
