"""A STANDBY parked in maintenance (`disabled` in haproxy.cfg), through in-memory hosts: the plan says it will be
woken and changes nothing; the release puts it in drain, waits for HAProxy's own check, then switches; a check
that never passes puts exactly what was woken back in maintenance, and the release is refused.

Every case asserts what each host was told, in order, and the admin state each server is left in.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import Callable

import pytest

from bluegreen.core.outcome import dry_run
from bluegreen.engine.release import Effects, Request, preflight, release
from bluegreen.errors import RuntimeApiError, UnreachableError
from bluegreen.model import STEPS, AppEnvironment, Parked, VerifySettings
from bluegreen.report import outcome_json, outcome_text
from bluegreen.switching.base import ADMIN_DRAIN, ADMIN_MAINT, Change, SetServerStates, TargetState
from tests.doubles.haproxy import CONFIG_MAINT, FakeHaproxy, FakeProber, Server, disabled
from tests.unit.engine.test_release import AT, Scene
from tests.unit.engine.world import (
    BLUE,
    GREEN,
    LDC_TOOLS,
    MAP,
    NO_STATUS,
    SERVERS,
    THEOSHIFT,
    TO_BLUE,
    desired,
    environments,
    fake_hosts,
    make_app,
)

QUICK = VerifySettings(standby_check_wait_s=0.3)  # a check that never passes is given up on soon
THEOSHIFT_QUICK = make_app("theoshift", MAP, verify=QUICK)
LDC_QUICK = make_app("ldc-tools", SERVERS, verify=QUICK)
BOTH_METHODS = pytest.mark.parametrize("app", [THEOSHIFT, LDC_TOOLS], ids=["map", "servers"])
BOTH_QUICK = pytest.mark.parametrize("app", [THEOSHIFT_QUICK, LDC_QUICK], ids=["map", "servers"])


def standby_key(each: AppEnvironment) -> tuple[str, str]:
    """The (backend, server) of the app's Blue, the STANDBY the world starts with."""
    return (MAP.backends[BLUE], BLUE.value) if each.switch is MAP else (SERVERS.backend, SERVERS.servers[BLUE])


def parked_scene(each: AppEnvironment, *hosts: str, server: Server | None = None) -> Scene:
    """lb1 and lb2 route to Green; on `hosts` (both by default) Blue is written `disabled` in haproxy.cfg."""
    world_hosts = fake_hosts([each], "lb1", "lb2")
    for name in hosts or world_hosts:
        world_hosts[name].servers[standby_key(each)] = dataclasses.replace(server or disabled(check_delay=3))
    return Scene((each,), world_hosts, FakeProber(world_hosts))


def state(each: AppEnvironment, to: TargetState) -> SetServerStates:
    backend, server = standby_key(each)
    return SetServerStates(backend, ((server, to),))


def woken_then_switched(each: AppEnvironment) -> list[Change]:
    """Drain, HAProxy's check, then: a map app's STANDBY backend made ready (its backend gets traffic as soon as
    the map names it); a servers app's STANDBY made ready by the switch itself."""
    ready = [state(each, "ready")] if each.switch is MAP else []
    return [state(each, "drain"), *ready, *TO_BLUE[each.switch.method]]


def admin(world: Scene, each: AppEnvironment, host: str = "lb1") -> int:
    return world.hosts[host].servers[standby_key(each)].admin


# --- the plan -------------------------------------------------------------------------------------------------


