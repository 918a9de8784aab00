"""The planner decides every rule of the original workflow from plain data: no server needed."""

from __future__ import annotations

import dataclasses

import pytest

from bluegreen.core import planner, versions
from bluegreen.errors import InputError
from bluegreen.model import (
    AppEnvironment,
    AppObservation,
    AppPlan,
    AppStatus,
    Color,
    ColorProbe,
    ColorRecord,
    DesiredApp,
    HostAppView,
    Kept,
    Parked,
    Probes,
    PublicEntry,
    ReleaseRecord,
    ServerView,
    VerifySettings,
)
from bluegreen.switching import MapSwitch, ServersSwitch

BLUE, GREEN = Color.BLUE, Color.GREEN
APP = AppEnvironment(
    name="theoshift",
    switch=MapSwitch("/etc/haproxy/apps.map", "theoshift.test", {BLUE: "t_blue", GREEN: "t_green"}),
    addresses={BLUE: "10.92.3.22:3001", GREEN: "10.92.3.24:3001"},
    probes=Probes(),
    public=PublicEntry("https://theoshift.test/version"),
    verify=VerifySettings(),
)


def server(color: Color, status: str = "UP", check: str = "L7OK") -> ServerView:
    return ServerView(f"t_{color}", color.value, status, check, 0, 0, 1)


def seen(
    live: dict[str, Color | None] | None = None,
    versions: tuple[str | None, str | None] = ("2.4.1", "2.4.0"),
    healthy: tuple[bool, bool] = (True, True),
    standby_status: str = "UP",
    kept: dict[str, Kept | None] | None = None,
) -> AppObservation:
    """Each host routes to `live` and keeps it (its map file names it), unless `kept` says otherwise."""
    live = live if live is not None else {"lb1": GREEN}
    kept = kept or {}
    hosts = {
        host: HostAppView(
            host,
            color,
            f"t_{color}" if color else "nothing",
            {BLUE: (server(BLUE, standby_status),), GREEN: (server(GREEN),)},
            kept=kept[host] if host in kept else names(color),
        )
        for host, color in live.items()
    }
    colors = {
        color: ColorProbe(color, APP.addresses[color], 3 if ok else 1, 3, version, None if ok else "answered 503")
        for color, version, ok in zip((BLUE, GREEN), versions, healthy, strict=True)
    }
    return AppObservation("theoshift", hosts, colors)


def names(color: Color | None) -> Kept:
    """What a map file naming `color`'s backend keeps."""
    return Kept(color, f"the map file /etc/haproxy/apps.map names t_{color}")


def released(frm: Color, to: Color, frm_version: str, to_version: str, result: str = "success") -> ReleaseRecord:
    return ReleaseRecord(result, "release", "2026-11-20T10:00:00Z", frm, to, frm_version, to_version, pr=11)  # type: ignore[arg-type]


def plan(observed: AppObservation, *, version: str | None = None, recorded: AppStatus = AppStatus()) -> AppPlan:
    return planner.plan_app(DesiredApp("theoshift", BLUE, version), APP, recorded, observed)


def failing(result: AppPlan) -> list[str]:
    return [check.name for check in result.refusals]


def test_a_newer_healthy_standby_is_switched() -> None:
    result = plan(seen())
    assert (result.action, result.kind, result.from_color, result.to_color, result.hosts) == (
        "switch",
        "release",
        GREEN,
        BLUE,
        ("lb1",),
    )
    assert (result.from_version, result.to_version) == ("2.4.0", "2.4.1")
    assert (result.from_address, result.to_address) == ("10.92.3.24:3001", "10.92.3.22:3001")
    assert failing(result) == []


def test_already_live_is_a_noop() -> None:
    result = plan(seen(live={"lb1": BLUE, "lb2": BLUE}))
    assert (result.action, result.hosts, result.checks) == ("noop", (), ())
    assert result.notes == ("already LIVE on every HAProxy host: nothing to switch",)


@pytest.mark.parametrize(
    ("observed", "version", "refused"),
    [
        (seen(versions=("2.3.9", "2.4.0")), None, ["STANDBY newer than LIVE"]),
        (seen(versions=("2.4.0", "2.4.0")), None, ["STANDBY newer than LIVE"]),
        (seen(versions=("2.4.1-rc.1", "2.4.1")), None, ["STANDBY newer than LIVE"]),
        (seen(versions=("banana", "2.4.0")), None, ["STANDBY newer than LIVE"]),
        (seen(versions=(None, "2.4.0"), healthy=(False, True)), None, ["STANDBY healthy", "STANDBY newer than LIVE"]),
        (seen(healthy=(False, True)), None, ["STANDBY healthy"]),
        (seen(healthy=(True, False)), None, ["LIVE responds"]),
        (seen(), "2.5.0", ["STANDBY runs the pinned version"]),
        (seen(standby_status="DOWN"), None, ["lb1: HAProxy sees STANDBY UP"]),
        (seen(standby_status="MAINT (via t_other/blue)"), None, ["lb1: HAProxy sees STANDBY UP"]),
        (seen(standby_status="MAINT (resolution)"), None, ["lb1: HAProxy sees STANDBY UP"]),
        (seen(live={"lb1": None}), None, ["lb1: routing known"]),
    ],
)
def test_refusals(observed: AppObservation, version: str | None, refused: list[str]) -> None:
    result = plan(observed, version=version)
    assert result.action == "refuse"
    assert failing(result) == refused


