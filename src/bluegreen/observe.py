"""Reading the world: what each HAProxy host routes, how it sees the servers, what the app servers answer.

Everything here only reads. Every host and every app server is asked concurrently; a host answers all of
one run's questions over the one SSH connection it already has.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

import httpx

from . import haproxy, probe
from .model import (
    AppEnvironment,
    AppObservation,
    Color,
    ColorProbe,
    Environments,
    HostAppView,
    HostInfo,
    MapSwitch,
    Observation,
    ServerView,
    Via,
)
from .ssh import HostSession


class Clients:
    """One HTTP client per route (direct, or through each HAProxy host), made on first use, closed once."""

    def __init__(self, sessions: Mapping[str, HostSession], timeout_s: float = 3.0) -> None:
        self._sessions = sessions
        self._timeout_s = timeout_s
        self._clients: dict[str | None, httpx.AsyncClient] = {}

    def get(self, via: Via, host: str | None = None) -> httpx.AsyncClient:
        key = None if via == "direct" else (host or next(iter(self._sessions)))
        if key not in self._clients:
            self._clients[key] = (
                probe.direct_client(self._timeout_s)
                if key is None
                else probe.tunnel_client(self._sessions[key].open_tcp, self._timeout_s)
            )
        return self._clients[key]

    async def aclose(self) -> None:
        await asyncio.gather(*(client.aclose() for client in self._clients.values()))


async def observe(
    sessions: Mapping[str, HostSession], environments: Environments, names: Sequence[str], clients: Clients
) -> Observation:
    apps = [environments.apps[name] for name in names]
    infos, views, probes = await asyncio.gather(
        asyncio.gather(*(host_info(session) for session in sessions.values())),
        asyncio.gather(*(host_views(session, apps) for session in sessions.values())),
        asyncio.gather(*(probe_colors(app, clients) for app in apps)),
    )
    return Observation(
        hosts={info.name: info for info in infos},
        apps={
            app.name: AppObservation(
                app.name, {host: by_app[app.name] for host, by_app in zip(sessions, views, strict=True)}, colors
            )
            for app, colors in zip(apps, probes, strict=True)
        },
    )


async def host_info(session: HostSession) -> HostInfo:
    return haproxy.parse_info(await session.runtime(haproxy.SHOW_INFO), session.host.name)


async def host_views(session: HostSession, apps: Sequence[AppEnvironment]) -> dict[str, HostAppView]:
    """One `show stat` for all apps, and each app's routing, asked at the same time."""
    stat, routings = await asyncio.gather(
        session.runtime(haproxy.SHOW_STAT), asyncio.gather(*(routing(session, app) for app in apps))
    )
    servers = haproxy.parse_stat(stat, session.host.name)
    return {
        app.name: HostAppView(session.host.name, live, text, color_servers(app, servers))
        for app, (live, text) in zip(apps, routings, strict=True)
    }


async def routing(session: HostSession, app: AppEnvironment) -> tuple[Color | None, str]:
    """Which color this host sends the app's traffic to, and HAProxy's own words for it."""
    name = session.host.name
    switch = app.switch
    if isinstance(switch, MapSwitch):
        value = haproxy.parse_get_map(
            await session.runtime(haproxy.get_map(switch.map_file, switch.key)), switch.key, name
        )
        if value is None:
            return None, f"no entry for {switch.key} in {switch.map_file}"
        live = next((color for color, backend in switch.backends.items() if backend == value), None)
        return live, value if live else f"backend {value!r}, which is neither color's"
    states = haproxy.parse_servers_state(await session.runtime(haproxy.show_servers_state(switch.backend)), name)
    labels = {
        color: states[server].label if server in states else "missing" for color, server in switch.servers.items()
    }
    ready = [color for color, label in labels.items() if label == "ready"]
    text = ", ".join(f"{switch.backend}/{switch.servers[color]} {label}" for color, label in labels.items())
    return (ready[0] if len(ready) == 1 else None), text


def color_servers(app: AppEnvironment, servers: Sequence[ServerView]) -> dict[Color, tuple[ServerView, ...]]:
    switch = app.switch
    if isinstance(switch, MapSwitch):
        return {color: tuple(s for s in servers if s.backend == backend) for color, backend in switch.backends.items()}
    return {
        color: tuple(s for s in servers if s.backend == switch.backend and s.server == server)
        for color, server in switch.servers.items()
    }


async def probe_colors(app: AppEnvironment, clients: Clients) -> dict[Color, ColorProbe]:
    client = clients.get(app.probes.via)
    count, interval = app.verify.healthy_probes, app.verify.probe_interval_s
    blue, green = await asyncio.gather(
        probe.probe_color(client, app, Color.BLUE, count, interval),
        probe.probe_color(client, app, Color.GREEN, count, interval),
    )
    return {Color.BLUE: blue, Color.GREEN: green}
