"""Mask segmentation against pixel truth: real photos (``../shared/data/masked_pairs``) and drawn masks on real
talking-head frames (``../shared/data/videos/talking`` with :mod:`benchmarks.drawn_masks`).

    python -m benchmarks.segmentation [--data ../shared/data] [--set pairs|drawn|both] [--limit N] [--sheet /tmp/s.png]
        [--overlays /tmp/seg-overlays]

Each pair is the same photo with and without a mask pasted on, pixel-aligned, so where they differ is the true mask.
The difference is cleaned up: blurred, thresholded, opened (which also drops the thin ear loops that run off the
face over hair and background), the largest component kept, holes filled; where the pale mask lies over pale skin on
the noisy photos (the difference there is under the noise), the bites out of its top are filled where the photo shows
the mask's colour (:func:`truth_and_loops`; before, those masks' top was missing, their nose tip fell outside the truth
and 6 of them counted as worn low, none is). The ear loops beside the truth count neither way: the product removes
those it finds (the drawn masks' truth holds them), this truth has none.
Landmarks are found by FaceMesh on the masked photo (static mode), as the product sees it; photos where no face is
found are counted and skipped. A mask is "worn low" when the nose tip lies outside it.

For the method's plain k-means (k=3 in the lower-face polygon) and for the default segmentation, in this run:
- IoU with the true mask;
- uncovered: % of the true mask the segmentation leaves out;
- outside: area segmented outside the true mask, as % of the true mask area;
(drawn masks: also a third kind, a hand in front of the mask, the truth being the mask around the hand);
- boundary: mean distance in pixels between the segmented and the true mask outlines (both ways, averaged), and
  the same as % of the face size (these photos are small: a one-pixel shift of the outline is about 3.6 % of the
  mask area, and the truth's own outline is uncertain by about a pixel: JPEG noise, the blurred difference);
mean and worst 10 % (the mean of the worst tenth of the photos), for correctly worn and low masks apart; ms per
face. On the unmasked photos of the same pairs: the share of bare faces that get a non-empty mask (they would be
changed). ``--sheet`` writes a contact sheet (masked photo | k-means | ours, truth outlined) of the worst photos.

Where the default's errors are (:func:`causes`, a second table, per group): the uncovered part split into faces the
presence decision dropped, pixels on the truth's outline (within 2.5 px), true mask outside the search region and the
rest; the outside part into pixels on the outline, above the true mask's top (bare nose and cheeks grown into), under
the FaceMesh jaw line (necks, collars) and the rest. ``--overlays DIR`` writes one picture per photo of the worst
10 % of each group (photo | ours against the truth: red uncovered, blue outside), to look at.

Drawn masks (``--set drawn``): on frames of each talking clip, the varied masks of :func:`drawn_masks.mask_plan`
(colours, prints, pleats or a seam, 0.15-0.3 face heights below the chin, some worn below the nose, a hand passing
in front in some), drawn from the landmarks of the unmasked frame; the segmenter gets the landmarks FaceMesh finds
on the masked frame, as in the product. The truth is what the drawn mask covers and the hand does not. A second
set unlike the pasted masks of masked_pairs, so that the figures are not tuned to one renderer; the unmasked
frames are the bare faces.

This is a benchmark, not a test: it asserts nothing. It skips with a message when the data is absent.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
import os
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from benchmarks.drawn_masks import draw, mask_plan  # noqa: E402
from unmask_video.errors import InputError  # noqa: E402
from unmask_video.mask_presence import PresenceOptions  # noqa: E402
from unmask_video.landmarks import detect_reference_landmarks, face_box  # noqa: E402
from unmask_video.native_log import filter_native_stderr  # noqa: E402
from unmask_video.pipeline import PipelineOptions  # noqa: E402
from unmask_video import landmark_sets as ls  # noqa: E402
from unmask_video.search_region import search_polygon  # noqa: E402
from unmask_video.segment import MaskSegmenter, SegmentOptions, face_size  # noqa: E402

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def true_mask(with_mask: np.ndarray, without_mask: np.ndarray) -> np.ndarray:
    """The cleaned-up difference of a pair, bool (H, W): :func:`truth_and_loops`'s truth."""
    return truth_and_loops(with_mask, without_mask)[0]


