"""Colour conversion between decoded/encoded YUV frames and RGB uint8 images.

Decoding: swscale's fast yuv420p -> RGB path comes out about one level too dark on every channel (so each pass
through the tool would darken the video); its accurate flags fix that at a much higher cost. 4:2:0 frames (what
H.264/HEVC decoders give) are converted here instead: chroma upsampled bilinearly with OpenCV, then one 3x4 colour
matrix (cv2.transform), unbiased. Other pixel formats (10-bit, 4:2:2...) go through swscale with accurate rounding.
Encoding goes through swscale with area-averaged chroma and accurate rounding. Untagged video uses swscale's
default matrix (BT.601) both ways, so the output looks like the input in any player.

Where the output's pixel format, size and matrix are the decoded frame's (yuv420p, limited range: most videos),
:meth:`RGBToFrame.patched` encodes from the decoded planes and converts only the boxes the stages changed: the
rest of the frame goes out exactly as it came in (no RGB round trip), and the whole-frame conversions shrink to
the face's.
"""

from __future__ import annotations

import av
import cv2
import numpy as np
from av.video.reformatter import Interpolation, VideoReformatter

#: AVColorSpace tag -> swscale matrix (SWS_CS_*): BT.709, FCC, BT.601 (BT470BG, SMPTE170M), SMPTE240M, BT.2020.
_SWS_FROM_AVCOL = {1: 1, 4: 4, 5: 5, 6: 5, 7: 7, 9: 9, 10: 9}
#: 8-bit 4:2:0 formats converted to RGB here (see the module docstring).
_YUV420 = frozenset({"yuv420p", "yuvj420p"})
#: Luma weights (Kr, Kb) of each swscale matrix: BT.709, FCC, BT.601, SMPTE240M, BT.2020.
_KR_KB = {1: (0.2126, 0.0722), 4: (0.30, 0.11), 5: (0.299, 0.114), 7: (0.212, 0.087), 9: (0.2627, 0.0593)}
_SWS_DECODE = int(Interpolation.BILINEAR) | int(Interpolation.ACCURATE_RND) | int(Interpolation.FULL_CHR_H_INT)
_SWS_ENCODE = int(Interpolation.AREA) | int(Interpolation.ACCURATE_RND)
#: swscale's threads for one conversion. PyAV's default (0: automatic) gives its context a pool of threads that is
#: torn down and started again whenever the picture's size changes: the writer's changed boxes change size every
#: frame, so each frame started and ended two threads (at 720p about 90 threads a 60-frame run, their CPU outside
#: every thread group of ``benchmarks.speed``). One thread converts on the calling thread; the same pixels.
SWS_THREADS = 1


def sws_colorspace(avcol: int | None) -> int | None:
    """The swscale matrix (what PyAV's reformat takes) for a stream's AVColorSpace tag; None = swscale default."""
    return _SWS_FROM_AVCOL.get(int(avcol)) if avcol is not None else None


def yuv_to_rgb_matrix(sws_cs: int, full_range: bool) -> np.ndarray:
    """3x4 matrix for cv2.transform: [R, G, B] = M @ [Y, U, V, 1] in 8-bit code values."""
    kr, kb = _KR_KB.get(sws_cs, _KR_KB[5])
    kg = 1.0 - kr - kb
    y_scale, c_scale, y_offset = (1 / 255, 1 / 255, 0.0) if full_range else (1 / 219, 1 / 224, 16.0)
    m = 255.0 * np.array(
        [
            [y_scale, 0.0, 2 * (1 - kr) * c_scale],
            [y_scale, -2 * kb * (1 - kb) / kg * c_scale, -2 * kr * (1 - kr) / kg * c_scale],
            [y_scale, 2 * (1 - kb) * c_scale, 0.0],
        ]
    )
    offset = -(m[:, 0] * y_offset + (m[:, 1] + m[:, 2]) * 128.0)
    return np.hstack([m, offset[:, None]]).astype(np.float32)


def _plane(frame: av.VideoFrame, index: int, width: int) -> np.ndarray:
    """One 8-bit plane of ``frame`` as an (h, width) view of its buffer (writable), without its line padding."""
    plane = frame.planes[index]
    return np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)[:, :width]


def _rgb_frame(image: np.ndarray) -> av.VideoFrame:
    """An rgb24 frame holding ``image`` ((h, w, 3) uint8, any strides): its rows copied once, straight into the
    frame's plane (``VideoFrame.from_ndarray`` copies twice, and a view must be made contiguous first: a third)."""
    h, w = image.shape[:2]
    frame = av.VideoFrame(w, h, "rgb24")
    _plane(frame, 0, 3 * w)[...] = image.reshape(h, 3 * w)
    return frame


