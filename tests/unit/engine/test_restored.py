"""Whether traffic is back on the old LIVE after a failed switch or verification (AppOutcome.restored): what the
rollback record follows. Only what the hosts were read back with counts."""

from __future__ import annotations

from bluegreen.errors import UnreachableError
from bluegreen.model import VerifySettings
from bluegreen.switching.base import RestoreFile
from tests.unit.engine.test_release import scene
from tests.unit.engine.world import BLUE, GREEN, THEOSHIFT, combined, make_app, meanwhile, refusing


async def test_a_success_restored_nothing() -> None:
    [done] = (await scene(THEOSHIFT).release()).apps
    assert (done.result, done.restored) == ("success", False)


async def test_a_switch_back_after_a_failed_verification_restored_traffic() -> None:
    world = scene(THEOSHIFT)
    for host in world.hosts.values():
        host.fail = meanwhile(BLUE, lambda: world.prober.unhealthy.add(BLUE))
    [done] = (await world.release()).apps
    assert (done.result, done.restored) == ("rolled_back", True)


async def test_a_failed_switch_undone_everywhere_restored_traffic() -> None:
    world = scene(THEOSHIFT)
    world.hosts["lb2"].fail = refusing(BLUE)
    [done] = (await world.release()).apps
    assert (done.result, done.restored) == ("rolled_back", True)


async def test_traffic_back_with_a_file_not_put_back_is_failed_but_restored() -> None:
    """Both hosts route to Green again; lb1's map file still names Blue (a person must fix it before a reload)."""
    world = scene(THEOSHIFT)
    world.hosts["lb2"].fail = refusing(BLUE)
    world.hosts["lb1"].fail = lambda change: UnreachableError("disk full") if isinstance(change, RestoreFile) else None
    [done] = (await world.release()).apps
    assert (done.result, done.restored) == ("failed", True)
    assert world.live(THEOSHIFT) == {"lb1": GREEN, "lb2": GREEN}


async def test_a_host_left_on_the_new_color_is_not_restored() -> None:
    world = scene(THEOSHIFT)
    unhealthy = meanwhile(BLUE, lambda: world.prober.unhealthy.add(BLUE))
    world.hosts["lb1"].fail = unhealthy
    world.hosts["lb2"].fail = combined(unhealthy, refusing(GREEN))
    [done] = (await world.release()).apps
    assert (done.result, done.restored) == ("failed", False)


async def test_without_automatic_rollback_nothing_is_restored() -> None:
    stays = make_app("theoshift", THEOSHIFT.switch, verify=VerifySettings(rollback_on_failure=False))
    world = scene(stays)
    for host in world.hosts.values():
        host.fail = meanwhile(BLUE, lambda: world.prober.unhealthy.add(BLUE))
    [done] = (await world.release()).apps
    assert (done.result, done.restored) == ("failed", False)
