"""Pure rendering of the lab's haproxy.cfg and map files: plain data in, text out, no I/O.

Every name, path and host that reaches the config has been checked by bluegreen's validator of environments.json
and by `layout` (no spaces, quotes, newlines or `#`), so plain interpolation cannot inject a directive.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bluegreen.model import Color
from bluegreen.switching import MapSwitch, ServersSwitch

LabSwitch = MapSwitch | ServersSwitch  # the methods the lab can render an haproxy.cfg for

CHECK = "check inter 100ms fall 2 rise 2"
UNKNOWN_HOST_BACKEND = "bluegreen_unknown_host"
HOST = "req.hdr(host),field(1,:),lower"


@dataclass(frozen=True)
class LabApp:
    """One app as the lab's HAProxy serves it: the layout's switch with its files moved into the lab."""

    name: str
    switch: LabSwitch
    addresses: Mapping[Color, str]  # 127.0.0.1:<port> of each color's app server
    live: Color  # the initial LIVE color
    host_header: str | None = None  # `servers` apps: the Host header the frontend's ACL matches
    health_path: str = "/health"
    standby_disabled: bool = False  # the STANDBY's server(s) `disabled`: MAINT from the start, not checked


def render_haproxy_cfg(apps: Sequence[LabApp], *, frontend_port: int, admin_socket: str) -> str:
    """The whole haproxy.cfg of one lab host: its own frontend port and runtime API socket."""
    sections = [
        _global_section(apps, admin_socket),
        _DEFAULTS,
        _frontend(apps, frontend_port),
        _UNKNOWN_HOST,
        *(_backends(app, _state_mode(app, apps)) for app in apps),
    ]
    return "\n".join(sections)


def render_map(apps: Sequence[LabApp], map_file: str) -> str:
    """The map file's content: `<key> <backend of the LIVE color>` for every map app that uses this file."""
    return "".join(
        f"{app.switch.key} {app.switch.backends[app.live]}\n"
        for app in apps
        if isinstance(app.switch, MapSwitch) and app.switch.map_file == map_file
    )


def disabled_servers(apps: Sequence[LabApp]) -> frozenset[tuple[str, str]]:
    """(backend, server) of every STANDBY server written `disabled`."""
    found = set()
    for app in apps:
        if app.standby_disabled:
            standby = app.live.other
            if isinstance(app.switch, MapSwitch):
                found.add((app.switch.backends[standby], standby.value))
            else:
                found.add((app.switch.backend, app.switch.servers[standby]))
    return frozenset(found)


def map_files(apps: Sequence[LabApp]) -> tuple[str, ...]:
    """The distinct map files of the map apps, in order of first use."""
    return tuple(dict.fromkeys(app.switch.map_file for app in apps if isinstance(app.switch, MapSwitch)))


def state_files(apps: Sequence[LabApp]) -> tuple[str, ...]:
    """The distinct server-state files of the servers apps, in order of first use."""
    files = (app.switch.state_file for app in apps if isinstance(app.switch, ServersSwitch))
    return tuple(dict.fromkeys(file for file in files if file))


def _state_mode(app: LabApp, apps: Sequence[LabApp]) -> str | None:
    """`global` when one state file serves every app (the usual case), else each backend names its own."""
    if not isinstance(app.switch, ServersSwitch) or not app.switch.state_file:
        return None
    return "global" if len(state_files(apps)) == 1 else "local"


def _global_section(apps: Sequence[LabApp], admin_socket: str) -> str:
    lines = [
        "global",
        f"    stats socket {admin_socket} mode 600 level admin",
        "    stats timeout 10s",
        "    hard-stop-after 10s",
    ]
    files = state_files(apps)
    if len(files) == 1:
        lines.append(f"    server-state-file {files[0]}")
    return "\n".join(lines) + "\n"


_DEFAULTS = """defaults
    mode http
    timeout connect 1s
    timeout client 30s
    timeout server 30s
    timeout http-keep-alive 10s
    timeout check 2s
"""

_UNKNOWN_HOST = f"""backend {UNKNOWN_HOST_BACKEND}
    http-request return status 404 content-type text/plain string "unknown host"
"""


def _frontend(apps: Sequence[LabApp], port: int) -> str:
    lines = ["frontend public", f"    bind 127.0.0.1:{port}", "    http-response set-header X-Served-By %b/%s"]
    for app in apps:
        if isinstance(app.switch, ServersSwitch):
            lines.append(f"    use_backend {app.switch.backend} if {{ {HOST} -m str {app.host_header} }}")
    for file in map_files(apps):
        lines.append(f"    use_backend %[{HOST},map({file})] if {{ {HOST},map({file}) -m found }}")
    lines.append(f"    default_backend {UNKNOWN_HOST_BACKEND}")
    return "\n".join(lines) + "\n"


def _backends(app: LabApp, state_mode: str | None) -> str:
    if isinstance(app.switch, MapSwitch):
        return "\n".join(
            _backend(backend, app, [(color.value, app.addresses[color])], None)
            for color, backend in sorted(app.switch.backends.items())
        )
    servers = [(app.switch.servers[color], app.addresses[color]) for color in sorted(app.switch.servers)]
    return _backend(app.switch.backend, app, servers, state_mode)


def _backend(name: str, app: LabApp, servers: list[tuple[str, str]], state_mode: str | None) -> str:
    lines = [f"backend {name}"]
    if state_mode == "global":
        lines.append("    load-server-state-from-file global")
    elif state_mode == "local" and isinstance(app.switch, ServersSwitch):
        lines += ["    load-server-state-from-file local", f"    server-state-file-name {app.switch.state_file}"]
    lines += [f"    option httpchk GET {app.health_path}", "    http-check expect status 200"]
    disabled = disabled_servers([app])
    lines += [
        f"    server {server} {address} {CHECK}" + (" disabled" if (name, server) in disabled else "")
        for server, address in servers
    ]
    return "\n".join(lines) + "\n"
