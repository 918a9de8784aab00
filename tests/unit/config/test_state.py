"""The state files: good ones become the model, bad ones an InputError naming file, line and field."""

from __future__ import annotations

import functools
import json
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from bluegreen import config
from bluegreen.adapters.files import WorkingTree
from bluegreen.config import environment_rules
from bluegreen.errors import InputError, Location, Problem
from bluegreen.model import (
    AppEnvironment,
    AppStatus,
    Color,
    ColorRecord,
    Desired,
    DesiredApp,
    Endpoint,
    Environments,
    HaproxyHost,
    LockSettings,
    Probes,
    PublicEntry,
    ReleaseRecord,
    SshSettings,
    Status,
    VerifySettings,
)
from bluegreen.switching import MapSwitch, ServersSwitch

REPO = Path(__file__).resolve().parents[3]
BLUE, GREEN = Color.BLUE, Color.GREEN
ENV = "state/environments.json"
LIVE = "state/live.json"

ENVIRONMENTS = """\
{
  "haproxy": {
    "hosts": [
      {
        "name": "lb1",
        "ssh": {"host": "10.0.0.1", "port": 2022, "user": "deploy"},
        "jump": {"host": "bastion.example.test", "user": "hop"}
      },
      {
        "name": "lb2",
        "ssh": {"host": "fd00::2", "user": "deploy2"},
        "socket": "/run/haproxy/lb2.sock",
        "lock_path": "/run/lock/lb2.lock"
      }
    ],
    "socket": "/run/haproxy/admin.sock",
    "lock": {"path": "/run/lock/bluegreen.lock", "wait_s": 12}
  },
  "ssh": {
    "known_hosts": "state/known_hosts",
    "key_file": "secrets/deploy_key",
    "connect_timeout_s": 7,
    "keepalive_interval_s": 0,
    "operation_timeout_s": 4
  },
  "apps": {
    "theoshift": {
      "switch": {
        "method": "map",
        "map_file": "/etc/haproxy/apps.map",
        "key": "theoshift.example.test",
        "backends": {"blue": "theoshift_blue", "green": "theoshift_green"}
      },
      "colors": {"blue": "10.0.1.1:3001", "green": "10.0.1.2:3001"},
      "probes": {
        "health_path": "/healthz", "health_status": 204, "version_path": "/v?x=1",
        "version_field": null, "via": "ssh", "timeout_s": 2
      },
      "public": {
        "url": "http://127.0.0.1:8443/version", "host_header": "theoshift.example.test:443",
        "served_by_header": null, "via": "ssh"
      },
      "verify": {
        "healthy_probes": 2, "probe_interval_s": 0.5, "requests": 9, "window_s": 3,
        "drain_wait_s": 4, "max_new_5xx": 1, "rollback_on_failure": false,
        "standby_check_wait_s": 6, "traffic_rate": 50, "max_failed_requests": 2
      }
    },
    "ldc-tools": {
      "switch": {
        "method": "servers",
        "backend": "ldc_tools",
        "servers": {"blue": "blue", "green": "green"},
        "state_file": "/var/lib/haproxy/server-state"
      },
      "colors": {"blue": "[fd00::11]:8080", "green": "ldc-green.internal:8080"},
      "public": {"url": "http://127.0.0.1:8080/"}
    }
  }
}
"""

DESIRED = """\
{
  "apps": {
    "theoshift": {"live": "blue", "version": "2.4.1"},
    "ldc-tools": {"live": "green"}
  }
}
"""


def line_of(text: str, needle: str) -> int:
    """The 1-based line of `needle` in `text`, found without the parser under test."""
    return next(number for number, line in enumerate(text.splitlines(), 1) if needle in line)


