"""Rows of the fault matrix (docs/faults.md) about the bluegreen process itself: two releases at once on the same
hosts, and a release SIGKILLed in the middle of its switch, then run again. Each is a real `python -m ...`
process; the interrupts (SIGINT, SIGTERM) record themselves in test_interrupt.py."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bluegreen_lab import Sandbox
from tests.integration.conftest import REPO, Consumer
from tests.integration.faults import Matrix
from tests.integration.killed import KILLED
from tests.integration.test_release import ldc_states, theoshift_route

pytestmark = [pytest.mark.integration, pytest.mark.slow]  # real processes, ~3 s each


def started(consumer: Consumer, *module: str) -> subprocess.Popen[str]:
    """`python -m <module...>` against the consumer's repository, with the deploy key, from this checkout."""
    return subprocess.Popen(
        [sys.executable, "-m", *module],
        cwd=REPO,
        env={**os.environ, "BLUEGREEN_SSH_KEY": consumer.lab.private_key},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_releases_started_at_once_switch_once(consumer: Consumer, sandbox: Sandbox, fault: Matrix) -> None:
    """One takes every host's lock and releases; the other waits for the locks, then finds nothing to do, and
    keeps the first one's record."""
    where = "two `bluegreen release` processes started together, on the same repository and hosts"
    watch = fault.watch("Two releases started at once", where, sandbox, consumer.status)
    runs = [started(consumer, "bluegreen", "release", "--repo", str(consumer.path)) for _ in range(2)]
    done = [run.communicate(timeout=90) for run in runs]
    codes = [run.returncode for run in runs]
    outs = "\n".join(sorted((out for out, _ in done), key=lambda out: "Release succeeded" not in out))  # the first
    assert codes == [0, 0], done
    assert "Release succeeded" in outs
    assert "Nothing to release" in outs
    assert (theoshift_route(sandbox), ldc_states(sandbox)) == ("theoshift_blue", {"blue": "8", "green": "0"})
    recorded = consumer.status()["apps"]
    assert recorded["theoshift"]["last_release"]["result"] == "success", recorded["theoshift"]
    assert [entry["to"] for entry in recorded["theoshift"]["history"]] == ["blue"]
    watch.record(codes, outs, said="already LIVE, nothing to do")


@pytest.mark.parametrize(
    ("operation", "app", "where"),
    [
        ("WriteMapEntry", "theoshift", "right after theoshift's map file was written, before `set map`"),
        ("set server", "ldc-tools", "right after ldc-tools' `set server` (theoshift switched), before the state dump"),
    ],
    ids=["map-file-written", "servers-set"],
)
def test_a_release_killed_mid_switch_is_finished_by_the_next_run(
    consumer: Consumer, sandbox: Sandbox, fault: Matrix, operation: str, app: str, where: str
) -> None:
    """SIGKILL: no cleanup, no record, the lock goes with the connection. The next release must find where the
    hosts really are and finish the job, files included, so that a reload keeps the new LIVE."""
    name = (
        f"SIGKILL mid-switch ({'map file written' if operation == 'WriteMapEntry' else 'servers set'}), then a new run"
    )
    watch = fault.watch(name, f"the bluegreen process, {where}", sandbox, consumer.status)
    killed = started(consumer, "tests.integration.killed", str(consumer.path), operation)
    _, err = killed.communicate(timeout=60)
    assert (killed.returncode, KILLED + operation in err) == (-9, True), err
    again = consumer.run("release")
    assert again.code == 0, again.out + again.err
    assert (theoshift_route(sandbox), ldc_states(sandbox)) == ("theoshift_blue", {"blue": "8", "green": "0"})
    watch.record([killed.returncode, again.code], again.out, said=app + ":")
