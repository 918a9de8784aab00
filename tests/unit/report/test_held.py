"""What the plan and the release report say about an app held after a rollback (core/retry.py)."""

from __future__ import annotations

import dataclasses

from bluegreen.core.outcome import unswitched
from bluegreen.model import AppObservation, ColorProbe, Outcome
from bluegreen.report import outcome_json, outcome_markdown, outcome_text
from tests.unit.report.test_outcome import ADDRESSES, BLUE, GREEN, TRIGGER, done, plan

WHY = "Blue v2.4.1 is what the release of 2026-11-20T10:00:00Z (PR #12) tried, and it was rolled back"
SEEN = AppObservation(
    "theoshift", {}, {c: ColorProbe(c, ADDRESSES[c], 3, 3, v) for c, v in ((BLUE, "2.4.1"), (GREEN, "2.4.0"))}
)


def held_outcome(*, dry_run: bool = False, also: bool = False) -> Outcome:
    held = dataclasses.replace(plan(), action="hold", checks=(), held=WHY)
    apps = [unswitched(held, SEEN, "noop")]
    if also:
        apps.append(done(plan("ldc-tools"), "success"))
    return Outcome(tuple(apps), TRIGGER, "2026-11-21T09:00:00Z", dry_run=dry_run)


def test_the_release_report_says_why_it_is_held_and_how_to_retry() -> None:
    outcome = held_outcome()
    assert outcome.result == "noop"
    report = outcome_markdown(outcome)
    assert "Nothing released: theoshift held, not tried again after a rollback or a failure" in report
    assert "| theoshift | Green, held | v2.4.0 (v2.4.1 held) | ⏭️ held: not tried again | — | — |" in report
    assert "<details open>\n<summary>⏭️ theoshift: held on Green, Blue is not tried again</summary>" in report
    assert f"**Held:** {WHY}." in report
    assert "LIVE stays: Green (10.92.3.24:3001) - v2.4.0" in report
    assert "(workflow\\_dispatch, mode release) with `apps: theoshift`." in report
    assert "apps: theoshift" in outcome_text(outcome)


def test_a_held_app_does_not_hide_the_release_of_another() -> None:
    report = outcome_markdown(held_outcome(also=True))
    assert "Release succeeded" in report
    assert "held on Green" in report


def test_the_plan_says_the_same() -> None:
    report = outcome_text(held_outcome(dry_run=True))
    assert "Plan: merging this PR changes no traffic" in report
    assert "theoshift  Green, held  v2.4.0 (v2.4.1 held)  ⏭️ hold it: not tried again  —" in report
    assert f"Held: {WHY}." in report
    assert "Next step: To try again, change theoshift's entry in live.json" in report


def test_json_names_the_hold_and_its_reason() -> None:
    app = outcome_json(held_outcome())["apps"]["theoshift"]  # type: ignore[index]
    assert (app["action"], app["result"], app["reason"]) == ("hold", "noop", WHY)
