"""The SSH adapter: one asyncssh connection per HAProxy host for the whole run, made again once if it drops.

Runtime commands travel through the connection to HAProxy's Unix socket (`direct-streamlocal`), with no remote
process: 0.7 ms a command (median, loopback), against 5 ms for a remote `socat` per command and 209 ms for an
OpenSSH client per command (BENCHMARKS.md). The channels are ssh_channels.py, files go over SFTP (ssh_files.py),
the release lock is a remote flock (ssh_lock.py), and the connection and its one reconnection are ssh_link.py.
Every remote operation is bounded by `ssh.operation_timeout_s`. `SshHost` is the engine's HaproxyPort: it turns
the switching vocabulary into runtime commands (core/haproxy.py) and SFTP writes; `SshConnector` is its
Connector.

When the connection drops (ssh_link.py), a read (`info`, `stats`, `read`, `readiness`, `recall`) that met the
drop is asked once more on the new connection. A change (`apply`, `keep`) is never made twice: what it did is
unknown, so it raises, as a failed change does, and the engine goes on from what it reads back. The lock died
with the old connection: it is taken again, without waiting, before the new connection serves anyone; if
another run has it by then, this run no longer owns the host, and its reads go on while every change there is
refused.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import TypeVar, assert_never

from bluegreen.adapters.http import HttpProber
from bluegreen.adapters.ssh_channels import open_ahead, runtime, tcp_channel
from bluegreen.adapters.ssh_files import Rewrite, read_file, read_kept, remove_file, replaceable, write_file
from bluegreen.adapters.ssh_link import Connection, ConnectionDropped, Link, Streams, open_connection
from bluegreen.adapters.ssh_lock import Process, held, let_go, retake, take
from bluegreen.adapters.sshkeys import Credentials
from bluegreen.core import haproxy
from bluegreen.core.record import RECORD_NAME
from bluegreen.engine.ports import Applied, Reached, Readiness
from bluegreen.errors import BluegreenError, LockBusyError, RuntimeApiError, UnreachableError
from bluegreen.model import HaproxyHost, HostInfo, ServerView
from bluegreen.switching.base import (
    Answers,
    Change,
    Persisted,
    Read,
    RestoreFile,
    SaveServerStates,
    SetMapEntry,
    SetServerStates,
    WriteMapEntry,
)

__all__ = ["Credentials", "SshConnector", "SshHost", "Streams", "connect", "connected", "run_holder"]

T = TypeVar("T")


@dataclass
class _Held:
    """The release lock while the engine holds it: its remote process, or why it was lost with a connection."""

    holder: str
    process: Process | None
    lost: BluegreenError | None = None


class SshHost:
    """A connected HAProxy host: the engine's HaproxyPort over its SSH connection."""

    def __init__(self, link: Link) -> None:
        self._link = link
        self._held: _Held | None = None
        link.on_reconnect = self._relock

    @property
    def host(self) -> HaproxyHost:
        return self._link.host

    # --- the port ---------------------------------------------------------------------------------------------

    async def info(self) -> HostInfo:
        return haproxy.parse_info(await self.runtime(haproxy.SHOW_INFO), self.host.name)

    async def stats(self) -> tuple[ServerView, ...]:
        return haproxy.parse_stat(await self.runtime(haproxy.SHOW_STAT), self.host.name)

    async def read(self, reads: Sequence[Read]) -> Answers:
        """The runtime reads as commands and the kept reads from their files (each file once), all at once."""
        commands = [haproxy.read_command(read) for read in haproxy.runtime_reads(reads)]
        paths = haproxy.kept_files(reads)

        async def ask(connection: Connection) -> tuple[list[str], dict[str, haproxy.FileText]]:
            return await asyncio.gather(
                asyncio.gather(*(runtime(connection, command) for command in commands)), read_kept(connection, paths)
            )

        texts, files = await self._reading(ask)
        return haproxy.answers(reads, texts, self.host.name, files)

    async def apply(self, change: Change) -> Applied:
        return await self._changing(lambda connection: self._apply(connection, change))

    async def _apply(self, connection: Connection, change: Change) -> Applied:
        if isinstance(change, SetMapEntry | SetServerStates):
            command = haproxy.change_command(change)
            start = time.perf_counter()
            answer = await runtime(connection, command)
            elapsed = (time.perf_counter() - start) * 1000
            haproxy.expect_empty(command, answer, self.host.name)
            return Applied(runtime_ms=elapsed)
        if isinstance(change, WriteMapEntry):
            open_ahead(connection)  # for the `set map` that follows once the file is in place
            map_file, key, value = haproxy.path(change.map_file), haproxy.name(change.key), haproxy.name(change.value)

            async def rewritten(before: str | None) -> str:
                if before is None:
                    raise RuntimeApiError(f"{self.host.name}: the map file {map_file} does not exist")
                return haproxy.rewrite_map(before, key, value)

            return Applied(undo=RestoreFile(map_file, await self._replace(connection, map_file, rewritten)))
        if isinstance(change, SaveServerStates):
            state_file = haproxy.path(change.state_file)
            states = asyncio.ensure_future(runtime(connection, haproxy.show_servers_state()))

            async def dumped(before: str | None) -> str:
                return await states

            try:  # the dump is asked while the file is read: both are in hand two round trips later
                return Applied(undo=RestoreFile(state_file, await self._replace(connection, state_file, dumped)))
            finally:
                states.cancel()
        if isinstance(change, RestoreFile):
            path = haproxy.path(change.path)
            await (
                write_file(connection, path, change.text) if change.text is not None else remove_file(connection, path)
            )
            return Applied()
        assert_never(change)

    async def _replace(self, connection: Connection, path: str, rewrite: Rewrite) -> str | None:
        """Replace a file a switch changes with what `rewrite` makes of its text now; returns that text. If the
        write fails in a way that leaves open whether the rename was made (no answer, a dropped connection), and
        the file now holds the new text, it is put back as it was (the engine only undoes what the port says was
        done). The first error stands."""
        made: list[tuple[str | None, str]] = []  # the text before and the new text, once the rewrite made it

        async def making(before: str | None) -> str:
            made.append((before, await rewrite(before)))
            return made[-1][1]

        try:
            return await write_file(connection, path, making)
        except UnreachableError:
            if made:
                with suppress(BluegreenError):  # a doubt on a doubt: the engine reads the host back either way
                    await self._put_back(path, *made[-1])
            raise

    async def _put_back(self, path: str, before: str | None, text: str) -> None:
        """`path` as it was before, if it now holds `text`."""
        if text != before and await self._reading(lambda live: read_file(live, path)) == text:
            await self._changing(
                lambda live: write_file(live, path, before) if before is not None else remove_file(live, path)
            )

    async def readiness(self, files: Sequence[Persisted]) -> Readiness:
        level, (sftp, by_file) = await self._reading(
            lambda connection: asyncio.gather(self._runtime_level(connection), replaceable(connection, files))
        )
        host = tuple(problem for problem in (level, sftp) if problem)
        return Readiness(host, {file.path: problem for file, problem in zip(files, by_file, strict=True) if problem})

    async def _runtime_level(self, connection: Connection) -> str | None:
        answer = " ".join((await runtime(connection, haproxy.SHOW_CLI_LEVEL)).split())
        if answer == "admin":
            return None
        return (
            f"HAProxy's runtime socket {self.host.socket} is at level {answer[:40]!r}: a switch needs `level admin` "
            "(`stats socket ... level admin`)"
        )

    async def recall(self, record: str) -> str | None:
        path = self._record_path(record)
        return await self._reading(lambda connection: read_file(connection, path))

    async def keep(self, record: str, text: str) -> None:
        path = self._record_path(record)
        await self._changing(lambda connection: write_file(connection, path, text))

    def _record_path(self, record: str) -> str:
        """Beside the release lock, in a folder the deploy user must be able to write to already (and which only
        it should)."""
        if not RECORD_NAME.fullmatch(record):
            raise ValueError(f"unsafe record name {record!r}")
        return f"{self.host.lock_path}.{record}"

    async def lock_holder(self) -> str | None:
        return await self._reading(held)

    @asynccontextmanager
    async def lock(self, holder: str, wait_s: float) -> AsyncIterator[None]:
        """This host's release lock; LockBusyError after `wait_s` if another run keeps it."""
        process = await self._reading(lambda connection: take(connection, holder, wait_s))
        self._held = _Held(holder, process)
        try:
            yield
        finally:
            held, self._held = self._held, None
            if held.process is not None:
                await let_go(held.process, self._link.timeout_s)

    # --- the transport ----------------------------------------------------------------------------------------

    async def runtime(self, command: str) -> str:
        """One runtime command's answer, for a command that only reads."""
        return await self._reading(lambda connection: runtime(connection, command))

    async def open_tcp(self, host: str, port: int) -> Streams:
        """A channel from this host to `host:port`, for the HTTP probes (which bound it); OSError if refused."""
        try:
            return await self._reading(lambda connection: tcp_channel(connection, host, port))
        except UnreachableError as error:
            raise OSError(error.message) from error

    async def _reading(self, read: Callable[[Connection], Awaitable[T]]) -> T:
        """A read, asked once more on the connection made again if the connection dropped under it."""
        try:
            return await read(await self._link.live())
        except ConnectionDropped:
            return await read(await self._link.live())

    async def _changing(self, change: Callable[[Connection], Awaitable[T]]) -> T:
        """A change, made once: on a connection that dropped under it, its effect is unknown, and it raises."""
        connection = await self._link.live()
        if self._held is not None and self._held.lost is not None:
            lost = self._held.lost
            raise type(lost)(
                f"{self.host.name}: this run no longer owns the host, so it changes nothing there: the SSH "
                "connection dropped and was made again, but the release lock was not taken again: "
                + lost.message.removeprefix(f"{self.host.name}: "),
                hint=lost.hint,
            )
        try:
            return await change(connection)
        except ConnectionDropped as dropped:
            raise UnreachableError(
                f"{dropped.message}: whether the change took effect is unknown, so it is not made again",
                hint="the connection is made again for the next operation; what the host routes is what it reads back",
            ) from dropped

    async def _relock(self, connection: Connection) -> None:
        """After a reconnection, and before anything else uses it: the lock of the dropped connection is gone."""
        held = self._held
        if held is None:
            return
        held.process = None
        try:
            held.process = await retake(connection, held.holder)
        except (LockBusyError, UnreachableError) as error:
            held.lost = error

    async def close(self) -> None:
        await self._link.close()


