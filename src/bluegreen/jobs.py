"""The three jobs, plan, release and status, against the real hosts: connect, (lock,) act, close.

Shared by both faces, the command line and the GitHub Action: each job connects to every HAProxy host once,
does its work over those connections, and closes them, whatever happens.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from . import config, safefile
from .errors import InputError
from .model import HaproxyHost, Observation, Outcome, Plan, Status
from .observe import Clients, observe
from .release import (
    Effects,
    Ledger,
    Recalled,
    Request,
    Saved,
    connected,
    dry_run,
    locked,
    preflight,
    recalled,
    release,
)
from .ssh import Credentials, HostSession, SshHost
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


async def plan_job(request: Request, credentials: Credentials, progress: Progress, ledger: Ledger) -> Outcome:
    """Pre-flight only: what a release would do, judged by the history the release would read. Takes no lock
    and changes nothing."""
    async with reached(request.environments.hosts, credentials, progress) as (sessions, clients):
        plan, observation, _ = await preflight(await recalled(request, ledger, sessions), sessions, clients)
        return dry_run(plan, observation, now())


async def release_job(
    request: Request,
    credentials: Credentials,
    progress: Progress,
    ledger: Ledger,
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
            return await release(request, effects, ledger, now())


async def status_job(
    state: config.State, only: tuple[str, ...], credentials: Credentials, ledger: Ledger
) -> tuple[Observation, Status]:
    """What HAProxy and the app servers say now, and what the ledger recorded (to show drift between them)."""
    environments = state.environments
    async with reached(environments.hosts, credentials, lambda message: None) as (sessions, clients):
        recorded = (await ledger.recall(sessions)).status
        return await observe(sessions, environments, only or tuple(state.desired.apps), clients), recorded


@dataclass
class FileLedger:
    """The command line's record: status.json in the working tree `repo`, believed as it is (the operator's own
    checkout), written back atomically and never through a link."""

    state: config.State
    repo: Path

    async def recall(self, sessions: Mapping[str, HostSession]) -> Recalled:
        return Recalled(self.state.status)

    async def record(self, sessions: Mapping[str, HostSession], outcome: Outcome) -> Saved:
        return await asyncio.to_thread(self._write, outcome)

    def _write(self, outcome: Outcome) -> Saved:
        text = config.dump_status(config.recorded(self.state.status, outcome))
        try:
            safefile.write_text(self.repo, self.state.status_path, text)
        except InputError as error:
            return Saved(False, error.message)
        except OSError as exc:
            return Saved(False, f"cannot write {self.state.status_path}: {exc.strerror or type(exc).__name__}")
        return Saved(True, f"{self.state.status_path} records the observed LIVE")


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