def changed(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"{old!r} must be unique in the template"
    return text.replace(old, new)


def parse_env(text: str) -> Environments:
    return config.parse_environments(text, ENV)


# --- good documents -------------------------------------------------------------------------------------------


def test_environments_become_the_model() -> None:
    assert parse_env(ENVIRONMENTS) == Environments(
        hosts=(
            HaproxyHost(
                "lb1",
                Endpoint("10.0.0.1", 2022, "deploy"),
                "/run/haproxy/admin.sock",
                "/run/lock/bluegreen.lock",
                Endpoint("bastion.example.test", 22, "hop"),
            ),
            HaproxyHost("lb2", Endpoint("fd00::2", 22, "deploy2"), "/run/haproxy/lb2.sock", "/run/lock/lb2.lock"),
        ),
        ssh=SshSettings("state/known_hosts", "secrets/deploy_key", None, 7.0, 0.0, 4.0),
        lock=LockSettings(12.0),
        apps={
            "theoshift": AppEnvironment(
                "theoshift",
                MapSwitch(
                    "/etc/haproxy/apps.map",
                    "theoshift.example.test",
                    {BLUE: "theoshift_blue", GREEN: "theoshift_green"},
                ),
                {BLUE: "10.0.1.1:3001", GREEN: "10.0.1.2:3001"},
                Probes("/healthz", 204, "/v?x=1", None, "ssh", 2.0),
                PublicEntry("http://127.0.0.1:8443/version", "theoshift.example.test:443", None, "ssh"),
                VerifySettings(2, 0.5, 9, 3.0, 4.0, 1, False, 6.0, 50.0, 2),
            ),
            "ldc-tools": AppEnvironment(
                "ldc-tools",
                ServersSwitch("ldc_tools", {BLUE: "blue", GREEN: "green"}, "/var/lib/haproxy/server-state"),
                {BLUE: "[fd00::11]:8080", GREEN: "ldc-green.internal:8080"},
                Probes(),
                PublicEntry("http://127.0.0.1:8080/"),
                VerifySettings(),
            ),
        },
    )


def test_floats_are_floats() -> None:
    environments = parse_env(ENVIRONMENTS)
    values = (
        environments.lock.wait_s,
        environments.ssh.connect_timeout_s,
        environments.ssh.operation_timeout_s,
        environments.apps["theoshift"].verify.window_s,
        environments.apps["theoshift"].verify.standby_check_wait_s,
        environments.apps["theoshift"].verify.traffic_rate,
    )
    assert [type(value) for value in values] == [float] * 6


def test_smallest_environments_get_the_defaults() -> None:
    text = json.dumps(
        {
            "haproxy": {"hosts": [{"name": "lb", "ssh": {"host": "lb.example.test", "user": "ops"}}]},
            "ssh": {"known_hosts": "known_hosts"},
            "apps": {},
        }
    )
    assert parse_env(text) == Environments(
        (HaproxyHost("lb", Endpoint("lb.example.test", 22, "ops"), "/run/haproxy/admin.sock", "/tmp/bluegreen.lock"),),
        SshSettings("known_hosts", None, "BLUEGREEN_SSH_KEY"),
        LockSettings(),
        {},
    )


def test_desired_becomes_the_model_with_lines() -> None:
    assert config.parse_desired(DESIRED, LIVE) == Desired(
        {
            "theoshift": DesiredApp("theoshift", BLUE, "2.4.1", 3),
            "ldc-tools": DesiredApp("ldc-tools", GREEN, None, 4),
        }
    )


@pytest.mark.parametrize("version", ["2", "v2.4", "2.4.1", "2.4.1-rc.1", "2.4.1+build.7", "10.20.30-alpha+001"])
def test_good_versions(version: str) -> None:
    text = json.dumps({"apps": {"a": {"live": "blue", "version": version}}})
    assert config.parse_desired(text, LIVE).apps["a"].version == version


def test_the_repos_own_state_loads() -> None:
    state = config.load_state(WorkingTree(REPO))
    assert set(state.desired.apps) == {"theoshift", "ldc-tools"}
    assert set(state.environments.apps) == {"theoshift", "ldc-tools"}
    assert state.status.apps["theoshift"].live == ColorRecord(GREEN, "2.4.0", "127.0.0.1:3102")
    assert state.environments.ssh.known_hosts == "state/known_hosts"  # read from the same source, never resolved
    assert (state.live_path, state.environments_path, state.status_path) == (LIVE, ENV, "state/status.json")


# --- bad environments.json: hostile and mistaken values -------------------------------------------------------

HOSTILE_NAME = "theoshift; shutdown sessions server x/y"
STRICT = "checked strictly"


@pytest.mark.parametrize(
    ("old", "new", "field", "words"),
    [
        (
            '"blue": "theoshift_blue"',
            f'"blue": "{HOSTILE_NAME}"',
            "apps.theoshift.switch.backends.blue",
            "HAProxy backend",
        ),
        (
            '"green": "theoshift_green"',
            '"green": "theoshift green"',
            "apps.theoshift.switch.backends.green",
            "HAProxy backend",
        ),
        ('"backend": "ldc_tools"', '"backend": "ldc\\ntools"', "apps.ldc-tools.switch.backend", "HAProxy backend"),
        ('"servers": {"blue": "blue"', '"servers": {"blue": "%[src]"', "apps.ldc-tools.switch.servers.blue", "HAProxy"),
        ('"key": "theoshift.example.test"', '"key": "%[req.hdr(host)]"', "apps.theoshift.switch.key", "map key"),
        ('"key": "theoshift.example.test"', '"key": "Theoshift.test"', "apps.theoshift.switch.key", "lowercase"),
        (
            '"map_file": "/etc/haproxy/apps.map"',
            '"map_file": "/etc/haproxy/../shadow"',
            "apps.theoshift.switch.map_file",
            "no `..`",
        ),
        (
            '"map_file": "/etc/haproxy/apps.map"',
            '"map_file": "etc/apps.map"',
            "apps.theoshift.switch.map_file",
            "absolute",
        ),
        (
            '"map_file": "/etc/haproxy/apps.map"',
            '"map_file": "/tmp/$(id).map"',
            "apps.theoshift.switch.map_file",
            STRICT,
        ),
        (
            '"state_file": "/var/lib',
            '"state_file": "/tmp/x;rm -rf /;/var/lib',
            "apps.ldc-tools.switch.state_file",
            STRICT,
        ),
        ('"socket": "/run/haproxy/admin.sock"', '"socket": "/run/haproxy/a b"', "haproxy.socket", "absolute path"),
        ('"socket": "/run/haproxy/lb2.sock"', '"socket": "/run/haproxy/..\\nx"', "haproxy.hosts[1].socket", STRICT),
        ('"lock_path": "/run/lock/lb2.lock"', '"lock_path": "/../lock"', "haproxy.hosts[1].lock_path", "no `..`"),
        ('"path": "/run/lock/bluegreen.lock"', '"path": ".."', "haproxy.lock.path", "absolute path"),
        ('"host": "10.0.0.1"', '"host": "-oProxyCommand=id"', "haproxy.hosts[0].ssh.host", "host name or IP"),
        ('"host": "10.0.0.1"', '"host": "$(id)"', "haproxy.hosts[0].ssh.host", "host name or IP"),
        ('"host": "bastion.example.test"', '"host": "bastion example"', "haproxy.hosts[0].jump.host", "host name"),
        ('"user": "deploy"', '"user": "$(id)"', "haproxy.hosts[0].ssh.user", "user name"),
        ('"user": "deploy2"', '"user": "Root"', "haproxy.hosts[1].ssh.user", "user name"),
        ('"port": 2022', '"port": 0', "haproxy.hosts[0].ssh.port", "got 0; expected at least 1"),
        ('"port": 2022', '"port": 65536', "haproxy.hosts[0].ssh.port", "expected at most 65535"),
        ('"port": 2022', '"port": "22"', "haproxy.hosts[0].ssh.port", 'got "22"; expected a whole number'),
        ('"port": 2022', '"port": true', "haproxy.hosts[0].ssh.port", "expected a whole number"),
        ('"name": "lb1"', '"name": "lb 1"', "haproxy.hosts[0].name", "host name for messages"),
        ('"known_hosts": "state/known_hosts"', '"known_hosts": "../known_hosts"', "ssh.known_hosts", "no `..`"),
        ('"known_hosts": "state/known_hosts"', '"known_hosts": "/etc/ssh/known"', "ssh.known_hosts", "relative"),
        ('"key_file": "secrets/deploy_key"', '"key_file": "~/.ssh/id_ed25519"', "ssh.key_file", "relative"),
        ('"key_file": "secrets/deploy_key"', '"key_env": "$(id)"', "ssh.key_env", "environment variable"),
        ('"connect_timeout_s": 7', '"connect_timeout_s": 0', "ssh.connect_timeout_s", "expected more than 0"),
        ('"operation_timeout_s": 4', '"operation_timeout_s": 0', "ssh.operation_timeout_s", "expected more than 0"),
        ('"operation_timeout_s": 4', '"operation_timeout_s": 301', "ssh.operation_timeout_s", "expected at most 300"),
        ('"operation_timeout_s": 4', '"operation_timeout_s": "4"', "ssh.operation_timeout_s", "expected a number"),
        ('"wait_s": 12', '"wait_s": -1', "haproxy.lock.wait_s", "expected at least 0"),
        ('"blue": "10.0.1.1:3001"', '"blue": "10.0.1.1"', "apps.theoshift.colors.blue", "host:port"),
        ('"blue": "10.0.1.1:3001"', '"blue": "10.0.1.1:3001; id"', "apps.theoshift.colors.blue", "host:port"),
        ('"blue": "10.0.1.1:3001"', '"blue": "10.0.1.1:0"', "apps.theoshift.colors.blue", "host:port"),
        ('"blue": "[fd00::11]:8080"', '"blue": "[fd00::11]:99999"', "apps.ldc-tools.colors.blue", "host:port"),
        ('"url": "http://127.0.0.1:8080/"', '"url": "http://127.0.0.1:8080/a b"', "apps.ldc-tools.public.url", "URL"),
        ('"url": "http://127.0.0.1:8080/"', '"url": "http://x/\\r\\nHost: evil"', "apps.ldc-tools.public.url", "URL"),
        ('"url": "http://127.0.0.1:8080/"', '"url": "javascript:alert(1)"', "apps.ldc-tools.public.url", "URL"),
        ('"url": "http://127.0.0.1:8080/"', '"url": "ftp://x/"', "apps.ldc-tools.public.url", "URL"),
        (
            '"host_header": "theoshift.example.test:443"',
            '"host_header": "a\\r\\nX: y"',
            "apps.theoshift.public.host_header",
            "Host",
        ),
        ('"served_by_header": null', '"served_by_header": "X Served"', "apps.theoshift.public.served_by_header", "got"),
        (
            '"health_path": "/healthz"',
            '"health_path": "healthz"',
            "apps.theoshift.probes.health_path",
            "starting with `/`",
        ),
        ('"health_path": "/healthz"', '"health_path": "/a b"', "apps.theoshift.probes.health_path", "without spaces"),
        ('"health_status": 204', '"health_status": 99', "apps.theoshift.probes.health_status", "at least 100"),
        ('"via": "ssh", "timeout_s"', '"via": "pigeon", "timeout_s"', "apps.theoshift.probes.via", '"direct", "ssh"'),
        ('"requests": 9', '"requests": 0', "apps.theoshift.verify.requests", "at least 1"),
        (
            '"standby_check_wait_s": 6',
            '"standby_check_wait_s": 0',
            "apps.theoshift.verify.standby_check_wait_s",
            "more than 0",
        ),
        (
            '"standby_check_wait_s": 6',
            '"standby_check_wait_s": 3601',
            "apps.theoshift.verify.standby_check_wait_s",
            "at most 600",
        ),
        (
            '"standby_check_wait_s": 6',
            '"standby_check_wait_s": "10s"',
            "apps.theoshift.verify.standby_check_wait_s",
            "a number",
        ),
        ('"traffic_rate": 50', '"traffic_rate": 101', "apps.theoshift.verify.traffic_rate", "at most 100"),
        ('"traffic_rate": 50', '"traffic_rate": -1', "apps.theoshift.verify.traffic_rate", "at least 0"),
        ('"traffic_rate": 50', '"traffic_rate": "20/s"', "apps.theoshift.verify.traffic_rate", "a number"),
        (
            '"max_failed_requests": 2',
            '"max_failed_requests": -1',
            "apps.theoshift.verify.max_failed_requests",
            "at least 0",
        ),
        (
            '"max_failed_requests": 2',
            '"max_failed_requests": 0.5',
            "apps.theoshift.verify.max_failed_requests",
            "a whole number",
        ),
        (
            '"rollback_on_failure": false',
            '"rollback_on_failure": "no"',
            "apps.theoshift.verify.rollback_on_failure",
            "true or false",
        ),
        ('"method": "map"', '"method": "haproxy"', "apps.theoshift.switch.method", 'one of "map", "servers"'),
        ('"ldc-tools": {', f'"{HOSTILE_NAME}": {{', f'apps["{HOSTILE_NAME}"]', "invalid name"),
        ('"ldc-tools": {', '"ldc\\ntools": {', 'apps["ldc\\ntools"]', "invalid name"),
        ('"ldc-tools": {', '"LDC": {', "apps.LDC", "lowercase"),
        (
            '"lock_path": "/run/lock/lb2.lock"',
            '"lock_file": "/run/lock/lb2.lock"',
            "haproxy.hosts[1].lock_file",
            "unknown field",
        ),
        ('"keepalive_interval_s": 0', '"keepalive_interval_s": 0, "password": "x"', "ssh.password", "unknown"),
        # what the schema cannot say
        ('"green": "10.0.1.2:3001"', '"green": "10.0.1.1:3001"', "apps.theoshift.colors.green", "same address"),
        (
            '"green": "theoshift_green"',
            '"green": "THEOSHIFT_BLUE"',
            "apps.theoshift.switch.backends.green",
            "same backend",
        ),
        ('"green": "green"}', '"green": "blue"}', "apps.ldc-tools.switch.servers.green", "same server"),
        ('"name": "lb2"', '"name": "LB1"', "haproxy.hosts[1].name", '"LB1" is used twice'),
    ],
)
def test_bad_environments(old: str, new: str, field: str, words: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_env(changed(ENVIRONMENTS, old, new))
    error = caught.value
    assert error.location == Location(ENV, line_of(ENVIRONMENTS, old), field)
    assert words in error.message + error.hint
    assert error.hint
    assert error.problems == (Problem(error.location, error.message),)


@pytest.mark.parametrize(
    ("old", "at", "below", "field"),
    [
        ('"key": "theoshift.example.test",', '"theoshift": {', 1, "apps.theoshift.switch.key"),
        ('"method": "servers",', '"ldc-tools": {', 1, "apps.ldc-tools.switch.method"),
        ('"known_hosts": "state/known_hosts",', '"known_hosts"', -1, "ssh.known_hosts"),
        (', "user": "hop"', '"jump"', 0, "haproxy.hosts[0].jump.user"),
        (',\n      "public": {"url": "http://127.0.0.1:8080/"}', '"ldc-tools": {', 0, "apps.ldc-tools.public"),
    ],
)
def test_missing_fields_are_reported_at_their_object(old: str, at: str, below: int, field: str) -> None:
    with pytest.raises(InputError, match="missing required field") as caught:
        parse_env(changed(ENVIRONMENTS, old, ""))
    assert caught.value.location == Location(ENV, line_of(ENVIRONMENTS, at) + below, field)


def test_several_problems_name_the_first_and_count_the_others() -> None:
    text = changed(ENVIRONMENTS, '"user": "deploy2"', '"user": "$(id)"')
    text = changed(text, '"health_status": 204', '"health_status": "ok"')
    text = changed(text, '"port": 2022', '"port": -1')
    with pytest.raises(InputError) as caught:
        parse_env(text)
    error = caught.value
    assert error.message.endswith("(and 2 more problems)")
    assert [(problem.location.line, problem.location.field) for problem in error.problems] == [
        (line_of(ENVIRONMENTS, '"port": 2022'), "haproxy.hosts[0].ssh.port"),
        (line_of(ENVIRONMENTS, '"user": "deploy2"'), "haproxy.hosts[1].ssh.user"),
        (line_of(ENVIRONMENTS, '"health_status"'), "apps.theoshift.probes.health_status"),
    ]
    assert error.location == error.problems[0].location


def test_a_switch_of_the_other_method_names_every_field() -> None:
    with pytest.raises(InputError) as caught:
        parse_env(changed(ENVIRONMENTS, '"method": "servers"', '"method": "map"'))
    messages = {problem.message for problem in caught.value.problems}
    unknown = {f'unknown field "{key}"' for key in ("backend", "servers", "state_file")}
    missing = {f'missing required field "{key}"' for key in ("map_file", "key", "backends")}
    assert messages == unknown | missing
    assert caught.value.message.endswith("(and 5 more problems)")


def edited(change: Any) -> str:
    data = json.loads(ENVIRONMENTS)
    change(data)
    return json.dumps(data, indent=2)


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (lambda d: d["apps"].__setitem__("copy", d["apps"]["theoshift"]), "apps.copy.switch", "same map entry"),
        (
            lambda d: d["apps"].__setitem__("copy", d["apps"]["ldc-tools"]),
            "apps.copy.switch",
            'same backend "ldc_tools"',
        ),
        (lambda d: d["haproxy"].__setitem__("hosts", []), "haproxy.hosts", "at least 1 item"),
        (lambda d: d["haproxy"].__setitem__("hosts", d["haproxy"]["hosts"] * 9), "haproxy.hosts", "at most 16 item(s)"),
        (lambda d: d.__setitem__("extra", {}), "extra", 'unknown field "extra"'),
        (lambda d: d.pop("apps"), "apps", 'missing required field "apps"'),
    ],
)
def test_more_bad_environments(change: Any, field: str, words: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_env(edited(change))
    assert caught.value.location is not None
    assert caught.value.location.field == field
    assert words in caught.value.message


@pytest.mark.parametrize(
    "spelling",
    [
        "//etc/haproxy/apps.map",
        "/etc//haproxy/apps.map",
        "/etc/./haproxy/apps.map",
        "/./etc/haproxy/apps.map",
        "/etc/haproxy/apps.map/",
        "/etc/haproxy/apps.map/.",
        "/etc/haproxy/./apps.map/",
    ],
)
@pytest.mark.parametrize(
    "field", [("apps", "theoshift", "switch", "map_file"), ("haproxy", "socket"), ("haproxy", "lock", "path")]
)
def test_a_remote_path_has_one_spelling_only(spelling: str, field: tuple[str, ...]) -> None:
    """`//x`, `/./x`, `x/` name the same file as `/x`: the schema takes only the plain spelling, so the rule that
    two apps never switch one map entry compares like with like, and HAProxy's runtime commands get one path."""

    def respell(data: dict[str, Any]) -> None:
        *parents, last = field
        target = functools.reduce(lambda node, key: node[key], parents, data)
        target[last] = spelling

    with pytest.raises(InputError) as caught:
        parse_env(edited(respell))
    assert caught.value.location is not None
    assert caught.value.location.field == ".".join(field)
    assert "spelled one way only" in caught.value.message
    assert "no `//`" in caught.value.message


@pytest.mark.parametrize("plain", ["/etc/haproxy/apps.map", "/etc/haproxy/.apps.map", "/etc/ha...proxy/apps.map.d"])
def test_a_plain_remote_path_is_taken(plain: str) -> None:
    environments = parse_env(changed(ENVIRONMENTS, '"/etc/haproxy/apps.map"', f'"{plain}"'))
    switch = environments.apps["theoshift"].switch
    assert isinstance(switch, MapSwitch)
    assert switch.map_file == plain


@pytest.mark.parametrize(
    "spelling",
    ["/etc/haproxy/apps.map", "//etc/haproxy/apps.map", "/etc/./haproxy/apps.map", "/etc/haproxy//apps.map/"],
)
def test_two_spellings_of_one_map_file_switch_the_same_entry(spelling: str) -> None:
    """The rule's own second line, behind the schema: it compares normal paths."""
    data = json.loads(ENVIRONMENTS)
    data["apps"]["copy"] = json.loads(json.dumps(data["apps"]["theoshift"]))
    data["apps"]["copy"]["switch"]["map_file"] = spelling
    found = list(environment_rules.shared_switches(data["apps"]))
    assert found == [
        (
            ("apps", "copy", "switch"),
            'switches the same map entry "theoshift.example.test" of /etc/haproxy/apps.map as app "theoshift"',
            "each app needs its own map key or backend",
        )
    ]


def test_the_same_key_in_another_map_file_is_another_entry() -> None:
    data = json.loads(ENVIRONMENTS)
    data["apps"]["copy"] = json.loads(json.dumps(data["apps"]["theoshift"]))
    data["apps"]["copy"]["switch"]["map_file"] = "/etc/haproxy/other/apps.map"
    assert list(environment_rules.shared_switches(data["apps"])) == []


@pytest.mark.parametrize(
    ("text", "line"), [("", 1), ('{\n  "haproxy": {,\n}', 2), ("[1]", 1), ('{"ssh": 1, "ssh": 2}', 1)]
)
def test_environments_that_are_not_an_object(text: str, line: int) -> None:
    with pytest.raises(InputError) as caught:
        parse_env(text)
    assert caught.value.location is not None
    assert caught.value.location.line == line


# --- bad live.json --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "field", "words"),
    [
        ('"live": "blue"', '"live": "purple"', "apps.theoshift.live", 'got "purple"; expected one of "blue", "green"'),
        ('"live": "blue"', '"live": "Blue"', "apps.theoshift.live", 'one of "blue", "green"'),
        ('"live": "green"', '"live": null', "apps.ldc-tools.live", 'one of "blue", "green"'),
        ('"version": "2.4.1"', '"version": "2.4.1; rm -rf /"', "apps.theoshift.version", "a version such as"),
        ('"version": "2.4.1"', '"version": "latest"', "apps.theoshift.version", "a version such as"),
        ('"version": "2.4.1"', '"version": 2.4', "apps.theoshift.version", "expected a string"),
        ('"version": "2.4.1"', '"verison": "2.4.1"', "apps.theoshift.verison", "allowed here: live, version"),
        ('"ldc-tools": {', f'"{HOSTILE_NAME}": {{', f'apps["{HOSTILE_NAME}"]', "app name"),
        ('"ldc-tools": {', '"$(id)": {', 'apps["$(id)"]', "app name"),
        ('"ldc-tools": {', '"../etc": {', 'apps["../etc"]', "app name"),
        ('"live": "green"', "", "apps.ldc-tools.live", 'missing required field "live"'),
        (
            '"ldc-tools": {"live": "green"}',
            '"ldc-tools": {"live": "green", "live": "blue"}',
            "apps.ldc-tools.live",
            "duplicate",
        ),
    ],
)
def test_bad_desired(old: str, new: str, field: str, words: str) -> None:
    with pytest.raises(InputError) as caught:
        config.parse_desired(changed(DESIRED, old, new), LIVE)
    assert caught.value.location == Location(LIVE, line_of(DESIRED, old), field)
    assert words in caught.value.message + caught.value.hint


