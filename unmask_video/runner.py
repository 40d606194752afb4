"""Process one video file: decode -> FramePipeline -> encode, with progress and a summary."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from unmask_video.errors import InputError
from unmask_video.pipeline import FramePipeline, PipelineOptions
from unmask_video.progress import FrameProgress
from unmask_video.reconstruct.factory import ReconstructorOptions, build_reconstructor
from unmask_video.timing import StageTimer
from unmask_video.video import (
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
    quiet: bool = False
    overwrite: bool = False


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
    frames_with_mask: int | None = None  # frames where a face wears a mask (the rest pass through untouched)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


def run_file(options: RunOptions) -> RunSummary:
    """Rebuild the masked faces of ``options.input`` into ``options.output``.

    Every check on the inputs runs before the output is opened, and the writer renames its temporary file over the
    output only on success, so a failure or Ctrl-C never leaves a file at the output path.
    """
    if is_stream_url(options.output):
        raise InputError(
            f"{options.output} is a stream; stream outputs are for live mode: unmask-video --webcam SOURCE -o URL"
        )
    output = check_output_path(options.input, options.output)
    if output.exists() and not options.overwrite:
        raise InputError(f"{output} already exists; choose another output path or pass --overwrite to replace it")
    timer = StageTimer()
    start = time.perf_counter()
    with VideoReader(options.input) as reader:
        reference = read_image(options.reference)
        reconstructor = build_reconstructor(options.reconstructor)
        pipeline = FramePipeline(reference, reconstructor, options.pipeline, timer)
        try:
            pipeline.warmup()
            with VideoWriter(output, reader, options.encode) as video_writer, FrameProgress(
                reader.info.frame_count, quiet=options.quiet
            ) as progress:
                if options.encode_queue > 0:
                    # Encoding runs on its own thread, overlapping the face stages; "encode wait" is the time
                    # the frame loop waited for it, "encode" the encoder thread's own time.
                    with BackgroundWriter(video_writer, options.encode_queue) as writer:
                        _stream(reader, writer, pipeline, timer, max(1, options.batch), progress, "encode wait")
                        with timer("encode wait"):
                            writer.commit()
                    timer.add("encode", writer.busy_s)
                else:
                    _stream(reader, video_writer, pipeline, timer, max(1, options.batch), progress, "encode")
                    with timer("encode"):
                        video_writer.commit()
        finally:
            pipeline.close()
        report = reader.report
    stats = pipeline.stats
    return RunSummary(
        output=output,
        frames=stats.frames,
        frames_with_face=stats.frames_with_face,
        frames_without_face=stats.frames_without_face,
        frames_expected=report.frames_expected,
        damage=report.error,
        lost_fraction=report.lost_fraction,
        seconds=time.perf_counter() - start,
        generator=reconstructor.name,
        backend=reconstructor.provider,
        timer=timer,
        frames_with_mask=stats.frames_with_mask,
    )


def _stream(
    reader: VideoReader,
    writer: VideoWriter | BackgroundWriter,
    pipeline: FramePipeline,
    timer: StageTimer,
    batch: int,
    progress: FrameProgress,
    write_stage: str,
) -> None:
    pending: list[DecodedFrame] = []

    def flush() -> None:
        # The decoded frames are this loop's own (nothing else holds them): blend into them, no frame copies.
        outputs = pipeline.process_batch([f.image for f in pending], [f.time_s for f in pending], in_place=True)
        with timer(write_stage):
            for frame, image in zip(pending, outputs):
                writer.write(frame, image)
        progress.advance(len(pending))
        pending.clear()

    frames = reader.frames(on_audio_packet=writer.mux_audio)
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
