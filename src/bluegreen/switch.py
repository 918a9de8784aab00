"""The switch itself: one app, every host that needs it, all or none.

`map`: the map file is written first (temporary file + rename), then `set map` changes the one entry at
runtime, so a reload in between already reads the new LIVE. In-flight requests finish on the old backend.
`servers`: one runtime line, `set server B/new state ready; set server B/old state drain`, so there is never a
moment without a ready server; `drain` keeps established sessions. The server-state file is dumped after.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from . import haproxy
from .errors import RuntimeApiError, said
from .model import AppEnvironment, Color, MapSwitch, ServersSwitch
from .ssh import HostSession


async def switch_host(session: HostSession, app: AppEnvironment, to: Color) -> float:
    """Point this host's traffic for `app` at `to`; returns the runtime command's time in ms."""
    if isinstance(app.switch, MapSwitch):
        return await _switch_map(session, app.switch, to)
    return await _switch_servers(session, app.switch, to)


async def _switch_map(session: HostSession, switch: MapSwitch, to: Color) -> float:
    name = session.host.name
    before = await session.read_file(switch.map_file)
    if before is None:
        raise RuntimeApiError(f"{name}: the map file {switch.map_file} does not exist")
    await session.write_file(switch.map_file, haproxy.rewrite_map(before, switch.key, switch.backends[to]))
    command = haproxy.set_map(switch.map_file, switch.key, switch.backends[to])
    try:
        elapsed, answer = await _timed(session, command)
        haproxy.expect_empty(command, answer, name)
    except BaseException:
        await session.write_file(switch.map_file, before)
        raise
    return elapsed


async def _switch_servers(session: HostSession, switch: ServersSwitch, to: Color) -> float:
    ready = haproxy.set_server_state(switch.backend, switch.servers[to], "ready")
    drain = haproxy.set_server_state(switch.backend, switch.servers[to.other], "drain")
    elapsed, answer = await _timed(session, f"{ready}; {drain}")
    haproxy.expect_empty(f"{ready}; {drain}", answer, session.host.name)
    if switch.state_file:
        await session.write_file(switch.state_file, await session.runtime(haproxy.show_servers_state()))
    return elapsed


async def _timed(session: HostSession, command: str) -> tuple[float, str]:
    start = time.perf_counter()
    answer = await session.runtime(command)
    return (time.perf_counter() - start) * 1000, answer


@dataclass(frozen=True)
class Switched:
    """What happened on each host: `switched`, `restored`, `unchanged` or `failed: ...`."""

    ok: bool
    hosts: Mapping[str, str]
    slowest_ms: float | None = None
    errors: Sequence[str] = field(default_factory=tuple)


async def switch_all(
    sessions: Mapping[str, HostSession], hosts: Sequence[str], app: AppEnvironment, to: Color
) -> Switched:
    """Switch `hosts` concurrently; if any fails, switch back every host touched (all or none)."""
    results = await asyncio.gather(*(switch_host(sessions[h], app, to) for h in hosts), return_exceptions=True)
    timings = {h: r for h, r in zip(hosts, results, strict=True) if isinstance(r, float)}
    failures = {h: r for h, r in zip(hosts, results, strict=True) if isinstance(r, BaseException)}
    untouched = {h: "unchanged" for h in sessions if h not in hosts}
    if not failures:
        return Switched(True, {**{h: "switched" for h in hosts}, **untouched}, max(timings.values(), default=None))
    restored = await _restore(sessions, hosts, app, to.other)
    outcome = {h: _host_result(h, failures.get(h), restored[h]) for h in hosts}
    return Switched(False, {**outcome, **untouched}, None, tuple(f"{h}: {said(e)}" for h, e in failures.items()))


async def _restore(
    sessions: Mapping[str, HostSession], hosts: Sequence[str], app: AppEnvironment, back: Color
) -> dict[str, BaseException | None]:
    results = await asyncio.gather(*(switch_host(sessions[h], app, back) for h in hosts), return_exceptions=True)
    return {h: r if isinstance(r, BaseException) else None for h, r in zip(hosts, results, strict=True)}


def _host_result(host: str, failure: BaseException | None, restore_error: BaseException | None) -> str:
    restored = "restored" if restore_error is None else f"NOT restored: {said(restore_error)}"
    return restored if failure is None else f"failed: {said(failure)}; {restored}"
