"""Releases and rollbacks against the real lab: HAProxy 2.6 over real SSH, real app servers, real files."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from bluegreen.model import Color
from bluegreen_lab import Sandbox
from tests.conftest import MakeSandbox
from tests.integration.conftest import Consumer, MakeConsumer
from tests.integration.faults import Matrix

pytestmark = pytest.mark.integration

MAP_KEY = "theoshift.example.test"


def theoshift_route(lab: Sandbox, host: int = 0) -> str:
    answer = lab.runtime(f"get map {lab.environments['apps']['theoshift']['switch']['map_file']} {MAP_KEY}", host)
    return answer.split('value="')[1].split('"')[0]


def ldc_states(lab: Sandbox, host: int = 0) -> dict[str, str]:
    """ldc-tools' servers by admin state: `{"blue": "0", "green": "8"}` (0 ready, 8 drain)."""
    rows = lab.runtime("show servers state ldc_tools", host).splitlines()[2:]
    return {row.split()[3]: row.split()[6] for row in rows if row.strip()}


def served_by(lab: Sandbox, app: str) -> str:
    host = lab.environments["apps"][app]["public"]["host_header"]
    response = httpx.get(lab.public_url(app), headers={"Host": host})
    return response.headers["X-Served-By"]


def test_plan_shows_the_switch_and_changes_nothing(consumer: Consumer, sandbox: Sandbox) -> None:
    status_before = consumer.status()
    ran = consumer.run("plan")
    assert ran.code == 0, ran.err + ran.out
    assert "Green → Blue" in ran.out
    assert "Blue → Green" in ran.out
    assert theoshift_route(sandbox) == "theoshift_green"
    assert ldc_states(sandbox) == {"blue": "0", "green": "8"}
    assert consumer.status() == status_before


def test_release_switches_both_methods_and_records_what_it_saw(consumer: Consumer, sandbox: Sandbox) -> None:
    ran = consumer.run("release", "--pr", "12", "--actor", "alice")
    assert ran.code == 0, ran.err + ran.out
    assert theoshift_route(sandbox) == "theoshift_blue"
    assert ldc_states(sandbox) == {"blue": "8", "green": "0"}  # old LIVE drains, never killed
    assert served_by(sandbox, "theoshift").startswith("theoshift_blue/")
    assert served_by(sandbox, "ldc-tools") == "ldc_tools/green"
    assert "New LIVE: Blue (" in ran.out
    assert ") - v2.4.1" in ran.out
    status = consumer.status()["apps"]
    assert status["theoshift"]["live"]["color"] == "blue"
    assert status["theoshift"]["live"]["version"] == "2.4.1"
    assert status["ldc-tools"]["live"]["color"] == "green"
    release = status["theoshift"]["last_release"]
    assert (release["result"], release["kind"], release["pr"], release["actor"]) == ("success", "release", 12, "alice")
    assert release["switch_ms"] < 100


def test_a_second_release_is_a_noop(consumer: Consumer) -> None:
    assert consumer.run("release").code == 0
    history = len(consumer.status()["apps"]["theoshift"]["history"])
    ran = consumer.run("release")
    assert ran.code == 0
    assert "nothing to do" in ran.out.lower()
    assert len(consumer.status()["apps"]["theoshift"]["history"]) == history
    recorded = consumer.status()["apps"]["theoshift"]
    assert (recorded["live"]["color"], recorded["standby"]["color"]) == ("blue", "green")


def test_reverting_is_a_rollback_even_though_the_old_version_is_older(consumer: Consumer, sandbox: Sandbox) -> None:
    assert consumer.run("release", "--pr", "12").code == 0
    consumer.live(theoshift="green", ldc_tools="blue")
    ran = consumer.run("release", "--pr", "13")
    assert ran.code == 0, ran.out
    assert theoshift_route(sandbox) == "theoshift_green"
    assert ldc_states(sandbox) == {"blue": "0", "green": "8"}
    release = consumer.status()["apps"]["theoshift"]["last_release"]
    assert (release["kind"], release["to"], release["to_version"]) == ("rollback", "green", "2.4.0")
    assert "rollback" in ran.out.lower()


