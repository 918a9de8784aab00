"""The lab's haproxy.cfg and map file, rendered from the layout: what they must contain, that HAProxy itself
accepts them (`haproxy -c`), and that hostile names in the layout never reach them."""

from __future__ import annotations

import copy
import dataclasses
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bluegreen.config.jsonloc import dotted
from bluegreen.errors import InputError, Location
from bluegreen.model import Color
from bluegreen_lab import AppInitial
from bluegreen_lab.haproxy_config import (
    LabApp,
    disabled_servers,
    map_files,
    render_haproxy_cfg,
    render_map,
    state_files,
)
from bluegreen_lab.layout import lab_apps, layout_ports, relocate_files

HAPROXY = "/usr/sbin/haproxy"
PORTS = {"theoshift/blue": 4101, "theoshift/green": 4102, "ldc-tools/blue": 4201, "ldc-tools/green": 4202}


def apps_in(layout: dict[str, Any], initial: dict[str, AppInitial], into: Path) -> tuple[LabApp, ...]:
    return lab_apps(layout, initial, relocate_files(layout, into), PORTS)


def rendered(apps: tuple[LabApp, ...], into: Path) -> str:
    return render_haproxy_cfg(apps, frontend_port=18080, admin_socket=str(into / "admin.sock"))


def haproxy_check(apps: tuple[LabApp, ...], into: Path) -> subprocess.CompletedProcess[str]:
    for map_file in map_files(apps):
        Path(map_file).write_text(render_map(apps, map_file))
    (into / "haproxy.cfg").write_text(rendered(apps, into))
    return subprocess.run([HAPROXY, "-c", "-f", str(into / "haproxy.cfg")], capture_output=True, text=True, check=False)


@pytest.mark.parametrize(
    "needed",
    [
        "stats socket {dir}/admin.sock mode 600 level admin",
        "bind 127.0.0.1:18080",
        "http-response set-header X-Served-By %b/%s",
        "use_backend %[req.hdr(host),field(1,:),lower,map({dir}/apps.map)]",
        "default_backend bluegreen_unknown_host",
        "http-request return status 404",
        "backend theoshift_blue",
        "backend theoshift_green",
        "server blue 127.0.0.1:4101 check inter 100ms fall 2 rise 2",
        "server green 127.0.0.1:4102 check inter 100ms fall 2 rise 2",
        "option httpchk GET /health",
        "http-check expect status 200",
        "use_backend ldc_tools if { req.hdr(host),field(1,:),lower -m str ldc-tools.example.test }",
        "backend ldc_tools",
        "server-state-file {dir}/server-state",
        "load-server-state-from-file global",
        "server blue 127.0.0.1:4201 check inter 100ms fall 2 rise 2",
        "server green 127.0.0.1:4202 check inter 100ms fall 2 rise 2",
    ],
)
def test_config_contains(layout: dict[str, Any], initial: dict[str, AppInitial], tmp_path: Path, needed: str) -> None:
    assert needed.replace("{dir}", str(tmp_path)) in rendered(apps_in(layout, initial, tmp_path), tmp_path)


@pytest.mark.parametrize("forbidden", ["user ", "group ", "chroot", "daemon", "disabled"])
def test_config_runs_unprivileged_in_the_foreground(
    layout: dict[str, Any], initial: dict[str, AppInitial], tmp_path: Path, forbidden: str
) -> None:
    assert forbidden not in rendered(apps_in(layout, initial, tmp_path), tmp_path)


def test_map_file_names_the_initial_live_backend(
    layout: dict[str, Any], initial: dict[str, AppInitial], tmp_path: Path
) -> None:
    apps = apps_in(layout, initial, tmp_path)
    assert map_files(apps) == (str(tmp_path / "apps.map"),)
    assert render_map(apps, str(tmp_path / "apps.map")) == "theoshift.example.test theoshift_green\n"