def test_check_apps_points_at_the_app_in_live_json() -> None:
    desired = config.parse_desired(changed(DESIRED, '"ldc-tools"', '"ghost"'), LIVE)
    with pytest.raises(InputError, match=r'app "ghost" is not described in environments\.json') as caught:
        config.check_apps(desired, parse_env(ENVIRONMENTS), LIVE)
    assert caught.value.location == Location(LIVE, line_of(DESIRED, "ldc-tools"), "apps.ghost")


def test_check_apps_accepts_a_subset() -> None:
    desired = config.parse_desired('{"apps": {"theoshift": {"live": "green"}}}', LIVE)
    config.check_apps(desired, parse_env(ENVIRONMENTS), LIVE)  # raises nothing
    assert set(desired.apps) <= set(parse_env(ENVIRONMENTS).apps)


# --- status.json ----------------------------------------------------------------------------------------------

RELEASE = ReleaseRecord(
    result="rolled_back",
    kind="release",
    at="2026-11-24T10:00:00Z",
    from_color=GREEN,
    to_color=BLUE,
    from_version="2.4.0",
    to_version="2.4.1",
    durations_ms={"preflight": 120.5, "switch": 8.0, "verify": 900.0, "total": 1028.5},
    switch_ms=7.25,
    hosts={"lb1": "restored", "lb2": "failed: entry not found."},
    actor="octocat",
    pr=42,
    commit="0123456789abcdef0123456789abcdef01234567",
    reason="2/5 requests reached theoshift_green",
)
FULL_STATUS = Status(
    apps={
        "theoshift": AppStatus(
            live=ColorRecord(GREEN, "2.4.0", "10.0.1.2:3001"),
            standby=ColorRecord(BLUE, None, "10.0.1.1:3001"),
            last_release=RELEASE,
            history=(RELEASE, ReleaseRecord("success", "rollback", "2026-11-23T09:00:00Z", BLUE, GREEN, None, None)),
        ),
        "ldc-tools": AppStatus(),
    },
    updated_at="2026-11-24T10:00:01Z",
)


