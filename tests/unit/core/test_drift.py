"""The one drift rule: which HAProxy hosts do not route to the recorded LIVE, and whether the hosts agree."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bluegreen.core.drift import (
    LiveByHost,
    app_drift,
    basis,
    drifted_hosts,
    hosts_disagree,
    live_by_host,
    observed_live,
    watch,
)
from bluegreen.model import (
    AppObservation,
    AppStatus,
    Color,
    ColorProbe,
    ColorRecord,
    HostAppView,
    Kept,
    Observation,
    Status,
)
from bluegreen.report.glance import drift_words

BLUE, GREEN = Color.BLUE, Color.GREEN


@pytest.mark.parametrize(
    ("live", "recorded", "drifted"),
    [
        ({"lb1": BLUE, "lb2": BLUE}, BLUE, ()),
        ({"lb1": BLUE, "lb2": GREEN}, BLUE, ("lb2",)),
        ({"lb1": GREEN, "lb2": GREEN}, BLUE, ("lb1", "lb2")),
        ({"lb1": None, "lb2": BLUE}, BLUE, ("lb1",)),  # routing to neither color drifts, whatever is recorded
        ({"lb1": None}, None, ("lb1",)),
        ({"lb1": BLUE, "lb2": GREEN}, None, ("lb1", "lb2")),  # no LIVE recorded yet: nothing to agree with
        ({}, BLUE, ()),
    ],
)
def test_drifted_hosts(live: LiveByHost, recorded: Color | None, drifted: tuple[str, ...]) -> None:
    assert drifted_hosts(live, recorded) == drifted


@pytest.mark.parametrize(
    ("live", "disagree", "agreed"),
    [
        ({"lb1": BLUE, "lb2": BLUE}, False, BLUE),
        ({"lb1": BLUE, "lb2": GREEN}, True, None),
        ({"lb1": GREEN, "lb2": None}, True, None),
        ({"lb1": None, "lb2": None}, False, None),
        ({}, False, None),
    ],
)
def test_hosts_disagree_and_observed_live(live: LiveByHost, disagree: bool, agreed: Color | None) -> None:
    assert (hosts_disagree(live), observed_live(live)) == (disagree, agreed)


def test_live_by_host_reads_each_hosts_view() -> None:
    views = {"lb1": HostAppView("lb1", GREEN, "t_green", {}), "lb2": HostAppView("lb2", None, "garbage", {})}
    assert live_by_host(AppObservation("theoshift", views, {})) == {"lb1": GREEN, "lb2": None}


# --- the drift watch: hosts, the record, and each color's health ------------------------------------------------


def watched(live: LiveByHost, *, blue_ok: bool = True, green_ok: bool = True, app: str = "theoshift") -> AppObservation:
    views = {host: HostAppView(host, color, "", {}) for host, color in live.items()}
    probes = {
        BLUE: ColorProbe(BLUE, "b:1", 3 if blue_ok else 0, 3, "2.4.1", None if blue_ok else "connection refused"),
        GREEN: ColorProbe(GREEN, "g:1", 3 if green_ok else 1, 3, "2.4.0"),
    }
    return AppObservation(app, views, probes)


@pytest.mark.parametrize(
    ("seen", "recorded", "found", "drifted", "disagree", "down"),
    [
        (watched({"lb1": BLUE, "lb2": BLUE}), BLUE, False, (), False, ()),
        (watched({"lb1": BLUE, "lb2": GREEN}), BLUE, True, ("lb2",), True, ()),
        (watched({"lb1": GREEN, "lb2": GREEN}), BLUE, True, ("lb1", "lb2"), False, ()),
        (watched({"lb1": BLUE}, green_ok=False), BLUE, True, (), False, (GREEN,)),  # the STANDBY down counts
        (watched({"lb1": BLUE}, blue_ok=False, green_ok=False), BLUE, True, (), False, (BLUE, GREEN)),
        (watched({"lb1": BLUE}), None, False, (), False, ()),  # nothing recorded yet: nothing to drift from
        (watched({"lb1": None, "lb2": BLUE}), None, True, ("lb1",), True, ()),  # but neither color always drifts
    ],
)
def test_the_watch_finds_disagreement_drift_and_colors_down(
    seen: AppObservation,
    recorded: Color | None,
    found: bool,
    drifted: tuple[str, ...],
    disagree: bool,
    down: tuple[Color, ...],
) -> None:
    drift = app_drift(seen, recorded)
    assert (drift.found, drift.drifted, drift.disagree, drift.down) == (found, drifted, disagree, down)


def test_the_watch_finds_a_host_that_a_reload_would_move() -> None:
    """A reload without the map file (or a run killed before it dumped the server states): HAProxy agrees with the
    record now, the file it reads at the next reload does not."""
    seen = watched({"lb1": BLUE, "lb2": BLUE})
    views = {**seen.hosts, "lb2": replace(seen.hosts["lb2"], kept=Kept(GREEN, "the map file names t_green"))}
    drift = app_drift(replace(seen, hosts=views), BLUE)
    assert (drift.found, drift.kept, drift.drifted, drift.disagree) == (True, ("lb2",), (), False)
    assert drift_words(drift) == ("lb2: a reload would route elsewhere",)


def test_the_watch_reads_each_observed_app_against_its_record() -> None:
    observation = Observation(
        {}, {"theoshift": watched({"lb1": BLUE}), "ldc-tools": watched({"lb1": GREEN}, app="ldc-tools")}
    )
    status = Status({"theoshift": AppStatus(live=ColorRecord(GREEN, "2.4.0", "g:1"))})
    drifts = watch(observation, status)
    assert [(d.app, d.recorded, d.found) for d in drifts] == [("theoshift", GREEN, True), ("ldc-tools", None, False)]


RECORDED = Status({"theoshift": AppStatus(live=ColorRecord(Color.BLUE, "2.4.1", "10.0.0.1:80"))})
NOTED = "No HAProxy host holds bluegreen's record"
CANNOT = "no HAProxy host holds bluegreen's record, and the published status.json cannot be read"


@pytest.mark.parametrize(
    ("refused", "record", "published", "against", "note", "unjudged"),
    [
        (None, RECORDED, Status(), RECORDED, None, None),  # the hosts' record, whatever status.json says
        (None, None, Status(), Status(), None, None),  # before the first release: nothing to drift from
        (None, None, RECORDED, RECORDED, NOTED, None),  # the record lost: status.json stands in, and says so
        (None, None, None, Status(), None, CANNOT),
        ("lb1 and lb2 disagree", None, RECORDED, Status(), None, "bluegreen's record cannot be told: lb1 and lb2"),
    ],
)
def test_a_watch_holds_the_hosts_against_the_record_else_status_json_else_nothing(
    refused: str | None,
    record: Status | None,
    published: Status | None,
    against: Status,
    note: str | None,
    unjudged: str | None,
) -> None:
    held = basis(refused, record, published)
    assert held.status == against
    assert (held.note or "")[: len(note or "")] == (note or "")
    assert bool(held.note) == bool(note)
    assert (held.unjudged or "")[: len(unjudged or "")] == (unjudged or "")
    assert bool(held.unjudged) == bool(unjudged)
