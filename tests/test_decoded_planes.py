"""Encoding from the decoded YUV planes: only the boxes the stages changed are converted back from RGB."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from tests.helpers import decode_frames
from unmask_video.io import EncodeOptions, read_image
from unmask_video.io.color import FrameToRGB, RGBToFrame
from unmask_video.pipeline import FramePipeline, PipelineOptions
from unmask_video.blend import BlendOptions
from unmask_video.metrics import psnr_in_mask
from unmask_video.reconstruct.factory import ReconstructorOptions, build_reconstructor
from unmask_video.runner import RunOptions, run_file
from unmask_video.synthetic import ClipSpec


def _decoded_frame(astronaut: np.ndarray, colorspace: int = 1) -> av.VideoFrame:
    """A yuv420p limited-range frame of the astronaut, as a decoder would hand it out."""
    frame = RGBToFrame(512, 512, "yuv420p", colorspace)(astronaut)
    frame.colorspace, frame.color_range = colorspace, 1
    return frame


def test_only_the_changed_boxes_are_converted(astronaut: np.ndarray) -> None:
    source = _decoded_frame(astronaut)
    to_frame = RGBToFrame(512, 512, "yuv420p", 1)
    image = FrameToRGB()(source)
    box = (101, 51, 203, 161)  # odd corners: grown to (100, 50, 204, 162)
    image[box[1] : box[3], box[0] : box[2]] = (200, 40, 90)
    before = source.to_ndarray().copy()
    out = to_frame.patched(source, image, [box])
    assert out is not None
    planes, whole = out.to_ndarray(), to_frame(image).to_ndarray()
    assert np.array_equal(source.to_ndarray(), before), "the decoded frame was written to"
    luma, chroma = planes[:512], planes[512:].reshape(2, 256, 256)
    src_luma, src_chroma = before[:512], before[512:].reshape(2, 256, 256)
    inside = np.zeros((512, 512), bool)
    inside[50:162, 100:204] = True
    # Outside the (even-grown) box: the decoded planes, bit for bit.
    assert np.array_equal(luma[~inside], src_luma[~inside])
    assert np.array_equal(chroma[:, ~inside[::2, ::2]], src_chroma[:, ~inside[::2, ::2]])
    # Inside: what converting the whole image gives (swscale's luma is per pixel; chroma may differ at the edge).
    assert np.array_equal(luma[inside], whole[:512][inside])
    whole_chroma = whole[512:].reshape(2, 256, 256)
    assert np.array_equal(chroma[:, 27:79, 52:100], whole_chroma[:, 27:79, 52:100])
    assert np.abs(chroma[:, 25:81, 50:102].astype(int) - whole_chroma[:, 25:81, 50:102]).max() <= 2
    # Nothing changed: the decoded planes as they are.
    untouched = to_frame.patched(source, FrameToRGB()(source), [])
    assert untouched is not None and np.array_equal(untouched.to_ndarray(), before)


def test_a_frame_written_again_holds_what_a_new_one_would(astronaut: np.ndarray) -> None:
    """``patched(..., into=last)`` writes the last frame's buffer again: the same planes as a new frame, each time,
    and a frame of another size or format is not written into."""
    to_frame = RGBToFrame(512, 512, "yuv420p", 1)
    last = None
    for shift, box in ((0, (101, 51, 203, 161)), (40, (10, 300, 90, 420)), (90, (0, 0, 512, 512))):
        source = _decoded_frame(np.roll(astronaut, shift, axis=1))
        image = FrameToRGB()(source)
        image[box[1] : box[3], box[0] : box[2]] //= 3
        fresh = to_frame.patched(source, image, [box, (300, 300, 333, 341)])
        again = to_frame.patched(source, image, [box, (300, 300, 333, 341)], into=last)
        assert fresh is not None and again is not None
        assert last is None or again is last
        assert np.array_equal(again.to_ndarray(), fresh.to_ndarray())
        assert (again.colorspace, again.color_range) == (fresh.colorspace, fresh.color_range)
        last = again
    other = av.VideoFrame(256, 256, "yuv420p")
    source = _decoded_frame(astronaut)
    assert to_frame.patched(source, FrameToRGB()(source), [], into=other) is not other


def test_frames_the_planes_do_not_fit_are_converted_whole(astronaut: np.ndarray) -> None:
    image = FrameToRGB()(_decoded_frame(astronaut))
    assert RGBToFrame(512, 512, "yuv420p", 5).patched(_decoded_frame(astronaut), image, []) is None  # other matrix
    assert RGBToFrame(512, 512, "yuv444p", 1).patched(_decoded_frame(astronaut), image, []) is None  # other format
    full = _decoded_frame(astronaut)
    full.color_range = 2
    assert RGBToFrame(512, 512, "yuv420p", 1).patched(full, image, []) is None  # full range


@pytest.mark.parametrize("mode", ["feather", "poisson"])
def test_pipeline_reports_every_pixel_it_changed(synthetic_clip, mode: str) -> None:
    frames, _ = decode_frames(synthetic_clip.video_path)
    reconstructor = build_reconstructor(ReconstructorOptions(generator="none"))
    options = PipelineOptions(blend=BlendOptions(mode=mode))
    pipeline = FramePipeline(read_image(synthetic_clip.reference_path), reconstructor, options)
    reported = 0
    for index, frame in enumerate(frames[:4]):
        out = pipeline.process(frame, index / 25)
        outside = np.ones(frame.shape[:2], bool)
        for x0, y0, x1, y1 in pipeline.last_changed[0]:
            outside[y0:y1, x0:x1] = False
            reported += 1
        assert not np.array_equal(out, frame)
        assert np.array_equal(out[outside], frame[outside]), "a pixel changed outside the reported boxes"
        assert outside.mean() > 0.3  # the boxes are the blend's, not the frame
    assert reported >= 4
    pipeline.close()


def test_run_encodes_from_the_decoded_planes(synthetic_clip_factory, tmp_path: Path) -> None:
    """Away from the face the output is the input's YUV as decoded, where the RGB round trip alters it."""
    clip = synthetic_clip_factory(ClipSpec(frames=6, size=(192, 192)))
    with av.open(str(clip.video_path)) as container:
        source = [f.to_ndarray() for f in container.decode(video=0)]
    planes = {}
    for reuse in (False, True):
        out = tmp_path / f"reuse_{reuse}.mp4"
        run_file(
            RunOptions(
                input=str(clip.video_path), output=str(out), reference=str(clip.reference_path), quiet=True,
                encode=EncodeOptions(preset="ultrafast", crf=0, reuse_decoded_planes=reuse),
            )
        )  # fmt: skip
        with av.open(str(out)) as container:
            planes[reuse] = [f.to_ndarray() for f in container.decode(video=0)]
    corner = (slice(0, 24), slice(0, 192))  # top rows of the luma: background, far from the face
    assert all(np.array_equal(a[corner], s[corner]) for a, s in zip(planes[True], source))
    assert not all(np.array_equal(a[corner], s[corner]) for a, s in zip(planes[False], source))
    # Where the mask was rebuilt: the same conversion either way (lossless encoding: the planes compare directly).
    for index, (a, b) in enumerate(zip(planes[True], planes[False])):
        rebuilt = clip.masks[index] > 0
        assert rebuilt.any() and np.array_equal(a[:192][rebuilt], b[:192][rebuilt])


