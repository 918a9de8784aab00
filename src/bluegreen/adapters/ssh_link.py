"""One HAProxy host's SSH connection, and the one time a run may make it again.

A connection drops when sshd's session dies, when the network is cut (asyncssh notices by its keepalives), or
when an SSH-level request (opening a channel, starting SFTP) goes unanswered for `ssh.operation_timeout_s`: then
it is given up on purpose. The next operation on the host makes it again (`Link.live`), once per run, with the
same pinned host keys and deploy key, through the jump host (connected again too), and the host's port runs its
`on_reconnect` (the release lock, taken again) before any operation uses the new connection. A second drop, or a
reconnection that fails, is an UnreachableError. What may be asked again on the new connection is the port's
decision (ssh.py): an operation that met the drop raises ConnectionDropped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import suppress

import asyncssh

from bluegreen.adapters.sshkeys import Credentials
from bluegreen.errors import HostKeyError, UnreachableError
from bluegreen.model import Endpoint, HaproxyHost

Streams = tuple[asyncssh.SSHReader[bytes], asyncssh.SSHWriter[bytes]]  # a channel's two ends


# AES-GCM first: asyncssh makes a new ChaCha20 context for every packet, two per packet, which was most of a
# release's client CPU (0.3 s of 0.53 s with 16 hosts); AES-GCM keeps one context and uses the CPU's AES
# instructions. Both are OpenSSH's defaults (which prefer ChaCha20); the server picks from this order.
CIPHERS = (
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
    "chacha20-poly1305@openssh.com",
    "aes256-ctr",
    "aes128-ctr",
)


class ConnectionDropped(UnreachableError):
    """The SSH connection went away while an operation was on it: whatever that operation changed is unknown."""


class Connection:
    """One SSH connection to a host (over the jump host's, if any), with its SFTP session once one is started."""

    def __init__(
        self,
        host: HaproxyHost,
        conn: asyncssh.SSHClientConnection,
        jump: asyncssh.SSHClientConnection | None,
        timeout_s: float,
    ) -> None:
        self.host, self.conn, self.jump, self.timeout_s = host, conn, jump, timeout_s
        self.sftp: asyncssh.SFTPClient | None = None
        self.sftp_starting: asyncio.Task[asyncssh.SFTPClient] | None = None  # see start_sftp
        # a runtime channel opened ahead (ssh_channels.open_ahead): when, and its opening
        self.spare: tuple[float, asyncio.Future[tuple[asyncssh.SSHReader[bytes], asyncssh.SSHWriter[bytes]]]] | None = (
            None
        )
        self._given_up = False

    def start_sftp(self) -> None:
        """Start the SFTP session now, without waiting for it: its four round trips (a channel, the subsystem,
        the version, the limits) then pass while the lock is taken. Whoever first needs it waits for it, and
        meets its error, if any (ssh_files.sftp_client)."""
        self.sftp_starting = asyncio.ensure_future(self.conn.start_sftp_client())
        self.sftp_starting.add_done_callback(_retrieved)

    @property
    def dropped(self) -> bool:
        return self._given_up or self.conn.is_closed()

    def lost(self, during: str) -> ConnectionDropped | None:
        """The error to raise for a failure `during` an operation, if it was the connection that went away."""
        return (
            ConnectionDropped(f"{self.host.name}: the SSH connection dropped during {during}") if self.dropped else None
        )

    def given_up(self, during: str) -> ConnectionDropped:
        """sshd did not answer an SSH-level request for the bound: the connection is taken for dead and closed,
        so the next operation makes a new one instead of waiting on it again."""
        self._given_up = True
        self.conn.abort()
        return ConnectionDropped(
            f"{self.host.name}: sshd did not answer within {self.timeout_s:g} s {during}; the connection is given up"
        )

    async def close(self) -> None:
        if self.sftp_starting is not None:
            self.sftp_starting.cancel()
        if self.spare is not None:
            self.spare[1].cancel()
        if self.sftp is not None:
            self.sftp.exit()
        for conn in (self.conn, self.jump):
            if conn is not None:
                conn.close()
                with suppress(TimeoutError):
                    async with asyncio.timeout(self.timeout_s):
                        await conn.wait_closed()
                conn.abort()


def _retrieved(task: asyncio.Task[asyncssh.SFTPClient]) -> None:
    """An SFTP start nobody came to wait for (the run ended first) fails silently: its error is nobody's."""
    if not task.cancelled():
        task.exception()


Reconnected = Callable[[Connection], Awaitable[None]]


class Link:
    """A host's connection for the whole run: the first one, or, once it dropped, the one made again."""

    def __init__(self, host: HaproxyHost, credentials: Credentials, first: Connection) -> None:
        self.host, self._credentials, self._now = host, credentials, first
        self.on_reconnect: Reconnected | None = None  # must not raise: it runs before anyone uses the connection
        self._renewing = asyncio.Lock()
        self._down: str | None = None  # what to say once the one reconnection is spent and the connection is down

    @property
    def timeout_s(self) -> float:
        return self._credentials.settings.operation_timeout_s

    @property
    def connection(self) -> Connection:
        """The connection as it is now, dropped or not (`live` is the one to use)."""
        return self._now

    async def live(self) -> Connection:
        """A connection that has not dropped: the one in use, or a new one (once a run); UnreachableError else."""
        if not self._now.dropped:
            return self._now
        async with self._renewing:  # operations that find it dropped at the same time wait for one reconnection
            if self._now.dropped:
                await self._reconnect()
            return self._now

    async def _reconnect(self) -> None:
        name = self.host.name
        if self._down is not None:
            raise UnreachableError(
                self._down, hint="a host's connection is made again once a run; check the host and the network to it"
            )
        self._down = f"{name}: the SSH connection dropped again (it had been made again once already this run)"
        await self._now.close()
        try:
            self._now = await open_connection(self.host, self._credentials)
        except UnreachableError as error:
            self._down = f"{name}: the SSH connection is down (it dropped, and making it again failed)"
            detail = error.message.removeprefix(f"{name}: ")
            message = f"{name}: the SSH connection dropped and could not be made again: {detail}"
            raise type(error)(message, hint=error.hint) from error
        if self.on_reconnect is not None:
            await self.on_reconnect(self._now)

    async def close(self) -> None:
        await self._now.close()


async def open_connection(host: HaproxyHost, credentials: Credentials) -> Connection:
    """Connect (through the jump host, if any) with the pinned host keys; errors say what to check."""
    jump = await _connect(host.jump, credentials, None, host.name) if host.jump else None
    try:
        conn = await _connect(host.ssh, credentials, jump, host.name)
    except BaseException:
        if jump is not None:
            jump.close()
        raise
    connection = Connection(host, conn, jump, credentials.settings.operation_timeout_s)
    connection.start_sftp()
    return connection


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
            encryption_algs=CIPHERS,
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
