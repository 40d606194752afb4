"""The `unmask-video` command.

    unmask-video [run] IN.mp4 --ref FACE.jpg -o OUT.mp4     rebuild the masked face in a video file
    unmask-video live [DEVICE|URL] --ref FACE.jpg           live mode: a camera or a live stream
    unmask-video demo                                       make a masked sample clip and unmask it
    unmask-video build-engine WEIGHTS -o X.engine           build a TensorRT engine (NVIDIA GPUs)
    unmask-video batch MANIFEST.csv|IN_DIR --out DIR        many videos, on Ray or one after another

``run`` is implied when the first argument is not a subcommand's name. Each subcommand is a module with
``add_parser(subparsers)`` and ``run(args) -> int`` (see :mod:`unmask_video.commands`), listed in subcommand_modules();
their own imports wait until they run, so building the parser stays quick.

Exit codes: 0 success, 2 bad usage or input, 1 failure while processing, 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn, Sequence

from unmask_video import __version__
from unmask_video.errors import InputError, UnmaskError
from unmask_video.native_log import filter_native_stderr

PROG = "unmask-video"
DEFAULT_SUBCOMMAND = "run"


def subcommand_modules() -> tuple:
    """The subcommand modules, in the order --help lists them. Imported here, inside :func:`main`'s error handling
    (some pull in the whole pipeline, which takes seconds): Ctrl-C meanwhile is an interrupt, not a traceback."""
    from unmask_video.batch import cli as batch
    from unmask_video.commands import demo, live, run
    from unmask_video.engines import cli as build_engine

    return (run, live, demo, build_engine, batch)


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors as one line and exit code 2."""

    subcommands: frozenset[str] = frozenset()  # the names build_parser registered

    def error(self, message: str) -> NoReturn:
        raise InputError(f"{message} (see '{self.prog} --help')")


def build_parser() -> _Parser:
    parser = _Parser(
        prog=PROG,
        description="Remove a surgical face mask from a person in a video, using one photo of them without it.",
        epilog=f"'{DEFAULT_SUBCOMMAND}' is implied: '{PROG} IN.mp4 --ref FACE.jpg -o OUT.mp4' is "
        f"'{PROG} {DEFAULT_SUBCOMMAND} ...'. Each subcommand has its own --help.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.set_defaults(verbose=0, quiet=False)  # for a subcommand without -v/-q
    subparsers = parser.add_subparsers(
        title="subcommands", dest="command", metavar="COMMAND", required=True, parser_class=_Parser
    )
    for module in subcommand_modules():
        module.add_parser(subparsers).set_defaults(run=module.run)
    parser.subcommands = frozenset(subparsers.choices)
    return parser


def with_default_subcommand(parser: _Parser, argv: Sequence[str]) -> list[str]:
    """``argv`` with ``run`` in front unless it starts with a subcommand's name or a top-level flag."""
    if argv and (argv[0] in parser.subcommands or argv[0] in ("-h", "--help", "--version")):
        return list(argv)
    return [DEFAULT_SUBCOMMAND, *argv]


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Parse ``argv``; a flag the chosen subcommand does not have is a usage error naming that subcommand."""
    parser = build_parser()
    args, extras = parser.parse_known_args(with_default_subcommand(parser, argv))
    if extras:
        raise InputError(
            f"'{PROG} {args.command}' does not take {' '.join(extras)} (see '{PROG} {args.command} --help')"
        )
    return args


def _configure_logging(verbose: int, quiet: bool) -> None:
    from unmask_video.messages import configure_logging

    configure_logging(verbose, quiet)  # one line per message, on stderr


def _forget_interrupt() -> None:
    """CPython remembers a KeyboardInterrupt that passed through code an extension ran with ``PyRun_*`` (an import
    cut short) and, although it was handled, ends the process with SIGINT at exit; a shell reads that as 130 too,
    but a caller that waits on the process sees "killed by SIGINT". Forget it where CPython exposes the flag (3.11)."""
    import ctypes

    try:
        ctypes.c_int.in_dll(ctypes.pythonapi, "_Py_UnhandledKeyboardInterrupt").value = 0
    except (ValueError, AttributeError, OSError):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    program = argv is None  # run as a program: this process owns the terminal and its signals
    argv = list(sys.argv[1:] if argv is None else argv)
    verbose = 0
    try:  # everything inside: Ctrl-C during a slow import is an interrupt too, not a traceback
        if program:
            filter_native_stderr()
            from unmask_video.io.signals import raise_on_termination

            raise_on_termination()  # SIGTERM/SIGHUP end the run like Ctrl-C, with cleanup and exit 128+N
        args = parse_args(argv)
        verbose = args.verbose
        _configure_logging(args.verbose, args.quiet)
        return args.run(args)
    except UnmaskError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt as interrupt:
        # Ctrl-C, SIGTERM or SIGHUP (unmask_video.io.signals.Terminated carries 128+N). File mode: the writer
        # removed its temporary file. Live mode handles the first Ctrl-C itself (the recording is finished); only a
        # second one lands here. Nothing is imported here: the interrupt may have cut an import short.
        code = getattr(interrupt, "exit_code", 130)
        what = "interrupted" if code == 130 else str(interrupt)
        print(f"{PROG}: {what}; no unfinished output file was left behind", file=sys.stderr)
        _forget_interrupt()
        return code
    except Exception as error:  # noqa: BLE001 - the last line of defence: one line, no traceback
        if verbose > 1:
            raise
        print(f"{PROG}: internal error: {type(error).__name__}: {error} (run again with -vv for details)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
