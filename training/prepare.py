"""Data preparation: face photos -> aligned crops + landmarks + mask-region polygons + a manifest.

Usage::

    python -m training.prepare SOURCE [SOURCE ...] OUT_DIR [--size 192] [--limit N] [--val-fraction 0.05]
    python -m training.prepare ../shared/data/videos/talking ../shared/data/videos/masked/clip.mp4@70-115 OUT_DIR
    python -m training.prepare --realign OUT_DIR          # redo the crops from the stored landmarks (no FaceMesh)

A ``SOURCE`` is a folder, searched recursively for face photos and videos (the FFHQ or CelebA-HQ layouts, or
``../shared/data/faces/*``, ``../shared/data/videos/*``), or one video file, optionally with a frame range
``clip.mp4@START-END`` (``@100-`` = from frame 100 on; e.g. the part of a masked clip where the person is unmasked).
A video gives every ``--video-every``-th frame and the frame right after it (the pair feeds the temporal loss), up
to ``--video-frames`` frames, as faces of one person, so a training pair takes its reference from another frame of
that person (real differences of expression, pose and light). Each photo goes through MediaPipe FaceMesh (static
mode); photos with no face, several faces, a face too small or a face cut by the image border are counted and
skipped. Each usable face is aligned with a similarity transform to a ``size`` x ``size`` crop (``--framing``:
``face_neck`` keeps the neck, where a mask can reach, inside the crop), and the output folder gets::

    images/000000.jpg ...          aligned crops (RGB, JPEG quality 95)
    landmarks.npy                  (N, 468, 2) float32 landmarks in crop pixels
    source_landmarks.npy           (N, 468, 2) float32 landmarks in source-photo pixels (for --realign)
    manifest.json                  {"size", "alignment", "framing", "counts", "faces": [{"id", "image", "source",
                                    "split", "person", "frame", "next", "mask_polygon": [[x, y], ...]}]}

``person`` groups the frames of one video (null for photos), ``frame`` is the frame index, ``next`` the id of the
face of the following frame (null if there is none).

``mask_polygon`` is the region a surgical mask covers (``landmark_sets.MASK_REGION``) in crop pixels, which the
method precomputes once per face; training holes are drawn from it with jitter. The split (train / val) is a
stable hash of the source path, so adding photos never moves a face between splits.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

import cv2
import numpy as np

from unmask_video import landmark_sets as ls

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}
VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".avi", ".webm"}


@dataclass
class PrepareOptions:
    size: int = 192  # crop side in pixels
    framing: str = "face_neck"  # unmask_video.align template: "face" or "face_neck"
    limit: int | None = None  # at most this many photos per input folder (a random, seeded subset)
    val_fraction: float = 0.05  # held-out share, by a stable hash of the source path
    min_face_px: float = 40.0  # minimum inter-ocular distance x 2.5 (about the face width) in source pixels
    max_outside: float = 0.04  # reject a face whose mask region sticks out of the photo by more than this x its width
    seed: int = 0
    video_every: int = 10  # from a video, take every N-th frame and the one after it ...
    video_frames: int = 60  # ... at most this many frames per video; they are frames of one "person"


@dataclass
class PrepareReport:
    photos: int = 0  # photos and video frames looked at
    videos: int = 0
    usable: int = 0
    unreadable: int = 0
    no_face: int = 0
    several_faces: int = 0
    too_small: int = 0
    cut_by_border: int = 0
    per_folder: dict[str, int] = field(default_factory=dict)

    @property
    def unusable(self) -> int:
        return self.photos - self.usable


# --------------------------------------------------------------------------------------------- alignment


def _template(size: int) -> np.ndarray:
    """Fallback alignment template: eye centres and mouth centre in a ``size`` crop (whole face, chin inside)."""
    return np.array([[0.32, 0.30], [0.68, 0.30], [0.50, 0.70]], np.float32) * size


def fallback_align_matrix(landmarks: np.ndarray, size: int) -> np.ndarray:
    """2x3 similarity transform from photo pixels to a ``size`` crop, from the eye and mouth centres."""
    a = ls.ALIGNMENT  # (33, 133, 362, 263, 1, 61, 291)
    pts = np.stack(
        [
            landmarks[[a[0], a[1]]].mean(0),  # image-left eye
            landmarks[[a[2], a[3]]].mean(0),  # image-right eye
            landmarks[[a[5], a[6]]].mean(0),  # mouth centre
        ]
    ).astype(np.float32)
    m, _ = cv2.estimateAffinePartial2D(pts, _template(size), method=cv2.LMEDS)
    if m is None:
        raise ValueError("degenerate landmarks")
    return m.astype(np.float32)


def get_align_matrix(framing: str = "face") -> tuple[Callable[[np.ndarray, int], np.ndarray], str]:
    """The product's alignment (``unmask_video.align.align_matrix``) when present, else the fallback."""
    try:
        from unmask_video.align import align_matrix  # type: ignore[attr-defined]

        return (
            (lambda lm, size: np.asarray(align_matrix(lm, size, framing), np.float32)),
            "unmask_video.align.align_matrix",
        )
    except Exception:  # noqa: BLE001 - any import problem means: use the fallback
        return fallback_align_matrix, "training.prepare.fallback_align_matrix"