@BOTH_METHODS
async def test_the_plan_says_drain_then_wait_then_switch_and_changes_nothing(app: AppEnvironment) -> None:
    world = parked_scene(app)
    request = Request(desired(world.apps, BLUE), environments(world.apps, world.hosts), NO_STATUS)
    plan, observation, _ = await preflight(request, world.hosts, world.prober)
    [planned] = plan.apps
    backend, server = standby_key(app)
    assert planned.action == "switch"
    assert planned.parked == (Parked("lb1", backend, server), Parked("lb2", backend, server))
    report = outcome_text(dry_run(plan, observation, AT))
    woken = rf"lb1 +STANDBY woken from maintenance first +✅ {backend}/{server} MAINT, not checked: the release puts it"
    assert re.search(woken, report)
    assert "waits up to 10 s for HAProxy's check to see it UP before the switch" in report
    assert "the release is refused with nothing changed" in report
    assert outcome_json(dry_run(plan, observation, AT))["apps"][app.name]["parked"][0] == {  # type: ignore[index]
        "host": "lb1",
        "backend": backend,
        "server": server,
    }
    assert world.changes() == {"lb1": [], "lb2": []}
    assert admin(world, app) == ADMIN_MAINT | CONFIG_MAINT


# --- the release ----------------------------------------------------------------------------------------------


@BOTH_METHODS
async def test_the_release_wakes_the_standby_waits_for_haproxys_check_then_switches(app: AppEnvironment) -> None:
    world = parked_scene(app)
    seen_at_switch: list[str] = []
    for host in world.hosts.values():  # what HAProxy shows of Blue as each step of the switch is made
        host.fail = _noting(host, app, seen_at_switch)
    outcome = await world.release()
    [done] = outcome.apps
    assert (outcome.result, done.reason) == ("success", None)
    assert world.changes() == {"lb1": woken_then_switched(app), "lb2": woken_then_switched(app)}
    assert seen_at_switch == ["checked"] * 4  # never `DRAIN 1/2`: the check had run since it left maintenance
    assert world.live(app) == {"lb1": BLUE, "lb2": BLUE}
    assert [(step.name, step.ok) for step in done.steps] == [(name, True) for name in STEPS]
    backend, server = standby_key(app)
    assert f"lb1: {backend}/{server}, lb2: {backend}/{server} woken from MAINT;" in done.steps[0].detail
    assert "wake" in done.durations_ms
    assert admin(world, app) == CONFIG_MAINT  # ready (the config's `disabled` bit stays, as HAProxy keeps it)


async def test_a_servers_switch_leaves_the_old_live_in_drain_not_in_maintenance() -> None:
    world = parked_scene(LDC_TOOLS)
    assert (await world.release()).result == "success"
    green = world.hosts["lb1"].servers[(SERVERS.backend, SERVERS.servers[GREEN])]
    assert green.admin == ADMIN_DRAIN


async def test_only_the_hosts_where_the_standby_is_in_maintenance_wake_it() -> None:
    world = parked_scene(THEOSHIFT, "lb2")
    outcome = await world.release()
    assert outcome.result == "success"
    assert world.changes() == {"lb1": list(TO_BLUE["map"]), "lb2": woken_then_switched(THEOSHIFT)}


async def test_a_release_with_nothing_parked_changes_only_what_it_did_before() -> None:
    world = parked_scene(THEOSHIFT, server=Server())  # Blue UP and checked on both hosts
    outcome = await world.release()
    assert outcome.result == "success"
    assert world.changes() == {"lb1": list(TO_BLUE["map"]), "lb2": list(TO_BLUE["map"])}
    assert "wake" not in outcome.apps[0].durations_ms


# --- the check does not pass: back to maintenance, refused ----------------------------------------------------


