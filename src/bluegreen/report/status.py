"""`bluegreen status`: what HAProxy and the app servers say now, beside what status.json recorded. Pure.

It opens with one row per app (report/glance.py): where HAProxy's LIVE is, the recorded one, each color's health
and the drift. Then per app: each HAProxy host's LIVE color and routing and what a reload would route to, each
color's health, version and address, and drift: a host whose LIVE is not the one status.json records (or that
routes to neither color), or whose files (the map file, the server-state file) would send its traffic elsewhere at
the next reload.
"""

from __future__ import annotations

from collections.abc import Mapping

from bluegreen.core.drift import drifted_hosts, kept_apart, live_by_host, on_reload, watch
from bluegreen.core.versions import label as version_label
from bluegreen.model import (
    AppObservation,
    AppStatus,
    Color,
    ColorProbe,
    Environments,
    HostAppView,
    HostInfo,
    Observation,
    Status,
)
from bluegreen.report.doc import Block, Bullets, Details, Doc, Heading, Para, Spans, Table, mark, markdown, text
from bluegreen.report.glance import status_table


def status_markdown(observation: Observation, environments: Environments, status: Status) -> str:
    return markdown(status_doc(observation, environments, status))


def status_text(observation: Observation, environments: Environments, status: Status, color: bool = False) -> str:
    return text(status_doc(observation, environments, status), color)


def status_doc(observation: Observation, environments: Environments, status: Status) -> Doc:
    blocks: list[Block] = [Heading(2, ("bluegreen status",))]
    if status.updated_at:
        blocks.append(Para((f"state/status.json last updated at {status.updated_at}",)))
    drifts = {drift.app: drift for drift in watch(observation, status)}
    blocks.append(status_table(drifts.values(), observation, status))
    blocks.append(_hosts_table(observation, environments))
    for name in app_names(observation, environments, status):
        drift = drifts.get(name)
        summary = (mark("warn" if drift is None or drift.found else "ok"), f" {name}")
        body = _app_blocks(name, observation, environments, status)
        blocks.append(Details(summary, tuple(body), opened=drift is None or drift.found))
    return tuple(blocks)


def app_names(observation: Observation, environments: Environments, status: Status) -> tuple[str, ...]:
    """The configured apps in their order, then any only observed or only recorded."""
    names = [*environments.apps, *observation.apps, *status.apps]
    return tuple(dict.fromkeys(names))


def host_names(observation: Observation, environments: Environments) -> tuple[str, ...]:
    return tuple(dict.fromkeys([*(host.name for host in environments.hosts), *observation.hosts]))


def _hosts_table(observation: Observation, environments: Environments) -> Table:
    rows = tuple(_host_row(name, observation.hosts.get(name)) for name in host_names(observation, environments))
    return Table(("HAProxy host", "HAProxy", "Uptime", "PID"), rows)


def _host_row(name: str, info: HostInfo | None) -> tuple[Spans, ...]:
    if info is None:
        return ((name,), (mark("bad"), " not reached"), ("",), ("",))
    return ((name,), (info.version,), (uptime_label(info.uptime_s),), (str(info.pid),))


