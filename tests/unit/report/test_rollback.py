"""The rollback record in words: the bot pull request, the notes in the release report, the command line's change."""

from __future__ import annotations

import dataclasses

import pytest

from bluegreen.config.live_edit import with_entry
from bluegreen.core.rollback import Record, records
from bluegreen.model import Color, ColorRecord, DesiredApp, Outcome
from bluegreen.report import rollback
from tests.unit.report.test_outcome import TRIGGER, done, plan

BLUE, GREEN = Color.BLUE, Color.GREEN
LIVE_JSON = """{
  "apps": {
    "theoshift": {"live": "blue", "version": "2.4.1"},
    "ldc-tools": {"live": "green"}
  }
}
"""
REASON = "verification failed, traffic is back on Green: the new LIVE Blue is unhealthy"


def rolled_back(reason: str = REASON) -> Outcome:
    app = done(plan(), "rolled_back", restored=True, reason=reason)
    return Outcome((app,), TRIGGER, "2026-11-24T12:00:00Z")


def record(outcome: Outcome | None = None) -> Record:
    [found] = records(outcome or rolled_back(), {"theoshift": DesiredApp("theoshift", BLUE, "2.4.1")})
    return found


def test_the_title_says_what_is_live() -> None:
    assert rollback.pr_title(record()) == "bluegreen: record the rollback of theoshift, LIVE is Green v2.4.0"


@pytest.mark.parametrize("said", ["2.4.0 [skip ci]", "1.2.3.4", "[skip ci]"])
def test_the_title_never_carries_what_the_app_server_says_unchecked(said: str) -> None:
    """The title is a squash merge's subject: a `[skip ci]` there would keep the merge's release from running."""
    app = done(plan(), "rolled_back", restored=True, reason=REASON)
    app = dataclasses.replace(app, live=ColorRecord(GREEN, said, "10.92.3.24:3001"))
    for asked in (DesiredApp("theoshift", BLUE, "2.4.1"), DesiredApp("theoshift", BLUE)):
        [found] = records(Outcome((app,), TRIGGER, "2026-11-24T12:00:00Z"), {"theoshift": asked})
        assert rollback.pr_title(found) == "bluegreen: record the rollback of theoshift, LIVE is Green"


def test_the_description_is_the_rollback_record() -> None:
    body = rollback.pr_markdown(
        record(), rolled_back(), "state/live.json", "https://github.com/acme/ops/actions/runs/1"
    )
    assert body.startswith("## ↩️ Rollback record: theoshift is LIVE on Green\n")
    assert (
        "The release of theoshift to Blue v2.4.1 ([PR #12](https://github.com/acme/ops/pull/12)) was switched back "
        "at 2026-11-24T12:00:00Z: verification failed" in body
    )
    assert 'sets the entry of theoshift to {"live": "green", "version": "2.4.0"}, which is what is LIVE' in body
    assert "**Merging it** is a release that switches nothing" in body
    assert "To try again, change theoshift's entry in live.json" in body
    assert "with `apps: theoshift`, and close this pull request." in body
    assert "[The run that switched back](https://github.com/acme/ops/actions/runs/1)" in body
    assert "Release failed and was rolled back" in body  # the release's own report follows


def test_a_hostile_reason_is_escaped_in_the_description() -> None:
    body = rollback.pr_markdown(record(rolled_back("<img src=x> @everyone [x](https://evil.test)")), rolled_back(
        "<img src=x> @everyone [x](https://evil.test)"), "state/live.json", None)  # fmt: skip
    assert "<img" not in body
    assert "@everyone" not in body
    assert "](https://evil.test)" not in body


def test_the_notes_name_the_pull_request_or_the_change() -> None:
    note = rollback.opened_note(record(), 15, False, "state/live.json")
    assert "bluegreen opened pull request #15" in note
    assert '{"live": "green", "version": "2.4.0"}' in note
    assert "updated its open pull request #15" in rollback.opened_note(record(), 15, True, "state/live.json")
    off = rollback.change_note(record(), "state/live.json", "the input rollback_pr is false")
    assert off.startswith("state/live.json still asks for Blue v2.4.1 for theoshift, but traffic is back on Green")


def test_the_command_line_prints_the_exact_change() -> None:
    found = record()
    after = with_entry(LIVE_JSON, "state/live.json", found.entry)
    shown = rollback.change_text([found], "state/live.json", LIVE_JSON, after)
    assert shown.splitlines()[1:] == [
        "--- a/state/live.json",
        "+++ b/state/live.json",
        "@@ -2,3 +2,3 @@",
        '   "apps": {',
        '-    "theoshift": {"live": "blue", "version": "2.4.1"},',
        '+    "theoshift": {"live": "green", "version": "2.4.0"},',
        '     "ldc-tools": {"live": "green"}',
    ]
    assert "theoshift (Blue v2.4.1, LIVE is Green)" in shown.splitlines()[0]
