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
   the cheeks under the eyes, taken in by the cluster or the growth, leaves at the cloth's top edge. Beside the jaw and
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
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from unmask_video import landmark_sets as ls
from unmask_video.blend import disk_morph, mask_bbox
from unmask_video.colour_model import ColourModel, shading_free_chroma
from unmask_video.errors import InputError
from unmask_video.face_axes import neck_column, oval_map
from unmask_video.face_detect import resize
from unmask_video.kmeans_clusters import (
    ClusterFit, blur_reach, cluster_map, clusters_map, colour_histogram, has_distinct, is_warm, kmeans_class,
    nearest_centres, shaded_skin, thread_pools,
)
from unmask_video.mask_cleanup import disk_size, fill_hand_holes, fill_holes
from unmask_video.mask_presence import (
    Presence, PresenceOptions, edge_contrast, edge_slant, lip_contrast, lips_region, lower_cover, lower_face,
    mouth_darkness, presence_score,
)
from unmask_video.mask_edge import EdgeModel, edge_model, settle_edge
from unmask_video.mask_texture import textured, without_foreign
from unmask_video.mask_pixels import any_set, pixels_of
from unmask_video.mask_refine import (
    add_hem, clean_kernel, cut_narrow_peaks, ear_loops, fill_print_notches, fill_unlike_holes, grow, grow_deeper,
    join_past_hand, smooth_probability, snap_edges,
)
from unmask_video.mask_region import face_size, over_nose, region_polygon, side_strips, under_jaw
from unmask_video.occluders import entering, skin_occluders, skin_table
from unmask_video.order_stats import median
from unmask_video.rim_cut import cut_at_rim
from unmask_video.search_region import search_polygons
from unmask_video.still_carry import (
    STILL_POINTS, StillRun, affine_lstsq, block_grid, block_means, carry, grid_means, mapped_box, mask_blocks,
    reduce_by,
)

log = logging.getLogger(__name__)

__all__ = ["SegmentOptions", "SegmentStats", "SegmentDetail", "MaskSegmenter", "region_polygon", "face_size"]


