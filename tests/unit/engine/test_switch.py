"""The switch: a method's steps carried out on each host, in order; what a host persisted is put back when its
runtime change fails; and across hosts, all or none."""

from __future__ import annotations

import dataclasses

import pytest

from bluegreen.engine.switch import switch_all, switch_host
from bluegreen.errors import RuntimeApiError
from bluegreen.model import AppEnvironment, Color
from bluegreen.switching import MapSwitch
from bluegreen.switching.base import Change, RestoreFile, SetMapEntry
from tests.unit.engine.world import (
    BLUE,
    GREEN,
    LDC_TOOLS,
    MAP,
    MAP_BEFORE,
    MAP_FILE,
    STATE_FILE,
    THEOSHIFT,
    TO_BLUE,
    TO_GREEN,
    fake_host,
    fake_hosts,
    refusing,
)

BOTH_METHODS = pytest.mark.parametrize("app", [THEOSHIFT, LDC_TOOLS], ids=["map", "servers"])


# --- one host -------------------------------------------------------------------------------------------------


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


async def test_a_refused_runtime_change_of_servers_has_nothing_to_put_back() -> None:
    host = fake_host("lb1", [LDC_TOOLS])
    host.fail = refusing(BLUE)
    with pytest.raises(RuntimeApiError):
        await switch_host(host, LDC_TOOLS, BLUE)
    assert host.changes == []
    assert STATE_FILE not in host.files


async def test_a_missing_map_file_stops_the_switch_before_the_runtime_change() -> None:
    host = fake_host("lb1", [THEOSHIFT])
    del host.files[MAP_FILE]
    with pytest.raises(RuntimeApiError, match="does not exist"):
        await switch_host(host, THEOSHIFT, BLUE)
    assert not any(isinstance(change, SetMapEntry) for change in host.changes)
    assert host.live(THEOSHIFT) is GREEN


# --- every host: all or none ----------------------------------------------------------------------------------


@BOTH_METHODS
async def test_only_the_hosts_named_are_switched_the_others_are_unchanged(app: AppEnvironment) -> None:
    hosts = fake_hosts([app], "lb1", "lb2", "lb3")
    switched = await switch_all(hosts, ["lb1", "lb2"], app, BLUE)
    assert (switched.ok, switched.hosts) == (True, {"lb1": "switched", "lb2": "switched", "lb3": "unchanged"})
    assert switched.slowest_ms == pytest.approx(0.1)
    assert [hosts[name].changes for name in hosts] == [list(TO_BLUE[app.switch.method])] * 2 + [[]]


@pytest.mark.parametrize(
    ("app", "lb2_changes"),
    [
        # lb2 wrote its map file, `set map` was refused: the file is put back, then lb2 too goes to Green.
        (THEOSHIFT, [TO_BLUE["map"][0], RestoreFile(MAP_FILE, MAP_BEFORE), *TO_GREEN["map"]]),
        # the refused change is not recorded (the fake raises the fault instead of making it).
        (LDC_TOOLS, list(TO_GREEN["servers"])),
    ],
    ids=["map", "servers"],
)
async def test_one_host_failing_its_runtime_change_switches_every_host_back(
    app: AppEnvironment, lb2_changes: list[Change]
) -> None:
    hosts = fake_hosts([app], "lb1", "lb2")
    hosts["lb2"].fail = refusing(BLUE)
    switched = await switch_all(hosts, ["lb1", "lb2"], app, BLUE)
    assert not switched.ok
    assert switched.hosts == {"lb1": "restored", "lb2": "failed: HAProxy refused the switch to Blue; restored"}
    assert switched.errors == ("lb2: HAProxy refused the switch to Blue",)
    assert switched.slowest_ms is None
    assert hosts["lb1"].changes == [*TO_BLUE[app.switch.method], *TO_GREEN[app.switch.method]]
    assert hosts["lb2"].changes == lb2_changes
    assert [host.live(app) for host in hosts.values()] == [GREEN, GREEN]


async def test_a_host_that_cannot_be_switched_back_says_so() -> None:
    """lb2 refuses Blue, lb1 then refuses Green: lb1 is left on Blue and the hosts disagree, which must show."""
    hosts = fake_hosts([THEOSHIFT], "lb1", "lb2")
    hosts["lb1"].fail, hosts["lb2"].fail = refusing(GREEN), refusing(BLUE)
    switched = await switch_all(hosts, ["lb1", "lb2"], THEOSHIFT, BLUE)
    assert switched.hosts == {
        "lb1": "NOT restored: HAProxy refused the switch to Green",
        "lb2": "failed: HAProxy refused the switch to Blue; restored",
    }
    assert (hosts["lb1"].live(THEOSHIFT), hosts["lb2"].live(THEOSHIFT)) == (BLUE, GREEN)
    assert hosts["lb1"].files[MAP_FILE] == "theoshift.test t_blue\n"  # its file agrees with its runtime


async def test_an_unreachable_host_fails_the_switch_and_the_reachable_one_goes_back() -> None:
    hosts = fake_hosts([LDC_TOOLS], "lb1", "lb2")
    hosts["lb2"].down = True
    switched = await switch_all(hosts, ["lb1", "lb2"], LDC_TOOLS, BLUE)
    assert switched.hosts == {
        "lb1": "restored",
        "lb2": "failed: lb2: the connection broke; NOT restored: lb2: the connection broke",
    }
    assert hosts["lb1"].live(LDC_TOOLS) is GREEN


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
