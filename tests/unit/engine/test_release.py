"""A release walked through in-memory hosts: pre-flight, switch (all hosts or none), verify, switch back, record.

Every case asserts what each host was told, in order: the report can say anything, the hosts' changes are what
users got.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest

from bluegreen.engine.locks import locked
from bluegreen.engine.ports import Readiness
from bluegreen.engine.release import Effects, Request, preflight, release
from bluegreen.errors import RESULT_EXIT_CODES, LockBusyError, RuntimeApiError, UnreachableError
from bluegreen.model import (
    STEPS,
    AppEnvironment,
    AppOutcome,
    AppStatus,
    Color,
    ColorRecord,
    Outcome,
    Served,
    ServerView,
    Status,
    VerifySettings,
)
from bluegreen.report import outcome_text
from bluegreen.switching.base import Change, Persisted, RestoreFile, WriteMapEntry
from tests.doubles.haproxy import FakeHaproxy, FakeProber
from tests.doubles.ledger import FakeLedger
from tests.unit.engine.world import (
    BLUE,
    GREEN,
    LDC_TOOLS,
    MAP_BEFORE,
    MAP_FILE,
    NO_STATUS,
    SERVERS,
    THEOSHIFT,
    TO_BLUE,
    UNDO_BLUE,
    combined,
    desired,
    environments,
    fake_hosts,
    make_app,
    meanwhile,
    refusing,
    toward,
)

AT = "2026-11-24T12:00:00Z"
BOTH_METHODS = pytest.mark.parametrize("app", [THEOSHIFT, LDC_TOOLS], ids=["map", "servers"])


@dataclass
class Scene:
    """The world one release runs in; a case changes what it needs, then `release()`."""

    apps: tuple[AppEnvironment, ...]
    hosts: dict[str, FakeHaproxy]
    prober: FakeProber
    ledger: FakeLedger = field(default_factory=FakeLedger)
    refusal: str | None = None
    interrupted: bool = False
    said: list[str] = field(default_factory=list)

    async def release(self, to: Color = BLUE) -> Outcome:
        request = Request(desired(self.apps, to), environments(self.apps, self.hosts), NO_STATUS, refusal=self.refusal)
        effects = Effects(self.hosts, self.prober, self.said.append)
        if self.interrupted:
            effects.stop.set()
        return await release(request, effects, self.ledger, AT)

    def changes(self) -> dict[str, list[Change]]:
        return {name: host.changes for name, host in self.hosts.items()}

    def live(self, each: AppEnvironment) -> dict[str, Color | None]:
        return {name: host.live(each) for name, host in self.hosts.items()}


def scene(*apps: AppEnvironment, live: Color = GREEN, count: int = 2) -> Scene:
    hosts = fake_hosts(apps, *(f"lb{n}" for n in range(1, count + 1)), live=live)
    return Scene(apps, hosts, FakeProber(hosts))


def live_color(done: AppOutcome) -> Color | None:
    """The LIVE the outcome records (what status.json will say)."""
    return done.live.color if done.live else None


def forward_and_back(each: AppEnvironment) -> list[Change]:
    return [*TO_BLUE[each.switch.method], *UNDO_BLUE[each.switch.method]]


# --- success and no-op ----------------------------------------------------------------------------------------


@BOTH_METHODS
async def test_a_release_switches_every_host_by_the_methods_steps(app: AppEnvironment) -> None:
    world = scene(app)
    outcome = await world.release()
    [done] = outcome.apps
    assert (outcome.result, done.reason) == ("success", None)
    assert world.changes() == {"lb1": list(TO_BLUE[app.switch.method]), "lb2": list(TO_BLUE[app.switch.method])}
    assert world.live(app) == {"lb1": BLUE, "lb2": BLUE}
    assert done.hosts == {"lb1": "switched", "lb2": "switched"}
    assert [(step.name, step.ok) for step in done.steps] == [(name, True) for name in STEPS]
    assert done.live == ColorRecord(BLUE, "2.4.1", app.addresses[BLUE])


async def test_two_apps_of_one_request_are_both_switched() -> None:
    world = scene(THEOSHIFT, LDC_TOOLS)
    outcome = await world.release()
    assert [each.result for each in outcome.apps] == ["success", "success"]
    both = [*TO_BLUE["map"], *TO_BLUE["servers"]]
    assert world.changes() == {"lb1": both, "lb2": both}


@BOTH_METHODS
async def test_an_app_already_live_where_wanted_is_a_noop_that_changes_nothing(app: AppEnvironment) -> None:
    world = scene(app, live=BLUE)
    outcome = await world.release()
    assert outcome.result == "noop"
    assert world.changes() == {"lb1": [], "lb2": []}
    assert "Update state tracking" not in [step.name for step in outcome.apps[0].steps]


# --- refused: nothing is changed ------------------------------------------------------------------------------


def standby_unhealthy(world: Scene) -> None:
    world.prober.unhealthy.add(BLUE)


def refused_by_request(world: Scene) -> None:
    world.refusal = "status.json was edited by hand"


def refused_by_ledger(world: Scene) -> None:
    world.ledger.refusal = "the record on lb2 is newer than this run's history"


def other_app_refused(world: Scene) -> None:
    """ldc-tools' STANDBY is DOWN on lb2: theoshift could switch, but a release switches all its apps or none."""
    world.hosts["lb2"].servers[(SERVERS.backend, SERVERS.servers[BLUE])].status = "DOWN"


