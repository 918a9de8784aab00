"""The switch: on each host a transaction (the method's steps in order, each undone exactly, last first); across
hosts all or none; and after a failure, every host read back and labelled with what was observed."""

from __future__ import annotations

import dataclasses

import pytest

from bluegreen.engine.switch import HostSwitch, Rollout
from bluegreen.errors import RuntimeApiError, UnreachableError
from bluegreen.model import AppEnvironment, Color
from bluegreen.switching import MapSwitch
from bluegreen.switching.base import Change, RestoreFile, SetMapEntry, WriteMapEntry
from tests.doubles.haproxy import FakeHaproxy
from tests.unit.engine.world import (
    BLUE,
    GREEN,
    LDC_TOOLS,
    MAP,
    MAP_BEFORE,
    MAP_FILE,
    STATE_BEFORE,
    STATE_FILE,
    THEOSHIFT,
    TO_BLUE,
    TO_GREEN,
    fake_host,
    fake_hosts,
    meanwhile,
    refusing,
    toward,
)

BOTH_METHODS = pytest.mark.parametrize("app", [THEOSHIFT, LDC_TOOLS], ids=["map", "servers"])


async def switch_host(host: FakeHaproxy, app: AppEnvironment, to: Color) -> float:
    """One host's transaction carried out and, if it fails, rolled back (as the rollout does), then raised."""
    switch = HostSwitch(host, app, to)
    try:
        return await switch.carry_out()
    except Exception:
        await switch.roll_back()
        raise


@BOTH_METHODS
async def test_a_host_is_switched_by_its_methods_steps_in_order(app: AppEnvironment) -> None:
    host = fake_host("lb1", [app])
    elapsed = await switch_host(host, app, BLUE)
    assert host.changes == list(TO_BLUE[app.switch.method])
    assert host.live(app) is BLUE
    assert elapsed == pytest.approx(0.1)  # the runtime command only: writing a file is not the switch


async def test_the_map_file_is_written_before_the_runtime_entry_so_a_reload_keeps_the_switch() -> None:
    host = fake_host("lb1", [THEOSHIFT])
    await switch_host(host, THEOSHIFT, BLUE)
    assert host.files[MAP_FILE] == "theoshift.test t_blue\n"


async def test_a_refused_runtime_change_puts_the_map_file_back() -> None:
    """Else a reload would quietly finish a switch that never happened."""
    host = fake_host("lb1", [THEOSHIFT])
    host.fail = refusing(BLUE)
    with pytest.raises(RuntimeApiError, match="refused the switch to Blue"):
        await switch_host(host, THEOSHIFT, BLUE)
    assert host.changes == [TO_BLUE["map"][0], RestoreFile(MAP_FILE, MAP_BEFORE)]
    assert (host.files[MAP_FILE], host.live(THEOSHIFT)) == (MAP_BEFORE, GREEN)


async def test_a_refused_line_of_server_commands_is_undone_since_haproxy_carries_on_after_an_error() -> None:
    """`set server B/blue state ready; set server B/green state drain` answered with an error may have done
    either half: its undo (both servers as they were) runs, and setting what already holds changes nothing."""
    host = fake_host("lb1", [LDC_TOOLS])
    host.fail = refusing(BLUE)
    with pytest.raises(RuntimeApiError):
        await switch_host(host, LDC_TOOLS, BLUE)
    assert host.changes == [TO_GREEN["servers"][0]]
    assert (host.live(LDC_TOOLS), host.files[STATE_FILE]) == (GREEN, STATE_BEFORE)


async def test_a_missing_map_file_stops_the_switch_before_the_runtime_change() -> None:
    host = fake_host("lb1", [THEOSHIFT])
    del host.files[MAP_FILE]
    with pytest.raises(RuntimeApiError, match="does not exist"):
        await switch_host(host, THEOSHIFT, BLUE)
    assert not any(isinstance(change, SetMapEntry) for change in host.changes)
    assert host.live(THEOSHIFT) is GREEN


# --- one host: exactly what was done is undone -----------------------------------------------------------------


async def test_a_host_whose_first_step_fails_is_unchanged_and_nothing_is_undone_there() -> None:
    """The false alarm of issue 8: a host that never changed is not "NOT restored" by retrying the failing write."""
    host = fake_host("lb1", [THEOSHIFT])
    cannot_write = UnreachableError("lb1: cannot write /etc/haproxy/apps.map: Permission denied")
    host.fail = lambda change: cannot_write if isinstance(change, WriteMapEntry) else None
    switch = HostSwitch(host, THEOSHIFT, BLUE)
    with pytest.raises(UnreachableError):
        await switch.carry_out()
    assert (switch.touched, switch.undo) == (False, [])
    assert await switch.roll_back() == ()
    assert host.changes == []


