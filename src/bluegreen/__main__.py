"""`python -m bluegreen`: the one place that reads the process environment, picks the face (the command line, or
`action`: the GitHub Action) and turns errors into exit codes."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import NoReturn

from bluegreen.cli import Console, run
from bluegreen.errors import INTERRUPTED_EXIT_CODE, BluegreenError


def main() -> None:
    console = Console(sys.stdout, sys.stderr, time.perf_counter())
    exit_with(lambda: _face(sys.argv[1:], dict(os.environ), console))


def exit_with(face: Callable[[], int], name: str = "bluegreen") -> NoReturn:
    """Run a face and exit with its code; bluegreen's errors as one message and their exit code (a traceback is
    for bugs only), an interrupt as 130."""
    try:
        code = face()
    except BluegreenError as error:
        print(f"{name}: {error}", file=sys.stderr)
        code = error.exit_code
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
        code = INTERRUPTED_EXIT_CODE
    sys.exit(code)


def _face(argv: list[str], environ: dict[str, str], console: Console) -> int:
    """`action` is the GitHub Action (the image's entrypoint), anything else the command line."""
    if argv == ["action"]:
        from bluegreen.action.jobs import run_action  # PyGithub and dulwich are only imported by the Action

        return run_action(environ, console.out)
    return run(argv, environ, console)


if __name__ == "__main__":
    main()