@BOTH_QUICK
async def test_a_check_that_never_passes_puts_the_standby_back_in_maintenance_and_refuses(app: AppEnvironment) -> None:
    world = parked_scene(app, server=disabled("DOWN", "L4CON"))
    outcome = await world.release()
    [done] = outcome.apps
    assert (outcome.result, done.result) == ("refused", "refused")
    backend, server = standby_key(app)
    assert world.changes() == {"lb1": [state(app, "drain"), state(app, "maint")]} | {
        "lb2": [state(app, "drain"), state(app, "maint")]
    }
    assert admin(world, app, "lb1") == admin(world, app, "lb2") == ADMIN_MAINT | CONFIG_MAINT
    assert world.live(app) == {"lb1": GREEN, "lb2": GREEN}
    assert done.reason == (
        "STANDBY Blue was in maintenance and HAProxy's check did not see it UP within 0.3 s: "
        f"lb1: {backend}/{server} DOWN L4CON; lb2: {backend}/{server} DOWN L4CON. "
        "It is back in maintenance on lb1, lb2; traffic never moved. To fix: HAProxy cannot connect to it: start "
        "the STANDBY's app server, or fix the server's address in haproxy.cfg"
    )
    assert done.hosts == {"lb1": "unchanged (Blue put back in maintenance)"} | {
        "lb2": "unchanged (Blue put back in maintenance)"
    }
    assert [(step.name, step.ok) for step in done.steps] == [("Verify STANDBY ready", False), ("Verify LIVE", True)]
    assert ("public", None) not in world.prober.asked  # verification never started
    assert "Release refused: nothing was changed" in outcome_text(outcome)
    assert (done.live.color if done.live else None) is GREEN  # status.json keeps Green LIVE


async def test_a_check_passing_on_one_host_only_puts_both_back() -> None:
    world = parked_scene(THEOSHIFT_QUICK, server=disabled(check_delay=1))
    world.hosts["lb2"].servers[standby_key(THEOSHIFT)] = disabled("DOWN", "L7STS")
    outcome = await world.release()
    assert outcome.result == "refused"
    back = [state(THEOSHIFT, "drain"), state(THEOSHIFT, "maint")]
    assert world.changes() == {"lb1": back, "lb2": back}
    assert "lb2: t_blue/blue DOWN L7STS" in (outcome.apps[0].reason or "")
    assert "lb1: t_blue/blue" not in (outcome.apps[0].reason or "")  # lb1's check passed
    assert "`http-check expect`" in (outcome.apps[0].reason or "")


async def test_a_check_that_never_runs_says_so() -> None:
    world = parked_scene(THEOSHIFT_QUICK, server=disabled(check_delay=1000))
    outcome = await world.release()
    reason = outcome.apps[0].reason or ""
    assert "lb1: t_blue/blue DRAIN 1/2 INI" in reason
    assert "raise verify.standby_check_wait_s" in reason


async def test_a_drain_that_haproxy_refuses_on_one_host_puts_back_only_what_was_woken() -> None:
    """HAProxy answered lb2's drain with an error: nothing changed there, so nothing is put back there either (a
    second refused command would only be a false alarm)."""
    world = parked_scene(THEOSHIFT)
    refused = RuntimeApiError("lb2: `set server t_blue/blue state drain` was refused: No such server.")
    world.hosts["lb2"].fail = lambda change: refused if change == state(THEOSHIFT, "drain") else None
    outcome = await world.release()
    [done] = outcome.apps
    assert done.result == "refused"
    assert world.changes() == {"lb1": [state(THEOSHIFT, "drain"), state(THEOSHIFT, "maint")], "lb2": []}
    assert (done.reason or "").startswith(
        "STANDBY Blue was in maintenance and waking it failed: lb2: `set server t_blue/blue state drain` was refused"
    )
    assert done.hosts == {"lb1": "unchanged (Blue put back in maintenance)", "lb2": "unchanged"}


async def test_a_standby_that_cannot_be_put_back_is_said_and_traffic_stays() -> None:
    world = parked_scene(THEOSHIFT_QUICK, server=disabled("DOWN", "L4CON"))
    lost = UnreachableError("lb2: the connection broke")
    world.hosts["lb2"].fail = lambda change: lost if change == state(THEOSHIFT, "maint") else None
    outcome = await world.release()
    [done] = outcome.apps
    assert done.result == "refused"
    assert (
        "It could NOT be put back in maintenance on lb2 (lb2: the connection broke); it is back in maintenance on lb1; "
        "traffic never moved"
    ) in (done.reason or "")
    assert done.hosts["lb2"] == "unchanged (Blue NOT put back in maintenance: lb2: the connection broke)"
    assert world.live(THEOSHIFT) == {"lb1": GREEN, "lb2": GREEN}