def transform_points(points: np.ndarray, m: np.ndarray) -> np.ndarray:
    return (points @ m[:, :2].T + m[:, 2]).astype(np.float32)


# --------------------------------------------------------------------------------------------- landmarks


class StaticFaceMesh:
    """MediaPipe FaceMesh in static mode; small photos are padded and upscaled so the detector finds them."""

    def __init__(self) -> None:
        import mediapipe as mp

        self._mesh = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=True, max_num_faces=2, refine_landmarks=False, min_detection_confidence=0.5
        )

    def __call__(self, image: np.ndarray) -> list[np.ndarray]:
        h, w = image.shape[:2]
        scale = max(1.0, 256.0 / min(h, w))
        pad = int(round(0.2 * max(h, w) * scale))
        work = cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_CUBIC) if scale > 1 else image
        work = cv2.copyMakeBorder(work, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        res = self._mesh.process(work)
        faces = []
        for f in res.multi_face_landmarks or []:
            pts = np.array([[p.x, p.y] for p in f.landmark[: ls.NUM_LANDMARKS]], np.float32)
            pts *= (work.shape[1], work.shape[0])
            pts = (pts - pad) / scale
            faces.append(pts.astype(np.float32))
        return faces

    def close(self) -> None:
        self._mesh.close()


# --------------------------------------------------------------------------------------------- main work


def list_photos(folder: Path, limit: int | None, seed: int, suffixes: set[str] = IMAGE_SUFFIXES) -> list[Path]:
    photos = sorted(p for p in folder.rglob("*") if p.suffix.lower() in suffixes and p.is_file())
    if limit is not None and len(photos) > limit:
        rng = np.random.default_rng(seed)
        photos = sorted(photos[i] for i in rng.choice(len(photos), size=limit, replace=False))
    return photos


def split_of(source: str, val_fraction: float) -> str:
    h = int(hashlib.sha1(source.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "val" if h < val_fraction else "train"


def parse_source(text: str) -> tuple[Path, tuple[int, int | None]]:
    """``clip.mp4@100-250`` -> (path, (100, 250)); no range -> (path, (0, None)). The end is exclusive."""
    path, _, rng = str(text).partition("@")
    if not rng:
        return Path(path), (0, None)
    start, _, end = rng.partition("-")
    try:
        return Path(path), (int(start or 0), int(end) if end else None)
    except ValueError:
        raise ValueError(f"{text!r}: a frame range is @START-END, e.g. clip.mp4@70-115") from None


def video_frames(
    path: Path, every: int, most: int, frames: tuple[int, int | None] = (0, None), pairs: bool = False
) -> Iterator[tuple[int, np.ndarray]]:
    """(frame index, RGB frame) of every ``every``-th decoded frame in ``frames`` (and, with ``pairs``, the frame
    right after each), at most ``most`` of them."""
    from unmask_video.io import VideoReader

    start, end = frames
    taken = 0
    with VideoReader(str(path)) as reader:
        for frame in reader.frames():
            i = frame.index - start
            if i < 0:
                continue
            if end is not None and frame.index >= end:
                break
            if i % every == 0 or (pairs and i % every == 1):
                yield frame.index, frame.image
                taken += 1
                if taken >= most:
                    break


def read_rgb(path: Path) -> np.ndarray | None:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    return None if bgr is None else cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _outside_fraction(points: np.ndarray, shape: tuple[int, int]) -> float:
    """How far ``points`` stick out of an image of ``shape``, relative to the points' own width."""
    h, w = shape
    excess = max(0.0, -points[:, 0].min(), -points[:, 1].min(), points[:, 0].max() - (w - 1), points[:, 1].max() - (h - 1))
    return float(excess / max(1.0, np.ptp(points[:, 0])))


def crop_face(image: np.ndarray, landmarks: np.ndarray, size: int, align) -> tuple[np.ndarray, np.ndarray]:
    """The aligned crop and its landmarks, resampled as the product resamples crops at inference."""
    m = align(landmarks, size)
    try:
        from unmask_video.align import crop as product_crop

        crop = product_crop(image, m.astype(np.float64), size)
    except ImportError:
        crop = cv2.warpAffine(image, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return crop, transform_points(landmarks, m)


def prepare(folders: Iterable[Path], out_dir: Path, options: PrepareOptions, progress: bool = True) -> PrepareReport:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "images").mkdir(exist_ok=True)
    align, align_name = get_align_matrix(options.framing)
    mesh = StaticFaceMesh()
    report = PrepareReport()
    faces: list[dict] = []
    crop_lms: list[np.ndarray] = []
    src_lms: list[np.ndarray] = []
    jobs: list[tuple[Path, Path, tuple[int, int | None]]] = []
    for source in folders:
        folder, frames = parse_source(str(source))
        if folder.is_file():
            jobs.append((folder.parent, folder, frames))
            continue
        photos = list_photos(folder, options.limit, options.seed, IMAGE_SUFFIXES | VIDEO_SUFFIXES)
        if not photos:
            log.warning("no photos or videos found under %s", folder)
        jobs += [(folder, p, (0, None)) for p in photos]

    def images() -> Iterator[tuple[Path, str, str | None, int | None, np.ndarray | None]]:
        """(folder, source name, person, frame index, RGB image or None if unreadable) for photos and video frames."""
        for folder, path, frames in _progress(jobs, progress, "landmarks + crops"):
            if path.suffix.lower() in VIDEO_SUFFIXES:
                report.videos += 1
                try:
                    for idx, frame in video_frames(path, options.video_every, options.video_frames, frames, True):
                        yield folder, f"{path}#frame={idx}", f"video:{path.name}", idx, frame
                except Exception as e:  # noqa: BLE001 - one bad video must not stop the preparation
                    log.warning("skipped video %s: %s", path, e)
                    yield folder, str(path), None, None, None
            else:
                yield folder, str(path), None, None, read_rgb(path)

    for folder, source, person, frame_index, image in images():
        report.photos += 1
        if image is None:
            report.unreadable += 1
            continue
        found = mesh(image)
        if not found:
            report.no_face += 1
            continue
        if len(found) > 1:
            report.several_faces += 1
            continue
        lm = found[0]
        eyes = np.linalg.norm(lm[list(ls.LEFT_EYE_CORNERS)].mean(0) - lm[list(ls.RIGHT_EYE_CORNERS)].mean(0))
        if eyes * 2.5 < options.min_face_px:
            report.too_small += 1
            continue
        if _outside_fraction(lm[list(ls.MASK_REGION)], image.shape[:2]) > options.max_outside:
            report.cut_by_border += 1
            continue
        try:
            crop, clm = crop_face(image, lm, options.size, align)
        except ValueError:
            report.no_face += 1
            continue
        idx = len(faces)
        name = f"images/{idx:06d}.jpg"
        cv2.imwrite(str(out_dir / name), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])
        faces.append(
            {
                "id": idx,
                "image": name,
                "source": source,
                "person": person,
                "frame": frame_index,
                "next": None,
                # all frames of a video go to the same split, so held-out people stay unseen
                "split": split_of(person or source, options.val_fraction),
                "mask_polygon": np.round(clm[list(ls.MASK_REGION)], 2).tolist(),
            }
        )
        crop_lms.append(clm)
        src_lms.append(lm)
        report.usable += 1
        report.per_folder[str(folder)] = report.per_folder.get(str(folder), 0) + 1
    mesh.close()
    link_next_frames(faces)
    np.save(out_dir / "landmarks.npy", np.asarray(crop_lms, np.float32).reshape(-1, ls.NUM_LANDMARKS, 2))
    np.save(out_dir / "source_landmarks.npy", np.asarray(src_lms, np.float32).reshape(-1, ls.NUM_LANDMARKS, 2))
    manifest = {
        "size": options.size,
        "alignment": align_name,
        "framing": options.framing,
        "options": asdict(options),
        "counts": {**{k: v for k, v in asdict(report).items() if k != "per_folder"}, "unusable": report.unusable},
        "per_folder": report.per_folder,
        "faces": faces,
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest))
    return report


def link_next_frames(faces: list[dict]) -> None:
    """Set each video face's ``next`` to the id of the face of the following frame of the same video."""
    where = {(f["person"], f["frame"]): f["id"] for f in faces if f.get("person") is not None}
    for f in faces:
        if f.get("person") is not None:
            f["next"] = where.get((f["person"], f["frame"] + 1))


def realign(out_dir: Path, size: int | None = None) -> int:
    """Redo the crops of a prepared folder from its stored source landmarks (after the alignment changed)."""
    manifest = json.loads((out_dir / "manifest.json").read_text())
    size = size or manifest["size"]
    align, align_name = get_align_matrix(manifest.get("framing", "face"))
    src = np.load(out_dir / "source_landmarks.npy")
    crop_lms = []
    for face, lm in zip(manifest["faces"], src):
        if "#frame=" in face["source"]:
            path, idx = face["source"].split("#frame=")
            image = next((f for i, f in video_frames(Path(path), 1, int(idx) + 1) if i == int(idx)), None)
        else:
            image = read_rgb(Path(face["source"]))
        if image is None:
            raise FileNotFoundError(face["source"])
        crop, clm = crop_face(image, lm, size, align)
        cv2.imwrite(str(out_dir / face["image"]), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])
        face["mask_polygon"] = np.round(clm[list(ls.MASK_REGION)], 2).tolist()
        crop_lms.append(clm)
    np.save(out_dir / "landmarks.npy", np.asarray(crop_lms, np.float32).reshape(-1, ls.NUM_LANDMARKS, 2))
    manifest["size"], manifest["alignment"] = size, align_name
    (out_dir / "manifest.json").write_text(json.dumps(manifest))
    return len(crop_lms)