@pytest.mark.parametrize("status", [FULL_STATUS, Status(), Status({"a": AppStatus()}, None)])
def test_dump_and_parse_round_trip(status: Status) -> None:
    text = config.dump_status(status)
    assert config.parse_status(text, "state/status.json") == status
    assert config.dump_status(config.parse_status(text, "state/status.json")) == text


def test_dump_is_stable_indented_and_ordered() -> None:
    text = config.dump_status(FULL_STATUS)
    assert text.endswith("}\n")
    assert text.splitlines()[1] == '  "apps": {'
    record = json.loads(text)["apps"]["theoshift"]["last_release"]
    assert list(record) == [
        "result", "kind", "at", "from", "to", "from_version", "to_version",
        "durations_ms", "switch_ms", "hosts", "actor", "pr", "commit", "reason",
    ]  # fmt: skip
    assert list(json.loads(text)["apps"]["theoshift"]) == ["live", "standby", "last_release", "history"]


def test_the_repos_status_round_trips() -> None:
    status = config.parse_status((REPO / "state/status.json").read_text(encoding="utf-8"), "state/status.json")
    assert config.parse_status(config.dump_status(status), "state/status.json") == status
    assert status.updated_at == "2026-11-24T00:00:00Z"


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (lambda r: r.__setitem__("result", "exploded"), "apps.theoshift.last_release.result", '"success", "noop"'),
        (lambda r: r.__setitem__("from", "red"), "apps.theoshift.last_release.from", 'one of "blue", "green"'),
        (lambda r: r.__setitem__("form", "blue"), "apps.theoshift.last_release.form", "unknown field"),
        (lambda r: r.pop("kind"), "apps.theoshift.last_release.kind", "missing required field"),
        (lambda r: r.__setitem__("pr", "42"), "apps.theoshift.last_release.pr", "a whole number or null"),
        (
            lambda r: r["durations_ms"].__setitem__("total", -1),
            "apps.theoshift.last_release.durations_ms.total",
            "at least 0",
        ),
    ],
)
def test_bad_status(change: Any, field: str, words: str) -> None:
    data = json.loads(config.dump_status(FULL_STATUS))
    change(data["apps"]["theoshift"]["last_release"])
    with pytest.raises(InputError) as caught:
        config.parse_status(json.dumps(data, indent=2), "state/status.json")
    assert caught.value.location is not None
    assert caught.value.location.field == field
    assert words in caught.value.message


