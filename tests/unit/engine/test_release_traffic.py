"""What users saw during a release: the release's own requests, from just before the switch until verification
ends, carried in the outcome, and more failures among them than allowed fail verification and switch back."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import pytest

from bluegreen.engine import traffic
from bluegreen.engine.ports import Applied
from bluegreen.model import AppEnvironment, Served, VerifySettings
from bluegreen.report import outcome_text
from bluegreen.switching.base import Change, SetMapEntry, WriteMapEntry
from tests.doubles.haproxy import FakeHaproxy, FakeProber
from tests.unit.engine.test_release import BOTH_METHODS, Scene, forward_and_back, scene
from tests.unit.engine.test_traffic import SlowProber
from tests.unit.engine.world import BLUE, GREEN, THEOSHIFT, TO_BLUE, make_app, meanwhile, refusing


def with_verify(app: AppEnvironment, verify: VerifySettings) -> AppEnvironment:
    return make_app(app.name, app.switch, via=app.public.via, verify=verify)


@BOTH_METHODS
async def test_a_release_carries_what_its_own_users_saw(app: AppEnvironment) -> None:
    world = scene(app)
    outcome = await world.release()
    [done] = outcome.apps
    assert done.result == "success"
    assert done.traffic is not None
    assert done.traffic.requests >= 1
    assert (done.traffic.failed, done.traffic.by_color[BLUE]) == (0, done.traffic.requests)
    assert done.traffic.first_new_ms is not None
    assert done.traffic.first_new_ms >= 0
    assert "Users during the switch: " in outcome_text(outcome)


async def test_a_moment_of_errors_users_saw_fails_verification_and_switches_back() -> None:
    """Verification's own requests pass; the release's users got one 503 from Blue right after the switch."""
    world = scene(THEOSHIFT)
    world.prober.hiccups = 1
    outcome = await world.release()
    [done] = outcome.apps
    assert done.traffic is not None
    assert done.traffic.failed == 1
    figure = (
        f"users during the switch: 1 of {done.traffic.requests} requests failed "
        "(allowed 0; first: status 503, served by t_blue/blue)"
    )
    assert (done.result, done.reason) == ("rolled_back", f"verification failed, traffic is back on Green: {figure}")
    confirm = next(step for step in done.steps if step.name == "Confirm switch")
    assert (confirm.ok, confirm.detail) == (False, figure)
    assert world.changes() == {"lb1": forward_and_back(THEOSHIFT), "lb2": forward_and_back(THEOSHIFT)}
    assert world.live(THEOSHIFT) == {"lb1": GREEN, "lb2": GREEN}


async def test_failures_within_the_threshold_pass_and_are_still_shown() -> None:
    world = scene(with_verify(THEOSHIFT, VerifySettings(max_failed_requests=1)))
    world.prober.hiccups = 1
    outcome = await world.release()
    [done] = outcome.apps
    assert done.result == "success"
    assert done.traffic is not None
    assert done.traffic.failed == 1
    assert "failed" not in done.steps[3].detail
    assert ", 1 failed; " in outcome_text(outcome)


async def test_when_verification_fails_too_its_reason_comes_first_then_the_users() -> None:
    world = scene(THEOSHIFT)
    for host in world.hosts.values():
        host.fail = meanwhile(BLUE, lambda: world.prober.unhealthy.add(BLUE))
    outcome = await world.release()
    [done] = outcome.apps
    assert done.result == "rolled_back"
    reason = done.reason or ""
    assert reason.index("the new LIVE Blue is unhealthy") < reason.index("users during the switch: ")


async def test_a_rate_of_zero_sends_no_request_and_the_outcome_has_no_figure() -> None:
    world = scene(with_verify(THEOSHIFT, VerifySettings(traffic_rate=0)))
    world.prober.hiccups = 1  # there is nobody to see it
    outcome = await world.release()
    [done] = outcome.apps
    assert (done.result, done.traffic) == ("success", None)
    assert not any(what == "visit" for what, _ in world.prober.asked)
    assert "Users during the switch" not in outcome_text(outcome)


REFUSED = "lb2: HAProxy refused the switch to Blue"


async def test_a_switch_that_fails_still_shows_what_users_saw_and_is_judged_as_before() -> None:
    world = scene(THEOSHIFT)
    world.hosts["lb2"].fail = refusing(BLUE)
    world.prober.hiccups = 5
    outcome = await world.release()
    [done] = outcome.apps
    assert done.result == "rolled_back"
    assert done.reason == "the switch failed; every host was read back on Green: " + REFUSED  # no word of users
    assert done.traffic is not None
    assert done.traffic.failed >= 1  # shown, but a switch already undone is not verified, so not judged either
    assert "Confirm switch" not in [step.name for step in done.steps]


async def test_via_ssh_the_users_come_through_every_host() -> None:
    world = scene(make_app("theoshift", THEOSHIFT.switch, via="ssh"))
    await world.release()
    assert {through for what, through in world.prober.asked if what == "visit"} == {"lb1", "lb2"}


@dataclass
class SlowHost(FakeHaproxy):
    """Each change (of the `slow` kinds) takes effect at once, and its answer comes `delay_s` later."""

    delay_s: float = 0.0
    slow: tuple[type[Change], ...] = (WriteMapEntry, SetMapEntry)

    async def apply(self, change: Change) -> Applied:
        applied = await super().apply(change)
        if isinstance(change, self.slow):
            await asyncio.sleep(self.delay_s)
        return applied


def slow_world(rate: float, delay_s: float, *slow: type[Change]) -> Scene:
    world = scene(with_verify(THEOSHIFT, VerifySettings(traffic_rate=rate)), count=1)
    world.hosts = {"lb1": SlowHost(**vars(world.hosts["lb1"]), delay_s=delay_s, slow=slow)}
    world.prober.hosts = world.hosts
    return world


async def test_users_are_watched_from_before_the_switch_and_timed_from_its_runtime_command() -> None:
    """`map` writes the file first (100 ms here), then sets the entry: users reached Green until the entry was
    set, and the first answer by Blue is timed from that command, not from the start of the switch."""
    world = slow_world(100, 0.1, WriteMapEntry, SetMapEntry)
    outcome = await world.release()
    [done] = outcome.apps
    assert world.changes() == {"lb1": list(TO_BLUE["map"])}
    assert done.traffic is not None
    assert done.traffic.by_color[GREEN] >= 3  # 100 per second during the 100 ms of the file's write
    assert done.traffic.by_color[BLUE] >= 3
    assert done.traffic.first_new_ms is not None
    assert done.traffic.first_new_ms < 60  # a request leaves every 10 ms; from the switch's start it would be 100+
    sent = len(world.prober.asked)
    await asyncio.sleep(0.05)
    assert len(world.prober.asked) == sent  # stopped when verification ended


async def test_the_moment_is_timed_to_the_millisecond_not_to_the_rate() -> None:
    """At 1 per second the next tick would come long after verification; the request that leaves the moment
    HAProxy has carried out the command reaches Blue at once."""
    world = slow_world(1, 0.1, WriteMapEntry)
    outcome = await world.release()
    [done] = outcome.apps
    assert done.traffic is not None
    assert done.traffic.by_color == {GREEN: 1, BLUE: 1}  # the first tick, before; the one after the command
    assert done.traffic.first_new_ms is not None
    assert done.traffic.first_new_ms < 30


@dataclass
class FailingLive(FakeProber):
    """The old LIVE Green fails its users (HAProxy's own 503, no header) though its health checks still pass."""

    async def visit(self, app: AppEnvironment, through: str | None) -> Served:
        served = await super().visit(app, through)
        green = (served.served_by or "").startswith(app.switch.served_by(GREEN))
        return Served(503, None, None) if green else served


async def test_a_hotfix_for_a_failing_live_is_not_blamed_for_the_old_lives_errors() -> None:
    """The first tick leaves before the switch command and reaches the failing Green: that failure is the old
    LIVE's, shown apart; the release, whose requests after the command all reached a healthy Blue, succeeds."""
    world = slow_world(1, 0.05, WriteMapEntry)
    world.prober = FailingLive(world.hosts)
    outcome = await world.release()
    [done] = outcome.apps
    assert done.traffic is not None
    assert (done.traffic.failed, done.traffic.failed_old, done.traffic.by_color[BLUE]) == (0, 1, 1)
    assert done.result == "success"
    assert "0 failed (and 1 on the old LIVE Green, not counted)" in outcome_text(outcome)


async def test_when_verification_failed_the_switch_back_waits_for_no_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    """The public entry hangs and Blue is unhealthy: the release switches back at once, without the grace, and
    the requests still on their way count as unanswered."""
    monkeypatch.setattr(traffic, "GRACE_S", 5.0)
    world = scene(THEOSHIFT)
    world.prober = SlowProber(world.hosts, answer_s=30)
    for host in world.hosts.values():
        host.fail = meanwhile(BLUE, lambda: world.prober.unhealthy.add(BLUE))
    started = time.monotonic()
    outcome = await world.release()
    [done] = outcome.apps
    assert time.monotonic() - started < 2.0
    assert done.result == "rolled_back"
    assert done.traffic is not None
    assert done.traffic.failed + done.traffic.failed_old == done.traffic.requests >= 1
