"""The Action's release on a push to the default branch: the merged PR, approval, the switch, status.json
committed back, deployments, and the report on the PR."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from functools import partial

from . import config, gitrepo, recording, report, workflow
from .action_run import Run, credentials, load, no_release, outcome_outputs, run_link
from .errors import RESULT_EXIT_CODES, BluegreenError
from .github_api import DeploymentState, PullInfo
from .jobs import release_job, status_saver
from .model import Environments, Outcome, Plan, Trigger
from .release import Request
from .ssh import run_holder


def release(run: Run) -> int:
    state = _with_current_status(run, load(run))
    pull = run.github.merged_pull_for_commit(run.context.sha)
    run.pr = pull.number if pull else None
    trigger = replace(_merge_trigger(run, pull), also_prs=_skipped_prs(run, state))
    if run.inputs.require_approval:
        approved, why = run.github.approved_by_other(pull.number) if pull else (False, "a direct push has no review")
        if not approved:
            markdown = (
                f"## ❌ bluegreen release refused\n\nAn approving review is required: {why}. Nothing was changed.\n"
            )
            return run.finish(markdown, no_release("refused"), RESULT_EXIT_CODES["refused"])
    deployments: dict[str, int] = {}
    request = Request(state.desired, state.environments, state.status, run.inputs.apps, trigger)
    outcome = asyncio.run(
        release_job(
            request,
            credentials(run, state),
            run.progress,
            status_saver(state),
            run_holder(run.environ),
            announce=lambda plan: _announce(run, plan, deployments),
        )
    )
    warning = _push_status(run, state, outcome)
    _deployment_results(run, state.environments, outcome, deployments)
    markdown = report.outcome_markdown(outcome) + (f"\n> ⚠️ {warning}\n" if warning else "")
    return run.finish(markdown, outcome_outputs(outcome), RESULT_EXIT_CODES[outcome.result])


def _with_current_status(run: Run, state: config.State) -> config.State:
    """status.json as it is now where it is committed (the default branch, or `status_branch`): a run that waited
    behind another in the concurrency group checked out a commit older than that run's status commit."""
    branch = run.inputs.status_branch or run.context.default_branch
    try:
        text = gitrepo.file_on_branch(run.context.workspace, branch, state.status_path)
    except BluegreenError as error:
        workflow.annotate(run.out, "warning", f"{error.message}: using the checked-out status", title="status.json")
        return state
    if text is None:
        return state
    return replace(state, status=config.parse_status(text, f"{state.status_path} ({branch})"))


def _merge_trigger(run: Run, pull: PullInfo | None) -> Trigger:
    if pull is None:
        return Trigger(actor=run.context.actor or None, commit=run.context.sha)
    return Trigger(actor=pull.author, pr=pull.number, pr_url=pull.url, commit=run.context.sha, reverts_pr=pull.reverts)


def _skipped_prs(run: Run, state: config.State) -> tuple[int, ...]:
    """PRs merged after the last recorded release whose own runs never released them (a concurrency group
    cancels a pending run): this run releases them too, and the report names them. Needs the branch's history
    (`fetch-depth: 0`); with a shallow checkout only the pushed commit is known."""
    releases = [r for app in state.status.apps.values() if (r := app.last_release) and r.commit]
    if not releases:
        return ()
    base = max(releases, key=lambda record: record.at).commit
    touched = gitrepo.commits_touching(run.context.workspace, base, run.context.sha, state.live_path)
    earlier = [sha for sha in touched if sha != run.context.sha][-20:]
    found = (run.github.merged_pull_for_commit(sha, just_pushed=False) for sha in earlier)
    return tuple(dict.fromkeys(p.number for p in found if p is not None and p.number != run.pr))


def _announce(run: Run, plan: Plan, deployments: dict[str, int]) -> None:
    switches = ", ".join(f"{app.app} {app.from_color.title} → {app.to_color.title}" for app in plan.switches)
    run.comment(f"## ⏳ bluegreen is switching: {switches}\n\n{run_link(run)}\n")
    if not run.inputs.deployments:
        return
    for app in plan.switches:
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


def _push_status(run: Run, state: config.State, outcome: Outcome) -> str | None:
    """Commit status.json to the branch; re-applied on top if the branch moved. A refusal is kept as a warning."""
    if not run.inputs.commit_status or all(app.result == "noop" for app in outcome.apps):
        return None

    def render(current: str | None) -> str:
        base = config.parse_status(current, state.status_path) if current else state.status
        return config.dump_status(recording.record_outcome(base, outcome))

    branch = run.inputs.status_branch or run.context.default_branch
    message = f"bluegreen: record {outcome.result} in {state.status_path} [skip ci]"
    try:
        start = run.context.sha if run.inputs.status_branch else None  # a new status branch starts here
        pushed = gitrepo.commit_and_push(run.context.workspace, state.status_path, render, message, branch, start=start)
    except BluegreenError as error:
        workflow.annotate(run.out, "warning", str(error), title="status.json not committed")
        return f"{state.status_path} was not committed: {error.message}"
    if pushed.warning:
        workflow.annotate(run.out, "warning", pushed.warning, title="status.json not committed")
    return pushed.warning
