"""Rows of the fault matrix (docs/faults.md) broken on an HAProxy host or an app server: HAProxy down, a file
gone or unwritable, names changed under the plan, a reload in the middle of the switch, an app that fails only
behind HAProxy. The rows already tested elsewhere record themselves there (test_failures.py, test_release.py)."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from pathlib import Path

import pytest

from bluegreen.engine.ports import HaproxyPort
from bluegreen.model import Color
from bluegreen_lab import Sandbox
from tests.conftest import MakeSandbox
from tests.integration.conftest import Consumer, MakeConsumer
from tests.integration.faults import Matrix, shown
from tests.integration.load import loaded
from tests.integration.test_failures import Faulty, release_with, unwritable
from tests.integration.test_release import ldc_states, theoshift_route

pytestmark = pytest.mark.integration


def switch_file(lab: Sandbox, app: str, key: str) -> Path:
    return Path(lab.environments["apps"][app]["switch"][key])


def test_haproxy_down_on_one_of_two_hosts_changes_nothing(
    make_sandbox: MakeSandbox, make_consumer: MakeConsumer, fault: Matrix
) -> None:
    lab = make_sandbox(hosts=2)
    consumer = make_consumer(lab)
    watch = fault.watch("HAProxy down on one of two hosts", "lb2: HAProxy stopped before the run", lab, consumer.status)
    lab.stop_haproxy(1)
    ran = consumer.run("release")
    assert ran.code == 6, ran.out + ran.err
    assert theoshift_route(lab, 0) == "theoshift_green"
    watch.record(ran.code, ran.out + ran.err, said="cannot open HAProxy's runtime socket", down=("lb2",))


def test_a_missing_map_file_is_refused_before_anything(consumer: Consumer, sandbox: Sandbox, fault: Matrix) -> None:
    where = "lb1: theoshift's map file deleted before the run (HAProxy still holds the map in memory)"
    watch = fault.watch("The map file missing", where, sandbox, consumer.status)
    switch_file(sandbox, "theoshift", "map_file").unlink()
    ran = consumer.run("release")
    assert ran.code == 3, ran.out + ran.err
    watch.record(ran.code, ran.out, said="does not exist: the switch rewrites it")


def renamed(lab: Sandbox, *pairs: tuple[str, str]) -> None:
    """lb1's haproxy.cfg with other names, reloaded; a renamed STANDBY server parked in drain again, and the state
    dumped again, as its operator would (a new name starts `ready` and is in no state file)."""
    cfg = lab.dir / "lb1" / "haproxy.cfg"
    text = cfg.read_text()
    for old, new in pairs:
        assert old in text
        text = text.replace(old, new)
    cfg.write_text(text)
    lab.reload_haproxy()
    assert lab.runtime("set server ldc_tools/green2 state drain").strip() == ""
    lab.reload_haproxy()  # the lab's reload dumps the server state first


def test_names_changed_in_haproxy_since_the_plan_are_refused(
    consumer: Consumer, sandbox: Sandbox, fault: Matrix
) -> None:
    planned = consumer.run("plan")
    assert planned.code == 0, planned.out
    where = (
        "lb1, between plan and release: haproxy.cfg reloaded with backend theoshift_blue renamed theoshift_blue_v2 "
        "and server ldc_tools/green renamed green2"
    )
    watch = fault.watch("Backend and server renamed in HAProxy since the plan", where, sandbox, consumer.status)
    renamed(sandbox, ("backend theoshift_blue\n", "backend theoshift_blue_v2\n"), ("server green ", "server green2 "))
    ran = consumer.run("release")
    assert ran.code == 3, ran.out + ran.err
    assert "HAProxy has no server for ldc_tools/green" in ran.out
    watch.record(ran.code, ran.out, said="HAProxy has no server for theoshift_blue")


def test_a_server_state_folder_that_cannot_be_written_is_refused_before_anything(
    consumer: Consumer, sandbox: Sandbox, fault: Matrix
) -> None:
    state_file = switch_file(sandbox, "ldc-tools", "state_file")
    where = "lb1: the server-state file's folder read-only, before a release of ldc-tools (servers)"
    watch = fault.watch("The server-state file cannot be written", where, sandbox, consumer.status)
    with unwritable(state_file.parent):
        ran = consumer.run("release", "--app", "ldc-tools")
    assert ran.code == 3, ran.out + ran.err
    watch.record(ran.code, ran.out, said="server-state cannot be replaced")


def test_a_reload_in_the_middle_of_the_switch_keeps_the_new_live(
    consumer: Consumer, sandbox: Sandbox, fault: Matrix
) -> None:
    """Between the map file's write and `set map`, and between `set server` and the state file's dump: each file is
    written before it is needed, so the reloaded HAProxy already routes to the new LIVE."""
    where = (
        "lb1: a graceful reload after the map file is written (before `set map`), and after `set server` (before "
        "the state file's dump)"
    )
    watch = fault.watch("A reload during the switch, under load", where, sandbox, consumer.status)

    def wrap(hosts: Mapping[str, HaproxyPort]) -> Mapping[str, HaproxyPort]:
        reload = sandbox.reload_haproxy
        return {"lb1": Faulty(Faulty(hosts["lb1"], "WriteMapEntry", after=reload), "set server", after=reload)}

    with loaded(sandbox, ("theoshift", "ldc-tools"), retry_cut=True) as load:
        outcome = release_with(consumer, wrap, only=("theoshift", "ldc-tools"))
        load.settle()
    assert outcome.result == "success", shown(outcome)[1]
    assert (theoshift_route(sandbox), ldc_states(sandbox)) == ("theoshift_blue", {"blue": "8", "green": "0"})
    watch.record(*shown(outcome), said="New LIVE: Green", load=load.seen)


def test_a_new_live_failing_only_behind_haproxy_is_rolled_back(
    consumer: Consumer, sandbox: Sandbox, fault: Matrix
) -> None:
    where = "theoshift Blue answers 500 to requests through HAProxy; its /health and direct probes pass"
    watch = fault.watch("The new LIVE answers 5xx only through the public entry", where, sandbox, consumer.status)
    sandbox.set_app("theoshift", Color.BLUE, public_status=500)
    ran = consumer.run("release", "--app", "theoshift")
    assert ran.code == 4, ran.out + ran.err
    watch.record(ran.code, ran.out, said="did not reach Blue")


def test_a_server_state_file_that_cannot_be_written_mid_switch_is_undone_exactly(
    consumer: Consumer, sandbox: Sandbox, fault: Matrix
) -> None:
    """The pre-flight proved the file could be replaced; its folder turns read-only right after `set server`,
    before the state dump. Undoing exactly what was done (the runtime change; the file never changed) leaves lb1
    on Blue, and that is what is said: restored, exit 4 (not issue 8's "NOT restored" and exit 5, a false alarm
    the pre-flight cannot prevent here)."""
    state_file = switch_file(sandbox, "ldc-tools", "state_file")
    where = "lb1: the server-state file's folder turns read-only right after `set server`, before the state dump"
    watch = fault.watch("The server-state file cannot be written mid-switch", where, sandbox, consumer.status)
    with contextlib.ExitStack() as stack:

        def wrap(hosts: Mapping[str, HaproxyPort]) -> Mapping[str, HaproxyPort]:
            def read_only() -> None:
                stack.enter_context(unwritable(state_file.parent))

            return {"lb1": Faulty(hosts["lb1"], "set server", after=read_only)}

        outcome = release_with(consumer, wrap, only=("ldc-tools",))
    assert ldc_states(sandbox) == {"blue": "0", "green": "8"}
    watch.record(*shown(outcome), said="every host was read back on")
    assert (outcome.result, outcome.apps[0].hosts["lb1"].endswith("; restored")) == ("rolled_back", True)


def test_a_map_file_edited_by_hand_is_put_right_by_the_next_release(
    consumer: Consumer, sandbox: Sandbox, fault: Matrix
) -> None:
    """Users are on Green, status.json says Green, but the file a reload reads names Blue: the next reload would
    move them. `status` shows it as drift, `plan` says what the release will do and changes nothing; `release`
    makes the switch again, which moves no traffic and writes the file; a reload then keeps Green."""
    consumer.live(theoshift="green", ldc_tools="blue")  # where the lab routes: nothing to release
    where = "lb1: theoshift's map file edited by hand to name theoshift_blue; HAProxy still routes to Green"
    watch = fault.watch("The map file edited by hand (a reload would flip traffic)", where, sandbox, consumer.status)
    map_file = switch_file(sandbox, "theoshift", "map_file")
    map_file.write_text(map_file.read_text().replace("theoshift_green", "theoshift_blue"))
    reload = f"a reload would route to Blue (the map file {map_file} names theoshift_blue)"
    status = consumer.run("status")
    assert f"Drift: lb1: HAProxy routes to Green, but {reload}" in status.out, status.out + status.err
    planned = consumer.run("plan")
    assert planned.code == 0, planned.out + planned.err
    assert f"lb1: {reload}: the switch is made again to keep it" in planned.out
    assert "theoshift_blue" in map_file.read_text()  # the plan changed nothing
    ran = consumer.run("release")
    assert ran.code == 0, ran.out + ran.err
    assert "theoshift: Green already LIVE, the switch made again on lb1" in ran.out
    assert (theoshift_route(sandbox), ldc_states(sandbox)) == ("theoshift_green", {"blue": "0", "green": "8"})
    assert "theoshift_green" in map_file.read_text()
    sandbox.reload_haproxy()
    assert theoshift_route(sandbox) == "theoshift_green"  # kept
    watch.record([planned.code, ran.code], ran.out, said="the switch made again on lb1")
