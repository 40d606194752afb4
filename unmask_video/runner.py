"""Process one video file: decode -> FramePipeline -> encode, with progress and a summary."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, ContextManager, Protocol

from unmask_video.errors import InputError
from unmask_video.frame_loop import FrameLoopOptions, opencv_threads, run_threaded
from unmask_video.io import handle_signals
from unmask_video.io.paths import check_debug_dir
from unmask_video.landmarks import FaceTracker
from unmask_video.pipeline import FramePipeline, PipelineOptions
from unmask_video.progress import FrameProgress
from unmask_video.reconstruct.factory import ReconstructorOptions, build_reconstructor
from unmask_video.reconstruct.protocol import Reconstructor
from unmask_video.timing import StageTimer, os_thread_named
from unmask_video.io import (
    BackgroundWriter,
    DecodedFrame,
    EncodeOptions,
    VideoReader,
    VideoWriter,
    check_output_path,
    is_stream_url,
    read_image,
)

log = logging.getLogger(__name__)

#: The most frames ``--batch`` may group per generator call.
MAX_BATCH = 64
#: Decoded frames held for one batch stay under this many bytes (a bigger --batch is lowered, with a warning).
BATCH_MEMORY_BYTES = 512 * 1024 * 1024


@dataclass
class RunOptions:
    input: str
    output: str
    reference: str
    encode: EncodeOptions = field(default_factory=EncodeOptions)
    pipeline: PipelineOptions = field(default_factory=PipelineOptions)
    reconstructor: ReconstructorOptions = field(default_factory=ReconstructorOptions)
    batch: int = 1
    #: Frames queued for the encoder thread (0: encode on the calling thread, no overlap).
    encode_queue: int = 3
    #: Decode and landmarks on their own threads (see unmask_video.frame_loop); threads=False: the serial loop.
    loop: FrameLoopOptions = field(default_factory=FrameLoopOptions)
    quiet: bool = False
    overwrite: bool = False


@dataclass
class PipelineParts:
    """Parts that a caller running many videos builds once and lends to each :func:`run_file` (batch workers).

    The tracker is reset between videos, never closed by :func:`run_file`; its options must be the run's.
    """

    reconstructor: Reconstructor
    tracker: FaceTracker


class FrameSink(Protocol):
    """Where :func:`run_file` reports frames done (a :class:`FrameProgress` or a batch worker's counter)."""

    def advance(self, frames: int) -> None: ...


#: ``make(frame_count_or_None)`` -> a context manager giving a :class:`FrameSink`.
ProgressFactory = Callable[[int | None], ContextManager[FrameSink]]


@dataclass
class RunSummary:
    output: Path
    frames: int
    frames_with_face: int
    frames_without_face: int
    frames_expected: int | None
    damage: str | None
    lost_fraction: float
    seconds: float
    generator: str
    backend: str
    timer: StageTimer
    frames_lost: int | None = None  # expected minus decoded, when the expected count is known
    #: Frames with faces too small to process (narrower than the tracker's min_face_size), and the most in one.
    frames_with_small_faces: int = 0
    most_small_faces: int = 0
    frames_with_mask: int | None = None  # frames where a face wears a mask (the rest pass through untouched)
    #: Frames that repeat the one before (a duplicated source frame): given its faces, none of the work.
    frames_repeated: int = 0

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


def run_file(
    options: RunOptions, parts: PipelineParts | None = None, progress: ProgressFactory | None = None
) -> RunSummary:
    """Rebuild the masked faces of ``options.input`` into ``options.output``.

    ``parts``: a prebuilt reconstructor and tracker to use instead of building them; ``progress``: where frames
    done are reported (default: a progress bar unless ``options.quiet``).

    Every check on the inputs runs before the first frame, and the writer puts its temporary file at the output only
    on success, never over a file that appeared during the run (unless ``overwrite``), so a failure, Ctrl-C or a
    signal never leaves a file at the output path and never replaces one.
    """
    if is_stream_url(options.output):
        raise InputError(
            f"{options.output} is a stream; stream outputs are for live mode: unmask-video live SOURCE -o URL"
        )
    if not 1 <= options.batch <= MAX_BATCH:
        raise InputError(f"--batch must be between 1 and {MAX_BATCH}, got {options.batch}")
    output = check_output_path(options.input, options.output, overwrite=options.overwrite)
    check_debug_dir(options.pipeline.debug_dir)
    with handle_signals():
        return _run(options, output, parts, progress)


def _run(
    options: RunOptions, output: Path, parts: PipelineParts | None, progress: ProgressFactory | None
) -> RunSummary:
    timer = StageTimer()
    start = time.perf_counter()
    with os_thread_named("decode"):  # (libavcodec's threads start where the first frame decodes: named for profilers)
        reader = VideoReader(options.input)
    with reader:
        batch = _bounded_batch(options.batch, reader.info.width, reader.info.height)
        # The writer checks the encoder, its options and the container before any model is loaded.
        with VideoWriter(output, reader.description(), options.encode, overwrite=options.overwrite) as video_writer:
            reference = read_image(options.reference)
            reconstructor = parts.reconstructor if parts else build_reconstructor(options.reconstructor)
            tracker = parts.tracker if parts else None
            # (OpenCV's thread count is set before the pipeline starts its reference set-up thread: the count is not
            # changed while another thread's OpenCV call may run in parallel)
            with opencv_threads(options.loop.opencv_threads()):
                pipeline = FramePipeline(reference, reconstructor, options.pipeline, timer, tracker=tracker)
                make_progress = progress or (lambda total: FrameProgress(total, quiet=options.quiet))
                try:
                    pipeline.warmup(reference=False)  # (the reference's set-up overlaps the first frames)
                    with make_progress(reader.info.frame_count) as sink:
                        if options.encode_queue > 0:
                            # Encoding runs on its own thread, overlapping the face stages; "encode wait" is the
                            # time the frame loop waited for it, "encode" the encoder thread's own time.
                            with BackgroundWriter(video_writer, options.encode_queue) as writer:
                                _stream(reader, writer, pipeline, timer, batch, sink, "encode wait", options.loop)
                                pipeline.check_reference()
                                with timer("encode wait"):
                                    output = Path(writer.commit())
                            timer.add("encode", writer.busy_s)
                        else:
                            _stream(reader, video_writer, pipeline, timer, batch, sink, "encode", options.loop)
                            pipeline.check_reference()
                            with timer("encode"):
                                output = Path(video_writer.commit())
                finally:
                    pipeline.close()
        report = reader.report
    stats = pipeline.stats
    summary = RunSummary(
        output=output,
        frames=stats.frames,
        frames_with_face=stats.frames_with_face,
        frames_without_face=stats.frames_without_face,
        frames_expected=report.frames_expected,
        damage=report.error,
        lost_fraction=report.lost_fraction,
        frames_lost=report.frames_lost,
        seconds=time.perf_counter() - start,
        generator=reconstructor.name,
        backend=reconstructor.provider,
        timer=timer,
        frames_with_small_faces=stats.frames_with_small_faces,
        most_small_faces=stats.most_small_faces,
        frames_with_mask=stats.frames_with_mask,
        frames_repeated=stats.repeated_frames,
    )
    _warn_about_faces(summary, options.input, options.pipeline.tracker.min_face_size)
    return summary


def _warn_about_faces(summary: RunSummary, source: str, min_face_size: float) -> None:
    """Say at the end of a run when faces were missing or too small (the output is then partly unchanged)."""
    small = summary.frames_with_small_faces
    if summary.frames and summary.frames_with_face == 0:
        why = f" ({small} frames show faces under {min_face_size:.0f} px wide, too small to process)" if small else ""
        log.warning(
            "no face was found in any of the %d frames of %s%s: the output is the input re-encoded",
            summary.frames, source, why,
        )
    elif small:
        log.warning(
            "%d of %d frames show faces under %.0f px wide (up to %d at once), too small to process: they are unchanged",
            small, summary.frames, min_face_size, summary.most_small_faces,
        )
    elif summary.frames_without_face:
        log.info("no face was found in %d of %d frames: they are unchanged", summary.frames_without_face, summary.frames)


def _bounded_batch(batch: int, width: int, height: int) -> int:
    """``batch``, lowered so that the frames held for one batch stay under :data:`BATCH_MEMORY_BYTES`."""
    limit = max(1, BATCH_MEMORY_BYTES // max(1, width * height * 3 * 2))  # the frame and its processed copy
    if batch > limit:
        log.warning("--batch %d would hold too much memory at %dx%d: using --batch %d", batch, width, height, limit)
        return limit
    return batch


def _stream(
    reader: VideoReader,
    writer: VideoWriter | BackgroundWriter,
    pipeline: FramePipeline,
    timer: StageTimer,
    batch: int,
    progress: FrameSink,
    write_stage: str,
    loop: FrameLoopOptions,
) -> None:
    if loop.threads:
        run_threaded(
            reader, writer, pipeline, timer, batch=batch, progress=progress, write_stage=write_stage, depth=loop.depth,
            split_face_stages=loop.split_face_stages,  # (OpenCV's thread count: set by _run)
            decode_thread=loop.decode_thread, process=loop.process_for(reader.info.width, reader.info.height, batch),
            frame_shape=(reader.info.height, reader.info.width), switch_s=loop.switch_interval_s,
        )
        return
    pending: list[DecodedFrame] = []

    def flush() -> None:
        # The decoded frames are this loop's own (nothing else holds them): blend into them, no frame copies.
        outputs = pipeline.process_batch([f.image for f in pending], [f.time_s for f in pending], in_place=True)
        with timer(write_stage):
            for frame, image, changed in zip(pending, outputs, pipeline.last_changed):
                frame.changed = changed  # the writer converts only these boxes back to YUV
                writer.write(frame, image)
        progress.advance(len(pending))
        pending.clear()

    frames = reader.frames(on_packet=writer.mux_packet)
    while True:
        with timer("decode"):
            frame = next(frames, None)
        if frame is None:
            break
        pending.append(frame)
        if len(pending) >= batch:
            flush()
    if pending:
        flush()
