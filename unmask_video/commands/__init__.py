"""The command's subcommands (``unmask-video run|live|demo|...``).

Each subcommand is a module with two functions, listed once in :func:`unmask_video.cli.subcommand_modules`
(imported there; adding one is an import and an entry):

- ``add_parser(subparsers) -> ArgumentParser``: adds its parser, with only its own flags;
- ``run(args) -> int``: does the work and returns the exit code; bad input raises
  :class:`unmask_video.errors.InputError`, failures :class:`~unmask_video.errors.ProcessingError` (the command
  turns both into one line and an exit code in one place).

:mod:`unmask_video.commands.options` holds the flag groups several subcommands share.
"""
