"""Camera input formats per platform: the one table of FFmpeg device demuxers, and how a device is named."""

from __future__ import annotations

import sys

from unmask_video.errors import InputError

#: FFmpeg device demuxer for cameras, by platform (``sys.platform`` or ``platform.system()`` spelling).
CAMERA_FORMATS = {"linux": "v4l2", "darwin": "avfoundation", "windows": "dshow"}
#: Demuxer options a camera of each format commonly needs to open.
CAMERA_OPTIONS = {"avfoundation": {"framerate": "30"}}


def platform_key(platform: str | None = None) -> str:
    """``linux``, ``darwin`` or ``windows`` for a ``sys.platform`` / ``platform.system()`` value."""
    name = (platform or sys.platform).lower()
    if name.startswith("linux"):
        return "linux"
    if name in ("win32", "cygwin", "windows"):
        return "windows"
    return name


def camera_format(platform: str | None = None) -> str | None:
    """The camera demuxer of a platform, or None where there is none."""
    return CAMERA_FORMATS.get(platform_key(platform))


def open_camera_source(device: str | None, platform: str | None = None) -> tuple[str, str]:
    """The (source, input_format) that opens a webcam on this platform.

    Linux: v4l2, ``/dev/video0`` by default, a number N means ``/dev/videoN``. macOS: avfoundation, device
    index ``0`` by default (see :func:`camera_options`). Windows: dshow, which names cameras: ``video=<name>``
    (a bare name gets the prefix); there is no default, so ``device=None`` raises InputError with how to list them.
    """
    plat = platform or sys.platform
    demuxer = camera_format(plat)
    if demuxer == "v4l2":
        if device is None:
            return "/dev/video0", demuxer
        return (f"/dev/video{device}" if device.isdigit() else device), demuxer
    if demuxer == "avfoundation":
        return ("0" if device is None else device), demuxer
    if demuxer == "dshow":
        if device is None or device.isdigit():
            raise InputError(
                "on Windows give the camera by name, e.g. unmask-video live \"video=Integrated Camera\" "
                "(list them with: ffmpeg -list_devices true -f dshow -i dummy)"
            )
        return (device if device.startswith("video=") else f"video={device}"), demuxer
    raise InputError(f"no known camera input on platform {plat!r}; give a stream URL instead")


def camera_options(input_format: str) -> dict[str, str]:
    """Demuxer options a camera of ``input_format`` commonly needs to open."""
    return dict(CAMERA_OPTIONS.get(input_format, {}))
