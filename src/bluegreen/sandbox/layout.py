"""Pure planning of a lab from an environments.json layout: which apps, files and ports, and the layout rewritten
to point at the lab. No I/O: the caller allocates ports and directories and passes them in.

Everything that will reach haproxy.cfg, sshd_config or a file name is checked here against a strict pattern, so
hostile names (spaces, newlines, quotes, `#`, `..`) are refused with their place in the layout.
"""

from __future__ import annotations

import copy
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bluegreen.errors import InputError, Location
from bluegreen.model import Color, MapSwitch, ServersSwitch, Switch
from bluegreen.sandbox.haproxy_config import LabApp

LAYOUT_PATH = "state/environments.json"
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
HOSTNAME = re.compile(r"[a-z0-9](?:[a-z0-9.-]{0,252})")
URL_PATH = re.compile(r"/[A-Za-z0-9._~/-]*")
PORT_IN_TEXT = re.compile(r":(\d{1,5})\b")
SAFE_PATH = re.compile(r"[A-Za-z0-9._/+-]+")


@dataclass(frozen=True)
class AppInitial:
    """How an app starts in the lab: its LIVE color and the version each color's app server answers."""

    live: Color
    versions: Mapping[Color, str]


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


def lab_apps(
    layout: Mapping[str, Any], initial: Mapping[str, AppInitial], files: Mapping[str, str], ports: Mapping[str, int]
) -> tuple[LabApp, ...]:
    """The layout's apps as the lab serves them. `files`: layout path -> lab path; `ports`: `app/color` -> port."""
    return tuple(_lab_app(name, entry, _initial(initial, name), files, ports) for name, entry in _apps(layout).items())


