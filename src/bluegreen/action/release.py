"""The Action's release on a push to the default branch: the merged PR, approval, the switch, status.json
committed back through GitHub's API, deployments, and the report on the PR.

The merged commit's files are the approved ones (read from the checkout's objects). The history that decides
what counts as a rollback is the record the HAProxy hosts remember (adapters/github_ledger.py, engine/ledger.py);
a push that edits status.json by hand, or a run for a commit older than the last release's, is refused, with
nothing switched.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from functools import partial

from bluegreen import config
from bluegreen.action import asked, rollback_pr, workflow
from bluegreen.action.run import (
    Run,
    connector,
    ledger,
    no_release,
    outcome_outputs,
    recordable,
    reported,
    with_overrides,
)
from bluegreen.action.trust import for_push, last_released_commit, proposal, stale_run
from bluegreen.adapters.git import Checkout
from bluegreen.adapters.github import DeploymentState, PullInfo
from bluegreen.adapters.ssh import run_holder
from bluegreen.core.outcome import exit_code
from bluegreen.engine.jobs import release_job
from bluegreen.engine.release import Request
from bluegreen.errors import RESULT_EXIT_CODES
from bluegreen.model import Environments, Outcome, Plan, Status, Trigger
from bluegreen.report import action as reports


def release(run: Run) -> int:
    with Checkout.open(run.context.workspace) as checkout:  # open throughout: the stale-run check reads history
        head, merged = proposal(checkout, run.context, run.inputs, with_status=False)
        pull = run.github.merged_pull_for_commit(head)
        on_pr = replace(run, pr=pull.number if pull else None)  # from here on, an error is reported on the PR too
        return reported(on_pr, lambda: _release_merged(on_pr, checkout, head, merged, pull))


def _release_merged(run: Run, checkout: Checkout, head: str, merged: config.State, pull: PullInfo | None) -> int:
    trusted = for_push(checkout, run.context, head, merged)
    ssh = connector(run, merged, trusted.source)
    state = with_overrides(trusted.state, run.inputs)
    refused = _approval_refusal(run, pull)
    if refused is not None:
        return refused
    record = ledger(
        run,
        state.status_path,
        start=head if run.inputs.status_branch else None,
        commit_status=run.inputs.commit_status,
        stale=lambda status: stale_run(checkout, head, status),
    )
    deployments: dict[str, int] = {}
    trigger = _merge_trigger(run, pull, head)
    trigger = replace(trigger, asked_for=asked.for_release(checkout, run.context, run.inputs, head, state.live_path))
    request = Request(state.desired, state.environments, Status(), run.inputs.apps, trigger, trusted.refusal)
    announce = partial(_announce, run, deployments=deployments)
    outcome = asyncio.run(release_job(request, ssh, run.progress, record, run_holder(run.environ), announce))
    # the PRs this release took along, by the history it was judged by
    also = _skipped_prs(run, checkout, record.status, head, state.live_path)
    outcome = replace(outcome, trigger=replace(outcome.trigger, also_prs=also))
    _deployment_results(run, state.environments, outcome, deployments)
    _warn_about_the_record(run, record.notes, record.warning)
    rollbacks = rollback_pr.record_rollbacks(run, outcome, state.desired.apps, state.live_path)  # git follows
    if run.inputs.rollback_pr:  # a record this release made obsolete (merging it would switch back) is closed
        close = partial(rollback_pr.close_obsolete, run.github, outcome, run.context.default_branch)
        run.best_effort("the obsolete rollback pull requests", close)
    recorded = rollback_pr.merged_record(
        pull, outcome, state.desired.apps
    )  # this merge is a rollback record: a no-op release
    notes = [*record.notes, *([recorded] if recorded else []), *rollbacks]
    markdown = reports.release_markdown(outcome, notes, record.warning)
    return run.finish(markdown, outcome_outputs(outcome), exit_code(outcome))


def _warn_about_the_record(run: Run, notes: Sequence[str], warning: str | None) -> None:
    for title, said in (("bluegreen's record", "; ".join(notes)), ("status.json not committed", warning)):
        if said:
            workflow.annotate(run.out, "warning", said, title=title)


def _approval_refusal(run: Run, pull: PullInfo | None) -> int | None:
    """With `require_approval`, a release without an approval that counts ends here, nothing changed."""
    if not run.inputs.require_approval:
        return None
    approved, why = run.github.approved_by_other(pull.number) if pull else (False, "a direct push has no review")
    if approved:
        return None
    markdown = reports.approval_refused_markdown(why)
    return run.finish(markdown, no_release("refused"), RESULT_EXIT_CODES["refused"])


def _merge_trigger(run: Run, pull: PullInfo | None, head: str) -> Trigger:
    if pull is None:
        return Trigger(actor=recordable("actor", run.context.actor or None), commit=head)
    actor = recordable("actor", pull.author)
    return Trigger(actor=actor, pr=pull.number, pr_url=pull.url, commit=head, reverts_pr=pull.reverts)


def _skipped_prs(run: Run, checkout: Checkout, status: Status, head: str, live_path: str) -> tuple[int, ...]:
    """PRs merged after the last release whose own runs never released them (a concurrency group cancels a
    pending run): this run releases them too, and the report names them. Needs the branch's history
    (`fetch-depth: 0`); with a shallow checkout only the pushed commit is known."""
    base = last_released_commit(status)
    if base is None:
        return ()
    touched = checkout.commits_touching(base, head, live_path)
    earlier = [sha for sha in touched if sha != head][-20:]
    found = (run.github.merged_pull_for_commit(sha, just_pushed=False) for sha in earlier)
    return tuple(dict.fromkeys(p.number for p in found if p is not None and p.number != run.pr))


def _announce(run: Run, plan: Plan, *, deployments: dict[str, int]) -> None:
    run.comment(reports.switching_markdown(plan, run.context.run_url))
    if not run.inputs.deployments:
        return
    for app in (app for app in plan.switches if not app.repair_only):  # a repair deploys nothing: no traffic moves
        environment = run.inputs.deployment_environment.replace("{app}", app.app)

        def start(name: str = app.app, environment: str = environment, kind: str = app.kind) -> None:
            deployments[name] = run.github.create_deployment(run.context.sha, environment, f"bluegreen {kind}")
            run.github.deployment_status(deployments[name], "in_progress", "switching", log_url=run.context.run_url)

        run.best_effort(f"the deployment of {app.app}", start)


def _deployment_results(run: Run, environments: Environments, outcome: Outcome, deployments: dict[str, int]) -> None:
    for app in outcome.apps:
        if app.plan.app not in deployments:
            continue
        state: DeploymentState = "success" if app.result == "success" else "failure"
        finish = partial(
            run.github.deployment_status,
            deployments[app.plan.app],
            state,
            (app.reason or app.result)[:140],
            environment_url=environments.apps[app.plan.app].public.url,
            log_url=run.context.run_url,
        )
        run.best_effort(f"the deployment of {app.plan.app}", finish)