async def test_a_runtime_change_whose_answer_never_came_is_undone_too() -> None:
    """`set map` was carried out but the connection broke before the answer: it may have happened, so its undo
    is kept (setting what already holds changes nothing)."""
    host = fake_host("lb1", [THEOSHIFT])
    host.lose = lambda change: UnreachableError("lb1: the connection broke") if toward(change, BLUE) else None
    switch = HostSwitch(host, THEOSHIFT, BLUE)
    with pytest.raises(UnreachableError):
        await switch.carry_out()
    assert await switch.roll_back() == ()
    assert host.changes == [*TO_BLUE["map"], TO_GREEN["map"][1], RestoreFile(MAP_FILE, MAP_BEFORE)]
    assert (host.live(THEOSHIFT), host.files[MAP_FILE]) == (GREEN, MAP_BEFORE)


async def test_the_server_state_file_is_put_back_as_it_was_or_removed_if_it_was_new() -> None:
    host = fake_host("lb1", [LDC_TOOLS])
    del host.files[STATE_FILE]
    switch = HostSwitch(host, LDC_TOOLS, BLUE)
    await switch.carry_out()
    assert STATE_FILE in host.files
    await switch.roll_back()
    assert host.changes[2:] == [RestoreFile(STATE_FILE, None), TO_GREEN["servers"][0]]  # last step first
    assert STATE_FILE not in host.files
    host.files[STATE_FILE] = "as it was\n"
    switch = HostSwitch(host, LDC_TOOLS, BLUE)
    await switch.carry_out()
    await switch.roll_back()
    assert (host.files[STATE_FILE], host.live(LDC_TOOLS)) == ("as it was\n", GREEN)


async def test_every_undo_is_tried_and_the_ones_that_fail_are_kept() -> None:
    """Each undo moves the host toward the old LIVE: the map file goes back even when `set map` is refused."""
    host = fake_host("lb1", [THEOSHIFT])
    switch = HostSwitch(host, THEOSHIFT, BLUE)
    await switch.carry_out()
    host.fail = refusing(GREEN)
    errors = await switch.roll_back()
    assert [str(error) for error in errors] == ["HAProxy runtime API error: HAProxy refused the switch to Green"]
    assert (switch.undo, switch.left) == ([], [TO_GREEN["map"][1]])  # what could not be reverted
    assert (host.live(THEOSHIFT), host.files[MAP_FILE]) == (BLUE, MAP_BEFORE)


async def test_a_server_state_file_that_cannot_be_put_back_does_not_keep_traffic_on_the_new_color() -> None:
    host = fake_host("lb1", [LDC_TOOLS])
    switch = HostSwitch(host, LDC_TOOLS, BLUE)
    await switch.carry_out()
    host.fail = lambda change: UnreachableError("disk full") if isinstance(change, RestoreFile) else None
    assert len(await switch.roll_back()) == 1
    assert (host.live(LDC_TOOLS), switch.left) == (GREEN, [RestoreFile(STATE_FILE, STATE_BEFORE)])


# --- every host: all or none, and what was observed after --------------------------------------------------------


@BOTH_METHODS
async def test_only_the_hosts_named_are_switched_the_others_are_unchanged(app: AppEnvironment) -> None:
    hosts = fake_hosts([app], "lb1", "lb2", "lb3")
    switched = await Rollout(hosts, ["lb1", "lb2"], app, BLUE).forward()
    assert (switched.ok, switched.hosts) == (True, {"lb1": "switched", "lb2": "switched", "lb3": "unchanged"})
    assert switched.slowest_ms == pytest.approx(0.1)
    assert [hosts[name].changes for name in hosts] == [list(TO_BLUE[app.switch.method])] * 2 + [[]]