def _progress(items: list, enabled: bool, label: str) -> Iterator:
    if not enabled:
        yield from items
        return
    from rich.progress import Progress

    with Progress(transient=False) as bar:
        task = bar.add_task(label, total=len(items))
        for it in items:
            yield it
            bar.advance(task)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.prepare", description=__doc__.split("\n\n")[0])
    p.add_argument("paths", nargs="+", help="SOURCE [SOURCE ...] OUT_DIR (folders, videos, clip.mp4@START-END), "
                   "or OUT_DIR with --realign")
    p.add_argument("--size", type=int, default=PrepareOptions.size)
    p.add_argument("--framing", default=PrepareOptions.framing, choices=["face", "face_neck"])
    p.add_argument("--limit", type=int, default=None, help="at most N photos per folder (random, seeded)")
    p.add_argument("--val-fraction", type=float, default=PrepareOptions.val_fraction)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--video-every", type=int, default=PrepareOptions.video_every, help="video: every N-th frame")
    p.add_argument("--video-frames", type=int, default=PrepareOptions.video_frames, help="video: at most N frames")
    p.add_argument("--realign", action="store_true", help="recompute crops of OUT_DIR from its stored landmarks")
    p.add_argument("--quiet", action="store_true")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if a.realign:
        n = realign(Path(a.paths[-1]), a.size if a.size != PrepareOptions.size else None)
        log.info("realigned %d faces", n)
        return 0
    if len(a.paths) < 2:
        p.error("give at least one SOURCE and the OUT_DIR")
    for d in a.paths[:-1]:
        try:
            path, _ = parse_source(d)
        except ValueError as e:
            p.error(str(e))
        if not (path.is_dir() or (path.is_file() and path.suffix.lower() in VIDEO_SUFFIXES)):
            p.error(f"{d} is neither a folder of face photos or videos nor a video file")
    opts = PrepareOptions(size=a.size, framing=a.framing, limit=a.limit, val_fraction=a.val_fraction, seed=a.seed,
                          video_every=a.video_every, video_frames=a.video_frames)
    r = prepare(a.paths[:-1], Path(a.paths[-1]), opts, progress=not a.quiet)
    log.info(
        "%d photos and video frames: %d usable, %d without a usable face (no face %d, several faces %d, too small %d, "
        "cut by the border %d, unreadable %d)",
        r.photos, r.usable, r.unusable, r.no_face, r.several_faces, r.too_small, r.cut_by_border, r.unreadable,
    )
    return 0 if r.usable else 1


if __name__ == "__main__":
    sys.exit(main())
