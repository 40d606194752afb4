"""Keep native libraries' chatter (MediaPipe, libpng, ONNX Runtime, x264) off the user's terminal.

MediaPipe and TensorFlow Lite write lines such as "Feedback manager requires a model with a single signature" or
"Created TensorFlow Lite XNNPACK delegate" straight to file descriptor 2, from their own threads, at moments Python
does not control (a model loads asynchronously after the graph is built). Python's logging cannot filter them, and
they say nothing a user can act on. A program that owns its terminal (the command line, the benchmarks) calls
:func:`filter_native_stderr` once: fd 2 then goes through a pipe whose reader drops those known lines and passes
everything else on unchanged, while Python's own ``sys.stderr`` keeps writing to the terminal directly.
"""

from __future__ import annotations

import atexit
import os
import re
import sys
import threading

os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

#: Native log lines that say nothing a user can act on: MediaPipe/TFLite start-up chatter, libpng's warnings about
#: a photo's colour profile (OpenCV decodes it fine), ONNX Runtime's device discovery and telemetry lines, and x264's
#: own "[error]" lines for an option it rejects (the command checks encoder options itself and says so in one line).
NOISE = re.compile(
    rb"inference_feedback_manager\.cc|landmark_projection_calculator\.cc|"
    rb"Created TensorFlow Lite XNNPACK delegate|All log messages before absl::InitializeLog|"
    rb"^libpng (warning|error):|\[[WIEV]:onnxruntime:|^x264 \[(error|warning|info)\]:"
)

_installed = False


def filter_native_stderr() -> None:
    """Route fd 2 through a filter that drops :data:`NOISE` lines (idempotent; a no-op where fds can't be used)."""
    global _installed
    if _installed:
        return
    try:
        sys.stderr.flush()
        terminal = os.dup(2)
        read_end, write_end = os.pipe()
    except (OSError, ValueError):
        return
    _installed = True
    sys.stderr = open(terminal, "w", buffering=1, closefd=False, encoding=sys.stderr.encoding or "utf-8")
    os.dup2(write_end, 2)
    os.close(write_end)

    def pump() -> None:
        with os.fdopen(read_end, "rb", buffering=0) as pipe:
            pending = b""
            while chunk := pipe.read(4096):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                kept = [line + b"\n" for line in lines if not NOISE.search(line)]
                if kept:
                    os.write(terminal, b"".join(kept))
            if pending and not NOISE.search(pending):
                os.write(terminal, pending)

    thread = threading.Thread(target=pump, name="native-stderr-filter", daemon=True)
    thread.start()

    def restore() -> None:
        os.dup2(terminal, 2)  # closes the pipe's last write end: the reader sees EOF and drains
        thread.join(timeout=1.0)

    atexit.register(restore)
