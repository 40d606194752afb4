"""Whether a mask is worn on this frame: the presence cues measured on the segmenter's mask, a hand in front of it
told apart, and the decision kept per face (:mod:`unmask_video.mask_presence`)."""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np

from unmask_video.kmeans_clusters import ClusterFit, is_warm
from unmask_video.mask_cleanup import fill_hand_holes
from unmask_video.mask_clusters import free_chroma
from unmask_video.mask_pixels import pixels_of
from unmask_video.mask_presence import (
    Presence, PresenceOptions, edge_contrast, edge_slant, lip_contrast, lips_region, lower_cover, lower_face,
    mouth_darkness, nostril_darkness, presence_score, skin_cloth_score,
)
from unmask_video.occluders import entering, skin_occluders, skin_table
from unmask_video.segment_options import SegmentOptions
from unmask_video.segment_state import FaceState

log = logging.getLogger(__name__)

__all__ = ["decide_presence", "kmeans_cues", "skin_cloth", "skin_in_front"]


def skin_distance(feats: np.ndarray, in_mask: np.ndarray, fit: ClusterFit) -> float | None:
    """The colour distance of the k-means mask's mean feature to the forehead's skin; None without a warm skin
    probe (a grey or overexposed forehead is no skin colour to compare with) or without a mask pixel."""
    if fit.skin is None or not is_warm(fit.skin) or not in_mask.any():
        return None
    # (the mean as a sum of products with the 0/1 weights: a mean over axis 0 of an (n, 3) array is several times
    # slower, and a matrix product wakes BLAS's threads, slow on a loaded machine)
    mean = np.einsum("i,ij->j", in_mask.astype(np.float32), feats) / np.float32(np.count_nonzero(in_mask))
    return float(np.linalg.norm(mean - fit.skin))


def kmeans_cues(
    feats: np.ndarray, in_mask: np.ndarray, raw: np.ndarray, fit: ClusterFit, lm: np.ndarray, opt: SegmentOptions
) -> tuple[float | None, float]:
    """The cheap cues of the k-means mask alone (``raw``, its working-window map; ``in_mask``, its pixels among the
    region's ``feats``): its colour distance to the skin (None: none to compare) and its cover of the lower face,
    for a face settled bare (:meth:`~unmask_video.mask_presence.Presence.bare_settled`)."""
    cover, _, _ = lower_cover(raw, lower_face(raw.shape[:2], lm), None, opt.presence)
    return skin_distance(feats, in_mask, fit), cover