def uptime_label(seconds: int) -> str:
    days, rest = divmod(max(seconds, 0), 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {seconds}s" if minutes else f"{seconds}s"


# --- one app ----------------------------------------------------------------------------------------------------


def _app_blocks(name: str, observation: Observation, environments: Environments, status: Status) -> list[Block]:
    seen = observation.apps.get(name)
    recorded = status.apps.get(name, AppStatus())
    blocks: list[Block] = []
    if seen is None:
        return [*blocks, Para((mark("bad"), " not observed")), Para((_recorded_line(recorded),))]
    addresses = environments.apps[name].addresses if name in environments.apps else {}
    blocks += [_routing_table(seen, host_names(observation, environments)), _colors_table(seen, addresses)]
    return [*blocks, Para((_recorded_line(recorded),)), _drift_block(name, observation, status)]


def _routing_table(seen: AppObservation, hosts: tuple[str, ...]) -> Table:
    rows = tuple(_routing_row(host, seen.hosts.get(host)) for host in hosts if host in seen.hosts)
    return Table(("HAProxy host", "LIVE", "Routing", "After a reload"), rows)


def _routing_row(host: str, view: HostAppView | None) -> tuple[Spans, ...]:
    live = view.live.title if view and view.live else "neither color"
    return ((host,), (live,), (view.routing if view else "",), (_after_reload(view),))


def _after_reload(view: HostAppView | None) -> str:
    if view is None or view.kept is None:
        return "as haproxy.cfg says (nothing is kept)"
    if not view.kept.readable:
        return "not known"
    return view.kept.live.title if view.kept.live else "neither color"


def _colors_table(seen: AppObservation, addresses: Mapping[Color, str]) -> Table:
    shown = [color for color in Color if color in seen.colors or color in addresses]
    rows = tuple(
        _color_row(color, role(seen, color), seen.colors.get(color), addresses.get(color, "")) for color in shown
    )
    return Table(("Color", "Role", "Health", "Version", "Address"), rows)


def role(seen: AppObservation, color: Color) -> str:
    """LIVE where every HAProxy host routes to it, STANDBY where none does, and which hosts when they disagree."""
    routing = [host for host, view in seen.hosts.items() if view.live is color]
    if not routing or len(routing) == len(seen.hosts):
        return "LIVE" if routing else "STANDBY"
    return "LIVE on " + ", ".join(routing)


def _color_row(color: Color, role: str, probe: ColorProbe | None, address: str) -> tuple[Spans, ...]:
    if probe is None:
        return ((color.title,), (role,), (mark("skip"), " not probed"), (version_label(None),), (address,))
    return ((color.title,), (role,), _health(probe), (version_label(probe.version),), (probe.address,))


def _health(probe: ColorProbe) -> Spans:
    error = f" ({probe.error})" if probe.error else ""
    return (mark("ok" if probe.healthy else "bad"), f" {probe.passed}/{probe.asked} probes passed{error}")


def _recorded_line(recorded: AppStatus) -> str:
    if recorded.live is None:
        return "Recorded in state/status.json: no LIVE yet"
    live = recorded.live
    line = f"Recorded in state/status.json: LIVE {live.color.title} ({live.address}) - {version_label(live.version)}"
    standby = recorded.standby
    return line + (f", STANDBY {standby.color.title} - {version_label(standby.version)}" if standby else "")


# --- drift ------------------------------------------------------------------------------------------------------


def app_drift(name: str, observation: Observation, status: Status) -> tuple[str, ...]:
    """Where HAProxy's LIVE differs from the one status.json records (core.drift), one line per HAProxy host."""
    seen = observation.apps.get(name)
    if seen is None:
        return ()
    record = status.apps.get(name, AppStatus()).live
    recorded = record.color if record else None
    lines = [_host_drift(host, seen.hosts[host], recorded) for host in drifted_hosts(live_by_host(seen), recorded)]
    return (*lines, *(_kept_drift(host, seen.hosts[host]) for host in kept_apart(seen)))


def _kept_drift(host: str, view: HostAppView) -> str:
    assert view.kept is not None  # (kept_apart: only a host that keeps something is apart from it)
    live = view.live.title if view.live else "neither color"
    return f"{host}: HAProxy routes to {live}, but {on_reload(view.kept, view.live)}"


def _host_drift(host: str, view: HostAppView, recorded: Color | None) -> str:
    if view.live is None:
        return f"{host}: HAProxy routes to neither color ({view.routing})"
    if recorded is None:
        return f"{host}: HAProxy's LIVE is {view.live.title}, state/status.json records no LIVE"
    return f"{host}: HAProxy's LIVE is {view.live.title}, state/status.json records {recorded.title}"


def _drift_block(name: str, observation: Observation, status: Status) -> Block:
    lines = app_drift(name, observation, status)
    if lines:
        return Bullets(tuple((mark("warn"), f" Drift: {line}") for line in lines))
    return Para((mark("ok"), " No drift: HAProxy and state/status.json agree"))