def test_haproxy_accepts_the_config(layout: dict[str, Any], initial: dict[str, AppInitial], tmp_path: Path) -> None:
    checked = haproxy_check(apps_in(layout, initial, tmp_path), tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_standby_can_start_disabled(layout: dict[str, Any], initial: dict[str, AppInitial], tmp_path: Path) -> None:
    """The most common way people write a standby: `disabled` (HAProxy starts it in MAINT, and does not check it)."""
    parked = {name: dataclasses.replace(app, standby_disabled=True) for name, app in initial.items()}
    apps = apps_in(layout, parked, tmp_path)
    config = rendered(apps, tmp_path).splitlines()
    disabled = [line.strip() for line in config if line.endswith(" disabled")]
    assert disabled == [  # theoshift's STANDBY is Blue (its own backend), ldc-tools' is Green (in the one backend)
        "server blue 127.0.0.1:4101 check inter 100ms fall 2 rise 2 disabled",
        "server green 127.0.0.1:4202 check inter 100ms fall 2 rise 2 disabled",
    ]
    assert disabled_servers(apps) == {("theoshift_blue", "blue"), ("ldc_tools", "green")}
    checked = haproxy_check(apps, tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_two_map_files_and_two_state_files(
    layout: dict[str, Any], initial: dict[str, AppInitial], tmp_path: Path
) -> None:
    """Each map file gets its own guarded rule; distinct state files are loaded per backend (`local`)."""
    layout = copy.deepcopy(layout)
    layout["apps"]["shop"] = copy.deepcopy(layout["apps"]["theoshift"])
    layout["apps"]["shop"]["switch"] |= {"map_file": "/etc/haproxy/other.map", "key": "shop.example.test"}
    layout["apps"]["shop"]["switch"]["backends"] = {"blue": "shop_blue", "green": "shop_green"}
    layout["apps"]["api"] = copy.deepcopy(layout["apps"]["ldc-tools"])
    layout["apps"]["api"]["switch"] |= {"backend": "api", "state_file": "/var/lib/haproxy/api-state"}
    layout["apps"]["api"]["public"]["host_header"] = "api.example.test"
    initial = initial | {"shop": initial["theoshift"], "api": initial["ldc-tools"]}
    ports = PORTS | {"shop/blue": 4301, "shop/green": 4302, "api/blue": 4401, "api/green": 4402}
    apps = lab_apps(layout, initial, relocate_files(layout, tmp_path), ports)
    config = rendered(apps, tmp_path)
    assert len(map_files(apps)) == 2
    assert len(state_files(apps)) == 2
    assert f"map({tmp_path}/other.map) -m found" in config
    assert f"server-state-file-name {tmp_path}/api-state" in config
    assert "server-state-file " not in config
    checked = haproxy_check(apps, tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_files_with_the_same_base_name_stay_apart(layout: dict[str, Any], tmp_path: Path) -> None:
    layout = copy.deepcopy(layout)
    layout["apps"]["ldc-tools"]["switch"]["state_file"] = "/elsewhere/apps.map"
    moved = relocate_files(layout, tmp_path)
    assert moved == {
        "/tmp/bluegreen-sandbox/lb1/apps.map": str(tmp_path / "apps.map"),
        "/elsewhere/apps.map": str(tmp_path / "1-apps.map"),
    }


def test_the_layout_ports_are_known(layout: dict[str, Any]) -> None:
    assert {2222, 8080, 3101, 3102, 3201, 3202} <= layout_ports(layout)


HOSTILE = [
    ("apps.theoshift.switch.backends.blue", "x\n    listen evil"),
    ("apps.theoshift.switch.backends.green", "a b"),
    ("apps.theoshift.switch.key", "theoshift.example.test evil_backend"),
    ("apps.theoshift.switch.key", "Upper.Example.Test"),
    ("apps.theoshift.switch.map_file", "/tmp/x/#.map"),
    ("apps.theoshift.switch.map_file", "/tmp/x/.."),
    ("apps.theoshift.switch.method", "weights"),
    ("apps.theoshift.probes.health_path", "/health\nhttp-check expect status 500"),
    ("apps.theoshift.probes.health_path", "health"),
    ("apps.theoshift.probes.health_path", "/health#x"),  # a probe path config accepts, but haproxy.cfg would not
    ("apps.theoshift.switch.map_file", "//"),  # no file name to give its copy in the lab
    ("apps.ldc-tools.switch.backend", "ldc tools"),
    ("apps.ldc-tools.switch.servers.green", '"green"'),
    ("apps.ldc-tools.switch.state_file", "/tmp/a b/state"),
    ("apps.ldc-tools.public.host_header", "x } || { always_true"),
    ("apps.ldc-tools.public.host_header", None),
    ("apps.ldc-tools.switch.backend", 7),
]


@pytest.mark.parametrize(("field", "value"), HOSTILE)
def test_hostile_layout_is_refused_with_its_place(
    layout: dict[str, Any], initial: dict[str, AppInitial], tmp_path: Path, field: str, value: object
) -> None:
    *parents, last = field.split(".")
    target = layout
    for key in parents:
        target = target[key]
    target[last] = value
    with pytest.raises(InputError) as refused:
        apps_in(layout, initial, tmp_path)
    assert refused.value.location is not None
    assert refused.value.location.path == "state/environments.json"
    assert refused.value.location.field is not None
    assert refused.value.location.field == field


def test_a_servers_app_needs_a_host_header(
    layout: dict[str, Any], initial: dict[str, AppInitial], tmp_path: Path
) -> None:
    del layout["apps"]["ldc-tools"]["public"]["host_header"]
    with pytest.raises(InputError, match=r"needs public\.host_header") as refused:
        apps_in(layout, initial, tmp_path)
    assert refused.value.location == Location("state/environments.json", field="apps.ldc-tools.public.host_header")


def test_the_acl_matches_the_host_as_haproxy_fetches_it(
    layout: dict[str, Any], initial: dict[str, AppInitial], tmp_path: Path
) -> None:
    layout["apps"]["ldc-tools"]["public"]["host_header"] = "LDC-Tools.Example.Test:8080"
    assert "lower -m str ldc-tools.example.test }" in rendered(apps_in(layout, initial, tmp_path), tmp_path)


@pytest.mark.parametrize("name", ["../evil", "a b", "x\ny", "", "-leading"])
def test_hostile_app_names_are_refused(
    layout: dict[str, Any], initial: dict[str, AppInitial], tmp_path: Path, name: str
) -> None:
    layout["apps"][name] = layout["apps"].pop("theoshift")
    with pytest.raises(InputError, match="invalid name") as refused:
        apps_in(layout, initial | {name: initial["theoshift"]}, tmp_path)
    assert refused.value.location == Location("state/environments.json", field=dotted(("apps", name)))
    assert f"state/environments.json ({dotted(('apps', name))})" in str(refused.value)


def test_an_app_without_initial_state_is_refused(
    layout: dict[str, Any], initial: dict[str, AppInitial], tmp_path: Path
) -> None:
    del initial["ldc-tools"]
    with pytest.raises(InputError, match="no initial state for app 'ldc-tools'"):
        apps_in(layout, initial, tmp_path)


def test_the_initial_live_color_decides(layout: dict[str, Any], initial: dict[str, AppInitial], tmp_path: Path) -> None:
    initial["theoshift"] = AppInitial(Color.BLUE, initial["theoshift"].versions)
    apps = apps_in(layout, initial, tmp_path)
    assert render_map(apps, str(tmp_path / "apps.map")) == "theoshift.example.test theoshift_blue\n"