def test_a_null_history_item_is_refused() -> None:
    data = json.loads(config.dump_status(FULL_STATUS))
    data["apps"]["theoshift"]["history"].append(None)
    with pytest.raises(InputError, match="expected an object") as caught:
        config.parse_status(json.dumps(data), "state/status.json")
    assert caught.value.location == Location("state/status.json", 1, "apps.theoshift.history[2]")


# --- load_state -----------------------------------------------------------------------------------------------


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "state").mkdir()
    (tmp_path / "state/live.json").write_text(DESIRED, encoding="utf-8")
    (tmp_path / "state/environments.json").write_text(ENVIRONMENTS, encoding="utf-8")
    return tmp_path


def test_a_missing_status_is_empty(repo: Path) -> None:
    state = config.load_state(WorkingTree(repo))
    assert state.status == Status()


def test_another_state_dir(repo: Path) -> None:
    shutil.copytree(repo / "state", repo / "deploy/prod")
    (repo / "deploy/prod/status.json").write_text(config.dump_status(FULL_STATUS), encoding="utf-8")
    state = config.load_state(WorkingTree(repo), "deploy/prod/")
    assert (state.live_path, state.status) == ("deploy/prod/live.json", FULL_STATUS)


@pytest.mark.parametrize(("name", "words"), [("live.json", '"live": "blue"'), ("environments.json", "HAProxy hosts")])
def test_a_missing_state_file(repo: Path, name: str, words: str) -> None:
    (repo / "state" / name).unlink()
    with pytest.raises(InputError, match=rf"state/{name} is missing") as caught:
        config.load_state(WorkingTree(repo))
    assert caught.value.location == Location(f"state/{name}")
    assert words in caught.value.hint


