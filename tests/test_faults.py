"""The command end to end on the faults of issue 12: hangs, signals, settings checked late, messages.

Each test runs the real command (``python -m unmask_video.cli``) in a child process where signals or native
stderr matter, otherwise in-process through ``cli.main``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.test_video import make_clip
from unmask_video import cli

REPO = Path(__file__).resolve().parent.parent


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "unmask_video.cli", *args]


def spawn(args: list[str], tmp_path: Path) -> subprocess.Popen:
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"))
    return subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def interrupt_after(process: subprocess.Popen, delay_s: float, sig: int = signal.SIGINT) -> tuple[int, str, float]:
    """Send ``sig`` after ``delay_s``; (exit code, stderr, seconds from the signal to the exit)."""
    time.sleep(delay_s)
    assert process.poll() is None, process.communicate()
    process.send_signal(sig)
    sent = time.monotonic()
    try:
        _, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
    return process.returncode, err, time.monotonic() - sent


#: Exit codes of an interrupted run: 130, or "killed by SIGINT" (-2) where CPython ends a process that handled a
#: KeyboardInterrupt raised inside an extension's import that way (a shell shows 130 for both).
INTERRUPTED = (130, -signal.SIGINT)


def error_lines(err: str) -> list[str]:
    """stderr without the lines of native libraries that the test process itself may print."""
    return [line for line in err.splitlines() if line.strip()]


# -- hangs and Ctrl-C ---------------------------------------------------------------------------------------


def test_ctrl_c_stops_a_run_waiting_for_a_silent_stream(synthetic_clip, tmp_path: Path) -> None:
    port = free_udp_port()
    run = spawn(command(f"udp://127.0.0.1:{port}", "--ref", str(synthetic_clip.reference_path), "-o",
                        str(tmp_path / "out.mp4")), tmp_path)  # fmt: skip
    code, err, took = interrupt_after(run, 3.0)
    assert code in INTERRUPTED and took < 4, err
    assert error_lines(err)[-1].startswith("unmask-video: interrupted")
    assert not list(tmp_path.glob("*.mp4")) and not list(tmp_path.glob(".*partial*"))


def test_ctrl_c_stops_a_run_on_a_named_pipe_nobody_writes_to(synthetic_clip, tmp_path: Path) -> None:
    fifo = tmp_path / "in.fifo"
    os.mkfifo(fifo)
    run = spawn(command(str(fifo), "--ref", str(synthetic_clip.reference_path), "-o", str(tmp_path / "out.mp4")),
                tmp_path)  # fmt: skip
    code, err, took = interrupt_after(run, 3.0)
    assert code in INTERRUPTED and took < 7, err  # the watchdog's grace at worst
    assert not list(tmp_path.glob("*.mp4")) and not list(tmp_path.glob(".*partial*"))


def test_ctrl_c_stops_live_mode_while_the_source_opens(synthetic_clip, tmp_path: Path) -> None:
    port = free_udp_port()
    run = spawn(command("live", f"udp://127.0.0.1:{port}", "--ref", str(synthetic_clip.reference_path), "--no-window",
                        "--record", str(tmp_path / "rec.mp4"), "--generator", "none"), tmp_path)  # fmt: skip
    code, err, took = interrupt_after(run, 4.0)
    assert code in INTERRUPTED and took < 4, err  # was: waited out the 10 s open timeout, exit 2
    assert not list(tmp_path.glob("*.mp4")) and not list(tmp_path.glob(".*partial*"))


@pytest.mark.parametrize("sig,code", [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_termination_signals_leave_no_partial_file(synthetic_clip_factory, tmp_path: Path, sig: int, code: int) -> None:
    from unmask_video.synthetic import ClipSpec

    clip = synthetic_clip_factory(ClipSpec(frames=150, audio_hz=None))
    out = tmp_path / "out.mp4"
    run = spawn(command(str(clip.video_path), "--ref", str(clip.reference_path), "-o", str(out), "--generator", "none",
                        "-q"), tmp_path)  # fmt: skip
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".out.mp4*partial*")) and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    got, err, took = interrupt_after(run, 0.5, sig)
    assert got == code and took < 6, err
    assert "no unfinished output file was left behind" in err
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "cache") == []


# -- settings checked before the first frame, one line on stderr, exit 2 --------------------------------------


def test_a_bad_preset_is_one_line_on_stderr_with_exit_2_and_no_x264_noise(synthetic_clip, tmp_path: Path) -> None:
    run = spawn(command(str(synthetic_clip.video_path), "--ref", str(synthetic_clip.reference_path), "-o",
                        str(tmp_path / "out.mp4"), "--preset", "nonsense"), tmp_path)  # fmt: skip
    out, err = run.communicate(timeout=120)
    assert run.returncode == 2, err
    lines = error_lines(err)
    assert len(lines) == 1 and lines[0].startswith("unmask-video: error: libx264 rejects --preset nonsense"), err
    assert out == "" and "x264 [error]" not in err
    assert not list(tmp_path.glob("*.mp4")) and not list(tmp_path.glob(".*partial*"))


@pytest.mark.parametrize(
    "flags,message",
    [
        (["--crf", "-5"], "libx264 rejects --crf -5"),
        (["--batch", "100000"], "--batch must be between 1 and"),
        (["--codec", "libx264", "-o", "webm"], "the webm container cannot hold libx264 video; choose another --codec (libvpx-vp9 for WebM)"),
    ],
)
def test_bad_settings_fail_before_the_first_frame_with_exit_2(
    synthetic_clip, tmp_path: Path, capsys: pytest.CaptureFixture, flags: list[str], message: str
) -> None:
    out = tmp_path / "out.mp4"
    if flags[-2:] == ["-o", "webm"]:
        out, flags = tmp_path / "out.webm", flags[:-2]
    code = cli.main([str(synthetic_clip.video_path), "--ref", str(synthetic_clip.reference_path), "-o", str(out),
                     "--generator", "none", *flags])  # fmt: skip
    err = capsys.readouterr().err
    lines = error_lines(err)
    assert code == 2 and len(lines) == 1 and message in lines[0], err
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_debug_dir_that_is_a_file_is_exit_2(synthetic_clip, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    not_a_folder = tmp_path / "debug"
    not_a_folder.write_text("x")
    code = cli.main([str(synthetic_clip.video_path), "--ref", str(synthetic_clip.reference_path), "-o",
                     str(tmp_path / "out.mp4"), "--debug-dir", str(not_a_folder)])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "--debug-dir" in err and "is a file" in err and len(error_lines(err)) == 1


# -- silent wrong results: visible warnings on stderr ---------------------------------------------------------


def test_a_video_without_any_face_says_so(synthetic_clip, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    src = make_clip(tmp_path / "noface.mp4", frames=6, size=(96, 64), audio=())
    code = cli.main([str(src), "--ref", str(synthetic_clip.reference_path), "-o", str(tmp_path / "out.mp4"),
                     "--generator", "none"])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0 and (tmp_path / "out.mp4").exists()
    warnings = [line for line in error_lines(captured.err) if "warning" in line]
    assert any("no face was found in any of the 6 frames" in line for line in warnings), captured.err
    assert "warning" not in captured.out  # warnings go to stderr, not stdout


def test_a_masked_reference_is_a_visible_warning(synthetic_clip, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    masked = tmp_path / "masked_ref.png"
    import cv2

    cv2.imwrite(str(masked), cv2.cvtColor(synthetic_clip.masked[0], cv2.COLOR_RGB2BGR))
    code = cli.main([str(synthetic_clip.video_path), "--ref", str(masked), "-o", str(tmp_path / "out.mp4"),
                     "--generator", "none"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 0
    assert "unmask-video: warning: the reference photo's nose and mouth may be covered" in err


def test_messages_are_one_line_each_and_native_noise_is_dropped(tmp_path: Path) -> None:
    """A child that owns its terminal: a long multi-line warning, libpng/onnxruntime/x264 lines on fd 2."""
    script = (
        "import logging, os, sys\n"
        "from unmask_video.native_log import filter_native_stderr\n"
        "from unmask_video.messages import configure_logging\n"
        "filter_native_stderr(); configure_logging()\n"
        "os.write(2, b'libpng warning: iCCP: known incorrect sRGB profile\\n')\n"
        "os.write(2, b'2026-01-01 10:00:00.1 [W:onnxruntime:Default, device_discovery.cc:164] GPU discovery failed\\n')\n"
        "os.write(2, b\"x264 [error]: invalid preset 'nonsense'\\n\")\n"
        "logging.getLogger('unmask_video').warning('a long message ' * 20 + '\\nwith a second line')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60)
    lines = error_lines(done.stderr)
    assert done.stdout == ""
    assert len(lines) == 1 and lines[0].startswith("unmask-video: warning: a long message") and "second line" in lines[0]


# -- generator outputs ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nan_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch

    from unmask_video.reconstruct.generator import create_generator
    from unmask_video.reconstruct.generator.layers import init_weights
    from unmask_video.reconstruct.generator.weights import save_weights

    torch.manual_seed(0)
    model = init_weights(create_generator("tiny"), zero_heads=False)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.fill_(float("nan"))
    path = tmp_path_factory.mktemp("nan") / "nan.safetensors"
    save_weights(model, path)
    return path


def _crop(size: int):
    from unmask_video.reconstruct.neural import _Prepared

    zeros = np.zeros((size, size), np.float32)
    image = np.full((size, size, 3), 128, np.uint8)
    return _Prepared(np.eye(2, 3), image, zeros + 1, image, zeros + 1)


def test_nan_generator_outputs_are_an_error_on_the_torch_backend(nan_weights: Path) -> None:
    from unmask_video.errors import ProcessingError
    from unmask_video.reconstruct.neural import GeneratorReconstructor

    rec = GeneratorReconstructor.from_weights(nan_weights, backend="torch", device="cpu")
    with pytest.raises(ProcessingError, match="NaN or infinite values: its weights are broken"):
        rec.run_crops([_crop(rec.size)])  # was: a black face and exit 0


@pytest.mark.slow
def test_nan_weights_on_onnxruntime_do_not_advise_the_torch_backend(nan_weights: Path, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from unmask_video.errors import ProcessingError
    from unmask_video.reconstruct.backends import select_backend

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with pytest.raises(ProcessingError) as exc:
        select_backend("onnxruntime", nan_weights, threads=1)
    assert "NaN or infinite" in str(exc.value) and "--backend torch" not in str(exc.value)
