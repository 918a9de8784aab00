"""Verification after a switch, through in-memory hosts already on Blue: what users reach, what HAProxy sees, what
the new LIVE says of itself, and the old LIVE's sessions draining."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from bluegreen.engine.observe import observe
from bluegreen.engine.verify import Verdict, Verification, verify
from bluegreen.model import AppEnvironment, Color, ColorProbe, VerifySettings, Via
from tests.doubles.haproxy import FakeHaproxy, FakeProber
from tests.unit.engine.world import BLUE, GREEN, LDC_TOOLS, MAP, THEOSHIFT, environments, fake_host, make_app


@dataclass
class Checked:
    verdict: Verdict
    prober: FakeProber
    said: list[str]


async def verified(
    app: AppEnvironment,
    change: Callable[[dict[str, FakeHaproxy], FakeProber], object] = lambda hosts, prober: None,
    *,
    prober: type[FakeProber] = FakeProber,
    stop: bool = False,
) -> Checked:
    """Two hosts on Blue, `before` observed, then `change`d the world, then verified."""
    hosts = {name: fake_host(name, [app], BLUE) for name in ("lb1", "lb2")}
    probes = prober(hosts)
    before = (await observe(hosts, environments([app], hosts), [app.name], probes)).apps[app.name]
    change(hosts, probes)
    said: list[str] = []
    stopped = asyncio.Event()
    if stop:
        stopped.set()
    verdict = await verify(Verification(hosts, probes, said.append, stopped), app, BLUE, "2.4.1", before)
    return Checked(verdict, probes, said)


@pytest.mark.parametrize(
    ("app", "detail"),
    [
        (THEOSHIFT, "5/5 requests through the public entry served by t_blue; Blue healthy; lb1 → t_blue, lb2 → t_blue"),
        (
            LDC_TOOLS,
            "5/5 requests through the public entry served by ldc_tools/blue; Blue healthy; "
            "lb1 → ldc_tools/blue ready, ldc_tools/green drain, lb2 → ldc_tools/blue ready, ldc_tools/green drain",
        ),
    ],
    ids=["map", "servers"],
)
async def test_users_reaching_a_healthy_new_live_pass(app: AppEnvironment, detail: str) -> None:
    checked = await verified(app)
    assert checked.verdict == Verdict(True, detail, draining=0)


def lb2_still_on_green(hosts: dict[str, FakeHaproxy], prober: FakeProber) -> None:
    hosts["lb2"].maps[MAP.map_file][MAP.key] = MAP.backends[GREEN]


def lb1_sees_blue_down(hosts: dict[str, FakeHaproxy], prober: FakeProber) -> None:
    server = hosts["lb1"].servers[("t_blue", "blue")]
    server.status, server.check = "DOWN", "L7STS"


def blue_answers_5xx(hosts: dict[str, FakeHaproxy], prober: FakeProber) -> None:
    hosts["lb2"].servers[("t_blue", "blue")].http_5xx += 2


def blue_unhealthy(hosts: dict[str, FakeHaproxy], prober: FakeProber) -> None:
    prober.unhealthy.add(BLUE)


@pytest.mark.parametrize(
    ("change", "problems"),  # each problem as it starts
    [
        (lb2_still_on_green, ["lb2 routes to t_green"]),
        (lb1_sees_blue_down, ["lb1 sees t_blue/blue DOWN L7STS"]),
        (blue_answers_5xx, ["HAProxy counted 2 new 5xx answers on the new LIVE (allowed 0)"]),
        (
            blue_unhealthy,
            [
                "5/5 requests through https://theoshift.test/version did not reach Blue "
                "(first: status 503, served by ?",
                "the new LIVE Blue is unhealthy: status 503",
            ],
        ),
    ],
)
async def test_what_fails_verification(
    change: Callable[[dict[str, FakeHaproxy], FakeProber], None], problems: list[str]
) -> None:
    checked = await verified(THEOSHIFT, change)
    assert not checked.verdict.ok
    found = checked.verdict.detail.split("; ")
    assert len(found) == len(problems)
    assert all(said.startswith(problem) for said, problem in zip(found, problems, strict=True))


async def test_old_live_sessions_are_counted_not_cut() -> None:
    def busy_green(hosts: dict[str, FakeHaproxy], prober: FakeProber) -> None:
        hosts["lb1"].servers[("t_green", "green")].sessions = 3

    checked = await verified(THEOSHIFT, busy_green)
    assert (checked.verdict.ok, checked.verdict.draining) == (True, 3)


@pytest.mark.parametrize(("via", "routes"), [("direct", [None]), ("ssh", ["lb1", "lb2"])])
async def test_the_public_entry_is_asked_from_here_or_through_every_host(via: Via, routes: list[str | None]) -> None:
    checked = await verified(make_app("theoshift", MAP, via=via))
    assert [through for what, through in checked.prober.asked if what == "public"] == routes
    assert checked.verdict.detail.startswith(f"{5 * len(routes)}/{5 * len(routes)} requests")


@dataclass
class FailsAfterThree(FakeProber):
    """Health answers pass three times (both colors before the switch, the new LIVE right after it), then fail;
    the public entry keeps answering."""

    passes_left: int = 3

    async def health(self, app: AppEnvironment, color: Color, count: int, interval_s: float) -> ColorProbe:
        self.passes_left -= 1
        if self.passes_left < 0:
            return ColorProbe(color, app.addresses[color], 0, count, self.versions[color], "status 503")
        return await super().health(app, color, count, interval_s)


async def test_a_new_live_failing_within_the_observation_window_fails() -> None:
    watched = make_app("theoshift", MAP, verify=VerifySettings(window_s=0.05))
    checked = await verified(watched, prober=FailsAfterThree)
    assert checked.verdict.detail == "the new LIVE Blue is unhealthy: status 503"
    assert any("observing the new LIVE" in message for message in checked.said)


async def test_an_interrupt_ends_the_observation_window_early() -> None:
    checked = await verified(make_app("theoshift", MAP, verify=VerifySettings(window_s=600)), stop=True)
    assert checked.verdict.ok
    assert not any("observing" in message for message in checked.said)
