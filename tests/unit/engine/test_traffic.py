"""The release's own users: a steady rate through each route, beside whatever the block does, never waited for
longer than the grace at the end, and never a crash of the release."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import pytest

from bluegreen.core.traffic import failed
from bluegreen.engine import traffic
from bluegreen.engine.switch import Rollout
from bluegreen.engine.traffic import watched
from bluegreen.model import AppEnvironment, Served, VerifySettings, Via
from tests.doubles.haproxy import FakeProber
from tests.unit.engine.world import BLUE, MAP, fake_hosts, make_app

RUN_S = 0.3


def app_at(rate: float, via: Via = "direct") -> AppEnvironment:
    return make_app("theoshift", MAP, via=via, verify=VerifySettings(traffic_rate=rate))


@dataclass
class SlowProber(FakeProber):
    """Every answer takes `answer_s`; `raises` makes every request raise instead."""

    answer_s: float = 0.0
    raises: Exception | None = None
    sent: list[float] = field(default_factory=list)

    async def visit(self, app: AppEnvironment, through: str | None) -> Served:
        self.sent.append(time.monotonic())
        if self.raises is not None:
            raise self.raises
        await asyncio.sleep(self.answer_s)
        return await super().visit(app, through)


def idle(prober: FakeProber, app: AppEnvironment) -> Rollout:
    """A switch of no host: no command is ever answered."""
    return Rollout(prober.hosts, (), app, BLUE)


async def run_for(prober: FakeProber, app: AppEnvironment, seconds: float = RUN_S) -> traffic.Users:
    async with watched(prober, app, idle(prober, app)) as users:
        await asyncio.sleep(seconds)
    return users


async def test_requests_leave_at_a_steady_rate_from_the_start() -> None:
    prober = SlowProber(fake_hosts([app_at(50)], live=BLUE))
    started = time.monotonic()
    users = await run_for(prober, app_at(50))
    assert 0.3 * 50 * 0.6 <= len(users.visits) <= 0.3 * 50 + 2  # 15 due; a loaded machine may skip a few ticks
    assert prober.sent[0] - started < 0.05  # the first leaves at once: before the switch, in a release
    # never ahead of the schedule (no burst after a late tick): the k-th leaves k times 20 ms after the first
    assert all(at - prober.sent[0] >= k * 0.02 - 0.001 for k, at in enumerate(prober.sent))
    assert all(visit.served.status == 200 for visit in users.visits)


async def test_a_slow_answer_does_not_slow_the_rate() -> None:
    """Each request is its own task: 100 ms answers at 50 per second still leave 20 ms apart."""
    prober = SlowProber(fake_hosts([app_at(50)], live=BLUE), answer_s=0.1)
    users = await run_for(prober, app_at(50))
    assert len(prober.sent) >= 0.3 * 50 * 0.6
    assert len(users.visits) == len(prober.sent)  # the end waited for the answers on their way
    assert min(visit.took_ms for visit in users.visits) >= 100


async def test_each_host_gets_the_whole_rate_when_via_is_ssh() -> None:
    app = app_at(50, via="ssh")
    prober = SlowProber(fake_hosts([app], "lb1", "lb2", live=BLUE))
    users = await run_for(prober, app)
    routes = [visit.route for visit in users.visits]
    assert {route: routes.count(route) for route in set(routes)} == {
        "lb1": pytest.approx(len(routes) / 2, abs=2),
        "lb2": pytest.approx(len(routes) / 2, abs=2),
    }
    assert routes.count("lb1") >= 0.3 * 50 * 0.6


async def test_the_routes_share_a_cap_on_the_whole_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two hosts at 50 a second each would be 100; with a cap of 50 they get 25 each."""
    monkeypatch.setattr(traffic, "MAX_TOTAL_RATE", 50.0)
    app = app_at(50, via="ssh")
    prober = SlowProber(fake_hosts([app], "lb1", "lb2", live=BLUE))
    users = await run_for(prober, app)
    routes = [visit.route for visit in users.visits]
    assert 0.3 * 50 * 0.6 <= len(routes) <= 0.3 * 50 + 2
    assert abs(routes.count("lb1") - routes.count("lb2")) <= 1


async def test_a_rate_of_zero_sends_nothing_and_makes_no_figure() -> None:
    prober = SlowProber(fake_hosts([app_at(0)], live=BLUE))
    users = await run_for(prober, app_at(0), 0.05)
    assert (users.visits, prober.sent) == ([], [])


async def test_an_answer_later_than_the_grace_is_not_waited_for_and_counts_as_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(traffic, "GRACE_S", 0.05)
    prober = SlowProber(fake_hosts([app_at(20)], live=BLUE), answer_s=30)
    started = time.monotonic()
    users = await run_for(prober, app_at(20), 0.1)
    assert time.monotonic() - started < 0.5
    assert prober.sent
    assert len(users.visits) == len(prober.sent)
    assert {visit.served for visit in users.visits} == {Served(None, None, None, "no answer before the release's end")}


async def test_a_tick_with_too_many_still_unanswered_is_counted_as_no_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    """An entry that hangs: 2 at most on their way, and every tick after them is a user who got no answer."""
    monkeypatch.setattr(traffic, "GRACE_S", 0.01)
    monkeypatch.setattr(traffic, "MAX_IN_FLIGHT", 2)
    prober = SlowProber(fake_hosts([app_at(50)], live=BLUE), answer_s=30)
    users = await run_for(prober, app_at(50), 0.2)
    assert len(prober.sent) == 2
    assert len(users.visits) >= 0.2 * 50 * 0.6
    assert all(failed(visit.served) for visit in users.visits)
    assert sum(1 for visit in users.visits if (visit.served.error or "").startswith("not sent: 2 still")) >= 4


async def test_a_request_that_raises_is_a_failed_one_not_a_crash() -> None:
    prober = SlowProber(fake_hosts([app_at(20)], live=BLUE), raises=TypeError("a bug"))
    users = await run_for(prober, app_at(20), 0.05)
    assert users.visits
    assert {visit.served for visit in users.visits} == {
        Served(None, None, None, "the request could not be made: TypeError: a bug")
    }


async def test_the_block_still_ends_the_requests_when_it_raises() -> None:
    prober = SlowProber(fake_hosts([app_at(50)], live=BLUE))

    async def failing() -> None:
        async with watched(prober, app_at(50), idle(prober, app_at(50))):
            await asyncio.sleep(0.05)
            raise RuntimeError("the block failed")

    with pytest.raises(RuntimeError):
        await failing()
    sent = len(prober.sent)
    await asyncio.sleep(0.1)
    assert len(prober.sent) == sent


@pytest.mark.parametrize(("via", "routes"), [("direct", [None, None]), ("ssh", ["lb1", "lb2", "lb1"])])
async def test_one_more_request_leaves_the_moment_a_host_has_carried_out_its_switch_command(
    via: Via, routes: list[str | None]
) -> None:
    """At 1 per second only the first would leave in 0.2 s; lb1's command answered at 0.1 s sends one more on
    its route (from here: the one route), at once."""
    app = app_at(1, via)
    prober = SlowProber(fake_hosts([app], "lb1", "lb2", live=BLUE))
    rollout = Rollout(prober.hosts, ("lb1", "lb2"), app, BLUE)
    async with watched(prober, app, rollout) as users:
        await asyncio.sleep(0.1)
        answered = time.monotonic()
        rollout.switches["lb1"].answered.set()
        await asyncio.sleep(0.1)
    assert sorted(visit.route or "" for visit in users.visits) == sorted(route or "" for route in routes)
    assert prober.sent[-1] - answered < 0.02
