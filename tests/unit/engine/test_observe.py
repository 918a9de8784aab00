"""Reading the world through the ports: each host's routing and servers per app, each color's probe. Reads only."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bluegreen.engine.observe import host_views, observe
from bluegreen.model import AppEnvironment, Color, Kept, ServerView
from bluegreen.switching import ServersSwitch
from tests.doubles.haproxy import FakeHaproxy, FakeProber
from tests.unit.engine.world import (
    BLUE,
    GREEN,
    LDC_TOOLS,
    MAP_FILE,
    SERVERS,
    STATE_FILE,
    THEOSHIFT,
    environments,
    fake_host,
    make_app,
)


@pytest.mark.parametrize(
    ("app", "routing"),
    [
        (THEOSHIFT, {"lb1": "t_green", "lb2": "t_blue"}),
        (
            LDC_TOOLS,
            {
                "lb1": "ldc_tools/blue drain, ldc_tools/green ready",
                "lb2": "ldc_tools/blue ready, ldc_tools/green drain",
            },
        ),
    ],
    ids=["map", "servers"],
)
async def test_each_host_says_what_it_routes_to_in_its_own_words(app: AppEnvironment, routing: dict[str, str]) -> None:
    hosts = {"lb1": fake_host("lb1", [app], GREEN), "lb2": fake_host("lb2", [app], BLUE)}
    observation = await observe(hosts, environments([app], hosts), [app.name], FakeProber(hosts))
    views = observation.apps[app.name].hosts
    assert {name: view.live for name, view in views.items()} == {"lb1": GREEN, "lb2": BLUE}
    assert {name: view.routing for name, view in views.items()} == routing
    assert list(observation.hosts) == ["lb1", "lb2"]


@pytest.mark.parametrize(
    ("app", "servers"),
    [
        (THEOSHIFT, {BLUE: [("t_blue", "blue", "UP")], GREEN: [("t_green", "green", "UP")]}),
        # the STANDBY of `servers` is parked in drain: HAProxy shows it DRAIN, still checked
        (LDC_TOOLS, {BLUE: [("ldc_tools", "blue", "DRAIN")], GREEN: [("ldc_tools", "green", "UP")]}),
    ],
    ids=["map", "servers"],
)
async def test_each_colors_servers_are_the_ones_its_method_names(
    app: AppEnvironment, servers: dict[Color, list[tuple[str, str, str]]]
) -> None:
    port = fake_host("lb1", [THEOSHIFT, LDC_TOOLS])  # both apps' servers on one host: each app sees its own
    views = await host_views(port, [app])
    assert {color: [row(s) for s in found] for color, found in views[app.name].servers.items()} == servers


async def test_one_look_at_a_host_answers_for_every_app() -> None:
    port = fake_host("lb1", [THEOSHIFT, LDC_TOOLS], BLUE)
    views = await host_views(port, [THEOSHIFT, LDC_TOOLS])
    assert {name: (view.host, view.live) for name, view in views.items()} == {
        "theoshift": ("lb1", BLUE),
        "ldc-tools": ("lb1", BLUE),
    }


async def test_both_colors_are_probed_for_every_app() -> None:
    hosts = {"lb1": fake_host("lb1", [THEOSHIFT])}
    prober = FakeProber(hosts, unhealthy={GREEN})
    observation = await observe(hosts, environments([THEOSHIFT], hosts), ["theoshift"], prober)
    colors = observation.apps["theoshift"].colors
    assert {color: (probe.version, probe.healthy) for color, probe in colors.items()} == {
        BLUE: ("2.4.1", True),
        GREEN: ("2.4.0", False),
    }
    assert sorted(prober.asked) == [("health", BLUE), ("health", GREEN)]  # no request through the public entry


# --- what a reload would route to ---------------------------------------------------------------------------------

NO_STATE_FILE = "does not exist: a reload starts the servers as haproxy.cfg writes them"


async def test_what_each_host_keeps_is_read_in_the_same_batch_as_what_it_routes() -> None:
    """One read per host, runtime and files together (the SSH port reads each file once, however many apps)."""
    port = fake_host("lb1", [THEOSHIFT, LDC_TOOLS], GREEN)
    views = await host_views(port, [THEOSHIFT, LDC_TOOLS])
    assert {name: view.kept for name, view in views.items()} == {
        "theoshift": Kept(GREEN, f"the map file {MAP_FILE} names t_green"),
        "ldc-tools": Kept(GREEN, f"the server-state file {STATE_FILE}: ldc_tools/blue drain, ldc_tools/green ready"),
    }
    [batch] = port.reads
    runtime = (*THEOSHIFT.switch.reads(), *LDC_TOOLS.switch.reads())
    assert batch == (*runtime, *THEOSHIFT.switch.kept_reads(), *LDC_TOOLS.switch.kept_reads())


def map_edited(host: FakeHaproxy) -> None:
    """A hand edit of the map file: HAProxy routes to Green, a reload would route to Blue."""
    host.files[MAP_FILE] = "theoshift.test t_blue\n"


def servers_set_not_dumped(host: FakeHaproxy) -> None:
    """A release killed between `set server` and the state dump: Green ready, the file still names Blue."""
    host.files[STATE_FILE] = fake_host("lb1", [LDC_TOOLS], BLUE).files[STATE_FILE]


@pytest.mark.parametrize(("app", "fault"), [(THEOSHIFT, map_edited), (LDC_TOOLS, servers_set_not_dumped)])
async def test_a_host_whose_file_names_the_other_color_is_seen_so(
    app: AppEnvironment, fault: Callable[[FakeHaproxy], None]
) -> None:
    port = fake_host("lb1", [app], GREEN)
    fault(port)
    [view] = (await host_views(port, [app])).values()
    assert (view.live, view.kept) == (GREEN, Kept(BLUE, view.kept.text if view.kept else ""))


def no_state_file(host: FakeHaproxy) -> None:
    del host.files[STATE_FILE]


def no_sftp(host: FakeHaproxy) -> None:
    host.sftp = False


@pytest.mark.parametrize(
    ("fault", "why", "readable"),
    [(no_state_file, NO_STATE_FILE, True), (no_sftp, "cannot be read: lb1: cannot start SFTP", False)],
    ids=["no file", "no SFTP"],
)
async def test_a_file_that_tells_nothing_is_kept_as_neither_color(
    fault: Callable[[FakeHaproxy], None], why: str, readable: bool
) -> None:
    """No file is known to keep neither color; a file that cannot be read keeps what is not known."""
    port = fake_host("lb1", [LDC_TOOLS], GREEN)
    fault(port)
    [view] = (await host_views(port, [LDC_TOOLS])).values()
    assert (view.live, view.kept) == (GREEN, Kept(None, f"the server-state file {STATE_FILE} {why}", readable))


async def test_servers_without_a_state_file_keep_nothing_and_no_file_is_read() -> None:
    app = make_app("ldc-tools", ServersSwitch("ldc_tools", SERVERS.servers))
    port = fake_host("lb1", [app], GREEN)
    [view] = (await host_views(port, [app])).values()
    assert (view.kept, port.reads) == (None, [app.switch.reads()])


async def test_verification_reads_what_hosts_route_but_not_their_files() -> None:
    port = fake_host("lb1", [THEOSHIFT], GREEN)
    [view] = (await host_views(port, [THEOSHIFT], kept=False)).values()
    assert (view.live, view.kept, port.reads) == (GREEN, None, [THEOSHIFT.switch.reads()])


def row(server: ServerView) -> tuple[str, str, str]:
    return server.backend, server.server, server.status
