"""The channels an operation opens on a host's connection: to HAProxy's runtime socket (`direct-streamlocal`, no
remote process), and to a TCP address as the host sees it (`direct-tcpip`, for the HTTP probes).

A runtime command, from opening its channel to the end of the answer, is bounded by `ssh.operation_timeout_s`.
If sshd does not even open the channel in time, the connection is given up (ssh_link.py); if HAProxy does not
answer, only the command fails. A TCP channel has no bound of its own: the probe's connect timeout is it, and an
app server's address that never answers is no reason to give the SSH connection up.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import suppress

import asyncssh

from bluegreen.adapters.ssh_link import Connection, Streams
from bluegreen.errors import NotSentError, UnreachableError

SPARE_AGE_S = 1.0  # a channel opened ahead is used this long at most: HAProxy closes an idle one after its
# `stats timeout` (10 s unless set), and a command written to a closed one would get an empty answer


def open_ahead(connection: Connection) -> None:
    """Open a channel to the runtime socket now, for the next runtime command (a switch's `set map` after its
    file is in place): that command then waits for its answer only, not for the channel too."""
    if connection.spare is None:
        connection.spare = (time.monotonic(), asyncio.ensure_future(_open(connection)))
        connection.spare[1].add_done_callback(_retrieved)


async def runtime(connection: Connection, command: str) -> str:
    """One command to HAProxy's runtime socket, its whole answer back; opening the channel and the answer are
    bounded together by the operation timeout. sshd not opening the channel in time gives the connection up."""
    if "\n" in command or "\r" in command:
        raise ValueError("a runtime command is one line")
    name, opened = connection.host.name, False
    try:
        async with asyncio.timeout(connection.timeout_s):
            reader, writer = await _channel(connection)
            opened = True
            answer = await _ask(reader, writer, command)
    except TimeoutError:
        if not opened:
            raise connection.given_up(f"opening HAProxy's runtime socket for `{command}`") from None
        raise UnreachableError(
            f"{name}: HAProxy did not answer `{command}` within {connection.timeout_s:g} s",
            hint=f"is HAProxy on {name} hung? `ssh.operation_timeout_s` bounds each runtime command",
        ) from None
    except (asyncssh.Error, OSError) as exc:
        raise connection.lost(f"`{command}`") or _failed(connection, command, exc, opened) from exc
    if dropped := connection.lost(f"`{command}`"):  # an end of file from a dying connection is not an answer
        raise dropped
    return answer.decode("utf-8", "replace")


async def _open(connection: Connection) -> Streams:
    return await connection.conn.open_unix_connection(connection.host.socket)


async def _channel(connection: Connection) -> Streams:
    """The channel opened ahead, if it is young and still open; else a new one."""
    spare, connection.spare = connection.spare, None
    if spare is not None:
        opened_at, opening = spare
        if time.monotonic() - opened_at < SPARE_AGE_S:
            with suppress(asyncssh.Error, OSError):  # it could not be opened: a new one says why, if it fails too
                reader, writer = await opening
                if not reader.at_eof():
                    return reader, writer
                writer.close()
        else:
            opening.add_done_callback(_close_unused)
    return await _open(connection)


def _retrieved(opening: asyncio.Future[Streams]) -> None:
    if not opening.cancelled():
        opening.exception()


def _close_unused(opening: asyncio.Future[Streams]) -> None:
    if not opening.cancelled() and opening.exception() is None:
        opening.result()[1].close()


async def _ask(reader: asyncssh.SSHReader[bytes], writer: asyncssh.SSHWriter[bytes], command: str) -> bytes:
    try:
        writer.write(command.encode() + b"\n")
        answer: bytes = await reader.read()
        return answer
    finally:
        writer.close()


def _failed(connection: Connection, command: str, exc: Exception, opened: bool) -> UnreachableError:
    host, reason = connection.host, exc.reason if isinstance(exc, asyncssh.Error) else str(exc)
    if opened:
        return UnreachableError(f"{host.name}: the connection broke during `{command}`: {reason}")
    return NotSentError(  # the command never left: it changed nothing
        f"{host.name}: cannot open HAProxy's runtime socket {host.socket}: {reason}",
        hint="is HAProxy running with `stats socket ... level admin`, and may the SSH user use the socket?",
    )


async def tcp_channel(connection: Connection, host: str, port: int) -> Streams:
    try:
        return await connection.conn.open_connection(host, port)
    except (asyncssh.Error, OSError) as exc:
        reason = exc.reason if isinstance(exc, asyncssh.Error) else str(exc)
        raise connection.lost(f"opening a channel to {host}:{port}") or UnreachableError(
            f"{connection.host.name} cannot reach {host}:{port}: {reason}"
        ) from exc
