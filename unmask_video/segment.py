"""Mask segmentation: find the whole surgical mask of one face, and only the mask; decide whether one is worn.

Method, per face (``face_id``):

1. The k-means polygon is :data:`landmark_sets.MASK_REGION` (jaw line closed over the cheeks under the
   eyes), pushed outward by ``polygon_margin`` x face size, most under the chin, less toward the ears,
   little at the under-eye edge (:func:`region_polygon`). The search region (:func:`search_region.search_polygon`)
   is larger: from the nose bridge down to ``below_jaw`` face heights under the jaw, ear to ear. All the work
   happens in the search region's bounding box (at most ``work_size`` pixels), so the cost follows the face
   size, not the ROI size.
2. Pixels inside the k-means polygon, lightly blurred and converted to Lab with the lightness down-weighted (so
   the shaded side and the pleat shadows of a mask stay with its lit part), are clustered by k-means (k=3,
   scikit-learn, fitted on a seeded random subsample of ``sample_pixels`` pixels). The median colour of
   the forehead (:data:`landmark_sets.FOREHEAD`) is added as an extra, never-mask centre when it differs
   enough from the mask colour: it pulls skin pixels away from a mask cluster they were lumped into.
3. The mask cluster is the one holding most of the pixels around the :data:`landmark_sets.MASK_CORE`
   points (nose tip, mouth) and :data:`landmark_sets.MASK_CHIN`, which a worn mask covers. When that cluster
   has the forehead's skin colour (a mask worn low or on the chin leaves the core bare), a cluster unlike the
   skin that holds part of the core is taken instead (``skin_far_only``; the core that a skin-coloured occluder
   coming into the face from below hides, a hand over the mouth (:mod:`unmask_video.occluders`), is left out of
   that count, the clusters share what it leaves, the k-means mask's large components beyond the hand are kept
   (``split_share``), and such a face counts as masked only while the presence decision takes the occluder for a
   hand).
   Another cluster joins it (two-colour or patterned masks, strongly shaded sides) when it also holds
   ``merge_core_share`` of the core
   pixels and its pixels lie as much inside the polygon's inner part as the main cluster's (rather than on the
   rim, where skin, hair and background are). Clean-up: open, close, keep the components that touch the core,
   fill holes: the k-means mask.
4. Growth (``refine``, :mod:`unmask_video.mask_refine`): a per-face colour model (Lab, the chroma divided by
   the lightness so that the mask's shaded side and folds keep the colour of its lit part) of the k-means mask
   against the rest (the skin in the polygon, the frame around the search region, the forehead) gives every
   pixel of the search region a mask probability; the pixels above ``grow_threshold`` connected to the k-means
   mask are the mask, up the nose bridge, under the chin, out to the ears. Holes are filled only where they
   look like mask (pleat shadows, prints): a finger or a microphone in front of the mask stays in front.
   Where the search region's bottom cut the grown mask off along a wide front (``deep_front``: a mask worn far
   down the neck, under a FaceMesh jaw placed too high on the masked face), it goes on into a deep band under
   the search region (down to ``deep_below``), there only through pixels the colour model is as sure of as of
   the k-means mask (``deep_threshold``, ``deep_margin``: the neck and a collar nearly as pale as the mask stay
   out) (:func:`mask_refine.grow_deeper`). The band also reaches ``deep_cheek`` out along the jaw's sides (a mask
   standing off the cheeks past FaceMesh's outline, on a turned face's far side, a KF94's wide sides); what it takes
   there that runs on to the strip's outer edge is a pale wall or shirt beside the jaw, and is left out
   (``side_open_edge``). After the snap and the rim cut below, those strips are grown into once more as the search
   region is (``side_threshold``, ``side_front``): a mask's shaded side there is never as sure as its lit front, and
   a mask ending above the search region's bottom has no front there for the deep band.
   A mask cluster nearer than ``near_skin_gap`` to the forehead's skin (cloth of the skin's own colour: the model
   cannot tell it from the neck) grows under the FaceMesh jaw line, across the neck (``near_skin_neck`` either side of
   the chin's point), only on its k-means map, and not into the band there (the jaw's sides, where the loops start,
   as before).
   Then (``snap``, :func:`mask_refine.snap_edges`) a marker watershed in a narrow band around that mask moves
   its boundary onto the sharpest step of the per-pixel mask probability (and of the lightness): the growth's
   smoothing and closing had carried it a few pixels into the skin around the cloth, or short of it.
   With a hand in front of the mask (the k-means mask chosen around it; in video, on a mask worn on the frames
   before, a skin-coloured occluder entering the face over ``hand_core`` of the core), FaceMesh's landmarks move with
   the hand and the search region and the jaw line no longer follow the mask: its parts beyond the hand that the
   colour model is as sure of as of the k-means mask and that touch the hand join it, up to ``hand_reach`` past the
   search region, and the rim cut keeps them (``hand_join``, :func:`mask_refine.join_past_hand`).
   Last (``rim_cut``, :func:`rim_cut.cut_at_rim`), under the jaw line the mask is cut at the cloth's rim: a marker
   watershed on the colour steps, flooded from the mask above the jaw line and from what the colour model rejects,
   takes off a lit neck, a collar or a hood lining of nearly the mask's colour that the growth (or the k-means
   cluster) took in; what it took that has the cloth's own colour comes back. Under the jaw line the mask's pixels
   yellower than the sure cloth of their lightness flood in too (``rim_lit_skin``: a lit neck of nearly a white
   cloth's colour, reached from the cloth through its faint lower edge only), with the thin strands the cut leaves
   beside them. The same watershed cuts over the nose
   tip too (``top_cut``), flooded there also from the skin above the search region: pale skin on the nose bridge and
   the cheeks under the eyes, taken in by the cluster or the growth, leaves at the cloth's top edge. For a mask cluster
   nearer than ``near_skin_gap`` to the skin (the k-means map is then the cheeks above and beside the cloth too), the
   cut's median keeps the cloth's thin outline as its step (``near_skin_line``) and what the cut takes does not come
   back for the cloth's colour (``near_skin_cut``), but for a piece on the nose's ridge as even as the cloth
   (``near_skin_even``: its top band beyond a pleat). Beside the jaw and
   the neck, a piece of another fabric paler than the cloth and of another colour leaves too, told by its texture at
   the frame's resolution (``rim_texture``, :mod:`unmask_video.mask_texture`: a hood's mesh lining). Once the presence
   decision has the mask as worn, the holes it encloses that are unlike the forehead's skin are its print and are
   filled (``print_holes``, :func:`mask_refine.fill_unlike_holes`: blotches, dots; a hand keeps the skin's colour),
   with the notches of the print's colour its edge cut (``print_notches``, :func:`mask_refine.fill_print_notches`),
   and its hem joins it (``hem_px``, :func:`mask_refine.add_hem`): the pixel or two along its
   outline whose colour lies on the way from the skin beyond to the cloth (a seam, a blurred step, the cloth's chroma
   that halved colour resolution spreads onto the skin). Last, the narrow peaks of its top edge (``top_peak``,
   :func:`mask_refine.cut_narrow_peaks`: spikes of skin climbing onto the nose or a cheek, narrower than
   ``top_peak_reach``) are cut back to the line the top follows, unless they have the k-means cluster's colour.
5. Presence (:mod:`unmask_video.mask_presence`): a score from how unlike the forehead skin the mask is, how
   much of the lower face under the nose it covers and whether red lips show; the decision follows it with
   hysteresis. No mask worn: the mask is empty and the face passes through untouched. The final mask has a
   hard edge, only lightly feathered (``feather_px``): the soft transition belongs to the blend.

Video: the cluster centres fitted on a keyframe, and the colour model fitted with them, are reused on later
frames (each pixel assigned to its nearest centre and looked up in the colour table, far cheaper than
refitting; which centres are mask is re-decided every frame, which is cheap). A refit happens when the fit
degrades (mean distance of the pixels to their centre grows past ``refit_threshold`` x its keyframe value:
"fit"), when the mask's share of the polygon jumps from one frame to the next ("share"), when the region's
colour histogram moves away from the keyframe's ("scene", which also drops the smoothing history), when the
mask clusters stop holding the core ("core"), or after ``max_reuse_frames`` frames ("age").
:attr:`MaskSegmenter.stats` counts them.

Temporal smoothing happens in face-aligned coordinates: each frame's mask is mapped into a canonical
face frame (a least-squares affine fit of the MASK_REGION landmarks onto the face's first-frame ones,
normalised to ``canonical_size``), an exponential moving average is kept there, and the average is
mapped back onto the current ROI and thresholded with hysteresis, so the mask neither flickers on a
still face nor lags behind a moving head (the ROI box may move between frames: nothing is smoothed in
ROI pixels). Deformation the affine map cannot follow (the jaw moving with speech) lowers the weight
of the past for that frame (``deform_px``).

Where the parts live: the options (:mod:`~unmask_video.segment_options`), the state kept per face
(:mod:`~unmask_video.segment_state`), the working window (:mod:`~unmask_video.mask_window`), the polygons
(:mod:`~unmask_video.mask_region`, :mod:`~unmask_video.search_region`), the k-means and which clusters are the mask
(:mod:`~unmask_video.kmeans_clusters`, :mod:`~unmask_video.mask_clusters`), the k-means mask's clean-up
(:mod:`~unmask_video.mask_cleanup`), the growth, snap, hem, prints, peaks and ear loops
(:mod:`~unmask_video.mask_refine`), the rim cut (:mod:`~unmask_video.rim_cut`), the side strips
(:mod:`~unmask_video.side_growth`), the presence decision (:mod:`~unmask_video.presence_decision`), the last run's
mask carried (:mod:`~unmask_video.still_carry`) and the paste into the ROI (:mod:`~unmask_video.mask_paste`). This
module runs them in order per face and keeps their state.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from unmask_video import landmark_sets as ls
from unmask_video.blend import disk_morph, mask_bbox
from unmask_video.colour_model import ColourModel
from unmask_video.errors import InputError
from unmask_video.face_axes import column_between, neck_column, oval_map
from unmask_video.kmeans_clusters import (
    ClusterFit, blur_reach, cluster_map, clusters_map, colour_histogram, is_warm, nearest_centres,
)
from unmask_video.mask_cleanup import clean_kmeans_mask, disk_size
from unmask_video.mask_clusters import (
    choose_clusters, core_mask, features, fit_clusters, free_chroma, probe_pixels, refit_reason, skin_colour,
)
from unmask_video.mask_edge import EdgeModel, edge_model
from unmask_video.mask_paste import paste, to_float
from unmask_video.mask_pixels import any_set
from unmask_video.mask_refine import (
    add_hem, cut_narrow_peaks, ear_loops, fill_print_notches, fill_unlike_holes, grow, grow_deeper, join_past_hand,
    smooth_probability, snap_edges, sure_level,
)
from unmask_video.mask_region import face_size, over_nose, region_polygon, side_strips, under_jaw
from unmask_video.mask_texture import textured, without_foreign
from unmask_video.mask_window import Window, face_window
from unmask_video.occluders import entering, skin_occluders
from unmask_video.order_stats import median
from unmask_video.presence_decision import decide_presence, kmeans_cues, skin_cloth
from unmask_video.rim_cut import cut_at_rim
from unmask_video.segment_options import SegmentOptions
from unmask_video.segment_state import FaceState
from unmask_video.side_growth import grow_sides, off_open_sides
from unmask_video.still_carry import (
    STILL_POINTS, StillRun, affine_lstsq, block_means, carried_change, carry, mapped_box,
)

log = logging.getLogger(__name__)

__all__ = ["SegmentOptions", "SegmentStats", "SegmentDetail", "MaskSegmenter", "region_polygon", "face_size"]


@dataclass
class SegmentStats:
    """How often clusters were fitted and reused, and why refits happened."""

    fits: int = 0
    reused: int = 0
    refit_reasons: dict[str, int] = field(default_factory=dict)
    unmasked: int = 0  # frames returned empty because the face looked bare (``no_mask_below``)
    bare: int = 0  # faces returned empty because the presence decision said no mask is worn
    worn: int = 0  # faces with a mask worn
    still: int = 0  # frames whose mask was the last full run's on a still face (``still_frames``)
    moved: int = 0  # frames whose mask was the last full run's carried by the face's motion (``move_frames``)
    seeded: int = 0  # frames whose mask was the last run's carried and its outline settled again (``seed_frames``)
    bare_settled: int = 0  # bare faces returned on the k-means mask's cues alone (``PresenceOptions.bare_settled``)

    def count_refit(self, reason: str) -> None:
        self.refit_reasons[reason] = self.refit_reasons.get(reason, 0) + 1


@dataclass
class SegmentDetail:
    """What the segmenter saw on a face's last frame, for the debug overlays (ROI coordinates)."""

    search: np.ndarray  # (N, 2) float32, the search polygon
    polygon: np.ndarray  # (M, 2) float32, the k-means polygon
    window: tuple[int, int, int, int]  # x0, y0, x1, y1 of the working window
    seed: np.ndarray  # uint8 {0, 1}, the k-means mask at the working size of ``window``
    score: float  # mask presence score of the frame, in [0, 1]
    average: float  # its running average
    worn: bool  # the decision