@pytest.mark.parametrize(
    ("app", "lb1_undo", "lb2_changes", "lb2_label"),
    [
        # lb2 wrote its map file, `set map` was refused: only the file is put back there.
        (THEOSHIFT, [TO_GREEN["map"][1], RestoreFile(MAP_FILE, MAP_BEFORE)], [TO_BLUE["map"][0]], "restored"),
        # lb2's line of two commands was refused: either half may have been done, so it is undone.
        (
            LDC_TOOLS,
            [RestoreFile(STATE_FILE, STATE_BEFORE), TO_GREEN["servers"][0]],
            [TO_GREEN["servers"][0]],
            "restored",
        ),
    ],
    ids=["map", "servers"],
)
async def test_one_host_failing_its_runtime_change_undoes_every_host_exactly(
    app: AppEnvironment, lb1_undo: list[Change], lb2_changes: list[Change], lb2_label: str
) -> None:
    hosts = fake_hosts([app], "lb1", "lb2")
    hosts["lb2"].fail = refusing(BLUE)
    switched = await Rollout(hosts, ["lb1", "lb2"], app, BLUE).forward()
    assert not switched.ok
    assert switched.hosts == {"lb1": "restored", "lb2": f"failed: HAProxy refused the switch to Blue; {lb2_label}"}
    assert switched.errors == ("lb2: HAProxy refused the switch to Blue",)
    assert switched.slowest_ms is None
    assert switched.all_on(GREEN)
    assert hosts["lb1"].changes == [*TO_BLUE[app.switch.method], *lb1_undo]
    assert hosts["lb2"].changes[: len(lb2_changes)] == lb2_changes
    assert [host.live(app) for host in hosts.values()] == [GREEN, GREEN]


async def test_a_host_that_cannot_be_undone_is_read_back_on_the_new_color() -> None:
    """lb2 refuses Blue, lb1 then refuses Green: lb1 is seen on Blue and the hosts disagree, which must show."""
    hosts = fake_hosts([THEOSHIFT], "lb1", "lb2")
    hosts["lb1"].fail, hosts["lb2"].fail = refusing(GREEN), refusing(BLUE)
    switched = await Rollout(hosts, ["lb1", "lb2"], THEOSHIFT, BLUE).forward()
    assert switched.hosts == {"lb1": "switched", "lb2": "failed: HAProxy refused the switch to Blue; restored"}
    assert switched.errors == (
        "lb2: HAProxy refused the switch to Blue",
        "lb1: could not undo: HAProxy refused the switch to Green",
    )
    assert (switched.back, switched.off) == (False, {"lb1": "is on Blue"})
    assert not switched.all_on(GREEN)
    assert not switched.all_on(BLUE)
    assert (hosts["lb1"].live(THEOSHIFT), hosts["lb2"].live(THEOSHIFT)) == (BLUE, GREEN)
    assert hosts["lb1"].files[MAP_FILE] == MAP_BEFORE  # its file went back: a reload would finish the undo


async def test_a_host_on_the_old_live_with_a_file_not_put_back_is_not_back() -> None:
    """Read back on Green, but its map file still names Blue: the next reload would send users to Blue. It is
    seen in the file, read back with the routing."""
    hosts = fake_hosts([THEOSHIFT], "lb1", "lb2")
    hosts["lb2"].fail = refusing(BLUE)
    hosts["lb1"].fail = lambda change: UnreachableError("lb1: disk full") if isinstance(change, RestoreFile) else None
    switched = await Rollout(hosts, ["lb1", "lb2"], THEOSHIFT, BLUE).forward()
    seen = f"a reload would route to Blue (the map file {MAP_FILE} names t_blue)"
    assert switched.hosts["lb1"] == f"restored at runtime, but {seen}"
    assert (switched.back, switched.off) == (False, {"lb1": f"is on Green, but {seen}"})
    assert switched.all_on(GREEN)
    assert hosts["lb1"].reads[-1] == (*THEOSHIFT.switch.reads(), *THEOSHIFT.switch.kept_reads())  # one batch


async def test_a_file_that_names_the_new_color_after_a_clean_undo_is_seen_and_not_back() -> None:
    """Every undo went through, yet the server-state file names Blue when read back (an operator's reload script
    dumped the state mid-switch, say): what is observed decides, not what was meant."""
    hosts = fake_hosts([LDC_TOOLS], "lb1", "lb2")
    hosts["lb2"].fail = refusing(BLUE)
    lb1 = hosts["lb1"]
    lb1.fail = meanwhile(GREEN, lambda: lb1.files.update({STATE_FILE: lb1.dump()}))  # dumped while still on Blue
    switched = await Rollout(hosts, ["lb1", "lb2"], LDC_TOOLS, BLUE).forward()
    assert lb1.live(LDC_TOOLS) is GREEN
    assert switched.hosts["lb1"].startswith("restored at runtime, but a reload would route to Blue (the server-state")
    assert (switched.back, list(switched.off)) == (False, ["lb1"])