class FrameToRGB:
    """Decoded frames -> (H, W, 3) uint8 RGB with each frame's own matrix and range (one swscale context)."""

    def __init__(self) -> None:
        self._reformatter = VideoReformatter()
        self._matrices: dict[tuple[int, bool], np.ndarray] = {}
        #: The conversion's full-size intermediates (both chroma planes upsampled, the YUV image), kept from frame
        #: to frame: only the RGB result leaves. (Fresh ones cost more than the arithmetic: a 720p frame's are
        #: 4.6 MB of new pages to fault in and zero, every frame.) One converter serves one thread.
        self._scratch: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def _buffers(self, width: int, height: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        scratch = self._scratch
        if scratch is None or scratch[2].shape[:2] != (height, width):
            scratch = self._scratch = (np.empty((height, width), np.uint8), np.empty((height, width), np.uint8),
                                       np.empty((height, width, 3), np.uint8))  # fmt: skip
        return scratch

    def __call__(self, frame: av.VideoFrame) -> np.ndarray:
        if frame.format.name in _YUV420:
            width, height = frame.width, frame.height
            full_range = frame.format.name == "yuvj420p" or int(frame.color_range) == 2  # AVCOL_RANGE_JPEG
            key = (sws_colorspace(frame.colorspace) or 5, full_range)
            matrix = self._matrices.get(key)
            if matrix is None:
                matrix = self._matrices[key] = yuv_to_rgb_matrix(*key)
            half = (width + 1) // 2
            u, v, yuv = self._buffers(width, height)
            for i, up in ((1, u), (2, v)):
                cv2.resize(_plane(frame, i, half), (width, height), dst=up, interpolation=cv2.INTER_LINEAR)
            cv2.merge([_plane(frame, 0, width), u, v], dst=yuv)
            return cv2.transform(yuv, matrix)
        rgb = self._reformatter.reformat(
            frame,
            format="rgb24",
            src_colorspace=sws_colorspace(frame.colorspace),
            src_color_range=frame.color_range,
            interpolation=_SWS_DECODE,
            threads=SWS_THREADS,
        )
        return rgb.to_ndarray()


class RGBToFrame:
    """(H, W, 3) uint8 RGB -> a frame of the encoder's size, pixel format and matrix (limited range)."""

    def __init__(self, width: int, height: int, pix_fmt: str, avcol: int | None) -> None:
        self.width, self.height, self.pix_fmt = width, height, pix_fmt
        self._colorspace = sws_colorspace(avcol)
        self._reformatter = VideoReformatter()
        self._patch_reformatter = VideoReformatter()

    def takes_planes_of(self, source: av.VideoFrame) -> bool:
        """Whether ``source``'s planes can be encoded as they are: yuv420p in limited range, of this size, coded
        with the matrix this converter writes."""
        return (
            self.pix_fmt == "yuv420p"
            and source.format.name == "yuv420p"
            and int(source.color_range) != 2  # AVCOL_RANGE_JPEG
            and (source.width, source.height) == (self.width, self.height)
            and (sws_colorspace(source.colorspace) or 5) == (self._colorspace or 5)
        )

    def patched(
        self, source: av.VideoFrame, image: np.ndarray, boxes: list[tuple[int, int, int, int]],
        into: av.VideoFrame | None = None,
    ) -> av.VideoFrame | None:
        """A frame to encode: ``source``'s planes (copied, ``source`` is left alone) with each box (x0, y0, x1, y1)
        of ``image`` converted from RGB into them, grown to even coordinates; None when :meth:`takes_planes_of`
        says no or ``image`` is not ``source``'s size. ``image`` must equal ``source`` outside the boxes.

        ``into``: a yuv420p frame of this size to write it into and return (its buffer made writable first: where an
        encoder still holds it, FFmpeg gives it a buffer of its own); None: a new frame. A writer that passes its
        last frame back spares each frame a new buffer (at 1080p 3 MB of new memory to fault in and zero)."""
        if not self.takes_planes_of(source) or image.shape[:2] != (source.height, source.width):
            return None
        width, height = self.width, self.height
        if into is not None and into.format.name == "yuv420p" and (into.width, into.height) == (width, height):
            out = into
            out.make_writable()
        else:
            out = av.VideoFrame(width, height, "yuv420p")
        # (one copy of the planes, straight into the frame)
        views = [_plane(out, i, out.planes[i].width) for i in range(3)]
        for i, view in enumerate(views):
            view[...] = _plane(source, i, view.shape[1])[: view.shape[0]]
        luma, chroma = views[0], views[1:]
        for x0, y0, x1, y1 in boxes:
            x0, y0 = max(0, x0) & ~1, max(0, y0) & ~1
            x1, y1 = min(width, x1 + (x1 & 1)), min(height, y1 + (y1 & 1))
            if x1 <= x0 or y1 <= y0:
                continue
            h, w = y1 - y0, x1 - x0
            # (its output's planes read where they lie: ``to_ndarray`` made another copy of each)
            yuv = self._patch_reformatter.reformat(
                _rgb_frame(image[y0:y1, x0:x1]), format="yuv420p", dst_colorspace=self._colorspace,
                dst_color_range=1, interpolation=_SWS_ENCODE, threads=SWS_THREADS,
            )  # fmt: skip
            luma[y0:y1, x0:x1] = _plane(yuv, 0, w)[:h]
            for i, plane in enumerate(chroma, start=1):
                plane[y0 // 2 : y1 // 2, x0 // 2 : x1 // 2] = _plane(yuv, i, w // 2)[: h // 2]
        out.colorspace = source.colorspace
        out.color_range = 1
        return out

    def __call__(self, image: np.ndarray) -> av.VideoFrame:
        height, width = image.shape[:2]
        if (width, height) != (self.width, self.height) and width <= self.width and height <= self.height and (
            self.width - width <= 1 and self.height - height <= 1
        ):
            # Odd size with 4:2:0: pad by repeating the last column/row (every source pixel kept).
            image = np.pad(image, ((0, self.height - height), (0, self.width - width), (0, 0)), mode="edge")
        vframe = _rgb_frame(image)
        return self._reformatter.reformat(
            vframe,
            width=self.width,
            height=self.height,
            format=self.pix_fmt,
            dst_colorspace=self._colorspace,
            dst_color_range=1,
            interpolation=_SWS_ENCODE,
            threads=SWS_THREADS,
        )