class MaskSegmenter:
    """Segments the mask of each face, keeping cluster centres and smoothing state per ``face_id``."""

    def __init__(self, options: SegmentOptions | None = None) -> None:
        self.options = options or SegmentOptions()
        self.stats = SegmentStats()
        self._faces: dict[int, FaceState] = {}
        self._details: dict[int, SegmentDetail] = {}

    def reset(self, face_id: int | None = None) -> None:
        """Forget the clusters and smoothing state of one face, or of all faces."""
        if face_id is None:
            self._faces.clear()
            self._details.clear()
        else:
            self._faces.pop(face_id, None)
            self._details.pop(face_id, None)

    # ------------------------------------------------------------------ main entry
    def segment(self, image: np.ndarray, landmarks: np.ndarray, face_id: int = 0) -> np.ndarray:
        """Return the mask, float32 (h, w) in [0, 1], of the face in ROI ``image`` (uint8 RGB)."""
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise InputError(f"segment expects a uint8 (h, w, 3) RGB image, got {image.dtype} {image.shape}")
        lm = np.asarray(landmarks, dtype=np.float32)
        opt = self.options
        h, w = image.shape[:2]
        state = self._faces.setdefault(face_id, FaceState())
        still = self._still(state, image, lm, face_id)
        if still is not None:
            return still
        state.still = None
        win = face_window(image, lm, opt)
        if win is None:
            log.debug("face %d: mask region outside the ROI, empty mask", face_id)
            return np.zeros((h, w), np.float32)
        poly, search, base, full_shape, sx, sy = win.poly, win.search, win.base, win.full_shape, win.sx, win.sy
        x0, y0, x1, y1 = win.box
        sub, sub_lm, sub_size, sub_poly, sub_search = win.sub, win.lm, win.size, win.poly_w, win.search_w
        sub_deep, sub_reach = win.deep_w, win.reach_w
        out = np.zeros((h, w), np.float32)
        shape = sub.shape[:2]
        region = np.zeros(shape, np.uint8)
        cv2.fillPoly(region, [np.round(sub_poly).astype(np.int32)], 1)
        core = core_mask(sub_lm, sub_size, shape, opt) & (region > 0)
        if not any_set(core):
            log.debug("face %d: mask core outside the ROI, empty mask", face_id)
            return out

        region_idx = np.flatnonzero(region.ravel())
        # (the features and the histogram only in the polygon's box, with the blur's reach around it: the working window
        # around the search region is larger, and the values inside the polygon are the same)
        box = mask_bbox(region, blur_reach(opt.blur_sigma * sub_size), region.shape) or (slice(None), slice(None))
        feats = features(sub[box], sub_size, opt, np.flatnonzero(region[box]))
        hist = colour_histogram(sub[box], region[box])

        labels, dist = None, None
        bare_cues: tuple[float | None, float] | None = None
        fit = state.fit
        if fit is not None and opt.reuse:
            fit.age += 1
            labels, dist = nearest_centres(feats, fit.centres)
            # The centres are kept; which of them are mask is re-decided (cheap): shading moves with the head.
            fit.mask_clusters = choose_clusters(
                labels, region_idx, core, sub_lm, shape, fit.eligible, opt, fit.past_hands
            )
            reason = refit_reason(fit, labels, dist, hist, core, region_idx, opt)
            # (a face settled bare: the kept fit's k-means mask's own cues; where they are where they were, the face is
            # returned bare without the refinement and the costly cues, and without the refit that a mask cluster
            # missing the core asks for: a bare face's lips or shade are no mask either way)
            if reason in (None, "core") and self._bare_watched(state) and not fit.unmasked:
                kept_map = clusters_map(labels, region_idx, fit.mask_clusters, shape)
                kept = fit.mask_clusters[labels]
                bare_cues = kmeans_cues(feats, kept, kept_map, fit, sub_lm, opt)
                assert state.presence is not None
                if state.presence.bare_settled(*bare_cues):
                    fit.share = float(kept.mean())  # (as a full run keeps it: the next frame's share jump is from here)
                    self.stats.reused += int(reason is None)
                    return self._settled_bare(state, image, lm, win, kept_map, bare_cues, face_id)
                if reason is not None:
                    bare_cues = None  # (refitted below: its own cues)
            if reason is None:
                self.stats.reused += 1
            else:
                self.stats.count_refit(reason)
                log.debug("face %d: refit clusters (%s)", face_id, reason)
                if reason == "scene":  # a cut: the past mask belongs to another shot
                    state.ema = None
                labels = None
        lab = cv2.cvtColor(sub, cv2.COLOR_RGB2LAB)  # (the window's Lab: the cloth check's on a refit, the growth's)
        if labels is None:
            skin = skin_colour(image, lm, poly, opt) if (opt.skin_anchor or opt.skin_far_only) else None
            def is_cloth(chosen_labels: np.ndarray, chosen: np.ndarray) -> bool:
                # (a k-means cluster of the skin's colour over the core: a bare lower face, or a beige mask on beige
                # skin, told by its cues on the clusters' map)
                taken = clusters_map(chosen_labels, region_idx, chosen, shape)
                return skin_cloth(lab, taken, sub_lm, sub_size, opt.presence)

            popt = opt.presence
            cloth = is_cloth if popt.enabled and popt.skin_coloured and popt.nostril_high > 0 else None
            fit = fit_clusters(feats, region_idx, core, sub_lm, hist, shape, skin, opt, cloth)
            state.fit = fit
            state.colour = None
            self.stats.fits += 1
            labels, dist = nearest_centres(feats, fit.centres)
        assert fit is not None

        in_mask = fit.mask_clusters[labels]
        fit.share = float(in_mask.mean())
        if fit.unmasked:
            self.stats.unmasked += 1
            in_mask = np.zeros_like(in_mask)
        binary = np.zeros(shape[0] * shape[1], np.uint8)
        binary[region_idx[in_mask]] = 1
        raw = binary.reshape(shape)
        if bare_cues is None and self._bare_watched(state):
            bare_cues = kmeans_cues(feats, in_mask, raw, fit, sub_lm, opt)
        # (a mask cluster chosen around a skin-coloured occluder: that occluder, as k-means saw it, is a hand candidate)
        skin_like = clusters_map(labels, region_idx, ~fit.eligible, shape) if fit.past_hands else None
        # (a hand in front of the mask splits it: its far side touches no core point, and is kept when it is large, or
        # when it touches the hand: a narrow strip of cloth between the hand and the polygon's edge)
        touch = None
        if skin_like is not None and opt.split_touch:
            touch = cv2.dilate(entering(skin_like & (1 - raw), sub_lm, sub_size), np.ones((3, 3), np.uint8))
        seed = clean_kmeans_mask(raw, core, sub_size, opt, opt.split_share if fit.past_hands else 0.0, touch)
        binary = seed
        search_mask = region
        past: np.ndarray | None = None  # (the mask's side beyond a hand, joined by _join_past_hand)
        if opt.refine and any_set(seed):
            search_mask = np.zeros(shape, np.uint8)
            cv2.fillPoly(search_mask, [np.round(sub_search).astype(np.int32)], 1)
            search_mask |= region
            if state.colour is None:
                # (its "not mask" rim: the search region's window, not the deep band's extension below it)
                inside = np.zeros(shape, np.uint8)
                bx0, by0 = int(round((base[0] - x0) * sx)), int(round((base[1] - y0) * sy))
                inside[by0 : int(round((base[3] - y0) * sy)), bx0 : int(round((base[2] - x0) * sx))] = 1
                state.colour = self._colour_model(
                    lab, seed, raw, region, search_mask, image, lm, poly, sub_size, inside
                )
            prob = state.colour.probability(lab)
            smooth = smooth_probability(prob, sub_size)
            threshold: float | np.ndarray = opt.grow_threshold
            # (under the FaceMesh jaw line: the neck, a collar, a shirt)
            near_skin = fit.skin_gap < opt.near_skin_gap
            below = (
                under_jaw(sub_lm, shape) if opt.neck_threshold > opt.grow_threshold or opt.rim_cut or near_skin
                else None
            )
            if opt.neck_threshold > opt.grow_threshold:
                # Under the jaw line a pixel joins only when the model is surer of it.
                threshold = np.where(below > 0, np.float32(opt.neck_threshold), np.float32(opt.grow_threshold))
            grow_in, neck = search_mask, None
            if near_skin:
                # (cloth of the skin's own colour: under the jaw, across the neck's width, the growth keeps to the
                # k-means map: the neck is as likely to the colour model; the jaw's sides, where the loops start, not)
                assert below is not None
                neck = np.zeros(shape, np.uint8)
                half = opt.near_skin_neck * sub_size
                chin_x = float(sub_lm[ls.CHIN, 0])
                neck[:, max(int(round(chin_x - half)), 0) : max(int(round(chin_x + half)) + 1, 0)] = 1
                neck &= (below > 0).astype(np.uint8)
                grow_in = search_mask & (1 - neck * (seed == 0)).astype(np.uint8)
            binary = grow(prob, seed, grow_in, sub_size, threshold, opt.hole_prob, smooth)
            strip, deep_sure = None, 1.0
            if sub_deep is not None and any_set(binary):
                band = np.zeros(shape, np.uint8)
                cv2.fillPoly(band, [np.round(sub_deep).astype(np.int32)], 1)
                band &= 1 - search_mask
                if neck is not None:
                    band[:, neck.any(axis=0)] = 0
                deep_sure = sure_level(prob, seed, opt.deep_threshold, opt.deep_margin)
                strip = None if sub_reach is None else side_strips(shape, sub_deep, sub_reach)
                deeper = grow_deeper(prob, binary, band, sub_size, deep_sure, opt.deep_front, smooth)
                if strip is not None and opt.side_open_edge > 0 and any_set(deeper != binary):
                    deeper, closed = off_open_sides(deeper, binary, sub_deep, strip, sub_size, opt)
                    band &= 1 - closed  # (nor does the snap go there)
                if any_set(deeper != binary):  # (else the snap stays out of the band too)
                    binary, search_mask = deeper, search_mask | band
            if opt.snap and any_set(binary):
                binary = snap_edges(lab, prob, binary, search_mask, sub_size, opt.snap_band, smooth, opt.snap_line)
            # (a mask worn on the frames before: its k-means fit may date from before the hand came, the hand is then
            # the one over the core)
            worn_before = state.presence is not None and state.presence.worn and opt.hand_core > 0
            if worn_before and not fit.past_hands:
                # (cheap first: the core the mask leaves, where a hand over it would be; the skin map costs ~1 ms)
                worn_before = np.count_nonzero(core & (binary == 0)) >= opt.hand_core * np.count_nonzero(core)
            if (fit.past_hands or worn_before) and opt.hand_join and any_set(binary):
                # (after the snap: a narrow strip of cloth beyond the hand has no sure inside for the snap's flood)
                binary, past = self._join_past_hand(
                    lab, prob, smooth, seed, core, binary, touch, search_mask, sub_lm, sub_size, fit,
                    0.0 if fit.past_hands else opt.hand_core,
                )
            if opt.rim_cut and any_set(binary):
                cuts, outside = below, (smooth < opt.grow_threshold) | ((search_mask == 0) if opt.rim_past_search else False)
                if opt.top_cut:
                    # Over the nose tip too: pale skin on the nose bridge and the cheeks that the cluster or the growth
                    # took in is reached from the skin above the search region (and what the model rejects) through
                    # no colour step; the cloth's top edge is one. (one watershed for both rims)
                    over = over_nose(sub_lm, shape, opt.top_cut_line * sub_size)
                    cuts = below | over
                    above = (search_mask == 0) & (over > 0)
                    if opt.top_cut_cloth:
                        # (the cloth over the search region's top, across the face's own width under the eyes: turned
                        # with a tilted head; beside the face, a pale wall of the cloth's colour floods in as before)
                        cloth = smooth >= sure_level(prob, seed, opt.deep_threshold, opt.deep_margin)
                        above &= ~(cloth & (column_between(shape, sub_lm, ls.UNDER_EYES) > 0))
                    outside = outside | above
                sure = (seed | binary) & (1 - cuts)
                if opt.rim_sure_erode > 0:
                    sure = disk_morph(sure, cv2.MORPH_ERODE, disk_size(2 * opt.rim_sure_erode * sub_size))
                line_width = opt.rim_line_width
                if opt.rim_line_px > 0:
                    line_width = min(line_width, (opt.rim_line_px + 0.49) / sub_size)  # (k = round(width x size) | 1)
                if near_skin and opt.near_skin_line > 0:
                    line_width = min(line_width, opt.near_skin_line)
                parts = cluster_map(labels, region_idx, fit.mask_clusters, shape)

                def rim(same_cloth: float) -> np.ndarray:
                    return cut_at_rim(
                        lab, binary, sure, cuts, sub_size, opt.rim_chroma_gain, opt.rim_light_weight, line_width,
                        outside, same_cloth, opt.rim_hem_px, parts, opt.rim_separable, opt.rim_separable_tail,
                        opt.rim_separable_small, past, opt.rim_lit_skin, below, opt.rim_same_levels,
                    )

                if near_skin and opt.near_skin_cut:
                    binary = self._near_skin_rim(rim(0.0), rim(opt.rim_same_cloth), sub_lm, lab, opt.near_skin_even)
                else:
                    binary = rim(opt.rim_same_cloth)
                if opt.rim_texture > 0 and sub_size / sx >= opt.rim_texture_face and any_set(binary):
                    binary = self._without_lining(image, win, lab, binary, seed, below)
            if strip is not None and opt.side_open_edge > 0 and any_set(binary):
                binary = grow_sides(prob, smooth, binary, strip, sub_deep, sub_size, deep_sure, opt)
            if win.ears_w is not None and sub_reach is not None and opt.side_open_edge > 0 and any_set(binary):
                # (then, as an addition only, the same out to the ears' wider reach over the mouth's height: what the
                # pass above took and left stays as it is)
                over = over_nose(sub_lm, shape, -opt.ear_below * sub_size)
                ears = side_strips(shape, win.ears_w, sub_reach) & over
                binary = grow_sides(prob, smooth, binary, ears, win.ears_w, sub_size, deep_sure, opt)
        # (the presence cues look at the mask's body: the loops would blur its upper edge)
        worn, score, average, binary = decide_presence(
            state, binary, seed, feats, in_mask, fit, lab, sub_lm, sub_size, opt, skin_like
        )
        if bare_cues is not None and state.presence is not None:
            state.presence.measured_bare(bare_cues)
        if opt.refine and opt.print_holes > 0 and worn and fit.skin is not None and any_set(binary):
            # (a worn mask: the holes it encloses that are unlike the skin are its print, not a hand in front of it)
            skin_chroma = free_chroma(fit.skin[None, :], opt)[0]
            filled = fill_unlike_holes(binary, lab, skin_chroma, opt.print_holes)
            # (and the notches in its outline of the print's colour: blotches and dots its edge cut)
            if opt.print_notches:
                filled = fill_print_notches(
                    filled, lab, filled > binary, skin_chroma, opt.print_holes, hue=opt.print_notch_hue
                )
            binary = filled
        if opt.refine and opt.hem_px > 0 and worn and any_set(binary):
            binary = add_hem(
                lab, binary, opt.hem_px, opt.hem_towards, opt.hem_chroma_towards,
                opt.hem_chroma_min, opt.hem_floor, opt.hem_noise,
            )
        # (not beside a hand: the hand breaks the top line, and the cloth on either side of it stands up from it as peaks)
        if opt.refine and opt.top_peak and worn and not fit.past_hands and past is None and any_set(binary):
            binary = cut_narrow_peaks(
                binary, sub_size, opt.top_peak_reach, opt.top_peak_tall, opt.top_peak_least, lab, seed,
                opt.top_peak_cloth,
            )
        if opt.refine and opt.loops and worn and any_set(binary):
            face = oval_map(sub_lm, shape)
            # (dilations by disks as distance thresholds: one distance transform, where a dilation by a disk is slow)
            off_face = cv2.distanceTransform(1 - face, cv2.DIST_L2, 5)
            beyond = off_face <= opt.loop_beyond * sub_size if opt.loop_beyond > 0 else None
            face = (off_face <= disk_size(opt.loop_reach * sub_size) // 2).astype(np.uint8)
            binary = binary | ear_loops(prob, binary, face, sub_size, beyond=beyond)
        state_detail = SegmentDetail(
            search=search, polygon=poly.astype(np.float32), window=(int(x0), int(y0), int(x1), int(y1)),
            seed=seed, score=score, average=average, worn=worn,
        )
        self._details[face_id] = state_detail
        if not worn:
            self.stats.bare += 1
            self._keep_still(state, image, lm, (int(x0), int(y0), int(x1), int(y1)), None, sx, worn)
            return out
        self.stats.worn += 1
        # (the outline's partly-mask pixels, decided at the ROI's resolution once the mask is scaled up)
        edge = self._edge_model(lab, binary, sub_size, fit.skin)
        work = binary
        binary = binary.astype(np.float32)
        # Smooth the window at the working size; it maps onto ROI pixels by a scale and a shift.
        sub_to_roi = np.array(
            [[1.0 / sx, 0.0, x0 + 0.5 / sx - 0.5], [0.0, 1.0 / sy, y0 + 0.5 / sy - 0.5]], np.float32
        )
        binary = self._smooth(state, binary, lm, sub_to_roi)
        pasted = paste(
            out, binary, (int(x0), int(y0)), full_shape, (sx, sy), opt.feather_px, opt.feather_inward, image, edge
        )
        self._keep_still(state, image, lm, (int(x0), int(y0), int(x1), int(y1)), pasted, sx, worn, work, (sx, sy))
        return out

    @staticmethod
    def _near_skin_rim(
        cut: np.ndarray, kept: np.ndarray, lm: np.ndarray, lab: np.ndarray, even: float
    ) -> np.ndarray:
        """The rim cut of a mask of the skin's own colour (``near_skin_cut``): ``cut``, the cut with nothing coming back
        by its colour (the cheek skin above and beside the cloth and the neck under it have the cloth's colour; only the
        watershed's step at the cloth's edge tells them apart), with the pieces of ``kept`` (the cut with the colour's
        return, ``rim_same_cloth``) that lie on the nose's ridge (:data:`landmark_sets.NOSE_RIDGE`, bridge to tip) and
        are as even as the cloth: their median lightness gradient (Sobel, Lab L of ``lab``) at most ``even`` times the
        cloth's (``cut``'s), or 4 levels more than it. The cloth's top band beyond a pleat crosses the nose and is as
        even as the rest of it; the skin under the eyes has their shade (recoloured photos: 2-10x the cloth's)."""
        back = (kept > 0) & (cut == 0)
        if not any_set(back.view(np.uint8)):
            return cut
        n, comp = cv2.connectedComponents(back.astype(np.uint8), connectivity=8)
        h, w = cut.shape
        pts = np.round(lm[list(ls.NOSE_RIDGE)]).astype(int)
        pts = pts[(pts[:, 0] >= 0) & (pts[:, 0] < w) & (pts[:, 1] >= 0) & (pts[:, 1] < h)]
        ids = np.unique(comp[pts[:, 1], pts[:, 0]])
        ids = ids[ids > 0]
        if ids.size == 0:
            return cut
        light = lab[..., 0].astype(np.float32)
        grad = cv2.magnitude(cv2.Sobel(light, cv2.CV_32F, 1, 0), cv2.Sobel(light, cv2.CV_32F, 0, 1))
        cloth = float(median(grad[cut > 0])) if any_set(cut) else 0.0
        out = cut.copy()
        for i in ids:
            piece = comp == i
            if float(median(grad[piece])) <= max(even * cloth, cloth + 4.0):
                out[piece] = 1
        return out

    def _keep_still(
        self,
        state: FaceState,
        image: np.ndarray,
        lm: np.ndarray,
        window: tuple[int, int, int, int],
        mask: tuple[np.ndarray, tuple[int, int]] | None,
        scale: float,
        worn: bool,
        work: np.ndarray | None = None,
        axes: tuple[float, float] = (1.0, 1.0),
        seeded: int = 0,
    ) -> None:
        """Keep this full run's frame for :meth:`_still` (``still_frames``); ``mask``: what :func:`mask_paste.paste`
        wrote; ``work``, ``axes``: the working mask and its scale (kept for ``seed_frames``); ``seeded``: the seeded
        runs since the last full run (:meth:`_seeded`)."""
        opt = self.options
        if max(opt.still_frames, opt.move_frames) <= 1 or opt.temporal_smoothing:
            return
        x0, y0, x1, y1 = window
        if opt.seed_frames <= 1:
            work = None
        state.still = StillRun(
            lm[STILL_POINTS].copy(), window, image[y0:y1, x0:x1].copy(), mask, scale, worn, work=work, axes=axes,
            seeded=seeded,
        )

    def _still(self, state: FaceState, image: np.ndarray, lm: np.ndarray, face_id: int = 0) -> np.ndarray | None:
        """The last full run's mask, shifted when the face is still (``still_frames``), carried by the face's motion
        when it moves (``move_frames``, :meth:`_moved`); else None (run it all)."""
        opt, still = self.options, state.still
        if still is None or still.reused >= max(opt.still_frames, opt.move_frames) - 1:
            return None
        presence = state.presence
        average = None if presence is None else presence.average
        if presence is not None and presence.worn != still.worn:
            return None  # (the decision has changed since)
        unsettled = average is not None and opt.presence.off < average < opt.presence.on
        if unsettled and (
            # (the decision is moving: each frame counts; the motion's carry waits only while it is near to turning)
            average < opt.presence.off + opt.move_settled
            if still.worn
            else average > opt.presence.on - opt.move_settled
        ):
            return None
        moved = lm[STILL_POINTS] - still.landmarks
        shift = np.round(median(np.ascontiguousarray(moved.T)))  # (np.median(moved, axis=0), the same values)
        residual = float(np.sqrt(((moved - shift) ** 2).sum(axis=1).max())) * still.scale
        if residual > opt.still_move:  # (a face that moves: carried when one affine map takes it there)
            log.debug("still face? moved %.2f working px: run", residual)
            return self._moved(state, image, lm, face_id)
        if unsettled or still.reused >= opt.still_frames - 1:
            return None  # (a still face while the decision moves, or the still reuse's last frame: run it all)
        h, w = image.shape[:2]
        dx, dy = int(shift[0]), int(shift[1])
        x0, y0, x1, y1 = still.window
        x0, y0, x1, y1 = x0 + dx, y0 + dy, x1 + dx, y1 + dy
        if x0 < 0 or y0 < 0 or x1 > w or y1 > h:
            return None
        diff = cv2.absdiff(image[y0:y1, x0:x1], still.pixels)
        change = float(block_means(diff, opt.still_blocks)[0].max())
        if change > opt.still_diff:
            log.debug("still face? moved %.2f working px, a block changed by %.1f levels: run", residual, change)
            return None
        log.debug("still face: moved %.2f working px, a block changed by %.1f levels: reused", residual, change)
        still.reused += 1
        self.stats.still += 1
        detail = self._details.get(face_id)
        if detail is not None:  # (the debug overlays': where the ROI has the face now)
            move = np.array([x0 - detail.window[0], y0 - detail.window[1]], np.float32)
            self._details[face_id] = replace(
                detail, search=detail.search + move, polygon=detail.polygon + move, window=(x0, y0, x1, y1)
            )
        out = np.zeros((h, w), np.float32)
        if still.worn:
            self.stats.worn += 1
            if still.mask is not None:
                up, (bx, by) = still.mask
                to_float(up, out[y0 + by : y0 + by + up.shape[0], x0 + bx : x0 + bx + up.shape[1]])
        else:
            self.stats.bare += 1
        return out

    def _moved(self, state: FaceState, image: np.ndarray, lm: np.ndarray, face_id: int = 0) -> np.ndarray | None:
        """The last full run's mask carried by the face's motion, an affine map of its lower-face landmarks
        (``move_frames``); None: run it all. Called by :meth:`_still` once the presence decision is settled."""
        opt, still = self.options, state.still
        assert still is not None
        # (the carry's frames in a row used up: a seeded run where the maps and blocks allow it, else a full run)
        seed = still.reused >= opt.move_frames - 1
        if seed and (
            opt.move_frames <= 1 or opt.seed_frames <= 1 or still.seeded >= opt.seed_frames - 1 or still.work is None
            or not still.worn
        ):
            return None
        now = lm[STILL_POINTS]
        a = affine_lstsq(still.landmarks, now)
        # (the map's linear part and shift apart: the points as the map puts them, and how far off each lands)
        lin, move = a[:, :2], a[:, 2]
        off = still.landmarks @ lin.T + move - now
        residual = float(np.sqrt((off * off).sum(axis=1).max())) * still.scale
        if residual > opt.move_fit:
            log.debug("moving face? %.2f working px off an affine map: run", residual)
            return None
        h, w = image.shape[:2]
        px0, py0, px1, py1 = still.window
        # (the window carried by the map: the box of its corners, in whole ROI pixels)
        x0, y0, x1, y1 = mapped_box((px0, py0, px1, py1), lin, move, 0, (w, h))
        if x1 - x0 < 4 or y1 - y0 < 4:
            return None
        change = carried_change(still, image, lin, move, (x0, y0, x1, y1), opt.still_blocks, opt.move_check_size)
        if change > opt.move_diff:
            log.debug("moving face: %.2f working px off, a block changed by %.1f levels: run", residual, change)
            return None
        if seed:
            return self._seeded(state, image, lm, lin, move, face_id)
        log.debug("moving face: %.2f working px off, a block changed by %.1f levels: carried", residual, change)
        still.reused += 1
        self.stats.moved += 1
        if state.fit is not None:  # (the clusters' age counts frames, carried ones too: refits come as often as before)
            state.fit.age += 1
        detail = self._details.get(face_id)
        if detail is not None:  # (the debug overlays': carried with the mask)
            self._details[face_id] = replace(
                detail, search=detail.search @ lin.T + move, polygon=detail.polygon @ lin.T + move,
                window=(int(x0), int(y0), int(x1), int(y1)),
            )
        out = np.zeros((h, w), np.float32)
        if not still.worn:
            self.stats.bare += 1
            return out
        self.stats.worn += 1
        if still.mask is not None:
            up, (bx, by) = still.mask
            ux, uy = px0 + bx, py0 + by  # (the box's corner in the ROI then)
            uh, uw = up.shape[:2]
            dx0, dy0, dx1, dy1 = mapped_box((ux, uy, ux + uw, uy + uh), lin, move, 1, (w, h))
            if dx1 > dx0 and dy1 > dy0:
                carried = carry(up, (ux, uy), lin, move, (dx0, dy0, dx1, dy1), cv2.BORDER_CONSTANT)
                to_float(carried, out[dy0:dy1, dx0:dx1])
        return out

    def _seeded(
        self, state: FaceState, image: np.ndarray, lm: np.ndarray, lin: np.ndarray, move: np.ndarray, face_id: int
    ) -> np.ndarray | None:
        """A seeded run (``seed_frames``): the last run's working mask carried by the face's motion (the affine map
        ``lin``, ``move`` of ROI pixels, :meth:`_moved`) into this frame's working window, its outline snapped onto
        this frame's colour steps in a band of ``seed_band`` x the face (:func:`mask_refine.snap_edges`), then the edge
        model and the paste of a full run. None: run it all (no window, no colour model, nothing carried)."""
        opt, still = self.options, state.still
        assert still is not None and still.work is not None
        if state.colour is None or state.fit is None:
            return None
        win = face_window(image, lm, opt)
        if win is None:
            return None
        h, w = image.shape[:2]
        shape = win.sub.shape[:2]
        # (working pixels then -> ROI pixels then -> ROI pixels now -> working pixels now; pixel centres as the resize)
        (tx, ty), (nx, ny) = still.axes, (win.sx, win.sy)
        then = np.array([[1 / tx, 0, 0.5 / tx - 0.5 + still.window[0]], [0, 1 / ty, 0.5 / ty - 0.5 + still.window[1]],
                         [0, 0, 1]])
        motion = np.vstack([np.hstack([lin, move[:, None]]).astype(np.float64), [0, 0, 1]])
        now = np.array([[nx, 0, (0.5 - win.box[0]) * nx - 0.5], [0, ny, (0.5 - win.box[1]) * ny - 0.5], [0, 0, 1]])
        carried = cv2.warpAffine(
            still.work * np.uint8(255), (now @ motion @ then)[:2], (shape[1], shape[0]), flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT, borderValue=0,
        )
        binary = (carried >= 128).astype(np.uint8)
        if not any_set(binary):
            return None
        lab = cv2.cvtColor(win.sub, cv2.COLOR_RGB2LAB)
        prob = state.colour.probability(lab)
        smooth = smooth_probability(prob, win.size)
        # (no search region: the carried mask went where the full run took it, the ear loops and the deep band too)
        anywhere = np.ones(shape, np.uint8)
        binary = snap_edges(lab, prob, binary, anywhere, win.size, opt.seed_band, smooth, opt.snap_line)
        if not any_set(binary):
            return None
        still.reused += 1
        state.fit.age += 1  # (as a carried frame: refits come as often as before)
        self.stats.seeded += 1
        self.stats.worn += 1
        x0, y0, x1, y1 = win.box
        detail = self._details.get(face_id)
        if detail is not None:  # (the debug overlays': this frame's regions, the last full run's seed and presence)
            self._details[face_id] = replace(
                detail, search=win.search, polygon=win.poly.astype(np.float32), window=win.box
            )
        edge = self._edge_model(lab, binary, win.size, state.fit.skin)
        out = np.zeros((h, w), np.float32)
        pasted = paste(
            out, binary, (x0, y0), win.full_shape, (win.sx, win.sy), opt.feather_px, opt.feather_inward, image, edge
        )
        log.debug("moving face: the carried mask's outline settled again (seeded run)")
        self._keep_still(
            state, image, lm, win.box, pasted, win.sx, True, binary, (win.sx, win.sy), still.seeded + 1
        )
        return out

    def _bare_watched(self, state: FaceState) -> bool:
        """Whether this face's k-means cues are watched for a settled bare face (``PresenceOptions.bare_every``): the
        presence decision on, the face not taken as masked."""
        popt = self.options.presence
        return popt.enabled and popt.bare_every > 1 and (state.presence is None or not state.presence.worn)

    def _settled_bare(
        self,
        state: FaceState,
        image: np.ndarray,
        lm: np.ndarray,
        win: Window,
        seed: np.ndarray,
        cues: tuple[float | None, float],
        face_id: int,
    ) -> np.ndarray:
        """A face settled bare whose k-means mask (``seed``, the working window's map) kept its ``cues``: returned
        bare (an empty mask) as a full run's bare face, the presence's average as it was."""
        assert state.presence is not None
        state.presence.skipped += 1
        self.stats.bare += 1
        self.stats.bare_settled += 1
        log.debug("face %d: settled bare, k-means cues %s as before: refinement skipped", face_id, cues)
        x0, y0, x1, y1 = win.box
        window = (int(x0), int(y0), int(x1), int(y1))
        self._details[face_id] = SegmentDetail(
            search=win.search, polygon=win.poly.astype(np.float32), window=window,
            seed=seed, score=state.presence.cues_score, average=float(state.presence.average or 0.0), worn=False,
        )
        self._keep_still(state, image, lm, window, None, win.sx, False)
        return np.zeros(image.shape[:2], np.float32)

    def detail(self, face_id: int = 0) -> SegmentDetail | None:
        """What the last :meth:`segment` call of this face saw (search region, k-means mask, presence)."""
        return self._details.get(face_id)

    def _join_past_hand(
        self,
        lab: np.ndarray,
        prob: np.ndarray,
        smooth: np.ndarray,
        seed: np.ndarray,
        core: np.ndarray,
        binary: np.ndarray,
        touch: np.ndarray | None,
        search: np.ndarray,
        lm: np.ndarray,
        size: float,
        fit: ClusterFit,
        hand_core: float = 0.0,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """(mask, its parts past the hand or None): ``binary`` with the mask's parts past the hand in front of it
        (:func:`mask_refine.join_past_hand`; its body: the k-means mask ``seed`` on the ``core``, or all of it where the
        hand hides the core); the hand is the k-means' skin-like clusters entering the face (``touch``) and the
        forehead skin's colour entering it (:func:`occluders.skin_occluders`), and must hide at least ``hand_core`` of
        the core."""
        opt = self.options
        hand = np.zeros(binary.shape, np.uint8) if touch is None else touch.astype(np.uint8)
        if fit.skin is not None and is_warm(fit.skin) and opt.presence.occluder_tolerance > 0:
            hand |= skin_occluders(lab, binary, lm, size, fit.skin[1:], opt.presence.occluder_tolerance)
        if hand_core > 0 and np.count_nonzero(hand[core]) < hand_core * np.count_nonzero(core):
            return binary, None
        wide = search
        if opt.hand_reach > 0:
            # (a distance threshold: a dilation by a large disk is slow)
            wide = (cv2.distanceTransform(1 - search, cv2.DIST_L2, 5) <= opt.hand_reach * size).astype(np.uint8)
        sure = sure_level(prob, seed, opt.deep_threshold, opt.deep_margin)
        body = seed & core
        out, past = join_past_hand(smooth, binary, hand, wide, size, sure, body if body.any() else seed)
        if not past.any():
            return binary, None
        log.debug("hand in front: %d pixels past it, %d joined", int(past.sum()), int((out > binary).sum()))
        return out, past

    def _colour_model(
        self,
        lab: np.ndarray,
        seed: np.ndarray,
        raw: np.ndarray,
        region: np.ndarray,
        search: np.ndarray,
        image: np.ndarray,
        lm: np.ndarray,
        poly: np.ndarray,
        size: float,
        window: np.ndarray | None = None,
    ) -> ColourModel:
        """The colour model of this face: the k-means mask cluster pixels (``raw``, inside the cleaned ``seed``:
        not the holes it filled, which may be a finger) against the rest of the polygon, the rim of the window
        outside the search region (within ``window`` when given) and the forehead skin."""
        k = max(int(round(0.02 * size)) | 1, 3)
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
        inner = cv2.erode(seed, kernel) & raw
        if inner.sum() < 50:
            inner = seed & raw
        near = cv2.dilate(seed, kernel)
        other = ((region > 0) & (near == 0)) | (cv2.dilate(search, kernel) == 0)
        if window is not None:
            other &= window > 0
        samples = [lab[other]]
        probe = probe_pixels(image, lm, poly, self.options)
        if probe is not None:
            samples.append(cv2.cvtColor(probe.reshape(1, -1, 3), cv2.COLOR_RGB2LAB).reshape(-1, 3))
        return ColourModel(lab[inner > 0], np.concatenate(samples), shading_free=self.options.shading_free)

    # ------------------------------------------------------------------ pieces

    def _without_lining(
        self, image: np.ndarray, win: Window, lab: np.ndarray, binary: np.ndarray, seed: np.ndarray,
        below: np.ndarray,
    ) -> np.ndarray:
        """``binary`` less the pieces beside the jaw and the neck (outside FaceMesh's oval and the neck's column, under
        the nose tip) of another fabric than the cloth, told by its texture at the ROI ``image``'s resolution
        (:func:`mask_texture.textured`) and a colour not the cloth's (:func:`mask_texture.without_foreign`): a hood's
        mesh lining of nearly a pale mask's colour."""
        opt = self.options
        lm, size, shape = win.lm, win.size, binary.shape
        oval = oval_map(lm, shape)
        beside = ((1 - oval) & (1 - over_nose(lm, shape, 0.0)) > 0) & (neck_column(shape, lm) == 0)
        # (the sure cloth to compare with: the k-means mask and the growth above the jaw, inside the oval)
        cloth = ((seed | binary) & (1 - below) & oval) > 0
        x0, y0, x1, y1 = win.box
        foreign = textured(
            image[y0:y1, x0:x1], (binary > 0) & beside, cloth, (win.sx, win.sy), size / win.sx, opt.rim_texture,
            opt.rim_texture_floor,
        )
        if foreign is None:
            return binary
        return without_foreign(binary, foreign, beside, lab, cloth, opt.rim_same_cloth)

    def _smooth(self, state: FaceState, mask: np.ndarray, lm: np.ndarray, sub_to_roi: np.ndarray) -> np.ndarray:
        """EMA of ``mask`` in face-aligned coordinates, thresholded with hysteresis: a {0, 1} float32 array.

        ``mask`` is a window of the ROI; the 2x3 ``sub_to_roi`` maps its pixels onto ROI pixels.
        """
        opt = self.options
        if not opt.temporal_smoothing:
            return mask
        s = opt.canonical_size
        if state.template is None:
            lo, hi = lm.min(axis=0), lm.max(axis=0)
            scale = 0.8 * s / float(max((hi - lo).max(), 1.0))
            state.template = ((lm - (lo + hi) / 2) * scale + s / 2).astype(np.float32)
        # Fitted on the lower-face outline only: the jaw moves with speech, the forehead does not.
        pts = ls.index(ls.MASK_REGION)
        roi_to_canon = affine_lstsq(lm[pts], state.template[pts])
        to_canon = np.hstack(
            [roi_to_canon[:, :2] @ sub_to_roi[:, :2], (roi_to_canon[:, :2] @ sub_to_roi[:, 2] + roi_to_canon[:, 2])[:, None]]
        ).astype(np.float32)
        # Non-rigid motion (speech moves the jaw) that the affine map cannot follow lowers the weight
        # of the past, so the mask does not trail an opening mouth; a still face keeps the full weight.
        aligned = lm[pts] @ roi_to_canon[:, :2].T + roi_to_canon[:, 2]
        weight = opt.smoothing
        if state.aligned is not None and opt.deform_px > 0:
            # The largest mean displacement of a few groups of neighbouring outline points: coherent
            # motion (the chin dropping) counts, independent per-point tracker jitter mostly averages out.
            moved = aligned - state.aligned
            speed = max(float(np.linalg.norm(g.mean(axis=0))) for g in np.array_split(moved, 5))
            weight *= max(0.0, 1.0 - speed / opt.deform_px)
        state.aligned = aligned
        if state.ema is None:
            average, out = mask, mask >= 0.5
        else:
            past = cv2.warpAffine(
                state.ema, to_canon, mask.shape[::-1], flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                borderMode=cv2.BORDER_CONSTANT, borderValue=0,
            )
            average = weight * past[..., 0] + (1.0 - weight) * mask
            # Hysteresis: a pixel flips only when the average clearly crosses 0.5.
            out = average >= np.where(past[..., 1] >= 0.5, 0.5 - opt.hysteresis, 0.5 + opt.hysteresis)
        result = out.astype(np.float32)
        # Channel 0: the running average; channel 1: the last output (for the hysteresis).
        state.ema = cv2.warpAffine(np.dstack([average, result]), to_canon, (s, s), flags=cv2.INTER_LINEAR)
        return result

    def _edge_model(self, lab: np.ndarray, binary: np.ndarray, size: float, skin: np.ndarray | None
                    ) -> EdgeModel | None:
        """The outline's model of the working mask ``binary`` on the window's ``lab`` (its partly-mask pixels, decided
        at the ROI's resolution by :func:`mask_paste.paste`; ``size``: the face's size, working pixels; ``skin``: the
        forehead skin's colour, Lab a and b its last two, or None); None where the options do not settle the edge."""
        opt = self.options
        if not (opt.refine and opt.edge_settle):
            return None
        return edge_model(lab, binary, opt, size, None if skin is None else skin[1:])