def interrupted(world: Scene) -> None:
    world.interrupted = True


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (standby_unhealthy, "STANDBY healthy: 0/3 health probes passed: status 503"),
        (refused_by_request, "refused, nothing was changed: status.json was edited by hand"),
        (refused_by_ledger, "refused, nothing was changed: the record on lb2 is newer than this run's history"),
        (other_app_refused, "held back, nothing was changed: ldc-tools was refused"),
        (interrupted, "interrupted before its switch: nothing was changed"),
    ],
)
async def test_a_refused_release_changes_nothing_on_any_host(make: Callable[[Scene], None], reason: str) -> None:
    world = scene(THEOSHIFT, LDC_TOOLS)
    make(world)
    outcome = await world.release()
    theoshift = outcome.apps[0]
    assert (outcome.result, theoshift.result) == ("refused", "refused")
    assert (theoshift.reason or "").startswith(reason)
    assert world.changes() == {"lb1": [], "lb2": []}
    assert world.live(THEOSHIFT) == world.live(LDC_TOOLS) == {"lb1": GREEN, "lb2": GREEN}
    assert ("public", None) not in world.prober.asked  # verification never started


async def test_a_refusal_is_said_before_anything_would_happen() -> None:
    world = scene(THEOSHIFT)
    standby_unhealthy(world)
    await world.release()
    assert world.said == ["pre-flight refused the release: nothing was changed"]


# --- the switch fails: every host back ------------------------------------------------------------------------


async def test_one_host_failing_its_runtime_change_switches_every_host_back() -> None:
    world = scene(THEOSHIFT)
    world.hosts["lb2"].fail = refusing(BLUE)
    outcome = await world.release()
    [done] = outcome.apps
    assert done.result == "rolled_back"
    assert (
        done.reason == "the switch failed; every host was read back on Green: lb2: HAProxy refused the switch to Blue"
    )
    assert done.hosts == {"lb1": "restored", "lb2": "failed: HAProxy refused the switch to Blue; restored"}
    assert world.changes() == {
        "lb1": forward_and_back(THEOSHIFT),
        "lb2": [TO_BLUE["map"][0], RestoreFile(MAP_FILE, MAP_BEFORE)],  # its file put back, nothing else undone
    }
    assert world.live(THEOSHIFT) == {"lb1": GREEN, "lb2": GREEN}
    assert {host.files[MAP_FILE] for host in world.hosts.values()} == {MAP_BEFORE}
    assert [(step.name, step.ok) for step in done.steps][2:] == [
        ("Switch HAProxy traffic", False),
        ("Update state tracking", True),
    ]