# --- a STANDBY parked in maintenance (`disabled` in haproxy.cfg) ------------------------------------------------


MAINT_BLUE = server(BLUE, "MAINT", "")  # `disabled` in haproxy.cfg: not checked


def parked_view(host: str, live: Color, *standby: ServerView) -> HostAppView:
    return HostAppView(host, live, f"t_{live}", {BLUE: standby, GREEN: (server(GREEN),)})


def test_a_standby_in_maintenance_is_planned_to_be_woken_then_checked_then_switched() -> None:
    observed = dataclasses.replace(seen(), hosts={"lb1": parked_view("lb1", GREEN, MAINT_BLUE)})
    result = plan(observed)
    assert (result.action, failing(result)) == ("switch", [])
    assert result.parked == (Parked("lb1", "t_blue", "blue"),)
    [woken] = [check for check in result.checks if check.name == "lb1: STANDBY woken from maintenance first"]
    assert woken.ok
    assert woken.detail == (
        "t_blue/blue MAINT, not checked: the release puts it in drain (no traffic, health checks run) and waits up "
        "to 10 s for HAProxy's check to see it UP before the switch"
    )
    assert "lb1: HAProxy sees STANDBY UP" not in [check.name for check in result.checks]
    assert result.notes[0] == (
        "Blue is in maintenance on lb1: if HAProxy's check does not see it UP within 10 s of leaving it, it goes "
        "back, and the release is refused with nothing changed"
    )


def test_the_plan_warns_that_a_map_switch_keeps_no_woken_state_across_a_reload() -> None:
    observed = dataclasses.replace(seen(), hosts={"lb1": parked_view("lb1", GREEN, MAINT_BLUE)})
    assert plan(observed).notes[1] == (
        "if haproxy.cfg writes t_blue/blue `disabled`, take that out once Blue is LIVE: this switch keeps no server "
        "state, so every reload would put the LIVE back in maintenance"
    )


def test_a_servers_switch_that_keeps_server_states_needs_no_reload_note() -> None:
    app = dataclasses.replace(APP, switch=ServersSwitch("ldc", {BLUE: "blue", GREEN: "green"}, "/var/lib/state"))
    standby = ServerView("ldc", "blue", "MAINT", "", 0, 0, 1)
    hosts = {"lb1": HostAppView("lb1", GREEN, "ldc/blue maint, ldc/green ready", {BLUE: (standby,), GREEN: ()})}
    result = planner.plan_app(DesiredApp("theoshift", BLUE), app, AppStatus(), dataclasses.replace(seen(), hosts=hosts))
    assert (result.action, result.parked) == ("switch", (Parked("lb1", "ldc", "blue"),))
    assert [note for note in result.notes if "reload" in note] == []  # the state file keeps what was woken


def test_only_the_servers_in_maintenance_on_the_hosts_to_switch_are_woken() -> None:
    hosts = {
        "lb1": parked_view("lb1", GREEN, MAINT_BLUE, server(BLUE)),  # one of two parked
        "lb2": parked_view("lb2", GREEN, server(BLUE)),
        "lb3": parked_view("lb3", BLUE, MAINT_BLUE),  # routes to Blue already: not switched
    }
    result = plan(dataclasses.replace(seen(), hosts=hosts))
    assert result.hosts == ("lb1", "lb2")
    assert result.parked == (Parked("lb1", "t_blue", "blue"),)
    assert [(check.name, check.ok) for check in result.checks if "STANDBY" in check.name and ":" in check.name] == [
        ("lb1: STANDBY woken from maintenance first", True),
        ("lb2: HAProxy sees STANDBY UP", True),
        ("lb3: HAProxy sees STANDBY UP", False),
    ]


