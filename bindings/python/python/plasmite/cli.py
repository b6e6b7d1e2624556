"""The ``plasmite`` console script: the full CLI, run in this process."""

from __future__ import annotations

import signal
import sys
from typing import Optional, Sequence

from ._native import cli_main


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs ``plasmite`` with ``argv`` (default: ``sys.argv[1:]``) and returns
    its exit code (the console script exits with it).

    The CLI writes to file descriptors 1 and 2 directly, so Python's own
    buffered output is flushed first. It has no cancellation hook, so while
    it runs SIGINT gets its default action: Ctrl-C ends the process exactly
    as it ends ``pls``. The previous handler is restored afterwards.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, ValueError, OSError):
            pass
    previous = None
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_DFL)
    except ValueError:
        pass  # not the main thread: signals stay as they are
    try:
        return cli_main(args)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


if __name__ == "__main__":
    sys.exit(main())