async def test_a_host_that_fails_before_it_changed_anything_is_unchanged_and_the_release_is_rolled_back() -> None:
    """Issue 8's false alarm: lb3 cannot write its map file (after the pre-flight proof, say the folder turned
    read-only): lb1 and lb2 are undone, lb3 is left alone, and nothing says "NOT restored"."""
    world = scene(THEOSHIFT, count=3)
    cannot_write = RuntimeApiError("lb3: cannot write /etc/haproxy/apps.map: Permission denied")
    world.hosts["lb3"].fail = lambda change: cannot_write if isinstance(change, WriteMapEntry) else None
    outcome = await world.release()
    [done] = outcome.apps
    assert (done.result, RESULT_EXIT_CODES[outcome.result]) == ("rolled_back", 4)
    assert done.hosts == {
        "lb1": "restored",
        "lb2": "restored",
        "lb3": "failed: lb3: cannot write /etc/haproxy/apps.map: Permission denied; unchanged",
    }
    assert world.changes()["lb3"] == []
    assert world.live(THEOSHIFT) == {"lb1": GREEN, "lb2": GREEN, "lb3": GREEN}
    assert "NOT" not in outcome_text(outcome)


async def test_a_change_whose_answer_was_lost_is_undone_and_the_host_read_back() -> None:
    """`set map` went through on lb2 but the connection broke before its answer: lb2 is undone like the others and
    read back on Green, so the release is rolled back, not failed."""
    world = scene(THEOSHIFT)
    broke = UnreachableError("lb2: the connection broke")
    world.hosts["lb2"].lose = lambda change: broke if toward(change, BLUE) else None
    outcome = await world.release()
    [done] = outcome.apps
    assert done.result == "rolled_back"
    assert done.hosts == {"lb1": "restored", "lb2": "failed: lb2: the connection broke; restored"}
    assert world.changes()["lb2"] == forward_and_back(THEOSHIFT)
    assert world.live(THEOSHIFT) == {"lb1": GREEN, "lb2": GREEN}


async def test_a_host_that_cannot_be_read_back_makes_the_release_failed() -> None:
    """Exit 5 only on what was observed: a host that cannot be read after the attempt is not known to be back."""
    world = scene(THEOSHIFT)
    lb2 = world.hosts["lb2"]

    def gone(change: Change) -> Exception | None:
        if toward(change, BLUE):
            lb2.down = True
            return UnreachableError("lb2: the connection broke")
        return None

    lb2.lose = gone
    outcome = await world.release()
    [done] = outcome.apps
    assert (done.result, RESULT_EXIT_CODES[outcome.result]) == ("failed", 5)
    assert done.hosts["lb1"] == "restored"
    assert done.hosts["lb2"] == "failed: lb2: the connection broke; unknown (unreachable: lb2: the connection broke)"
    assert (done.reason or "").startswith("the switch failed and traffic is NOT all back on Green: lb2 cannot be read")
    assert live_color(done) is GREEN


async def test_a_switch_that_cannot_be_undone_everywhere_is_failed() -> None:
    world = scene(THEOSHIFT)
    world.hosts["lb1"].fail, world.hosts["lb2"].fail = refusing(GREEN), refusing(BLUE)
    outcome = await world.release()
    [done] = outcome.apps
    assert done.result == "failed"
    assert (done.reason or "").startswith("the switch failed and traffic is NOT all back on Green: lb1 is on Blue; ")
    assert done.hosts == {"lb1": "switched", "lb2": "failed: HAProxy refused the switch to Blue; restored"}
    assert world.live(THEOSHIFT) == {"lb1": BLUE, "lb2": GREEN}


# --- verification fails: traffic goes back --------------------------------------------------------------------


