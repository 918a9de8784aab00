"""When things go wrong mid-release: all hosts or none, switch back after a failed verification, locks."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, contextmanager
from pathlib import Path
from typing import Any, TypeVar

import asyncssh
import pytest

from bluegreen import config
from bluegreen.adapters.file_ledger import FileLedger
from bluegreen.adapters.files import WorkingTree
from bluegreen.adapters.ssh import SshConnector, connected
from bluegreen.adapters.sshkeys import Credentials, load_credentials
from bluegreen.core import haproxy
from bluegreen.engine.ports import Applied, HaproxyPort, Readiness
from bluegreen.engine.release import Effects, Request, release
from bluegreen.errors import RESULT_EXIT_CODES, RuntimeApiError
from bluegreen.model import Color, HaproxyHost, HostInfo, Outcome, ServerView
from bluegreen.report import outcome_text
from bluegreen.switching.base import (
    Answers,
    Change,
    KeptMapEntry,
    KeptServerStates,
    Persisted,
    Read,
    SetMapEntry,
    SetServerStates,
    kept_path,
)
from bluegreen_lab import Sandbox
from tests.integration.conftest import Consumer, MakeConsumer
from tests.integration.faults import Matrix, shown
from tests.integration.load import loaded
from tests.integration.test_release import ldc_states, theoshift_route
from tests.integration.test_sandbox import connect

pytestmark = pytest.mark.integration
T = TypeVar("T")


class Faulty:
    """A real host's port that fails (once) the nth operation whose runtime command contains `fail_on`, or runs
    `after` once such an operation succeeded: faults injected at the one place a network would inject them."""

    def __init__(
        self, inner: HaproxyPort, fail_on: str, after: Callable[[], None] | None = None, *, nth: int = 1
    ) -> None:
        self.inner, self.fail_on, self.after, self.fired = inner, fail_on, after, False
        self.seen, self.nth = 0, nth  # the fault strikes the nth matching operation

    @property
    def host(self) -> HaproxyHost:
        return self.inner.host

    async def strike(self, command: str, call: Callable[[], Awaitable[T]]) -> T:
        self.seen += self.fail_on in command
        hit = self.fail_on in command and not self.fired and self.seen == self.nth
        if hit and self.after is None:
            self.fired = True
            raise RuntimeApiError(f"{self.host.name}: injected failure of `{command}`")
        answer = await call()
        if hit and self.after is not None:
            self.fired = True
            self.after()
        return answer

    async def info(self) -> HostInfo:
        return await self.strike(haproxy.SHOW_INFO, self.inner.info)

    async def stats(self) -> tuple[ServerView, ...]:
        return await self.strike(haproxy.SHOW_STAT, self.inner.stats)

    async def read(self, reads: Sequence[Read]) -> Answers:
        commands = "; ".join(_read_named(read) for read in reads)
        return await self.strike(commands, lambda: self.inner.read(reads))

    async def apply(self, change: Change) -> Applied:
        return await self.strike(_named(change), lambda: self.inner.apply(change))

    def lock(self, holder: str, wait_s: float) -> AbstractAsyncContextManager[None]:
        return self.inner.lock(holder, wait_s)

    async def lock_holder(self) -> str | None:
        return await self.inner.lock_holder()

    async def readiness(self, files: Sequence[Persisted]) -> Readiness:
        return await self.strike(haproxy.SHOW_CLI_LEVEL, lambda: self.inner.readiness(files))

    async def recall(self, record: str) -> str | None:
        return await self.inner.recall(record)

    async def keep(self, record: str, text: str) -> None:
        await self.inner.keep(record, text)


Wrap = Callable[[Mapping[str, HaproxyPort]], Mapping[str, HaproxyPort]]


def state_and_keys(consumer: Consumer) -> tuple[config.State, Credentials]:
    """The consumer's state files and the lab's deploy key, as `bluegreen release --repo` reads them."""
    return state_and_keys_of(consumer.path, consumer.lab.private_key)


def state_and_keys_of(path: Path, key: str) -> tuple[config.State, Credentials]:
    repo = WorkingTree(path)
    state = config.load_state(repo)
    environ = {"BLUEGREEN_SSH_KEY": key}
    return state, load_credentials(state.environments.ssh, repo, environ, state.environments_path)


def release_with(consumer: Consumer, wrap: Wrap, only: tuple[str, ...] = ("theoshift",)) -> Outcome:
    state, credentials = state_and_keys(consumer)
    request = Request(state.desired, state.environments, state.status, only)

    async def run() -> Outcome:
        async with SshConnector(credentials).reach(state.environments.hosts) as real:
            effects = Effects(wrap(real.hosts), real.probes, lambda _: None)
            return await release(request, effects, FileLedger(state, consumer.path), "2026-11-24T00:00:00Z")

    return asyncio.run(run())


def test_one_host_failing_switches_every_host_back(
    make_sandbox: Callable[..., Sandbox], make_consumer: MakeConsumer
) -> None:
    lab = make_sandbox(hosts=2)
    consumer = make_consumer(lab)
    outcome = release_with(consumer, lambda s: {"lb1": s["lb1"], "lb2": Faulty(s["lb2"], "set map")})
    app = outcome.apps[0]
    assert app.result == "rolled_back"
    assert [(step.name, step.ok) for step in app.steps][2:] == [
        ("Switch HAProxy traffic", False),
        ("Update state tracking", True),
    ]
    assert app.hosts["lb1"] == "restored"
    assert app.hosts["lb2"].startswith("failed: lb2: injected failure of `set map")
    assert app.hosts["lb2"].endswith("; restored")
    assert [theoshift_route(lab, host) for host in (0, 1)] == ["theoshift_green", "theoshift_green"]
    map_file = lab.environments["apps"]["theoshift"]["switch"]["map_file"]
    with open(map_file, encoding="utf-8") as handle:
        assert "theoshift_green" in handle.read()


def test_a_host_that_fails_before_it_changed_anything_is_left_alone_and_the_release_rolled_back(
    make_sandbox: Callable[..., Sandbox], make_consumer: MakeConsumer, fault: Matrix
) -> None:
    """Issue 8's false alarm: lb2's map file write fails (its first step); lb1 is undone, lb2 is not touched
    again, every host is read back on Green, and nothing asks for a person (exit 4, not 5). (Two hosts, not three:
    the lab's hosts share one map file on this one machine, so only one host may write it in a row that checks
    what a reload would read.)"""
    lab = make_sandbox(hosts=2)
    consumer = make_consumer(lab)
    where = "lb2 of 2: the map file write, its first step, fails (after the pre-flight proof)"
    watch = fault.watch("A host fails before it changed anything", where, lab, consumer.status)
    outcome = release_with(consumer, lambda s: {**s, "lb2": Faulty(s["lb2"], "WriteMapEntry")})
    watch.record(*shown(outcome), said="every host was read back on Green")
    app = outcome.apps[0]
    assert (app.result, RESULT_EXIT_CODES[outcome.result]) == ("rolled_back", 4)
    assert app.hosts == {"lb1": "restored", "lb2": "failed: lb2: injected failure of `WriteMapEntry`; unchanged"}
    assert (app.reason or "").startswith("the switch failed; every host was read back on Green: ")
    assert "NOT" not in outcome_text(outcome)
    assert [theoshift_route(lab, host) for host in (0, 1)] == ["theoshift_green"] * 2


@pytest.mark.parametrize("death", ["unhealthy", pytest.param("killed", marks=pytest.mark.slow)])
def test_a_failed_verification_switches_back_and_keeps_the_release_on_standby(
    consumer: Consumer, sandbox: Sandbox, fault: Matrix, death: str
) -> None:
    def break_new_live() -> None:
        if death == "killed":
            sandbox.stop_app("theoshift", Color.BLUE)
        else:
            sandbox.set_app("theoshift", Color.BLUE, healthy=False)

    name, where = {
        "unhealthy": ("The new LIVE turns unhealthy right after the switch", "its health check answers 503"),
        "killed": ("The new LIVE dies right after the switch, under load", "its app server stopped"),
    }[death]
    watch = fault.watch(name, f"theoshift Blue, right after `set map` on lb1: {where}", sandbox, consumer.status)
    with loaded(sandbox, ("theoshift",)) as load:
        outcome = release_with(consumer, lambda s: {"lb1": Faulty(s["lb1"], "set map", after=break_new_live)})
        load.settle()
    app = outcome.apps[0]
    assert app.result == "rolled_back"
    assert "the new LIVE Blue is unhealthy" in (app.reason or "")
    assert [step.ok for step in app.steps] == [True, True, True, False, True]  # the rollback is recorded
    assert theoshift_route(sandbox) == "theoshift_green"
    assert (app.live and app.live.color, app.standby and app.standby.color) == (Color.GREEN, Color.BLUE)
    watch.record(*shown(outcome), said="the new LIVE Blue is unhealthy", load=load.seen if death == "killed" else None)


def test_a_switch_back_puts_the_server_state_file_back_as_it_was(consumer: Consumer, sandbox: Sandbox) -> None:
    """The `servers` switch dumps the server-state file; its undo puts back the very text it held, so a reload
    after the switch back reads the old LIVE."""
    state_file = Path(sandbox.environments["apps"]["ldc-tools"]["switch"]["state_file"])
    before = state_file.read_text()

    def break_new_live() -> None:
        sandbox.set_app("ldc-tools", Color.GREEN, healthy=False)

    wrap: Wrap = lambda s: {"lb1": Faulty(s["lb1"], "set server", after=break_new_live)}  # noqa: E731
    outcome = release_with(consumer, wrap, only=("ldc-tools",))
    app = outcome.apps[0]
    assert (app.result, app.hosts) == ("rolled_back", {"lb1": "restored"})
    assert state_file.read_text() == before
    assert ldc_states(sandbox) == {"blue": "0", "green": "8"}


def edit_environments(consumer: Consumer, change: Callable[[dict[str, Any]], None]) -> None:
    path = consumer.path / "state" / "environments.json"
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document, indent=2))


def test_users_not_reaching_the_new_live_is_a_rollback_with_exit_code_4(
    consumer: Consumer, sandbox: Sandbox, fault: Matrix
) -> None:
    def wrong_public_host(document: dict[str, Any]) -> None:
        document["apps"]["theoshift"]["public"]["host_header"] = "nobody.example.test"

    edit_environments(consumer, wrong_public_host)
    where = "environments.json: theoshift's public entry asked with a Host header HAProxy routes nowhere"
    watch = fault.watch("Users do not reach the new LIVE", where, sandbox, consumer.status)
    ran = consumer.run("release", "--app", "theoshift")
    assert ran.code == 4, ran.out
    watch.record(ran.code, ran.out, said="did not reach Blue")
    assert "did not reach Blue" in ran.out
    assert theoshift_route(sandbox) == "theoshift_green"
    assert consumer.status()["apps"]["theoshift"]["last_release"]["result"] == "rolled_back"


def test_without_automatic_rollback_a_failed_verification_leaves_the_new_live_and_exits_5(
    consumer: Consumer, sandbox: Sandbox, fault: Matrix
) -> None:
    host = "theoshift.example.test"

    def no_rollback(document: dict[str, Any]) -> None:
        document["apps"]["theoshift"]["public"]["host_header"] = "nobody.example.test"
        document["apps"]["theoshift"]["verify"]["rollback_on_failure"] = False

    edit_environments(consumer, no_rollback)
    where = "as in the row above, with `verify.rollback_on_failure` false"
    watch = fault.watch("Users do not reach the new LIVE, automatic rollback off", where, sandbox, consumer.status)
    ran = consumer.run("release", "--app", "theoshift")
    assert ran.code == 5, ran.out
    assert "automatic rollback is off" in ran.out
    assert theoshift_route(sandbox) == "theoshift_blue"
    watch.record(ran.code, ran.out, said="automatic rollback is off")
    # Reverting the PR (with the entry fixed) is still the way back: a rollback, though Green runs the older version.
    edit_environments(consumer, lambda document: document["apps"]["theoshift"]["public"].update(host_header=host))
    consumer.live(theoshift="green")
    back = consumer.run("release", "--app", "theoshift")
    assert back.code == 0, back.out
    assert theoshift_route(sandbox) == "theoshift_green"
    assert consumer.status()["apps"]["theoshift"]["last_release"]["kind"] == "rollback"


def test_a_held_lock_makes_the_release_wait_then_give_up_naming_the_holder(
    consumer: Consumer, sandbox: Sandbox, fault: Matrix
) -> None:
    def short_wait(document: dict[str, Any]) -> None:
        document["haproxy"]["lock"] = {"wait_s": 1}

    edit_environments(consumer, short_wait)
    state, credentials = state_and_keys(consumer)
    where = "lb1: another run (GitHub run 4242) holds the release lock for longer than `wait_s` (1 s)"
    watch = fault.watch("A lock held by another run", where, sandbox, consumer.status)

    async def hold_and_try() -> Any:
        async with (
            connected(state.environments.hosts, credentials) as sessions,
            sessions["lb1"].lock("GitHub run 4242", 5),
        ):
            return await asyncio.to_thread(consumer.run, "release")

    ran = asyncio.run(hold_and_try())
    assert ran.code == 6
    assert "another release holds the lock" in ran.err
    assert "GitHub run 4242" in ran.err
    assert theoshift_route(sandbox) == "theoshift_green"
    assert ldc_states(sandbox) == {"blue": "0", "green": "8"}
    watch.record(ran.code, ran.out + ran.err, said="another release holds the lock")


def test_a_crashed_runs_lock_does_not_block(consumer: Consumer, sandbox: Sandbox, fault: Matrix) -> None:
    state, credentials = state_and_keys(consumer)
    where = "lb1: an earlier run took the lock, then its SSH connection dropped without letting go"
    watch = fault.watch("A crashed run's lock", where, sandbox, consumer.status)

    async def take_and_vanish() -> None:
        async with connected(state.environments.hosts, credentials) as sessions:
            await sessions["lb1"].lock("a run that crashes", 5).__aenter__()
            sessions["lb1"]._link.connection.conn.abort()  # the connection drops without releasing anything

    asyncio.run(take_and_vanish())
    ran = consumer.run("release")
    assert ran.code == 0, ran.err + ran.out
    watch.record(ran.code, ran.out, said="New LIVE: Blue")


def test_a_switch_back_that_fails_on_one_host_leaves_the_others_on_the_old_live_and_says_so(
    make_sandbox: Callable[..., Sandbox], make_consumer: MakeConsumer
) -> None:
    """The new LIVE failed; lb2 cannot go back. lb1 stays on Green: users are never sent again to the color that
    just failed to make the hosts agree. The result is `failed` (a person must act) and names where each host is."""
    lab = make_sandbox(hosts=2)
    consumer = make_consumer(lab)

    def break_new_live() -> None:
        lab.set_app("theoshift", Color.BLUE, healthy=False)

    outcome = release_with(
        consumer,
        lambda s: {
            "lb1": Faulty(s["lb1"], "set map", after=break_new_live),
            "lb2": Faulty(s["lb2"], "set map", nth=2),  # the switch back fails on lb2
        },
    )
    app = outcome.apps[0]
    assert (app.result, RESULT_EXIT_CODES[outcome.result]) == ("failed", 5)
    assert "could NOT be returned to Green everywhere: lb2 is on Blue (lb2: could not undo: lb2: injected" in (
        app.reason or ""
    )
    assert app.hosts == {"lb1": "restored", "lb2": "switched"}  # read back
    assert [theoshift_route(lab, host) for host in (0, 1)] == ["theoshift_green", "theoshift_blue"]
    assert (app.live and app.live.color) == Color.GREEN


def test_a_lock_that_cannot_be_taken_says_why_and_changes_nothing(
    consumer: Consumer, sandbox: Sandbox, fault: Matrix
) -> None:
    def unusable_lock(document: dict[str, Any]) -> None:
        document["haproxy"]["hosts"][0]["lock_path"] = "/nonexistent-bluegreen-dir/bluegreen.lock"

    edit_environments(consumer, unusable_lock)
    where = "lb1: the lock file's folder does not exist"
    watch = fault.watch("The lock cannot be taken", where, sandbox, consumer.status)
    ran = consumer.run("release")
    assert ran.code == 6
    watch.record(ran.code, ran.out + ran.err, said="cannot take the release lock")
    assert "lb1: cannot take the release lock /nonexistent-bluegreen-dir/bluegreen.lock" in ran.err
    assert "No such file or directory" in ran.err
    assert theoshift_route(sandbox) == "theoshift_green"


def test_verification_that_cannot_finish_switches_back(consumer: Consumer, sandbox: Sandbox, fault: Matrix) -> None:
    where = "lb1: the runtime API's `show stat` fails during verification (after the switch)"
    watch = fault.watch("Verification cannot finish", where, sandbox, consumer.status)
    # The pre-flight reads `show stat` once; the second one, during verification, fails.
    outcome = release_with(consumer, lambda s: {"lb1": Faulty(s["lb1"], "show stat", nth=2)})
    app = outcome.apps[0]
    assert app.result == "rolled_back"
    assert "verification could not finish: lb1: injected failure of `show stat`" in (app.reason or "")
    assert theoshift_route(sandbox) == "theoshift_green"
    watch.record(*shown(outcome), said="verification could not finish")


class Buggy(Faulty):
    """A host's port on which the nth `fail_on` operation raises what no adapter ever should: a bug's TypeError."""

    async def strike(self, command: str, call: Callable[[], Awaitable[T]]) -> T:
        self.seen += self.fail_on in command
        if self.fail_on in command and self.seen == self.nth:
            raise TypeError("'float' object cannot be interpreted as an integer")
        return await call()


def test_any_exception_after_the_switch_is_a_failed_verification_and_traffic_goes_back(
    consumer: Consumer, sandbox: Sandbox
) -> None:
    # `show stat` runs once in the pre-flight; the second is verification's, after the switch
    outcome = release_with(consumer, lambda s: {"lb1": Buggy(s["lb1"], "show stat", nth=2)})
    app = outcome.apps[0]
    assert app.result == "rolled_back"
    assert "verification could not finish: TypeError" in (app.reason or "")
    assert [step.ok for step in app.steps] == [True, True, True, False, True]  # verified, switched back, recorded
    assert app.hosts == {"lb1": "restored"}
    assert theoshift_route(sandbox) == "theoshift_green"


def _read_named(read: Read) -> str:
    """A read as the faults match it: a runtime read by its command, a file read by its kind and path."""
    if isinstance(read, KeptMapEntry | KeptServerStates):
        return f"{type(read).__name__} {kept_path(read)}"
    return haproxy.read_command(read)


def _named(change: Change) -> str:
    """A change as the faults match it: a runtime change by its command line, a file write by its kind."""
    if isinstance(change, SetMapEntry | SetServerStates):
        return haproxy.change_command(change)
    return type(change).__name__


@contextmanager
def unwritable(folder: Path) -> Iterator[None]:
    """No new file can be made in `folder`, for root too (an immutable folder), as on a read-only mount."""
    mode = folder.stat().st_mode
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(folder)], check=True)
    else:
        folder.chmod(0o555)
    try:
        yield
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        else:
            folder.chmod(mode)


def test_a_map_file_that_cannot_be_replaced_refuses_the_release_and_changes_nothing(
    consumer: Consumer, sandbox: Sandbox, fault: Matrix
) -> None:
    """Proven before the first change: no half-done switch to restore, no false "NOT restored" alarm."""
    map_file = Path(sandbox.environments["apps"]["theoshift"]["switch"]["map_file"])
    before = map_file.read_text()
    where = "lb1: the map file's folder read-only (no new file can be made in it), before the run"
    watch = fault.watch("The map file's folder is read-only", where, sandbox, consumer.status)
    with unwritable(map_file.parent):
        ran = consumer.run("release")
    watch.record(ran.code, ran.out + ran.err, said="cannot be replaced")
    assert ran.code == 3, ran.err + ran.out
    assert "lb1: switch can be made and kept" in ran.out
    assert f"{map_file} cannot be replaced" in ran.out
    assert "MANUAL ACTION" not in ran.out
    assert (theoshift_route(sandbox), map_file.read_text()) == ("theoshift_green", before)
    assert ldc_states(sandbox) == {"blue": "0", "green": "8"}


def without_sftp(lab: Sandbox, host: int) -> None:
    """Harden one lab host the way some are: its sshd serves no SFTP subsystem (SIGHUP: sshd reads its config again).
    Done once a new login is refused SFTP: until sshd has re-executed, its old listener may still answer."""
    folder = lab.dir / f"lb{host + 1}"
    config = folder / "sshd_config"
    config.write_text("".join(line for line in config.read_text().splitlines(True) if not line.startswith("Subsystem")))
    os.kill(int((folder / "sshd.pid").read_text()), signal.SIGHUP)

    async def refused_sftp() -> bool:
        refused = False
        try:
            async with await connect(lab, host) as conn:
                try:
                    (await conn.start_sftp_client()).exit()
                except (asyncssh.Error, OSError):
                    refused = True
        except (asyncssh.Error, OSError):  # not listening again yet
            return False
        return refused

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if asyncio.run(refused_sftp()):
            return
        time.sleep(0.05)
    raise AssertionError(f"lb{host + 1}'s sshd did not come back without SFTP")


def test_a_host_without_sftp_refuses_the_release_before_any_host_changes(
    make_sandbox: Callable[..., Sandbox], make_consumer: MakeConsumer, fault: Matrix
) -> None:
    """Without SFTP the switch could not be persisted there: refused with the reason, lb1 untouched too."""
    lab = make_sandbox(hosts=2)
    consumer = make_consumer(lab)
    watch = fault.watch(
        "A host without the SFTP subsystem", "lb2 of 2: sshd serves no `Subsystem sftp`", lab, consumer.status
    )
    without_sftp(lab, 1)
    ran = consumer.run("release")
    watch.record(ran.code, ran.out + ran.err, said="lb2: cannot start SFTP")
    assert ran.code == 3, ran.err + ran.out
    assert "lb2: switch can be made and kept" in ran.out
    assert "lb2: cannot start SFTP" in ran.out
    assert "MANUAL ACTION" not in ran.out
    assert [theoshift_route(lab, host) for host in (0, 1)] == ["theoshift_green", "theoshift_green"]
    assert [ldc_states(lab, host) for host in (0, 1)] == [{"blue": "0", "green": "8"}] * 2