def test_an_unreadable_state_file(repo: Path) -> None:
    (repo / "state/status.json").write_bytes(b'{"apps": {}, "updated_at": "\xff"}')
    with pytest.raises(InputError, match=r"state/status\.json is not UTF-8 text \(line 1, byte 29\)") as caught:
        config.load_state(WorkingTree(repo))
    assert caught.value.location == Location("state/status.json", 1)


def test_a_directory_instead_of_a_file(repo: Path) -> None:
    (repo / "state/status.json").mkdir()
    with pytest.raises(InputError, match=r"state/status\.json: `state/status\.json` is a folder") as caught:
        config.load_state(WorkingTree(repo))
    assert caught.value.location == Location("state/status.json")


def test_a_byte_order_mark_is_tolerated(repo: Path) -> None:
    (repo / "state/live.json").write_text("\ufeff" + DESIRED, encoding="utf-8")
    assert config.load_state(WorkingTree(repo)).desired.apps["theoshift"].line == 3


def test_load_state_checks_apps_across_files(repo: Path) -> None:
    (repo / "state/live.json").write_text(changed(DESIRED, '"ldc-tools"', '"ghost"'), encoding="utf-8")
    with pytest.raises(InputError, match="ghost") as caught:
        config.load_state(WorkingTree(repo))
    assert caught.value.location == Location(LIVE, line_of(DESIRED, "ldc-tools"), "apps.ghost")


