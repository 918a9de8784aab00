"""Files on an HAProxy host over SFTP: the map file, the server-state file, the lock's holder, bluegreen's record.

The files a reload reads are also read as what a host keeps (`read_kept`): a file that is not there, or that
cannot be read (no SFTP subsystem, no permission, not text), is an answer, not an error; a host that does not
answer is unreachable, as for every other read.

A file is written to a temporary name in its folder, given the old file's permissions and renamed over it, so a
reader (HAProxy at a reload) never sees half a file. Each operation (starting SFTP on a connection, reading a
file, replacing one, proving that one can be replaced) is bounded as a whole by `ssh.operation_timeout_s`. Past
it the host is unreachable, and the SFTP session is left behind: the next operation starts a new one rather than
queue behind a hung sftp-server. SFTP that does not even start in time gives up the connection (ssh_link.py).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Sequence
from contextlib import suppress
from pathlib import PurePosixPath

import asyncssh

from bluegreen.adapters.ssh_link import Connection, ConnectionDropped
from bluegreen.core import haproxy
from bluegreen.core.haproxy import FileText, Unreadable
from bluegreen.errors import UnreachableError
from bluegreen.switching.base import Persisted


async def read_file(connection: Connection, path: str) -> str | None:
    """The file's text; None when it does not exist."""
    sftp = await sftp_client(connection)
    try:
        async with asyncio.timeout(connection.timeout_s):
            return await _read(sftp, path)
    except TimeoutError:
        raise _unanswered(connection, sftp, f"reading {path}") from None
    except (asyncssh.Error, OSError, UnicodeDecodeError) as exc:
        name = connection.host.name
        raise connection.lost(f"reading {path}") or UnreachableError(f"{name}: cannot read {path}: {exc}") from exc


async def read_kept(connection: Connection, paths: Sequence[str]) -> dict[str, FileText]:
    """Each file's text (None: not there), or why it cannot be read; all at once, on one SFTP session."""
    if not paths:
        return {}
    try:
        sftp = await sftp_client(connection)
    except ConnectionDropped:
        raise
    except UnreachableError as error:  # no SFTP subsystem: nothing can be read, and the pre-flight says so
        return dict.fromkeys(paths, Unreadable(error.message))
    texts = await asyncio.gather(*(_read_kept(connection, sftp, path) for path in paths))
    return dict(zip(paths, texts, strict=True))


async def _read_kept(connection: Connection, sftp: asyncssh.SFTPClient, path: str) -> FileText:
    try:
        async with asyncio.timeout(connection.timeout_s):
            return await _read(sftp, path)
    except TimeoutError:
        raise _unanswered(connection, sftp, f"reading {path}") from None
    except (asyncssh.Error, OSError, UnicodeDecodeError) as exc:
        if dropped := connection.lost(f"reading {path}"):
            raise dropped from exc
        return Unreadable(f"{connection.host.name}: {exc}")


async def _read(sftp: asyncssh.SFTPClient, path: str) -> str | None:
    try:
        async with sftp.open(path, "r", encoding="utf-8") as handle:
            text: str = await handle.read()
            return text
    except asyncssh.SFTPNoSuchFile:
        return None


async def write_file(connection: Connection, path: str, text: str) -> None:
    """Replace the file whole (or make it), keeping its permissions."""
    sftp = await sftp_client(connection)
    target = PurePosixPath(path)
    temporary = str(target.with_name(f".{target.name}.bluegreen-{secrets.token_hex(4)}"))
    try:
        async with asyncio.timeout(connection.timeout_s):
            await _replace(sftp, path, temporary, text)
    except TimeoutError:
        raise _unanswered(connection, sftp, f"writing {path} (whether it was replaced is unknown)") from None
    except (asyncssh.Error, OSError) as exc:
        dropped = connection.lost(f"writing {path}")
        if dropped is None:
            await _remove_quietly(sftp, temporary, connection.timeout_s)
        raise dropped or UnreachableError(f"{connection.host.name}: cannot write {path}: {exc}") from exc


async def remove_file(connection: Connection, path: str) -> None:
    """Remove the file; nothing to do if it is not there."""
    sftp = await sftp_client(connection)
    try:
        async with asyncio.timeout(connection.timeout_s):
            with suppress(asyncssh.SFTPNoSuchFile):
                await sftp.remove(path)
    except TimeoutError:
        raise _unanswered(connection, sftp, f"removing {path}") from None
    except (asyncssh.Error, OSError) as exc:
        name = connection.host.name
        raise connection.lost(f"removing {path}") or UnreachableError(f"{name}: cannot remove {path}: {exc}") from exc


