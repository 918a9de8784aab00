"""The state files, read and checked: every problem is an InputError that names the file, the line and the field.

    state/live.json          what is wanted (model.Desired)         schemas/live.schema.json
    state/environments.json  how to reach things (model.Environments) schemas/environments.schema.json
    state/status.json        what the last run did (model.Status)    schemas/status.schema.json

Each file is parsed with line numbers (jsonloc), checked against its JSON Schema, then (environments.json)
against the rules a schema cannot say, and only then turned into the model's dataclasses.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from jsonschema import Draft202012Validator

from bluegreen import switching
from bluegreen.config import environment_rules, jsonloc, paths, status_file
from bluegreen.config.jsonloc import Document, Finding, JsonPath, show
from bluegreen.config.sources import Source
from bluegreen.errors import InputError, Location
from bluegreen.model import (
    AppEnvironment,
    Color,
    Desired,
    DesiredApp,
    Endpoint,
    Environments,
    HaproxyHost,
    LockSettings,
    Probes,
    PublicEntry,
    SshSettings,
    Status,
    VerifySettings,
)
from bluegreen.switching.base import color_pair

# defaults the model's dataclasses do not hold; the schemas document the same values (a test keeps them equal)
DEFAULT_SOCKET = "/run/haproxy/admin.sock"
DEFAULT_LOCK_PATH = "/tmp/bluegreen.lock"  # noqa: S108 - a path on the HAProxy host, flock(1)ed, never written
DEFAULT_SSH_PORT = 22
DEFAULT_KEY_ENV = "BLUEGREEN_SSH_KEY"

_MISSING_HINTS = {
    "live.json": 'create it, e.g. {"apps": {"myapp": {"live": "blue", "version": "1.2.3"}}}',
    "environments.json": "create it: it says how to reach the HAProxy hosts and how each app is switched",
}


@dataclass(frozen=True)
class State:
    """The three state files of a repository, checked, with their paths as the user knows them."""

    desired: Desired
    environments: Environments
    status: Status
    live_path: str
    environments_path: str
    status_path: str


def state_paths(state_dir: str) -> tuple[str, str, str]:
    """live.json, environments.json and status.json in `state_dir`, a folder inside the repository."""
    folder = paths.repo_path(state_dir, "the state folder", Location("state_dir", field="state_dir"))
    live, environments, status = (f"{folder}/{name}" for name in ("live.json", "environments.json", "status.json"))
    return live, environments, status


def load_state(source: Source, state_dir: str = "state", *, with_status: bool = True) -> State:
    """Read `<state_dir>/{live,environments,status}.json` from `source`; a missing status.json is an empty Status
    (and so is one not read: `with_status=False`)."""
    live_path, environments_path, status_path = state_paths(state_dir)
    desired = parse_desired(_read_required(source, live_path), source.display(live_path))
    environments = parse_environments(_read_required(source, environments_path), source.display(environments_path))
    status = load_status(source, status_path) if with_status else Status()
    check_apps(desired, environments, source.display(live_path))
    return State(desired, environments, status, live_path, environments_path, status_path)


def load_status(source: Source, status_path: str) -> Status:
    text = source.read(status_path)
    return Status() if text is None else parse_status(text, source.display(status_path))


def check_apps(desired: Desired, environments: Environments, display: str) -> None:
    """Every app in live.json must be described in environments.json; errors point at live.json."""
    jsonloc.raise_findings(
        Finding(
            Location(display, app.line, jsonloc.dotted(("apps", name))),
            f"app {show(name)} is not described in environments.json",
            "add it under `apps` in environments.json, or fix the name's spelling here",
        )
        for name, app in desired.apps.items()
        if name not in environments.apps
    )


# --- live.json ------------------------------------------------------------------------------------------------


def parse_desired(text: str, display: str) -> Desired:
    doc = checked(text, display, "live")
    apps: Mapping[str, Any] = _data(doc)["apps"]
    return Desired({name: _desired_app(name, app, doc) for name, app in apps.items()})


def _desired_app(name: str, app: Mapping[str, Any], doc: Document) -> DesiredApp:
    return DesiredApp(name, Color(app["live"]), app.get("version"), doc.line(("apps", name)))


# --- environments.json ----------------------------------------------------------------------------------------


def parse_environments(text: str, display: str) -> Environments:
    """Paths in the repository (known_hosts, key_file) stay relative to it: they are read from the same source."""
    return _environments(checked(text, display, "environments"), display)


def environments_from(data: Mapping[str, Any], display: str) -> Environments:
    """The same checks for environments.json's JSON values already in memory: problems name the field, no line."""
    return _environments(_valid(Document(dict(data), {}), display, "environments"), display)


def _environments(doc: Document, display: str) -> Environments:
    data = _data(doc)
    jsonloc.raise_findings(environment_rules.findings(data, doc, display))
    haproxy = data["haproxy"]
    return Environments(
        hosts=tuple(_host(host, haproxy) for host in haproxy["hosts"]),
        ssh=_ssh(data["ssh"]),
        lock=LockSettings(**_floats(haproxy.get("lock", {}), "wait_s")),
        apps={name: _app(name, app) for name, app in data["apps"].items()},
    )