def both_unhealthy(lab: Sandbox, consumer: Consumer) -> None:
    for color in Color:
        lab.set_app("theoshift", color, healthy=False)


@pytest.mark.parametrize(
    ("fault_name", "prepare", "refusal"),
    [
        (
            "STANDBY unhealthy",
            lambda lab, consumer: lab.set_app("theoshift", Color.BLUE, healthy=False),
            "STANDBY healthy",
        ),
        (
            "STANDBY older than LIVE",
            lambda lab, consumer: lab.set_app("theoshift", Color.BLUE, version="2.3.0"),
            "STANDBY newer than LIVE",
        ),
        (
            "STANDBY not the pinned version",
            lambda lab, consumer: consumer.pin("theoshift", "2.5.0"),
            "STANDBY runs the pinned version",
        ),
        ("Both colors unhealthy", both_unhealthy, "LIVE responds"),
    ],
    ids=["unhealthy", "older", "not-the-pinned-version", "both-unhealthy"],
)
def test_refusals_change_nothing(
    consumer: Consumer,
    sandbox: Sandbox,
    fault: Matrix,
    fault_name: str,
    prepare: Callable[[Sandbox, Consumer], None],
    refusal: str,
) -> None:
    where = {
        "STANDBY unhealthy": "theoshift Blue (STANDBY): its health check answers 503",
        "STANDBY older than LIVE": "theoshift Blue (STANDBY) runs 2.3.0, LIVE 2.4.0",
        "STANDBY not the pinned version": "live.json pins theoshift 2.5.0; Blue (STANDBY) runs 2.4.1",
        "Both colors unhealthy": "theoshift Blue and Green: both health checks answer 503",
    }[fault_name]
    watch = fault.watch(fault_name, where, sandbox, consumer.status)
    prepare(sandbox, consumer)
    status_before = consumer.status()
    ran = consumer.run("release")
    assert ran.code == 3, ran.out
    assert refusal in ran.out
    watch.record(ran.code, ran.out, said=refusal)
    assert theoshift_route(sandbox) == "theoshift_green"
    assert ldc_states(sandbox) == {"blue": "0", "green": "8"}  # the other app waits too: one request, one verdict
    theoshift = consumer.status()["apps"]["theoshift"]
    assert theoshift["last_release"]["result"] == "refused"
    assert theoshift["history"] == []  # nothing moved: a refusal is the last word, not history
    held_back = consumer.status()["apps"]["ldc-tools"]["last_release"]
    assert held_back["result"] == "refused"
    assert "held back" in held_back["reason"]
    live_before, live_after = (s["apps"]["theoshift"]["live"] for s in (status_before, consumer.status()))
    assert (live_after["color"], live_after["version"]) == (live_before["color"], live_before["version"])


def test_the_switch_survives_an_haproxy_reload(consumer: Consumer, sandbox: Sandbox, fault: Matrix) -> None:
    where = (
        "lb1: a graceful reload (state dumped, SIGUSR2) after a release switched theoshift (map), ldc-tools (servers)"
    )
    watch = fault.watch("HAProxy reloaded after a switch", where, sandbox, consumer.status)
    ran = consumer.run("release")
    assert ran.code == 0
    sandbox.reload_haproxy()
    watch.record(ran.code, ran.out, said="New LIVE: Blue")
    assert theoshift_route(sandbox) == "theoshift_blue"
    assert ldc_states(sandbox)["green"] == "0"
    assert ldc_states(sandbox)["blue"] == "8"
    assert served_by(sandbox, "ldc-tools") == "ldc_tools/green"


def test_two_hosts_are_switched_together(make_sandbox: MakeSandbox, make_consumer: MakeConsumer) -> None:
    lab = make_sandbox(hosts=2)
    consumer = make_consumer(lab)
    ran = consumer.run("release")
    assert ran.code == 0, ran.out
    for host in (0, 1):
        assert theoshift_route(lab, host) == "theoshift_blue"
        assert ldc_states(lab, host) == {"blue": "8", "green": "0"}
    hosts = consumer.status()["apps"]["theoshift"]["last_release"]["hosts"]
    assert hosts == {"lb1": "switched", "lb2": "switched"}


