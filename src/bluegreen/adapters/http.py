"""The HTTP adapter (httpx): app servers' health and version, and who serves the public entry.

App servers often sit on a private network that only the HAProxy host reaches; with `via: ssh` a probe travels
through that host's SSH connection (a direct-tcpip channel opened by httpcore's network backend), otherwise it
goes straight from here.
"""

from __future__ import annotations

import asyncio
import functools
import json
import ssl
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Protocol

import httpcore
import httpx

from bluegreen.model import AppEnvironment, Color, ColorProbe, Probes, PublicEntry, Served, Via


class ByteReader(Protocol):
    async def read(self, n: int = -1) -> bytes: ...


class ByteWriter(Protocol):
    def write(self, data: bytes) -> None: ...
    def close(self) -> None: ...


OpenTcp = Callable[[str, int], Awaitable[tuple[ByteReader, ByteWriter]]]


class _TunnelStream(httpcore.AsyncNetworkStream):
    def __init__(self, reader: ByteReader, writer: ByteWriter) -> None:
        self._reader, self._writer = reader, writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            return await asyncio.wait_for(self._reader.read(max_bytes), timeout)
        except TimeoutError as exc:
            raise httpcore.ReadTimeout("timed out") from exc
        except Exception as exc:  # the channel's own errors (asyncssh's, OSError): httpx reports a read error
            raise httpcore.ReadError(f"{type(exc).__name__}: {exc}") from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        try:
            self._writer.write(buffer)
        except Exception as exc:
            raise httpcore.WriteError(f"{type(exc).__name__}: {exc}") from exc

    async def aclose(self) -> None:
        self._writer.close()

    async def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("TLS to app servers through SSH is not supported; probe them over http")

    def get_extra_info(self, info: str) -> Any:
        return None


class _TunnelBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, open_tcp: OpenTcp) -> None:
        self._open_tcp = open_tcp

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            reader, writer = await asyncio.wait_for(self._open_tcp(host, port), timeout)
        except (OSError, TimeoutError) as exc:
            raise httpcore.ConnectError(str(exc) or "timed out") from exc
        return _TunnelStream(reader, writer)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


# The release's own traffic has its own clients, so an entry that hangs fills their pools, never the one that
# verification's own requests and the health probes use; the engine keeps fewer than this on their way per
# route (engine/traffic.py MAX_IN_FLIGHT), so none of them waits for a connection either.
TRAFFIC_CONNECTIONS = 64
PROBE_CONNECTIONS = 10  # httpcore's default, for verification's requests and the health probes through SSH
_HTTPX_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)  # httpx's default, from here


def tunnel_client(open_tcp: OpenTcp, timeout_s: float, connections: int = PROBE_CONNECTIONS) -> httpx.AsyncClient:
    """An httpx client whose TCP connections are opened by `open_tcp` (an SSH channel) instead of a socket."""
    transport = httpx.AsyncHTTPTransport(verify=tls_context())
    # httpx builds its pool in __init__ with no way to pass a network backend; the pool is its documented
    # extension point (httpcore), so swap it for one that dials through the tunnel.
    # No keep-alive: a tunnelled connection cannot tell httpcore that the app server closed it while idle, and
    # a new channel costs about a millisecond.
    pool = httpcore.AsyncConnectionPool(
        network_backend=_TunnelBackend(open_tcp), max_connections=connections, max_keepalive_connections=0
    )
    transport._pool = pool
    return httpx.AsyncClient(transport=transport, timeout=timeout_s, trust_env=False)


