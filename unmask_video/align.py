"""Similarity alignment of a face to the generator's square crop, and back.

The crop is framed by a fixed template of the :data:`~unmask_video.landmark_sets.ALIGNMENT` points
(eye corners, nose tip, mouth corners), measured on a frontal FaceMesh and made left/right symmetric:
in a crop of side S the eye line sits at 0.35 S, the chin at about 0.86 S, the forehead top at about
0.14 S and the jaw sides at about 0.18 S and 0.82 S, so the whole mask region and a ring of skin
around it are inside. The transform is the least-squares similarity (rotation, uniform scale,
translation; Umeyama) from the landmarks to the template, so roll and scale are normalised.
"""

from __future__ import annotations

import cv2
import numpy as np

from unmask_video.landmark_sets import ALIGNMENT

#: Template positions of the ALIGNMENT points (same order), as fractions of the crop side.
TEMPLATES: dict[str, np.ndarray] = {
    "face": np.array(
        [
            [0.2826, 0.3520],  # 33 image-left eye, outer corner
            [0.4173, 0.3639],  # 133 image-left eye, inner corner
            [0.5827, 0.3639],  # 362 image-right eye, inner corner
            [0.7174, 0.3520],  # 263 image-right eye, outer corner
            [0.5000, 0.5529],  # 1 nose tip
            [0.3455, 0.6205],  # 61 image-left mouth corner
            [0.6545, 0.6205],  # 291 image-right mouth corner
        ],
        np.float64,
    ),
}
#: "face_neck": the same face 0.8 times as large, raised, so the neck below the chin (where a mask can reach) is
#: inside too: eye line at 0.30 S, chin at about 0.71 S.
TEMPLATES["face_neck"] = np.column_stack(
    [0.5 + (TEMPLATES["face"][:, 0] - 0.5) * 0.8, TEMPLATES["face"][:, 1] * 0.8 + 0.02]
)


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (Umeyama, no reflection) mapping ``src`` points onto ``dst``: 2x3."""
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    var_s = (s**2).sum() / len(src)
    if var_s <= 1e-12:
        raise ValueError("alignment landmarks are degenerate (all at one point)")
    cov = d.T @ s / len(src)
    u, sig, vt = np.linalg.svd(cov)
    fix = np.eye(2)
    # (u and vt are orthogonal, their determinants +-1: the 2x2 formula gives the same signs as LAPACK's, cheaper)
    if (u[0, 0] * u[1, 1] - u[0, 1] * u[1, 0]) * (vt[0, 0] * vt[1, 1] - vt[0, 1] * vt[1, 0]) < 0:
        fix[1, 1] = -1
    rot = u @ fix @ vt
    scale = float(np.trace(np.diag(sig) @ fix)) / var_s
    m = np.zeros((2, 3), np.float64)
    m[:, :2] = scale * rot
    m[:, 2] = mu_d - scale * rot @ mu_s
    return m


def affine_fit(src: np.ndarray, dst: np.ndarray) -> np.ndarray | None:
    """Least-squares affine map (2x3, float64) of ``src`` points onto ``dst``; None when the points are degenerate
    (all on one line or at one point)."""
    design = np.hstack([np.asarray(src, np.float64), np.ones((len(src), 1))])
    solution, _, rank, _ = np.linalg.lstsq(design, np.asarray(dst, np.float64), rcond=None)
    return solution.T if rank == 3 else None


def align_matrix(landmarks: np.ndarray, size: int, framing: str = "face") -> np.ndarray:
    """The 2x3 similarity mapping (x, y) pixels of the landmarks' image into a ``size`` crop."""
    if framing not in TEMPLATES:
        raise ValueError(f"unknown framing {framing!r}; expected one of {sorted(TEMPLATES)}")
    src = np.asarray(landmarks, np.float64)[list(ALIGNMENT)]
    return similarity(src, TEMPLATES[framing] * size)


def transform_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    pts = np.asarray(points, np.float64)
    return pts @ matrix[:, :2].T + matrix[:, 2]


def crop_scale(matrix: np.ndarray) -> float:
    """Crop pixels per source pixel (< 1: the crop is a downsampling of the face)."""
    return float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))


def crop(
    image: np.ndarray,
    matrix: np.ndarray,
    size: int,
    *,
    interpolation: int = cv2.INTER_LINEAR,
    border: int = cv2.BORDER_REPLICATE,
    border_value: float = 0.0,
    antialias: bool = True,
) -> np.ndarray:
    """Warp ``image`` (H,W[,C], any dtype OpenCV warps; bool is warped as float32) into the crop.

    With ``antialias`` a strong downsampling first halves the image with a Gaussian pyramid until the
    remaining scale is at least 1/2, so the linear warp does not alias (and has less to read)."""
    src = image.astype(np.float32) if image.dtype == bool else image
    m = np.asarray(matrix, np.float64)
    if antialias and interpolation == cv2.INTER_LINEAR:
        while crop_scale(m) < 0.5 and min(src.shape[:2]) >= 8:
            src = cv2.pyrDown(src)
            m = m.copy()
            m[:, :2] *= 2.0  # pyrDown's pixel i is centred on source pixel 2i
    return cv2.warpAffine(src, m, (size, size), flags=interpolation, borderMode=border, borderValue=border_value)


def uncrop(
    crop_image: np.ndarray,
    matrix: np.ndarray,
    shape: tuple[int, int],
    *,
    interpolation: int = cv2.INTER_LINEAR,
    border: int = cv2.BORDER_CONSTANT,
    border_value: float = 0.0,
) -> np.ndarray:
    """Warp a crop back into an image of ``shape`` (h, w) of the source: the inverse of :func:`crop`."""
    h, w = shape[:2]
    return cv2.warpAffine(
        crop_image,
        matrix,
        (w, h),
        flags=interpolation | cv2.WARP_INVERSE_MAP,
        borderMode=border,
        borderValue=border_value,
    )


def coverage(matrix: np.ndarray, size: int, shape: tuple[int, int]) -> np.ndarray:
    """(h, w) float32 in [0, 1]: where the source image is covered by the crop."""
    ones = np.ones((size, size), np.float32)
    return uncrop(ones, matrix, shape)