def decide_presence(
    state: FaceState,
    binary: np.ndarray,
    seed: np.ndarray,
    feats: np.ndarray,
    in_mask: np.ndarray,
    fit: ClusterFit,
    lab: np.ndarray,
    lm: np.ndarray,
    size: float,
    opt: SegmentOptions,
    skin_like: np.ndarray | None = None,
) -> tuple[bool, float, float, np.ndarray]:
    """(worn, score, running average, mask) of this frame; always worn when the decision is off. The mask is
    ``binary``, with the holes it encloses together with a hand in front of it filled (``hand_holes``)."""
    popt = opt.presence
    if not popt.enabled:
        return bool(binary.any()), 1.0, 1.0, binary
    # (a grey or overexposed forehead is no skin colour to compare with: the other cues decide)
    distance = skin_distance(feats, in_mask, fit)
    # The lower face under the nose: a mask worn correctly or low covers it; skin, lips or a beard do not.
    # Hands in front of the mask (skin-coloured, coming into the face from outside) are left out of it when the
    # visible mask already covers most of it.
    lower = lower_face(lab.shape[:2], lm)
    skin_ab = None if fit.skin is None else fit.skin[1:]  # (feature space: Lab with L scaled; a, b as they are)
    cover, occluded, _ = lower_cover(binary, lower, None, popt)
    # (cheap, measured every frame: a worn mask taken off and held up across the face keeps its colour and cover)
    slant = edge_slant(binary, lm, size) if popt.slant_high > 0 else None
    if state.presence is None:
        state.presence = Presence(popt)
    if state.presence.settled(distance, cover):
        # (settled on a worn mask: the costly cues of the last measured frame stand)
        state.presence.reused += 1
        lips, edge, mouth, rest, nostrils = state.presence.cues  # type: ignore[misc]
        score = presence_score(distance, cover, lips, edge, popt, mouth, rest, slant, nostrils)
        worn = state.presence.update(score)
        log.debug("presence: settled, cues reused; cover %.2f slant %s score %.2f -> %s", cover, slant, score, worn)
        return worn, score, float(state.presence.average or 0.0), binary
    occluder, lips = None, None
    edge = edge_contrast(lab, seed if opt.edge_on_seed else binary, lm, size)
    if (
        popt.occluder_tolerance > 0 and skin_ab is not None and is_warm(fit.skin)
        and min(popt.occluder_min_cover, popt.hand_min_cover) <= cover < popt.cover_high
    ):
        # The wider hand rules (the k-means' skin-like clusters as hand candidates, the mask seen on one side only)
        # only behind clear cloth: unlike the skin in colour and in chroma over lightness, with a clear upper edge
        # (a bare face's shaded half beside its lit half, which joins the neck like a hand, is none of these).
        clear = (distance is None or distance >= popt.hand_colour) and (edge is None or edge >= popt.hand_edge)
        if clear and in_mask.any():
            chroma = np.median(free_chroma(feats[in_mask], opt), axis=0)
            clear = float(np.linalg.norm(chroma - free_chroma(fit.skin[None, :], opt)[0])) >= popt.hand_chroma
        hands = skin_occluders(lab, binary, lm, size, skin_ab, popt.occluder_tolerance)
        if clear and skin_like is not None:
            # (a hand lit unlike the forehead, still unlike the mask)
            hands |= entering(skin_like & (1 - (binary > 0).astype(np.uint8)), lm, size)
        mouth = lips_region(lab.shape[:2], lm)
        rules = popt if clear else replace(popt, hand_one_side=0.0)
        hand_cover, hand_occluded, discounted = lower_cover(binary, lower, hands, rules, mouth)
        if discounted:
            # A hand over the mouth is no red lips either; but red lips still in view past it: a bare face
            # (its lit skin joins the neck like a hand).
            hand_lips = lip_contrast(lab, lm, size, binary, skin_ab, popt.lips_ring_skin, hands)
            if hand_lips is None or hand_lips <= popt.hand_lips:
                occluder, cover, occluded, lips = hands, hand_cover, hand_occluded, hand_lips
                if opt.hand_holes and float((hands[mouth > 0] > 0).mean()) >= popt.hand_mouth:
                    # (a hand over the mouth, not the neck's skin below a mask: a print's blotch or a shadow along
                    # the hand's edge, between the hand and the cloth)
                    filled = fill_hand_holes(binary, hands, lm)
                    if filled is not binary:
                        binary = filled
                        cover, occluded, _ = lower_cover(binary, lower, hands, rules, mouth)
    if occluder is None:
        lips = lip_contrast(lab, lm, size, binary, skin_ab, popt.lips_ring_skin)
    mouth, rest = None, None
    if popt.mouth_high > 0:
        far = popt.mouth_far if popt.mouth_over_high > 0 else 0.0
        mouth, rest = mouth_darkness(lab, binary, lm, size, popt.mouth_reach, far)
    nostrils = None
    if popt.nostril_high > 0 and _skin_cloth_possible(distance, mouth, edge, popt):
        nostrils = nostril_darkness(lab, binary, lm, size, popt.nostril_reach, popt.nostril_cover)
    score = presence_score(distance, cover, lips, edge, popt, mouth, rest, slant, nostrils)
    if fit.past_hands and occluder is None and cover < popt.cover_high:
        # The mask cluster was found around a skin-coloured occluder holding the core: worn only while that
        # occluder passes as a hand, or once the mask covers the lower face by itself (the hand has gone);
        # else it was a bare face's lit skin joining the neck, around a beard or a shadow.
        score = 0.0
    state.presence.measured((lips, edge, mouth, rest, nostrils), score, distance, cover)
    hidden = 0.0
    if (
        popt.hold_frames > 0 and state.presence.worn and score < (state.presence.average or 0.0)
        and popt.occluder_tolerance > 0 and skin_ab is not None and is_warm(fit.skin)
        and (lips is None or lips <= popt.lips_low)
    ):
        hidden = skin_in_front(lab, binary, lower, skin_ab, popt.occluder_tolerance)
    worn = state.presence.update(score, hidden >= popt.hold_skin)
    log.debug(
        "presence: skin distance %s cover %.2f (occluded %.2f) lips %s edge %s mouth %s (rest %s) slant %s"
        " score %.2f skin in front %.2f -> %s", distance, cover, occluded, lips, edge, mouth, rest, slant, score, hidden, worn,
    )
    return worn, score, float(state.presence.average or 0.0), binary


