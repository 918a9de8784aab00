"""The three jobs, plan, release and status, against the real hosts: connect, (lock,) act, close.

Shared by both faces, the command line and the GitHub Action, which hand in the adapters: a Connector reaches
every HAProxy host once, the job does its work through those ports, and every connection is closed, whatever
happens.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import replace
from datetime import UTC, datetime

from bluegreen import config
from bluegreen.engine.locks import locked
from bluegreen.engine.observe import observe
from bluegreen.engine.ports import Connector, Ledger, Progress, Reached
from bluegreen.engine.release import Effects, Request, dry_run, preflight, release
from bluegreen.model import HaproxyHost, Observation, Outcome, Plan, Status


@asynccontextmanager
async def reached(connector: Connector, hosts: Sequence[HaproxyHost], progress: Progress) -> AsyncIterator[Reached]:
    progress(f"connecting to {', '.join(host.name for host in hosts)}")
    async with connector.reach(hosts) as found:
        yield found


async def plan_job(request: Request, connector: Connector, progress: Progress, ledger: Ledger) -> Outcome:
    """Pre-flight only: what a release would do, judged by the history the release would read. Takes no lock
    and changes nothing."""
    async with reached(connector, request.environments.hosts, progress) as found:
        plan, observation, _ = await preflight(request, found.hosts, found.probes, ledger)
        return dry_run(plan, observation, now())


async def release_job(
    request: Request,
    connector: Connector,
    progress: Progress,
    ledger: Ledger,
    holder: str,
    announce: Callable[[Plan], None] = lambda plan: None,
) -> Outcome:
    """Lock every host, then pre-flight, switch, verify and record; interrupts are deferred (see below)."""
    environments = request.environments
    async with (
        reached(connector, environments.hosts, progress) as found,
        locked(found.hosts, holder, environments.lock.wait_s) as held,
    ):
        effects = Effects(found.hosts, found.probes, progress, announce=announce, lock=held)
        with interrupts_deferred(effects.stop, progress):
            outcome = await release(request, effects, ledger, now())
        return replace(outcome, interrupted=effects.stop.is_set())


async def status_job(
    state: config.State, only: tuple[str, ...], connector: Connector, ledger: Ledger
) -> tuple[Observation, Status, dict[str, str]]:
    """What HAProxy and the app servers say now, what the ledger recorded (to show drift between them), and the
    hosts whose release lock a run holds now, by holder (a release under way: the hosts may be mid-switch)."""
    environments = state.environments
    async with reached(connector, environments.hosts, lambda message: None) as found:
        names = list(found.hosts)
        holders = await asyncio.gather(*(found.hosts[name].lock_holder() for name in names))
        releasing = {name: holder for name, holder in zip(names, holders, strict=True) if holder}
        recorded = (await ledger.recall(found.hosts)).status
        observation = await observe(found.hosts, environments, only or tuple(state.desired.apps), found.probes)
        return observation, recorded, releasing


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