def test_status_reads_the_actual_state(consumer: Consumer) -> None:
    ran = consumer.run("status", "--json")
    assert ran.code == 0, ran.err
    assert "theoshift" in ran.out
    assert "ldc-tools" in ran.out


def test_a_wrong_host_key_pin_is_refused_before_anything(consumer: Consumer, sandbox: Sandbox, fault: Matrix) -> None:
    where = "lb1: its host key is not the one pinned in state/known_hosts (a rebuilt host, or someone in between)"
    watch = fault.watch("A changed host key", where, sandbox, consumer.status)
    known_hosts = consumer.path / consumer.lab.environments["ssh"]["known_hosts"]
    line = known_hosts.read_text().split()
    known_hosts.write_text(
        f"{line[0]} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n"
    )
    ran = consumer.run("release")
    assert ran.code == 6
    assert "lb1: root@127.0.0.1" in ran.err or "lb1: " in ran.err
    assert "host key is not the one pinned in" in ran.err
    assert theoshift_route(sandbox) == "theoshift_green"
    watch.record(ran.code, ran.out + ran.err, said="host key is not the one pinned in")


def test_a_host_behind_a_jump_host(make_sandbox: MakeSandbox, make_consumer: MakeConsumer) -> None:
    lab = make_sandbox(hosts=2)
    consumer = make_consumer(lab)
    path = consumer.path / "state" / "environments.json"
    document = json.loads(path.read_text())
    lb1, lb2 = document["haproxy"]["hosts"]
    lb2["jump"] = dict(lb1["ssh"])  # lb2 is reached through lb1, whose key is pinned too
    path.write_text(json.dumps(document))
    ran = consumer.run("release", "--app", "theoshift")
    assert ran.code == 0, ran.err + ran.out
    assert [theoshift_route(lab, host) for host in (0, 1)] == ["theoshift_blue", "theoshift_blue"]


def test_bad_input_names_file_line_and_field_and_changes_nothing(consumer: Consumer, sandbox: Sandbox) -> None:
    path = consumer.path / "state" / "live.json"
    path.write_text('{\n  "apps": {\n    "theoshift": {"live": "blue; shutdown sessions server x/y"}\n  }\n}\n')
    ran = consumer.run("release")
    assert ran.code == 2
    assert "state/live.json:3 (apps.theoshift.live)" in ran.err
    assert theoshift_route(sandbox) == "theoshift_green"


def test_plan_as_json(consumer: Consumer) -> None:
    ran = consumer.run("plan", "--json")
    assert ran.code == 0, ran.err
    plan = ran.json()
    assert (plan["result"], plan["dry_run"]) == ("success", True)
    assert plan["apps"]["theoshift"]["action"] == "switch"
    assert plan["apps"]["theoshift"]["to"]["color"] == "blue"


def test_verification_through_each_hosts_ssh_connection(make_sandbox: MakeSandbox, make_consumer: MakeConsumer) -> None:
    lab = make_sandbox(hosts=2)
    consumer = make_consumer(lab)
    path = consumer.path / "state" / "environments.json"
    document = json.loads(path.read_text())
    # The requests leave from each HAProxy host, through its SSH connection (on a real pair, the URL would name
    # the host's own frontend as the host itself sees it).
    document["apps"]["theoshift"]["public"]["via"] = "ssh"
    path.write_text(json.dumps(document))
    ran = consumer.run("release", "--app", "theoshift")
    assert ran.code == 0, ran.err + ran.out
    assert "10/10 requests through the public entry" in ran.out  # 5 through each of the 2 hosts


def test_an_unknown_app_is_an_input_error(consumer: Consumer, sandbox: Sandbox) -> None:
    ran = consumer.run("release", "--app", "theoshfit")
    assert ran.code == 2
    assert "no app named 'theoshfit'" in ran.err
    assert "theoshift" in ran.err  # the hint lists the apps there are