@dataclass
class SegmentOptions:
    """Options of :class:`MaskSegmenter`; lengths marked "face" are fractions of the face size."""

    clusters: int = 3  # k of k-means
    # Grow the k-means mask over the search region with a per-face colour model (mask_refine); off: the
    # method's plain k-means inside the landmark polygon.
    refine: bool = True
    below_jaw: float = 0.4  # the search region reaches this far under the jaw line (face)
    search_side: float = 0.02  # ... this far out past the ears (face)
    search_cheek: float = 0.0  # ... and this much more out along the jaw's sides, none at the chin (face)
    # The deep band (below) also reaches this much further out along the jaw's sides than the search region (a mask
    # standing off the cheeks past FaceMesh's outline, cut off there along its side): grown into as under the jaw;
    # no further than the working window's rim (0.08 face sizes around the search region). On with ``side_open_edge``
    # (alone, a white mask grew into a pale background beside the jaw: the tests' astronaut's white suit).
    deep_cheek: float = 0.1
    # ... and, in a pass of its own after theirs that only adds to the mask (its strips between the deep band with this
    # reach and without the sides' strips, above the line ``ear_below`` (face) under the nose tip), this much more at
    # the ears, fading to none towards the chin faster (as ``search_side``, by the square): the side panel of a mask on a
    # turned face, its ear-loop corner standing 0.15-0.2 face sizes past FaceMesh's outline at the ears' height. (The
    # sides' strips widened so instead took a pale wall and a lit neck beside a white mask: a wall piece no longer
    # running on to the strip's edge kept the rest of that side's pieces too.) 0: off; off too without the sides' strips
    # (``deep_cheek``) or their open-sides test (``side_open_edge``).
    deep_ear: float = 0.1
    ear_below: float = 0.2
    # ... but what it takes in that strip along the sides and that runs on to the strip's outer edge along at least
    # this length (face) is left out: a pale wall or shirt beside the jaw of the mask's colour, not the mask's side,
    # which ends inside the strip. 0: off.
    side_open_edge: float = 0.05
    # ... and grown into there above this P(mask) (was the deep band's sure threshold, about 0.9): the shaded side of a
    # mask standing off the cheek is never as sure as its lit front; a wall of its colour goes on past the strip.
    side_threshold: float = 0.5
    side_front: float = 0.1  # ... where what it takes there meets the mask along at least this length (face)
    search_jaw_floor: float = 0.5  # ... and reaches this share of ``below_jaw`` under the ears
    search_above: float = 0.03  # ... and this far above the under-eye line (face)
    shading_free: bool = True  # the colour model bins chroma / lightness (a shaded mask keeps its bins)
    grow_threshold: float = 0.5  # P(mask) above which a pixel of the search region joins the mask
    # ... and under the FaceMesh jaw line (the neck, collars, shirts are there). Off (as ``grow_threshold``): a
    # higher one kept necks and shirts out, but left the shaded underside of as many masks uncovered.
    neck_threshold: float = 0.5
    # The deep band: under the search region, down to ``deep_below`` face heights under the jaw line (a mask worn
    # far down the neck, under a FaceMesh jaw placed too high on a masked face), a pixel joins only when the
    # colour model is about as sure of it as of the k-means mask (its median P(mask) less ``deep_margin``), and
    # above ``deep_threshold`` at most (there are the neck and the collar). At most ``below_jaw`` turns it off.
    deep_below: float = 0.6
    deep_threshold: float = 0.9
    deep_margin: float = 0.05
    # ... and only where the mask grown in the search region meets the band along at least this length (face): a
    # mask cut off by the search region's bottom, not a white collar touching the mask's corner.
    deep_front: float = 0.25
    snap: bool = True  # move the grown mask's boundary onto the image's edges (marker watershed)
    snap_band: float = 0.05  # ... within this distance of it (face)
    snap_line: bool = False  # ... and the edge's own pixels (the line where the snap's floods meet) are mask
    # Under the jaw line, what lies past the cloth's rim leaves the mask (rim_cut.cut_at_rim): a neck, a collar,
    # a hood lining of nearly the mask's colour, reached from the rest of the neck or clothing through no colour step.
    rim_cut: bool = True
    rim_chroma_gain: float = 3.0  # the relief's weight of the chroma (Lab a, b) ...
    rim_light_weight: float = 0.5  # ... and of the lightness (a mask's pleats and folds are lightness steps)
    rim_sure_erode: float = 0.02  # the mask above the jaw line, eroded this much (face): the sure mask
    rim_line_width: float = 0.03  # lines thinner than this (face: pleats, seams, prints) are no rim
    # ... and than this many working pixels at most (its median's kernel: OpenCV's 5 x 5 median is several times faster
    # than any larger one). 0: no cap. Off: 5 took 1.6 ms/frame off a 720p face, but left 0.6 points more of the drawn
    # masks with a hand in front uncovered (benchmarks.segmentation).
    rim_line_px: float = 0.0
    # ... its 7 x 7 median a 1-D one down the columns then along the rows (mask_pixels.separable_median), then a 5 x 5
    # one: about half the cost of the refinement's largest step; benchmarks.segmentation the same or a little better,
    # no bare frame changed (benchmarks/README.md, segfast10). The 1-D medians alone (a tenth of the cost) cut a drawn
    # pleated black mask 3 IoU points short.
    rim_separable: bool = True
    # ... and the 2-D median after the 1-D ones (3 or 5). 3 x 3: the rim cut 0.75x (about 0.45 ms/frame less on a 720p
    # face), benchmarks.segmentation within 0.1 point on every figure, no bare frame changed, but a drawn pleated black
    # mask on the tests' astronaut cut short (IoU with the truth 0.974 -> 0.945): kept at 5. And
    # (``rim_separable_small``) the 5 x 5 median (working faces under about 167 px) as 5-tap 1-D ones then a 3 x 3 one:
    # 0.2 points more of a real mask worn low left uncovered (worst 10 %) (benchmarks/README.md, seg15).
    rim_separable_tail: int = 5
    rim_separable_small: bool = False
    # ... flooding in from what the colour model rejects and (``rim_past_search``) from past the search region too
    rim_past_search: bool = False
    rim_hem_px: int = 2  # the cut's line moves out this many pixels (working size): the hem beside it stays
    # The same cut over the nose (``top_cut``): above the line ``top_cut_line`` (face) over the nose tip, what lies
    # past the cloth's top edge leaves the mask (pale skin on the nose bridge and the cheeks, taken in by the cluster
    # or the growth), flooded in from the skin above the search region.
    top_cut: bool = True
    top_cut_line: float = 0.0
    rim_same_cloth: float = 4.0  # a piece cut off whose chroma over lightness is this near the sure mask's stays
    # ... or within this many uint8 levels of Lab a or b at its lightness where that is more (a dark cloth's chroma over
    # lightness moves in steps of 2.56: a black mask's corner by the ear two levels redder than its middle, beside
    # dark hair that floods in through no colour step, lp_d11). 0: off.
    rim_same_levels: float = 2.2
    # ... and the mask's pixels under the jaw line this much yellower (Lab b) than the sure cloth of their lightness
    # flood in as skin (rim_cut.lit_skin_marks: a lit neck of nearly a white cloth's colour, past the cloth's faint
    # lower edge; woman_white_mask_720's neck stripe). 0: off. 6 left 0.01 points more of the masked_pairs masks
    # uncovered (worst 10 %: 0.06), 9 the same as off (benchmarks/README.md, wneck); over the nose too, 0.04 more.
    rim_lit_skin: float = 9.0
    # After the rim cut, the pieces of the mask beside the jaw and the neck (outside FaceMesh's oval and the neck's
    # column, under the nose tip) of another fabric leave it where their colour is not the cloth's (``rim_same_cloth``):
    # a hood's mesh lining of nearly a pale mask's colour (the grey-mask man's, beside his jaw), whose density of small
    # dark dots at the frame's resolution (mask_texture.textured) is over ``rim_texture`` times the sure cloth's beside
    # it, and over ``rim_texture_floor`` grey levels. 0: off.
    rim_texture: float = 3.0
    rim_texture_floor: float = 0.3
    # ... on faces of this many ROI pixels or more: a mesh's holes (about a hundredth of the face) must be 2 px to show
    rim_texture_face: float = 200.0
    # The mask's hem (mask_refine.add_hem): within this many pixels of the mask (working size), the pixels whose colour
    # lies on the way from what is beyond them to the cloth's (its seam or binding, a blurred step, the cloth's chroma
    # spread onto the skin by halved colour resolution) join it. 0: off. (2 px took no more of the true mask on
    # masked_pairs, and more skin.)
    hem_px: int = 1
    hem_towards: float = 0.5  # ... at least this far from the colour beyond towards the cloth's (Lab) ...
    hem_chroma_towards: float = 0.3  # ... or this far in chroma (a, b), where the two differ by ``hem_chroma_min``
    hem_chroma_min: float = 10.0
    hem_floor: float = 8.0  # ... and at least this far from the colour beyond (Lab units) ...
    hem_noise: float = 2.0  # ... and this many times the spread of the colours beyond (noise is no hem)
    # Narrow peaks of the mask's top edge (mask_refine.cut_narrow_peaks): columns where the top climbs more than
    # ``top_peak_tall`` (face) above the line the top follows without its peaks narrower than ``top_peak_reach`` (face)
    # are cut back to that line (the growth's spikes onto the nose and the cheeks), unless their mean chroma over
    # lightness lies within ``top_peak_cloth`` of the k-means mask cluster's (a pleat, the nose wire's ridge: cloth).
    # ``top_peak_least`` (face^2): only peaks holding at least this area above the line are cut (0: all).
    top_peak: bool = True
    top_peak_reach: float = 0.12
    top_peak_tall: float = 0.02
    top_peak_cloth: float = 4.0
    top_peak_least: float = 0.0
    # The outline settled at the ROI's resolution (mask_edge): a pixel touching it joins when its colour lies at least
    # ``edge_towards`` of the way from what lies beyond to the cloth's, by ``edge_floor`` Lab units and ``edge_noise`` x
    # the spread beyond (the blurred edge's partly-mask pixels: a pale line left along the outline).
    edge_settle: bool = True
    edge_towards: float = 0.2
    edge_floor: float = 12.0
    edge_noise: float = 2.0
    # ... or when its chroma alone (Lab a, b) lies ``edge_chroma`` Lab units (0: not read) and ``edge_chroma_noise`` x
    # the chroma's spread beyond past the chroma beyond, towards the cloth's (where the two differ by at least
    # ``edge_chroma_min``): the cloth's colour spread a pixel onto the skin by the halved chroma resolution. (12 -> 11
    # with ``top_peak``: masked_pairs worn correctly a little less uncovered; the peaks cut take the skin it added.)
    edge_chroma: float = 11.0
    edge_chroma_noise: float = 2.0
    edge_chroma_min: float = 10.0
    loops: bool = True  # add the ear loops' ends on the cheeks (thin mask-coloured strokes touching the mask)
    loop_reach: float = 0.04  # ... within this distance of the face outline (face)
    # ... and on past it, towards the ear, this far (face): a thin elongated stroke from the mask's side edge
    loop_beyond: float = 0.2
    # With a hand in front of the mask (``skin_far_only`` found the mask around it), the k-means mask's components at
    # least this share of the largest core-touching one's area are mask too: the mask's side beyond the hand.
    split_share: float = 0.2
    # ... and when the hand hides the whole core, what it leaves of the lower face under the nose stands in for it
    # (there, only clusters at least ``presence.hand_colour`` from the forehead colour count)
    hands_lower: bool = True
    split_touch: bool = True  # ... and those that touch the hand (the k-means' skin-like clusters entering the face)
    # ... and after the growth and the snap, the parts of the search region (and around it) that the colour model is
    # as sure of as of the k-means mask (``deep_threshold``, ``deep_margin``) and that touch the hand join the mask,
    # the rim cut keeping them: FaceMesh's landmarks move with the hand, and the mask's side beyond it lies past the
    # grown mask, past the search region, or under a jaw line placed too high (:func:`mask_refine.join_past_hand`)
    hand_join: bool = True
    hand_reach: float = 0.1  # ... looked for up to this far (face) past the search region
    # ... and on a mask worn on the frames before (video: the k-means fit may date from before the hand came), when the
    # hand hides at least this share of the core (a hand beside the mask or the neck under it hides none). 0: off.
    hand_core: float = 0.2
    # ... and a second cluster joins the mask when its inner-polygon fraction is at least this x the main cluster's
    # (``merge_inner_ratio`` without a hand): the hand holds the polygon's middle, and what the mask shows of itself is
    # its sides, the shaded one further toward the rim than the lit one.
    merge_inner_ratio_hands: float = 0.3
    # ... and the holes that the mask and the hand (once the presence decision takes it for one) enclose together are
    # mask (a print's blotch or dots, a shadow along the hand's edge), unless they reach the lips (a bare face's mouth
    # between its beard and its skin).
    hand_holes: bool = True
    hole_prob: float = 0.4  # a hole in the mask is filled when its mean P(mask) is at least this (else: occluder)
    # ... and, once the mask is taken as worn, when its mean chroma over lightness is at least this far from the
    # forehead skin's (a print's blotches or dots; a hand or a finger has the skin's colour). 0: off.
    print_holes: float = 15.0
    # ... and the notches in its outline (in its convex hull) of the colour of the print those holes show: a blotch or a
    # dot cut by the mask's edge.
    print_notches: bool = True
    # ... and of the print's hue at another lightness (chroma over lightness within this of the filled holes'; 0: off):
    # a blotch's darker part cut by the edge, when the holes filled were its paler ones (4:2:0 video)
    print_notch_hue: float = 8.0
    # The mask cluster must differ from the forehead skin (skin_min_distance) when any cluster does: a mask worn
    # on the chin leaves the nose and mouth (the core) bare, and a skin cluster must not be taken for the mask.
    skin_far_only: bool = True
    core_chin: bool = True  # the chin points count in the core too (masks worn low cover them)
    far_core_share: float = 0.15  # ... and hold at least this share of the core
    presence: PresenceOptions = field(default_factory=PresenceOptions)
    edge_on_seed: bool = True  # the presence's edge cue looks at the k-means mask's edge (not the grown mask's)
    reuse: bool = True  # reuse keyframe cluster centres on later frames
    # EMA of the mask in face-aligned coordinates. Off by default: on talking-head clips any lag of the mask
    # behind the jaw cost more than the flicker it removed (see benchmarks.quality: more temporal error, lower IoU),
    # and the reused clusters already keep the mask steady from frame to frame. `--mask-smoothing` turns it on.
    temporal_smoothing: bool = False
    smoothing: float = 0.6  # EMA weight of the past, in [0, 1)
    deform_px: float = 3.0  # the past weighs nothing once the lower face deforms this fast (canonical px/frame)
    hysteresis: float = 0.15  # a smoothed pixel turns on above 0.5 + this, off below 0.5 - this
    # Outward push of the k-means polygon (face): FaceMesh puts the jaw too high on masked faces.
    polygon_margin: float = 0.2
    top_margin_scale: float = 0.25  # the under-eye edge is pushed this much less (keeps the eyes out)
    side_margin_scale: float = 0.2  # the jaw is pushed this much less at the ears than under the chin
    refit_threshold: float = 1.5  # refit when mean pixel-to-centre distance > this x keyframe value
    share_jump: float = 0.2  # refit when the mask share of the polygon moves more than this
    scene_threshold: float = 0.35  # refit when the region's colour histogram moves more (L1 / 2)
    max_reuse_frames: int = 150  # refit at least this often (frames)
    sample_pixels: int = 4000  # k-means fit subsample
    seed: int = 0  # subsample and k-means seed
    lightness_weight: float = 0.15  # weight of Lab L against a, b in the clustering
    blur_sigma: float = 0.006  # pre-clustering Gaussian blur (face)
    core_radius: float = 0.05  # radius of the disks around the core points (face)
    merge_core_share: float = 0.05  # a second cluster must hold this share of the core pixels ...
    merge_inner_ratio: float = 0.6  # ... and an inner-polygon fraction >= this x the main cluster's
    skin_anchor: bool = True  # add the forehead skin colour as an extra, never-mask centre ...
    skin_min_distance: float = 12.0  # ... when it is at least this far (feature units) from the mask centre
    # A cluster at least this far from the forehead colour (and ``skin_min_distance`` at most) is unlike the skin for
    # ``skin_far_only``: the skin's own clusters (a bare nose, a bare chin, a hand) come nearer.
    skin_near: float = 10.5
    # ... and up to this far, a cluster darker than the forehead whose chroma along the skin's hue (from grey) is at
    # least ``skin_shade_chroma`` more than the forehead's: the skin in shade (the shaded nose and cheeks over a mask
    # worn low), not a white or grey mask's lit side, which is paler (0: off)
    skin_near_shaded: float = 12.0
    skin_shade_chroma: float = 3.0
    # A face whose mask cluster is closer than this to the forehead colour is taken as bare (empty mask).
    # 0 disables it. Used by the reference photo check (reference_check); it drops some masked faces and always
    # a skin-coloured (beige) one, hence off here: the presence decision (``presence``) is what skips bare faces.
    no_mask_below: float = 0.0
    open_px: float = 0.02  # opening kernel (face)
    close_px: float = 0.05  # closing kernel (face)
    feather_px: float = 2.0  # Gaussian sigma of the soft edge, in ROI pixels (0: hard {0, 1} mask)
    # The soft edge inside the mask only: the Gaussian's values under 0.5 dropped, so ``mask > 0`` (the composite's
    # hole) is ``mask >= 0.5``, the cloth, not ~3 ``feather_px`` beyond it (False: the whole Gaussian, whose outer half
    # reaches out into the skin, lids and hair round the cloth)
    feather_inward: bool = True
    work_size: int = 224  # the polygon's box is downscaled to at most this side before segmenting, pixels
    # ... and the face (``face_size``) to at most this many pixels (0: no such cap): the working resolution follows the
    # face's scale, and every step's cost with it.
    work_face: int = 0
    canonical_size: int = 128  # side of the face-aligned smoothing frame, pixels
    # A still face: when the face's lower-face landmarks lie within ``still_move`` working pixels of where they were on
    # the last frame the whole segmentation ran on (after a shift by whole ROI pixels: the ROI box moves with the
    # face), and no block of its working window (``still_blocks`` along the longer side) changed by more than
    # ``still_diff`` levels on average (a hand, the mouth, the light), that frame's mask is reused, shifted; the whole
    # segmentation runs again at least every ``still_frames`` frames, and while the presence decision is unsettled
    # (its average between ``presence.off`` and ``presence.on``). 0 or 1: off (as with ``temporal_smoothing``).
    still_frames: int = 4
    still_move: float = 0.5
    still_diff: float = 6.0
    still_blocks: int = 16
    # A face that moves: when its lower-face landmarks lie within ``move_fit`` working pixels of where an affine map
    # (fitted on them) takes those of the last full run's frame (the head turns, tilts or comes nearer; a jaw that opens
    # or closes does not fit one), and no block of its working window over the mask's box (and one block around it)
    # changed by more than ``move_diff`` levels from that frame's window carried by the same map (a hand: 40 and more;
    # a talking face's pleats and the resampling: 5-15), that frame's ROI mask is reused, carried by the map; at most
    # ``move_frames`` - 1 frames in a row (2: every other frame runs in full), and never while the presence decision is
    # near to turning. 0 or 1: off.
    move_frames: int = 2
    move_fit: float = 1.0
    move_diff: float = 16.0
    # ... and while the presence decision's average lies between ``presence.off`` and ``presence.on``, only when it is
    # at least this far from the threshold that would turn the decision (a worn mask's from ``off``)
    move_settled: float = 0.1
    # The carry's block check on a window of at most this many pixels along its longer side: a larger window (a large
    # face's ROI) is reduced by the least whole factor that brings it there (an area resize, the last full run's
    # window once per run) and the blocks are compared at that size; 0: always at the ROI's own pixels. (The check
    # warps the whole window at the ROI's size: 6-7 ms on a 512 px face, most of what a carried frame costs.)
    move_check_size: int = 448
    # A seeded run (``seed_frames`` > 1): where a moving face would run in full only because the last full run's mask
    # was carried on the frame before (``move_frames``), and the same map and block checks pass, the last run's
    # working mask is carried into this frame's working window instead and only its outline is settled again: the
    # snap's watershed on this frame's colours in a band of ``seed_band`` x the face on either side of it (the
    # colour model of the last fit), then the edge model and the paste as in a full run. At most ``seed_frames`` - 1
    # seeded runs between two full runs (2: every other run is full; on a moving face a full run then comes every
    # fourth frame: full, carried, seeded, carried). 0 or 1: off; off too without the carry (``move_frames`` <= 1).
    seed_frames: int = 2
    seed_band: float = 0.03

    @classmethod
    def plain_kmeans(cls, **changes: object) -> "SegmentOptions":
        """The method's plain k-means: inside the landmark polygon only, the core picks the cluster, no growth,
        no presence decision (the baseline of ``benchmarks.segmentation``)."""
        base: dict[str, object] = dict(
            refine=False, skin_far_only=False, core_chin=False, presence=PresenceOptions(enabled=False), still_frames=0,
            move_frames=0,
        )
        base.update(changes)
        return cls(**base)  # type: ignore[arg-type]

    def __post_init__(self) -> None:
        if self.clusters < 2:
            raise InputError(f"segmentation needs at least 2 clusters, got {self.clusters}; use 3")
        if not 0.0 <= self.hysteresis < 0.5:
            raise InputError(f"mask hysteresis must be in [0, 0.5), got {self.hysteresis}")
        if not 0.0 <= self.smoothing < 1.0:
            raise InputError(f"mask smoothing must be in [0, 1), got {self.smoothing}")
        if self.polygon_margin < 0:
            raise InputError(f"mask polygon margin must be >= 0, got {self.polygon_margin}")
        if self.sample_pixels < self.clusters * 10:
            raise InputError(f"sample_pixels={self.sample_pixels} is too small for k-means; use >= 1000")
        if self.refit_threshold <= 1.0:
            raise InputError(f"refit_threshold must be > 1, got {self.refit_threshold}")
        if self.work_size < 32:
            raise InputError(f"work_size must be >= 32 pixels, got {self.work_size}")
        if self.work_face and self.work_face < 64:
            raise InputError(f"work_face must be 0 (off) or >= 64 pixels, got {self.work_face}")
        if self.rim_separable_tail not in (3, 5):
            raise InputError(f"rim_separable_tail must be 3 or 5, got {self.rim_separable_tail}")
        if self.max_reuse_frames < 1:
            raise InputError(f"max_reuse_frames must be >= 1, got {self.max_reuse_frames}")


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

    def count_refit(self, reason: str) -> None:
        self.refit_reasons[reason] = self.refit_reasons.get(reason, 0) + 1


