"""A STANDBY written `disabled` in haproxy.cfg, against the real lab: HAProxy 2.6 holds it in MAINT and does not
check it. The plan says so and changes nothing; the release puts it in drain, waits for HAProxy's own check, then
switches, with established connections untouched; when the check does not pass, exactly the servers woken go back
to MAINT on every host and the release is refused (exit 3), with what HAProxy's check said and what to fix."""

from __future__ import annotations

import dataclasses
import http.client
import re
import threading
from collections.abc import Mapping

import httpx
import pytest

from bluegreen.errors import RESULT_EXIT_CODES
from bluegreen.model import Color
from bluegreen_lab import AppInitial, Sandbox
from tests.conftest import MakeSandbox
from tests.integration.conftest import MakeConsumer
from tests.integration.faults import Matrix
from tests.integration.load import Load
from tests.integration.test_failures import Faulty, edit_environments, release_with
from tests.integration.test_release import theoshift_route

pytestmark = pytest.mark.integration

HOSTS = (0, 1)
STANDBYS = {"theoshift": ("theoshift_blue", "blue"), "ldc-tools": ("ldc_tools", "green")}  # as the lab starts
CONFIG_DISABLED, FORCED_MAINT = 0x04, 0x01


def disabled_standbys(initial: Mapping[str, AppInitial]) -> dict[str, AppInitial]:
    return {name: dataclasses.replace(app, standby_disabled=True) for name, app in initial.items()}


def stat(lab: Sandbox, backend: str, server: str, host: int = 0) -> tuple[str, str]:
    """HAProxy's `status` and `check_status` of one server (the last check's result: `* L7OK`, a check under way
    whose last result was L7OK, reads `L7OK`)."""
    rows = lab.runtime("show stat -1 4 -1", host).splitlines()
    header = rows[0].removeprefix("# ").split(",")
    for line in rows[1:]:
        row = dict(zip(header, line.split(","), strict=False))
        if (row["pxname"], row["svname"]) == (backend, server):
            return row["status"], row["check_status"].removeprefix("* ")
    raise AssertionError(f"no {backend}/{server} in show stat")


def admin_state(lab: Sandbox, backend: str, server: str, host: int = 0) -> int:
    rows = lab.runtime(f"show servers state {backend}", host).splitlines()[2:]
    [state] = [int(row.split()[6]) for row in rows if row.strip() and row.split()[3] == server]
    return state


def in_maintenance(lab: Sandbox, app: str, host: int) -> bool:
    backend, server = STANDBYS[app]
    return stat(lab, backend, server, host)[0] == "MAINT" and bool(
        admin_state(lab, backend, server, host) & FORCED_MAINT
    )


def served_by(lab: Sandbox, app: str, host: int = 0) -> str:
    """Who answers a request through that host's public entry (X-Served-By)."""
    headers = {"Host": lab.environments["apps"][app]["public"]["host_header"]}
    return httpx.get(lab.public_url(app, host), headers=headers).headers["X-Served-By"]


@pytest.fixture
def parked(make_sandbox: MakeSandbox, initial: dict[str, AppInitial]) -> Sandbox:
    """Two HAProxy hosts; each app's STANDBY (theoshift Blue, ldc-tools Green) written `disabled`."""
    return make_sandbox(hosts=2, initial=disabled_standbys(initial))


def test_the_lab_starts_a_disabled_standby_in_maint_unchecked(parked: Sandbox) -> None:
    for host in HOSTS:
        assert stat(parked, "theoshift_blue", "blue", host) == ("MAINT", "")
        assert stat(parked, "ldc_tools", "green", host) == ("MAINT", "")
        assert admin_state(parked, "ldc_tools", "green", host) == CONFIG_DISABLED | FORCED_MAINT
        assert stat(parked, "ldc_tools", "blue", host) == ("UP", "L7OK")


def test_the_plan_says_it_wakes_the_standby_first_and_changes_nothing(
    parked: Sandbox, make_consumer: MakeConsumer
) -> None:
    consumer = make_consumer(parked)
    ran = consumer.run("plan")
    assert ran.code == 0, ran.err + ran.out
    assert "✅ Plan: merging this PR will switch theoshift, ldc-tools" in ran.out
    for host in ("lb1", "lb2"):
        for server in ("theoshift_blue/blue", "ldc_tools/green"):  # the plan's checks, host by host
            assert re.search(rf"{host} +STANDBY woken from maintenance first +✅ {server} MAINT, not checked", ran.out)
    assert "puts it in drain (no traffic, health checks run) and waits up to 10 s for HAProxy's check" in ran.out
    assert "take that out once Blue is LIVE: this switch keeps no server state" in ran.out  # theoshift: `map`
    assert all(in_maintenance(parked, app, host) for app in STANDBYS for host in HOSTS)
    assert [theoshift_route(parked, host) for host in HOSTS] == ["theoshift_green", "theoshift_green"]


