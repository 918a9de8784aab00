"""Users see no failure while traffic flips back and forth under keep-alive load."""

from __future__ import annotations

import pytest

from bluegreen_lab import Sandbox
from tests.integration.conftest import Consumer
from tests.integration.load import loaded

pytestmark = pytest.mark.integration

SWITCHES = 6
CLIENTS_PER_APP = 3


def test_no_request_fails_during_repeated_switches(consumer: Consumer, sandbox: Sandbox) -> None:
    with loaded(sandbox, ("theoshift", "ldc-tools"), CLIENTS_PER_APP) as load:
        codes = []
        for switch in range(SWITCHES):
            forward = switch % 2 == 0
            consumer.live(theoshift="blue" if forward else "green", ldc_tools="green" if forward else "blue")
            codes.append(consumer.run("release").code)
    assert codes == [0] * SWITCHES
    assert load.failures == []
    # Both colors of both apps really served users, and many requests ran during the switches.
    assert {"ldc_tools/blue", "ldc_tools/green"} <= set(load.served)
    assert {name.split("/")[0] for name in load.served} >= {"theoshift_blue", "theoshift_green"}
    assert sum(load.served.values()) > 200
