"""Pure planning of a lab from an environments.json layout: which apps, files and ports, and the layout rewritten
to point at the lab. No I/O: the caller allocates ports and directories and passes them in.

The layout's apps are checked by bluegreen's own validator of environments.json (`config.environments_from`:
its JSON Schema keeps spaces, newlines, quotes and `#` out of every name and path that reaches haproxy.cfg), so
hostile values are refused with their place in the layout. Only what the lab alone needs is checked here.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bluegreen import config
from bluegreen.errors import InputError, Location
from bluegreen.model import AppEnvironment, Color
from bluegreen.switching import MapSwitch, ServersSwitch, SwitchMethod
from bluegreen_lab.haproxy_config import LabApp, LabSwitch

LAYOUT_PATH = "state/environments.json"
PORT_IN_TEXT = re.compile(r":(\d{1,5})\b")
HTTPCHK_PATH = re.compile(r"/[A-Za-z0-9._~/-]*")  # haproxy.cfg reads `#`, quotes and `\` in a probe path as syntax
# The lab reads only the layout's apps: it puts its own hosts in `haproxy`, and passes `ssh` through as it is
# (write_state checks known_hosts, the one path it writes). These stand in for the two, to check the apps alone.
_STAND_INS: Mapping[str, Any] = {
    "haproxy": {"hosts": [{"name": "lab", "ssh": {"host": "127.0.0.1", "user": "lab"}}]},
    "ssh": {"known_hosts": "state/known_hosts"},
}

Apps = Mapping[str, AppEnvironment]


@dataclass(frozen=True)
class AppInitial:
    """How an app starts in the lab: its LIVE color, the version each color's app server answers, and whether
    haproxy.cfg writes the STANDBY's server(s) `disabled` (HAProxy starts them in MAINT, unchecked)."""

    live: Color
    versions: Mapping[Color, str]
    standby_disabled: bool = False


@dataclass(frozen=True)
class HostPlan:
    """One lab HAProxy host: its directory and ports; the files in it are named here."""

    name: str
    dir: Path
    frontend_port: int
    sshd_port: int

    @property
    def admin_socket(self) -> Path:
        return self.dir / "admin.sock"

    @property
    def lock_path(self) -> Path:
        return self.dir / "bluegreen.lock"


def parse_layout(layout: Mapping[str, Any]) -> Apps:
    """The layout's apps, checked: an InputError names the field in state/environments.json."""
    apps = config.environments_from({**_STAND_INS, "apps": layout.get("apps")}, LAYOUT_PATH).apps
    if not apps:
        raise _error("the layout names no apps", "apps")
    return apps


def lab_apps(
    layout: Mapping[str, Any], initial: Mapping[str, AppInitial], files: Mapping[str, str], ports: Mapping[str, int]
) -> tuple[LabApp, ...]:
    """`serve_apps` of a layout not parsed yet."""
    return serve_apps(parse_layout(layout), initial, files, ports)


def serve_apps(
    apps: Apps, initial: Mapping[str, AppInitial], files: Mapping[str, str], ports: Mapping[str, int]
) -> tuple[LabApp, ...]:
    """The apps as the lab serves them. `files`: layout path -> lab path; `ports`: `app/color` -> port."""
    return tuple(_lab_app(app, _initial(initial, name), files, ports) for name, app in apps.items())


def relocate_files(layout: Mapping[str, Any], into: Path) -> dict[str, str]:
    """`move_files` of a layout not parsed yet."""
    return move_files(parse_layout(layout), into)


def move_files(apps: Apps, into: Path) -> dict[str, str]:
    """Every map and state file of the apps -> a path in `into` (same base name; made unique if needed)."""
    moved: dict[str, str] = {}
    for app in apps.values():
        for key, original in _files(app.switch):
            if original not in moved:
                moved[original] = str(into / _unique(_base_name(original, app.name, key), moved.values()))
    return moved


def rewrite_environments(
    layout: Mapping[str, Any], hosts: Sequence[HostPlan], files: Mapping[str, str], ports: Mapping[str, int], user: str
) -> dict[str, Any]:
    """The layout (one parse_layout accepted) pointing at the lab: hosts lb1..lbN, lab files, app servers' ports,
    lb1's frontend. JSON values, as written to disk."""
    rewritten = copy.deepcopy(dict(layout))
    haproxy = rewritten.setdefault("haproxy", {})
    haproxy["hosts"] = [_host_entry(host, user) for host in hosts]
    haproxy["socket"] = str(hosts[0].admin_socket)
    haproxy["lock"] = {**haproxy.get("lock", {}), "path": str(hosts[0].lock_path)}
    for name, entry in rewritten["apps"].items():
        _rewrite_app(name, entry, files, ports, hosts[0].frontend_port)
    return rewritten


def public_path(app: AppEnvironment) -> str:
    """The path (and query) of the app's public URL, to be asked on a lab frontend."""
    parts = urlsplit(app.public.url)
    return urlunsplit(("", "", parts.path or "/", parts.query, ""))


