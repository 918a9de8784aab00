"""The SSH adapter: one asyncssh connection per HAProxy host, reused for the whole run.

Runtime commands travel through the connection to HAProxy's Unix socket (`direct-streamlocal`), with no remote
process: 0.7 ms a command (median, loopback), against 5 ms for a remote `socat` per command and 209 ms for an
OpenSSH client per command (BENCHMARKS.md). Files (the map file, the server-state file) are written over
SFTP, to a temporary name and renamed, so a reader never sees half a file. The release lock is ssh_lock.py.
`SshHost` is the engine's HaproxyPort: it turns the switching vocabulary into runtime commands (core/haproxy.py)
and SFTP writes; `SshConnector` is its Connector.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from pathlib import PurePosixPath
from typing import assert_never

import asyncssh

from bluegreen.adapters.http import HttpProber
from bluegreen.adapters.ssh_lock import COMMAND_TIMEOUT_S, held
from bluegreen.adapters.sshkeys import Credentials
from bluegreen.core import haproxy
from bluegreen.core.record import RECORD_NAME
from bluegreen.engine.ports import Applied, Reached, Readiness
from bluegreen.errors import HostKeyError, NotSentError, RuntimeApiError, UnreachableError
from bluegreen.model import Endpoint, HaproxyHost, HostInfo, ServerView
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

__all__ = ["COMMAND_TIMEOUT_S", "Credentials", "SshConnector", "SshHost", "Streams", "connect", "run_holder"]


Streams = tuple[asyncssh.SSHReader[bytes], asyncssh.SSHWriter[bytes]]


class SshHost:
    """A connected HAProxy host: the engine's HaproxyPort over one SSH connection."""

    def __init__(
        self, host: HaproxyHost, conn: asyncssh.SSHClientConnection, jump: asyncssh.SSHClientConnection | None
    ) -> None:
        self.host = host
        self._conn = conn
        self._jump = jump
        self._sftp: asyncssh.SFTPClient | None = None

    # --- the port ---------------------------------------------------------------------------------------------

    async def info(self) -> HostInfo:
        return haproxy.parse_info(await self.runtime(haproxy.SHOW_INFO), self.host.name)

    async def stats(self) -> tuple[ServerView, ...]:
        return haproxy.parse_stat(await self.runtime(haproxy.SHOW_STAT), self.host.name)

    async def read(self, reads: Sequence[Read]) -> Answers:
        texts = await asyncio.gather(*(self.runtime(haproxy.read_command(read)) for read in reads))
        return haproxy.answers(reads, texts, self.host.name)

    async def apply(self, change: Change) -> Applied:
        if isinstance(change, SetMapEntry | SetServerStates):
            command = haproxy.change_command(change)
            start = time.perf_counter()
            answer = await self.runtime(command)
            elapsed = (time.perf_counter() - start) * 1000
            haproxy.expect_empty(command, answer, self.host.name)
            return Applied(runtime_ms=elapsed)
        if isinstance(change, WriteMapEntry):
            map_file, key, value = haproxy.path(change.map_file), haproxy.name(change.key), haproxy.name(change.value)
            before = await self.read_file(map_file)
            if before is None:
                raise RuntimeApiError(f"{self.host.name}: the map file {map_file} does not exist")
            await self._replace(map_file, haproxy.rewrite_map(before, key, value), before)
            return Applied(undo=RestoreFile(map_file, before))
        if isinstance(change, SaveServerStates):
            state_file = haproxy.path(change.state_file)
            before, states = await asyncio.gather(
                self.read_file(state_file), self.runtime(haproxy.show_servers_state())
            )
            await self._replace(state_file, states, before)
            return Applied(undo=RestoreFile(state_file, before))
        if isinstance(change, RestoreFile):
            path = haproxy.path(change.path)
            await (self.write_file(path, change.text) if change.text is not None else self.remove_file(path))
            return Applied()
        assert_never(change)

    async def _replace(self, path: str, text: str, before: str | None) -> None:
        """Replace the file; if that fails, put `before` back (the rename may have happened before the answer was
        lost) and raise: a file the switch may have changed is never left behind."""
        try:
            await self.write_file(path, text)
        except BaseException:
            with suppress(Exception):
                await (self.write_file(path, before) if before is not None else self.remove_file(path))
            raise

    async def readiness(self, files: Sequence[Persisted]) -> Readiness:
        level, kept = await asyncio.gather(self._runtime_level(), self._replaceable(files))
        sftp, by_file = kept
        host = tuple(problem for problem in (level, sftp) if problem)
        return Readiness(host, {file.path: problem for file, problem in zip(files, by_file, strict=True) if problem})

    async def _runtime_level(self) -> str | None:
        answer = " ".join((await self.runtime(haproxy.SHOW_CLI_LEVEL)).split())
        if answer == "admin":
            return None
        return (
            f"HAProxy's runtime socket {self.host.socket} is at level {answer[:40]!r}: a switch needs `level admin` "
            "(`stats socket ... level admin`)"
        )

    async def _replaceable(self, files: Sequence[Persisted]) -> tuple[str | None, list[str | None]]:
        """Why SFTP cannot be used here, else why each file could not be replaced (None where it can)."""
        if not files:
            return None, []
        try:
            sftp = await self._sftp_client()
        except UnreachableError as error:
            return error.message, [None] * len(files)
        return None, list(await asyncio.gather(*(_replaceable(sftp, file) for file in files)))

    async def recall(self, record: str) -> str | None:
        return await self.read_file(self._record_path(record))

    async def keep(self, record: str, text: str) -> None:
        await self.write_file(self._record_path(record), text)

    def _record_path(self, record: str) -> str:
        """Beside the release lock, in a folder the deploy user must be able to write to already (and which only
        it should)."""
        if not RECORD_NAME.fullmatch(record):
            raise ValueError(f"unsafe record name {record!r}")
        return f"{self.host.lock_path}.{record}"

    # --- the transport ----------------------------------------------------------------------------------------

    async def runtime(self, command: str) -> str:
        if "\n" in command or "\r" in command:
            raise ValueError("a runtime command is one line")
        try:
            reader, writer = await self._conn.open_unix_connection(self.host.socket)
        except (asyncssh.ChannelOpenError, asyncssh.ConnectionLost, asyncssh.DisconnectError) as exc:
            raise NotSentError(
                f"{self.host.name}: cannot open HAProxy's runtime socket {self.host.socket}: {exc.reason}",
                hint="is HAProxy running with `stats socket ... level admin`, and may the SSH user use the socket?",
            ) from exc
        try:
            writer.write(command.encode() + b"\n")
            answer: bytes = await asyncio.wait_for(reader.read(), COMMAND_TIMEOUT_S)
        except TimeoutError as exc:
            raise UnreachableError(f"{self.host.name}: HAProxy did not answer `{command}`") from exc
        except (asyncssh.Error, OSError) as exc:
            raise UnreachableError(f"{self.host.name}: the connection broke during `{command}`: {exc}") from exc
        finally:
            writer.close()
        return answer.decode("utf-8", "replace")

    async def read_file(self, path: str) -> str | None:
        sftp = await self._sftp_client()
        try:
            async with sftp.open(path, "r", encoding="utf-8") as handle:
                text: str = await handle.read()
                return text
        except asyncssh.SFTPNoSuchFile:
            return None
        except (asyncssh.SFTPError, asyncssh.Error, OSError, UnicodeDecodeError) as exc:
            raise UnreachableError(f"{self.host.name}: cannot read {path}: {exc}") from exc

    async def write_file(self, path: str, text: str) -> None:
        sftp = await self._sftp_client()
        target = PurePosixPath(path)
        temporary = str(target.with_name(f".{target.name}.bluegreen-{secrets.token_hex(4)}"))
        try:
            mode = await _mode_of(sftp, path)
            async with sftp.open(temporary, "w", encoding="utf-8") as handle:
                await handle.write(text)
            if mode is not None:
                await sftp.chmod(temporary, mode & 0o7777)
            await sftp.posix_rename(temporary, path)
        except (asyncssh.Error, OSError) as exc:
            await _remove_quietly(sftp, temporary)
            raise UnreachableError(f"{self.host.name}: cannot write {path}: {exc}") from exc

    async def remove_file(self, path: str) -> None:
        sftp = await self._sftp_client()
        try:
            await sftp.remove(path)
        except asyncssh.SFTPNoSuchFile:
            return
        except (asyncssh.Error, OSError) as exc:
            raise UnreachableError(f"{self.host.name}: cannot remove {path}: {exc}") from exc

    async def open_tcp(self, host: str, port: int) -> Streams:
        try:
            reader, writer = await self._conn.open_connection(host, port)
        except asyncssh.ChannelOpenError as exc:
            raise OSError(f"{self.host.name} cannot reach {host}:{port}: {exc.reason}") from exc
        return reader, writer

    def lock(self, holder: str, wait_s: float) -> AbstractAsyncContextManager[None]:
        """This host's release lock; LockBusyError after `wait_s` if another run keeps it."""
        return held(self._conn, self.host, holder, wait_s, self.read_file)

    async def _sftp_client(self) -> asyncssh.SFTPClient:
        if self._sftp is None:
            try:
                self._sftp = await self._conn.start_sftp_client()
            except (asyncssh.Error, OSError) as exc:
                raise UnreachableError(
                    f"{self.host.name}: cannot start SFTP: {exc}",
                    hint="bluegreen writes the map and server-state files over SFTP: enable the sftp subsystem",
                ) from exc
        return self._sftp

    async def close(self) -> None:
        if self._sftp is not None:
            self._sftp.exit()
        for conn in (self._conn, self._jump):
            if conn is not None:
                conn.close()
                await conn.wait_closed()


