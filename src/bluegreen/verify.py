"""After the switch: do users reach the new LIVE? Asks HAProxy, the public entry and the new LIVE itself.

- every host routes to the new LIVE and sees its servers UP with a passing check;
- requests through the public entry are answered by the new LIVE (named by the served-by header, else by
  the version it answers) and none fails;
- the new LIVE passes its health probes, during the observation window too, and HAProxy counts no more new
  5xx answers on it than allowed;
- the old LIVE drains: its established sessions are counted (and waited for, bounded), never cut.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from . import haproxy, probe
from .model import AppEnvironment, AppObservation, Color, HostAppView, MapSwitch
from .observe import Clients, host_views
from .planner import same_version, show
from .ssh import HostSession

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Verdict:
    ok: bool
    detail: str
    draining: int | None = None


async def verify(
    sessions: Mapping[str, HostSession],
    app: AppEnvironment,
    to: Color,
    to_version: str | None,
    before: AppObservation,
    clients: Clients,
    progress: Progress,
    stop: asyncio.Event | None = None,
) -> Verdict:
    deadline = time.monotonic() + app.verify.window_s
    served, health = await asyncio.gather(_sample(sessions, app, clients), _health_problems(app, to, clients))
    views = await _views(sessions, app)  # after the requests, so HAProxy has counted them
    problems = [*_served_problems(served, app, to, to_version), *health, *_routing_problems(views, to)]
    problems += _new_5xx(before.hosts, views, to, app.verify.max_new_5xx)
    while not problems and time.monotonic() < deadline and not (stop is not None and stop.is_set()):
        progress(f"{app.name}: observing the new LIVE, {max(0.0, deadline - time.monotonic()):.0f} s left")
        await asyncio.sleep(min(1.0, app.verify.window_s))
        health, views = await asyncio.gather(_health_problems(app, to, clients), _views(sessions, app))
        problems = [*health, *_routing_problems(views, to), *_new_5xx(before.hosts, views, to, app.verify.max_new_5xx)]
    draining = await _drain(sessions, app, to, views, progress)
    if problems:
        return Verdict(False, "; ".join(dict.fromkeys(problems)), draining)
    return Verdict(True, _summary(served, app, to, to_version, views), draining)


async def _views(sessions: Mapping[str, HostSession], app: AppEnvironment) -> dict[str, HostAppView]:
    found = await asyncio.gather(*(host_views(session, [app]) for session in sessions.values()))
    return {host: by_app[app.name] for host, by_app in zip(sessions, found, strict=True)}


def _routing_problems(views: Mapping[str, HostAppView], to: Color) -> list[str]:
    problems = [f"{host} routes to {view.routing}" for host, view in views.items() if view.live != to]
    for host, view in views.items():
        problems += [
            f"{host} sees {s.backend}/{s.server} {s.status} {s.check_status}".rstrip()
            for s in view.servers.get(to, ())
            if not haproxy.check_passing(s)
        ]
    return problems


async def _sample(sessions: Mapping[str, HostSession], app: AppEnvironment, clients: Clients) -> list[probe.Served]:
    """Through the public entry: once from here, or through each HAProxy host when `via` is ssh."""
    routes = [None] if app.public.via == "direct" else list(sessions)
    field, count = app.probes.version_field, app.verify.requests
    batches = await asyncio.gather(
        *(probe.sample_public(clients.get(app.public.via, host), app.public, field, count) for host in routes)
    )
    return [served for batch in batches for served in batch]


def _served_problems(served: list[probe.Served], app: AppEnvironment, to: Color, to_version: str | None) -> list[str]:
    wrong = [s for s in served if not _reached(s, app, to, to_version)]
    if not wrong:
        return []
    first = wrong[0]
    said = first.error or f"status {first.status}, served by {first.served_by or '?'}, version {show(first.version)}"
    return [f"{len(wrong)}/{len(served)} requests through {app.public.url} did not reach {to.title} (first: {said})"]


def _reached(served: probe.Served, app: AppEnvironment, to: Color, to_version: str | None) -> bool:
    if served.error or served.status is None or served.status >= 500:
        return False
    if served.served_by:
        expected = _served_by_prefix(app, to)  # `backend/` (any of its servers) or `backend/server` (that one)
        return served.served_by.startswith(expected) if expected.endswith("/") else served.served_by == expected
    return same_version(served.version, to_version)


def _served_by_prefix(app: AppEnvironment, color: Color) -> str:
    switch = app.switch
    if isinstance(switch, MapSwitch):
        return f"{switch.backends[color]}/"
    return f"{switch.backend}/{switch.servers[color]}"


async def _health_problems(app: AppEnvironment, to: Color, clients: Clients) -> list[str]:
    checked = await probe.probe_color(
        clients.get(app.probes.via), app, to, app.verify.healthy_probes, app.verify.probe_interval_s
    )
    return [] if checked.healthy else [f"the new LIVE {to.title} is unhealthy: {checked.error}"]


def _new_5xx(before: Mapping[str, HostAppView], after: Mapping[str, HostAppView], to: Color, allowed: int) -> list[str]:
    counted = 0
    for host, view in after.items():
        old = {(s.backend, s.server): s.http_5xx for s in before[host].servers.get(to, ())}
        # A reload resets the counters: a count below the one seen before starts again from zero.
        counted += sum(max(0, s.http_5xx - old.get((s.backend, s.server), 0)) for s in view.servers.get(to, ()))
    return (
        [] if counted <= allowed else [f"HAProxy counted {counted} new 5xx answers on the new LIVE (allowed {allowed})"]
    )


async def _drain(
    sessions: Mapping[str, HostSession],
    app: AppEnvironment,
    to: Color,
    views: Mapping[str, HostAppView],
    progress: Progress,
) -> int:
    """Sessions still on the old LIVE; waits up to drain_wait_s for them to finish on their own."""
    deadline = time.monotonic() + app.verify.drain_wait_s
    while (draining := _sessions(views, to.other)) and time.monotonic() < deadline:
        progress(f"{app.name}: {draining} sessions draining from {to.other.title}")
        await asyncio.sleep(0.2)
        views = await _views(sessions, app)
    return draining


def _sessions(views: Mapping[str, HostAppView], color: Color) -> int:
    return sum(s.sessions for view in views.values() for s in view.servers.get(color, ()))


def _summary(
    served: list[probe.Served], app: AppEnvironment, to: Color, to_version: str | None, views: Mapping[str, HostAppView]
) -> str:
    how = (
        f"served by {_served_by_prefix(app, to).rstrip('/')}" if any(s.served_by for s in served) else show(to_version)
    )
    hosts = ", ".join(f"{host} → {view.routing}" for host, view in views.items())
    return f"{len(served)}/{len(served)} requests through the public entry {how}; {to.title} healthy; {hosts}"
