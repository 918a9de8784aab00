"""The GitHub Action's own reports: the failure, the static-only plan, the refused approval, "switching now", and
the notes under a plan, a release or a status. Pure.

Every one is built from report/doc.py's blocks, so whatever it quotes (an error's message and hint, a path, a
reason from GitHub, an SSH host's answer) is escaped there, like every other report text. The Action's modules
call these and write no Markdown themselves.
"""

from __future__ import annotations

from collections.abc import Iterable

from bluegreen.errors import BluegreenError, said
from bluegreen.model import Desired, Environments, Observation, Outcome, Plan, Status
from bluegreen.report.doc import Block, Bold, Code, Doc, Heading, Link, Para, Spans, markdown
from bluegreen.report.outcome import outcome_doc
from bluegreen.report.status import status_doc

FORK = (
    "This pull request comes from a fork, so the workflow has no SSH key and a read-only token: HAProxy and the "
    "app servers were not asked, and no comment or status was set. A maintainer can run the plan with "
    "`workflow_dispatch` (mode `plan`) before merging."
)
NO_KEY = (
    "The plan job has no deploy key (the input `ssh_private_key` is empty), so HAProxy and the app servers were "
    "not asked. The release checks everything again before it switches."
)
INFO, WARNING = "ℹ️", "⚠️"


def notes_doc(notes: Iterable[str | None], mark: str = INFO) -> Doc:
    """Notes under a report, one paragraph each (they quote paths, names and GitHub's answers)."""
    return tuple(Para((f"{mark} ", note)) for note in notes if note)


def failure_markdown(what: str, error: BluegreenError) -> str:
    """A job that ended in an error: what failed, where, and what to do (the message may quote the PR's files)."""
    where: Spans = (Code(str(error.location)), ": ") if error.location else ()
    hint = (Para((Bold("What to do:"), f" {error.hint}")),) if error.hint else ()
    heading = Heading(2, (f"❌ bluegreen {what} failed",))
    return markdown((heading, Para((Bold(error.title), ": ", *where, said(error))), *hint))


def plan_markdown(outcome: Outcome, notes: Iterable[str]) -> str:
    return markdown(outcome_doc(outcome) + notes_doc(notes))


def release_markdown(outcome: Outcome, notes: Iterable[str], warning: str | None) -> str:
    return markdown(outcome_doc(outcome) + notes_doc(notes) + notes_doc([warning], WARNING))


def status_markdown(
    observation: Observation, environments: Environments, recorded: Status, notes: Iterable[str | None]
) -> str:
    return markdown(status_doc(observation, environments, recorded) + notes_doc(notes))


def static_plan_markdown(desired: Desired, why: str, refusal: str | None) -> str:
    """The state files are valid against their schemas, and nothing more could be asked: why, and any refusal."""
    apps = ", ".join(f"{name} → {app.live.title}" for name, app in desired.apps.items())
    blocks: list[Block] = [Heading(2, ("bluegreen plan: static checks only",))]
    blocks.append(Para((f"The state files are valid ({apps}). ", why[:1].upper() + why[1:])))
    if refusal:
        blocks.append(Para((Bold("Refused:"), f" {refusal}")))
    return markdown(tuple(blocks))


def approval_refused_markdown(why: str) -> str:
    heading = Heading(2, ("❌ bluegreen release refused",))
    return markdown((heading, Para((f"An approving review is required: {why}. Nothing was changed.",))))


def switching_markdown(plan: Plan, run_url: str | None) -> str:
    """The PR comment while a release switches: which apps, and the run to follow."""
    switches = ", ".join(
        f"{app.app} {app.to_color.title}, the switch made again on {', '.join(app.hosts)}"
        if app.repair_only
        else f"{app.app} {app.from_color.title} → {app.to_color.title}"
        for app in plan.switches
    )
    link = (Para((Link("Follow the run", run_url),)),) if run_url else ()
    return markdown((Heading(2, (f"⏳ bluegreen is switching: {switches}",)), *link))
