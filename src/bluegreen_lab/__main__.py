"""`python -m bluegreen_lab [--repo DIR] [--hosts N]`: the demo, a real release on loopback (scripts/demo runs it).

The lab is for development: it ships in no wheel and no image, and the product never imports it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from bluegreen.__main__ import exit_with
from bluegreen.cli import Console
from bluegreen_lab.demo import demo


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m bluegreen_lab", description="a real release on loopback")
    top.add_argument("--repo", type=Path, default=Path(), help="whose state/ to use as the example")
    top.add_argument("--hosts", type=int, default=1, choices=range(1, 5), help="HAProxy hosts (a pair is 2)")
    return top


def main() -> None:
    args = parser().parse_args()
    console = Console(sys.stdout, sys.stderr, time.perf_counter())
    exit_with(lambda: demo(args.repo, args.hosts, dict(os.environ), console), "bluegreen demo")


if __name__ == "__main__":
    main()
