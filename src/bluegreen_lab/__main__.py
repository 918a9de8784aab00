"""`python -m bluegreen_lab [--repo DIR] [--hosts N]`: the demo, a real release on loopback (scripts/demo runs it).

The lab is for development: it ships in no wheel and no image, and the product never imports it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from bluegreen.cli import Console
from bluegreen.errors import BluegreenError
from bluegreen_lab.demo import demo


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m bluegreen_lab", description="a real release on loopback")
    top.add_argument("--repo", type=Path, default=Path(), help="whose state/ to use as the example")
    top.add_argument("--hosts", type=int, default=1, choices=range(1, 5), help="HAProxy hosts (a pair is 2)")
    return top


def main() -> None:
    args = parser().parse_args()
    console = Console(sys.stdout, sys.stderr, time.perf_counter())
    try:
        code = demo(args.repo, args.hosts, dict(os.environ), console)
    except BluegreenError as error:
        print(f"bluegreen demo: {error}", file=sys.stderr)
        code = error.exit_code
    except KeyboardInterrupt:
        print("bluegreen demo: interrupted", file=sys.stderr)
        code = 130
    sys.exit(code)


if __name__ == "__main__":
    main()