@BOTH_METHODS
async def test_a_new_live_unhealthy_after_the_switch_is_switched_back(app: AppEnvironment) -> None:
    world = scene(app)
    for host in world.hosts.values():
        host.fail = meanwhile(BLUE, lambda: world.prober.unhealthy.add(BLUE))
    outcome = await world.release()
    [done] = outcome.apps
    assert done.result == "rolled_back"
    assert done.reason is not None
    assert done.reason.startswith("verification failed, traffic is back on Green: ")
    assert "the new LIVE Blue is unhealthy: status 503" in done.reason
    assert done.hosts == {"lb1": "restored", "lb2": "restored"}
    assert world.changes() == {"lb1": forward_and_back(app), "lb2": forward_and_back(app)}
    assert world.live(app) == {"lb1": GREEN, "lb2": GREEN}
    assert live_color(done) is GREEN
    assert ("Confirm switch", False) in [(step.name, step.ok) for step in done.steps]


async def test_with_rollback_off_a_failed_verification_leaves_the_new_live() -> None:
    stays = make_app("theoshift", THEOSHIFT.switch, verify=VerifySettings(rollback_on_failure=False))
    world = scene(stays)
    for host in world.hosts.values():
        host.fail = meanwhile(BLUE, lambda: world.prober.unhealthy.add(BLUE))
    outcome = await world.release()
    [done] = outcome.apps
    assert done.result == "failed"
    assert done.reason is not None
    assert done.reason.startswith("verification failed and automatic rollback is off, Blue stays LIVE: ")
    assert done.hosts == {"lb1": "switched", "lb2": "switched"}
    assert world.changes() == {"lb1": list(TO_BLUE["map"]), "lb2": list(TO_BLUE["map"])}
    assert world.live(stays) == {"lb1": BLUE, "lb2": BLUE}
    assert live_color(done) is BLUE


async def test_a_switch_back_that_fails_is_failed_and_the_report_says_traffic_stayed() -> None:
    """lb2 refuses to go back to Green: lb1 stays back on Green (never sent again to the color that just failed),
    the hosts disagree, and the report says which host is where."""
    world = scene(THEOSHIFT)
    unhealthy = meanwhile(BLUE, lambda: world.prober.unhealthy.add(BLUE))
    world.hosts["lb1"].fail = unhealthy
    world.hosts["lb2"].fail = combined(unhealthy, refusing(GREEN))
    outcome = await world.release()
    [done] = outcome.apps
    assert done.result == "failed"
    assert done.hosts == {"lb1": "restored", "lb2": "switched"}
    assert done.reason is not None
    assert done.reason.startswith(
        "verification failed and traffic could NOT be returned to Green everywhere: lb2 is on Blue "
        "(lb2: could not undo: HAProxy refused the switch to Green): "
    )
    assert world.live(THEOSHIFT) == {"lb1": GREEN, "lb2": BLUE}  # never back to the color that failed
    assert live_color(done) is GREEN
    assert "traffic could NOT be returned to Green" in outcome_text(outcome)


@dataclass
class BrokenPublicEntry(FakeProber):
    """The public entry raises what no adapter should (a bug of bluegreen's own, say): only verification asks it."""

    error: Exception = field(default_factory=lambda: TypeError("'NoneType' object is not subscriptable"))

    async def public(self, app: AppEnvironment, through: str | None) -> list[Served]:
        raise self.error


async def test_an_exception_during_verification_is_a_failed_verification_and_traffic_goes_back() -> None:
    world = scene(THEOSHIFT)
    world.prober = BrokenPublicEntry(world.hosts)
    outcome = await world.release()
    [done] = outcome.apps
    assert done.result == "rolled_back"
    assert done.reason == (
        "verification failed, traffic is back on Green: "
        "verification could not finish: TypeError: 'NoneType' object is not subscriptable"
    )
    assert world.changes() == {"lb1": forward_and_back(THEOSHIFT), "lb2": forward_and_back(THEOSHIFT)}
    assert world.live(THEOSHIFT) == {"lb1": GREEN, "lb2": GREEN}


# --- recording ------------------------------------------------------------------------------------------------


