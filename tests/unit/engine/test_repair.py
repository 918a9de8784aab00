"""A host already on the wanted LIVE whose files would move it at the next reload: the plan says so, and the release
makes the switch again there (its persisting steps only), reads every host back, and records no history.

Every case asserts what each host was told: a repair writes files and never moves traffic.
"""

from __future__ import annotations

import re

import pytest

from bluegreen.core import history
from bluegreen.engine.release import Effects, Request, dry_run, preflight, release
from bluegreen.errors import RESULT_EXIT_CODES, UnreachableError
from bluegreen.model import AppEnvironment, AppStatus, Color, Outcome, ReleaseRecord, Status
from bluegreen.report import outcome_text
from bluegreen.switching.base import RestoreFile, SaveServerStates, SetMapEntry, SetServerStates, WriteMapEntry
from tests.doubles.haproxy import FakeHaproxy, FakeProber
from tests.doubles.ledger import FakeLedger
from tests.unit.engine.world import (
    BLUE,
    GREEN,
    LDC_TOOLS,
    MAP_FILE,
    NO_STATUS,
    STATE_FILE,
    THEOSHIFT,
    TO_BLUE,
    TO_GREEN,
    desired,
    environments,
    fake_host,
    fake_hosts,
    refusing,
)

AT = "2026-11-24T12:00:00Z"
BOTH_METHODS = pytest.mark.parametrize("app", [THEOSHIFT, LDC_TOOLS], ids=["map", "servers"])


def forgotten(host: FakeHaproxy, app: AppEnvironment) -> None:
    """What a host keeps names Green while it routes to Blue: a hand edit of the map file, or a release killed
    between `set server` and the state dump."""
    if app is THEOSHIFT:
        host.files[MAP_FILE] = "theoshift.test t_green\n"
    else:
        host.files[STATE_FILE] = fake_host(host.name, [app], GREEN).files[STATE_FILE]


async def released(
    hosts: dict[str, FakeHaproxy], *apps: AppEnvironment, to: Color = BLUE, status: Status = NO_STATUS
) -> Outcome:
    request = Request(desired(apps, to), environments(apps, hosts), status)
    return await release(request, Effects(hosts, FakeProber(hosts), lambda _: None), FakeLedger(status), AT)


@BOTH_METHODS
async def test_a_host_a_reload_would_move_is_repaired_and_no_traffic_moves(app: AppEnvironment) -> None:
    hosts = fake_hosts([app], "lb1", "lb2", live=BLUE)
    forgotten(hosts["lb1"], app)
    outcome = await released(hosts, app)
    [done] = outcome.apps
    assert (outcome.result, done.result, done.reason) == ("success", "success", None)
    assert done.plan.repair_only
    persisting = [step for step in TO_BLUE[app.switch.method] if isinstance(step, WriteMapEntry | SaveServerStates)]
    assert {name: host.changes for name, host in hosts.items()} == {"lb1": persisting, "lb2": []}
    assert {name: (host.live(app), host.kept(app)) for name, host in hosts.items()} == {
        "lb1": (BLUE, BLUE),
        "lb2": (BLUE, BLUE),
    }
    assert done.hosts == {"lb1": "repaired", "lb2": "unchanged"}
    assert [(step.name, step.ok) for step in done.steps] == [
        ("Verify STANDBY ready", True),
        ("Verify LIVE", True),
        ("Switch HAProxy traffic", True),
        ("Confirm switch", True),
        ("Update state tracking", True),
    ]
    assert done.steps[3].detail.startswith("lb1: routes to Blue, and a reload would route to Blue (the ")
    assert done.live is not None
    assert done.live.color is BLUE


async def test_the_report_says_what_a_reload_would_have_done_and_that_nothing_moved() -> None:
    hosts = fake_hosts([LDC_TOOLS], "lb1", live=BLUE)
    forgotten(hosts["lb1"], LDC_TOOLS)
    text = outcome_text(await released(hosts, LDC_TOOLS))
    assert "Repair succeeded" in text
    assert "ldc-tools: Blue already LIVE, the switch made again on lb1" in text
    assert f"lb1: a reload would route to Green (the server-state file {STATE_FILE}: ldc_tools/blue drain" in text
    assert "the switch is made again to keep it" in text
    assert "New LIVE" not in text
    assert "Nothing to do: a reload now keeps Blue on lb1." in text


async def test_a_repair_is_not_history_the_rollback_rule_reads_what_switched() -> None:
    """The last switch was Green → Blue: a revert to Green stays a rollback after the repair."""
    last = ReleaseRecord("success", "release", "2026-11-20T10:00:00Z", GREEN, BLUE, "2.4.0", "2.4.1")
    before = Status({"theoshift": AppStatus(last_release=last, history=(last,))})
    hosts = fake_hosts([THEOSHIFT], "lb1", live=BLUE)
    forgotten(hosts["lb1"], THEOSHIFT)
    after = history.record_outcome(before, await released(hosts, THEOSHIFT, status=before))
    assert (after.apps["theoshift"].last_release, after.apps["theoshift"].history) == (last, (last,))
    revert = await released(hosts, THEOSHIFT, to=GREEN, status=after)
    assert (revert.apps[0].plan.kind, revert.result) == ("rollback", "success")


