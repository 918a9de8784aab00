"""Users see no failure while traffic flips back and forth under keep-alive load."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
import pytest

from bluegreen_lab import Sandbox
from tests.integration.conftest import Consumer

pytestmark = pytest.mark.integration

SWITCHES = 6
CLIENTS_PER_APP = 3
MAX_LOAD_S = 60.0  # a bound, in case the switches hang: the load stops on its own


@dataclass
class Load:
    """Keep-alive clients hammering the public entry; each answer is counted by who served it."""

    lab: Sandbox
    stop: threading.Event = field(default_factory=threading.Event)
    served: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def client(self, app: str) -> None:
        host = self.lab.environments["apps"][app]["public"]["host_header"]
        deadline = time.monotonic() + MAX_LOAD_S
        with httpx.Client(headers={"Host": host}, timeout=5) as client:
            while not self.stop.is_set() and time.monotonic() < deadline:
                self.record(app, client)

    def record(self, app: str, client: httpx.Client) -> None:
        try:
            response = client.get(self.lab.public_url(app))
            result = response.headers.get("X-Served-By", "?") if response.status_code == 200 else None
            failure = None if result else f"{app}: status {response.status_code}"
        except httpx.HTTPError as exc:
            result, failure = None, f"{app}: {type(exc).__name__}: {exc}"
        with self.lock:
            if failure:
                self.failures.append(failure)
            else:
                self.served[result or "?"] += 1


def test_no_request_fails_during_repeated_switches(consumer: Consumer, sandbox: Sandbox) -> None:
    load = Load(sandbox)
    threads = [
        threading.Thread(target=load.client, args=(app,))
        for app in ("theoshift", "ldc-tools")
        for _ in range(CLIENTS_PER_APP)
    ]
    for thread in threads:
        thread.start()
    try:
        codes = []
        for switch in range(SWITCHES):
            forward = switch % 2 == 0
            consumer.live(theoshift="blue" if forward else "green", ldc_tools="green" if forward else "blue")
            codes.append(consumer.run("release").code)
    finally:
        load.stop.set()
        for thread in threads:
            thread.join()
    assert codes == [0] * SWITCHES
    assert load.failures == []
    # Both colors of both apps really served users, and many requests ran during the switches.
    assert {"ldc_tools/blue", "ldc_tools/green"} <= set(load.served)
    assert {name.split("/")[0] for name in load.served} >= {"theoshift_blue", "theoshift_green"}
    assert sum(load.served.values()) > 200
