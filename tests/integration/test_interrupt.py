"""Ctrl-C (or a cancelled CI job) during a release: the switch under way finishes, no other starts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

import pytest

from bluegreen_lab import Sandbox
from tests.integration.conftest import Consumer
from tests.integration.faults import Matrix
from tests.integration.test_release import ldc_states, theoshift_route

pytestmark = pytest.mark.integration


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupt_finishes_the_switch_under_way_and_starts_no_other(
    consumer: Consumer, sandbox: Sandbox, fault: Matrix, signum: signal.Signals
) -> None:
    path = consumer.path / "state" / "environments.json"
    document: dict[str, Any] = json.loads(path.read_text())
    document["apps"]["theoshift"]["verify"]["window_s"] = 3  # theoshift goes first and is watched for a while
    path.write_text(json.dumps(document))
    who = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "a cancelled CI job"}[signum]
    where = f"the bluegreen process ({who}), while it observes theoshift's new LIVE; ldc-tools not switched yet"
    watch = fault.watch(f"{signum.name} at the switch", where, sandbox, consumer.status)
    process = subprocess.Popen(
        [sys.executable, "-m", "bluegreen", "release", "--repo", str(consumer.path)],
        env={**os.environ, "BLUEGREEN_SSH_KEY": sandbox.private_key},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    for line in process.stderr:
        if "observing the new LIVE" in line:
            break
    process.send_signal(signum)
    started = time.monotonic()
    out, err = process.communicate(timeout=60)
    assert time.monotonic() - started < 5  # the window is cut short, not sat out
    watch.record(process.returncode, out + err, said="interrupted before its switch")
    assert process.returncode == 130, out + err  # interrupted: what switched is in the report
    assert f"{signum.name}: finishing the switch under way" in err
    assert theoshift_route(sandbox) == "theoshift_blue"  # switched and verified
    assert ldc_states(sandbox) == {"blue": "0", "green": "8"}  # never started
    status = consumer.status()["apps"]
    assert status["theoshift"]["last_release"]["result"] == "success"
    assert status["ldc-tools"]["last_release"]["result"] == "refused"
    assert "interrupted before its switch" in status["ldc-tools"]["last_release"]["reason"]
