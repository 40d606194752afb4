"""Reliability: the command end to end on hostile input and a hostile environment, one table.

    python benchmarks/reliability.py [--seed N] [--only NAME ...] [--keep DIR]

Each case runs the real command (``python -m unmask_video.cli``) in a child process on a synthetic masked clip (made
here from ``skimage.data.astronaut()``, no shared data needed): a corrupt and a truncated input, Ctrl-C / SIGTERM /
SIGHUP at random moments, two runs on one output path, a file created at the output path mid-run, a full disk (a
small tmpfs when this runs as root and may mount, else RLIMIT_FSIZE), a home folder where no cache can be written,
a silent stream and a named pipe nobody writes to (then Ctrl-C), bad encoder settings, an existing live recording,
and a live MPEG-TS source with one key frame in 250. It prints: case, exit code, seconds, the last stderr line,
the files left in the output folder that were not there before (hidden temporary files included) and the frames
kept in the output(s). A row is marked "FAIL" when it breaks a rule (a leftover temporary file, a file that was
there before changed, a hang, a traceback, a wrong exit code).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import av
import numpy as np

REPO = Path(__file__).resolve().parent.parent
PRODUCER = REPO / "tests" / "live_producer.py"
sys.path.insert(0, str(REPO))


@dataclass
class Result:
    case: str
    code: int | None
    seconds: float
    message: str
    leftovers: list[str]
    frames: str
    expect: str
    ok: bool
    notes: list[str] = field(default_factory=list)


@dataclass
class Env:
    work: Path
    clip: Path
    long_clip: Path
    reference: Path
    frames: int
    rng: random.Random


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "unmask_video.cli", *args]


def spawn(args: list[str], env: dict[str, str] | None = None, preexec: Callable[[], None] | None = None) -> subprocess.Popen:
    full_env = dict(os.environ, **(env or {}))
    return subprocess.Popen(args, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=full_env, preexec_fn=preexec)  # fmt: skip


def finish(process: subprocess.Popen, timeout: float = 240) -> tuple[int | None, str]:
    try:
        _, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
        return None, (err or "") + "\n(HUNG: killed)"
    return process.returncode, err or ""


def last_line(err: str) -> str:
    lines = [line.strip() for line in err.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def count_frames(path: Path) -> int | None:
    try:
        with av.open(str(path)) as container:
            return sum(1 for _ in container.decode(video=0))
    except (av.FFmpegError, OSError):
        return None


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every name in ``folder`` with the bytes of its regular files (b"" for pipes and folders)."""
    return {p.name: p.read_bytes() if p.is_file() else b"" for p in folder.iterdir()}


def new_files(folder: Path, before: dict[str, bytes]) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in before)


def changed(folder: Path, before: dict[str, bytes]) -> list[str]:
    return sorted(
        name for name, data in before.items()
        if not (folder / name).exists() or ((folder / name).is_file() and (folder / name).read_bytes() != data)
    )  # fmt: skip


def frames_of(folder: Path, names: list[str]) -> str:
    counts = [f"{name}:{count_frames(folder / name)}" for name in names if not name.startswith(".")]
    return " ".join(counts) if counts else "-"


def judge(case: str, code: int | None, seconds: float, err: str, folder: Path, before: dict[str, bytes],
          expect_codes: tuple[int, ...], expect: str) -> Result:  # fmt: skip
    added = new_files(folder, before)
    notes = []
    if any(name.startswith(".") for name in added):
        notes.append("temporary file left")
    if changed(folder, before):
        notes.append(f"changed: {', '.join(changed(folder, before))}")
    if "Traceback" in err:
        notes.append("traceback")
    if code not in expect_codes:
        notes.append(f"exit {code}, expected {'/'.join(map(str, expect_codes))}")
    return Result(case, code, seconds, last_line(err), added, frames_of(folder, added), expect, not notes, notes)


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def case_dir(env: Env, name: str) -> Path:
    folder = env.work / name
    folder.mkdir()
    return folder


def run_case(env: Env, name: str, args: list[str], folder: Path, expect_codes: tuple[int, ...], expect: str,
             env_vars: dict[str, str] | None = None, preexec: Callable[[], None] | None = None) -> Result:  # fmt: skip
    before = snapshot(folder)
    start = time.monotonic()
    code, err = finish(spawn(args, env_vars, preexec))
    return judge(name, code, time.monotonic() - start, err, folder, before, expect_codes, expect)


