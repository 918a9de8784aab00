"""Reading app servers' answers, and a public request cut by a reload asked once more (httpx's mock transport)."""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncIterator

import httpx
import pytest

from bluegreen.adapters import http as probe
from bluegreen.engine import traffic
from bluegreen.model import Color, PublicEntry, Served, Via
from tests.unit.engine.world import THEOSHIFT

PUBLIC = PublicEntry("http://lb.test/version", host_header="theoshift.example.test")


@pytest.mark.parametrize(
    ("body", "field", "version"),
    [
        ('{"version": "2.4.1"}', "version", "2.4.1"),
        ('{"version": 3}', "version", "3"),
        ('{"build": "x"}', "version", None),
        ("not json", "version", None),
        ('["2.4.1"]', "version", None),
        ("v2.4.1\n", None, "v2.4.1"),
        ("", None, None),
        ("\x1b[31mred", None, None),
        ("x" * 65, None, None),
    ],
)
def test_version_from_the_answer(body: str, field: str | None, version: str | None) -> None:
    assert probe.version_from(body, field) == version


def cut_then(*answers: httpx.Response | Exception) -> httpx.MockTransport:
    pending = list(answers)

    def handle(request: httpx.Request) -> httpx.Response:
        assert request.headers["host"] == "theoshift.example.test"
        answer = pending.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return httpx.MockTransport(handle)


async def test_a_request_cut_by_a_reload_is_asked_once_more() -> None:
    served = httpx.Response(200, headers={"X-Served-By": "theoshift_blue/blue"}, json={"version": "2.4.1"})
    transport = cut_then(httpx.RemoteProtocolError("Server disconnected without sending a response."), served)
    async with httpx.AsyncClient(transport=transport) as client:
        [answer] = await probe.sample_public(client, PUBLIC, "version", 1)
    assert (answer.status, answer.served_by, answer.version, answer.error) == (
        200,
        "theoshift_blue/blue",
        "2.4.1",
        None,
    )


async def test_a_second_cut_counts_as_a_failure() -> None:
    transport = cut_then(httpx.ReadError("reset"), httpx.ReadError("reset again"))
    async with httpx.AsyncClient(transport=transport) as client:
        [answer] = await probe.sample_public(client, PUBLIC, "version", 1)
    assert answer.status is None
    assert answer.error == "ReadError: reset again"


def test_a_json_version_is_bounded_like_a_plain_one() -> None:
    assert probe.version_from(json.dumps({"version": "9" * 5000}), "version") is None
    assert probe.version_from(json.dumps({"version": "2.4.1\u202e"}), "version") is None


async def test_a_visit_is_a_new_users_request_that_says_it_is_the_release_probe() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, headers={"X-Served-By": "theoshift_blue/blue"}, json={"version": "2.4.1"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as client:
        answer = await probe.visit_public(client, PUBLIC, "version")
    assert answer == Served(200, "theoshift_blue/blue", None)  # the header named the server: no body read
    [request] = seen
    assert (str(request.url), request.headers["host"]) == ("http://lb.test/version", "theoshift.example.test")
    assert request.headers["connection"] == "close"
    assert request.headers["user-agent"] == probe.TRAFFIC_USER_AGENT == "bluegreen (release traffic probe)"


@pytest.mark.parametrize(
    "cut", [httpx.ConnectError("refused"), httpx.ReadError("reset"), httpx.RemoteProtocolError("disconnected")]
)
async def test_a_visit_without_an_answer_is_a_failure_in_words_asked_once_only(cut: httpx.HTTPError) -> None:
    """Unlike verification's, a visit cut by a reload is not asked again: the user it stands for saw the error."""
    served = httpx.Response(200, headers={"X-Served-By": "theoshift_blue/blue"}, json={"version": "2.4.1"})
    async with httpx.AsyncClient(transport=cut_then(cut, served)) as client:
        answer = await probe.visit_public(client, PUBLIC, "version")
    assert answer == Served(None, None, None, f"{type(cut).__name__}: {cut}")


def test_every_client_shares_one_tls_context_that_still_checks_certificates() -> None:
    context = probe.tls_context()
    assert probe.tls_context() is context  # built once: loading the CA bundle costs 15-35 ms of CPU each time
    assert (context.verify_mode, context.check_hostname) == (ssl.CERT_REQUIRED, True)


@pytest.mark.parametrize("via", ["direct", "ssh"])
async def test_the_release_traffic_has_its_own_pool_larger_than_it_ever_fills(via: Via) -> None:
    """An entry that hangs fills the traffic's pool, never the one verification's requests and the health probes
    use, and the traffic never asks its pool for more connections than it has (no PoolTimeout of its own)."""

    async def never_dialled(host: str, port: int) -> tuple[probe.ByteReader, probe.ByteWriter]:
        raise AssertionError("no connection is made here")

    prober = probe.HttpProber({"lb1": never_dialled})
    ours, verification = prober._client(via, "lb1", traffic=True), prober._client(via, "lb1")
    assert ours is not verification
    assert prober._client(via, "lb1", traffic=True) is ours
    pool = ours._transport._pool  # type: ignore[attr-defined]  # httpcore's pool: where the limit is kept
    assert pool._max_connections == probe.TRAFFIC_CONNECTIONS >= 2 * traffic.MAX_IN_FLIGHT
    await prober.aclose()


async def test_a_visit_without_the_header_reads_a_bounded_prefix_of_the_page_for_its_version() -> None:
    pulled: list[int] = []

    async def page() -> AsyncIterator[bytes]:
        yield b"2.4.1"
        for n in range(1000):  # 64 MiB more, never read
            pulled.append(n)
            yield b" " * 65536

    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=page())

    async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as client:
        answer = await probe.visit_public(client, PUBLIC, None)
    assert answer == Served(200, None, "2.4.1")
    assert len(pulled) <= 2  # 64 KiB read, then the connection is closed


async def test_health_probes_start_on_their_schedule_and_the_version_with_the_first() -> None:
    """Over a long round trip a probe's answer takes longer than the interval: the next probe does not wait for
    it (one after the other, three probes would take three answers' time plus the intervals)."""
    started: list[str] = []
    answered = asyncio.Event()

    async def handle(request: httpx.Request) -> httpx.Response:
        started.append(request.url.path)
        if len([path for path in started if path == "/health"]) == 3:
            answered.set()
        await asyncio.wait_for(answered.wait(), 2)  # no answer before the third probe has started
        if request.url.path == "/version":
            return httpx.Response(200, json={"version": "2.4.1"})
        return httpx.Response(200)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as client:
        found = await probe.probe_color(client, THEOSHIFT, Color.BLUE, 3, 0.01)
    assert (found.passed, found.asked, found.version, found.error) == (3, 3, "2.4.1", None)
    assert sorted(started[:2]) == ["/health", "/version"]  # the version did not wait for the probes


async def test_the_first_failing_probe_in_order_ends_the_probes() -> None:
    answers = iter([200, 503, 200, 200])

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/version":
            return httpx.Response(200, json={"version": "2.4.1"})
        return httpx.Response(next(answers))

    async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as client:
        found = await probe.probe_color(client, THEOSHIFT, Color.BLUE, 4, 0.01)
    assert (found.passed, found.healthy) == (1, False)
    assert "answered 503, expected 200" in (found.error or "")