def skin_cloth(lab: np.ndarray, mask: np.ndarray, lm: np.ndarray, size: float, popt: PresenceOptions) -> bool:
    """Whether ``mask`` (uint8 {0, 1}, a k-means cluster of the forehead's own colour) may be cloth of the skin's
    colour, not the bare lower face: it covers the lower face (``skin_cloth_cover``), no red lips show (``lips_low``), and
    :func:`~unmask_video.mask_presence.skin_cloth_score` of its cues is at least ``skin_cloth_least``. A bare face's
    skin cluster leaves its lips out and shows its mouth; a hand over the mouth leaves the nostrils out or shows its
    fingers."""
    if not popt.skin_coloured or popt.nostril_high <= 0:
        return False
    cover, _, _ = lower_cover(mask, lower_face(mask.shape[:2], lm), None, popt)
    if cover < popt.skin_cloth_cover:
        return False
    nostrils = nostril_darkness(lab, mask, lm, size, popt.nostril_reach, popt.nostril_cover)
    if nostrils is None or nostrils >= popt.nostril_high:
        return False
    mouth, rest = mouth_darkness(lab, mask, lm, size, popt.mouth_reach, popt.mouth_far)
    if mouth is None or mouth >= popt.skin_mouth_high:
        return False
    lips = lip_contrast(lab, lm, size)
    if lips is not None and lips > popt.lips_low:
        return False
    edge = edge_contrast(lab, mask, lm, size)
    score = skin_cloth_score(mouth, rest, nostrils, edge, popt)
    log.debug("skin-coloured cloth? cover %.2f nostrils %.1f mouth %.1f rest %s lips %s edge %s: %.2f",
              cover, nostrils, mouth, rest, lips, edge, score)
    return score >= popt.skin_cloth_least


def _skin_cloth_possible(
    distance: float | None, mouth: float | None, edge: float | None, popt: PresenceOptions
) -> bool:
    """Whether the nostrils cue can change this frame's score (:func:`~unmask_video.mask_presence.skin_cloth_score`):
    a forehead colour nearer than ``colour_near``, no mouth in view and a measured upper edge."""
    return (
        popt.skin_coloured and distance is not None and distance < popt.colour_near and mouth is not None
        and mouth < popt.skin_mouth_high and edge is not None
    )


def skin_in_front(
    lab: np.ndarray, mask: np.ndarray, lower: np.ndarray, skin_ab: np.ndarray, tolerance: float
) -> float:
    """The share of the ``lower`` face that is not ``mask`` and has the skin's colour (Lab a, b within ``tolerance``,
    the presence's ``occluder_tolerance``, of ``skin_ab``): on a worn mask, a hand or fingers in front of it."""
    inside = lower > 0
    area = int(inside.sum())
    if area == 0:
        return 0.0
    px = pixels_of(lab, inside)
    near = skin_table(skin_ab, tolerance)
    skin = (np.take(near, (px[:, 1].astype(np.uint16) << 8) | px[:, 2]) > 0) & (mask[inside] == 0)
    return float(skin.sum()) / area
