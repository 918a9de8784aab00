"""The channels an operation opens on a host's connection: to HAProxy's runtime socket (`direct-streamlocal`, no
remote process), and to a TCP address as the host sees it (`direct-tcpip`, for the HTTP probes).

A runtime command, from opening its channel to the end of the answer, is bounded by `ssh.operation_timeout_s`.
If sshd does not even open the channel in time, the connection is given up (ssh_link.py); if HAProxy does not
answer, only the command fails. A TCP channel has no bound of its own: the probe's connect timeout is it, and an
app server's address that never answers is no reason to give the SSH connection up.
"""

from __future__ import annotations

import asyncio

import asyncssh

from bluegreen.adapters.ssh_link import Connection
from bluegreen.errors import NotSentError, UnreachableError

Streams = tuple[asyncssh.SSHReader[bytes], asyncssh.SSHWriter[bytes]]


async def runtime(connection: Connection, command: str) -> str:
    """One command to HAProxy's runtime socket, its whole answer back; opening the channel and the answer are
    bounded together by the operation timeout. sshd not opening the channel in time gives the connection up."""
    if "\n" in command or "\r" in command:
        raise ValueError("a runtime command is one line")
    name, opened = connection.host.name, False
    try:
        async with asyncio.timeout(connection.timeout_s):
            reader, writer = await connection.conn.open_unix_connection(connection.host.socket)
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