async def test_a_repair_that_cannot_be_kept_is_refused_and_nothing_is_written() -> None:
    hosts = fake_hosts([THEOSHIFT], "lb1", live=BLUE)
    forgotten(hosts["lb1"], THEOSHIFT)
    hosts["lb1"].read_only.add(MAP_FILE.rsplit("/", 1)[0])
    outcome = await released(hosts, THEOSHIFT)
    assert (outcome.result, RESULT_EXIT_CODES[outcome.result]) == ("refused", 3)
    assert hosts["lb1"].changes == []
    assert "lb1: switch can be made and kept" in (outcome.apps[0].reason or "")


async def test_a_repair_that_fails_on_one_host_stands_on_the_others_and_needs_a_person() -> None:
    """Nothing is undone (no traffic moved, and the old file is what a reload would get wrong): lb2's repair stays,
    lb1 is read back still keeping Green, and the run says where to act."""
    hosts = fake_hosts([LDC_TOOLS], "lb1", "lb2", live=BLUE)
    for host in hosts.values():
        forgotten(host, LDC_TOOLS)
    hosts["lb1"].fail = lambda change: (
        UnreachableError("lb1: disk full") if isinstance(change, SaveServerStates) else None
    )
    outcome = await released(hosts, LDC_TOOLS)
    [done] = outcome.apps
    assert (done.result, RESULT_EXIT_CODES[done.result]) == ("failed", 5)
    assert done.hosts["lb2"] == "repaired"
    assert done.hosts["lb1"].startswith("failed: lb1: disk full; not repaired: a reload would route to Green")
    assert (done.reason or "").startswith("the switch could not be made again everywhere: lb1 a reload would route")
    assert (done.reason or "").endswith("; lb1: lb1: disk full")
    assert {name: (host.live(LDC_TOOLS), host.kept(LDC_TOOLS)) for name, host in hosts.items()} == {
        "lb1": (BLUE, GREEN),
        "lb2": (BLUE, BLUE),
    }
    assert not any(
        isinstance(change, SetServerStates | RestoreFile) for host in hosts.values() for change in host.changes
    )


async def test_beside_a_host_to_switch_a_host_to_repair_is_switched_with_it_and_undone_with_it() -> None:
    """lb2 already routes to Blue but keeps Green (a run killed there); lb1 fails its switch to Blue: every host
    goes back to the old LIVE, at runtime and in its files, and the hosts agree again."""
    hosts = fake_hosts([THEOSHIFT], "lb1", "lb2", live=GREEN)
    hosts["lb2"].add_map(MAP_FILE, {"theoshift.test": "t_blue"})  # its runtime on Blue, its file on Green
    hosts["lb2"].files[MAP_FILE] = "theoshift.test t_green\n"
    hosts["lb1"].fail = refusing(BLUE)
    outcome = await released(hosts, THEOSHIFT)
    [done] = outcome.apps
    assert (done.plan.hosts, done.plan.repairs, done.result) == (("lb1", "lb2"), ("lb2",), "rolled_back")
    assert hosts["lb2"].changes == [
        *TO_BLUE["map"],
        TO_GREEN["map"][1],
        RestoreFile(MAP_FILE, "theoshift.test t_green\n"),
    ]
    assert {name: (host.live(THEOSHIFT), host.kept(THEOSHIFT)) for name, host in hosts.items()} == {
        "lb1": (GREEN, GREEN),
        "lb2": (GREEN, GREEN),
    }
    assert not any(isinstance(change, SetMapEntry) and change.value == "t_blue" for change in hosts["lb1"].changes[1:])


async def test_a_repair_whose_answer_was_lost_is_judged_by_what_is_read_back() -> None:
    """The map file was written, but the connection broke before the answer: read back, the host keeps Blue."""
    hosts = fake_hosts([THEOSHIFT], "lb1", live=BLUE)
    forgotten(hosts["lb1"], THEOSHIFT)
    hosts["lb1"].lose = lambda change: UnreachableError("lb1: the connection broke")
    outcome = await released(hosts, THEOSHIFT)
    [done] = outcome.apps
    assert (done.result, done.hosts) == ("success", {"lb1": "failed: lb1: the connection broke; repaired"})
    assert hosts["lb1"].kept(THEOSHIFT) is BLUE


async def test_the_plan_says_which_hosts_a_reload_would_move_and_changes_nothing() -> None:
    hosts = fake_hosts([THEOSHIFT], "lb1", "lb2", live=BLUE)
    forgotten(hosts["lb1"], THEOSHIFT)
    request = Request(desired([THEOSHIFT], BLUE), environments([THEOSHIFT], hosts), NO_STATUS)
    plan, observation, _ = await preflight(request, hosts, FakeProber(hosts))
    text = outcome_text(dry_run(plan, observation, AT))
    assert "Plan: merging this PR will make the switch of theoshift again, so that a reload keeps it" in text
    assert "The switch is made again on lb1, so that a reload keeps it." in text
    assert f"lb1: a reload would route to Green (the map file {MAP_FILE} names t_green): the switch is made" in text
    assert re.search(r"lb1 +switch can be made and kept +✅ level admin", text), text
    assert {name: host.changes for name, host in hosts.items()} == {"lb1": [], "lb2": []}
