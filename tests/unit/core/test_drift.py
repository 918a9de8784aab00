"""The one drift rule: which HAProxy hosts do not route to the recorded LIVE, and whether the hosts agree."""

from __future__ import annotations

import pytest

from bluegreen.core.drift import LiveByHost, drifted_hosts, hosts_disagree, live_by_host, observed_live
from bluegreen.model import AppObservation, Color, HostAppView

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