def truth_and_loops(with_mask: np.ndarray, without_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The cleaned-up difference of a pair, bool (H, W), and the ear loops beside it, bool (H, W).

    Strong differences (> 25 after a 5x5 blur), opened (noise, thin ear loops), the largest component: the mask's
    body. Where the pale mask was pasted over pale skin the difference is weaker and the body has bites out of
    its edge: on photos without added noise (the median difference at most 3), the weak differences (> 8), opened
    by a larger disk, that touch the body are added. Thick ear loops (small photos) are then cut off: an opening
    by a disk of a tenth of the body's width removes them, and the outline it rounds off is taken back within a
    quarter of that disk of what is left. On every photo, noisy ones too, the bites are then filled where the
    photo shows the mask's colour and changed (:func:`_pale_bites`). Holes are filled (once the loops are gone: not
    the skin a loop encloses). Then the blur had spread a strong difference a pixel or two past the mask's edge: in
    the truth's outer 2 px only the pixels that really changed stay (a 3x3 median difference above max(12, 3 x the
    photo's median one)).

    The loops: the strong differences (above the noise) more than 3 px outside the truth that join it there (the ear
    loops, cut off the truth), widened by 2 px (their soft edge). They are neither mask nor "outside": the product removes the loops it finds (they are
    part of the drawn masks' truth), and the truth here has none of them.
    """
    h, w = with_mask.shape[:2]
    diff = np.abs(cv2.GaussianBlur(with_mask, (5, 5), 0).astype(np.int16) - cv2.GaussianBlur(without_mask, (5, 5), 0))
    diff = diff.max(axis=2)

    def disk(d: float) -> np.ndarray:
        d = max(3, int(round(d)) | 1)
        return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (d, d))

    binary = cv2.morphologyEx((diff > 25).astype(np.uint8), cv2.MORPH_OPEN, disk(0.02 * max(h, w)))
    n, comp, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    if n < 2:
        return np.zeros((h, w), bool), np.zeros((h, w), bool)
    binary = (comp == 1 + int(stats[1:, cv2.CC_STAT_AREA].argmax())).astype(np.uint8)
    if np.median(diff) <= 3:
        weak = cv2.morphologyEx((diff > 8).astype(np.uint8), cv2.MORPH_OPEN, disk(0.03 * max(h, w))) | binary
        n, comp = cv2.connectedComponents(weak, connectivity=8)
        keep = np.unique(comp[binary > 0])
        binary = np.isin(comp, keep[keep > 0]).astype(np.uint8)
    xs = np.flatnonzero(binary.any(axis=0))
    width = float(xs[-1] - xs[0] + 1)
    body = cv2.morphologyEx(binary, cv2.MORPH_OPEN, disk(0.1 * width))
    if body.any():
        binary &= cv2.dilate(body, disk(0.025 * width))
        binary |= _pale_bites(with_mask, without_mask, binary, body)
    flood = np.pad(binary, 1).copy()
    cv2.floodFill(flood, None, (0, 0), 1)
    truth = (binary > 0) | (flood[1:-1, 1:-1] == 0)
    still = np.abs(cv2.medianBlur(with_mask, 3).astype(np.int16) - cv2.medianBlur(without_mask, 3)).max(axis=2)
    floor = max(12.0, 3.0 * float(np.median(still)))
    rim = truth & (cv2.distanceTransform(truth.astype(np.uint8), cv2.DIST_L2, 3) <= 2.0)
    truth &= ~(rim & (still <= floor))
    # (above the noise added to some masked photos: away from the mask, its differences reach 25 and more)
    away = cv2.dilate(truth.astype(np.uint8), disk(0.3 * width)) == 0
    level = max(25.0, 2.0 * float(np.percentile(diff[away], 95))) if away.any() else 25.0
    # (past the truth's blurred edge only: within 3 px of it, the outline's errors count)
    edge = cv2.dilate(truth.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    strong = ((diff > level) & ~edge).astype(np.uint8)
    n, comp = cv2.connectedComponents(strong, connectivity=8)
    near = cv2.dilate(edge.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    joined = np.unique(comp[near & (strong > 0)])
    loops = np.isin(comp, joined[joined > 0]).astype(np.uint8)
    loops = (cv2.dilate(loops, np.ones((5, 5), np.uint8)) > 0) & ~edge
    return truth, loops


def _pale_bites(with_mask: np.ndarray, without_mask: np.ndarray, binary: np.ndarray, body: np.ndarray) -> np.ndarray:
    """uint8 {0, 1}: the bites out of the truth ``binary`` (uint8) where the pale mask lies over pale skin: within the
    convex hull of its ``body`` (the truth opened: no loop stubs), widened by a tenth of its width (a bite can take the
    whole peak over the nose), the pixels whose colour in the masked photo is the
    mask's (Mahalanobis distance in Lab, both blurred by 1.5 px, at most 4 from the colours of the truth's inside) and
    that changed (more than 8 and than 90 % of the photo's differences away from the mask: the noise added to some
    masked photos), connected to the truth (4-connected), opened by a disk of 4 % of its width (the ear loops beside
    the mask are mask-coloured and changed too, but thin). Without this, on the noisy photos the top of the mask over
    the nose was left out of the truth, the segmentation covering it counted as "outside" and the nose tip fell outside
    the truth, so the mask counted as worn low."""
    hull = np.zeros_like(binary)
    cv2.fillPoly(hull, [cv2.convexHull(cv2.findNonZero(body))], 1)
    xs = np.flatnonzero(body.any(axis=0))
    reach = max(3, int(round(0.2 * (xs[-1] - xs[0] + 1))) | 1)
    hull = cv2.dilate(hull, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (reach, reach)))
    masked = cv2.GaussianBlur(with_mask, (0, 0), 1.5)
    changed = np.abs(masked.astype(np.int16) - cv2.GaussianBlur(without_mask, (0, 0), 1.5)).max(axis=2)
    far = cv2.dilate(hull, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (31, 31))) == 0
    level = max(8.0, float(np.percentile(changed[far], 90))) if far.any() else 8.0
    lab = cv2.cvtColor(masked, cv2.COLOR_RGB2LAB).astype(np.float32)
    inner = cv2.erode(binary, np.ones((5, 5), np.uint8)) > 0
    if inner.sum() < 20:
        return np.zeros_like(binary)
    colours = lab[inner]
    offset = lab - colours.mean(axis=0)
    inverse = np.linalg.inv(np.cov(colours.T) + 4.0 * np.eye(3))
    near = np.einsum("...i,ij,...j->...", offset, inverse, offset) <= 16.0
    candidates = ((hull > 0) & near & (changed > level)).astype(np.uint8) | binary
    n, comp = cv2.connectedComponents(candidates, connectivity=4)
    keep = np.unique(comp[binary > 0])
    bites = (np.isin(comp, keep[keep > 0]) & (binary == 0)).astype(np.uint8)
    # (blobs only: the ear loops beside the mask are mask-coloured and changed too, but thin)
    thick = max(3, int(round(0.04 * (xs[-1] - xs[0] + 1))) | 1)
    return cv2.morphologyEx(bites, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (thick, thick)))


def _outline(mask: np.ndarray) -> np.ndarray:
    m = mask.astype(np.uint8)
    return (m > 0) & (cv2.erode(m, np.ones((3, 3), np.uint8), borderType=cv2.BORDER_CONSTANT, borderValue=0) == 0)


def boundary_distance(pred: np.ndarray, truth: np.ndarray) -> float:
    """Mean distance in pixels between the outlines of two bool masks (each outline to the other, averaged);
    the image diagonal when ``pred`` is empty."""
    if not pred.any():
        return float(np.hypot(*truth.shape))
    a, b = _outline(pred), _outline(truth)
    to_b = cv2.distanceTransform((~b).astype(np.uint8), cv2.DIST_L2, 3)
    to_a = cv2.distanceTransform((~a).astype(np.uint8), cv2.DIST_L2, 3)
    return 0.5 * (float(to_b[a].mean()) + float(to_a[b].mean()))


def segment_full(seg: MaskSegmenter, image: np.ndarray, lm: np.ndarray) -> tuple[np.ndarray, float]:
    """The segmented mask over the whole photo (bool) and the ms it took, the face cropped as the pipeline does
    (its box margin: a mask reaching far below the chin is not cut off by the box)."""
    box = face_box(lm, image.shape, PipelineOptions().box_margin)
    roi = np.ascontiguousarray(image[box.slices])
    roi_lm = (lm - np.array([box.x0, box.y0], np.float32)).astype(np.float32)
    start = time.perf_counter()
    mask = seg.segment(roi, roi_lm)
    ms = 1000.0 * (time.perf_counter() - start)
    out = np.zeros(image.shape[:2], bool)
    out[box.slices] = mask >= 0.5
    return out, ms


@dataclass
class Scores:
    iou: list[float] = field(default_factory=list)
    uncovered: list[float] = field(default_factory=list)
    outside: list[float] = field(default_factory=list)
    ms: list[float] = field(default_factory=list)
    boundary: list[float] = field(default_factory=list)
    boundary_rel: list[float] = field(default_factory=list)
    bare_changed: list[bool] = field(default_factory=list)

    def add(self, pred: np.ndarray, truth: np.ndarray, ms: float, size: float = 0.0) -> None:
        area = max(int(truth.sum()), 1)
        dist = boundary_distance(pred, truth)
        self.boundary.append(dist)
        if size > 0:
            self.boundary_rel.append(100.0 * dist / size)
        inter = int((pred & truth).sum())
        self.iou.append(inter / max(int((pred | truth).sum()), 1))
        self.uncovered.append(100.0 * (area - inter) / area)
        self.outside.append(100.0 * int((pred & ~truth).sum()) / area)
        self.ms.append(ms)


def _mean_worst(values: list[float], worst_high: bool) -> str:
    if not values:
        return "-"
    v = np.sort(np.asarray(values))
    n = max(1, int(round(0.1 * len(v))))
    worst = v[-n:] if worst_high else v[:n]
    return f"{v.mean():.3f} / {worst.mean():.3f}" if not worst_high else f"{v.mean():.3f} / {worst.mean():.1f}"


def _sheet(path: Path, rows: list[tuple[np.ndarray, ...]]) -> None:
    tiles = []
    for images in rows:
        tiles.append(np.concatenate([cv2.resize(im, (200, 240), interpolation=cv2.INTER_AREA) for im in images], 1))
    cv2.imwrite(str(path), cv2.cvtColor(np.concatenate(tiles, 0), cv2.COLOR_RGB2BGR))


def _draw(image: np.ndarray, pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    out = image.copy()
    out[pred] = (0.45 * out[pred] + 0.55 * np.array([255, 0, 255])).astype(np.uint8)
    contours, _ = cv2.findContours(truth.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(out, contours, -1, (0, 255, 0), max(1, image.shape[1] // 200))
    return out


RIM_PX = 2.5  # "on the outline": within this distance of the true mask's outline (px)
CAUSES = (
    "uncovered: face dropped", "uncovered: on the outline", "uncovered: outside the search region",
    "uncovered: elsewhere", "outside: on the outline", "outside: above the mask's top", "outside: under the jaw",
    "outside: elsewhere",
)


def causes(pred: np.ndarray, truth: np.ndarray, lm: np.ndarray, options: SegmentOptions) -> dict[str, float]:
    """Where the errors of one photo are, each as % of the true mask's area (the uncovered ones add up to the
    photo's uncovered %, the outside ones to its outside %): a face the presence decision dropped (nothing
    segmented); pixels within ``RIM_PX`` of the truth's outline (a boundary a pixel or two off, the pasted mask's hem);
    true mask outside the search region (where the growth never looks); segmented pixels above the truth's top in
    their column (the nose and cheeks above a mask worn low, pale skin grown into), or under the FaceMesh jaw line
    (a neck, a collar); the rest."""
    area = max(int(truth.sum()), 1)
    out = dict.fromkeys(CAUSES, 0.0)
    uncovered, outside = truth & ~pred, pred & ~truth
    if not pred.any():
        out["uncovered: face dropped"] = 100.0 * int(uncovered.sum()) / area
        return out
    t8 = truth.astype(np.uint8)
    rim_in = cv2.distanceTransform(t8, cv2.DIST_L2, 3) <= RIM_PX
    rim_out = cv2.distanceTransform(1 - t8, cv2.DIST_L2, 3) <= RIM_PX
    size = face_size(lm)
    search = np.zeros(truth.shape, np.uint8)
    poly = search_polygon(lm, size, options.below_jaw, options.search_side, options.search_above,
                          options.search_jaw_floor, options.search_cheek)
    cv2.fillPoly(search, [np.round(poly).astype(np.int32)], 1)
    jaw = lm[list(ls.JAW)]
    under = np.zeros(truth.shape, np.uint8)
    bottom = truth.shape[0] + 1
    cv2.fillPoly(under, [np.round(np.vstack([jaw, [[jaw[-1, 0], bottom], [jaw[0, 0], bottom]]])).astype(np.int32)], 1)
    tops = np.where(truth.any(axis=0), truth.argmax(axis=0), truth.shape[0])
    above = np.arange(truth.shape[0])[:, None] < tops[None, :]
    u = uncovered & ~rim_in
    o = outside & ~rim_out
    for key, part in (
        ("uncovered: on the outline", uncovered & rim_in),
        ("uncovered: outside the search region", u & (search == 0)),
        ("uncovered: elsewhere", u & (search > 0)),
        ("outside: on the outline", outside & rim_out),
        ("outside: above the mask's top", o & above),
        ("outside: under the jaw", o & ~above & (under > 0)),
        ("outside: elsewhere", o & ~above & (under == 0)),
    ):
        out[key] = 100.0 * int(part.sum()) / area
    return out


def overlay(image: np.ndarray, pred: np.ndarray, truth: np.ndarray, label: str) -> np.ndarray:
    """The photo beside the same photo with the segmentation against the truth: both green, true mask left
    uncovered red, segmented outside the truth blue; 256 px high, ``label`` written on it."""
    out = image.copy()
    for part, colour, weight in ((pred & truth, (0, 255, 0), 0.4), (truth & ~pred, (255, 0, 0), 0.7),
                                 (pred & ~truth, (0, 80, 255), 0.7)):
        out[part] = ((1 - weight) * out[part] + weight * np.array(colour)).astype(np.uint8)
    scale = 256 / image.shape[0]
    tile = cv2.resize(np.concatenate([image, out], 1), None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    cv2.putText(tile, label, (3, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 0), 1)
    return tile


@dataclass
class Case:
    """One photo with its truth: the masked image, the true mask, the bare image and their landmarks."""

    name: str
    masked: np.ndarray
    truth: np.ndarray
    landmarks: np.ndarray
    clean: np.ndarray | None = None
    clean_landmarks: np.ndarray | None = None
    kind: str | None = None  # "worn", "low" or "hand"; None: "low" when the nose tip is outside the truth
    ignore: np.ndarray | None = None  # bool: pixels that count neither way (the pairs' ear loops beside the truth)


def _landmarks(image: np.ndarray) -> np.ndarray | None:
    try:
        return detect_reference_landmarks(image)
    except InputError:
        return None


def pair_cases(folder: Path, limit: int, skipped: list[str]) -> Iterator[Case]:
    """The masked_pairs photos (``skipped`` collects those where no face is found)."""
    names = sorted(p.name for p in (folder / "with_mask").iterdir() if (folder / "without_mask" / p.name).exists())
    for name in names[: limit or None]:
        masked = cv2.cvtColor(cv2.imread(str(folder / "with_mask" / name)), cv2.COLOR_BGR2RGB)
        clean = cv2.cvtColor(cv2.imread(str(folder / "without_mask" / name)), cv2.COLOR_BGR2RGB)
        if masked.shape != clean.shape:
            continue
        lm = _landmarks(masked)
        if lm is None:
            skipped.append(name)
            continue
        truth, loops = truth_and_loops(masked, clean)
        yield Case(name, masked, truth, lm, clean, _landmarks(clean), ignore=loops)


def chroma_420(image: np.ndarray) -> np.ndarray:
    """``image`` (uint8 RGB) with its chroma at half resolution, scaled back up: what a video encoded 4:2:0 (yuv420p,
    nearly every H.264 file) carries of a mask drawn on a decoded frame (the cloth's colour spread a pixel past its
    edge, a print's small blotches paler)."""
    ycc = cv2.cvtColor(image, cv2.COLOR_RGB2YCrCb)
    h, w = ycc.shape[:2]
    half = cv2.resize(ycc[..., 1:], ((w + 1) // 2, (h + 1) // 2), interpolation=cv2.INTER_AREA)
    ycc[..., 1:] = cv2.resize(half, (w, h), interpolation=cv2.INTER_LINEAR)
    return cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB)


def drawn_cases(folder: Path, per_clip: int, skipped: list[str], chroma420: bool = False) -> Iterator[Case]:
    """Drawn masks on frames of the talking clips: ``per_clip`` masks (and frames) per clip; ``chroma420``: the masked
    frames (and the bare ones) through :func:`chroma_420`."""
    import av

    for ci, path in enumerate(sorted(folder.glob("*.mp4"))):
        frames = []
        with av.open(str(path)) as container:
            for i, frame in enumerate(container.decode(video=0)):
                if i >= 60:
                    break
                frames.append(frame.to_ndarray(format="rgb24"))
        for k in range(per_clip):
            spec = mask_plan(ci * per_clip + k, len(frames))
            index = (spec.hand.start + spec.hand.end) // 2 if spec.hand else (k * 13) % len(frames)
            clean = frames[index]
            lm_clean = _landmarks(clean)
            if lm_clean is None:
                skipped.append(f"{path.stem}#{index}")
                continue
            masked, _, truth = draw(clean, lm_clean, spec, index)
            if chroma420:
                masked, clean = chroma_420(masked), chroma_420(clean)
            lm = _landmarks(masked)
            if lm is None:
                skipped.append(f"{path.stem}#{index}")
                continue
            name = f"{path.stem}#{index} {spec.describe()}"
            kind = "hand" if spec.hand else "low" if spec.low else "worn"
            yield Case(name, masked, truth > 0.5, lm, clean if k == 0 else None, lm_clean if k == 0 else None, kind)


def evaluate(title: str, cases: Iterator[Case], skipped: list[str], methods: dict[str, SegmentOptions],
             sheet: Path | None, sheet_rows_n: int, console: Console, overlays: Path | None = None) -> None:
    kinds = {"worn": "correctly", "low": "low", "hand": "hand in front"}
    scores = {m: {kind: Scores() for kind in kinds} for m in methods}
    last_method = list(methods)[-1]
    # (the last method's: where its errors are, per photo; the worst photos' overlays)
    where: dict[str, list[dict[str, float]]] = {kind: [] for kind in kinds}
    worst: dict[str, list[tuple[float, str, np.ndarray]]] = {kind: [] for kind in kinds}
    bare = {m: Scores() for m in methods}
    sheet_rows: list[tuple[float, tuple[np.ndarray, ...]]] = []
    for case in cases:
        masked, truth, lm = case.masked, case.truth, case.landmarks
        if truth.sum() < 0.02 * face_size(lm) ** 2:
            continue
        nose = np.round(lm[1]).astype(int)
        inside = 0 <= nose[1] < truth.shape[0] and 0 <= nose[0] < truth.shape[1] and truth[nose[1], nose[0]]
        kind = case.kind or ("worn" if inside else "low")
        preds = []
        for m, opt in methods.items():
            pred, ms = segment_full(MaskSegmenter(opt), masked, lm)
            if case.ignore is not None:  # (the ear loops beside the truth: taking them is no error, leaving them none)
                pred &= ~case.ignore
            scores[m][kind].add(pred, truth, ms, face_size(lm))
            preds.append(pred)
        where[kind].append(causes(preds[-1], truth, lm, methods[last_method]))
        if overlays:
            last = scores[last_method][kind]
            label = f"{case.name[:40]} {kind} uncovered {last.uncovered[-1]:.0f} outside {last.outside[-1]:.0f}"
            worst[kind].append((last.uncovered[-1] + last.outside[-1], case.name,
                                overlay(masked, preds[-1], truth, label)))
            worst[kind].sort(key=lambda r: -r[0])
            del worst[kind][max(3, int(np.ceil(0.1 * len(scores[last_method][kind].iou)))) :]
        if sheet:
            last = scores[list(methods)[-1]][kind]
            badness = last.uncovered[-1] + last.outside[-1]
            sheet_rows.append((badness, (masked,) + tuple(_draw(masked, p, truth) for p in preds)))
        if case.clean is None or case.clean_landmarks is None:
            continue
        for m, opt in methods.items():
            pred, ms = segment_full(MaskSegmenter(opt), case.clean, case.clean_landmarks)
            bare[m].bare_changed.append(bool(pred.any()))
    table = Table(title=f"mask segmentation on {title} ({len(skipped)} photos without a face found, skipped)")
    for col in ("method", "worn", "photos", "IoU mean / worst10%", "uncovered % mean / worst10%",
                "outside % mean / worst10%", "boundary px mean / worst10%", "boundary % face", "ms/face"):
        table.add_column(col, justify="right")
    for m in methods:
        for kind, label in kinds.items():
            s = scores[m][kind]
            if not s.iou:
                continue
            table.add_row(m, label, str(len(s.iou)),
                          _mean_worst(s.iou, False), _mean_worst(s.uncovered, True), _mean_worst(s.outside, True),
                          _mean_worst(s.boundary, True), f"{np.mean(s.boundary_rel):.2f}" if s.boundary_rel else "-",
                          f"{np.median(s.ms):.1f}" if s.ms else "-")
    console.print(table)
    table = Table(title=f"{last_method}: where the errors are (% of the true mask area, mean over the photos)")
    table.add_column("error")
    for kind, label in kinds.items():
        if where[kind]:
            table.add_column(f"{label} ({len(where[kind])})", justify="right")
    for key in CAUSES:
        table.add_row(key, *(f"{np.mean([w[key] for w in where[kind]]):.2f}" for kind in kinds if where[kind]))
    console.print(table)
    if overlays:
        overlays.mkdir(parents=True, exist_ok=True)
        for kind, rows in worst.items():
            for rank, (_, name, tile) in enumerate(rows):
                safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)[:60]
                cv2.imwrite(str(overlays / f"{kind}_{rank:02d}_{safe}.png"), cv2.cvtColor(tile, cv2.COLOR_RGB2BGR))
        console.print(f"overlays of the worst 10 % of each group ({last_method}; green: both, red: true mask "
                      f"left uncovered, blue: segmented outside it): {overlays}")
    for m in methods:
        changed = bare[m].bare_changed
        missed = sum(u >= 99.9 for kind in kinds for u in scores[m][kind].uncovered)
        total = sum(len(scores[m][kind].uncovered) for kind in kinds)
        console.print(
            f"{m}: bare faces given a mask (would be changed): {sum(changed)} of {len(changed)}; "
            f"masked faces left untouched: {missed} of {total}"
        )
    if sheet and sheet_rows:
        sheet_rows.sort(key=lambda r: -r[0])
        _sheet(sheet, [r[1] for r in sheet_rows[:sheet_rows_n]])
        console.print(f"contact sheet (masked | {' | '.join(methods)}; truth outlined green): {sheet}")


def _variant(changes: list[str]) -> SegmentOptions:
    """The default :class:`SegmentOptions` with ``FIELD=VALUE`` changes, each value read as its field's default's type."""
    base = SegmentOptions()
    fields = {}
    for change in changes:
        name, _, text = change.partition("=")
        default = getattr(base, name)  # (an unknown field: AttributeError, with its name)
        if isinstance(default, bool):
            fields[name] = text.lower() in ("1", "true", "yes", "on")
        else:
            fields[name] = type(default)(text)
    return replace(base, **fields)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="the shared data folder (holds masked_pairs/)")
    parser.add_argument("--set", choices=("pairs", "drawn", "both"), default="both", help="which photos")
    parser.add_argument("--limit", type=int, default=0, help="use only the first N pairs (0: all)")
    parser.add_argument("--per-clip", type=int, default=10, help="drawn masks per talking clip")
    parser.add_argument("--sheet", type=Path, help="write a contact sheet of the worst photos here (PNG; "
                        "with --set both, the drawn set's goes next to it with -drawn added)")
    parser.add_argument("--sheet-rows", type=int, default=10)
    parser.add_argument("--overlays", type=Path, help="write one overlay PNG per photo of the worst 10 %% of each "
                        "group (the default segmentation against the truth) into this folder")
    parser.add_argument("--variant", action="append", default=[], metavar="FIELD=VALUE",
                        help="also measure the default with this SegmentOptions field changed (repeatable: one more "
                        "method with all of them), e.g. rim_separable_tail=3")
    parser.add_argument("--chroma420", action="store_true",
                        help="the drawn set's frames with their chroma at half resolution, as a 4:2:0 video carries them "
                        "(the masks are drawn on decoded frames at full chroma)")
    parser.add_argument("--no-history", action="store_true",
                        help="leave out the older variants (before, no deep band, no side strips): a shorter run")
    args = parser.parse_args(argv)
    filter_native_stderr()
    methods = {
        "k-means (method)": SegmentOptions.plain_kmeans(),
        # issue 10's state before the shading-free colour model, the larger search region and the boundary snap
        "ours, before": SegmentOptions(
            snap=False, shading_free=False, below_jaw=0.3, search_jaw_floor=0.2, loops=False, edge_on_seed=False,
            presence=PresenceOptions(lips_ring_skin=0.0),
        ),
        # the default without the deep band under the search region (a mask worn far down the neck)
        "ours, no deep band": SegmentOptions(deep_below=0.0),
        # the default without the deep band's strips out along the jaw's sides (the default before they were on)
        "ours, no side strips": SegmentOptions(deep_cheek=0.0),
        "ours (default)": SegmentOptions(),
    }
    if args.no_history:
        for name in ("ours, before", "ours, no deep band", "ours, no side strips"):
            del methods[name]
    if args.variant:
        methods["ours, " + ", ".join(args.variant)] = _variant(args.variant)
    console = Console(width=170)
    if args.set in ("pairs", "both"):
        folder = args.data / "masked_pairs"
        if not (folder / "with_mask").is_dir():
            print(f"skipped: {folder} not found (pass --data)")
        else:
            skipped: list[str] = []
            evaluate(str(folder), pair_cases(folder, args.limit, skipped), skipped, methods, args.sheet,
                     args.sheet_rows, console, args.overlays)
    if args.set in ("drawn", "both"):
        folder = args.data / "videos" / "talking"
        if not folder.is_dir():
            print(f"skipped: {folder} not found (pass --data)")
        else:
            skipped = []
            sheet = args.sheet
            if sheet and args.set == "both":
                sheet = sheet.with_name(sheet.stem + "-drawn" + sheet.suffix)
            overlays = args.overlays
            if overlays and args.set == "both":
                overlays = overlays / "drawn"
            title = f"drawn masks on {folder}" + (" (4:2:0 chroma)" if args.chroma420 else "")
            evaluate(title, drawn_cases(folder, args.per_clip, skipped, args.chroma420), skipped, methods,
                     sheet, args.sheet_rows, console, overlays)
    return 0


if __name__ == "__main__":
    sys.exit(main())
