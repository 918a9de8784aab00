"""The command line: `bluegreen plan | release | status` (`bluegreen action` is the GitHub Action, see __main__).

Exit codes (documented in the README):
  0  done: released, nothing to do, or (plan) the release would proceed
  1  a bug: an unexpected error, with a traceback
  2  invalid input: a state file or an argument is wrong (the message names file, line and field)
  3  refused by the pre-flight: nothing was changed
  4  rolled back: the switch or its verification failed, and every host was read back on the old LIVE
  5  failed: after the attempt to restore, some host is not back on the old LIVE (as read back): act by hand
  6  unreachable: SSH, HAProxy's runtime API or a host's lock; nothing was changed
  130 interrupted (SIGINT, SIGTERM): before the release started, or during it; the report says what switched
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from bluegreen import config, report
from bluegreen.adapters.file_ledger import FileLedger
from bluegreen.adapters.files import WorkingTree
from bluegreen.adapters.ssh import SshConnector, run_holder
from bluegreen.adapters.sshkeys import load_credentials
from bluegreen.config.live_edit import with_entry
from bluegreen.core import planner, rollback
from bluegreen.core.outcome import exit_code
from bluegreen.engine.jobs import plan_job, release_job, status_job
from bluegreen.engine.release import Request
from bluegreen.errors import BluegreenError, InputError
from bluegreen.model import Outcome, Trigger
from bluegreen.report import rollback as rollback_report


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="bluegreen", description="Blue/green releases on HAProxy, driven by git.")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, text in (
        ("plan", "pre-flight only: show what a release would switch, change nothing"),
        ("release", "switch every app whose desired LIVE differs, verify, record state/status.json"),
        ("status", "the actual state, read from HAProxy and the app servers"),
    ):
        command = commands.add_parser(name, help=text, description=text)
        command.add_argument("--repo", type=Path, default=Path(), help="the repository holding the state files")
        command.add_argument(
            "--state-dir", type=_state_dir, default="state", help="the state files' folder in the repo"
        )
        command.add_argument("--app", action="append", default=[], help="only this app (repeatable)")
        command.add_argument("--json", action="store_true", help="machine-readable output on stdout")
        if name != "status":
            command.add_argument(
                "--actor", type=_recorded("actor"), help="who asked (shown in the report and recorded)"
            )
            command.add_argument("--pr", type=_recorded("pr", int), help="the pull request number")
            command.add_argument("--commit", type=_recorded("commit"), help="the commit that asked for it (hex sha)")
    commands.add_parser("action", help="the GitHub Action's entry point (reads GITHUB_* and INPUT_*)")
    commands.add_parser("demo", help="where the demo lives: the development lab, not this package", add_help=False)
    return top


def _state_dir(value: str) -> str:
    try:
        config.state_paths(value)
    except InputError as error:
        raise argparse.ArgumentTypeError(error.message) from None
    return value


def _recorded(kind: str, convert: Callable[[str], object] = str) -> Callable[[str], object]:
    """An argument that ends up in status.json, checked as its schema checks it (before anything starts)."""

    def check(text: str) -> object:
        try:
            value = convert(text)
        except ValueError:
            value = text
        problem = config.recorded_value_problem(kind, value)
        if problem:
            raise argparse.ArgumentTypeError(problem)
        return value

    check.__name__ = kind  # argparse names the type in its message
    return check


@dataclass(frozen=True)
class Console:
    """Where a command writes: the report on stdout, progress on stderr."""

    out: TextIO
    err: TextIO
    started: float

    def progress(self, message: str) -> None:
        print(f"  [{time.perf_counter() - self.started:6.2f}s] {message}", file=self.err, flush=True)


def run(argv: Sequence[str], environ: dict[str, str], console: Console) -> int:
    args = parser().parse_args(argv)
    if args.command == "demo":
        raise InputError(
            "the demo is part of the development lab, which ships in no wheel and no image",
            hint="from a checkout of bluegreen run `scripts/demo` (it installs the lab and runs "
            "`python -m bluegreen_lab`)",
        )
    if args.command == "action":  # __main__ hands `action` to the Action before the command line sees it
        raise InputError("`action` is the GitHub Action's entry point", hint="run it as `python -m bluegreen action`")
    return asyncio.run(_command(args, environ, console))


async def _command(args: argparse.Namespace, environ: dict[str, str], console: Console) -> int:
    repo = WorkingTree(args.repo)
    state = config.load_state(repo, args.state_dir)
    only = tuple(args.app)
    planner.selected_apps(state.desired, only, state.live_path)  # a name not in live.json is an input error
    ssh = SshConnector(load_credentials(state.environments.ssh, repo, environ, state.environments_path))
    if args.command == "status":
        observation, _, _ = await status_job(state, only, ssh, FileLedger(state, args.repo))
        if args.json:
            shown = report.status_json(observation, state.environments, state.status)
            console.out.write(json.dumps(shown, indent=2) + "\n")
        else:
            console.out.write(report.status_text(observation, state.environments, state.status))
        return 0
    trigger = Trigger(actor=args.actor, pr=args.pr, commit=args.commit)
    request = Request(state.desired, state.environments, state.status, only, trigger)
    ledger = FileLedger(state, args.repo)
    if args.command == "plan":
        outcome = await plan_job(request, ssh, console.progress, ledger)
    else:
        outcome = await release_job(request, ssh, console.progress, ledger, run_holder(environ))
    if args.json:
        console.out.write(json.dumps(report.outcome_json(outcome), indent=2) + "\n")
    else:
        console.out.write(report.outcome_text(outcome))  # the report first: nothing after it can replace it
        _print_rollback_change(repo, state, outcome, console)
    return exit_code(outcome)


def _print_rollback_change(repo: WorkingTree, state: config.State, outcome: Outcome, console: Console) -> None:
    """The change that records a switch back, after the report; when it cannot be made, a warning says why (the
    release's exit code stands)."""
    try:
        console.out.write(_rollback_change(repo, state, outcome))
    except (BluegreenError, ValueError) as error:  # live.json edited meanwhile, or an edit that went wrong
        said = error.message if isinstance(error, BluegreenError) else str(error)
        console.err.write(f"warning: the change that records the rollback was not made: {said}\n")


def _rollback_change(repo: WorkingTree, state: config.State, outcome: Outcome) -> str:
    """After a switch back: the change of live.json that makes git say what is LIVE (the Action opens it as a
    pull request, core/rollback.py)."""
    found = rollback.records(outcome, state.desired.apps)
    before = repo.read(state.live_path) if found else None
    if before is None:
        return ""
    after = before
    for record in found:
        after = with_entry(after, state.live_path, record.entry)
    return "\n" + rollback_report.change_text(found, state.live_path, before, after)