# --- the schemas themselves -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["live", "environments", "status"])
def test_schemas_are_valid_draft_2020_12(name: str) -> None:
    schema: Any = config.validator(name).schema
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def objects(schema: Any, inside_if: bool = False) -> Iterator[tuple[Mapping[str, Any], bool]]:
    if isinstance(schema, dict):
        if "properties" in schema:
            yield schema, inside_if
        for key, value in schema.items():
            yield from objects(value, inside_if or key == "if")
    elif isinstance(schema, list):
        for item in schema:
            yield from objects(item, inside_if)


@pytest.mark.parametrize("name", ["live", "environments", "status"])
def test_every_object_refuses_unknown_fields(name: str) -> None:
    checked = [schema for schema, inside_if in objects(config.validator(name).schema) if not inside_if]
    open_ones = [schema for schema in checked if schema.get("additionalProperties") is not False]
    assert [list(schema["properties"]) for schema in open_ones] == ([["method"]] if name == "environments" else [])


def schema_default(*path: str) -> Any:
    node: Any = config.validator("environments").schema
    for key in path:
        node = node[key]
    return node["default"]


@pytest.mark.parametrize(
    ("cls", "path"),
    [
        (Probes, ("$defs", "probes", "properties")),
        (PublicEntry, ("$defs", "public", "properties")),
        (VerifySettings, ("$defs", "verify", "properties")),
        (SshSettings, ("properties", "ssh", "properties")),
        (LockSettings, ("properties", "haproxy", "properties", "lock", "properties")),
    ],
)
def test_schema_defaults_are_the_models(cls: type, path: tuple[str, ...]) -> None:
    defaults = {f.name: f.default for f in fields(cls) if f.default not in (MISSING, None)}
    assert defaults
    for name, default in defaults.items():
        assert schema_default(*path, name) == default, name