async def test_an_interrupt_while_waiting_puts_the_standby_back_and_switches_nothing() -> None:
    world = parked_scene(THEOSHIFT, server=disabled(check_delay=1000))
    effects = Effects(world.hosts, world.prober, world.said.append)

    def signal_on_drain(change: Change) -> None:  # SIGINT arrives while HAProxy's check has not run yet
        if change == state(THEOSHIFT, "drain"):
            effects.stop.set()

    for host in world.hosts.values():
        host.fail = signal_on_drain
    request = Request(desired(world.apps, BLUE), environments(world.apps, world.hosts), NO_STATUS)
    outcome = await asyncio.wait_for(release(request, effects, world.ledger, AT), 5)
    [done] = outcome.apps
    assert done.result == "refused"
    assert "interrupted while waiting for HAProxy's check" in (done.reason or "")
    assert world.changes() == {name: [state(THEOSHIFT, "drain"), state(THEOSHIFT, "maint")] for name in ("lb1", "lb2")}


async def test_two_apps_one_refused_by_its_check_holds_the_other_back_one_request_one_verdict() -> None:
    """Both STANDBYs are woken before either app switches; ldc-tools' is never seen UP, so theoshift's goes
    back to maintenance too and neither app switches."""
    hosts = fake_hosts([THEOSHIFT, LDC_QUICK], "lb1", "lb2")
    for host in hosts.values():
        host.servers[standby_key(LDC_TOOLS)] = disabled("DOWN", "L4CON")
        host.servers[standby_key(THEOSHIFT)] = disabled(check_delay=1)
    world = Scene((THEOSHIFT, LDC_QUICK), hosts, FakeProber(hosts))
    outcome = await world.release()
    assert [each.result for each in outcome.apps] == ["refused", "refused"]
    theoshift = outcome.apps[0]
    assert (theoshift.reason or "").startswith("held back, nothing was changed: ldc-tools was refused")
    assert "It is back in maintenance on lb1, lb2" in (theoshift.reason or "")
    assert world.live(THEOSHIFT) == {"lb1": GREEN, "lb2": GREEN}
    assert world.live(LDC_QUICK) == {"lb1": GREEN, "lb2": GREEN}
    assert {admin(world, each, host) & ADMIN_MAINT for each in (THEOSHIFT, LDC_TOOLS) for host in hosts} == {
        ADMIN_MAINT
    }
    assert outcome_text(outcome).splitlines()[0] == "⚠️ Release refused: nothing was changed"


async def test_two_apps_one_parked_one_not_the_one_not_parked_is_held_back_too() -> None:
    hosts = fake_hosts([THEOSHIFT, LDC_QUICK], "lb1", "lb2")
    for host in hosts.values():
        host.servers[standby_key(LDC_TOOLS)] = disabled("DOWN", "L4CON")
    world = Scene((THEOSHIFT, LDC_QUICK), hosts, FakeProber(hosts))
    outcome = await world.release()
    assert [each.result for each in outcome.apps] == ["refused", "refused"]
    assert outcome.apps[0].hosts == {"lb1": "unchanged", "lb2": "unchanged"}
    assert world.changes()["lb1"][:1] == [state(LDC_TOOLS, "drain")]  # only ldc-tools was touched: woken, put back
    assert world.live(THEOSHIFT) == {"lb1": GREEN, "lb2": GREEN}


def _noting(host: FakeHaproxy, each: AppEnvironment, seen: list[str]) -> Callable[[Change], None]:
    """A hook noting, at each step of the switch toward Blue, whether HAProxy's check of Blue had run since it
    left maintenance."""

    def hook(change: Change) -> None:
        if change in TO_BLUE[each.switch.method]:
            server = host.servers[standby_key(each)]
            seen.append("checked" if not server.unchecked and not server.admin & ADMIN_MAINT else f"not ({server})")

    return hook