@pytest.mark.parametrize(
    ("observed", "refused"),
    [
        (seen(standby_status="MAINT", versions=("2.3.9", "2.4.0")), ["STANDBY newer than LIVE"]),
        (seen(standby_status="MAINT", healthy=(False, True)), ["STANDBY healthy"]),
        (
            dataclasses.replace(
                seen(),
                hosts={"lb1": parked_view("lb1", GREEN, MAINT_BLUE, server(BLUE, "DOWN", "L4CON"))},
            ),
            ["lb1: HAProxy sees STANDBY UP"],  # another server of the STANDBY is DOWN: waking would not do
        ),
    ],
    ids=["older", "unhealthy", "another-server-down"],
)
def test_a_standby_in_maintenance_must_pass_every_other_check(observed: AppObservation, refused: list[str]) -> None:
    result = plan(observed)
    assert (result.action, failing(result)) == ("refuse", refused)


@pytest.mark.parametrize("pin", ["2.4.1", "v2.4.1", " 2.4.1"])
def test_the_pin_matches_with_or_without_v(pin: str) -> None:
    assert plan(seen(), version=pin).action == "switch"


@pytest.mark.parametrize("pin", ["2.4.1+build.7", "2.4", "2.4.1-rc.1"])
def test_the_pin_is_exact(pin: str) -> None:
    assert failing(plan(seen(), version=pin)) == ["STANDBY runs the pinned version"]


def test_versions_with_a_leading_v_compare() -> None:
    assert plan(seen(versions=("v2.10.0", "v2.9.9"))).action == "switch"


def test_back_to_the_previous_live_is_a_rollback_that_skips_the_version_rule() -> None:
    recorded = AppStatus(history=(released(BLUE, GREEN, "2.4.0", "2.5.0"),))
    result = plan(seen(versions=("2.4.0", "2.5.0")), recorded=recorded)
    assert (result.action, result.kind) == ("switch", "rollback")
    version_rule = next(c for c in result.checks if c.name == "STANDBY newer than LIVE")
    assert version_rule.ok
    assert "rollback" in version_rule.detail
    assert result.notes == ("rollback of the release v2.4.0 → v2.5.0 (PR #11)",)


def test_a_redeployed_standby_is_no_longer_a_rollback() -> None:
    recorded = AppStatus(history=(released(BLUE, GREEN, "2.4.0", "2.5.0"),))
    result = plan(seen(versions=("2.3.0", "2.5.0")), recorded=recorded)
    assert (result.action, result.kind, failing(result)) == ("refuse", "release", ["STANDBY newer than LIVE"])


def test_a_release_that_was_switched_back_already_needs_no_rollback() -> None:
    recorded = AppStatus(history=(released(BLUE, GREEN, "2.4.0", "2.5.0", result="rolled_back"),))
    assert plan(seen(versions=("2.4.0", "2.5.0")), recorded=recorded).kind == "release"


def test_a_failed_release_left_live_can_be_rolled_back() -> None:
    recorded = AppStatus(history=(released(BLUE, GREEN, "2.4.0", "2.5.0", result="failed"),))
    result = plan(seen(versions=("2.4.0", "2.5.0")), recorded=recorded)
    assert (result.action, result.kind) == ("switch", "rollback")


def test_going_forward_again_after_a_rollback_is_a_release() -> None:
    rolled_back = dataclasses.replace(released(GREEN, BLUE, "2.5.0", "2.4.0"), kind="rollback")
    recorded = AppStatus(history=(rolled_back, released(BLUE, GREEN, "2.4.0", "2.5.0")))
    result = planner.plan_app(DesiredApp("theoshift", GREEN), APP, recorded, seen({"lb1": BLUE}, ("2.4.0", "2.5.0")))
    assert (result.action, result.kind) == ("switch", "release")


BLUE_RECORDED = AppStatus(live=ColorRecord(BLUE, "2.4.1", "10.92.3.22:3001"))


@pytest.mark.parametrize(
    ("live", "recorded", "drift"),
    [
        (
            {"lb1": GREEN, "lb2": BLUE},
            BLUE_RECORDED,
            (
                "HAProxy hosts disagree: lb1 → Green, lb2 → Blue",
                "status.json records Blue as LIVE, lb1 routes to Green",
            ),
        ),
        ({"lb1": BLUE, "lb2": BLUE}, BLUE_RECORDED, ()),
        ({"lb1": None}, BLUE_RECORDED, ("status.json records Blue as LIVE, lb1 routes to neither color",)),
        ({"lb1": GREEN}, AppStatus(), ()),  # nothing recorded yet: the first release records it, no drift to tell
    ],
)
def test_drift_between_status_and_haproxy_is_reported(
    live: dict[str, Color | None], recorded: AppStatus, drift: tuple[str, ...]
) -> None:
    assert plan(seen(live=live), recorded=recorded).drift == drift