# -- cases --------------------------------------------------------------------------------------------------------


def damaged_copy(env: Env, folder: Path) -> Path:
    data = bytearray(env.clip.read_bytes())
    with av.open(str(env.clip)) as container:
        packets = [(p.pos, p.size) for p in container.demux(container.streams.video[0]) if p.size and p.pos and p.pos > 0]
    pos, size = max(packets[len(packets) // 3 : 2 * len(packets) // 3], key=lambda p: p[1])
    length = min(2048, size)
    data[pos : pos + length] = np.random.default_rng(env.rng.randrange(1 << 30)).integers(0, 256, length, np.uint8).tobytes()
    path = folder / "damaged.mp4"
    path.write_bytes(bytes(data))
    return path


def base_args(env: Env, source: Path | str, out: Path, *extra: str) -> list[str]:
    return command(str(source), "--ref", str(env.reference), "-o", str(out), "--generator", "none", "-q", *extra)


def corrupt_input(env: Env) -> Iterator[Result]:
    folder = case_dir(env, "corrupt")
    src = damaged_copy(env, folder)
    yield run_case(env, "corrupt packet (2 KB mid-file)", base_args(env, src, folder / "out.mp4"), folder, (1,),
                   f"exit 1, about {env.frames - 1} of {env.frames} frames kept")  # fmt: skip


def truncated_input(env: Env) -> Iterator[Result]:
    folder = case_dir(env, "truncated")
    src = folder / "cut.mp4"
    data = env.clip.read_bytes()
    src.write_bytes(data[: len(data) // 2])
    yield run_case(env, "truncated input (half)", base_args(env, src, folder / "out.mp4"), folder, (1, 2),
                   "exit 1 with the frames that decode, or 2 when nothing can")  # fmt: skip


def signals_at_random(env: Env) -> Iterator[Result]:
    for sig, code in ((signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)):
        for attempt in range(2):
            folder = case_dir(env, f"signal_{sig.name}_{attempt}")
            out = folder / "out.mp4"
            before = snapshot(folder)
            start = time.monotonic()
            process = spawn(base_args(env, env.long_clip, out))
            delay = env.rng.uniform(0.5, 12.0)  # from start-up through model loading to mid-encode
            time.sleep(delay)
            if process.poll() is None:
                process.send_signal(sig)
            got, err = finish(process, 60)
            # -N: killed by the signal itself while Python was still starting (no handler yet, nothing written).
            result = judge(f"{sig.name} at {delay:.1f} s", got, time.monotonic() - start, err, folder, before,
                           (code, -sig, 0), f"exit {code} and nothing left (0 if it had finished)")  # fmt: skip
            if got == 0 and not out.exists():
                result.ok, result.notes = False, result.notes + ["exit 0 without output"]
            yield result


def concurrent_runs(env: Env) -> Iterator[Result]:
    folder = case_dir(env, "concurrent")
    out = folder / "out.mp4"
    before = snapshot(folder)
    start = time.monotonic()
    first, second = spawn(base_args(env, env.clip, out)), spawn(base_args(env, env.clip, out))
    (c1, e1), (c2, e2) = finish(first), finish(second)
    seconds = time.monotonic() - start
    result = judge("two runs, one output path", c1 if c1 else c2, seconds, e1 + e2, folder, before, (0, 1),
                   "one exit 0 (out.mp4); the other exit 1 naming out-2.mp4, or exit 2 if it started late")  # fmt: skip
    result.message = f"[{c1}] {last_line(e1) or 'ok'} | [{c2}] {last_line(e2) or 'ok'}"
    codes = sorted(c for c in (c1, c2))
    if codes not in ([0, 1], [0, 2]) or count_frames(out) != env.frames:
        result.ok, result.notes = False, result.notes + [f"exit codes {codes}"]
    yield result


def appears_mid_run(env: Env) -> Iterator[Result]:
    folder = case_dir(env, "appears")
    out = folder / "out.mp4"
    before = snapshot(folder)
    start = time.monotonic()
    process = spawn(base_args(env, env.long_clip, out))
    deadline = time.monotonic() + 120
    while process.poll() is None and not list(folder.glob(".out.mp4*partial*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    out.write_bytes(b"a file another program wrote meanwhile")
    code, err = finish(process)
    result = judge("output created mid-run", code, time.monotonic() - start, err, folder, before, (1,),
                   "exit 1; the other file untouched; the result kept as out-2.mp4")  # fmt: skip
    if out.read_bytes() != b"a file another program wrote meanwhile":
        result.ok, result.notes = False, result.notes + ["the file created mid-run was replaced"]
    yield result


@contextlib.contextmanager
def small_disk(env: Env, kib: int) -> Iterator[tuple[Path, str]]:
    folder = case_dir(env, "fulldisk")
    if os.geteuid() == 0 and shutil.which("mount"):
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={kib}k", "tmpfs", str(folder)], capture_output=True)
        if done.returncode == 0:
            try:
                yield folder, f"tmpfs {kib} KiB"
            finally:
                subprocess.run(["umount", str(folder)], capture_output=True)
            return
    yield folder, f"RLIMIT_FSIZE {kib} KiB"


def full_disk(env: Env) -> Iterator[Result]:
    kib = max(64, env.long_clip.stat().st_size // 1024 // 4)
    with small_disk(env, kib) as (folder, how):
        limit = None if how.startswith("tmpfs") else kib * 1024

        def preexec() -> None:
            if limit:
                resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

        yield run_case(env, f"full disk ({how})", base_args(env, env.long_clip, folder / "out.mp4"), folder, (1,),
                       "exit 1, one line, no partial file", preexec=preexec)  # fmt: skip


def no_writable_home(env: Env) -> Iterator[Result]:
    from unmask_video.reconstruct.neural import shipped_weights

    folder = case_dir(env, "nohome")
    home = folder / "home"
    home.write_text("a file, not a folder: no cache can be made under it")
    env_vars = {"HOME": str(home), "XDG_CACHE_HOME": ""}
    weights = shipped_weights("fast")
    if weights is None:
        yield Result("no writable home", None, 0.0, "skipped: no shipped generator weights", [], "-", "-", True)
        return
    args = command(str(env.clip), "--ref", str(env.reference), "-o", str(folder / "out.mp4"), "--generator", "fast",
                   "--backend", "onnxruntime", "-q")  # fmt: skip
    yield run_case(env, "no writable home (ONNX export)", args, folder, (0,), "exit 0, export kept for the run only",
                   env_vars)  # fmt: skip


def interrupted_waits(env: Env) -> Iterator[Result]:
    port = free_udp_port()
    folder = case_dir(env, "silent_stream")
    fifo_folder = case_dir(env, "silent_fifo")
    fifo = fifo_folder / "in.fifo"
    os.mkfifo(fifo)
    live_folder = case_dir(env, "live_opening")
    for name, args, where in (
        ("Ctrl-C, silent stream input", base_args(env, f"udp://127.0.0.1:{port}", folder / "out.mp4"), folder),
        ("Ctrl-C, FIFO nobody writes to", base_args(env, fifo, fifo_folder / "out.mp4"), fifo_folder),
        ("Ctrl-C, live source opening", command("live", f"udp://127.0.0.1:{free_udp_port()}", "--ref",
                                                str(env.reference), "--no-window", "--record",
                                                str(live_folder / "rec.mp4"), "--generator", "none"), live_folder),
    ):  # fmt: skip
        before = snapshot(where)
        process = spawn(args)
        time.sleep(5.0)
        sent = time.monotonic()
        process.send_signal(signal.SIGINT)
        code, err = finish(process, 30)
        result = judge(name, code, time.monotonic() - sent, err, where, before, (130,), "exit 130 within seconds")
        result.message = f"{last_line(err)} ({time.monotonic() - sent:.1f} s after Ctrl-C)"
        yield result
    timeout_folder = case_dir(env, "silent_stream_timeout")
    yield run_case(env, "silent stream input, no Ctrl-C",
                   base_args(env, f"udp://127.0.0.1:{free_udp_port()}", timeout_folder / "out.mp4"), timeout_folder,
                   (2,), "exit 2 after the open timeout")  # fmt: skip


def bad_settings(env: Env) -> Iterator[Result]:
    for name, flags, out_name in (
        ("--preset nonsense", ["--preset", "nonsense"], "out.mp4"),
        ("--crf -5", ["--crf", "-5"], "out.mp4"),
        ("--batch 100000", ["--batch", "100000"], "out.mp4"),
        (".mpg output, AAC input", [], "out.mpg"),
        (".webm output, AAC input, VP9", ["--codec", "libvpx-vp9"], "out.webm"),
        ("--debug-dir is a file", ["--debug-dir", "IS_A_FILE"], "out.mp4"),
    ):
        folder = case_dir(env, "settings_" + "".join(c if c.isalnum() else "_" for c in name))
        if "IS_A_FILE" in flags:
            (folder / "IS_A_FILE").write_text("x")
            flags = ["--debug-dir", str(folder / "IS_A_FILE")]
        expect_codes = (0,) if "AAC" in name else (2,)
        expect = "exit 0, audio converted" if "AAC" in name else "exit 2 before any frame, one line"
        yield run_case(env, name, base_args(env, env.clip, folder / out_name, *flags), folder, expect_codes, expect)


def live_cases(env: Env) -> Iterator[Result]:
    folder = case_dir(env, "live_existing")
    (folder / "rec.mp4").write_bytes(b"yesterday's recording")
    yield run_case(env, "live --record onto an existing file",
                   command("live", f"udp://127.0.0.1:{free_udp_port()}", "--ref", str(env.reference), "--no-window",
                           "--record", str(folder / "rec.mp4"), "--generator", "none"), folder, (2,),
                   "exit 2, the recording untouched")  # fmt: skip
    folder = case_dir(env, "live_long_gop")
    fifo = folder / "cam.fifo"
    os.mkfifo(fifo)
    producer = subprocess.Popen([sys.executable, str(PRODUCER), str(fifo), "--frames", "150", "--fps", "25", "--gop",
                                 "250", "--size", "320x240"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        yield run_case(env, "live MPEG-TS, 1 key frame in 250",
                       command("live", str(fifo), "--source-format", "mpegts", "--ref", str(env.reference),
                               "--no-window", "--record", str(folder / "rec.mkv"), "--generator", "none", "-q"),
                       folder, (0,), "exit 0; frames from the first ones on (frames sent during warm-up are dropped)")  # fmt: skip
    finally:
        if producer.poll() is None:
            producer.kill()
        producer.wait()


CASES: dict[str, Callable[[Env], Iterator[Result]]] = {
    "corrupt": corrupt_input,
    "truncated": truncated_input,
    "signals": signals_at_random,
    "concurrent": concurrent_runs,
    "appears": appears_mid_run,
    "fulldisk": full_disk,
    "nohome": no_writable_home,
    "waits": interrupted_waits,
    "settings": bad_settings,
    "live": live_cases,
}


def make_clips(folder: Path) -> tuple[Path, Path, Path, int]:
    from unmask_video.synthetic import ClipSpec, make_clip

    short = make_clip(folder, ClipSpec(frames=40))
    long = make_clip(folder, ClipSpec(frames=250, audio_hz=None))
    return short.video_path, long.video_path, short.reference_path, 40


def print_table(results: list[Result]) -> None:
    print(f"{'case':<36} {'exit':>4} {'s':>6}  {'ok':<4} {'frames kept':<26} {'left':<28} message")
    for r in results:
        left = ", ".join(r.leftovers) or "-"
        status = "ok" if r.ok else "FAIL"
        print(f"{r.case:<36} {str(r.code):>4} {r.seconds:6.1f}  {status:<4} {r.frames[:26]:<26} {left[:28]:<28} "
              f"{r.message[:150]}")  # fmt: skip
        for note in r.notes:
            print(f"{'':<36}   !! {note} (expected: {r.expect})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="for the random signal moments and corrupt bytes")
    parser.add_argument("--only", nargs="*", choices=sorted(CASES), help="run only these cases")
    parser.add_argument("--keep", type=Path, default=None, help="keep the work folder here")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="unmask-reliability-", dir=args.keep))
    try:
        clip, long_clip, reference, frames = make_clips(work / "clips")
        env = Env(work, clip, long_clip, reference, frames, random.Random(args.seed))
        results: list[Result] = []
        for name in args.only or list(CASES):
            for result in CASES[name](env):
                results.append(result)
                print(f"  {result.case}: exit {result.code} in {result.seconds:.1f} s", file=sys.stderr, flush=True)
        print()
        print_table(results)
        failed = [r for r in results if not r.ok]
        print(f"\n{len(results) - len(failed)} of {len(results)} cases behave; {len(failed)} break a rule")
        return 1 if failed else 0
    finally:
        if args.keep is None:
            for mounted in work.glob("fulldisk"):
                subprocess.run(["umount", str(mounted)], capture_output=True)
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
