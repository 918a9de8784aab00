"""`python -m bluegreen`: the one place that reads the process environment, picks the face (the command line, or
`action`: the GitHub Action) and turns errors into exit codes."""

from __future__ import annotations

import os
import sys
import time

from bluegreen.cli import Console, run
from bluegreen.errors import BluegreenError


def main() -> None:
    console = Console(sys.stdout, sys.stderr, time.perf_counter())
    try:
        code = _face(sys.argv[1:], dict(os.environ), console)
    except BluegreenError as error:
        print(f"bluegreen: {error}", file=sys.stderr)
        code = error.exit_code
    except KeyboardInterrupt:
        print("bluegreen: interrupted", file=sys.stderr)
        code = 130
    sys.exit(code)


def _face(argv: list[str], environ: dict[str, str], console: Console) -> int:
    """`action` is the GitHub Action (the image's entrypoint), anything else the command line."""
    if argv == ["action"]:
        from bluegreen.action.jobs import run_action  # PyGithub and dulwich are only imported by the Action

        return run_action(environ, console.out)
    return run(argv, environ, console)


if __name__ == "__main__":
    main()