async def test_what_was_recorded_is_the_outcome_before_its_last_step() -> None:
    world = scene(THEOSHIFT)
    outcome = await world.release()
    [recorded] = world.ledger.recorded
    assert (recorded.result, recorded.at) == ("success", AT)
    assert [step.name for step in recorded.apps[0].steps] == list(STEPS[:-1])
    assert outcome.apps[0].steps[-1].detail == "recorded in memory"


async def test_a_ledger_that_fails_to_record_does_not_hide_what_traffic_did() -> None:
    world = scene(THEOSHIFT)
    world.ledger.error = OSError("disk full")
    outcome = await world.release()
    [done] = outcome.apps
    assert done.result == "success"
    assert (done.steps[-1].name, done.steps[-1].ok) == ("Update state tracking", False)
    assert done.steps[-1].detail == "status.json was not recorded: OSError: disk full"
    assert world.live(THEOSHIFT) == {"lb1": BLUE, "lb2": BLUE}


# --- the lock -------------------------------------------------------------------------------------------------


@dataclass
class LoggedLock(FakeHaproxy):
    """A host that writes down, in one log shared by every host, when it is locked and let go."""

    log: list[str] = field(default_factory=list)

    @asynccontextmanager
    async def lock(self, holder: str, wait_s: float) -> AsyncIterator[None]:
        async with super().lock(holder, wait_s):
            self.log.append(f"lock {self.name}")
            try:
                yield
            finally:
                self.log.append(f"unlock {self.name}")


def logged_hosts(*names: str) -> tuple[dict[str, LoggedLock], list[str]]:
    log: list[str] = []
    return {name: LoggedLock(name, log=log) for name in names}, log


async def test_every_hosts_lock_is_taken_at_once() -> None:
    """One round of round trips for N hosts: no host's lock waits for another's (taken one by one, the barrier
    below would never open)."""
    started = asyncio.Barrier(3)

    @dataclass
    class Slow(FakeHaproxy):
        @asynccontextmanager
        async def lock(self, holder: str, wait_s: float) -> AsyncIterator[None]:
            await asyncio.wait_for(started.wait(), 2)
            async with super().lock(holder, wait_s):
                yield

    hosts = {name: Slow(name) for name in ("lb3", "lb1", "lb2")}
    async with locked(hosts, "run-1", wait_s=0):
        assert {host.holder for host in hosts.values()} == {"run-1"}
    assert {host.holder for host in hosts.values()} == {None}


async def test_a_miss_lets_go_of_every_lock_taken_and_the_next_round_takes_them_all() -> None:
    hosts, log = logged_hosts("lb1", "lb2")
    hosts["lb2"].holder = "run-0"
    asyncio.get_running_loop().call_later(0.1, setattr, hosts["lb2"], "holder", None)  # run-0 finishes
    async with locked(hosts, "run-1", wait_s=5) as held:
        assert {host.holder for host in hosts.values()} == {"run-1"}
    assert (held.hosts, held.rounds > 1) == (("lb1", "lb2"), True)
    assert held.detail.startswith(f"held by this run on lb1, lb2 after {held.rounds} tries (")
    assert log[:2] == ["lock lb1", "unlock lb1"]  # never held while lb2 was busy
    assert sorted(log[-4:-2]) == ["lock lb1", "lock lb2"]


async def test_the_locks_held_are_shown_among_the_pre_flight_checks_of_each_app_that_switches() -> None:
    world = scene(THEOSHIFT, LDC_TOOLS)
    request = Request(desired(world.apps), environments(world.apps, world.hosts), NO_STATUS)
    async with locked(world.hosts, "run-1", wait_s=0) as held:
        assert held.detail == "held by this run on lb1, lb2"
        outcome = await release(
            request, Effects(world.hosts, world.prober, world.said.append, lock=held), world.ledger, AT
        )
    for done in outcome.apps:
        step = next(step for step in done.steps if step.name == "Verify LIVE")
        assert "release lock: held by this run on lb1, lb2" in step.detail