async def test_where_the_files_cannot_be_read_back_the_undo_that_failed_still_tells() -> None:
    hosts = fake_hosts([THEOSHIFT], "lb1", "lb2")
    hosts["lb2"].fail = refusing(BLUE)
    lb1 = hosts["lb1"]

    def restore_fails(change: Change) -> Exception | None:
        if not isinstance(change, RestoreFile):
            return None
        lb1.sftp = False  # and SFTP is gone for the read back too
        return UnreachableError("lb1: cannot start SFTP")

    lb1.fail = restore_fails
    switched = await Rollout(hosts, ["lb1", "lb2"], THEOSHIFT, BLUE).forward()
    left = f"{MAP_FILE} still holds the switch's version"
    assert switched.hosts["lb1"] == f"restored at runtime, but not undone: {left}"
    assert (switched.back, switched.off) == (False, {"lb1": f"is on Green, but not undone: {left}"})


async def test_an_unreachable_host_is_read_back_as_unknown_and_the_reachable_one_goes_back() -> None:
    hosts = fake_hosts([LDC_TOOLS], "lb1", "lb2")
    hosts["lb2"].down = True
    switched = await Rollout(hosts, ["lb1", "lb2"], LDC_TOOLS, BLUE).forward()
    assert switched.hosts == {
        "lb1": "restored",
        "lb2": "failed: lb2: the connection broke; unknown (unreachable: lb2: the connection broke)",
    }
    assert hosts["lb1"].live(LDC_TOOLS) is GREEN
    assert not switched.all_on(GREEN)


@BOTH_METHODS
async def test_going_back_undoes_every_hosts_switch(app: AppEnvironment) -> None:
    hosts = fake_hosts([app], "lb1", "lb2")
    rollout = Rollout(hosts, ["lb1", "lb2"], app, BLUE)
    assert (await rollout.forward()).ok
    back = await rollout.back()
    assert (back.ok, back.hosts, back.all_on(GREEN)) == (True, {"lb1": "restored", "lb2": "restored"}, True)
    assert [host.live(app) for host in hosts.values()] == [GREEN, GREEN]
    assert [host.files.get(MAP_FILE) for host in hosts.values()] == [hosts["lb1"].files.get(MAP_FILE)] * 2


async def test_a_host_that_cannot_go_back_never_takes_the_others_to_the_color_that_failed() -> None:
    hosts = fake_hosts([THEOSHIFT], "lb1", "lb2")
    rollout = Rollout(hosts, ["lb1", "lb2"], THEOSHIFT, BLUE)
    assert (await rollout.forward()).ok
    hosts["lb2"].fail = refusing(GREEN)
    back = await rollout.back()
    assert (back.ok, back.hosts, back.off) == (False, {"lb1": "restored", "lb2": "switched"}, {"lb2": "is on Blue"})
    assert back.errors == ("lb2: could not undo: HAProxy refused the switch to Green",)
    assert [host.live(THEOSHIFT) for host in hosts.values()] == [GREEN, BLUE]


async def test_a_host_unreadable_after_going_back_is_not_back_and_the_others_stay_on_the_old_live() -> None:
    hosts = fake_hosts([THEOSHIFT], "lb1", "lb2")
    rollout = Rollout(hosts, ["lb1", "lb2"], THEOSHIFT, BLUE)
    assert (await rollout.forward()).ok
    lb2 = hosts["lb2"]
    lb2.lose = lambda change: setattr(lb2, "down", True) if isinstance(change, RestoreFile) else None
    back = await rollout.back()
    assert back.hosts == {"lb1": "restored", "lb2": "unknown (unreachable: lb2: the connection broke)"}
    assert (back.ok, back.off) == (False, {"lb2": "cannot be read"})
    assert hosts["lb1"].live(THEOSHIFT) is GREEN


@dataclasses.dataclass(frozen=True)
class Overreaching(MapSwitch):
    """A method that would write a file of its choosing: only the port's own undo may restore a file."""

    def steps(self, to: Color) -> tuple[Change, ...]:
        return (RestoreFile("/home/deploy/.ssh/authorized_keys", "ssh-ed25519 AAAA... mallory\n"),)


async def test_a_method_that_asks_to_restore_a_file_is_refused_before_any_change() -> None:
    app = dataclasses.replace(THEOSHIFT, switch=Overreaching(MAP.map_file, MAP.key, MAP.backends))
    host = fake_host("lb1", [THEOSHIFT])
    with pytest.raises(ValueError, match="asks to restore a file"):
        await switch_host(host, app, BLUE)
    assert host.changes == []
