"""The three jobs, plan, release and status, against the real hosts: connect, (lock,) act, close.

Shared by both faces, the command line and the GitHub Action: each job connects to every HAProxy host once,
does its work over those connections, and closes them, whatever happens.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from . import config, recording
from .model import Observation, Outcome, Plan
from .observe import Clients, observe
from .release import Effects, Request, SaveStatus, connected, dry_run, locked, preflight, release
from .ssh import Credentials
from .verify import Progress


async def plan_job(request: Request, credentials: Credentials, progress: Progress) -> Outcome:
    """Pre-flight only: what a release would do. Takes no lock and changes nothing."""
    progress(f"connecting to {', '.join(h.name for h in request.environments.hosts)}")
    async with connected(request.environments.hosts, credentials) as sessions:
        clients = Clients(sessions)
        try:
            plan, observation, _ = await preflight(request, sessions, clients)
            return dry_run(plan, observation, now())
        finally:
            await clients.aclose()


async def release_job(
    request: Request,
    credentials: Credentials,
    progress: Progress,
    save: SaveStatus,
    holder: str,
    announce: Callable[[Plan], None] = lambda plan: None,
) -> Outcome:
    """Lock every host, then pre-flight, switch, verify and record; interrupts are deferred (see below)."""
    environments = request.environments
    progress(f"connecting to {', '.join(h.name for h in environments.hosts)}")
    async with connected(environments.hosts, credentials) as sessions:
        clients = Clients(sessions)
        try:
            async with locked(sessions, holder, environments.lock.wait_s):
                effects = Effects(sessions, clients, progress, announce=announce)
                with interrupts_deferred(effects.stop, progress):
                    return await release(request, effects, save, now())
        finally:
            await clients.aclose()


async def status_job(state: config.State, only: tuple[str, ...], credentials: Credentials) -> Observation:
    environments = state.environments
    async with connected(environments.hosts, credentials) as sessions:
        clients = Clients(sessions)
        try:
            return await observe(sessions, environments, only or tuple(state.desired.apps), clients)
        finally:
            await clients.aclose()


def status_saver(state: config.State) -> SaveStatus:
    """Record an outcome in the repository's status.json (written atomically); an error is reported, not raised."""

    def save(outcome: Outcome) -> str | None:
        updated = recording.record_outcome(state.status, outcome)
        try:
            write_atomically(state.status_file, config.dump_status(updated))
        except OSError as exc:
            return f"cannot write {state.status_path}: {exc.strerror}"
        return None

    return save


def write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


@contextmanager
def interrupts_deferred(stop: asyncio.Event, progress: Progress) -> Iterator[None]:
    """Ctrl-C or a cancelled CI job (SIGINT, then SIGTERM) during a release: no new switch starts, the one under
    way finishes, is verified and switched back if need be, and the report is written. A second signal of the
    same kind acts as usual."""
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)

    def defer(number: int) -> None:
        progress(f"{signal.Signals(number).name}: finishing the switch under way, starting no other")
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