async def _replace(sftp: asyncssh.SFTPClient, path: str, temporary: str, text: str) -> None:
    mode = await _mode_of(sftp, path)
    async with sftp.open(temporary, "w", encoding="utf-8") as handle:
        await handle.write(text)
    if mode is not None:
        await sftp.chmod(temporary, mode & 0o7777)
    await sftp.posix_rename(temporary, path)


async def replaceable(connection: Connection, files: Sequence[Persisted]) -> tuple[str | None, list[str | None]]:
    """Why SFTP cannot be used here, else why each file could not be replaced (None where it can)."""
    if not files:
        return None, []
    try:
        sftp = await sftp_client(connection)
    except ConnectionDropped:
        raise
    except UnreachableError as error:  # no SFTP subsystem: a reason to refuse, not a host out of reach
        return error.message, [None] * len(files)
    return None, list(await asyncio.gather(*(_replaceable(connection, sftp, file) for file in files)))


async def _replaceable(connection: Connection, sftp: asyncssh.SFTPClient, file: Persisted) -> str | None:
    """Why `file` could not be replaced the way a switch replaces it (a new file in its folder, renamed over it);
    None when it can. The trial file is removed at once."""
    path = haproxy.path(file.path)
    try:
        async with asyncio.timeout(connection.timeout_s):
            if file.must_exist and not await sftp.exists(path):
                return f"{path} does not exist: the switch rewrites it"
            return await _trial(connection, sftp, path)
    except TimeoutError:
        raise _unanswered(connection, sftp, f"checking that {path} can be replaced") from None
    except (asyncssh.Error, OSError) as exc:
        name = connection.host.name
        raise connection.lost(f"checking {path}") or UnreachableError(f"{name}: cannot check {path}: {exc}") from exc


async def _trial(connection: Connection, sftp: asyncssh.SFTPClient, path: str) -> str | None:
    target = PurePosixPath(path)
    trial = str(target.with_name(f".{target.name}.bluegreen-check-{secrets.token_hex(4)}"))
    try:
        async with sftp.open(trial, "w", encoding="utf-8") as handle:
            await handle.write("")
    except (asyncssh.Error, OSError) as exc:
        if dropped := connection.lost(f"checking {path}"):
            raise dropped from exc
        return (
            f"{path} cannot be replaced: no new file can be made in {target.parent} ({exc}); the SSH user needs "
            "write access to that folder"
        )
    with suppress(asyncssh.SFTPError):  # a trial file left behind is harmless; the answer stands
        await sftp.remove(trial)
    return None


async def sftp_client(connection: Connection) -> asyncssh.SFTPClient:
    """The connection's SFTP session, started on first use."""
    if connection.sftp is None:
        try:
            async with asyncio.timeout(connection.timeout_s):
                connection.sftp = await connection.conn.start_sftp_client()
        except TimeoutError:
            raise connection.given_up("starting SFTP") from None
        except (asyncssh.Error, OSError) as exc:
            raise connection.lost("starting SFTP") or UnreachableError(
                f"{connection.host.name}: cannot start SFTP: {exc}",
                hint="bluegreen writes the map and server-state files over SFTP: enable the sftp subsystem",
            ) from exc
    return connection.sftp


def _unanswered(connection: Connection, sftp: asyncssh.SFTPClient, during: str) -> UnreachableError:
    """SFTP left a request unanswered for the bound: the next operation starts a new SFTP session."""
    if connection.sftp is sftp:
        connection.sftp = None
    return UnreachableError(
        f"{connection.host.name}: SFTP did not answer within {connection.timeout_s:g} s {during}",
        hint="is the host overloaded, or its disk hung? `ssh.operation_timeout_s` bounds each file operation",
    )


async def _mode_of(sftp: asyncssh.SFTPClient, path: str) -> int | None:
    """The file's permissions, to keep them on the new file; None for a new file."""
    try:
        return (await sftp.stat(path)).permissions
    except asyncssh.SFTPNoSuchFile:
        return None


async def _remove_quietly(sftp: asyncssh.SFTPClient, path: str, timeout_s: float) -> None:
    with suppress(asyncssh.Error, OSError):  # OSError: TimeoutError too
        async with asyncio.timeout(timeout_s):
            await sftp.remove(path)