def test_unknown_app_selection_is_an_input_error() -> None:
    from bluegreen.model import Desired

    desired = Desired({"theoshift": DesiredApp("theoshift", BLUE)})
    with pytest.raises(InputError, match="no app named 'nope'") as caught:
        planner.selected_apps(desired, ["nope"], "state/live.json")
    assert caught.value.location is not None
    assert caught.value.location.path == "state/live.json"


@pytest.mark.parametrize(
    ("left", "right", "order"),
    [("2.4.1", "2.4.0", 1), ("v1.10.0", "1.9.0", 1), ("1.0.0-rc.1", "1.0.0", -1), ("2", "2.0.0", 0), ("x", "1", None)],
)
def test_semantic_version_precedence(left: str, right: str, order: int | None) -> None:
    assert versions.compare(left, right) == order


# --- what a reload would route to ------------------------------------------------------------------------------

UNREADABLE = Kept(None, "the map file /etc/haproxy/apps.map cannot be read: lb1: cannot start SFTP", readable=False)


def test_a_host_already_on_the_wanted_color_that_a_reload_would_move_needs_its_switch_made_again() -> None:
    """A hand edit, or a run killed between the runtime change and the file: Blue is LIVE, the file names Green."""
    result = plan(seen(live={"lb1": BLUE, "lb2": BLUE}, kept={"lb1": names(GREEN)}))
    assert (result.action, result.hosts, result.repairs, result.repair_only) == ("switch", ("lb1",), ("lb1",), True)
    assert (result.from_color, result.to_color, result.from_address) == (BLUE, BLUE, APP.addresses[BLUE])
    assert result.notes == (
        "already LIVE on every HAProxy host: no traffic moves",
        "lb1: a reload would route to Green (the map file /etc/haproxy/apps.map names t_green): the switch is made "
        "again to keep it",
    )
    assert result.drift == ()  # said once, in the note that says what is done about it


def test_a_repair_moves_no_traffic_so_the_standby_rules_do_not_apply() -> None:
    """Green is older and unhealthy: a release to it would be refused, but users are on Blue and stay there."""
    observed = seen(live={"lb1": BLUE}, versions=("2.4.0", "2.5.0"), healthy=(True, False), kept={"lb1": names(GREEN)})
    result = plan(observed, version="9.9.9")
    assert (result.action, failing(result)) == ("switch", [])
    assert [check.name for check in result.checks] == ["traffic stays on Blue"]
    assert result.kind == "release"  # never a rollback: that would count for the rollback rule


def test_a_file_that_names_neither_color_is_repaired_too() -> None:
    missing = Kept(None, "the map file /etc/haproxy/apps.map has no line for theoshift.test")
    result = plan(seen(live={"lb1": BLUE}, kept={"lb1": missing}))
    assert (result.action, result.repairs) == ("switch", ("lb1",))
    assert result.notes[1].startswith("lb1: a reload would not route to Blue (the map file")


def test_beside_hosts_to_switch_a_host_to_repair_is_one_more_host_of_the_switch() -> None:
    """lb2 already routes to Blue but keeps Green: it is switched with lb1, all or none, by the usual rules."""
    result = plan(seen(live={"lb1": GREEN, "lb2": BLUE}, kept={"lb2": names(GREEN)}))
    assert (result.action, result.kind, result.from_color, result.hosts) == ("switch", "release", GREEN, ("lb1", "lb2"))
    assert (result.repairs, result.repair_only) == (("lb2",), False)
    assert "STANDBY newer than LIVE" in [check.name for check in result.checks]


@pytest.mark.parametrize(
    ("kept", "drift"),
    [
        (
            UNREADABLE,
            "lb1 routes to Blue, but what a reload would route to is not known (the map file "
            "/etc/haproxy/apps.map cannot be read: lb1: cannot start SFTP)",
        ),
        (None, None),  # `servers` without a state file keeps nothing: a reload reads haproxy.cfg
    ],
    ids=["unreadable", "nothing kept"],
)
def test_what_cannot_be_told_is_no_repair(kept: Kept | None, drift: str | None) -> None:
    result = plan(seen(live={"lb1": BLUE}, kept={"lb1": kept}))
    assert (result.action, result.repairs, result.drift) == ("noop", (), (drift,) if drift else ())


def test_a_host_to_switch_whose_file_is_ahead_says_so_as_drift() -> None:
    """A run killed after the map file, before `set map`: the switch rewrites both anyway."""
    result = plan(seen(live={"lb1": GREEN}, kept={"lb1": names(BLUE)}))
    assert (result.action, result.repairs, result.repair_only) == ("switch", (), False)
    assert result.drift == (
        "lb1 routes to Green, but a reload would route to Blue (the map file /etc/haproxy/apps.map names t_blue)",
    )
