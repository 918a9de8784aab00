"""A STANDBY parked in maintenance: which servers a release wakes, when HAProxy's check has seen them UP, and what
the report says when it has not. Tables of `show stat` rows as HAProxy 2.6 writes them."""

from __future__ import annotations

import pytest

from bluegreen.core import parked as parking
from bluegreen.core.checks import check_hint, check_passing, check_settled
from bluegreen.model import Color, Parked, ServerView
from bluegreen.switching import MapSwitch, ServersSwitch

BLUE, GREEN = Color.BLUE, Color.GREEN


def row(status: str, check: str = "L7OK", backend: str = "b_blue", server: str = "blue") -> ServerView:
    return ServerView(backend, server, status, check, 0, 0, 1)


@pytest.mark.parametrize(
    ("status", "check", "passing", "settled"),
    [
        ("UP", "L7OK", True, True),
        ("DRAIN", "L7OK", True, True),
        ("DRAIN", "L4OK", True, True),
        # just out of maintenance: HAProxy shows the check it had before it, until the next one has run
        ("DRAIN 1/2", "L7OK", True, False),
        ("UP 1/2", "L7OK", True, False),
        ("DRAIN 1/2", "INI", False, False),
        ("DOWN", "L4CON", False, False),
        ("DOWN", "L7STS", False, False),
        ("MAINT", "", False, False),
        ("no check", "", False, False),
    ],
)
def test_a_woken_server_counts_as_checked_only_once_haproxy_has_settled(
    status: str, check: str, passing: bool, settled: bool
) -> None:
    assert (check_passing(row(status, check)), check_settled(row(status, check))) == (passing, settled)


@pytest.mark.parametrize(
    ("servers", "parked"),
    [
        ((row("MAINT", ""),), (Parked("lb1", "b_blue", "blue"),)),
        ((row("MAINT", ""), row("UP", server="blue2")), (Parked("lb1", "b_blue", "blue"),)),
        (
            (row("MAINT", ""), row("MAINT", "", server="blue2")),
            (Parked("lb1", "b_blue", "blue"), Parked("lb1", "b_blue", "blue2")),
        ),
        ((row("MAINT", ""), row("DOWN", "L4CON", server="blue2")), ()),  # waking one would not make the STANDBY UP
        ((row("MAINT (via b_other/blue)", ""),), ()),  # follows another server: no state change wakes it
        ((row("MAINT (resolution)", ""),), ()),
        ((row("UP"),), ()),
        ((), ()),
    ],
)
def test_which_servers_a_release_wakes(servers: tuple[ServerView, ...], parked: tuple[Parked, ...]) -> None:
    assert parking.parked_on("lb1", servers) == parked


def test_a_map_switch_makes_its_woken_servers_ready_and_a_servers_switch_leaves_that_to_its_own_step() -> None:
    backend = Parked("lb1", "t_blue", "blue")
    map_steps = MapSwitch("/etc/haproxy/apps.map", "t.test", {BLUE: "t_blue", GREEN: "t_green"}).steps(BLUE)
    assert parking.made_ready([backend], map_steps) == (backend,)
    server = Parked("lb1", "ldc", "blue")
    servers_steps = ServersSwitch("ldc", {BLUE: "blue", GREEN: "green"}).steps(BLUE)
    assert parking.made_ready([server], servers_steps) == ()


def test_what_the_report_says_of_servers_that_did_not_come_up() -> None:
    woken = [Parked("lb1", "b_blue", "blue"), Parked("lb2", "b_blue", "blue"), Parked("lb3", "b_blue", "blue")]
    stats = {"lb1": (row("DRAIN"),), "lb2": (row("DOWN", "L4CON"),), "lb3": (row("DRAIN 1/2", "INI"),)}
    pending = parking.unchecked(woken, stats)
    assert [each.host for each, _ in pending] == ["lb2", "lb3"]
    assert parking.said(pending) == "lb2: b_blue/blue DOWN L4CON; lb3: b_blue/blue DRAIN 1/2 INI"
    assert parking.hints(pending) == f"{check_hint('L4CON')}; {check_hint('INI')}"
    gone = parking.unchecked(woken[:1], {"lb1": ()})
    assert parking.said(gone) == "lb1: b_blue/blue not in show stat"
    assert "HAProxy no longer has the server" in parking.hints(gone)


@pytest.mark.parametrize(
    ("check", "words"),
    [
        ("L4CON", "start the STANDBY's app server"),
        ("L4TOUT", "timed out"),
        ("L7STS", "`http-check expect`"),
        ("L7TOUT", "`timeout check`"),
        ("L6RSP", "`ssl`"),
        ("INI", "verify.standby_check_wait_s"),
        ("", "give the server `check`"),
        ("PROCERR", "see HAProxy's log for the check of the server (PROCERR)"),
    ],
)
def test_each_check_status_says_what_to_fix(check: str, words: str) -> None:
    assert words in check_hint(check)