def layout_ports(layout: Mapping[str, Any]) -> set[int]:
    """Every port the layout names (ssh ports, `host:port` addresses, URLs): the lab never takes them."""
    if isinstance(layout, Mapping):
        found = {value for key, value in layout.items() if key == "port" and isinstance(value, int)}
        return found.union(*(layout_ports(value) for value in layout.values()))
    if isinstance(layout, list):
        return set().union(*(layout_ports(value) for value in layout))
    return {int(port) for port in PORT_IN_TEXT.findall(layout)} if isinstance(layout, str) else set()


def _rewrite_app(
    name: str, entry: dict[str, Any], files: Mapping[str, str], ports: Mapping[str, int], frontend_port: int
) -> None:
    switch = entry["switch"]
    for key in ("map_file", "state_file"):
        if key in switch:
            switch[key] = files[switch[key]]
    entry["colors"] = {color.value: f"127.0.0.1:{ports[f'{name}/{color.value}']}" for color in Color}
    entry["public"]["url"] = _on_port(entry["public"]["url"], frontend_port)


def _host_entry(host: HostPlan, user: str) -> dict[str, Any]:
    return {
        "name": host.name,
        "ssh": {"host": "127.0.0.1", "port": host.sshd_port, "user": user},
        "socket": str(host.admin_socket),
        "lock_path": str(host.lock_path),
    }


def _on_port(url: str, port: int) -> str:
    parts = urlsplit(url)
    return urlunsplit(("http", f"127.0.0.1:{port}", parts.path, parts.query, parts.fragment))  # the lab has no TLS


def _lab_app(app: AppEnvironment, initial: AppInitial, files: Mapping[str, str], ports: Mapping[str, int]) -> LabApp:
    addresses = {color: f"127.0.0.1:{ports[f'{app.name}/{color.value}']}" for color in Color}
    return LabApp(
        app.name,
        _moved(app.switch, files),
        addresses,
        initial.live,
        _host_header(app),
        _health_path(app),
        initial.standby_disabled,
    )


def _moved(switch: SwitchMethod, files: Mapping[str, str]) -> LabSwitch:
    if isinstance(switch, MapSwitch):
        return dataclasses.replace(switch, map_file=files[switch.map_file])
    if isinstance(switch, ServersSwitch):
        return dataclasses.replace(switch, state_file=files[switch.state_file] if switch.state_file else None)
    raise _error(f"the lab cannot run the switch method {switch.method!r}", "apps.*.switch.method")


def _files(switch: SwitchMethod) -> tuple[tuple[str, str], ...]:
    """(field, path) of the switch's map or state file."""
    if isinstance(switch, MapSwitch):
        return (("map_file", switch.map_file),)
    if isinstance(switch, ServersSwitch) and switch.state_file:
        return (("state_file", switch.state_file),)
    return ()


def _host_header(app: AppEnvironment) -> str | None:
    """The Host a `servers` app's frontend ACL matches, as HAProxy's fetch yields it: lowercase, without port."""
    header = app.public.host_header
    if isinstance(app.switch, ServersSwitch) and header is None:
        raise _error("a `servers` app needs public.host_header in the lab", f"apps.{app.name}.public.host_header")
    return header.split(":")[0].lower() if header else None


def _health_path(app: AppEnvironment) -> str:
    path = app.probes.health_path
    if not HTTPCHK_PATH.fullmatch(path):
        hint = f"the lab writes it into haproxy.cfg: it must match {HTTPCHK_PATH.pattern}"
        raise _error(f"{path!r} is not allowed here", f"apps.{app.name}.probes.health_path", hint=hint)
    return path


def _initial(initial: Mapping[str, AppInitial], name: str) -> AppInitial:
    hint = "pass AppInitial(live, {Color.BLUE: version, Color.GREEN: version}) for every app"
    if name not in initial:
        raise _error(f"no initial state for app {name!r}", f"apps.{name}", hint=hint)
    if not all(isinstance(initial[name].versions.get(color), str) for color in Color):
        raise _error(f"app {name!r}: the initial state needs a version for each color", f"apps.{name}", hint=hint)
    return initial[name]


def _base_name(path: str, app: str, key: str) -> str:
    base = PurePosixPath(path).name  # the schema allows letters, digits and `_ . / -` only, and no `..`
    if not base:
        raise _error(f"{path!r} has no file name", f"apps.{app}.switch.{key}", hint="end the path with a file name")
    return base


def _unique(base: str, taken: Iterable[str]) -> str:
    names = {PurePosixPath(path).name for path in taken}
    candidates = (f"{index}-{base}" if index else base for index in itertools.count())
    return next(name for name in candidates if name not in names)


def _error(message: str, field: str, *, hint: str = "") -> InputError:
    return InputError(message, hint=hint, location=Location(LAYOUT_PATH, field=field))
