"""`python -m bluegreen`: the one place that reads the process environment and turns errors into exit codes."""

from __future__ import annotations

import os
import sys
import time

from bluegreen.cli import Console, run
from bluegreen.errors import BluegreenError


def main() -> None:
    console = Console(sys.stdout, sys.stderr, time.perf_counter())
    try:
        code = run(sys.argv[1:], dict(os.environ), console)
    except BluegreenError as error:
        print(f"bluegreen: {error}", file=sys.stderr)
        code = error.exit_code
    except KeyboardInterrupt:
        print("bluegreen: interrupted", file=sys.stderr)
        code = 130
    sys.exit(code)


if __name__ == "__main__":
    main()
