"""Input and output paths: stream URLs, checks before any work, unique temporary names and the final rename.

An output file is written to a hidden temporary file beside it (a unique name, so two runs never share one) and
put in place by :func:`publish`, which never replaces a file that was not there when the run started (unless the
user allowed it with ``--overwrite``): a hard link (or ``renameat2(RENAME_NOREPLACE)``) fails when the name is
taken, so a file created at the output path during the run, or by a second run, is never lost. Every temporary
file is registered in :data:`TEMP_FILES` until it is published or removed, so the signal handlers
(:mod:`unmask_video.io.signals`) can remove what is left on any catchable signal.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import logging
import os
import re
import secrets
import stat
import threading
from pathlib import Path

from unmask_video.errors import InputError, ProcessingError

log = logging.getLogger(__name__)

_URL_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:(//|[^\\/])")
#: URL schemes of sources that are streams (no end known in advance) rather than files.
LIVE_SCHEMES = frozenset({"rtsp", "rtsps", "rtmp", "rtmps", "rtp", "udp", "tcp", "srt", "pipe"})


def is_stream_url(source: str | os.PathLike[str]) -> bool:
    """True for ``scheme://...`` and ``pipe:N`` sources/outputs; False for file paths (``C:\\x`` included)."""
    text = os.fspath(source)
    return bool(_URL_RE.match(text)) and not re.match(r"^[a-zA-Z]:[\\/]", text) and not text.startswith("file:")


def is_named_pipe(path: str | os.PathLike[str]) -> bool:
    """True for an existing FIFO (a live source that is a path)."""
    try:
        return stat.S_ISFIFO(os.stat(os.fspath(path)).st_mode)
    except (OSError, ValueError):
        return False


def url_scheme(source: str) -> str:
    return source.split(":", 1)[0].lower() if is_stream_url(source) else ""


def strip_file_scheme(source: str) -> str:
    return source[len("file:") :] if source.startswith("file:") else source


def check_readable_file(path: str, *, what: str) -> None:
    p = Path(path)
    if not p.exists():
        raise InputError(f"{what} not found: {path}")
    if p.is_dir():
        raise InputError(f"{what} {path} is a folder; give a file")
    if not os.access(p, os.R_OK):
        raise InputError(f"{what} {path} is not readable (check its permissions)")


def check_output_path(input_path: str, output_path: str, *, overwrite: bool = True, need_extension: bool = True) -> Path:
    """Validate a file output before any work is done; return it as an absolute path.

    Raises InputError when the output is the input (also through symlinks, hard links or a relative path),
    is a folder, exists and ``overwrite`` is False, or its folder is missing / not a folder / not writable.
    """
    if is_stream_url(output_path):
        raise ValueError(f"{output_path} is a stream URL, not a file path; check_output_path is for files")
    out = Path(strip_file_scheme(os.fspath(output_path))).expanduser()
    out_abs = Path(os.path.abspath(out))
    if out_abs.is_dir():
        raise InputError(f"output {output_path} is a folder; give a file name such as {out / 'out.mp4'}")
    if input_path and not is_stream_url(input_path):
        inp = Path(strip_file_scheme(os.fspath(input_path))).expanduser()
        same = out_abs.resolve() == inp.resolve()
        if not same and out_abs.exists() and inp.exists():
            try:
                same = os.path.samefile(out_abs, inp)
            except OSError:
                same = False
        if same:
            raise InputError(f"output {output_path} is the input video; give another output file name")
    parent = out_abs.parent
    if not parent.exists():
        raise InputError(f"output folder {parent} does not exist; create it first")
    if not parent.is_dir():
        raise InputError(f"output folder {parent} is a file, not a folder; give another output path")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"output folder {parent} is not writable; choose another output path")
    if need_extension and out_abs.suffix == "":
        raise InputError(f"output {output_path} has no extension; end it with .mp4, .mkv or .mov")
    if not overwrite and os.path.lexists(out_abs):
        raise InputError(f"{out_abs} already exists; choose another output path or pass --overwrite to replace it")
    return out_abs


