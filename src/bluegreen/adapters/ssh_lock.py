"""The release lock on an HAProxy host: flock(1) held by a remote process for as long as the SSH connection lives,
so a run that crashes or loses its connection releases it at once. The holder's name (never a secret) is written
beside the lock, for the error another run shows."""

from __future__ import annotations

import asyncio
import shlex
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress

import asyncssh

from bluegreen.errors import LockBusyError, UnreachableError
from bluegreen.model import HaproxyHost

COMMAND_TIMEOUT_S = 10.0
LOCK_BUSY = 75  # flock's exit status when the wait ran out (-E)

ReadFile = Callable[[str], Awaitable[str | None]]


@asynccontextmanager
async def held(
    conn: asyncssh.SSHClientConnection, host: HaproxyHost, holder: str, wait_s: float, read_file: ReadFile
) -> AsyncIterator[None]:
    """Hold this host's release lock; LockBusyError after `wait_s` if another run keeps it."""
    process = await conn.create_process(_lock_command(host.lock_path, holder, wait_s))
    try:
        line = await asyncio.wait_for(process.stdout.readline(), wait_s + COMMAND_TIMEOUT_S)
        if line.strip() != "locked":
            said = await asyncio.wait_for(process.stderr.read(), COMMAND_TIMEOUT_S)
            await asyncio.wait_for(process.wait(), COMMAND_TIMEOUT_S)
            raise await _lock_error(host, process.exit_status, said, wait_s, read_file)
    except TimeoutError:
        process.close()
        raise UnreachableError(f"{host.name}: no answer while taking the lock {host.lock_path}") from None
    try:
        yield
    finally:
        process.stdin.write_eof()
        with suppress(TimeoutError):  # the lock goes with the connection anyway
            await asyncio.wait_for(process.wait(), COMMAND_TIMEOUT_S)
        process.close()


async def _lock_error(
    host: HaproxyHost, status: int | None, said: str, wait_s: float, read_file: ReadFile
) -> Exception:
    if status != LOCK_BUSY:
        return UnreachableError(
            f"{host.name}: cannot take the release lock {host.lock_path} "
            f"(exit status {status}: {' '.join(said.split())[:200] or 'no message'})",
            hint="the SSH user needs flock(1) (util-linux) and write access to the lock file's folder",
        )
    holder = await read_file(f"{host.lock_path}.holder")
    waited = f"waited {wait_s:g} s; " if wait_s else ""  # the engine tries without waiting, and says how long
    return LockBusyError(
        f"{host.name}: another release holds the lock {host.lock_path} "
        f"({waited}holder: {(holder or 'unknown').strip()})",
        hint="wait for it to finish and run again; a crashed run's lock is released when its connection closes",
    )


def _lock_command(lock_path: str, holder: str, wait_s: float) -> str:
    script = 'printf "%s\\n" "$1" > "$2.holder"; echo locked; exec cat >/dev/null'
    args = ["flock", "-w", f"{wait_s:g}", "-E", str(LOCK_BUSY), lock_path, "sh", "-c", script, "sh", holder, lock_path]
    return shlex.join(args)
