"""The drift issue a scheduled status keeps: its title, its body, and the comment that closes it. Pure.

The body opens with what was found and what to do, then the status table (report/glance.py), then the whole
status report folded away; a check that could not be made says why instead. Whatever it quotes (a host's answer,
an error) is escaped by report/doc.py like every other report text.
"""

from __future__ import annotations

from collections.abc import Iterable

from bluegreen.core.drift import AppDrift
from bluegreen.errors import BluegreenError, said
from bluegreen.model import Environments, Observation, Status
from bluegreen.report.doc import Block, Bold, Bullets, Code, Details, Heading, Link, Para, Spans, markdown
from bluegreen.report.glance import drift_words, status_table
from bluegreen.report.status import status_doc

WHAT_TO_DO: Spans = (
    "A host on another color than the record was changed outside bluegreen (by hand, or by a reload without the "
    "map file). To put every host back where state/live.json asks, run the workflow by hand with mode ",
    Code("release"),
    ": it switches only the hosts that differ, and records it. If the change was meant, make it in state/live.json "
    "with a pull request instead. A color that is down must be brought back up: until then a release to it, or a "
    "switch back to it, is refused.",
)


UNJUDGED_TO_DO: Spans = (
    "Until then, compare each host's LIVE in the table below with state/live.json by hand. A record that was lost "
    "is kept again by the next release (mode ",
    Code("release"),
    "); one whose copies conflict is named in the reason above, and a release is refused until it is mended.",
)


def drift_title(drifts: Iterable[AppDrift]) -> str:
    return "bluegreen: drift in " + ", ".join(drift.app for drift in drifts if drift.found)


def drift_markdown(
    drifts: tuple[AppDrift, ...],
    observation: Observation,
    environments: Environments,
    recorded: Status,
    checked: Spans,
) -> str:
    """The issue's body while drift lasts: what, where, what to do, then the table and the whole status."""
    found = tuple((Bold(drift.app), ": " + "; ".join(drift_words(drift))) for drift in drifts if drift.found)
    blocks: list[Block] = [
        Heading(2, ("⚠️ bluegreen found drift",)),
        Para((*checked, " Each check updates this issue; the first that finds no drift closes it.")),
        Bullets(found),
        Para((Bold("What to do:"), " ", *WHAT_TO_DO)),
        status_table(drifts, observation, recorded),
        Details(("The whole status",), status_doc(observation, environments, recorded)),
    ]
    return markdown(tuple(blocks))


def resolved_markdown(drifts: tuple[AppDrift, ...], observation: Observation, recorded: Status, checked: Spans) -> str:
    """The comment that closes the issue: drift is gone, as this check saw it (and only against a record that
    exists: before an app's first release its hosts can only agree with each other)."""
    heading = Heading(2, ("✅ No drift any more",))
    return markdown((heading, Para((*checked, _resolved_words(drifts))), status_table(drifts, observation, recorded)))


def _resolved_words(drifts: tuple[AppDrift, ...]) -> str:
    unrecorded = [drift.app for drift in drifts if drift.recorded is None]
    if not unrecorded:
        return " Every HAProxy host routes to the LIVE that bluegreen recorded, and every color is healthy."
    if len(unrecorded) == len(drifts):
        return (
            " No release is recorded yet, so there is no record to drift from: the HAProxy hosts agree with each "
            "other, each routes to a color, and every color is healthy."
        )
    return (
        " Every HAProxy host routes to the LIVE that bluegreen recorded, and every color is healthy; "
        f"{', '.join(unrecorded)} has no release recorded yet: its hosts agree with each other."
    )


def unjudged_title() -> str:
    return "bluegreen: the drift check could not read the record"


def unjudged_markdown(
    why: str, drifts: tuple[AppDrift, ...], observation: Observation, recorded: Status, checked: Spans
) -> str:
    """The issue's body when the hosts could be seen but not held against bluegreen's record: whether a host is on
    the wrong color cannot be told, so the issue stays open (what was seen anyway is listed, and the table)."""
    found = tuple((Bold(drift.app), ": " + "; ".join(drift_words(drift))) for drift in drifts if drift.found)
    blocks: list[Block] = [
        Heading(2, ("❌ bluegreen could not check for drift",)),
        Para((*checked, " Each check updates this issue; the first that can read the record decides.")),
        Para((Bold("Why"), ": ", why)),
        *((Bullets(found),) if found else ()),
        Para((Bold("What to do:"), " ", *UNJUDGED_TO_DO)),
        status_table(drifts, observation, recorded),
    ]
    return markdown(tuple(blocks))


def unchecked_title() -> str:
    return "bluegreen: the drift check failed"


def unchecked_markdown(error: BluegreenError, checked: Spans) -> str:
    """The issue's body when the check itself failed (a host unreachable, a key refused): whether there is drift
    cannot be told, which is worth as much attention."""
    hint = (Para((Bold("What to do:"), f" {error.hint}")),) if error.hint else ()
    heading = Heading(2, ("❌ bluegreen could not check for drift",))
    return markdown((heading, Para(checked), Para((Bold(error.title), ": ", said(error))), *hint))


def checked_by(at: str, run_url: str | None) -> Spans:
    """`Checked at <time> by [this run](url).`"""
    run: Spans = (" by ", Link("this run", run_url)) if run_url else ()
    return (f"Checked at {at}", *run, ".")


def releasing_note(holders: str) -> str:
    """The job summary's line when a release holds the lock: the hosts may be mid-switch, so no issue is kept."""
    said = f" A release is in progress ({holders}): the drift issue is left as it is, and the next check decides."
    return markdown((Para(("ℹ️", said)),))


def issue_note(number: int, url: str, what: str) -> str:
    """The job summary's line about the issue: `The drift issue #12 was opened.`, after the info mark."""
    return markdown((Para(("ℹ️ The drift issue ", Link(f"#{number}", url), f" was {what}.")),))