class SshConnector:
    """The engine's Connector over SSH: every host connected concurrently, each once for the whole run."""

    def __init__(self, credentials: Credentials) -> None:
        self._credentials = credentials

    @asynccontextmanager
    async def reach(self, hosts: Sequence[HaproxyHost]) -> AsyncIterator[Reached]:
        async with connected(hosts, self._credentials) as sessions:
            prober = HttpProber({name: session.open_tcp for name, session in sessions.items()})
            try:
                yield Reached(sessions, prober)
            finally:
                await prober.aclose()


@asynccontextmanager
async def connected(hosts: Sequence[HaproxyHost], credentials: Credentials) -> AsyncIterator[dict[str, SshHost]]:
    """Every HAProxy host connected concurrently; all closed at the end, also when one could not be reached."""
    results = await asyncio.gather(*(connect(host, credentials) for host in hosts), return_exceptions=True)
    sessions = [r for r in results if isinstance(r, SshHost)]
    try:
        failure = next((r for r in results if isinstance(r, BaseException)), None)
        if failure is not None:
            raise failure
        yield {session.host.name: session for session in sessions}
    finally:
        await asyncio.gather(*(session.close() for session in sessions), return_exceptions=True)


async def connect(host: HaproxyHost, credentials: Credentials) -> SshHost:
    """Connect (through the jump host, if any) with the pinned host keys; errors say what to check."""
    return SshHost(Link(host, credentials, await open_connection(host, credentials)))


def run_holder(environ: dict[str, str]) -> str:
    """Who holds a lock, for the error another run shows: never a secret, only names and ids."""
    run = environ.get("GITHUB_RUN_ID")
    who = f"GitHub run {run}" if run else f"{os.uname().nodename} pid {os.getpid()}"
    return " ".join(who.split())[:120]