def app_names(layout: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(_apps(layout))


def relocate_files(layout: Mapping[str, Any], into: Path) -> dict[str, str]:
    """Every map and state file of the layout -> a path in `into` (same base name; made unique if needed)."""
    moved: dict[str, str] = {}
    for name, entry in _apps(layout).items():
        for key in ("map_file", "state_file"):
            original = _switch(entry, name).get(key)
            if isinstance(original, str) and original not in moved:
                moved[original] = str(into / _unique(_base_name(original, name, key), moved.values()))
    return moved


def rewrite_environments(
    layout: Mapping[str, Any], hosts: Sequence[HostPlan], files: Mapping[str, str], ports: Mapping[str, int], user: str
) -> dict[str, Any]:
    """The layout pointing at the lab: hosts lb1..lbN, lab files, app servers' ports, lb1's frontend."""
    rewritten = copy.deepcopy(dict(layout))
    haproxy = rewritten.setdefault("haproxy", {})
    haproxy["hosts"] = [_host_entry(host, user) for host in hosts]
    haproxy["socket"] = str(hosts[0].admin_socket)
    haproxy["lock"] = {**haproxy.get("lock", {}), "path": str(hosts[0].lock_path)}
    for name, entry in rewritten["apps"].items():
        _rewrite_app(name, entry, files, ports, hosts[0].frontend_port)
    return rewritten


def public_path(layout: Mapping[str, Any], app: str) -> str:
    """The path (and query) of the app's public URL, to be asked on a lab frontend."""
    url = _object(_apps(layout)[app], "public", f"apps.{app}.public").get("url")
    if not isinstance(url, str):
        raise _error("expected the URL users reach the app at", f"apps.{app}.public.url")
    parts = urlsplit(url)
    return urlunsplit(("", "", parts.path or "/", parts.query, ""))


def _rewrite_app(
    name: str, entry: dict[str, Any], files: Mapping[str, str], ports: Mapping[str, int], frontend_port: int
) -> None:
    switch = entry["switch"]
    for key in ("map_file", "state_file"):
        if key in switch:
            switch[key] = files[switch[key]]
    entry["colors"] = {color.value: f"127.0.0.1:{ports[f'{name}/{color.value}']}" for color in Color}
    if isinstance(entry.get("public"), dict) and isinstance(entry["public"].get("url"), str):
        entry["public"]["url"] = _on_port(entry["public"]["url"], frontend_port)


def layout_ports(layout: Mapping[str, Any]) -> set[int]:
    """Every port the layout names (ssh ports, `host:port` addresses, URLs): the lab never takes them."""
    if isinstance(layout, Mapping):
        found = {value for key, value in layout.items() if key == "port" and isinstance(value, int)}
        return found.union(*(layout_ports(value) for value in layout.values()))
    if isinstance(layout, list):
        return set().union(*(layout_ports(value) for value in layout))
    return {int(port) for port in PORT_IN_TEXT.findall(layout)} if isinstance(layout, str) else set()


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


def _lab_app(
    name: str, entry: Mapping[str, Any], initial: AppInitial, files: Mapping[str, str], ports: Mapping[str, int]
) -> LabApp:
    switch = _parse_switch(name, _switch(entry, name), files)
    public = _object(entry, "public", f"apps.{name}.public")
    host = _optional_str(public, "host_header", f"apps.{name}.public.host_header", HOSTNAME)
    if isinstance(switch, ServersSwitch) and host is None:
        raise _error("a `servers` app needs public.host_header in the lab", f"apps.{name}.public.host_header")
    probes = _object(entry, "probes", f"apps.{name}.probes")
    health = _optional_str(probes, "health_path", f"apps.{name}.probes.health_path", URL_PATH)
    addresses = {color: f"127.0.0.1:{ports[f'{name}/{color.value}']}" for color in Color}
    return LabApp(name, switch, addresses, initial.live, host, health or "/health")


def _parse_switch(app: str, raw: Mapping[str, Any], files: Mapping[str, str]) -> Switch:
    where = f"apps.{app}.switch"
    method = raw.get("method")
    if method == "map":
        key = _str(raw, "key", f"{where}.key", HOSTNAME)
        backends = _colors(raw, "backends", f"{where}.backends")
        return MapSwitch(files[_str(raw, "map_file", f"{where}.map_file", SAFE_PATH)], key, backends)
    if method == "servers":
        backend = _str(raw, "backend", f"{where}.backend", NAME)
        state = _optional_str(raw, "state_file", f"{where}.state_file", SAFE_PATH)
        return ServersSwitch(backend, _colors(raw, "servers", f"{where}.servers"), files[state] if state else None)
    raise _error(f"unknown switch method {method!r}", f"{where}.method", hint='use "map" or "servers"')


def _colors(raw: Mapping[str, Any], key: str, where: str) -> dict[Color, str]:
    names = raw.get(key)
    if not isinstance(names, Mapping):
        raise _error("expected an object with `blue` and `green`", where)
    return {color: _str(names, color.value, f"{where}.{color.value}", NAME) for color in Color}


def _str(raw: Mapping[str, Any], key: str, where: str, pattern: re.Pattern[str]) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise _error(f"{value!r} is not allowed here", where, hint=f"it must match {pattern.pattern}")
    return value


def _optional_str(raw: Mapping[str, Any], key: str, where: str, pattern: re.Pattern[str]) -> str | None:
    return None if raw.get(key) is None else _str(raw, key, where, pattern)


def _apps(layout: Mapping[str, Any]) -> Mapping[str, Mapping[str, Any]]:
    apps = layout.get("apps")
    if not isinstance(apps, Mapping) or not apps:
        raise _error("the layout names no apps", "apps")
    for name, entry in apps.items():
        if not NAME.fullmatch(name) or not isinstance(entry, Mapping):
            raise _error(f"app {name!r}: the name must match {NAME.pattern} and the entry be an object", f"apps.{name}")
    return apps


def _switch(entry: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    if "switch" not in entry:
        raise _error("every app needs a switch", f"apps.{name}.switch", hint='method "map" or "servers"')
    return _object(entry, "switch", f"apps.{name}.switch")


def _object(raw: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    """An optional JSON object: {} when absent."""
    value = raw.get(key, {})
    if not isinstance(value, Mapping):
        raise _error(f"expected an object, found {type(value).__name__}", where)
    return value


def _initial(initial: Mapping[str, AppInitial], name: str) -> AppInitial:
    hint = "pass AppInitial(live, {Color.BLUE: version, Color.GREEN: version}) for every app"
    if name not in initial:
        raise _error(f"no initial state for app {name!r}", f"apps.{name}", hint=hint)
    if not all(isinstance(initial[name].versions.get(color), str) for color in Color):
        raise _error(f"app {name!r}: the initial state needs a version for each color", f"apps.{name}", hint=hint)
    return initial[name]


def _base_name(path: str, app: str, key: str) -> str:
    base = PurePosixPath(path).name
    if not NAME.fullmatch(base):
        raise _error(f"{path!r} has no usable file name", f"apps.{app}.switch.{key}", hint=f"match {NAME.pattern}")
    return base


def _unique(base: str, taken: Iterable[str]) -> str:
    names = {PurePosixPath(path).name for path in taken}
    candidates = (f"{index}-{base}" if index else base for index in itertools.count())
    return next(name for name in candidates if name not in names)


def _error(message: str, field: str, *, hint: str = "") -> InputError:
    return InputError(message, hint=hint, location=Location(LAYOUT_PATH, field=field))