async def _replaceable(sftp: asyncssh.SFTPClient, file: Persisted) -> str | None:
    """Why `file` could not be replaced the way a switch replaces it (a new file in its folder, renamed over it);
    None when it can. The trial file is removed at once."""
    path = haproxy.path(file.path)
    if file.must_exist and not await sftp.exists(path):
        return f"{path} does not exist: the switch rewrites it"
    target = PurePosixPath(path)
    trial = str(target.with_name(f".{target.name}.bluegreen-check-{secrets.token_hex(4)}"))
    try:
        async with sftp.open(trial, "w", encoding="utf-8") as handle:
            await handle.write("")
    except (asyncssh.Error, OSError) as exc:
        return (
            f"{path} cannot be replaced: no new file can be made in {target.parent} ({exc}); the SSH user needs "
            "write access to that folder"
        )
    await _remove_quietly(sftp, trial)
    return None


async def _mode_of(sftp: asyncssh.SFTPClient, path: str) -> int | None:
    """The file's permissions, to keep them on the new file; None for a new file."""
    try:
        return (await sftp.stat(path)).permissions
    except asyncssh.SFTPNoSuchFile:
        return None


async def _remove_quietly(sftp: asyncssh.SFTPClient, path: str) -> None:
    with suppress(asyncssh.Error, OSError):
        await sftp.remove(path)


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
    jump = await _connect(host.jump, credentials, None, host.name) if host.jump else None
    try:
        conn = await _connect(host.ssh, credentials, jump, host.name)
    except BaseException:
        if jump is not None:
            jump.close()
        raise
    return SshHost(host, conn, jump)


