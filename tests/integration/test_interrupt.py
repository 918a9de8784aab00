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
from tests.integration.test_release import ldc_states, theoshift_route

pytestmark = pytest.mark.integration


def test_an_interrupt_finishes_the_switch_under_way_and_starts_no_other(consumer: Consumer, sandbox: Sandbox) -> None:
    path = consumer.path / "state" / "environments.json"
    document: dict[str, Any] = json.loads(path.read_text())
    document["apps"]["theoshift"]["verify"]["window_s"] = 3  # theoshift goes first and is watched for a while
    path.write_text(json.dumps(document))
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
    process.send_signal(signal.SIGINT)
    started = time.monotonic()
    out, err = process.communicate(timeout=60)
    assert time.monotonic() - started < 5  # the window is cut short, not sat out
    assert process.returncode == 3, out + err
    assert "SIGINT: finishing the switch under way" in err
    assert theoshift_route(sandbox) == "theoshift_blue"  # switched and verified
    assert ldc_states(sandbox) == {"blue": "0", "green": "8"}  # never started
    status = consumer.status()["apps"]
    assert status["theoshift"]["last_release"]["result"] == "success"
    assert status["ldc-tools"]["last_release"]["result"] == "refused"
    assert "interrupted before its switch" in status["ldc-tools"]["last_release"]["reason"]
