"""How the command talks to the user: every log record as one line on stderr, never on stdout.

stdout is left for what the user asked for (``--list-cameras``, the summary); errors, warnings and (with -v) info
lines go to stderr, each on one line (a message with line breaks is joined), prefixed with the program name and
the level, so a script can grep them and a terminal never shows a wrapped or boxed message.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

PROG = "unmask-video"


class OneLineFormatter(logging.Formatter):
    """``unmask-video: warning: message`` on one line (tracebacks only at debug level)."""

    def __init__(self, show_tracebacks: bool = False) -> None:
        super().__init__()
        self.show_tracebacks = show_tracebacks

    def format(self, record: logging.LogRecord) -> str:
        message = " ".join(part.strip() for part in record.getMessage().splitlines() if part.strip())
        level = record.levelname.lower()
        line = f"{PROG}: {level}: {message}" if record.levelno >= logging.WARNING else f"{PROG}: {message}"
        if self.show_tracebacks and record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure_logging(verbose: int = 0, quiet: bool = False, stream: TextIO | None = None) -> logging.Handler:
    """Send log records to stderr, one line each: WARNING and up by default, INFO with -v, DEBUG with -vv,
    ERROR only with -q. Returns the handler installed on the root logger."""
    level = logging.DEBUG if verbose > 1 else logging.INFO if verbose == 1 else logging.ERROR if quiet else logging.WARNING
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(OneLineFormatter(show_tracebacks=verbose > 1))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    return handler
