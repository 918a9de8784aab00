"""The rollback record in words (core/rollback.py): the bot pull request's title and description, the notes the
release report carries about it, and the change the command line prints. Pure."""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence

from bluegreen.config import desired_value_problem
from bluegreen.core.retry import how_to_retry
from bluegreen.core.rollback import Record
from bluegreen.core.versions import label
from bluegreen.model import DesiredApp, Outcome
from bluegreen.report.doc import Block, Bold, Bullets, Code, Heading, Link, Para, Spans, markdown, text
from bluegreen.report.held import with_code
from bluegreen.report.outcome import outcome_doc

TITLE_LIMIT = 256  # GitHub's limit for a pull request's title


def entry_text(entry: DesiredApp) -> str:
    """The entry as live.json holds it: `{"live": "green", "version": "2.4.0"}`."""
    return json.dumps({"live": entry.live.value, **({"version": entry.version} if entry.version else {})})


def asked_label(entry: DesiredApp) -> str:
    return f"{entry.live.title}" + (f" {label(entry.version)}" if entry.version else "")


def pr_title(record: Record) -> str:
    """The title (a squash merge's subject): only schema-checked words, never the app server's own text (a
    `[skip ci]` there would keep the merge's release from running)."""
    live = record.app.live
    said = live.version if live and live.color is record.entry.live else None
    checked = record.entry.version or (said if said and desired_value_problem("version", said) is None else None)
    version = f" {label(checked)}" if checked else ""
    title = f"bluegreen: record the rollback of {record.app.plan.app}, LIVE is {record.entry.live.title}{version}"
    return title[:TITLE_LIMIT]


def pr_markdown(record: Record, outcome: Outcome, live_path: str, run_url: str | None) -> str:
    """The pull request's description: the rollback record, what merging does, and the release's report."""
    app, plan = record.app, record.app.plan
    live = app.live
    runs = f"{live.color.title} ({live.address}) - {label(live.version)}" if live else plan.from_color.title
    blocks: list[Block] = [
        Heading(2, (f"↩️ Rollback record: {plan.app} is LIVE on {record.entry.live.title}",)),
        Para((*_what_failed(record, outcome), f": {app.reason or app.result}.")),
        Para((f"Traffic is on {runs}. {live_path} still asks for {asked_label(record.asked)}; this pull request "
              f"sets the entry of {plan.app} to ", Code(entry_text(record.entry)), ", which is what is LIVE.")),
        Bullets((
            (Bold("Merging it"), " is a release that switches nothing (a no-op): git says again what runs."),
            (Bold("Until then"), f", bluegreen does not try {asked_label(record.asked)} again: a run that does not "
             f"touch {plan.app} in {live_path} holds it. T", *with_code(how_to_retry(plan.app)[1:]),
             ", and close this pull request."),
            ("Opened by the workflow's token, so GitHub starts no workflow for it (no plan comment): it changes "
             "no traffic.",),
        )),
    ]  # fmt: skip
    if run_url:
        blocks.append(Para((Link("The run that switched back", run_url),)))
    return markdown((*blocks, *outcome_doc(outcome)))


def _what_failed(record: Record, outcome: Outcome) -> Spans:
    plan, trigger = record.app.plan, outcome.trigger
    target = f"{plan.to_color.title} {label(plan.to_version)}"
    by: Spans = ()
    if trigger.pr is not None:
        pr = f"PR #{trigger.pr}"
        by = (" (", Link(pr, trigger.pr_url) if trigger.pr_url else pr, ")")
    elif trigger.commit:
        by = (" (commit ", Code(trigger.commit[:12]), ")")
    verdict = "was switched back" if record.app.result == "rolled_back" else "failed, and traffic went back"
    return (f"The {plan.kind} of {plan.app} to {target}", *by, f" {verdict} at {outcome.at}")


def opened_note(record: Record, number: int, reused: bool, live_path: str) -> str:
    verb = "updated its open" if reused else "opened"
    return (
        f"{live_path} still asks for {asked_label(record.asked)} for {record.app.plan.app}, but traffic is back on "
        f"{record.entry.live.title}: bluegreen {verb} pull request #{number}, which sets the entry to "
        f"{entry_text(record.entry)}. Merge it to record the rollback (nothing switches)."
    )


def change_note(record: Record, live_path: str, why: str) -> str:
    """No pull request (`why`): the change a person makes instead."""
    return (
        f"{live_path} still asks for {asked_label(record.asked)} for {record.app.plan.app}, but traffic is back on "
        f"{record.entry.live.title}, and {why}. To record the rollback, set its entry to "
        f"{entry_text(record.entry)}."
    )


def moved_note(record: Record, now: DesiredApp, live_path: str, base: str) -> str:
    """No pull request: the default branch's entry changed since the release, and a record would revert it."""
    return (
        f"Traffic of {record.app.plan.app} is back on {record.entry.live.title}, but {live_path} on {base} no longer "
        f"asks for the released {asked_label(record.asked)}: it asks for {asked_label(now)} now, so bluegreen opened "
        "no rollback pull request (it would revert that change). Its release decides what runs next."
    )


def obsolete_comment(app: str, outcome: Outcome) -> str:
    """Why an open rollback record is closed: a later release of the app succeeded."""
    done = next(a for a in outcome.apps if a.plan.app == app)
    now = f"{done.plan.to_color.title} {label(done.plan.to_version)}"
    return (
        f"Closed by bluegreen: the release of {outcome.at or 'a later run'} made {now} LIVE for {app}, so this "
        "rollback record is obsolete (merging it would switch back)."
    )


def merged_note(app: str) -> str:
    """A merged rollback record, on the no-op release it starts."""
    return f"This merge is bluegreen's rollback record of {app}: live.json says again what is LIVE, nothing switched."


def change_text(records: Sequence[Record], live_path: str, before: str, after: str) -> str:
    """For the terminal: what git still asks for, and the exact change of live.json that records the rollback."""
    apps = ", ".join(f"{r.app.plan.app} ({asked_label(r.asked)}, LIVE is {r.entry.live.title})" for r in records)
    diff = difflib.unified_diff(
        before.splitlines(), after.splitlines(), f"a/{live_path}", f"b/{live_path}", n=1, lineterm=""
    )
    blocks: list[Block] = [
        Para((f"{live_path} still asks for what was switched back: {apps}. To make git say what is LIVE, commit "
              "this change (its release is a no-op):",)),
        *(Para((line,)) for line in diff),
    ]  # fmt: skip
    return text(tuple(blocks))