def test_reconstruction_at_a_working_size_keeps_close_to_the_full_size_one(synthetic_clip) -> None:
    """``work_face_px``: the face chain at three quarters of the face's size (the warp, the composite, the steadying),
    grown back into the full-size blend: within 1.5 dB of the full-size one against the truth. (The gap moves with the
    clip's encoding alone: 0.3-0.6 dB on the clips encoded with x264's macroblock tree, which depended on the heap,
    1.2 on today's deterministic one, -1.3 on the same frames without B-frames.)"""
    frames, _ = decode_frames(synthetic_clip.video_path)
    face = float(np.ptp(synthetic_clip.landmarks[0][:, 0]))
    scores: dict[float | None, list[float]] = {}
    for work in (None, face * 0.75):
        reconstructor = build_reconstructor(ReconstructorOptions(generator="none"))
        options = PipelineOptions(work_face_px=work)
        pipeline = FramePipeline(read_image(synthetic_clip.reference_path), reconstructor, options)
        scores[work] = []
        for index, frame in enumerate(frames[:6]):
            out = pipeline.process(frame, index / 25)
            assert out.shape == frame.shape
            outside = np.ones(frame.shape[:2], bool)
            for x0, y0, x1, y1 in pipeline.last_changed[0]:
                outside[y0:y1, x0:x1] = False
            assert np.array_equal(out[outside], frame[outside])
            scores[work].append(psnr_in_mask(out, synthetic_clip.truth[index], synthetic_clip.masks[index]))
        pipeline.close()
    full, half = np.mean(scores[None]), np.mean(scores[face * 0.75])
    masked = np.mean([psnr_in_mask(f, t, m) for f, t, m in zip(frames[:6], synthetic_clip.truth, synthetic_clip.masks)])
    assert half > masked + 3.0 and abs(half - full) < 1.5, (masked, full, half)
