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
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from pathlib import PurePosixPath
from typing import cast

import asyncssh

from bluegreen.adapters.ssh_link import Connection, ConnectionDropped
from bluegreen.core import haproxy
from bluegreen.core.haproxy import FileText, Unreadable
from bluegreen.errors import UnreachableError
from bluegreen.switching.base import Persisted

FIRST_READ = 64 * 1024  # one SFTP read, asked with the file's size: most map, state and record files fit
CLOSE_BOUND_S = 10.0  # a close nobody waits for still ends


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
    return (await _read_with_mode(sftp, path))[0]


async def _read_with_mode(sftp: asyncssh.SFTPClient, path: str) -> tuple[str | None, int | None]:
    """The file's text and permissions (None, None: no such file), in two round trips: the open, then its
    attributes and its first block asked together (a bigger file's rest after them). The close is not waited
    for: nothing waits on it, and its answer changes nothing."""
    try:  # block_size 0: the first read is one request (split in blocks, a short answer asks again for the rest)
        handle = await sftp.open(path, "rb", encoding=None, block_size=0)
    except asyncssh.SFTPNoSuchFile:
        return None, None
    try:
        attrs, first = await asyncio.gather(handle.stat(), handle.read(FIRST_READ, 0))
        data = cast(bytes, first)  # opened without an encoding
        handle.read_len = sftp.limits.max_read_len  # the rest of a bigger file, in blocks asked at once
        while attrs.size is None or len(data) < attrs.size:  # no size said: read to the end of the file
            more = cast(
                bytes, await handle.read(FIRST_READ if attrs.size is None else attrs.size - len(data), len(data))
            )
            if not more:
                break
            data += more
    finally:
        _close_soon(handle)
    return data.decode("utf-8"), attrs.permissions


_closing: set[asyncio.Task[None]] = set()  # closes under way, kept until done (a task nobody holds may vanish)


def _close_soon(handle: asyncssh.SFTPClientFile) -> None:
    task = asyncio.ensure_future(_close_quietly(handle))
    _closing.add(task)
    task.add_done_callback(_closing.discard)


async def _close_quietly(handle: asyncssh.SFTPClientFile) -> None:
    with suppress(asyncssh.Error, OSError):  # a handle left open goes with the SFTP session
        async with asyncio.timeout(CLOSE_BOUND_S):
            await handle.close()


Rewrite = Callable[[str | None], Awaitable[str]]  # the file's new text, from its text now (None: no such file)


async def write_file(connection: Connection, path: str, text: str | Rewrite) -> str | None:
    """Replace the file whole (or make it), keeping its permissions: with `text`, or with what `text` makes of
    the file's text now. Returns that text (None: there was no such file, or `text` was given as it is)."""
    sftp = await sftp_client(connection)
    target = PurePosixPath(path)
    temporary = str(target.with_name(f".{target.name}.bluegreen-{secrets.token_hex(4)}"))
    try:
        async with asyncio.timeout(connection.timeout_s):
            return await _replace(sftp, path, temporary, text)
    except TimeoutError:
        raise _unanswered(connection, sftp, f"writing {path} (whether it was replaced is unknown)") from None
    except (asyncssh.Error, OSError, UnicodeDecodeError) as exc:
        dropped = connection.lost(f"writing {path}")
        if dropped is None:
            await _remove_quietly(sftp, temporary, connection.timeout_s)
        doing = "read" if isinstance(exc, UnicodeDecodeError) else "write"
        raise dropped or UnreachableError(f"{connection.host.name}: cannot {doing} {path}: {exc}") from exc
    except Exception:  # what `text` refused to make of the file: nothing was replaced
        await _remove_quietly(sftp, temporary, connection.timeout_s)
        raise


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


async def _replace(sftp: asyncssh.SFTPClient, path: str, temporary: str, text: str | Rewrite) -> str | None:
    """Three round trips (four with a rewrite, which reads the file first), each waiting only for what it needs:
    the file's permissions (and text) with the new file's open; the text and the permissions; the close and the
    rename (the text is in the new file once its write was answered)."""
    now = _read_with_mode(sftp, path) if callable(text) else _mode_of(sftp, path)
    found, handle = await asyncio.gather(now, sftp.open(temporary, "wb", encoding=None), return_exceptions=True)
    if isinstance(handle, BaseException):
        raise handle
    try:
        if isinstance(found, BaseException):
            raise found
        before, mode = found if isinstance(found, tuple) else (None, found)
        data = (await text(before) if callable(text) else text).encode("utf-8")
        permissions = [handle.chmod(mode & 0o7777)] if mode is not None else []
        await asyncio.gather(handle.write(data, 0), *permissions)
    except BaseException:
        _close_soon(handle)
        raise
    _, renamed = await asyncio.gather(handle.close(), sftp.posix_rename(temporary, path), return_exceptions=True)
    if isinstance(renamed, BaseException):  # the close's own error changes nothing: the text was written
        raise renamed
    return before


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
            return await _trial(connection, sftp, path, file.must_exist)
    except TimeoutError:
        raise _unanswered(connection, sftp, f"checking that {path} can be replaced") from None
    except (asyncssh.Error, OSError) as exc:
        name = connection.host.name
        raise connection.lost(f"checking {path}") or UnreachableError(f"{name}: cannot check {path}: {exc}") from exc


async def _trial(connection: Connection, sftp: asyncssh.SFTPClient, path: str, must_exist: bool) -> str | None:
    """Whether the file exists (if it must) and a new file can be made beside it, asked together; the trial file
    is closed and removed together."""
    target = PurePosixPath(path)
    trial = str(target.with_name(f".{target.name}.bluegreen-check-{secrets.token_hex(4)}"))
    exists, opened = await asyncio.gather(
        sftp.exists(path) if must_exist else _true(), sftp.open(trial, "w", encoding="utf-8"), return_exceptions=True
    )
    if isinstance(opened, asyncssh.SFTPClientFile):
        with suppress(asyncssh.SFTPError):  # a trial file left behind is harmless; the answer stands
            await asyncio.gather(opened.close(), sftp.remove(trial))
    if isinstance(exists, BaseException):
        raise exists
    if not exists:
        return f"{path} does not exist: the switch rewrites it"
    if isinstance(opened, BaseException):
        if not isinstance(opened, asyncssh.Error | OSError):
            raise opened
        if dropped := connection.lost(f"checking {path}"):
            raise dropped from opened
        return (
            f"{path} cannot be replaced: no new file can be made in {target.parent} ({opened}); the SSH user needs "
            "write access to that folder"
        )
    return None


async def _true() -> bool:
    return True


async def sftp_client(connection: Connection) -> asyncssh.SFTPClient:
    """The connection's SFTP session: the one started with the connection (ssh_link.Connection.start_sftp), or
    a new one once that one was given up. Operations that ask at the same time wait for the same start."""
    if connection.sftp is None:
        if connection.sftp_starting is None:
            connection.start_sftp()
        starting = connection.sftp_starting
        assert starting is not None
        try:
            async with asyncio.timeout(connection.timeout_s):
                connection.sftp = await asyncio.shield(starting)
        except TimeoutError:
            raise connection.given_up("starting SFTP") from None
        except (asyncssh.Error, OSError) as exc:
            raise connection.lost("starting SFTP") or UnreachableError(
                f"{connection.host.name}: cannot start SFTP: {exc}",
                hint="bluegreen writes the map and server-state files over SFTP: enable the sftp subsystem",
            ) from exc
        finally:
            if connection.sftp_starting is starting and starting.done():
                connection.sftp_starting = None  # the next start, if this one failed, is a new one
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
