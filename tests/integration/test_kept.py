"""What a reload would route to, read through the real SSH port: the map file and the server-state file over SFTP,
in the same batch as the runtime reads, as HAProxy 2.6 writes and reads them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bluegreen.adapters.ssh import connected
from bluegreen.engine.observe import host_views
from bluegreen.model import Color, HostAppView
from bluegreen_lab import Sandbox
from tests.integration.conftest import Consumer
from tests.integration.test_failures import state_and_keys, without_sftp

pytestmark = pytest.mark.integration


def views(consumer: Consumer) -> dict[str, HostAppView]:
    state, credentials = state_and_keys(consumer)
    apps = list(state.environments.apps.values())

    async def run() -> dict[str, HostAppView]:
        async with connected(state.environments.hosts, credentials) as sessions:
            return await host_views(sessions["lb1"], apps)

    return asyncio.run(run())


def test_the_ssh_port_reads_what_each_host_keeps_from_its_files(consumer: Consumer, sandbox: Sandbox) -> None:
    seen = views(consumer)
    assert {name: (view.live, view.kept.live if view.kept else None) for name, view in seen.items()} == {
        "theoshift": (Color.GREEN, Color.GREEN),
        "ldc-tools": (Color.BLUE, Color.BLUE),
    }
    state_file = sandbox.environments["apps"]["ldc-tools"]["switch"]["state_file"]
    assert seen["ldc-tools"].kept is not None
    assert seen["ldc-tools"].kept.text == (
        f"the server-state file {state_file}: ldc_tools/blue ready, ldc_tools/green drain"
    )


def test_a_file_edited_by_hand_is_seen_apart_from_the_runtime(consumer: Consumer, sandbox: Sandbox) -> None:
    switch = sandbox.environments["apps"]["theoshift"]["switch"]
    Path(switch["map_file"]).write_text(f"{switch['key']} {switch['backends']['blue']}\n")
    seen = views(consumer)["theoshift"]
    assert (seen.live, seen.kept.live if seen.kept else None) == (Color.GREEN, Color.BLUE)


def test_a_host_without_sftp_keeps_what_cannot_be_read(consumer: Consumer, sandbox: Sandbox) -> None:
    """Not an error: the pre-flight refuses a switch there, with the reason; a read of the runtime still answers."""
    without_sftp(sandbox, 0)
    seen = views(consumer)["theoshift"]
    assert seen.live is Color.GREEN
    assert seen.kept is not None
    assert (seen.kept.live, seen.kept.readable) == (None, False)
    assert "cannot be read: lb1: cannot start SFTP" in seen.kept.text
