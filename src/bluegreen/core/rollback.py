"""Git follows reality after a switch back. Pure.

A release whose switch or verification failed, and whose every host was read back on the old LIVE, leaves
live.json asking for the color that just failed: `rolled_back`, or `failed` with traffic restored (every host on
the old LIVE, but something left to undo there, such as a map file that still names the new color: the report
says what, and a person fixes it before the next reload). `failed` with a host on the new color, on neither, or
unreadable restored nothing: which color is LIVE is for a person to tell, so git is not told anything.

The rollback record is the app's entry set back to what is LIVE: `live` the old LIVE and, when the entry pins a
`version`, the version the old LIVE runs (the pin is dropped when that cannot be told, or is not a version that
live.json's schema accepts: an app server may report any printable text; an entry without a pin gets none). An
entry that already says so needs no record. The Action opens it as a pull request (action/rollback_pr.py); the
command line prints it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bluegreen.config import desired_value_problem
from bluegreen.core.versions import same_version
from bluegreen.model import AppOutcome, DesiredApp, Outcome


@dataclass(frozen=True)
class Record:
    """One app's rollback record: the release that failed, and the entry that says what is LIVE."""

    app: AppOutcome
    asked: DesiredApp  # what live.json asks for now
    entry: DesiredApp  # what it should say


def restored_apps(outcome: Outcome) -> tuple[AppOutcome, ...]:
    """The apps of a release (not a plan) whose traffic went back to the old LIVE after a failure."""
    if outcome.dry_run:
        return ()
    # rolled_back means every host was read back on the old LIVE (exit code 4); a failure says so in `restored`
    return tuple(
        app for app in outcome.apps if app.result == "rolled_back" or (app.result == "failed" and app.restored)
    )


def entry_back(app: AppOutcome, asked: DesiredApp) -> DesiredApp | None:
    """The entry that says what is LIVE after `app`'s switch back; None when `asked` says so already."""
    live = app.plan.from_color
    version = (app.live.version if app.live and app.live.color is live else None) if asked.version else None
    if version is not None and desired_value_problem("version", version) is not None:
        version = None  # the app server's word, not a version live.json can pin: the pin is dropped
    same = asked.version == version or same_version(asked.version, version)
    if asked.live is live and same:
        return None
    return DesiredApp(asked.name, live, version, asked.line)


def records(outcome: Outcome, desired: Mapping[str, DesiredApp]) -> tuple[Record, ...]:
    """The rollback records `outcome` calls for, against live.json's entries `desired` (an app no longer in it
    needs none)."""
    found = []
    for app in restored_apps(outcome):
        asked = desired.get(app.plan.app)
        entry = entry_back(app, asked) if asked is not None else None
        if asked is not None and entry is not None:
            found.append(Record(app, asked, entry))
    return tuple(found)
