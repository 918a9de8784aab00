"""The drift issue's title, body and closing comment, and its note in the job summary."""

from __future__ import annotations

from bluegreen.core.drift import watch
from bluegreen.errors import UnreachableError
from bluegreen.model import Status
from bluegreen.report.drift import (
    checked_by,
    drift_markdown,
    drift_title,
    issue_note,
    resolved_markdown,
    unchecked_markdown,
    unjudged_markdown,
)
from tests.unit.report.test_status import AGREEING, SPLIT, STATUS, environments

CHECKED = checked_by("2026-11-24T10:00:00Z", "https://github.com/acme/ops/actions/runs/7")


def test_the_body_says_what_drifted_what_to_do_then_shows_the_table_and_the_whole_status() -> None:
    drifts = watch(SPLIT, STATUS)
    assert drift_title(drifts) == "bluegreen: drift in theoshift"
    body = drift_markdown(drifts, SPLIT, environments("theoshift"), STATUS, CHECKED).splitlines()
    assert body[0] == "## ⚠️ bluegreen found drift"
    assert body[2].startswith(
        "Checked at 2026-11-24T10:00:00Z by [this run](https://github.com/acme/ops/actions/runs/7). Each check"
    )
    assert "- **theoshift**: HAProxy hosts disagree; lb2 routes to Green, recorded Blue; Green down" in body
    assert any(line.startswith("**What to do:** ") and "mode `release`" in line for line in body)
    table = body.index("| App | HAProxy LIVE | Recorded LIVE | Blue | Green | Drift |")
    assert body[table + 2].startswith("| theoshift | lb1 Blue · lb2 Green | Blue v2.4.1 | ✅ v2.4.1 | ❌ down |")
    assert body.index("<summary>The whole status</summary>") > table
    assert body[-1] == "</details>"


def test_the_closing_comment_says_there_is_no_drift_any_more() -> None:
    comment = resolved_markdown(watch(AGREEING, STATUS), AGREEING, STATUS, CHECKED)
    assert comment.startswith("## ✅ No drift any more\n\nChecked at 2026-11-24T10:00:00Z by [this run]")
    assert "| theoshift | Blue | Blue v2.4.1 | ✅ v2.4.1 | ✅ v2.4.0 | ✅ none |" in comment


def test_before_the_first_release_the_closing_comment_claims_no_record() -> None:
    comment = resolved_markdown(watch(AGREEING, Status()), AGREEING, Status(), CHECKED)
    assert "No release is recorded yet, so there is no record to drift from" in comment
    assert "the LIVE that bluegreen recorded" not in comment


def test_a_record_that_cannot_be_read_leaves_the_issue_saying_why() -> None:
    why = "bluegreen's record cannot be told: lb1 and lb2 hold different records"
    body = unjudged_markdown(why, watch(SPLIT, Status()), SPLIT, Status(), CHECKED).splitlines()
    assert body[0] == "## ❌ bluegreen could not check for drift"
    assert f"**Why**: {why}" in body
    assert "- **theoshift**: HAProxy hosts disagree; Green down" in body
    assert any(line.startswith("| theoshift | lb1 Blue · lb2 Green |") for line in body)


def test_a_check_that_failed_says_why_and_what_to_do() -> None:
    error = UnreachableError("cannot reach lb1 (127.0.0.1:2222): connection refused", hint="check that sshd runs")
    body = unchecked_markdown(error, checked_by("2026-11-24T10:00:00Z", None)).splitlines()
    assert body[0] == "## ❌ bluegreen could not check for drift"
    assert body[2] == "Checked at 2026-11-24T10:00:00Z."
    assert "cannot reach lb1 (127.0.0.1:2222): connection refused" in body[4]
    assert body[6] == "**What to do:** check that sshd runs"


def test_the_summary_links_the_issue() -> None:
    assert issue_note(100, "https://github.com/acme/ops/issues/100", "opened") == (
        "ℹ️ The drift issue [#100](https://github.com/acme/ops/issues/100) was opened.\n"
    )