def test_the_release_wakes_waits_and_switches_both_methods_without_touching_established_connections(
    parked: Sandbox, make_consumer: MakeConsumer, fault: Matrix
) -> None:
    consumer = make_consumer(parked)
    where = "haproxy.cfg: both apps' STANDBY servers written `disabled`, on both hosts"
    watch = fault.watch("A STANDBY parked in maintenance", where, parked, consumer.status)
    held = {app: KeptAlive(parked, app) for app in STANDBYS}  # connections opened before the release
    before = {app: conn.get() for app, conn in held.items()}
    load = Load(parked)
    threads = [threading.Thread(target=load.client, args=(app,)) for app in STANDBYS for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        ran = consumer.run("release")
    finally:
        load.stop.set()
        for thread in threads:
            thread.join()
    assert ran.code == 0, ran.err + ran.out
    assert "woken from MAINT; HAProxy's check sees it UP after" in ran.out
    for host in HOSTS:
        assert theoshift_route(parked, host) == "theoshift_blue"
        assert stat(parked, "theoshift_blue", "blue", host) == ("UP", "L7OK")
        assert stat(parked, "ldc_tools", "green", host) == ("UP", "L7OK")  # ready (the config bit stays)
        assert admin_state(parked, "ldc_tools", "blue", host) == 0x08  # the old LIVE drains, as ever
    assert served_by(parked, "theoshift").startswith("theoshift_blue/")
    assert served_by(parked, "ldc-tools") == "ldc_tools/green"
    assert load.failures == []
    assert {"ldc_tools/blue", "ldc_tools/green"} <= set(load.served)  # the load ran across the switch
    assert before == {"theoshift": "theoshift_green/green", "ldc-tools": "ldc_tools/blue"}
    after = {app: conn.get() for app, conn in held.items()}  # the same connections, still open, now on the new LIVE
    assert after == {"theoshift": "theoshift_blue/blue", "ldc-tools": "ldc_tools/green"}
    assert all(conn.same_socket() for conn in held.values())
    assert consumer.status()["apps"]["theoshift"]["last_release"]["result"] == "success"
    watch.record(ran.code, ran.out, said="woken from MAINT")


def test_a_check_haproxy_does_not_pass_puts_the_standby_back_in_maint_on_every_host_and_refuses(
    parked: Sandbox, make_consumer: MakeConsumer, fault: Matrix
) -> None:
    """bluegreen's own probes pass (they ask /version), HAProxy's check (`GET /health`) answers 503: the
    STANDBY is woken, never seen UP by HAProxy, and goes back to MAINT; nothing else changes."""
    consumer = make_consumer(parked)

    def probe_version_and_wait_briefly(document: dict[str, object]) -> None:
        for app in STANDBYS:
            entry = document["apps"][app]  # type: ignore[index]
            entry.setdefault("probes", {})["health_path"] = "/version"
            entry.setdefault("verify", {})["standby_check_wait_s"] = 1

    edit_environments(consumer, probe_version_and_wait_briefly)
    parked.set_app("theoshift", Color.BLUE, healthy=False)
    parked.set_app("ldc-tools", Color.GREEN, healthy=False)
    status_before = consumer.status()
    where = "both STANDBYs `disabled`; their app servers answer HAProxy's check (`/health`) 503, bluegreen's own 200"
    watch = fault.watch("A STANDBY in maintenance that HAProxy's check never sees UP", where, parked, consumer.status)
    ran = consumer.run("release")
    watch.record(ran.code, ran.out, said="back in maintenance")
    assert ran.code == 3, ran.err + ran.out
    assert "Release refused: nothing was changed" in ran.out
    assert "HAProxy's check did not see it UP within 1 s: lb1: theoshift_blue/blue DOWN L7STS" in ran.out
    assert "lb2: ldc_tools/green DOWN L7STS" in ran.out
    assert "It is back in maintenance on lb1, lb2; traffic never moved" in ran.out
    assert "To fix: the app answers HAProxy's check with a wrong status" in ran.out
    assert all(in_maintenance(parked, app, host) for app in STANDBYS for host in HOSTS)
    assert [theoshift_route(parked, host) for host in HOSTS] == ["theoshift_green", "theoshift_green"]
    assert [admin_state(parked, "ldc_tools", "blue", host) for host in HOSTS] == [0, 0]  # LIVE, untouched
    assert served_by(parked, "theoshift").startswith("theoshift_green/")
    assert served_by(parked, "ldc-tools") == "ldc_tools/blue"
    status = consumer.status()["apps"]
    assert status["theoshift"]["last_release"]["result"] == "refused"
    assert status["theoshift"]["history"] == status_before["apps"]["theoshift"]["history"] == []
    assert status["theoshift"]["live"]["color"] == "green"


@pytest.mark.parametrize("app", ["theoshift", "ldc-tools"], ids=["map", "servers"])
def test_a_standby_app_server_that_goes_down_as_it_is_woken_is_refused_with_haproxys_l4con(
    parked: Sandbox, make_consumer: MakeConsumer, app: str
) -> None:
    """The app server passed the pre-flight, then dies as its server leaves maintenance: HAProxy cannot connect."""
    consumer = make_consumer(parked)
    edit_environments(
        consumer, lambda document: document["apps"][app].setdefault("verify", {}).update(standby_check_wait_s=1)
    )
    color = Color.BLUE if app == "theoshift" else Color.GREEN

    def crash() -> None:
        parked.stop_app(app, color)

    wrap = lambda s: {"lb1": Faulty(s["lb1"], "state drain", after=crash), "lb2": s["lb2"]}  # noqa: E731
    outcome = release_with(consumer, wrap, (app,))
    [done] = outcome.apps
    assert (done.result, RESULT_EXIT_CODES[outcome.result]) == ("refused", 3)
    backend, server = STANDBYS[app]
    assert f"lb1: {backend}/{server} DOWN L4CON; lb2: {backend}/{server} DOWN L4CON" in (done.reason or "")
    assert "start the STANDBY's app server" in (done.reason or "")
    put_back = f"unchanged ({color.title} put back in maintenance)"
    assert done.hosts == {"lb1": put_back, "lb2": put_back}
    assert [in_maintenance(parked, app, host) for host in HOSTS] == [True, True]
    served = "theoshift_green/green" if app == "theoshift" else "ldc_tools/blue"
    assert [served_by(parked, app, host) for host in HOSTS] == [served, served]


def test_a_standby_app_server_down_before_the_release_is_refused_without_waking_anything(
    parked: Sandbox, make_consumer: MakeConsumer
) -> None:
    """bluegreen's own probes see it first: the pre-flight refuses, no server ever leaves maintenance."""
    consumer = make_consumer(parked)
    parked.stop_app("theoshift", Color.BLUE)
    ran = consumer.run("release")
    assert ran.code == 3, ran.err + ran.out
    assert "STANDBY healthy: 0/3 health probes passed" in ran.out
    assert "woken from MAINT" not in ran.out
    assert all(in_maintenance(parked, app, host) for app in STANDBYS for host in HOSTS)
    assert [admin_state(parked, "theoshift_blue", "blue", host) for host in HOSTS] == [0x05, 0x05]  # never drained
    assert [theoshift_route(parked, host) for host in HOSTS] == ["theoshift_green", "theoshift_green"]


class KeptAlive:
    """One keep-alive connection to the public entry, opened before the release and kept across it."""

    def __init__(self, lab: Sandbox, app: str) -> None:
        self.lab, self.app = lab, app
        self.host = lab.environments["apps"][app]["public"]["host_header"]
        self.conn = http.client.HTTPConnection("127.0.0.1", lab.frontend_port(), timeout=5)
        self.sock: object = None

    def get(self) -> str:
        """Who served one request on this connection."""
        path = self.lab.public_url(self.app).split(str(self.lab.frontend_port()), 1)[1]
        self.conn.request("GET", path, headers={"Host": self.host})
        response = self.conn.getresponse()
        response.read()
        assert response.status == 200, response.status
        self.sock = self.sock or self.conn.sock
        return response.headers["X-Served-By"]

    def same_socket(self) -> bool:
        return self.conn.sock is self.sock
