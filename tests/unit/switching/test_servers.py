"""`servers`: one backend, a server per color; the LIVE is the one ready. Pure: no server."""

from __future__ import annotations

import pytest

from bluegreen.model import Color, ServerView
from bluegreen.switching import ServersSwitch
from bluegreen.switching.base import (
    ADMIN_DRAIN,
    ADMIN_MAINT,
    AdminState,
    Answers,
    KeptServerStates,
    Routing,
    SaveServerStates,
    ServerStates,
    SetServerStates,
    TargetState,
)

BLUE, GREEN = Color.BLUE, Color.GREEN
STATE_FILE = "/var/lib/haproxy/server-state"
SWITCH = ServersSwitch("ldc_tools", {BLUE: "blue", GREEN: "green"}, STATE_FILE)
READY, DRAIN, MAINT = 0, ADMIN_DRAIN, ADMIN_MAINT
CONFIG_DISABLED = 0x04  # maintenance from the config's `disabled`: may stay set on a server put back to ready


KEPT = KeptServerStates(STATE_FILE, "ldc_tools")
IN_FILE = f"the server-state file {STATE_FILE}"


def answers(**admin: int) -> Answers:
    """`show servers state ldc_tools` as the servers named, with their srv_admin_state."""
    return Answers(states={"ldc_tools": {name: AdminState("ldc_tools", name, bits) for name, bits in admin.items()}})


def kept(**admin: int) -> Answers:
    """The server-state file, as its rows for ldc_tools name the servers."""
    return Answers(kept_states={KEPT: {name: AdminState("ldc_tools", name, bits) for name, bits in admin.items()}})


def test_it_reads_its_backends_server_states() -> None:
    assert SWITCH.reads() == (ServerStates("ldc_tools"),)


@pytest.mark.parametrize(
    ("found", "routing"),
    [
        (answers(blue=READY, green=DRAIN), Routing(BLUE, "ldc_tools/blue ready, ldc_tools/green drain")),
        (answers(blue=DRAIN, green=READY), Routing(GREEN, "ldc_tools/blue drain, ldc_tools/green ready")),
        (answers(blue=MAINT, green=READY), Routing(GREEN, "ldc_tools/blue maint, ldc_tools/green ready")),
        (answers(blue=READY, green=READY), Routing(None, "ldc_tools/blue ready, ldc_tools/green ready")),
        (answers(blue=DRAIN, green=MAINT), Routing(None, "ldc_tools/blue drain, ldc_tools/green maint")),
        (answers(green=READY), Routing(GREEN, "ldc_tools/blue missing, ldc_tools/green ready")),
        (answers(), Routing(None, "ldc_tools/blue missing, ldc_tools/green missing")),
        (
            answers(blue=READY | CONFIG_DISABLED, green=DRAIN),
            Routing(BLUE, "ldc_tools/blue ready, ldc_tools/green drain"),
        ),
        (answers(blue=READY, green=DRAIN, spare=READY), Routing(BLUE, "ldc_tools/blue ready, ldc_tools/green drain")),
    ],
    ids=[
        "blue ready",
        "green ready",
        "maint is not ready",
        "both ready",
        "neither ready",
        "missing server",
        "no servers",
        "config-disabled bit ignored",
        "other servers ignored",
    ],
)
def test_the_live_is_the_one_ready_server(found: Answers, routing: Routing) -> None:
    assert SWITCH.routing(found) == routing


@pytest.mark.parametrize(
    ("bits", "label"),
    [
        (0x01, "maint"),
        (0x02, "maint"),
        (0x20, "maint"),
        (0x40, "maint"),
        (0x08, "drain"),
        (0x10, "drain"),
        (0x09, "maint"),
        (0x04, "ready"),
        (0, "ready"),
    ],
)
def test_an_admin_state_reads_its_bits(bits: int, label: str) -> None:
    state = AdminState("ldc_tools", "blue", bits)
    assert (state.label, state.ready) == (label, label == "ready")