@dataclass
class _Window:
    """A face's working window (:meth:`MaskSegmenter._window`): ROI coordinates, then the working size's."""

    poly: np.ndarray  # (M, 2) int32: the k-means polygon, ROI pixels
    search: np.ndarray  # (N, 2) float32: the search polygon, ROI pixels
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 of the window in the ROI (the deep band's reach included)
    base: tuple[int, int, int, int]  # the same without the deep band's extension (the colour model's window)
    full_shape: tuple[int, int]  # (h, w) of the window in ROI pixels
    sx: float  # working pixels per ROI pixel across
    sy: float  # ... and down
    sub: np.ndarray  # the window at the working size, uint8 RGB
    lm: np.ndarray  # the landmarks, working pixels
    size: float  # the face size, working pixels
    poly_w: np.ndarray  # the k-means polygon, working pixels (float32)
    search_w: np.ndarray  # the search polygon, working pixels
    deep_w: np.ndarray | None  # the deep band's polygon, working pixels (None: no deep band)
    reach_w: np.ndarray | None  # the deep band without its reach out along the jaw's sides, or None
    ears_w: np.ndarray | None = None  # the deep band reaching ``deep_ear`` further out at the ears, or None


@dataclass
class _FaceState:
    fit: ClusterFit | None = None
    template: np.ndarray | None = None  # (468, 2) canonical landmarks of this face
    ema: np.ndarray | None = None  # (S, S, 2) float32 canonical: running average, last output
    aligned: np.ndarray | None = None  # last frame's MASK_REGION landmarks in canonical coordinates
    colour: ColourModel | None = None  # the colour model fitted with ``fit``
    presence: Presence | None = None
    still: StillRun | None = None


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


def _inward(soft: np.ndarray) -> np.ndarray:
    """The feathered uint8 mask ``soft`` cut to 0 below 128 (0.5): its outer half dropped, so nothing reaches past its
    0.5 line (the mask's edge, as every ``mask >= 0.5`` reads it) and the values on it rise from 0.5 inwards."""
    return cv2.threshold(soft, 127, 255, cv2.THRESH_TOZERO)[1]


def _to_float(up: np.ndarray, out: np.ndarray) -> None:
    """``out`` (float32) = the uint8 ``up`` / 255, as the ROI mask holds it."""
    np.multiply(up, np.float32(1.0 / 255.0), out=out, casting="unsafe")


class MaskSegmenter:
    """Segments the mask of each face, keeping cluster centres and smoothing state per ``face_id``."""

    def __init__(self, options: SegmentOptions | None = None) -> None:
        self.options = options or SegmentOptions()
        self.stats = SegmentStats()
        self._faces: dict[int, _FaceState] = {}
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
        state = self._faces.setdefault(face_id, _FaceState())
        still = self._still(state, image, lm, face_id)
        if still is not None:
            return still
        state.still = None
        win = self._window(image, lm)
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
        core = self._core_mask(sub_lm, sub_size, shape) & (region > 0)
        if not any_set(core):
            log.debug("face %d: mask core outside the ROI, empty mask", face_id)
            return out

        region_idx = np.flatnonzero(region.ravel())
        # (the features and the histogram only in the polygon's box, with the blur's reach around it: the working window
        # around the search region is larger, and the values inside the polygon are the same)
        box = mask_bbox(region, blur_reach(opt.blur_sigma * sub_size), region.shape) or (slice(None), slice(None))
        feats = self._features(sub[box], sub_size, np.flatnonzero(region[box]))
        hist = colour_histogram(sub[box], region[box])

        labels, dist = None, None
        fit = state.fit
        if fit is not None and opt.reuse:
            fit.age += 1
            labels, dist = nearest_centres(feats, fit.centres)
            # The centres are kept; which of them are mask is re-decided (cheap): shading moves with the head.
            fit.mask_clusters = self._choose(labels, region_idx, core, sub_lm, shape, fit.eligible, fit.past_hands)
            reason = self._refit_reason(fit, labels, dist, hist, core, region_idx)
            if reason is None:
                self.stats.reused += 1
            else:
                self.stats.count_refit(reason)
                log.debug("face %d: refit clusters (%s)", face_id, reason)
                if reason == "scene":  # a cut: the past mask belongs to another shot
                    state.ema = None
                labels = None
        if labels is None:
            skin = self._skin_colour(image, lm, poly) if (opt.skin_anchor or opt.skin_far_only) else None
            fit = self._fit(feats, region_idx, core, sub_lm, hist, shape, skin)
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
        # (a mask cluster chosen around a skin-coloured occluder: that occluder, as k-means saw it, is a hand candidate)
        skin_like = clusters_map(labels, region_idx, ~fit.eligible, shape) if fit.past_hands else None
        # (a hand in front of the mask splits it: its far side touches no core point, and is kept when it is large, or
        # when it touches the hand: a narrow strip of cloth between the hand and the polygon's edge)
        touch = None
        if skin_like is not None and opt.split_touch:
            touch = cv2.dilate(entering(skin_like & (1 - raw), sub_lm, sub_size), np.ones((3, 3), np.uint8))
        seed = self._clean(raw, core, sub_size, opt.split_share if fit.past_hands else 0.0, touch)
        binary = seed
        search_mask = region
        lab = cv2.cvtColor(sub, cv2.COLOR_RGB2LAB)
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
            below = under_jaw(sub_lm, shape) if opt.neck_threshold > opt.grow_threshold or opt.rim_cut else None
            if opt.neck_threshold > opt.grow_threshold:
                # Under the jaw line a pixel joins only when the model is surer of it.
                threshold = np.where(below > 0, np.float32(opt.neck_threshold), np.float32(opt.grow_threshold))
            binary = grow(prob, seed, search_mask, sub_size, threshold, opt.hole_prob, smooth)
            strip, deep_sure = None, 1.0
            if sub_deep is not None and any_set(binary):
                band = np.zeros(shape, np.uint8)
                cv2.fillPoly(band, [np.round(sub_deep).astype(np.int32)], 1)
                band &= 1 - search_mask
                # (as sure as the colour model is of the k-means mask itself, up to ``deep_threshold``: a dark mask
                # whose colour the background shares is never as sure as a pale blue one)
                deep_sure = min(opt.deep_threshold, float(median(prob[seed > 0])) - opt.deep_margin)
                strip = None if sub_reach is None else side_strips(shape, sub_deep, sub_reach)
                deeper = grow_deeper(prob, binary, band, sub_size, deep_sure, opt.deep_front, smooth)
                if strip is not None and opt.side_open_edge > 0 and any_set(deeper != binary):
                    deeper, closed = self._off_open_sides(deeper, binary, sub_deep, strip, sub_size)
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
                    outside = outside | ((search_mask == 0) & (over > 0))
                sure = (seed | binary) & (1 - cuts)
                if opt.rim_sure_erode > 0:
                    sure = disk_morph(sure, cv2.MORPH_ERODE, disk_size(2 * opt.rim_sure_erode * sub_size))
                line_width = opt.rim_line_width
                if opt.rim_line_px > 0:
                    line_width = min(line_width, (opt.rim_line_px + 0.49) / sub_size)  # (k = round(width x size) | 1)
                binary = cut_at_rim(
                    lab, binary, sure, cuts, sub_size, opt.rim_chroma_gain, opt.rim_light_weight, line_width,
                    outside, opt.rim_same_cloth, opt.rim_hem_px,
                    cluster_map(labels, region_idx, fit.mask_clusters, shape), opt.rim_separable,
                    opt.rim_separable_tail, opt.rim_separable_small, past, opt.rim_lit_skin, below, opt.rim_same_levels,
                )
                if opt.rim_texture > 0 and sub_size / sx >= opt.rim_texture_face and any_set(binary):
                    binary = self._without_lining(image, win, lab, binary, seed, below)
            if strip is not None and opt.side_open_edge > 0 and any_set(binary):
                binary = self._grow_sides(prob, smooth, binary, strip, sub_deep, sub_size, deep_sure)
            if win.ears_w is not None and sub_reach is not None and opt.side_open_edge > 0 and any_set(binary):
                # (then, as an addition only, the same out to the ears' wider reach over the mouth's height: what the
                # pass above took and left stays as it is)
                over = over_nose(sub_lm, shape, -opt.ear_below * sub_size)
                ears = side_strips(shape, win.ears_w, sub_reach) & over
                binary = self._grow_sides(prob, smooth, binary, ears, win.ears_w, sub_size, deep_sure)
        # (the presence cues look at the mask's body: the loops would blur its upper edge)
        worn, score, average, binary = self._presence(
            state, binary, seed, feats, in_mask, fit, lab, sub_lm, sub_size, skin_like
        )
        if opt.refine and opt.print_holes > 0 and worn and fit.skin is not None and any_set(binary):
            # (a worn mask: the holes it encloses that are unlike the skin are its print, not a hand in front of it)
            skin_chroma = self._free_chroma(fit.skin[None, :])[0]
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
        edge = self._edge_model(lab, binary)
        work = binary
        binary = binary.astype(np.float32)
        # Smooth the window at the working size; it maps onto ROI pixels by a scale and a shift.
        sub_to_roi = np.array(
            [[1.0 / sx, 0.0, x0 + 0.5 / sx - 0.5], [0.0, 1.0 / sy, y0 + 0.5 / sy - 0.5]], np.float32
        )
        binary = self._smooth(state, binary, lm, sub_to_roi)
        pasted = self._paste(out, binary, (int(x0), int(y0)), full_shape, (sx, sy), image, edge)
        self._keep_still(state, image, lm, (int(x0), int(y0), int(x1), int(y1)), pasted, sx, worn, work, (sx, sy))
        return out

    def _window(self, image: np.ndarray, lm: np.ndarray) -> _Window | None:
        """The working window of the face of ROI ``image`` with landmarks ``lm``: its polygons, its box in the ROI
        and its pixels at the working size; None when the mask region lies outside the ROI."""
        opt = self.options
        h, w = image.shape[:2]
        size = face_size(lm)

        poly = np.round(region_polygon(lm, opt.polygon_margin, opt.top_margin_scale, opt.side_margin_scale, size))
        poly = poly.astype(np.int32)
        # (the search region, and with the deep band: that band with its reach along the jaw's sides, without it, and
        # reaching further out at the ears; one call: what the polygons share is done once)
        shapes = [(opt.below_jaw, opt.search_side, opt.search_cheek)]
        deep_band = opt.refine and opt.deep_below > opt.below_jaw
        if deep_band:
            shapes.append((opt.deep_below, opt.search_side, opt.search_cheek))
            if opt.deep_cheek > 0:
                shapes.append((opt.deep_below, opt.search_side, opt.search_cheek + opt.deep_cheek))
            if opt.deep_ear > 0:
                shapes.append((opt.deep_below, opt.search_side + opt.deep_ear, opt.search_cheek + opt.deep_cheek))
        polygons = search_polygons(lm, size, shapes, opt.search_above, opt.search_jaw_floor)
        search = polygons[0]
        deep = deep_reach = ears = None
        if deep_band:
            deep = deep_reach = polygons[1]
            if opt.deep_cheek > 0:
                deep = polygons[2]
            if opt.deep_ear > 0:
                ears = polygons[-1]
        # Work inside the search region's bounding box only (with a rim around it for the colour model's
        # "not mask" samples): the cost follows the face, not the ROI.
        pts = np.vstack([poly, search]) if opt.refine else poly.astype(np.float32)
        pad = np.array([2, 2]) + (int(round(0.08 * size)) if opt.refine else 0)
        x0, y0 = np.clip(np.floor(pts.min(axis=0)).astype(int) - pad, 0, [w, h])
        x1, y1 = np.clip(np.ceil(pts.max(axis=0)).astype(int) + pad + 1, 0, [w, h])
        # The deep band extends the window downward (and sideways where it must); the working scale and the
        # colour model's samples stay those of the search region's window.
        base = (int(x0), int(y0), int(x1), int(y1))
        if deep_reach is not None:
            x0, y0 = np.minimum([x0, y0], np.clip(np.floor(deep_reach.min(axis=0)).astype(int) - pad, 0, [w, h]))
            x1, y1 = np.maximum([x1, y1], np.clip(np.ceil(deep_reach.max(axis=0)).astype(int) + pad + 1, 0, [w, h]))
        if x1 - x0 < 4 or y1 - y0 < 4:
            return None
        offset = np.array([x0, y0], np.float32)
        sub, sub_lm, sub_size = image[y0:y1, x0:x1], lm - offset, size
        sub_poly, sub_search = (poly - offset).astype(np.float32), search - offset
        sub_deep = None if deep is None else deep - offset
        sub_ears = None if ears is None else ears - offset
        # (the deep band without its reach out along the jaw's sides: what lies between the two is the sides' strip)
        sub_reach = None if deep is None or deep is deep_reach else deep_reach - offset
        full_shape = sub.shape[:2]
        # A large face is segmented at a capped working size: the mask needs no more detail than that.
        scale = min(1.0, opt.work_size / max(base[2] - base[0], base[3] - base[1]))
        if opt.work_face > 0:  # (and at most ``work_face`` pixels of face: the cost follows the face's scale)
            scale = min(scale, opt.work_face / size)
        sx = sy = 1.0
        if scale < 1.0:
            shape = (max(int(round(full_shape[0] * scale)), 4), max(int(round(full_shape[1] * scale)), 4))
            sub = resize(sub, shape[1], shape[0])  # (area by halvings, then bilinear: a plain area resize costs 5x)
            sx, sy = shape[1] / full_shape[1], shape[0] / full_shape[0]  # exact, after rounding
            axes = np.array([sx, sy], np.float32)
            # Pixel centres: the resize maps x to (x + 0.5) * s - 0.5.
            sub_lm, sub_poly = (sub_lm + 0.5) * axes - 0.5, (sub_poly + 0.5) * axes - 0.5
            sub_search = (sub_search + 0.5) * axes - 0.5
            sub_deep = None if sub_deep is None else (sub_deep + 0.5) * axes - 0.5
            sub_reach = None if sub_reach is None else (sub_reach + 0.5) * axes - 0.5
            sub_ears = None if sub_ears is None else (sub_ears + 0.5) * axes - 0.5
            sub_size = size * scale
        return _Window(
            poly, search, (int(x0), int(y0), int(x1), int(y1)), base, full_shape, sx, sy, sub, sub_lm, sub_size,
            sub_poly, sub_search, sub_deep, sub_reach, sub_ears,
        )

    def _keep_still(
        self,
        state: _FaceState,
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
        """Keep this full run's frame for :meth:`_still` (``still_frames``); ``mask``: what :meth:`_paste` wrote;
        ``work``, ``axes``: the working mask and its scale (kept for ``seed_frames``); ``seeded``: the seeded runs
        since the last full run (:meth:`_seeded`)."""
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

    def _still(self, state: _FaceState, image: np.ndarray, lm: np.ndarray, face_id: int = 0) -> np.ndarray | None:
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
                _to_float(up, out[y0 + by : y0 + by + up.shape[0], x0 + bx : x0 + bx + up.shape[1]])
        else:
            self.stats.bare += 1
        return out

    def _moved(self, state: _FaceState, image: np.ndarray, lm: np.ndarray, face_id: int = 0) -> np.ndarray | None:
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
        change = self._carried_change(still, image, lin, move, (x0, y0, x1, y1))
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
                _to_float(carried, out[dy0:dy1, dx0:dx1])
        return out

    def _carried_change(
        self, still: StillRun, image: np.ndarray, lin: np.ndarray, move: np.ndarray, window: tuple[int, int, int, int]
    ) -> float:
        """How much the face changed under the carry: the last full run's window carried by the affine map (``lin``,
        ``move``) onto ``window`` (x0, y0, x1, y1) of this frame's ROI, the largest mean absolute difference over the
        blocks of :func:`block_grid` (as in :meth:`_still`: a shift there). For a worn mask, only the blocks over
        its box and one around it: the background a turning head uncovers at the window's rim is no change to the
        mask; the carry then stops at those blocks' last row and column (each pixel of a warp is its own: the same
        values as the whole window's), and none runs when no block is left. A window larger than
        ``move_check_size``: :meth:`_reduced_change`."""
        x0, y0, x1, y1 = window
        size = self.options.move_check_size
        factor = -(-max(x1 - x0, y1 - y0) // size) if size > 0 else 1
        if factor > 1:
            return self._reduced_change(still, image, lin, move, window, factor)
        side, (bw, bh), (cx, cy) = block_grid((y1 - y0, x1 - x0), self.options.still_blocks)
        c0, r0, c1, r1 = mask_blocks(still, lin, move, (x0 + cx, y0 + cy), 1, side, (bw, bh))
        if c1 <= c0 or r1 <= r0:
            return 0.0
        ex, ey = x0 + cx + c1 * side, y0 + cy + r1 * side  # (the carry's end: the last block's)
        carried = carry(still.pixels, still.window[:2], lin, move, (x0, y0, ex, ey), cv2.BORDER_REPLICATE)
        diff = cv2.absdiff(image[y0:ey, x0:ex], carried)
        return float(grid_means(diff, side, (cx + c0 * side, cy + r0 * side, ex - x0, ey - y0)).max())

    def _reduced_change(
        self, still: StillRun, image: np.ndarray, lin: np.ndarray, move: np.ndarray, window: tuple[int, int, int, int],
        factor: int,
    ) -> float:
        """:meth:`_carried_change` with both windows area-reduced by the whole ``factor`` (``move_check_size``): the
        last run's window (reduced once per run) carried by the same map at that size, the blocks of that size's
        grid over the mask's box and one around it."""
        x0, y0, x1, y1 = window
        now = reduce_by(image[y0:y1, x0:x1], factor)
        side, (bw, bh), (cx, cy) = block_grid(now.shape, self.options.still_blocks)
        c0, r0, c1, r1 = mask_blocks(
            still, lin, move, (x0 / factor + cx, y0 / factor + cy), factor, side, (bw, bh)
        )
        if c1 <= c0 or r1 <= r0:
            return 0.0
        # (the map between the reduced windows: reduced pixel q of the last run's lies at ROI pixel
        # factor q + (factor - 1) / 2 from its corner)
        corner = np.array(still.window[:2], np.float32) + (0.5 * factor - 0.5)
        shift = (lin @ corner + move - [x0, y0] + 0.5) / factor - 0.5
        ex, ey = cx + c1 * side, cy + r1 * side
        carried = cv2.warpAffine(
            still.reduced_by(factor), np.hstack([lin, shift[:, None]]).astype(np.float32), (ex, ey),
            flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE,
        )
        diff = cv2.absdiff(now[:ey, :ex], carried)
        return float(grid_means(diff, side, (cx + c0 * side, cy + r0 * side, ex, ey)).max())

    def _seeded(
        self, state: _FaceState, image: np.ndarray, lm: np.ndarray, lin: np.ndarray, move: np.ndarray, face_id: int
    ) -> np.ndarray | None:
        """A seeded run (``seed_frames``): the last run's working mask carried by the face's motion (the affine map
        ``lin``, ``move`` of ROI pixels, :meth:`_moved`) into this frame's working window, its outline snapped onto
        this frame's colour steps in a band of ``seed_band`` x the face (:func:`mask_refine.snap_edges`), then the edge
        model and the paste of a full run. None: run it all (no window, no colour model, nothing carried)."""
        opt, still = self.options, state.still
        assert still is not None and still.work is not None
        if state.colour is None or state.fit is None:
            return None
        win = self._window(image, lm)
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
        edge = self._edge_model(lab, binary)
        out = np.zeros((h, w), np.float32)
        pasted = self._paste(out, binary, (x0, y0), win.full_shape, (win.sx, win.sy), image, edge)
        log.debug("moving face: the carried mask's outline settled again (seeded run)")
        self._keep_still(
            state, image, lm, win.box, pasted, win.sx, True, binary, (win.sx, win.sy), still.seeded + 1
        )
        return out

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
        sure = min(opt.deep_threshold, float(median(prob[seed > 0])) - opt.deep_margin)
        body = seed & core
        out, past = join_past_hand(smooth, binary, hand, wide, size, sure, body if body.any() else seed)
        if not past.any():
            return binary, None
        log.debug("hand in front: %d pixels past it, %d joined", int(past.sum()), int((out > binary).sum()))
        return out, past

    def _presence(
        self,
        state: _FaceState,
        binary: np.ndarray,
        seed: np.ndarray,
        feats: np.ndarray,
        in_mask: np.ndarray,
        fit: ClusterFit,
        lab: np.ndarray,
        lm: np.ndarray,
        size: float,
        skin_like: np.ndarray | None = None,
    ) -> tuple[bool, float, float, np.ndarray]:
        """(worn, score, running average, mask) of this frame; always worn when the decision is off. The mask is
        ``binary``, with the holes it encloses together with a hand in front of it filled (``hand_holes``)."""
        popt = self.options.presence
        if not popt.enabled:
            return bool(binary.any()), 1.0, 1.0, binary
        distance = None
        # (a grey or overexposed forehead is no skin colour to compare with: the other cues decide)
        if fit.skin is not None and is_warm(fit.skin) and in_mask.any():
            # (the mean as a sum of products with the 0/1 weights: a mean over axis 0 of an (n, 3) array is several times
            # slower, and a matrix product wakes BLAS's threads, slow on a loaded machine)
            mean = np.einsum("i,ij->j", in_mask.astype(np.float32), feats) / np.float32(np.count_nonzero(in_mask))
            distance = float(np.linalg.norm(mean - fit.skin))
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
            lips, edge, mouth, rest = state.presence.cues  # type: ignore[misc]
            score = presence_score(distance, cover, lips, edge, popt, mouth, rest, slant)
            worn = state.presence.update(score)
            log.debug("presence: settled, cues reused; cover %.2f slant %s score %.2f -> %s", cover, slant, score, worn)
            return worn, score, float(state.presence.average or 0.0), binary
        occluder, lips = None, None
        edge = edge_contrast(lab, seed if self.options.edge_on_seed else binary, lm, size)
        if (
            popt.occluder_tolerance > 0 and skin_ab is not None and is_warm(fit.skin)
            and min(popt.occluder_min_cover, popt.hand_min_cover) <= cover < popt.cover_high
        ):
            # The wider hand rules (the k-means' skin-like clusters as hand candidates, the mask seen on one side only)
            # only behind clear cloth: unlike the skin in colour and in chroma over lightness, with a clear upper edge
            # (a bare face's shaded half beside its lit half, which joins the neck like a hand, is none of these).
            clear = (distance is None or distance >= popt.hand_colour) and (edge is None or edge >= popt.hand_edge)
            if clear and in_mask.any():
                chroma = np.median(self._free_chroma(feats[in_mask]), axis=0)
                clear = float(np.linalg.norm(chroma - self._free_chroma(fit.skin[None, :])[0])) >= popt.hand_chroma
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
                    if self.options.hand_holes and float((hands[mouth > 0] > 0).mean()) >= popt.hand_mouth:
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
        score = presence_score(distance, cover, lips, edge, popt, mouth, rest, slant)
        if fit.past_hands and occluder is None and cover < popt.cover_high:
            # The mask cluster was found around a skin-coloured occluder holding the core: worn only while that
            # occluder passes as a hand, or once the mask covers the lower face by itself (the hand has gone);
            # else it was a bare face's lit skin joining the neck, around a beard or a shadow.
            score = 0.0
        state.presence.measured((lips, edge, mouth, rest), score, distance, cover)
        hidden = 0.0
        if (
            popt.hold_frames > 0 and state.presence.worn and score < (state.presence.average or 0.0)
            and popt.occluder_tolerance > 0 and skin_ab is not None and is_warm(fit.skin)
            and (lips is None or lips <= popt.lips_low)
        ):
            hidden = self._skin_in_front(lab, binary, lower, skin_ab)
        worn = state.presence.update(score, hidden >= popt.hold_skin)
        log.debug(
            "presence: skin distance %s cover %.2f (occluded %.2f) lips %s edge %s mouth %s (rest %s) slant %s"
            " score %.2f skin in front %.2f -> %s", distance, cover, occluded, lips, edge, mouth, rest, slant, score, hidden, worn,
        )
        return worn, score, float(state.presence.average or 0.0), binary

    def _skin_in_front(self, lab: np.ndarray, mask: np.ndarray, lower: np.ndarray, skin_ab: np.ndarray) -> float:
        """The share of the ``lower`` face that is not ``mask`` and has the skin's colour (Lab a, b within the presence's
        ``occluder_tolerance`` of ``skin_ab``): on a worn mask, a hand or fingers in front of it."""
        inside = lower > 0
        area = int(inside.sum())
        if area == 0:
            return 0.0
        px = pixels_of(lab, inside)
        near = skin_table(skin_ab, self.options.presence.occluder_tolerance)
        skin = (np.take(near, (px[:, 1].astype(np.uint16) << 8) | px[:, 2]) > 0) & (mask[inside] == 0)
        return float(skin.sum()) / area

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
        probe = self._probe_pixels(image, lm, poly)
        if probe is not None:
            samples.append(cv2.cvtColor(probe.reshape(1, -1, 3), cv2.COLOR_RGB2LAB).reshape(-1, 3))
        return ColourModel(lab[inner > 0], np.concatenate(samples), shading_free=self.options.shading_free)

    # ------------------------------------------------------------------ pieces

    def _grow_sides(
        self,
        prob: np.ndarray,
        smooth: np.ndarray,
        binary: np.ndarray,
        strip: np.ndarray,
        deep: np.ndarray,
        size: float,
        sure: float,
    ) -> np.ndarray:
        """``binary`` (uint8 {0, 1}, snapped) grown on into the deep band's side ``strip`` as the search region is grown
        into (``side_threshold``, under the deep band's ``sure`` threshold), where what it takes meets it along
        ``side_front`` (face): the mask's shaded side standing off the cheek past FaceMesh's outline is never as sure as
        its lit front. What that takes and runs on past the strip (a wall or a shirt of the mask's colour) is left out
        (:meth:`_off_open_sides`). After the snap and the rim cut: their watersheds put the outline of a thin shaded
        side back on the shading's step at the search region's edge."""
        opt = self.options
        if opt.side_threshold >= sure:
            return binary
        band = strip & (1 - binary)
        # (only in the box of the band's pixels the model takes, with the clean-up kernels' reach around it: the rest of
        # the mask is as it was)
        bx, by, bw, bh = cv2.boundingRect(((smooth >= opt.side_threshold) & (band > 0)).astype(np.uint8))
        if bw == 0:
            return binary
        m = 2 * clean_kernel(size) + 2
        box = (slice(max(by - m, 0), by + bh + m), slice(max(bx - m, 0), bx + bw + m))
        part = binary[box]
        loose = grow_deeper(prob[box], part, band[box], size, opt.side_threshold, opt.side_front, smooth[box])
        if not (loose != part).any():
            return binary
        out = binary.copy()
        out[box] = loose
        out, _ = self._off_open_sides(out, binary, deep, strip, size)
        return out

    def _off_open_sides(
        self, deeper: np.ndarray, grown: np.ndarray, deep: np.ndarray, strip: np.ndarray, size: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """``deeper`` (uint8 {0, 1}: ``grown`` continued into the deep band) less what it took in the band's
        ``strip``s out along the jaw's sides (:meth:`side_strips`) that runs on to the strip's outer edge (the ``deep``
        polygon's outline or the window's rim) along at least ``side_open_edge`` x ``size`` pixels (and with it all it
        took in the strip on that side): a mask standing off the cheek ends inside the strip; a pale wall or a white
        shirt beside the jaw, of the mask's colour, goes on past it. Also returned: the strips given up that way (uint8
        {0, 1})."""
        shape = deeper.shape
        strip = strip > 0
        none = np.zeros(shape, np.uint8)
        taken_all = ((deeper > 0) & (grown == 0) & strip).astype(np.uint8)
        # (in the box of what it took, a pixel around it: the same values as over the whole window, far cheaper)
        bx, by, bw, bh = cv2.boundingRect(taken_all)
        if bw == 0:
            return deeper, none
        x0, y0 = max(bx - 1, 0), max(by - 1, 0)
        x1, y1 = min(bx + bw + 1, shape[1]), min(by + bh + 1, shape[0])
        taken = taken_all[y0:y1, x0:x1]
        outer = np.zeros((shape[0] + 2, shape[1] + 2), np.uint8)  # (a frame around: the window's rim is an edge too)
        cv2.fillPoly(outer, [np.round(deep + 1.0).astype(np.int32)], 1)
        outer[[0, -1], :] = 0
        outer[:, [0, -1]] = 0
        edge = cv2.dilate(1 - outer[y0 : y1 + 2, x0 : x1 + 2], np.ones((3, 3), np.uint8))[1:-1, 1:-1] > 0
        n, comp, _, centroids = cv2.connectedComponentsWithStats(taken, connectivity=8)
        if n <= 1:
            return deeper, none
        centroids = centroids + np.array([x0, y0])
        contact = np.bincount(comp[edge & (taken > 0)], minlength=n)
        drop = contact >= self.options.side_open_edge * size
        drop[0] = False
        if not drop.any():
            return deeper, none
        # (and the rest of what it took on that side: the wall's bits that the closing cut off the piece)
        centre = float(deep[:, 0].mean())
        left = centroids[:, 0] < centre
        closed = np.zeros(shape, bool)
        columns = np.arange(shape[1])[None, :]
        for side, half in ((left, columns < centre), (~left, columns >= centre)):
            if (drop & side).any():
                drop |= side
                closed |= strip & half
        drop[0] = False
        log.debug("deep band: %d piece(s) along the jaw's sides run on past the strip, left out", int(drop.sum()))
        out = deeper.copy()
        out[y0:y1, x0:x1][drop[comp]] = 0
        return out, closed.astype(np.uint8)

    def _without_lining(
        self, image: np.ndarray, win: _Window, lab: np.ndarray, binary: np.ndarray, seed: np.ndarray,
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

    def _core_mask(self, lm: np.ndarray, size: float, shape: tuple[int, int]) -> np.ndarray:
        core = np.zeros(shape, np.uint8)
        r = max(int(round(self.options.core_radius * size)), 1)
        points = ls.MASK_CORE + (ls.MASK_CHIN if self.options.core_chin else ())
        for x, y in np.round(lm[ls.index(points)]).astype(np.int32).tolist():  # (Python ints: no conversion per point)
            cv2.circle(core, (x, y), r, 1, -1)
        return core > 0

    def _features(self, image: np.ndarray, size: float, pixels: np.ndarray | None = None) -> np.ndarray:
        """The k-means features of ``image`` (uint8 RGB): blurred, Lab, float32, the lightness weighted; (h, w, 3), or
        (n, 3) of the ``pixels`` (flat indices) only (taken from the uint8 Lab before the float conversion: the same
        values, a quarter of the bytes)."""
        sigma = self.options.blur_sigma * size
        if sigma >= 0.5:
            image = cv2.GaussianBlur(image, (0, 0), sigma)
        lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB)
        if pixels is not None:
            lab = np.take(lab.reshape(-1, 3), pixels, axis=0)  # (np.take of rows: 3x faster than a fancy index)
        lab = lab.astype(np.float32)
        lab[..., 0] *= self.options.lightness_weight
        return lab

    def _probe_pixels(self, image: np.ndarray, lm: np.ndarray, poly: np.ndarray) -> np.ndarray | None:
        """RGB pixels (n, 3) of the forehead probe disks outside the search polygon, or None if too few."""
        r = max(int(round(self.options.core_radius * face_size(lm))), 1)
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

    def _skin_colour(self, image: np.ndarray, lm: np.ndarray, poly: np.ndarray) -> np.ndarray | None:
        """Median feature of the forehead probe disks outside the search polygon, or None if too few."""
        pixels = self._probe_pixels(image, lm, poly)
        if pixels is None:
            return None
        lab = cv2.cvtColor(pixels.reshape(1, -1, 3), cv2.COLOR_RGB2LAB).reshape(-1, 3).astype(np.float32)
        lab[:, 0] *= self.options.lightness_weight
        return np.median(lab, axis=0).astype(np.float32)

    def _fit(
        self,
        feats: np.ndarray,
        region_idx: np.ndarray,
        core: np.ndarray,
        lm: np.ndarray,
        hist: np.ndarray,
        shape: tuple[int, int],
        skin: np.ndarray | None,
    ) -> ClusterFit:
        opt = self.options
        k = opt.clusters
        rng = np.random.default_rng(opt.seed)  # a fresh seeded generator: the same frame gives the same fit
        n = min(opt.sample_pixels, len(feats))
        sample = feats[rng.choice(len(feats), n, replace=False)] if len(feats) > n else feats
        if not has_distinct(sample, k):  # flat region: jitter so that k-means has k distinct points
            sample = sample + rng.normal(0, 0.5, sample.shape).astype(np.float32)
        # One thread: on a few thousand points the thread pool costs far more than it saves (much more under load).
        with thread_pools().limit(limits=1):
            km = kmeans_class()(n_clusters=k, n_init=2, random_state=opt.seed, max_iter=50).fit(sample)
        centres = km.cluster_centers_.astype(np.float32)
        labels, dist = nearest_centres(feats, centres)
        eligible = np.ones(k, bool)
        mask_clusters = self._choose(labels, region_idx, core, lm, shape, eligible)
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
            if opt.skin_far_only and is_warm(skin) and far.any() and not far[mask_clusters].all():
                # The core is bare skin (a mask worn low, or no mask): the mask, if any, is a cluster unlike skin
                # that still holds a part of the core (the chin, the mouth), not hair or background on the rim.
                core_labels = labels[core.ravel()[region_idx]]
                core_share = np.bincount(core_labels, minlength=k) / max(len(core_labels), 1)
                past_hands = False
                if float(core_share[far].max()) < opt.far_core_share:
                    clear = np.linalg.norm(centres - skin, axis=1) >= opt.presence.hand_colour
                    core_share = self._core_share_past_hands(labels, region_idx, core, lm, shape, far, clear)
                    past_hands = True
                if float(core_share[far].max()) >= opt.far_core_share:
                    eligible = far
                    hands_core = past_hands
                    mask_clusters = self._choose(labels, region_idx, core, lm, shape, eligible, hands_core)
                    gap = float(np.linalg.norm(centres[mask_clusters] - skin, axis=1).min())
            if opt.skin_anchor and gap >= opt.skin_min_distance:
                centres = np.vstack([centres, skin[None, :]]).astype(np.float32)
                eligible = np.append(eligible, False)
                labels, dist = nearest_centres(feats, centres)
                mask_clusters = self._choose(labels, region_idx, core, lm, shape, eligible, hands_core)
            else:
                log.debug("skin probe %.1f from the mask centre: not used", gap)
        share = float(mask_clusters[labels].mean())
        return ClusterFit(
            centres, mask_clusters, eligible, float(dist.mean()), share, hist, skin=skin, unmasked=unmasked,
            past_hands=hands_core,
        )

    def _core_share_past_hands(
        self,
        labels: np.ndarray,
        region_idx: np.ndarray,
        core: np.ndarray,
        lm: np.ndarray,
        shape: tuple[int, int],
        far: np.ndarray,
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
            if not self.options.hands_lower:
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

    def _free_chroma(self, feats: np.ndarray) -> np.ndarray:
        """(n, 2) float32: the Lab chroma (a, b) of segmenter features (n, 3) divided by their lightness, as the colour
        model's shading-free bins do (:mod:`unmask_video.mask_refine`): a shaded colour keeps it."""
        light = feats[:, 0] / self.options.lightness_weight
        return shading_free_chroma(light[:, None], feats[:, 1:] - 128.0)

    def _choose(
        self,
        labels: np.ndarray,
        region_idx: np.ndarray,
        core: np.ndarray,
        lm: np.ndarray,
        shape: tuple[int, int],
        eligible: np.ndarray,
        among_eligible: bool = False,
    ) -> np.ndarray:
        """Pick the mask cluster(s) among the ``eligible`` centres: the one with most core pixels, plus any
        other holding a share of the core whose pixels lie as much inside the polygon (not on its rim).
        ``among_eligible``: the shares count the eligible centres' core pixels only (a hand in front of the mask
        holds most of the core: the mask's lit and shaded sides share what it leaves)."""
        opt = self.options
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

    def _refit_reason(
        self,
        fit: ClusterFit,
        labels: np.ndarray,
        dist: np.ndarray,
        hist: np.ndarray,
        core: np.ndarray,
        region_idx: np.ndarray,
    ) -> str | None:
        opt = self.options
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

    def _clean(
        self, binary: np.ndarray, core: np.ndarray, size: float, split_share: float = 0.0, touch: np.ndarray | None = None
    ) -> np.ndarray:
        """Opened, closed, the components that touch the ``core`` kept (and, with ``split_share`` > 0, those at least
        that share of the largest kept one's area, and those that touch the ``touch`` map), holes filled."""
        opt = self.options
        if opt.open_px > 0:
            binary = disk_morph(binary, cv2.MORPH_OPEN, disk_size(opt.open_px * size))
        if opt.close_px > 0:
            binary = disk_morph(binary, cv2.MORPH_CLOSE, disk_size(opt.close_px * size))
        if split_share > 0:
            n, comp, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
        else:
            n, comp = cv2.connectedComponents(binary, connectivity=8)
        if n > 2:
            keep = np.unique(comp[core & (binary > 0)])
            keep = keep[keep > 0]
            if split_share > 0 and touch is not None:
                near = np.unique(comp[(touch > 0) & (binary > 0)])
                keep = np.union1d(keep, near[near > 0])
            if split_share > 0 and keep.size:
                area = stats[:, cv2.CC_STAT_AREA]
                large = np.flatnonzero(area >= split_share * area[keep].max())
                keep = np.union1d(keep, large[large > 0])
            chosen = np.zeros(n, np.uint8)  # (a look-up by label: np.isin sorts the whole window's labels)
            chosen[keep] = 1
            binary = np.take(chosen, comp)
        return fill_holes(binary)

    def _smooth(self, state: _FaceState, mask: np.ndarray, lm: np.ndarray, sub_to_roi: np.ndarray) -> np.ndarray:
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

    def _edge_model(self, lab: np.ndarray, binary: np.ndarray) -> EdgeModel | None:
        """The outline's model of the working mask ``binary`` on the window's ``lab`` (its partly-mask pixels, decided
        at the ROI's resolution by :meth:`_paste`); None where the options do not settle the edge."""
        opt = self.options
        if not (opt.refine and opt.edge_settle):
            return None
        return edge_model(
            lab, binary, opt.edge_towards, opt.edge_floor, opt.edge_noise,
            chroma_floor=opt.edge_chroma, chroma_noise=opt.edge_chroma_noise, chroma_contrast=opt.edge_chroma_min,
        )

    def _paste(
        self,
        out: np.ndarray,
        binary: np.ndarray,
        origin: tuple[int, int],
        full_shape: tuple[int, int],
        scale: tuple[float, float],
        image: np.ndarray | None = None,
        edge: EdgeModel | None = None,
    ) -> tuple[np.ndarray, tuple[int, int]] | None:
        """Write the working-size {0, 1} mask ``binary`` into the ROI mask ``out`` (zeros), its window's top-left corner
        at ``origin`` (x, y), the window ``full_shape`` (h, w) ROI pixels, ``scale`` (sx, sy) working / ROI pixels:
        scaled up bilinearly and cut at 0.5 (the edge lies between the working pixels, not on their blocks), then the
        soft edge (a Gaussian blur of ``feather_px``, its values under 0.5 cut to 0 with ``feather_inward``); before the
        blur, with ``edge`` (the working mask's :class:`~unmask_video.mask_edge.EdgeModel`) and ``image`` (the ROI),
        the outline's partly-mask pixels join it at the ROI's resolution (:func:`~unmask_video.mask_edge.settle_edge`).
        Only in the box of the mask (with the interpolation's and the blur's reach around it), all in uint8: the
        feathered values are multiples of 1 / 255.
        Returns that box in uint8 (255 x its values) and its top-left corner (x, y) in the window; None: nothing written."""
        hard = (binary >= 0.5).astype(np.uint8)
        # (the mask's first and last rows and columns, by OpenCV's bounding rectangle: NumPy's any along each axis costs
        # several times more)
        c0, r0, bw, bh = cv2.boundingRect(hard)
        if bw == 0:
            return None
        c1, r1 = c0 + bw - 1, r0 + bh - 1
        sx, sy = scale
        sigma = self.options.feather_px
        pad = (int(np.ceil(3 * sigma)) + 1 if sigma > 0 else 0) + 2
        fh, fw = full_shape
        # (working pixel x lies at ROI x (x + 0.5) / sx - 0.5: one more working pixel on either side for the
        # interpolation's ramp)
        bx0 = max(int(np.floor((c0 - 1) / sx)) - pad, 0)
        by0 = max(int(np.floor((r0 - 1) / sy)) - pad, 0)
        bx1 = min(int(np.ceil((c1 + 2) / sx)) + pad, fw)
        by1 = min(int(np.ceil((r1 + 2) / sy)) + pad, fh)
        if bx1 <= bx0 or by1 <= by0:
            return None
        hard *= np.uint8(255)
        if sx == 1.0 and sy == 1.0:
            up = hard[by0:by1, bx0:bx1]
        else:
            # (the whole window scaled up: cv2.resize is several times faster than a warp of the box alone)
            up = cv2.resize(hard, (fw, fh), interpolation=cv2.INTER_LINEAR)[by0:by1, bx0:bx1]
            up = cv2.threshold(up, 127, 255, cv2.THRESH_BINARY)[1]  # (>= 128: the float's >= 0.5)
        x0, y0 = origin
        if edge is not None and image is not None:
            up = settle_edge(
                image[y0 + by0 : y0 + by1, x0 + bx0 : x0 + bx1], up, edge,
                (sx, (bx0 + 0.5) * sx - 0.5, sy, (by0 + 0.5) * sy - 0.5),
            )
        if sigma > 0:
            soft = cv2.GaussianBlur(up, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
            up = _inward(soft) if self.options.feather_inward else soft
        _to_float(up, out[y0 + by0 : y0 + by1, x0 + bx0 : x0 + bx1])
        return up, (bx0, by0)
