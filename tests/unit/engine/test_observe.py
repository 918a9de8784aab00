"""Reading the world through the ports: each host's routing and servers per app, each color's probe. Reads only."""

from __future__ import annotations

import pytest

from bluegreen.engine.observe import host_views, observe
from bluegreen.model import AppEnvironment, Color, ServerView
from tests.doubles.haproxy import FakeProber
from tests.unit.engine.world import BLUE, GREEN, LDC_TOOLS, THEOSHIFT, environments, fake_host


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


def row(server: ServerView) -> tuple[str, str, str]:
    return server.backend, server.server, server.status
