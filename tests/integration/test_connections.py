"""Connections that die mid-run and remote operations that hang, against the real lab: sshd's session killed with
SIGKILL, HAProxy and the SFTP server stopped with SIGSTOP. A dropped connection is made again once, and the lock
with it; a read is asked again, a change never; every hang ends at `ssh.operation_timeout_s`."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

import pytest

from bluegreen.adapters.ssh import SshHost, connected
from bluegreen.core.record import record_name
from bluegreen.engine.ports import Applied, HaproxyPort
from bluegreen.errors import LockBusyError, UnreachableError
from bluegreen.model import Color, ServerView
from bluegreen.switching.base import Change, SetMapEntry
from bluegreen_lab import Sandbox
from bluegreen_lab.processes import command_line, descendants
from tests.conftest import MakeSandbox
from tests.integration.conftest import Consumer, MakeConsumer
from tests.integration.faults import Matrix
from tests.integration.test_failures import edit_environments, state_and_keys
from tests.integration.test_release import MAP_KEY, ldc_states, theoshift_route

pytestmark = pytest.mark.integration

RECORD = record_name("acme/ops", "state/status.json")


def client_port(port: HaproxyPort) -> int:
    """The local port of the run's SSH connection to that host: how sshd's log and /proc/net/tcp know it."""
    assert isinstance(port, SshHost)
    sockname: tuple[str, int] = port._link.connection.conn.get_extra_info("sockname")
    return sockname[1]


def kill(lab: Sandbox, pids: Sequence[int], host: int = 0) -> None:
    """SIGKILL those sshd sessions, and wait until they are gone."""
    assert pids, "no sshd session to kill"
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while set(pids) & set(lab.ssh_sessions(host)):
        assert time.monotonic() < deadline, f"sshd sessions {pids} outlived SIGKILL"
        time.sleep(0.01)


def kill_session(lab: Sandbox, port: HaproxyPort, host: int = 0) -> None:
    kill(lab, lab.ssh_session(client_port(port), host), host)


@contextmanager
def stopped(pids: Sequence[int]) -> Iterator[None]:
    """The processes frozen (SIGSTOP) for the block, as a hung process or a host that stopped answering."""
    assert pids, "nothing to stop"
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


def short_operations(seconds: float) -> Any:
    def change(document: dict[str, Any]) -> None:
        document["ssh"]["operation_timeout_s"] = seconds

    return change


def lock_is_held(lab: Sandbox) -> bool:
    """Whether someone holds lb1's release lock now: the lab's lock file is on this machine."""
    lock_path = lab.environments["haproxy"]["lock"]["path"]
    return subprocess.run(["flock", "-n", "-E", "99", lock_path, "true"], check=False).returncode == 99


def map_entry(lab: Sandbox, color: Color) -> SetMapEntry:
    switch = lab.environments["apps"]["theoshift"]["switch"]
    return SetMapEntry(switch["map_file"], MAP_KEY, switch["backends"][color.value])


# --- a drop between operations: made again, and the run goes on ------------------------------------------------


def kill_after_the_switch(
    monkeypatch: pytest.MonkeyPatch, lab: Sandbox, also: Callable[[], None] = lambda: None
) -> tuple[list[int], list[bool]]:
    """The session of lb1's connection is killed right after theoshift's switch (its `set map`, the last step);
    from then on, every `show stat` (verification's) notes whether the release lock is held again."""
    killed: list[int] = []
    locked_after: list[bool] = []
    real_apply, real_stats = SshHost.apply, SshHost.stats

    async def apply(self: SshHost, change: Change) -> Applied:
        applied = await real_apply(self, change)
        if isinstance(change, SetMapEntry) and not killed:
            killed.append(client_port(self))
            kill_session(lab, self)
            also()
        return applied

    async def stats(self: SshHost) -> tuple[ServerView, ...]:
        answer = await real_stats(self)
        if killed:
            locked_after.append(lock_is_held(lab))
        return answer

    monkeypatch.setattr(SshHost, "apply", apply)
    monkeypatch.setattr(SshHost, "stats", stats)
    return killed, locked_after


def test_a_session_killed_between_switch_and_verification_is_made_again_and_the_release_succeeds(
    consumer: Consumer, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, fault: Matrix
) -> None:
    killed, locked_after = kill_after_the_switch(monkeypatch, sandbox)
    where = "lb1: the run's sshd session SIGKILLed right after `set map`, before verification"
    watch = fault.watch("sshd killed between the switch and the verification", where, sandbox, consumer.status)
    ran = consumer.run("release")
    watch.record(ran.code, ran.out, said="New LIVE: Blue")
    assert ran.code == 0, ran.err + ran.out
    logins = sandbox.ssh_logins()
    assert len(killed) == 1
    assert len(logins) == 2  # the run's connection, then one more
    assert logins[0] == killed[0]
    assert locked_after  # verification ran on the new connection...
    assert all(locked_after)  # ...under the release lock, taken again
    assert not lock_is_held(sandbox)  # and let go of it at the end
    assert theoshift_route(sandbox) == "theoshift_blue"
    assert ldc_states(sandbox) == {"blue": "8", "green": "0"}  # both apps switched and verified
    status = consumer.status()["apps"]["theoshift"]
    assert (status["live"]["color"], status["last_release"]["result"]) == ("blue", "success")
    assert status["last_release"]["hosts"] == {"lb1": "switched"}


def test_after_a_drop_a_failed_verification_still_switches_back_over_the_new_connection(
    consumer: Consumer, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, fault: Matrix
) -> None:
    """The drop and a new LIVE that dies together: the switch back (changes) needs the lock taken again."""
    killed, locked_after = kill_after_the_switch(
        monkeypatch, sandbox, lambda: sandbox.set_app("theoshift", Color.BLUE, healthy=False)
    )
    where = "lb1: the sshd session SIGKILLed right after `set map`, and the new LIVE's health check answers 503"
    watch = fault.watch("sshd killed after the switch, and the new LIVE fails", where, sandbox, consumer.status)
    ran = consumer.run("release", "--app", "theoshift")
    watch.record(ran.code, ran.out, said="the new LIVE Blue is unhealthy")
    assert ran.code == 4, ran.err + ran.out
    assert "the new LIVE Blue is unhealthy" in ran.out
    assert len(killed) == 1
    assert len(sandbox.ssh_logins()) == 2
    assert locked_after
    assert all(locked_after)
    assert theoshift_route(sandbox) == "theoshift_green"
    last = consumer.status()["apps"]["theoshift"]["last_release"]
    assert (last["result"], last["hosts"]) == ("rolled_back", {"lb1": "restored"})


def test_a_host_behind_a_jump_host_is_reached_again_through_it(
    make_sandbox: MakeSandbox, make_consumer: MakeConsumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    lab = make_sandbox(hosts=2)
    consumer = make_consumer(lab)

    def through_lb1(document: dict[str, Any]) -> None:
        lb1, lb2 = document["haproxy"]["hosts"]
        lb2["jump"] = dict(lb1["ssh"])

    edit_environments(consumer, through_lb1)
    killed: list[bool] = []
    real_apply = SshHost.apply

    async def apply(self: SshHost, change: Change) -> Applied:
        applied = await real_apply(self, change)
        if self.host.name == "lb2" and isinstance(change, SetMapEntry) and not killed:
            killed.append(True)
            kill(lab, lab.ssh_sessions(1), 1)  # lb2's one session: ours, arriving from lb1
        return applied

    monkeypatch.setattr(SshHost, "apply", apply)
    ran = consumer.run("release", "--app", "theoshift")
    assert ran.code == 0, ran.err + ran.out
    assert killed
    assert len(lab.ssh_logins(1)) == 2
    assert len(lab.ssh_logins(0)) == 3  # lb1 itself, lb1 as the jump host, and the jump host again
    assert [theoshift_route(lab, host) for host in (0, 1)] == ["theoshift_blue", "theoshift_blue"]


# --- a drop under an operation, and a second drop ----------------------------------------------------------------


def test_a_read_under_way_is_asked_again_but_a_change_under_way_is_not_made_again(
    consumer: Consumer, sandbox: Sandbox
) -> None:
    state, credentials = state_and_keys(consumer)

    async def run() -> None:
        async with connected(state.environments.hosts, credentials) as sessions:
            lb1 = sessions["lb1"]
            session = sandbox.ssh_session(client_port(lb1))
            with stopped(session):  # sshd opens no channel: both operations wait on it
                change = asyncio.create_task(lb1.apply(map_entry(sandbox, Color.BLUE)))
                read = asyncio.create_task(lb1.info())
                await asyncio.sleep(0.2)
                kill(sandbox, session)
            with pytest.raises(UnreachableError) as raised:
                await change
            assert re.search(
                r"lb1: the SSH connection dropped during `set map .* so it is not made again", str(raised.value)
            )
            assert (await read).name == "lb1"  # on the connection made again

    asyncio.run(run())
    assert len(sandbox.ssh_logins()) == 2
    assert theoshift_route(sandbox) == "theoshift_green"  # the change was never made, and not made again


def test_a_second_drop_is_unreachable(consumer: Consumer, sandbox: Sandbox) -> None:
    state, credentials = state_and_keys(consumer)

    async def run() -> None:
        async with connected(state.environments.hosts, credentials) as sessions:
            lb1 = sessions["lb1"]
            kill_session(sandbox, lb1)
            assert (await lb1.info()).name == "lb1"
            kill_session(sandbox, lb1)
            with pytest.raises(UnreachableError, match=r"lb1: the SSH connection dropped again \(it had been made"):
                await lb1.info()
            with pytest.raises(OSError, match="lb1: the SSH connection dropped again"):
                await lb1.open_tcp("127.0.0.1", sandbox.frontend_port())  # the probes' tunnel says so too

    asyncio.run(run())
    assert len(sandbox.ssh_logins()) == 2


# --- the lock after a drop -----------------------------------------------------------------------------------------


def test_a_lock_another_run_took_after_the_drop_refuses_changes_but_not_reads(
    consumer: Consumer, sandbox: Sandbox
) -> None:
    state, credentials = state_and_keys(consumer)
    hosts = state.environments.hosts
    app = state.environments.apps["theoshift"]

    async def run() -> None:
        async with connected(hosts, credentials) as ours, connected(hosts, credentials) as theirs:
            lb1 = ours["lb1"]
            async with lb1.lock("run A", 0):
                kill_session(sandbox, lb1)  # run A's lock goes with its connection...
                async with theirs["lb1"].lock("GitHub run 4242", 5):  # ...and another run takes it
                    assert (await lb1.info()).name == "lb1"  # made again: reads go on
                    assert app.switch.routing(await lb1.read(app.switch.reads())).live == Color.GREEN
                    assert await lb1.recall(RECORD) is None
                    for change in (lb1.apply(map_entry(sandbox, Color.BLUE)), lb1.keep(RECORD, "{}\n")):
                        with pytest.raises(LockBusyError) as refused:
                            await change
                        assert "lb1: this run no longer owns the host, so it changes nothing there" in str(
                            refused.value
                        )
                        assert "holder: GitHub run 4242" in str(refused.value)

    asyncio.run(run())
    assert theoshift_route(sandbox) == "theoshift_green"
    assert len(sandbox.ssh_logins()) == 3  # ours, theirs, ours again
    assert not (sandbox.dir / "lb1" / f"bluegreen.lock.{RECORD}").exists()


def lock_keepers(lab: Sandbox, port: HaproxyPort) -> list[int]:
    """The remote flock of the lock held on that connection, and the process it runs (the session's children
    but its SFTP server)."""
    sessions = lab.ssh_session(client_port(port))
    return [pid for pid in (c for s in sessions for c in descendants(s)) if "sftp" not in command_line(pid)]


def resume(pids: Sequence[int]) -> None:
    for pid in pids:
        os.kill(pid, signal.SIGCONT)


def test_this_runs_own_lock_still_held_for_the_dead_connection_is_waited_for_then_taken_again(
    consumer: Consumer, sandbox: Sandbox
) -> None:
    """The host's flock outlives the dropped session for a moment (frozen here, let go 0.5 s later): it is this
    run's own lock, so the reconnection waits for it rather than give the host up."""
    edit_environments(consumer, short_operations(3))
    state, credentials = state_and_keys(consumer)

    async def run() -> None:
        async with connected(state.environments.hosts, credentials) as sessions:
            lb1 = sessions["lb1"]
            async with lb1.lock("run A", 0):
                keepers = lock_keepers(sandbox, lb1)
                with stopped(keepers):
                    kill_session(sandbox, lb1)
                    asyncio.get_running_loop().call_later(0.5, resume, keepers)
                    start = time.monotonic()
                    assert (await lb1.info()).name == "lb1"
                    assert 0.4 < time.monotonic() - start < 3
                await lb1.apply(map_entry(sandbox, Color.BLUE))  # the lock is this run's again: changes go on
                assert lock_is_held(sandbox)
            assert not lock_is_held(sandbox)

    asyncio.run(run())
    assert theoshift_route(sandbox) == "theoshift_blue"


def test_this_runs_own_lock_that_the_host_keeps_for_the_dead_connection_refuses_changes(
    consumer: Consumer, sandbox: Sandbox
) -> None:
    """A host that does not notice the dead connection (a cut network) keeps its flock: after the bound, the
    run no longer owns the host, and says why."""
    edit_environments(consumer, short_operations(0.5))
    state, credentials = state_and_keys(consumer)

    async def run() -> None:
        async with connected(state.environments.hosts, credentials) as sessions:
            lb1 = sessions["lb1"]
            async with lb1.lock("run A", 0):
                with stopped(lock_keepers(sandbox, lb1)):
                    kill_session(sandbox, lb1)
                    assert (await lb1.info()).name == "lb1"
                    with pytest.raises(LockBusyError) as refused:
                        await lb1.apply(map_entry(sandbox, Color.BLUE))
            said = str(refused.value)
            assert "lb1: this run no longer owns the host, so it changes nothing there" in said
            assert "is still held for this run's dropped connection 0.5 s later (holder: run A)" in said
            assert "ClientAliveInterval" in said

    asyncio.run(run())
    assert theoshift_route(sandbox) == "theoshift_green"


# --- operations that hang ------------------------------------------------------------------------------------------


def test_a_runtime_command_that_hangs_is_bounded_and_the_host_reported_unreachable(
    consumer: Consumer, sandbox: Sandbox, fault: Matrix
) -> None:
    edit_environments(consumer, short_operations(0.5))
    where = "lb1: HAProxy's worker stopped (SIGSTOP) for the run, `ssh.operation_timeout_s` 0.5"
    watch = fault.watch("A runtime command that hangs", where, sandbox, consumer.status)
    with stopped([sandbox.haproxy_worker()]):  # the socket still accepts; nothing answers
        start = time.monotonic()
        ran = consumer.run("release")
        took = time.monotonic() - start
    watch.record(ran.code, ran.out + ran.err, said="HAProxy did not answer")
    assert ran.code == 6, ran.err + ran.out
    assert re.search(r"lb1: HAProxy did not answer `[a-z ]+[^`]*` within 0\.5 s", ran.err), ran.err
    assert 0.5 <= took < 3, took
    assert theoshift_route(sandbox) == "theoshift_green"
    assert not lock_is_held(sandbox)


def test_an_sftp_operation_that_hangs_is_bounded_and_the_next_one_starts_a_new_sftp_session(
    consumer: Consumer, sandbox: Sandbox
) -> None:
    edit_environments(consumer, short_operations(0.5))
    state, credentials = state_and_keys(consumer)
    path = f"{state.environments.hosts[0].lock_path}.{RECORD}"

    async def timed_out(operation: Any, pattern: str) -> None:
        start = time.monotonic()
        with pytest.raises(UnreachableError, match=pattern):
            await operation
        assert 0.5 <= time.monotonic() - start < 2

    async def run() -> None:
        async with connected(state.environments.hosts, credentials) as sessions:
            lb1 = sessions["lb1"]
            assert await lb1.recall(RECORD) is None  # SFTP is started
            first = sandbox.sftp_servers(client_port(lb1))
            with stopped(first):
                await timed_out(
                    lb1.recall(RECORD), re.escape(f"lb1: SFTP did not answer within 0.5 s reading {path}\n")
                )
                await lb1.keep(RECORD, "{}\n")  # a new SFTP session, while the first one stays frozen
                assert await lb1.recall(RECORD) == "{}\n"
                second = [pid for pid in sandbox.sftp_servers(client_port(lb1)) if pid not in first]
                with stopped(second):
                    unknown = re.escape(f"writing {path} (whether it was replaced is unknown)")
                    await timed_out(lb1.keep(RECORD, "[]\n"), f"lb1: SFTP did not answer within 0.5 s {unknown}")
            assert await lb1.recall(RECORD) in ("{}\n", "[]\n")  # the connection itself was never in doubt

    asyncio.run(run())
    assert len(sandbox.ssh_logins()) == 1