def test_schema_defaults_are_configs() -> None:
    assert schema_default("properties", "haproxy", "properties", "socket") == config.DEFAULT_SOCKET
    assert (
        schema_default("properties", "haproxy", "properties", "lock", "properties", "path") == config.DEFAULT_LOCK_PATH
    )
    assert schema_default("$defs", "endpoint", "properties", "port") == config.DEFAULT_SSH_PORT
    assert schema_default("properties", "ssh", "properties", "key_env") == config.DEFAULT_KEY_ENV


def test_an_https_public_url_cannot_be_checked_through_ssh() -> None:
    document = json.loads((REPO / "state" / "environments.json").read_text())
    document["apps"]["theoshift"]["public"].update(url="https://theoshift.example.test/version", via="ssh")
    with pytest.raises(InputError, match="an https:// URL cannot be checked through the SSH connection") as caught:
        config.parse_environments(json.dumps(document, indent=2), "state/environments.json")
    assert caught.value.location is not None
    assert caught.value.location.field == "apps.theoshift.public.url"
    assert caught.value.location.line is not None


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("apps", "ldc-tools", "switch", "backend"), "ldc_tools\n"),
        (("haproxy", "socket"), "/run/haproxy/admin.sock\n"),
        (("apps", "theoshift", "public", "host_header"), "theoshift.example.test\n"),
        (("ssh", "known_hosts"), "state/known_hosts\n"),
    ],
)
def test_a_final_newline_that_a_schema_pattern_lets_through_is_refused(path: tuple[str, ...], value: str) -> None:
    document = json.loads((REPO / "state" / "environments.json").read_text())
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(InputError, match="contains a control character") as caught:
        config.parse_environments(json.dumps(document, indent=2), "state/environments.json")
    assert caught.value.location is not None
    assert caught.value.location.field == ".".join(path)
    assert caught.value.location.line is not None