def _host(host: Mapping[str, Any], haproxy: Mapping[str, Any]) -> HaproxyHost:
    return HaproxyHost(
        name=host["name"],
        ssh=_endpoint(host["ssh"]),
        socket=host.get("socket", haproxy.get("socket", DEFAULT_SOCKET)),
        lock_path=host.get("lock_path", haproxy.get("lock", {}).get("path", DEFAULT_LOCK_PATH)),
        jump=_endpoint(host["jump"]) if "jump" in host else None,
    )


def _endpoint(endpoint: Mapping[str, Any]) -> Endpoint:
    return Endpoint(endpoint["host"], int(endpoint.get("port", DEFAULT_SSH_PORT)), endpoint["user"])


def _ssh(ssh: Mapping[str, Any]) -> SshSettings:
    key_file = ssh.get("key_file")
    return SshSettings(
        known_hosts=ssh["known_hosts"],
        key_file=key_file or None,
        key_env=ssh.get("key_env", None if key_file else DEFAULT_KEY_ENV),
        **_floats(ssh, "connect_timeout_s", "keepalive_interval_s", "operation_timeout_s"),
    )


def _app(name: str, app: Mapping[str, Any]) -> AppEnvironment:
    probes, verify = app.get("probes", {}), app.get("verify", {})
    return AppEnvironment(
        name=name,
        switch=switching.from_json(app["switch"]),
        addresses=color_pair(app["colors"]),
        probes=Probes(**{**probes, **_floats(probes, "timeout_s"), **_ints(probes, "health_status")}),
        public=PublicEntry(**app["public"]),
        verify=VerifySettings(
            **{
                **verify,
                **_floats(
                    verify, "probe_interval_s", "window_s", "drain_wait_s", "standby_check_wait_s", "traffic_rate"
                ),
                **_ints(verify, "healthy_probes", "requests", "max_new_5xx", "max_failed_requests"),
            }
        ),
    )


# The schema's numbers end here as the model's types: JSON Schema calls 5.0 an integer, and `range(5.0)` is a
# TypeError in the middle of a release. A test generates documents from the schemas to keep every field covered.


def _floats(data: Mapping[str, Any], *names: str) -> dict[str, float]:
    return {name: float(data[name]) for name in names if name in data}


def _ints(data: Mapping[str, Any], *names: str) -> dict[str, int]:
    return {name: int(data[name]) for name in names if name in data}


# --- status.json ----------------------------------------------------------------------------------------------


def parse_status(text: str, display: str) -> Status:
    return status_file.status_from_json(_data(checked(text, display, "status")))


def recorded_value_problem(kind: str, value: object) -> str | None:
    """Why `value` cannot be recorded in status.json as `kind` (`actor`, `pr`, `commit`), in the schema's words;
    None when it can. The command line checks its arguments with this, so nothing it records can make status.json
    unreadable for the next run."""
    return _value_problem("status", kind, value)


def desired_value_problem(kind: str, value: object) -> str | None:
    """Why `value` cannot stand in live.json as `kind` (`version`, `appName`), in the schema's words; None when it
    can. What an app server reports is checked with this before the rollback record pins it."""
    return _value_problem("live", kind, value)


def _value_problem(name: str, kind: str, value: object) -> str | None:
    schema = _schema(name)
    check = Draft202012Validator({"$defs": schema["$defs"], "$ref": f"#/$defs/{kind}"})
    # a pattern ending in `$` lets a final newline through: control characters are refused as the files' are
    if check.is_valid(value) and not (isinstance(value, str) and not value.isprintable()):
        return None
    return f"got {show(value)}; expected {schema['$defs'][kind]['description']}"


# --- files and schemas ----------------------------------------------------------------------------------------


def _read_required(source: Source, path: str) -> str:
    text = source.read(path)
    if text is None:
        hint = _MISSING_HINTS[path.rsplit("/", 1)[-1]]
        display = source.display(path)
        raise InputError(f"{display} is missing", hint=hint, location=Location(display))
    return text


def checked(text: str, display: str, schema: str) -> Document:
    """`text` parsed with line numbers and checked against schemas/`schema`.schema.json, or an InputError."""
    return _valid(jsonloc.parse(text, display), display, schema)


def _valid(doc: Document, display: str, schema: str) -> Document:
    jsonloc.raise_findings(jsonloc.schema_findings(doc, validator(schema), display))
    # Then control characters anywhere: a JSON Schema `pattern` ending in `$` lets a final newline through.
    jsonloc.raise_findings(_control_characters(doc, display))
    return doc


def _control_characters(doc: Document, display: str) -> list[Finding]:
    found = []
    for path, text in _strings(doc.value, ()):
        if any(ord(char) < 0x20 or ord(char) == 0x7F for char in text):
            hint = "remove the newline, tab or other control character: no value here may contain one"
            where = Location(display, doc.line(path), jsonloc.dotted(path))
            found.append(Finding(where, f"{show(text)} contains a control character", hint))
    return found


def _strings(value: Any, path: JsonPath) -> Iterator[tuple[JsonPath, str]]:
    """Every string in a JSON value, keys included, with its path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key, (*path, key))
            yield from _strings(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, index))


def _data(doc: Document) -> Any:  # the schema has checked the shape
    return doc.value


@functools.cache
def validator(name: str) -> Draft202012Validator:
    """The validator for `name`.schema.json (live, environments, status, event), shipped in bluegreen/config/schemas."""
    return Draft202012Validator(_schema(name))


@functools.cache
def _schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(
        (files("bluegreen.config") / "schemas" / f"{name}.schema.json").read_text(encoding="utf-8")
    )
    return schema
