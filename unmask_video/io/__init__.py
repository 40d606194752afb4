"""Video I/O for file mode and live mode: reader, writer, colour conversion, paths and the final rename, signals.

- :mod:`.reader`: :class:`VideoReader` (files, stream URLs, named pipes, devices; damaged packets skipped).
- :mod:`.writer`: :class:`VideoWriter` built from a :class:`StreamDescription` (from the reader or the live
  capture), :class:`BackgroundWriter`, :class:`EncodeOptions` checked before the first frame.
- :mod:`.color`: YUV <-> RGB. :mod:`.paths`: stream URLs, output checks, temporary files, no-replace publish.
- :mod:`.signals`: SIGTERM/SIGHUP cleanup, the Ctrl-C watchdog, interruptible opens. :mod:`.camera`: camera
  input formats per platform.
"""

from unmask_video.io.camera import CAMERA_FORMATS, camera_format, camera_options, open_camera_source
from unmask_video.io.paths import (
    check_debug_dir,
    check_output_path,
    is_named_pipe,
    is_stream_url,
    publish,
    rename_no_replace,
)
from unmask_video.io.reader import DecodedFrame, DecodeReport, VideoInfo, VideoReader, open_input, read_image
from unmask_video.io.signals import Terminated, call_interruptibly, exit_code_for, handle_signals
from unmask_video.io.stream import AudioTrack, StreamDescription
from unmask_video.io.writer import (
    METADATA_KEY,
    PROCESSED_COMMENT,
    STREAM_FORMATS,
    TS_SERVICE_PROVIDER,
    BackgroundWriter,
    EncodeOptions,
    VideoWriter,
    check_encoder,
    write_clip,
)

__all__ = [
    "AudioTrack",
    "BackgroundWriter",
    "CAMERA_FORMATS",
    "DecodeReport",
    "DecodedFrame",
    "EncodeOptions",
    "METADATA_KEY",
    "PROCESSED_COMMENT",
    "STREAM_FORMATS",
    "StreamDescription",
    "TS_SERVICE_PROVIDER",
    "Terminated",
    "VideoInfo",
    "VideoReader",
    "VideoWriter",
    "call_interruptibly",
    "camera_format",
    "camera_options",
    "check_debug_dir",
    "check_encoder",
    "check_output_path",
    "exit_code_for",
    "handle_signals",
    "is_named_pipe",
    "is_stream_url",
    "open_camera_source",
    "open_input",
    "publish",
    "read_image",
    "rename_no_replace",
    "write_clip",
]