def direct_client(timeout_s: float, connections: int | None = None) -> httpx.AsyncClient:
    """A client from here: httpx's own pool, or `connections` at most and none kept alive (each visit is a new
    user's, `Connection: close`)."""
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=0) if connections else _HTTPX_LIMITS
    return httpx.AsyncClient(timeout=timeout_s, trust_env=False, verify=tls_context(), limits=limits)


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One TLS context (httpx's default: certifi's CAs, no environment) for every client of the process. Each
    client would build its own, loading the CA bundle: 15 to 35 ms of CPU on the event loop, once per route,
    and the release's own traffic makes its route's client just as the switch starts."""
    return httpx.create_ssl_context(trust_env=False)


# --- probes ---------------------------------------------------------------------------------------------------


async def probe_color(
    client: httpx.AsyncClient, app: AppEnvironment, color: Color, count: int, interval_s: float
) -> ColorProbe:
    """`count` health probes, one started every `interval_s` (a probe that is slow to answer does not hold the
    next one back: over a long round trip the probes overlap); the first failure, in order, ends them. The
    version is asked with the first probe."""
    address = app.addresses[color]
    base = f"http://{address}"
    version = asyncio.ensure_future(_version(client, base + app.probes.version_path, app.probes))
    try:
        passed, error = await _health_in_turn(client, base + app.probes.health_path, app.probes, count, interval_s)
        found, version_error = await version
    finally:
        version.cancel()
    return ColorProbe(color, address, passed, count, found, error or version_error)


async def _health_in_turn(
    client: httpx.AsyncClient, url: str, probes: Probes, count: int, interval_s: float
) -> tuple[int, str | None]:
    """How many probes passed before the first that failed (all of them: `count`), and its error."""

    async def probe(turn: int) -> str | None:
        await asyncio.sleep(turn * interval_s)
        return await _health(client, url, probes.health_status, probes.timeout_s)

    turns = [asyncio.ensure_future(probe(turn)) for turn in range(count)]
    try:
        for passed, turn in enumerate(turns):
            if error := await turn:
                return passed, error
        return count, None
    finally:
        for turn in turns:
            turn.cancel()
        await asyncio.gather(*turns, return_exceptions=True)


async def _health(client: httpx.AsyncClient, url: str, expected: int, timeout_s: float) -> str | None:
    try:
        response = await client.get(url, timeout=timeout_s)
    except httpx.HTTPError as exc:
        return f"health check {url} failed: {_describe(exc)}"
    if response.status_code != expected:
        return f"health check {url} answered {response.status_code}, expected {expected}"
    return None


async def _version(client: httpx.AsyncClient, url: str, probes: Probes) -> tuple[str | None, str | None]:
    field = probes.version_field
    try:
        response = await client.get(url, timeout=probes.timeout_s)
    except httpx.HTTPError as exc:
        return None, f"version endpoint {url} failed: {_describe(exc)}"
    if response.status_code != 200:
        return None, f"version endpoint {url} answered {response.status_code}"
    version = version_from(response.text, field)
    return (version, None) if version else (None, f"version endpoint {url} named no version")


def version_from(body: str, field: str | None) -> str | None:
    """The version an app server names: at most 64 printable characters, whatever the server sends (it ends up
    in reports, comments and status.json)."""
    if field is None:
        return _plausible(body.strip())
    try:
        value = json.loads(body).get(field)
    except (ValueError, AttributeError):
        return None
    return _plausible(str(value)) if isinstance(value, str | int | float) else None


def _plausible(version: str) -> str | None:
    return version if 0 < len(version) <= 64 and version.isprintable() else None


# The release's own traffic says who it is, so an app's logs can tell it from users' requests.
TRAFFIC_USER_AGENT = "bluegreen (release traffic probe)"
# A visit reads its page only when no served-by header names the server, to tell the colors apart by the version
# it names, and at most this much of it: the public entry's page may be large, and there are many visits.
VISIT_BODY_BYTES = 64 * 1024


async def sample_public(client: httpx.AsyncClient, public: PublicEntry, field: str | None, count: int) -> list[Served]:
    """`count` requests through the public entry, each on a new connection (as new users arrive), all at once:
    over a long round trip one after the other would cost `count` times as long."""
    return list(await asyncio.gather(*(_served(client, public, _new_user(public), field) for _ in range(count))))


async def visit_public(client: httpx.AsyncClient, public: PublicEntry, field: str | None) -> Served:
    """One request of the release's own traffic through the public entry: a new user's, like verification's, but
    asked once only: a page whose connection was cut is an error the user saw (a browser asks again only for a
    connection it had kept alive), and the figure is what users saw."""
    headers = {**_new_user(public), "User-Agent": TRAFFIC_USER_AGENT}
    try:
        async with client.stream("GET", public.url, headers=headers) as response:
            served_by = response.headers.get(public.served_by_header) if public.served_by_header else None
            body = None if served_by else await _prefix(response, VISIT_BODY_BYTES)
    except httpx.HTTPError as exc:
        return Served(None, None, None, _describe(exc))
    return Served(response.status_code, served_by, None if body is None else version_from(body, field))


async def _prefix(response: httpx.Response, limit: int) -> str:
    """At most `limit` bytes of the body, as text (a version cut off names none)."""
    read = bytearray()
    async for chunk in response.aiter_bytes():
        read += chunk
        if len(read) >= limit:
            break
    return bytes(read[:limit]).decode(response.encoding or "utf-8", errors="replace")


def _new_user(public: PublicEntry) -> dict[str, str]:
    return {"Host": public.host_header, "Connection": "close"} if public.host_header else {"Connection": "close"}


async def _served(client: httpx.AsyncClient, public: PublicEntry, headers: dict[str, str], field: str | None) -> Served:
    try:
        response = await _get_once_more_if_cut(client, public.url, headers)
    except httpx.HTTPError as exc:
        return Served(None, None, None, _describe(exc))
    served_by = response.headers.get(public.served_by_header) if public.served_by_header else None
    return Served(response.status_code, served_by, version_from(response.text, field))


async def _get_once_more_if_cut(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> httpx.Response:
    """A GET whose connection was cut before an answer (an HAProxy reload closes the old worker's connections)
    is asked once more on a new connection, as a browser would: only a second failure counts."""
    try:
        return await client.get(url, headers=headers)
    except (httpx.RemoteProtocolError, httpx.ReadError, httpx.ConnectError):
        return await client.get(url, headers=headers)


def _describe(exc: httpx.HTTPError) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class HttpProber:
    """The engine's Prober: one HTTP client per route (direct, or through each HAProxy host), and one more per
    route for the release's own traffic, made on first use, all closed at the end."""

    def __init__(self, tunnels: Mapping[str, OpenTcp], timeout_s: float = 3.0) -> None:
        self._tunnels = tunnels
        self._timeout_s = timeout_s
        self._clients: dict[tuple[bool, str | None], httpx.AsyncClient] = {}

    async def health(self, app: AppEnvironment, color: Color, count: int, interval_s: float) -> ColorProbe:
        return await probe_color(self._client(app.probes.via), app, color, count, interval_s)

    async def public(self, app: AppEnvironment, through: str | None) -> list[Served]:
        client = self._client(app.public.via, through)
        return await sample_public(client, app.public, app.probes.version_field, app.verify.requests)

    async def visit(self, app: AppEnvironment, through: str | None) -> Served:
        client = self._client(app.public.via, through, traffic=True)
        return await visit_public(client, app.public, app.probes.version_field)

    def _client(self, via: Via, host: str | None = None, traffic: bool = False) -> httpx.AsyncClient:
        route = None if via == "direct" else (host or next(iter(self._tunnels)))
        if (traffic, route) not in self._clients:
            self._clients[traffic, route] = self._new_client(route, traffic)
        return self._clients[traffic, route]

    def _new_client(self, route: str | None, traffic: bool) -> httpx.AsyncClient:
        if route is not None:
            connections = TRAFFIC_CONNECTIONS if traffic else PROBE_CONNECTIONS
            return tunnel_client(self._tunnels[route], self._timeout_s, connections)
        return direct_client(self._timeout_s, TRAFFIC_CONNECTIONS if traffic else None)

    async def aclose(self) -> None:
        await asyncio.gather(*(client.aclose() for client in self._clients.values()))
