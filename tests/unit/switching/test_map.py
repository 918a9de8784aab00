"""`map`: what it reads, how it tells the LIVE from HAProxy's answer, what it changes. Pure: no server."""

from __future__ import annotations

import pytest

from bluegreen.model import Color, ServerView
from bluegreen.switching import MapSwitch
from bluegreen.switching.base import Answers, KeptMapEntry, MapEntry, Routing, SetMapEntry, WriteMapEntry

BLUE, GREEN = Color.BLUE, Color.GREEN
MAP_FILE = "/etc/haproxy/apps.map"
SWITCH = MapSwitch(MAP_FILE, "theoshift.test", {BLUE: "t_blue", GREEN: "t_green"})
ENTRY = MapEntry(MAP_FILE, "theoshift.test")
KEPT = KeptMapEntry(MAP_FILE, "theoshift.test")


def test_it_reads_its_one_map_entry() -> None:
    assert SWITCH.reads() == (ENTRY,)
    assert SWITCH.entry == ENTRY


@pytest.mark.parametrize(
    ("value", "routing"),
    [
        ("t_blue", Routing(BLUE, "t_blue")),
        ("t_green", Routing(GREEN, "t_green")),
        (None, Routing(None, f"no entry for theoshift.test in {MAP_FILE}")),
        ("t_old", Routing(None, "backend 't_old', which is neither color's")),
        ("T_BLUE", Routing(None, "backend 'T_BLUE', which is neither color's")),  # backend names are exact
    ],
    ids=["blue", "green", "missing entry", "neither color", "case differs"],
)
def test_the_live_is_the_color_whose_backend_the_entry_names(value: str | None, routing: Routing) -> None:
    assert SWITCH.routing(Answers(entries={ENTRY: value})) == routing


def test_another_apps_entry_in_the_answers_is_not_read() -> None:
    other = MapEntry(MAP_FILE, "ldc-tools.test")
    assert SWITCH.routing(Answers(entries={other: "t_blue", ENTRY: "t_green"})).live is GREEN


def test_what_it_keeps_is_its_line_of_the_map_file() -> None:
    assert SWITCH.kept_reads() == (KEPT,)


@pytest.mark.parametrize(
    ("found", "kept"),
    [
        (Answers(kept_entries={KEPT: "t_blue"}), Routing(BLUE, f"the map file {MAP_FILE} names t_blue")),
        (Answers(kept_entries={KEPT: "t_green"}), Routing(GREEN, f"the map file {MAP_FILE} names t_green")),
        (
            Answers(kept_entries={KEPT: "t_old"}),
            Routing(None, f"the map file {MAP_FILE} names t_old, which is neither color's backend"),
        ),
        (Answers(kept_entries={KEPT: None}), Routing(None, f"the map file {MAP_FILE} has no line for theoshift.test")),
        (
            Answers(kept_entries={KEPT: None}, unkept={KEPT: "does not exist: a reload would fail"}),
            Routing(None, f"the map file {MAP_FILE} does not exist: a reload would fail"),
        ),
        (
            Answers(unread={KEPT: "lb1: cannot start SFTP"}),
            Routing(None, f"the map file {MAP_FILE} cannot be read: lb1: cannot start SFTP", readable=False),
        ),
    ],
    ids=["blue", "green", "neither color", "no line", "no file", "unreadable"],
)
def test_what_a_reload_would_route_to_is_the_color_the_files_line_names(found: Answers, kept: Routing) -> None:
    assert SWITCH.kept(found) == kept


def test_what_is_kept_and_what_runs_are_read_apart() -> None:
    """A hand edit of the file: HAProxy routes to Green, a reload would route to Blue."""
    found = Answers(entries={ENTRY: "t_green"}, kept_entries={KEPT: "t_blue"})
    assert (SWITCH.routing(found).live, SWITCH.kept(found).live) == (GREEN, BLUE)


@pytest.mark.parametrize(("to", "backend"), [(BLUE, "t_blue"), (GREEN, "t_green")])
def test_the_file_is_written_before_the_runtime_entry_is_set(to: Color, backend: str) -> None:
    """A reload between the two already reads the new LIVE."""
    assert SWITCH.steps(to) == (
        WriteMapEntry(MAP_FILE, "theoshift.test", backend),
        SetMapEntry(MAP_FILE, "theoshift.test", backend),
    )


def test_a_colors_servers_are_every_server_of_its_backend() -> None:
    servers = [view(backend, server) for backend, server in [("t_blue", "a"), ("t_green", "b"), ("t_blue", "c")]]
    servers.append(view("other", "blue"))
    assert [s.server for s in SWITCH.servers_of(BLUE, servers)] == ["a", "c"]
    assert [s.server for s in SWITCH.servers_of(GREEN, servers)] == ["b"]


@pytest.mark.parametrize(
    ("color", "served_by", "target"), [(BLUE, "t_blue/", "t_blue"), (GREEN, "t_green/", "t_green")]
)
def test_a_color_is_served_by_any_server_of_its_backend(color: Color, served_by: str, target: str) -> None:
    assert (SWITCH.served_by(color), SWITCH.target(color)) == (served_by, target)


@pytest.mark.parametrize(
    "spelling",
    [
        MAP_FILE,
        "//etc/haproxy/apps.map",
        "///etc/haproxy/apps.map",
        "/./etc/haproxy/apps.map",
        "/etc/./haproxy/apps.map",
        "/etc//haproxy/apps.map",
        "/etc/haproxy/apps.map/",
        "/etc/nginx/../haproxy/apps.map",
    ],
)
def test_the_claim_names_the_map_file_by_one_spelling(spelling: str) -> None:
    """Two apps never switch the same entry: `//x`, `/./x` and `/x` are one file."""
    claim = MapSwitch(spelling, "theoshift.test", SWITCH.backends).claim
    assert claim == 'map entry "theoshift.test" of /etc/haproxy/apps.map'


def test_the_claim_tells_keys_and_files_apart() -> None:
    claims = {
        MapSwitch(path, key, SWITCH.backends).claim
        for path in (MAP_FILE, "/etc/haproxy/other.map")
        for key in ("theoshift.test", "ldc-tools.test")
    }
    assert len(claims) == 4


def test_from_json_reads_environments_json_switch() -> None:
    data = {
        "method": "map",
        "map_file": MAP_FILE,
        "key": "theoshift.test",
        "backends": {"blue": "t_blue", "green": "t_green"},
    }
    assert MapSwitch.from_json(data) == SWITCH
    assert SWITCH.method == "map"


def view(backend: str, server: str) -> ServerView:
    return ServerView(backend, server, "UP", "L7OK", 0, 0, 1)
