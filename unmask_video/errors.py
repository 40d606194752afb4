"""Exceptions that the command line turns into one-line messages and exit codes."""

from __future__ import annotations


class UnmaskError(Exception):
    """Base class: the message is shown to the user as one line, without a traceback."""

    exit_code = 1


class InputError(UnmaskError):
    """Bad usage or bad input (missing file, not a video, bad reference, bad option): exit code 2."""

    exit_code = 2


class ProcessingError(UnmaskError):
    """A failure while processing valid input: exit code 1."""

    exit_code = 1
