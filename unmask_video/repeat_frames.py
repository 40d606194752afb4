"""Whether a decoded frame repeats the last frame that was rebuilt (a duplicated source frame).

Videos converted between frame rates repeat a frame every few (the talking-head clips of the quality benchmark: one
in 5 or 6); the decoder then returns the same picture again, with a little coding noise. Rebuilding it again
gives a slightly different face (the landmarks' filter moves on, the mask and colour statistics are re-read): a
flicker on a picture that did not move. A repeated frame gets the output of the frame it repeats instead, and
none of the work.

Frames are compared as means over blocks (``block`` pixels wide: the coding noise averages out, any visible change
does not) against the last frame that was *not* a repeat (the key), so a slow drift of small changes ends the
repeats once it adds up to ``tolerance``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from unmask_video.face_detect import resize
from unmask_video.stages import Image


@dataclass
class RepeatOptions:
    """Options of :class:`RepeatDetector`."""

    enabled: bool = True
    #: Pixels: the frames are compared as means over blocks this wide.
    block: int = 8
    #: Levels: a frame repeats the key when no block's mean (of any channel) differs from the key's by more.
    #: Duplicated frames of the benchmark's clips and of the real KF94 clip: at most 2-7 (a block coded anew);
    #: frames of a still face: from 2; a frame with visible motion: 8 or more. An edge of contrast 100 moving 0.5 px
    #: changes its block's mean by about 6: a face drifting slower is held at most that far behind.
    tolerance: float = 6.0


class RepeatDetector:
    """Says, frame after frame in capture order, whether each repeats the last key frame (see the module)."""

    def __init__(self, options: RepeatOptions | None = None) -> None:
        self.options = options or RepeatOptions()
        self._key: np.ndarray | None = None  # the key frame's block means
        self._key_shape: tuple[int, ...] = ()

    def reset(self) -> None:
        """Forget the key: the next frame is never a repeat."""
        self._key = None

    def repeats(self, image: Image, possible: bool = True) -> bool:
        """True when ``image`` repeats the key frame; otherwise ``image`` becomes the key and False. ``possible``
        False: the caller has nothing to repeat (``image`` becomes the key)."""
        if not self.options.enabled:
            return False
        block = max(1, int(self.options.block))
        h, w = image.shape[:2]
        small = resize(image, max(1, w // block), max(1, h // block))
        if possible and self._key is not None and self._key_shape == image.shape:
            if float(cv2.norm(small, self._key, cv2.NORM_INF)) <= self.options.tolerance:
                return True
        self._key, self._key_shape = small, image.shape
        return False