async def test_every_hosts_lock_is_let_go_at_once() -> None:
    """One round trip for N hosts at the end too: let go one after the other, the barrier would never open."""
    letting_go = asyncio.Barrier(3)

    @dataclass
    class Slow(FakeHaproxy):
        @asynccontextmanager
        async def lock(self, holder: str, wait_s: float) -> AsyncIterator[None]:
            async with super().lock(holder, wait_s):
                try:
                    yield
                finally:
                    await asyncio.wait_for(letting_go.wait(), 2)

    hosts = {name: Slow(name) for name in ("lb3", "lb1", "lb2")}
    async with locked(hosts, "run-1", wait_s=0):
        pass
    assert {host.holder for host in hosts.values()} == {None}


@pytest.mark.parametrize("busy", ["lb1", "lb2"])
async def test_when_the_wait_runs_out_the_error_names_the_holder_and_no_lock_is_kept(busy: str) -> None:
    hosts, _ = logged_hosts("lb2", "lb1")
    hosts[busy].holder = "GitHub run 4242"
    with pytest.raises(LockBusyError, match=f"{busy}: another release holds the lock .*GitHub run 4242.*waited 0.3 s"):
        async with locked(hosts, "run-1", wait_s=0.3):
            pytest.fail("the body must not run without every lock")
    assert {name: host.holder for name, host in hosts.items()} == {"lb2": None, "lb1": None, busy: "GitHub run 4242"}


async def test_two_runs_at_once_on_the_same_hosts_both_finish_and_never_overlap() -> None:
    """Each run may take a part of the locks in a round; a miss lets go of that part, so neither waits on the
    other for ever (taking them one by one without that, each could hold one and wait for the other's)."""
    hosts = {name: FakeHaproxy(name) for name in ("lb1", "lb2", "lb3")}
    inside: list[str] = []

    async def run(name: str) -> None:
        async with locked(hosts, name, wait_s=10):
            inside.append(name)
            assert {host.holder for host in hosts.values()} == {name}
            await asyncio.sleep(0.05)
            inside.remove(name)

    await asyncio.wait_for(asyncio.gather(run("A"), run("B")), 10)
    assert inside == []
    assert {host.holder for host in hosts.values()} == {None}


# --- pre-flight: the switch can be made and kept on every host, proven before the first one changes ------------


def fault_on(host: FakeHaproxy, fault: str) -> None:
    if fault == "read-only map folder":
        host.read_only.add(MAP_FILE.rsplit("/", 1)[0])
    elif fault == "no SFTP":
        host.sftp = False
    elif fault == "operator level":
        host.level = "operator"
    else:
        del host.files[MAP_FILE]


@pytest.mark.parametrize(
    ("fault", "said"),
    [
        ("read-only map folder", f"{MAP_FILE} cannot be replaced"),
        ("no SFTP", "lb2: cannot start SFTP"),
        ("operator level", "lb2: the runtime socket is at level 'operator'"),
        ("map file gone", f"{MAP_FILE} does not exist"),
    ],
)
async def test_a_host_that_could_not_make_or_keep_the_switch_refuses_it_before_any_host_changes(
    fault: str, said: str
) -> None:
    """The false alarm of a half-done switch ("lb2: NOT restored" while nothing changed) cannot happen: the release
    is refused with the reason, and no host, not even the healthy one, is touched."""
    world = scene(THEOSHIFT)
    fault_on(world.hosts["lb2"], fault)
    outcome = await world.release()
    [done] = outcome.apps
    assert outcome.result == "refused"
    assert "lb2: switch can be made and kept" in (done.reason or "")
    assert said in (done.reason or "")
    assert world.changes() == {"lb1": [], "lb2": []}
    assert world.live(THEOSHIFT) == {"lb1": GREEN, "lb2": GREEN}


