"""The Action's plan on a pull request: the sticky comment and the commit status. It decides from the base
commit's files (action/trust.py); a fork, a base that cannot be read, or a plan job without a deploy key gets the
static checks only, and connects nowhere."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from bluegreen.action import asked
from bluegreen.action.run import (
    Run,
    connector,
    has_key,
    ledger,
    no_release,
    outcome_outputs,
    selected_apps,
    with_overrides,
)
from bluegreen.action.trust import StaticOnly, Trusted, for_pull_request, proposal
from bluegreen.adapters.git import Checkout, GitTree
from bluegreen.adapters.github import CommitState
from bluegreen.core.outcome import exit_code
from bluegreen.engine.jobs import plan_job
from bluegreen.engine.release import Request
from bluegreen.errors import RESULT_EXIT_CODES
from bluegreen.model import Status, Trigger
from bluegreen.report import action as reports


def plan(run: Run) -> int:
    with Checkout.open(run.context.workspace) as checkout:
        head, proposed = proposal(checkout, run.context, run.inputs)
        selected_apps(proposed, run.inputs)  # at once, even for a plan that stays static
        if run.decision.fork:
            return _static_plan(run, StaticOnly(proposed, reports.FORK), fork=True)
        if run.decision.pr is None:  # workflow_dispatch: the checked-out branch is what was merged
            trusted: Trusted | StaticOnly = Trusted(proposed, GitTree(checkout, head))
        else:
            trusted = for_pull_request(checkout, run.decision, head, proposed)
        if isinstance(trusted, StaticOnly):
            return _static_plan(run, trusted)
        if not has_key(run, trusted.state):
            return _static_plan(run, StaticOnly(proposed, reports.NO_KEY, trusted.refusal))
        ssh = connector(run, trusted.state, trusted.source)
        base = trusted.source.sha if run.decision.pr is not None else None
        trigger = replace(
            _pr_trigger(run), asked_for=asked.for_plan(checkout, run.inputs, base, head, proposed.live_path)
        )
    record = ledger(run, proposed.status_path)
    state = with_overrides(trusted.state, run.inputs)
    request = Request(state.desired, state.environments, Status(), run.inputs.apps, trigger, trusted.refusal)
    outcome = asyncio.run(plan_job(request, ssh, run.progress, record))
    ok = outcome.result != "refused"
    refused = trusted.refusal or "the release would be refused: see the PR comment"
    _commit_status(run, "success" if ok else "failure", "the release would go ahead" if ok else refused)
    markdown = reports.plan_markdown(outcome, [*trusted.notes, *record.notes])
    return run.finish(markdown, outcome_outputs(outcome), exit_code(outcome))


def _commit_status(run: Run, state: CommitState, description: str) -> None:
    sha = run.decision.pr_head_sha
    if sha:
        context, url = run.inputs.plan_status_context, run.context.run_url
        run.best_effort("the commit status", lambda: run.github.set_status(sha, state, description, context, url))


def _static_plan(run: Run, static: StaticOnly, *, fork: bool = False) -> int:
    """The files are valid against their schemas; nothing more can be said without trusting what to connect to.
    Whether the pull request edits status.json is still told (and refused) when the base commit is there."""
    state = static.proposed
    markdown = reports.static_plan_markdown(state.desired, static.why, static.refusal)
    code = RESULT_EXIT_CODES["refused"] if static.refusal else 0
    if fork:
        run = replace(run, pr=None)  # a read-only token cannot comment
    elif static.refusal or static.unchecked:
        unchecked = f"static checks only, and whether this PR edits {state.status_path} cannot be told: {static.why}"
        _commit_status(run, "failure", static.refusal or unchecked)
    else:
        _commit_status(run, "success", "static checks only: " + static.why)
    return run.finish(markdown, no_release("refused" if static.refusal else "noop"), code)


def _pr_trigger(run: Run) -> Trigger:
    pull = run.context.event.get("pull_request") or {}
    author = (pull.get("user") or {}).get("login")  # (the event's schema checked its shape)
    return Trigger(actor=author, pr=run.decision.pr, pr_url=pull.get("html_url"), commit=run.decision.pr_head_sha)
