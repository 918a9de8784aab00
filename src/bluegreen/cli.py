"""The command line: `bluegreen plan | release | status | demo`.

Exit codes (documented in the README):
  0  done: released, nothing to do, or (plan) the release would proceed
  1  a bug: an unexpected error, with a traceback
  2  invalid input: a state file or an argument is wrong (the message names file, line and field)
  3  refused by the pre-flight: nothing was changed
  4  the release failed verification and traffic was switched back to the old LIVE
  5  the release failed and traffic could NOT be restored everywhere: manual action needed
  6  unreachable: SSH, HAProxy's runtime API or a host's lock; nothing was changed
  130 interrupted
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from . import config, recording, report
from .model import Outcome, Result, Trigger
from .observe import Clients, observe
from .release import Effects, Request, SaveStatus, connected, dry_run, locked, preflight, release
from .ssh import Credentials, run_holder

EXIT_CODES: Mapping[Result, int] = {"success": 0, "noop": 0, "refused": 3, "rolled_back": 4, "failed": 5}


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
        command.add_argument("--state-dir", default="state", help="the state files' folder in the repo")
        command.add_argument("--app", action="append", default=[], help="only this app (repeatable)")
        command.add_argument("--json", action="store_true", help="machine-readable output on stdout")
        if name != "status":
            command.add_argument("--actor", help="who asked (shown in the report and recorded)")
            command.add_argument("--pr", type=int, help="the pull request number")
            command.add_argument("--commit", help="the commit that asked for it")
    demo = commands.add_parser("demo", help="a real release on loopback: HAProxy, sshd and app servers")
    demo.add_argument("--repo", type=Path, default=Path(), help="whose state/ to use as the example")
    demo.add_argument("--hosts", type=int, default=1, choices=range(1, 5), help="HAProxy hosts (a pair is 2)")
    return top


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
        from .demo import demo  # the sandbox is only imported when asked for

        return demo(args.repo, args.hosts, environ, console)
    return asyncio.run(_command(args, environ, console))


async def _command(args: argparse.Namespace, environ: dict[str, str], console: Console) -> int:
    repo: Path = args.repo
    state = config.load_state(repo, args.state_dir)
    only = tuple(args.app)
    credentials = Credentials(state.environments.ssh, environ, state.environments_path)
    if args.command == "status":
        return await _status(state, only, credentials, args.json, console)
    trigger = Trigger(actor=args.actor, pr=args.pr, commit=args.commit)
    request = Request(state.desired, state.environments, state.status, only, trigger)
    outcome = await execute(args.command, request, state, credentials, environ, console)
    console.out.write(
        json.dumps(report.outcome_json(outcome), indent=2) + "\n" if args.json else report.outcome_text(outcome)
    )
    return EXIT_CODES[outcome.result]


async def execute(
    command: str,
    request: Request,
    state: config.State,
    credentials: Credentials,
    environ: dict[str, str],
    console: Console,
) -> Outcome:
    """One plan or release against the real hosts: connect, (lock,) look, (act,) close."""
    environments = request.environments
    console.progress(f"connecting to {', '.join(h.name for h in environments.hosts)}")
    async with connected(environments.hosts, credentials) as sessions:
        clients = Clients(sessions)
        try:
            if command == "plan":
                plan, observation, _ = await preflight(request, sessions, clients)
                return dry_run(plan, observation, now())
            async with locked(sessions, run_holder(environ), environments.lock.wait_s):
                effects = Effects(sessions, clients, console.progress)
                with interrupts_deferred(effects.stop, console):
                    return await release(request, effects, _saver(state), now())
        finally:
            await clients.aclose()


def _saver(state: config.State) -> SaveStatus:
    def save(outcome: Outcome) -> str | None:
        updated = recording.record_outcome(state.status, outcome)
        try:
            _write_atomically(state.status_file, config.dump_status(updated))
        except OSError as exc:
            return f"cannot write {state.status_path}: {exc.strerror}"
        return None

    return save


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


async def _status(
    state: config.State, only: tuple[str, ...], credentials: Credentials, as_json: bool, console: Console
) -> int:
    environments = state.environments
    names = only or tuple(state.desired.apps)
    async with connected(environments.hosts, credentials) as sessions:
        clients = Clients(sessions)
        try:
            observation = await observe(sessions, environments, names, clients)
        finally:
            await clients.aclose()
    if as_json:
        console.out.write(json.dumps(report.status_json(observation, environments, state.status), indent=2) + "\n")
    else:
        console.out.write(report.status_text(observation, environments, state.status))
    return 0


@contextmanager
def interrupts_deferred(stop: asyncio.Event, console: Console) -> Iterator[None]:
    """Ctrl-C or a cancelled CI job (SIGINT, then SIGTERM) during a release: no new switch starts, the one under
    way finishes, is verified and switched back if need be, and the report is written. A second signal of the
    same kind acts as usual."""
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)

    def defer(number: int) -> None:
        console.progress(f"{signal.Signals(number).name}: finishing the switch under way, starting no other")
        stop.set()
        loop.remove_signal_handler(number)

    for number in signals:
        loop.add_signal_handler(number, defer, number)
    try:
        yield
    finally:
        for number in signals:
            loop.remove_signal_handler(number)


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