def check_debug_dir(path: str | os.PathLike[str] | None) -> Path | None:
    """A usable ``--debug-dir`` (created if missing) or InputError when it is a file or cannot be made."""
    if path is None:
        return None
    folder = Path(path).expanduser()
    if folder.exists() and not folder.is_dir():
        raise InputError(f"--debug-dir {folder} is a file, not a folder; give a folder name")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create --debug-dir {folder}: {exc.strerror or exc}") from exc
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"--debug-dir {folder} is not writable; give another folder")
    return folder


# -- temporary files and the final rename ---------------------------------------------------------------------

#: Temporary files not yet published or removed (removed by the signal handlers on the way out).
TEMP_FILES: set[Path] = set()
_TEMP_LOCK = threading.Lock()


def temp_path_for(final: Path) -> Path:
    """A unique hidden name beside ``final``, registered in :data:`TEMP_FILES` (same suffix: same muxer)."""
    tmp = final.with_name(f".{final.name}.{os.getpid()}-{secrets.token_hex(4)}.partial{final.suffix}")
    with _TEMP_LOCK:
        TEMP_FILES.add(tmp)
    return tmp


def remove_temp(tmp: Path) -> None:
    """Remove a temporary file (missing is fine) and forget it."""
    try:
        tmp.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("could not remove the temporary file %s: %s", tmp, exc)
    with _TEMP_LOCK:
        TEMP_FILES.discard(tmp)


def remove_all_temps() -> None:
    """Remove every registered temporary file (signal handlers, exit). Safe to call from any thread."""
    with _TEMP_LOCK:
        pending = list(TEMP_FILES)
        TEMP_FILES.clear()
    for tmp in pending:
        try:
            os.unlink(tmp)
        except OSError:
            pass


_RENAME_NOREPLACE = 1
_AT_FDCWD = -100


def _renameat2_noreplace(src: Path, dst: Path) -> bool:
    """rename without replacing (Linux renameat2); False where it is not available. Raises FileExistsError."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if fn(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), _RENAME_NOREPLACE) == 0:
        return True
    code = ctypes.get_errno()
    if code == errno.EEXIST:
        raise FileExistsError(code, os.strerror(code), str(dst))
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(dst))


def rename_no_replace(src: Path, dst: Path) -> None:
    """Move ``src`` to ``dst`` atomically, failing with FileExistsError when ``dst`` exists."""
    try:
        os.link(src, dst)  # fails with EEXIST when the name is taken: atomic
    except FileExistsError:
        raise
    except OSError as exc:  # no hard links here (some network and FAT file systems)
        if not _renameat2_noreplace(src, dst):
            log.debug("no atomic no-replace rename on this file system (%s): checking first", exc)
            if os.path.lexists(dst):
                raise FileExistsError(errno.EEXIST, "file exists", str(dst)) from None
            os.rename(src, dst)
        return
    os.unlink(src)


def publish(tmp: Path, final: Path, *, replace: bool) -> Path:
    """Put the finished ``tmp`` at ``final``; return where it went.

    ``replace`` (``--overwrite``): replace ``final`` if it exists. Otherwise ``final`` is never replaced: when a
    file appeared there during the run the result is kept under the next free name (``NAME-2.mp4``...) and a
    :class:`ProcessingError` says where, so neither file is lost.
    """
    try:
        if replace:
            os.replace(tmp, final)
            return final
        try:
            rename_no_replace(tmp, final)
            return final
        except FileExistsError:
            pass
        for n in range(2, 1000):
            other = final.with_name(f"{final.stem}-{n}{final.suffix}")
            try:
                rename_no_replace(tmp, other)
            except FileExistsError:
                continue
            raise ProcessingError(
                f"{final} was created by something else during the run and was left untouched; "
                f"this run's result is in {other}"
            )
        raise ProcessingError(f"{final} and its alternatives all exist; the result was not kept")
    except OSError as exc:
        raise ProcessingError(f"cannot put the result at {final}: {exc.strerror or exc}") from exc
    finally:
        with _TEMP_LOCK:
            if not tmp.exists():
                TEMP_FILES.discard(tmp)
