"""The drift issue: every status run of the Action (a schedule's, or one asked for by hand) keeps one issue in step
with what it saw.

Drift found (core/drift.py's watch: the HAProxy hosts disagree, one is not on the recorded LIVE, or a color is down):
the one open issue of its kind is edited with the newest findings, or opened. No drift: it is closed, with a comment
saying so. A check that could not be made (a host unreachable, a key refused) says so in the issue too, and leaves it
open. Only a status of every app, on the default branch, while no release holds the lock, keeps it. The issue is found
again by the hidden marker at the start of its body and its label, like the sticky PR comment. It is GitHub bookkeeping:
a refused write is a warning, after the summary and the outputs (`issues: write` is the permission; `drift_issue: false`
turns it off); but drift found and not written up fails the job (exit code 6), or the alarm would be lost in silence.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from bluegreen import config
from bluegreen.action import workflow
from bluegreen.action.run import Run
from bluegreen.adapters.github import IssueInfo
from bluegreen.config.sources import Source
from bluegreen.core.drift import Basis, watch
from bluegreen.engine.jobs import now
from bluegreen.errors import BluegreenError, GitHubError
from bluegreen.model import Environments, Observation, Status
from bluegreen.report import drift as reports
from bluegreen.report import truncate_markdown

MARKER = "<!-- bluegreen:drift -->"
LABEL = "bluegreen-drift"
LOST = GitHubError.exit_code  # 6: drift found, and the issue that would tell it refused


def keep_issue(
    run: Run, observation: Observation, environments: Environments, held: Basis, releasing: Mapping[str, str]
) -> int:
    """Open or edit the issue while there is drift, close it once there is none. A status of some apps only (the
    `apps` input) leaves it alone: it did not look at the others, and must neither close nor rewrite their news.
    `held` (core/drift.py's basis) is what the hosts are held against; when nothing can be, the issue says why and
    stays open, since a host on the wrong color could not be seen. The exit code: 0, or LOST when news for the
    issue (drift, or drift that cannot be told) could not be written: an alarm no one would hear."""
    if not _keeps_issue(run):
        return 0
    if releasing:  # the hosts may be mid-switch, the record not yet written: what this saw is no news
        holders = "; ".join(f"{host}: {holder}" for host, holder in releasing.items())
        run.progress(f"bluegreen: the drift issue is left as it is: a release is in progress ({holders})")
        workflow.append_summary(run.context.summary_file, reports.releasing_note(holders))
        return 0
    recorded, checked = held.status, reports.checked_by(now(), run.context.run_url)
    drifts = watch(observation, recorded)
    if held.unjudged:
        body = truncate_markdown(reports.unjudged_markdown(held.unjudged, drifts, observation, recorded, checked))
        return _alarm(run, reports.unjudged_title(), body)
    if held.note:
        checked = (*checked, " ", held.note)
    if not any(drift.found for drift in drifts):
        body = truncate_markdown(reports.resolved_markdown(drifts, observation, recorded, checked))
        _noted(run, lambda: [(issue, "closed") for issue in run.github.close_issues(MARKER, LABEL, body)])
        return 0
    body = truncate_markdown(reports.drift_markdown(drifts, observation, environments, recorded, checked))
    return _alarm(run, reports.drift_title(drifts), body)


def published(source: Source, status_path: str) -> Status | None:
    """The status.json the branch publishes (None: it cannot be read), for core/drift.py's unjudged."""
    try:
        return config.load_status(source, status_path)
    except BluegreenError:
        return None


def unchecked(run: Run, error: BluegreenError, code: int) -> int:
    """The status run failed (`code` is its exit code, the report already written): the issue says so (a status of
    some apps only leaves it alone, as when it succeeds: a misspelt `apps` is no news about the hosts)."""
    if _keeps_issue(run):
        checked = reports.checked_by(now(), run.context.run_url)
        _upsert(run, reports.unchecked_title(), truncate_markdown(reports.unchecked_markdown(error, checked)))
    return code


def _keeps_issue(run: Run) -> bool:
    """Only a status of every app, on the default branch, keeps the issue: a status of some apps did not look at
    the others, and one on another branch read that branch's state files (a test, not production's news)."""
    if not run.inputs.drift_issue:
        return False
    if run.inputs.apps:
        run.progress("bluegreen: the drift issue is left as it is: this status looked at some apps only (apps)")
        return False
    branch = run.context.ref.removeprefix("refs/heads/")
    if branch != run.context.default_branch:
        run.progress(
            f"bluegreen: the drift issue is left as it is: this status ran on {run.context.ref or 'no ref'}, not on "
            f"the default branch {run.context.default_branch!r}"
        )
        return False
    return True


def _alarm(run: Run, title: str, body: str) -> int:
    """The issue opened or edited with news; LOST, with an error annotation, when GitHub refused it."""
    if _upsert(run, title, body):
        return 0
    workflow.annotate(
        run.out,
        "error",
        "this check found news for the drift issue (see the job summary) and could not write it: no one is told "
        "unless this job fails. Give the job `permissions: issues: write`, or set drift_issue to false",
        title="drift not written up",
    )
    return LOST


def _upsert(run: Run, title: str, body: str) -> bool:
    def write() -> list[tuple[IssueInfo, str]]:
        issue, opened = run.github.upsert_issue(MARKER, LABEL, title, body)
        return [(issue, "opened" if opened else "updated")]

    return _noted(run, write)


def _noted(run: Run, write: Callable[[], list[tuple[IssueInfo, str]]]) -> bool:
    """`write()`, as GitHub bookkeeping; what it did is added to the job summary and the log. Whether it was done."""
    done: list[tuple[IssueInfo, str]] = []
    run.best_effort("the drift issue", lambda: done.extend(write()))
    for issue, what in done:
        run.progress(f"bluegreen: the drift issue #{issue.number} was {what}: {issue.url}")
        workflow.append_summary(run.context.summary_file, reports.issue_note(issue.number, issue.url, what))
    return bool(done)
