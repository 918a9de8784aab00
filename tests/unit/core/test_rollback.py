"""Git follows reality after a switch back: which releases call for a rollback record, and what it says."""

from __future__ import annotations

import dataclasses

import pytest

from bluegreen.core import rollback
from bluegreen.model import AppOutcome, Color, ColorRecord, DesiredApp, Outcome, Result
from tests.unit.report.test_outcome import done, plan

BLUE, GREEN = Color.BLUE, Color.GREEN
ASKED = DesiredApp("theoshift", BLUE, "2.4.1", line=3)  # what live.json asks for: the release that failed


def back(result: Result = "rolled_back", *, restored: bool = True, live: Color = GREEN) -> AppOutcome:
    return done(plan(), result, live=live, restored=restored)


@pytest.mark.parametrize(
    ("app", "recorded"),
    [
        (back("rolled_back"), True),
        (back("rolled_back", restored=False), True),  # rolled_back is every host read back on the old LIVE
        (back("failed"), True),  # every host back on Green, something left to undo: git still follows
        (back("failed", restored=False), False),  # a host on Blue, on neither, or unreadable: for a person
        (back("failed", restored=False, live=BLUE), False),  # rollback off: Blue stays LIVE, live.json is right
        (back("success", restored=False, live=BLUE), False),
        (back("refused", restored=False), False),
        (back("noop", restored=False), False),
    ],
)
def test_a_release_switched_back_calls_for_a_record(app: AppOutcome, recorded: bool) -> None:
    assert bool(rollback.restored_apps(Outcome((app,)))) == recorded


def test_a_plan_calls_for_none() -> None:
    assert rollback.restored_apps(Outcome((back(),), dry_run=True)) == ()


@pytest.mark.parametrize(
    ("asked", "live_version", "entry"),
    [
        (ASKED, "2.4.0", DesiredApp("theoshift", GREEN, "2.4.0", line=3)),  # the pin follows the old LIVE's version
        (ASKED, None, DesiredApp("theoshift", GREEN, None, line=3)),  # unknown: no pin rather than a wrong one
        # what the app server says but live.json's schema refuses: no pin, never a record that cannot be written
        (ASKED, "1.2.3.4", DesiredApp("theoshift", GREEN, None, line=3)),
        (ASKED, "2.4.0 [skip ci]", DesiredApp("theoshift", GREEN, None, line=3)),
        (ASKED, "2.4.0\n", DesiredApp("theoshift", GREEN, None, line=3)),
        (DesiredApp("theoshift", BLUE), "2.4.0", DesiredApp("theoshift", GREEN)),  # no pin: none is added
        (DesiredApp("theoshift", GREEN, "2.4.0"), "2.4.0", None),  # says so already (a revert merged meanwhile)
        (DesiredApp("theoshift", GREEN, "v2.4.0"), "2.4.0", None),
        (DesiredApp("theoshift", GREEN), "2.4.0", None),
        (DesiredApp("theoshift", GREEN, "2.3.0"), "2.4.0", DesiredApp("theoshift", GREEN, "2.4.0")),
    ],
)
def test_the_entry_says_what_is_live(asked: DesiredApp, live_version: str | None, entry: DesiredApp | None) -> None:
    app = dataclasses.replace(back(), live=ColorRecord(GREEN, live_version, "10.92.3.24:3001"))
    assert rollback.entry_back(app, asked) == entry


def test_records_pair_each_app_with_its_entry() -> None:
    other = done(plan("ldc-tools"), "success")
    outcome = Outcome((back(), other))
    [record] = rollback.records(outcome, {"theoshift": ASKED, "ldc-tools": DesiredApp("ldc-tools", BLUE)})
    assert (record.app.plan.app, record.asked, record.entry.live, record.entry.version) == (
        "theoshift",
        ASKED,
        GREEN,
        "2.4.0",
    )
    assert rollback.records(outcome, {}) == ()  # no longer in live.json: nothing to record
