"""The contract every reconstruction stage meets: ``--generator none`` (the composite) and every neural backend."""

from __future__ import annotations

from typing import Protocol, Sequence, runtime_checkable

from unmask_video.stages import FaceROI, Image

__all__ = ["Reconstructor", "check_reconstructor"]


@runtime_checkable
class Reconstructor(Protocol):
    """Rebuilds the masked part of faces.

    ``name`` is what the user chose (``none``, ``fast``, ...); ``provider`` says what really runs (for the
    summary).
    """

    name: str
    provider: str

    def reach_px(self, face_px: float) -> int | None:
        """How far, in ROI pixels, outside the mask's bounding box the stage reads ``face.reference``/``face.valid``
        on a face of ``face_px`` (``face_units.face_size_px``; the pipeline warps only that box), or None when it
        reads the whole face."""
        ...

    def warmup(self) -> None:
        """Load and run whatever the first frame would otherwise wait for (live mode calls it before frame 1)."""
        ...

    def reconstruct(self, faces: Sequence[FaceROI]) -> list[Image]:
        """Return, for each face, an (h, w, 3) uint8 image of its ROI with the masked part rebuilt.

        The caller blends the result into the frame with a soft edge that reaches ``BlendOptions.width`` (a length
        in face units) outside ``face.mask``: there the result must hold face content too (the rebuilt face
        continued, or the ROI image itself). Pixels farther out may hold anything.
        """
        ...


def check_reconstructor(candidate: object) -> Reconstructor:
    """Return ``candidate`` if it has every member of :class:`Reconstructor`, else raise TypeError naming what is missing."""
    missing = [
        member
        for member in ("name", "provider", "reach_px", "warmup", "reconstruct")
        if not hasattr(candidate, member)
    ]
    if missing:
        raise TypeError(f"{type(candidate).__name__} is not a Reconstructor: it lacks {', '.join(missing)}")
    return candidate  # type: ignore[return-value]
