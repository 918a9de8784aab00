"""The reports at a glance: one row per app in the release, the plan and the status, and the plan's checks per
host."""

from __future__ import annotations

import dataclasses
import re

import pytest

from bluegreen.core.drift import app_drift, watch
from bluegreen.model import AppObservation, AppOutcome, Check, Color, Observation, Outcome, Status, SwitchTraffic
from bluegreen.report import outcome_markdown, outcome_text
from bluegreen.report.doc import markdown
from bluegreen.report.glance import checks_table, drift_words, plan_table, release_table, status_table
from tests.unit.core.test_drift import watched
from tests.unit.report.test_outcome import FAILED, NOOP, REFUSED, ROLLBACK, ROLLED_BACK, SUCCESS, done, plan

BLUE, GREEN = Color.BLUE, Color.GREEN
TRAFFIC = SwitchTraffic(412, 0, {BLUE: 300, GREEN: 112}, 3.1, 9.0, 12.0)


def row(outcome: Outcome) -> str:
    return markdown((release_table(outcome),)).splitlines()[2]


@pytest.mark.parametrize(
    ("app", "line"),
    [
        (
            dataclasses.replace(SUCCESS, durations_ms={"switch": 40.4}, switch_ms=12.3, traffic=TRAFFIC),
            "| theoshift | Green → Blue | v2.4.0 → v2.4.1 | ✅ switched | 40 ms | ✅ 0 of 412 |",
        ),
        (
            dataclasses.replace(ROLLBACK, switch_ms=3.25, traffic=dataclasses.replace(TRAFFIC, failed=3)),
            "| theoshift | Blue → Green | v2.5.0 → v2.4.1 | ✅ switched back (rollback) | 3.2 ms | ❌ 3 of 412 |",
        ),
        (
            ROLLED_BACK,
            "| theoshift | Green, back from Blue | v2.4.0 → v2.4.1 | ⚠️ failed, switched back | — | — |",
        ),
        (
            dataclasses.replace(FAILED, live=None),
            "| theoshift | Green → unknown | v2.4.0 → v2.4.1 | ❌ FAILED: act by hand | — | — |",
        ),
        (REFUSED, "| theoshift | Green, kept | v2.4.0 → v2.4.1 | ⚠️ refused: nothing changed | — | — |"),
        (NOOP, "| theoshift | Blue | v2.4.1 | ⏭️ nothing to do | — | — |"),
    ],
)
def test_one_release_row_per_app_with_the_failed_requests_or_a_dash(app: AppOutcome, line: str) -> None:
    assert row(Outcome((app,))) == line


def test_the_release_report_opens_with_the_table_before_any_section() -> None:
    report = outcome_markdown(Outcome((SUCCESS, ROLLED_BACK))).splitlines()
    table = report.index("| App | LIVE | Versions | Result | Switch | Failed requests |")
    assert table < report.index("<details>") < report.index("<details open>")  # the rolled back app is open
    assert "App        LIVE" in outcome_text(Outcome((SUCCESS,)))


HOST_CHECKS = (
    Check("STANDBY healthy", True, "3/3 health probes passed"),
    Check("lb1: routing known", True, "routes to theoshift_green", "live", "lb1"),
    Check("lb2: routing known", True, "routes to theoshift_green", "live", "lb2"),
    Check("lb1: HAProxy sees STANDBY UP", True, "theoshift_blue/blue UP L7OK", host="lb1"),
    Check("lb2: HAProxy sees STANDBY UP", False, "theoshift_blue/blue DOWN L4CON", host="lb2"),
)


def test_the_plan_row_tells_each_hosts_checks_apart() -> None:
    outcome = Outcome((done(plan(checks=HOST_CHECKS), "refused"), NOOP), dry_run=True)
    rows = markdown((plan_table(outcome),)).splitlines()
    assert rows[0] == "| App | LIVE | Versions | Merging would | Checks |"
    assert rows[2] == "| theoshift | Green → Blue | v2.4.0 → v2.4.1 | ⚠️ be refused | lb1 ✅ · lb2 ❌ · app servers ✅ |"
    assert rows[3] == "| theoshift | Blue | v2.4.1 | ⏭️ change nothing | app servers ✅ |"
    switching = Outcome((done(plan(checks=HOST_CHECKS[:4]), "success"),), dry_run=True)
    assert "| ✅ switch | lb1 ✅ · lb2 ✅ · app servers ✅ |" in markdown((plan_table(switching),))


def test_the_checks_are_listed_host_by_host_then_the_app_servers() -> None:
    rows = markdown((checks_table(HOST_CHECKS),)).splitlines()[2:]
    assert rows == [
        "| lb1 | routing known | ✅ routes to theoshift\\_green |",
        "| lb1 | HAProxy sees STANDBY UP | ✅ theoshift\\_blue/blue UP L7OK |",
        "| lb2 | routing known | ✅ routes to theoshift\\_green |",
        "| lb2 | HAProxy sees STANDBY UP | ❌ theoshift\\_blue/blue DOWN L4CON |",
        "| app servers | STANDBY healthy | ✅ 3/3 health probes passed |",
    ]


def test_a_plan_says_its_checks_in_the_section_of_its_app() -> None:
    report = outcome_markdown(Outcome((done(plan(checks=HOST_CHECKS), "refused"),), dry_run=True))
    assert "**Checks, host by host**" in report
    assert "| lb2 | HAProxy sees STANDBY UP | ❌ theoshift\\_blue/blue DOWN L4CON |" in report


def test_hostile_versions_cannot_break_the_row() -> None:
    hostile = "1.0|x\n| a | b |"
    app = done(plan(versions=(hostile, hostile)), "success")
    line = row(Outcome((app,)))
    assert len(re.findall(r"(?<!\\)\|", line)) == 7


# --- status: drift words ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seen", "recorded", "words"),
    [
        (watched({"lb1": BLUE, "lb2": BLUE}), BLUE, ()),
        (
            watched({"lb1": BLUE, "lb2": GREEN}),
            BLUE,
            ("HAProxy hosts disagree", "lb2 routes to Green, recorded Blue"),
        ),
        (watched({"lb1": None}), BLUE, ("lb1 routes to neither color",)),
        (watched({"lb1": BLUE}), None, ()),  # nothing recorded yet: nothing to drift from
        (watched({"lb1": None}), None, ("lb1 routes to neither color",)),
        (watched({"lb1": BLUE}, green_ok=False), BLUE, ("Green down",)),
    ],
)
def test_drift_words(seen: AppObservation, recorded: Color | None, words: tuple[str, ...]) -> None:
    assert drift_words(app_drift(seen, recorded)) == words


def test_the_status_table_says_when_no_release_is_recorded_yet() -> None:
    observation = Observation({}, {"theoshift": watched({"lb1": BLUE})})
    table = markdown((status_table(watch(observation, Status()), observation, Status()),))
    assert (
        table.splitlines()[2]
        == "| theoshift | Blue | none yet | ✅ v2.4.1 | ✅ v2.4.0 | ⏭️ none: no release recorded yet |"
    )