async def test_the_plan_says_the_switch_can_be_made_and_kept_on_each_host_it_changes() -> None:
    world = scene(THEOSHIFT)
    request = Request(desired(world.apps, BLUE), environments(world.apps, world.hosts), NO_STATUS)
    plan, _, _ = await preflight(request, world.hosts, world.prober)
    [app] = plan.apps
    ready = [(check.name, check.ok, check.detail) for check in app.checks if "kept" in check.name]
    assert ready == [
        (f"{host}: switch can be made and kept", True, f"level admin; {MAP_FILE} can be replaced")
        for host in ("lb1", "lb2")
    ]
    assert world.changes() == {"lb1": [], "lb2": []}


async def test_an_app_with_nothing_to_switch_is_not_refused_by_what_would_stop_a_switch() -> None:
    world = scene(THEOSHIFT)
    fault_on(world.hosts["lb2"], "no SFTP")  # would refuse a switch, but there is none: already LIVE
    outcome = await world.release(GREEN)
    assert outcome.result == "noop"


def recorded_live(app: AppEnvironment, color: Color) -> Status:
    return Status({app.name: AppStatus(live=ColorRecord(color, "2.4.0", app.addresses[color]))})


async def test_no_proof_is_asked_when_the_record_says_the_wanted_color_is_live_already() -> None:
    world = scene(THEOSHIFT)
    request = Request(
        desired(world.apps, GREEN), environments(world.apps, world.hosts), recorded_live(THEOSHIFT, GREEN)
    )
    plan, _, _ = await preflight(request, world.hosts, world.prober)
    assert [app.action for app in plan.apps] == ["noop"]
    assert [host.asked_readiness for host in world.hosts.values()] == [[], []]


async def test_the_proof_of_a_likely_switch_is_asked_with_the_observation_not_after_it() -> None:
    """Over a long round trip, asked after the plan the proof would cost its round trips again: here each host
    answers `show stat` only once its proof was asked, so the pre-flight would never end if it waited."""
    asked = {name: asyncio.Event() for name in ("lb1", "lb2")}

    @dataclass
    class Together(FakeHaproxy):
        async def stats(self) -> tuple[ServerView, ...]:
            await asyncio.wait_for(asked[self.name].wait(), 2)
            return await super().stats()

        async def readiness(self, files: Sequence[Persisted]) -> Readiness:
            asked[self.name].set()
            return await super().readiness(files)

    world = scene(THEOSHIFT)
    world.hosts = {name: Together(**vars(host)) for name, host in world.hosts.items()}
    request = Request(desired(world.apps, BLUE), environments(world.apps, world.hosts), recorded_live(THEOSHIFT, GREEN))
    plan, _, _ = await preflight(request, world.hosts, world.prober)
    [app] = plan.switches
    assert all(check.ok for check in app.checks if "kept" in check.name)
    assert [len(host.asked_readiness) for host in world.hosts.values()] == [1, 1]


async def test_a_switch_the_record_did_not_foresee_is_still_proven_before_it_is_made() -> None:
    """The record says Blue is LIVE, as live.json asks, but the hosts route to Green: the plan switches, and the
    proof is asked after it (here it refuses)."""
    world = scene(THEOSHIFT)
    fault_on(world.hosts["lb2"], "no SFTP")
    request = Request(desired(world.apps, BLUE), environments(world.apps, world.hosts), recorded_live(THEOSHIFT, BLUE))
    plan, _, _ = await preflight(request, world.hosts, world.prober)
    [app] = plan.apps
    assert app.action == "refuse"
    assert any(not check.ok and "lb2: switch can be made and kept" in check.name for check in app.checks)
    assert [len(host.asked_readiness) for host in world.hosts.values()] == [1, 1]


async def test_each_host_is_asked_for_proof_once_for_every_app_that_would_switch_there() -> None:
    world = scene(THEOSHIFT, LDC_TOOLS)
    outcome = await world.release()
    assert outcome.result == "success"
    for host in world.hosts.values():
        [files] = host.asked_readiness  # one round trip of proof per host, not one per app
        assert [file.path for file in files] == [MAP_FILE, SERVERS.state_file]