@pytest.mark.parametrize(
    ("to", "states"),
    [(BLUE, (("blue", "ready"), ("green", "drain"))), (GREEN, (("green", "ready"), ("blue", "drain")))],
)
def test_the_new_live_is_made_ready_before_the_old_drains_then_the_states_are_saved(
    to: Color, states: tuple[tuple[str, TargetState], ...]
) -> None:
    """One command line, ready first: never a moment without a ready server."""
    assert SWITCH.steps(to) == (SetServerStates("ldc_tools", states), SaveServerStates(STATE_FILE))


def test_what_it_keeps_is_its_backends_rows_in_the_server_state_file() -> None:
    assert SWITCH.kept_reads() == (KEPT,)


@pytest.mark.parametrize(
    ("found", "routing"),
    [
        (kept(blue=READY, green=DRAIN), Routing(BLUE, f"{IN_FILE}: ldc_tools/blue ready, ldc_tools/green drain")),
        (kept(blue=DRAIN, green=READY), Routing(GREEN, f"{IN_FILE}: ldc_tools/blue drain, ldc_tools/green ready")),
        (kept(blue=READY, green=READY), Routing(None, f"{IN_FILE}: ldc_tools/blue ready, ldc_tools/green ready")),
        # a server the file does not name starts as haproxy.cfg writes it: what a reload does cannot be told
        (kept(blue=READY), Routing(None, f"{IN_FILE}: ldc_tools/blue ready, ldc_tools/green missing")),
        (kept(), Routing(None, f"{IN_FILE}: ldc_tools/blue missing, ldc_tools/green missing")),
        (
            Answers(unkept={KEPT: "does not exist: a reload starts the servers as haproxy.cfg writes them"}),
            Routing(None, f"{IN_FILE} does not exist: a reload starts the servers as haproxy.cfg writes them"),
        ),
    ],
    ids=["blue", "green", "both ready", "one missing", "backend missing", "no file"],
)
def test_what_a_reload_would_route_to_is_the_one_server_ready_in_the_file(found: Answers, routing: Routing) -> None:
    assert SWITCH.kept(found) == routing


def test_without_a_state_file_nothing_is_kept() -> None:
    """A reload then starts the servers as haproxy.cfg writes them: nothing of bluegreen's to read or compare."""
    unsaved = ServersSwitch("ldc_tools", SWITCH.servers)
    assert (unsaved.kept_reads(), unsaved.kept(Answers())) == ((), None)


def test_without_a_state_file_nothing_is_saved() -> None:
    unsaved = ServersSwitch("ldc_tools", SWITCH.servers)
    assert unsaved.steps(BLUE) == (SetServerStates("ldc_tools", (("blue", "ready"), ("green", "drain"))),)


def test_a_colors_servers_are_its_one_server_in_the_backend() -> None:
    servers = [view("ldc_tools", "blue"), view("ldc_tools", "green"), view("other", "blue"), view("ldc_tools", "spare")]
    assert SWITCH.servers_of(BLUE, servers) == (servers[0],)
    assert SWITCH.servers_of(GREEN, servers) == (servers[1],)


@pytest.mark.parametrize("color", [BLUE, GREEN])
def test_a_color_is_served_by_exactly_its_server(color: Color) -> None:
    assert SWITCH.served_by(color) == SWITCH.target(color) == f"ldc_tools/{color.value}"


def test_the_claim_is_the_backend() -> None:
    assert SWITCH.claim == 'backend "ldc_tools"'
    assert ServersSwitch("ldc_tools", {BLUE: "b", GREEN: "g"}).claim == SWITCH.claim  # other servers, same backend


@pytest.mark.parametrize(("extra", "state_file"), [({"state_file": STATE_FILE}, STATE_FILE), ({}, None)])
def test_from_json_reads_environments_json_switch(extra: dict[str, str], state_file: str | None) -> None:
    data = {"method": "servers", "backend": "ldc_tools", "servers": {"blue": "blue", "green": "green"}, **extra}
    assert ServersSwitch.from_json(data) == ServersSwitch("ldc_tools", SWITCH.servers, state_file)
    assert SWITCH.method == "servers"


def view(backend: str, server: str) -> ServerView:
    return ServerView(backend, server, "UP", "L7OK", 0, 0, 1)
