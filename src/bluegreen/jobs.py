"""The three jobs, plan, release and status, against the real hosts: connect, (lock,) act, close.

Shared by both faces, the command line and the GitHub Action: each job connects to every HAProxy host once,
does its work over those connections, and closes them, whatever happens.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from pathlib import Path

from . import config, safefile
from .errors import InputError
from .model import HaproxyHost, Observation, Outcome, Plan
from .observe import Clients, observe
from .release import Effects, Request, Saved, SaveStatus, connected, dry_run, locked, preflight, release
from .seal import Seal, blob_id
from .ssh import Credentials, SshHost
from .verify import Progress


@asynccontextmanager
async def reached(
    hosts: Sequence[HaproxyHost], credentials: Credentials, progress: Progress
) -> AsyncIterator[tuple[Mapping[str, SshHost], Clients]]:
    """Every host connected, and the HTTP clients that go direct or through them; all closed at the end."""
    progress(f"connecting to {', '.join(host.name for host in hosts)}")
    async with connected(hosts, credentials) as sessions:
        clients = Clients(sessions)
        try:
            yield sessions, clients
        finally:
            await clients.aclose()


async def plan_job(request: Request, credentials: Credentials, progress: Progress) -> Outcome:
    """Pre-flight only: what a release would do. Takes no lock and changes nothing."""
    async with reached(request.environments.hosts, credentials, progress) as (sessions, clients):
        plan, observation, _ = await preflight(request, sessions, clients)
        return dry_run(plan, observation, now())


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
    async with (
        reached(environments.hosts, credentials, progress) as (sessions, clients),
        locked(sessions, holder, environments.lock.wait_s),
    ):
        effects = Effects(sessions, clients, progress, announce=announce)
        with interrupts_deferred(effects.stop, progress):
            return await release(request, effects, save, now())


async def status_job(state: config.State, only: tuple[str, ...], credentials: Credentials) -> Observation:
    environments = state.environments
    async with connected(environments.hosts, credentials) as sessions:
        clients = Clients(sessions)
        try:
            return await observe(sessions, environments, only or tuple(state.desired.apps), clients)
        finally:
            await clients.aclose()


def status_saver(state: config.State, repo: Path, key: bytes) -> SaveStatus:
    """Record an outcome in status.json in the working tree `repo`, sealed with `key` as the Action seals it
    (replaced atomically, never through a link); an error is reported, not raised."""

    def save(outcome: Outcome) -> Saved:
        try:
            current = safefile.read_text(repo, state.status_path)
            opened = config.opened_seal(current, key)
            sealing = Seal(opened.sequence + 1 if opened else 1, None if current is None else blob_id(current))
            text = config.dump_status(config.recorded(state.status, outcome), key, sealing)
            safefile.write_text(repo, state.status_path, text)
        except InputError as error:
            return Saved(False, error.message)
        except OSError as exc:
            return Saved(False, f"cannot write {state.status_path}: {exc.strerror or type(exc).__name__}")
        return Saved(True, f"{state.status_path} records the observed LIVE")

    return save


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
