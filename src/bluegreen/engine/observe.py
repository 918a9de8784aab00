"""Reading the world: what each HAProxy host routes, how it sees the servers, what the app servers answer.

Everything here only reads. Every host and every app server is asked concurrently; a host answers all of one
run's questions over the one connection it already has.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from bluegreen.engine.ports import HaproxyPort, Prober
from bluegreen.model import (
    AppEnvironment,
    AppObservation,
    Color,
    ColorProbe,
    Environments,
    HostAppView,
    Kept,
    Observation,
)


async def observe(
    hosts: Mapping[str, HaproxyPort], environments: Environments, names: Sequence[str], prober: Prober
) -> Observation:
    apps = [environments.apps[name] for name in names]
    infos, views, probes = await asyncio.gather(
        asyncio.gather(*(port.info() for port in hosts.values())),
        asyncio.gather(*(host_views(port, apps) for port in hosts.values())),
        asyncio.gather(*(probe_colors(app, prober) for app in apps)),
    )
    return Observation(
        hosts={info.name: info for info in infos},
        apps={
            app.name: AppObservation(
                app.name, {host: by_app[app.name] for host, by_app in zip(hosts, views, strict=True)}, colors
            )
            for app, colors in zip(apps, probes, strict=True)
        },
    )


async def host_views(port: HaproxyPort, apps: Sequence[AppEnvironment], *, kept: bool = True) -> dict[str, HostAppView]:
    """One `show stat` for all apps, and every app's routing reads and (with `kept`) what a reload would read,
    asked at the same time: one batch, each file read once however many apps it serves."""
    reads = tuple(dict.fromkeys(read for app in apps for read in app.switch.reads()))
    reads += tuple(dict.fromkeys(read for app in apps for read in app.switch.kept_reads())) if kept else ()
    servers, answers = await asyncio.gather(port.stats(), port.read(reads))
    views = {}
    for app in apps:
        routing = app.switch.routing(answers)
        by_color = {color: app.switch.servers_of(color, servers) for color in Color}
        keeps = app.switch.kept(answers) if kept else None
        views[app.name] = HostAppView(
            port.host.name,
            routing.live,
            routing.text,
            by_color,
            kept=Kept(keeps.live, keeps.text, keeps.readable) if keeps else None,
        )
    return views


async def probe_colors(app: AppEnvironment, prober: Prober) -> dict[Color, ColorProbe]:
    count, interval = app.verify.healthy_probes, app.verify.probe_interval_s
    blue, green = await asyncio.gather(
        prober.health(app, Color.BLUE, count, interval), prober.health(app, Color.GREEN, count, interval)
    )
    return {Color.BLUE: blue, Color.GREEN: green}
