"""The release's own users: requests at a steady rate through the public entry, from here or through each HAProxy
host when `via` is ssh, from just before the switch until verification ends. The rules are core/traffic.py.

Each route gets the whole rate (`verify.traffic_rate`), so every host's switch is watched as closely as one alone,
up to `MAX_TOTAL_RATE` through all of them together, which they share evenly beyond it.
And the moment a host has carried out its switch command, one more request leaves on the route through it (from
here: on the one route), so the first answer by the new LIVE is timed to the millisecond, not to the rate's
interval. The requests run beside the switch and the verification and never hold them up: each is its own task,
sent on time whether or not the one before has been answered (a stalled event loop skips the ticks it missed, it
does not send them in a burst). At the end, answers still on their way are waited for at most `GRACE_S`; a
request still unanswered then got no answer (when verification failed already, none is waited for, so the
switch back is not held up), and so did a tick that found `MAX_IN_FLIGHT` still on their way:
every request due is counted, so a figure never reads "0 of 2" when 28 hung.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bluegreen.core import traffic
from bluegreen.core.traffic import Visit
from bluegreen.engine.ports import Prober
from bluegreen.engine.switch import HostSwitch, Rollout
from bluegreen.engine.verify import Verdict
from bluegreen.errors import said
from bluegreen.model import AppEnvironment, AppPlan, Served, SwitchTraffic

__all__ = ["GRACE_S", "MAX_TOTAL_RATE", "Users", "watched"]

MAX_TOTAL_RATE = 200.0  # requests a second through all routes together: many hosts share it, never multiply it
GRACE_S = 1.0  # how long the end waits, at most, for answers still on their way
# per route: beyond it (an entry that hangs) a tick sends nothing and is counted unanswered. Well below the
# traffic client's pool (adapters/http.py TRAFFIC_CONNECTIONS), so no request waits for a connection there.
MAX_IN_FLIGHT = 32


class Users:
    """The requests of one app's release: started by `watched`, stopped when it ends, then judged."""

    def __init__(self, prober: Prober, app: AppEnvironment, routes: tuple[str | None, ...], rollout: Rollout) -> None:
        self.prober, self.app, self.routes, self.rollout = prober, app, routes, rollout
        self.visits: list[Visit] = []
        self._in_flight: dict[str | None, set[asyncio.Task[Visit]]] = {route: set() for route in routes}
        self._senders: list[asyncio.Task[None]] = []
        self._release_failures: list[Visit] = []  # those of `visits` judged, once `figure` has read them
        self._hurried = False

    def start(self) -> None:
        rate = min(self.app.verify.traffic_rate, MAX_TOTAL_RATE / len(self.routes or (None,)))
        if rate <= 0:
            return
        self._senders = [asyncio.create_task(self._paced(route, 1 / rate)) for route in self.routes]
        self._senders += [
            asyncio.create_task(self._on_command(switch, route))
            for host, switch in self.rollout.switches.items()
            for route in self.routes
            if route in (None, host)
        ]

    def hurry(self) -> None:
        """Nothing will be judged on the answers still on their way (verification failed already): the end
        waits for none of them, so the switch back does not wait either; they count as unanswered."""
        self._hurried = True

    async def stop(self) -> None:
        for sender in self._senders:
            sender.cancel()
        await asyncio.gather(*self._senders, return_exceptions=True)
        waiting: set[asyncio.Task[Visit]] = {task for tasks in self._in_flight.values() for task in tasks}
        if waiting and not self._hurried:
            await asyncio.wait(waiting, timeout=GRACE_S)
        for task in waiting:
            task.cancel()
        await asyncio.gather(*waiting, return_exceptions=True)

    async def _paced(self, route: str | None, interval_s: float) -> None:
        due = time.monotonic()
        while True:
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            self._send(route)
            due = max(due + interval_s, time.monotonic())

    async def _on_command(self, switch: HostSwitch, route: str | None) -> None:
        await switch.answered.wait()
        self._send(route)

    def _send(self, route: str | None) -> None:
        queued = time.monotonic()
        in_flight = self._in_flight[route]
        if len(in_flight) >= MAX_IN_FLIGHT:  # the entry hangs: this user would wait too, so it is no answer
            self.visits.append(Visit(route, queued, 0.0, _unanswered(f"not sent: {len(in_flight)} still unanswered")))
            return
        task = asyncio.create_task(self._visit(route))
        in_flight.add(task)
        task.add_done_callback(functools.partial(self._done, route, queued))

    def _done(self, route: str | None, queued: float, task: asyncio.Task[Visit]) -> None:
        """Every request is counted: one cancelled at the end (or before it left) got no answer."""
        self._in_flight[route].discard(task)
        if task.cancelled():
            took_ms = (time.monotonic() - queued) * 1000
            self.visits.append(Visit(route, queued, took_ms, _unanswered("no answer before the release's end")))
        else:
            self.visits.append(task.result())

    async def _visit(self, route: str | None) -> Visit:
        sent = time.monotonic()
        try:
            served = await self.prober.visit(self.app, route)
        except Exception as error:  # a bug of bluegreen's own is not the users' failure, but it is not success
            served = _unanswered(f"the request could not be made: {said(error)}")
        return Visit(route, sent, (time.monotonic() - sent) * 1000, served)

    def figure(self, plan: AppPlan) -> SwitchTraffic | None:
        """What users saw; None when no request was sent (`traffic_rate` 0)."""
        if not self._senders:
            return None
        versions = {plan.from_color: plan.from_version, plan.to_color: plan.to_version}
        switches = self.rollout.switches
        commanded = {host: s.commanded_at for host, s in switches.items() if s.commanded_at is not None}
        self._release_failures = traffic.release_failures(self.visits, self.app, plan.to_color, versions, commanded)
        return traffic.figure(self.visits, self.app, plan.to_color, versions, commanded)

    def judged(self, verdict: Verdict, figure: SwitchTraffic | None) -> Verdict:
        """Verification fails, too, when more of these requests failed than `verify.max_failed_requests`, and
        says so (after what verification found itself, if it failed too)."""
        if figure is None:
            return verdict
        first = traffic.first_failure(self._release_failures)
        problems = traffic.problems(figure, self.app.verify.max_failed_requests, first)
        if not problems:
            return verdict
        return Verdict(False, "; ".join(problems if verdict.ok else [verdict.detail, *problems]), verdict.draining)


def _unanswered(why: str) -> Served:
    return Served(None, None, None, why)


@asynccontextmanager
async def watched(prober: Prober, app: AppEnvironment, rollout: Rollout) -> AsyncIterator[Users]:
    """Users' requests from the start of the block to its end, while `rollout` switches: from here, or through
    every host when `via` is ssh (every host of the run, as verification asks them, not only those that switch)."""
    routes: tuple[str | None, ...] = (None,) if app.public.via == "direct" else tuple(rollout.hosts)
    users = Users(prober, app, routes, rollout)
    users.start()
    try:
        yield users
    finally:
        await users.stop()
