"""The release lock on an HAProxy host: flock(1) held by a remote process for as long as the SSH connection lives,
so a run that crashes or loses its connection releases it at once. The holder's name (never a secret) is written
beside the lock, for the error another run shows.

Starting the remote flock is bounded by `ssh.operation_timeout_s`, its answer by `wait_s` plus that bound, and
letting go by that bound again. After the connection was made again (ssh_link.py) the lock is taken again
without waiting for another run (`retake`).
"""

from __future__ import annotations

import asyncio
import shlex
from contextlib import suppress

import asyncssh

from bluegreen.adapters.ssh_files import read_file
from bluegreen.adapters.ssh_link import Connection
from bluegreen.errors import LockBusyError, UnreachableError

LOCK_BUSY = 75  # flock's exit status when the wait ran out (-E)

Process = asyncssh.SSHClientProcess[str]


async def take(connection: Connection, holder: str, wait_s: float) -> Process:
    """This host's release lock, held until `let_go` or until the connection closes; LockBusyError after
    `wait_s` if another run keeps it."""
    host, bound = connection.host, wait_s + connection.timeout_s
    process = await _start(connection, _lock_command(host.lock_path, holder, wait_s))
    try:
        async with asyncio.timeout(bound):
            if (await process.stdout.readline()).strip() == "locked":
                return process
            said = await process.stderr.read()
            await process.wait()
    except TimeoutError:
        process.close()
        raise UnreachableError(
            f"{host.name}: no answer within {bound:g} s while taking the lock {host.lock_path}"
        ) from None
    except (asyncssh.Error, OSError) as exc:
        raise connection.lost(f"taking the lock {host.lock_path}") or UnreachableError(
            f"{host.name}: the connection broke while taking the lock {host.lock_path}: {exc}"
        ) from exc
    raise await _lock_error(connection, process.exit_status, said, wait_s)


async def held(connection: Connection) -> str | None:
    """Who holds this host's release lock now ("unknown" when its holder file says nothing), None when no run
    does: a shared lock tried without waiting in one short command, let go at once (a release taking the lock in
    that instant waits for it)."""
    host = connection.host
    command = shlex.join(["flock", "-n", "-s", "-E", str(LOCK_BUSY), host.lock_path, "true"])
    process = await _start(connection, command)
    try:
        async with asyncio.timeout(connection.timeout_s):
            done = await process.wait()
    except TimeoutError:
        process.close()
        raise connection.given_up(f"asking whether a release holds the lock {host.lock_path}") from None
    except (asyncssh.Error, OSError) as exc:
        raise connection.lost(f"asking for the lock {host.lock_path}") or UnreachableError(
            f"{host.name}: the connection broke while asking for the lock {host.lock_path}: {exc}"
        ) from exc
    if done.exit_status == 0:
        return None
    if done.exit_status != LOCK_BUSY:
        raise await _lock_error(connection, done.exit_status, str(done.stderr or ""), 0)
    return await _holder(connection) or "unknown"


async def retake(connection: Connection, holder: str) -> Process:
    """The lock again, on the connection made again, without waiting for another run. Only this run's own lock,
    still held for the dropped connection, is waited for (up to the operation bound): it goes as soon as the
    host's sshd sees that connection gone."""
    try:
        return await take(connection, holder, 0)
    except LockBusyError:
        if await _holder(connection) != holder:
            raise
    try:
        return await take(connection, holder, connection.timeout_s)
    except LockBusyError as busy:
        if await _holder(connection) != holder:
            raise
        host = connection.host
        raise LockBusyError(
            f"{host.name}: the lock {host.lock_path} is still held for this run's dropped connection "
            f"{connection.timeout_s:g} s later (holder: {holder}): the host has not noticed that it is gone",
            hint="sshd's ClientAliveInterval on the host bounds how long a dead connection keeps its processes",
        ) from busy


async def let_go(process: Process, timeout_s: float) -> None:
    with suppress(asyncssh.Error, OSError):  # the lock goes with the connection anyway; OSError: a timeout too
        process.stdin.write_eof()
        async with asyncio.timeout(timeout_s):
            await process.wait()
    process.close()


async def _start(connection: Connection, command: str) -> Process:
    host = connection.host
    try:
        async with asyncio.timeout(connection.timeout_s):
            return await connection.conn.create_process(command)
    except TimeoutError:
        raise connection.given_up(f"starting the lock's flock for {host.lock_path}") from None
    except (asyncssh.Error, OSError) as exc:
        raise connection.lost(f"taking the lock {host.lock_path}") or UnreachableError(
            f"{host.name}: cannot start the lock's flock for {host.lock_path}: {exc}"
        ) from exc


async def _holder(connection: Connection) -> str | None:
    text = await read_file(connection, f"{connection.host.lock_path}.holder")
    return text.strip() if text is not None else None


async def _lock_error(connection: Connection, status: int | None, said: str, wait_s: float) -> Exception:
    host = connection.host
    if status != LOCK_BUSY:
        return UnreachableError(
            f"{host.name}: cannot take the release lock {host.lock_path} "
            f"(exit status {status}: {' '.join(said.split())[:200] or 'no message'})",
            hint="the SSH user needs flock(1) (util-linux) and write access to the lock file's folder",
        )
    holder = await _holder(connection)
    waited = f"waited {wait_s:g} s; " if wait_s else ""  # the engine tries without waiting, and says how long
    return LockBusyError(
        f"{host.name}: another release holds the lock {host.lock_path} ({waited}holder: {holder or 'unknown'})",
        hint="wait for it to finish and run again; a crashed run's lock is released when its connection closes",
    )


def _lock_command(lock_path: str, holder: str, wait_s: float) -> str:
    script = 'printf "%s\\n" "$1" > "$2.holder"; echo locked; exec cat >/dev/null'
    args = ["flock", "-w", f"{wait_s:g}", "-E", str(LOCK_BUSY), lock_path, "sh", "-c", script, "sh", holder, lock_path]
    return shlex.join(args)
