"""After the switch: do users reach the new LIVE? Asks HAProxy, the public entry and the new LIVE itself, for
the observation window, then waits (bounded) for the old LIVE to drain. The rules are core/verdict.py."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass

from bluegreen.core import verdict
from bluegreen.engine.observe import host_views
from bluegreen.engine.ports import HaproxyPort, Prober, Progress
from bluegreen.model import AppEnvironment, AppObservation, Color, HostAppView, Served


@dataclass(frozen=True)
class Verdict:
    ok: bool
    detail: str
    draining: int | None = None


@dataclass(frozen=True)
class Verification:
    """What verification looks at, and how it says how it goes."""

    hosts: Mapping[str, HaproxyPort]
    prober: Prober
    progress: Progress
    stop: asyncio.Event | None = None


async def verify(
    on: Verification, app: AppEnvironment, to: Color, to_version: str | None, before: AppObservation
) -> Verdict:
    deadline = time.monotonic() + app.verify.window_s
    served, health = await asyncio.gather(_sample(on, app), _health_problems(on.prober, app, to))
    views = await _views(on.hosts, app)  # after the requests, so HAProxy has counted them
    problems = [*verdict.served_problems(served, app, to, to_version), *health, *verdict.routing_problems(views, to)]
    problems += verdict.new_5xx(before.hosts, views, to, app.verify.max_new_5xx)
    while not problems and time.monotonic() < deadline and not (on.stop is not None and on.stop.is_set()):
        on.progress(f"{app.name}: observing the new LIVE, {max(0.0, deadline - time.monotonic()):.0f} s left")
        await asyncio.sleep(min(1.0, app.verify.window_s))
        health, views = await asyncio.gather(_health_problems(on.prober, app, to), _views(on.hosts, app))
        problems = [
            *health,
            *verdict.routing_problems(views, to),
            *verdict.new_5xx(before.hosts, views, to, app.verify.max_new_5xx),
        ]
    draining = await _drain(on, app, to, views)
    if problems:
        return Verdict(False, "; ".join(dict.fromkeys(problems)), draining)
    return Verdict(True, verdict.summary(served, app, to, to_version, views), draining)


async def _views(hosts: Mapping[str, HaproxyPort], app: AppEnvironment) -> dict[str, HostAppView]:
    """What each host routes now. Not what it keeps: the switch has just written that, and the port said so; read
    at every poll of the window it would cost a file read a second for nothing."""
    found = await asyncio.gather(*(host_views(port, [app], kept=False) for port in hosts.values()))
    return {host: by_app[app.name] for host, by_app in zip(hosts, found, strict=True)}


async def _sample(on: Verification, app: AppEnvironment) -> list[Served]:
    """Through the public entry: once from here, or through each HAProxy host when `via` is ssh."""
    routes: list[str | None] = [None] if app.public.via == "direct" else list(on.hosts)
    batches = await asyncio.gather(*(on.prober.public(app, host) for host in routes))
    return [served for batch in batches for served in batch]


async def _health_problems(prober: Prober, app: AppEnvironment, to: Color) -> list[str]:
    checked = await prober.health(app, to, app.verify.healthy_probes, app.verify.probe_interval_s)
    return [] if checked.healthy else [f"the new LIVE {to.title} is unhealthy: {checked.error}"]


async def _drain(on: Verification, app: AppEnvironment, to: Color, views: Mapping[str, HostAppView]) -> int:
    """Sessions still on the old LIVE; waits up to drain_wait_s for them to finish on their own."""
    deadline = time.monotonic() + app.verify.drain_wait_s
    while (draining := verdict.sessions(views, to.other)) and time.monotonic() < deadline:
        on.progress(f"{app.name}: {draining} sessions draining from {to.other.title}")
        await asyncio.sleep(0.2)
        views = await _views(on.hosts, app)
    return draining
