"""The options of the mask segmenter (:class:`~unmask_video.segment.MaskSegmenter`): one dataclass, its defaults
and their checks."""

from __future__ import annotations

from dataclasses import dataclass, field

from unmask_video.errors import InputError
from unmask_video.mask_presence import PresenceOptions

__all__ = ["SegmentOptions"]


@dataclass
class SegmentOptions:
    """Options of :class:`~unmask_video.segment.MaskSegmenter`; lengths marked "face" are fractions of the face size."""

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
    # A mask cluster nearer than this to the forehead's skin (``ClusterFit.skin_gap``, feature units: a mask of the
    # skin's own colour): the colour model cannot tell its cloth from the neck's skin, so under the jaw line, across
    # the neck, the growth keeps to the k-means map and the deep band is not grown there. 0: off.
    near_skin_gap: float = 5.0
    near_skin_neck: float = 0.25  # ... across this half width (face) around the chin's point: the neck
    # ... and what the rim cut takes (over the nose tip and under the jaw) does not come back by its colour
    # (``rim_same_cloth``): the cheek skin under the eyes and beside the cloth, and the neck, have the cloth's colour;
    # the cloth's edge (the watershed's step) is what tells them apart. Only the pieces on the nose's ridge as even as
    # the cloth do (the cloth's top band beyond a pleat): their median lightness gradient at most ``near_skin_even``
    # times the cloth's
    near_skin_cut: bool = True
    near_skin_even: float = 1.25
    # ... and the rim cut's median is this narrow (face; 0: ``rim_line_width`` as for other masks): the cloth's thin
    # outline or hem at its top is the step between it and the skin of its colour, kept (a 3 x 3 median at the
    # working size; ``rim_line_width``'s wider one takes it away as a pleat, and the flood then stops at the eyes' shade)
    near_skin_line: float = 0.015
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
    # ... but not from the cloth itself above the search region across the face's width under the eyes (along the
    # face's own axes): a mask worn higher than its top (pulled up to the eyes; pasted level on a tilted head) floods
    # nothing from there that the colour model is as sure of as of the k-means mask (``deep_threshold``,
    # ``deep_margin``), else the flood runs through no colour step into the cloth.
    top_cut_cloth: bool = True
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
    # ... or when it lies ``edge_cloth`` of the way or more (0: not read), whatever the spread beyond: the cloth's own
    # colour, shaded; through such pixels the outline is settled up to ``edge_depth`` ROI pixels deep (the strip of
    # shaded cloth the working size leaves between the mask and a finger holding its side: KF94's strip beside her
    # fingers, frames 215-230).
    edge_cloth: float = 0.75
    edge_depth: int = 8
    edge_cloth_cap: float = 1.05  # ... and no lighter than this of the way (a shade darkens: not a white collar)
    # ... and only the strips that run along the outline as a finger's side does: touching the usual rule's outline
    # along ``edge_run`` x the face's size or more, ``edge_run_depth`` ROI pixels deep on average (0: every strip, as
    # first written, which also took specks and pixel-wide lines along a cheek, a collar or a wall on every face: the
    # grey-mask man's jagged cheek edge, relit quality rows -0.15 dB).
    edge_run: float = 0.065
    edge_run_depth: float = 2.2
    edge_run_px: float = 16.0  # ... and along this many ROI pixels at least (the white-mask woman's ear: 8-10)
    # ... and ending at skin: the median chroma just past the strip within ``edge_run_skin`` (Lab a, b) of the
    # forehead skin's, on a face whose skin lies ``edge_skin_warm`` or more from grey ((a - 128) + (b - 128)): on a
    # skin near grey a finger is not told by colour from a grey mask's shade, a hood or a collar (the grey-mask man,
    # 13: strips along his white hood drew dark seams at frames 54-240; KF94, 20)
    edge_run_skin: float = 6.0
    edge_skin_warm: float = 15.0
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