async def _connect(
    endpoint: Endpoint, credentials: Credentials, tunnel: asyncssh.SSHClientConnection | None, name: str
) -> asyncssh.SSHClientConnection:
    settings = credentials.settings
    where = f"{name}: {endpoint.user}@{endpoint.host}:{endpoint.port}"
    try:
        return await asyncssh.connect(
            endpoint.host,
            endpoint.port,
            username=endpoint.user,
            known_hosts=credentials.known_hosts,
            client_keys=[credentials.client_key],
            agent_path=None,
            config=None,
            tunnel=tunnel,
            connect_timeout=settings.connect_timeout_s,
            keepalive_interval=settings.keepalive_interval_s,
            keepalive_count_max=3,
        )
    except asyncssh.HostKeyNotVerifiable as exc:
        raise HostKeyError(
            f"{where}: the server's host key is not the one pinned in {credentials.pins}",
            hint="if the host was rebuilt, check its new key out of band and update the pinned key",
        ) from exc
    except asyncssh.PermissionDenied as exc:
        raise UnreachableError(
            f"{where}: the SSH key was refused",
            hint="add the deploy key's public half to that user's authorized_keys",
        ) from exc
    except (OSError, TimeoutError, asyncssh.Error) as exc:
        raise UnreachableError(f"{where}: cannot connect: {exc or type(exc).__name__}") from exc


def run_holder(environ: dict[str, str]) -> str:
    """Who holds a lock, for the error another run shows: never a secret, only names and ids."""
    run = environ.get("GITHUB_RUN_ID")
    who = f"GitHub run {run}" if run else f"{os.uname().nodename} pid {os.getpid()}"
    return " ".join(who.split())[:120]
