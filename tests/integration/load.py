"""Keep-alive clients hammering a lab's public entry while a test runs; each answer is counted by who served it."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx

from bluegreen_lab import Sandbox
from tests.integration import faults

MAX_LOAD_S = 60.0  # a bound, in case what runs meanwhile hangs: the load stops on its own


@dataclass
class Load:
    """`retry_cut`: a request on a keep-alive connection that a reload closed is sent once more on a new one, as
    RFC 9112 (9.3.1) lets a client do for an idempotent request (browsers do; HAProxy 2.6's old worker closes its
    idle connections when it stops)."""

    lab: Sandbox
    retry_cut: bool = False
    stop: threading.Event = field(default_factory=threading.Event)
    served: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    since: float | None = None  # see settle
    after: Counter[bool] = field(default_factory=Counter)  # by failed, of the requests started since

    def client(self, app: str, host: int = 0) -> None:
        header = self.lab.environments["apps"][app]["public"]["host_header"]
        deadline = time.monotonic() + MAX_LOAD_S
        with httpx.Client(headers={"Host": header}, timeout=5) as client:
            while not self.stop.is_set() and time.monotonic() < deadline:
                self.record(app, client, self.lab.public_url(app, host))

    def record(self, app: str, client: httpx.Client, url: str) -> None:
        started = time.monotonic()
        try:
            response = self._get(client, url)
            result = response.headers.get("X-Served-By", "?") if response.status_code == 200 else None
            failure = None if result else f"{app}: status {response.status_code}"
        except httpx.HTTPError as exc:
            result, failure = None, f"{app}: {type(exc).__name__}: {exc}"
        with self.lock:
            if failure:
                self.failures.append(failure)
            else:
                self.served[result or "?"] += 1
            if self.since is not None and started >= self.since:
                self.after[failure is not None] += 1

    def settle(self, requests: int = 20) -> None:
        """From now on, count apart the requests that start (bluegreen has returned), until `requests` did."""
        with self.lock:
            self.since = time.monotonic()
        deadline = self.since + 5
        while sum(self.after.values()) < requests and time.monotonic() < deadline:
            time.sleep(0.01)

    def _get(self, client: httpx.Client, url: str) -> httpx.Response:
        try:
            return client.get(url)
        except (httpx.RemoteProtocolError, httpx.ReadError):  # closed or reset while we sent
            if not self.retry_cut:
                raise
            return client.get(url)

    @property
    def seen(self) -> faults.Load:
        """What the fault matrix records of it."""
        with self.lock:
            failed = len(self.failures)
            after = (sum(self.after.values()), self.after[True]) if self.since is not None else None
            return faults.Load(failed + sum(self.served.values()), failed, after, self.retry_cut)


@contextmanager
def loaded(
    lab: Sandbox, apps: Sequence[str], clients: int = 3, hosts: Sequence[int] = (0,), *, retry_cut: bool = False
) -> Iterator[Load]:
    """`clients` keep-alive clients per app and host, from entering until leaving (and until the first answers)."""
    load = Load(lab, retry_cut)
    threads = [
        threading.Thread(target=load.client, args=(app, host)) for app in apps for host in hosts for _ in range(clients)
    ]
    for thread in threads:
        thread.start()
    try:
        deadline = time.monotonic() + 5
        while sum(load.served.values()) + len(load.failures) < len(threads) and time.monotonic() < deadline:
            time.sleep(0.01)
        yield load
    finally:
        load.stop.set()
        for thread in threads:
            thread.join()
