"""The Action's release on a push to the default branch: the merged PR, approval, the switch, status.json
committed back through GitHub's API, deployments, and the report on the PR.

The merged commit's files are the approved ones (read from the checkout's objects). The history that decides
what counts as a rollback is bluegreen's own record on GitHub (status_commit), and a push that edits status.json
by hand is refused, with nothing switched.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from functools import partial

from . import config, report, report_doc, workflow
from .action_run import (
    Run,
    credentials,
    no_release,
    notes_markdown,
    outcome_outputs,
    recordable,
    run_link,
    with_inputs,
)
from .action_trust import for_push, proposal, stale_run
from .errors import RESULT_EXIT_CODES
from .github_api import DeploymentState, PullInfo
from .gitobjects import Checkout
from .jobs import release_job
from .model import Environments, Outcome, Plan, Status, Trigger
from .release import Request, Saved
from .report_doc import Heading, Para
from .seal import Seal
from .ssh import run_holder
from .status_commit import Record, commit_record, read_record


def release(run: Run) -> int:
    branch = run.inputs.status_branch or run.context.default_branch
    with Checkout.open(run.context.workspace) as checkout:
        head, merged = proposal(checkout, run.context, run.inputs.state_dir, with_status=False)
        pull = run.github.merged_pull_for_commit(head)
        run.pr = pull.number if pull else None  # from here on, an error is reported on the pull request too
        trusted = for_push(checkout, run.context, head, merged)
        keys = credentials(run, merged, trusted.source)
        record = read_record(run.github, merged.status_path, branch, keys.record_key)
        state = with_inputs(replace(trusted.state, status=_recorded_status(record, merged, branch)), run.inputs)
        refusal = trusted.refusal or stale_run(checkout, head, state.status)
        trigger = replace(_merge_trigger(run, pull, head), also_prs=_skipped_prs(run, checkout, state, head))
    if run.inputs.require_approval:
        approved, why = run.github.approved_by_other(pull.number) if pull else (False, "a direct push has no review")
        if not approved:
            markdown = report_doc.markdown(
                (
                    Heading(2, ("❌ bluegreen release refused",)),
                    Para((f"An approving review is required: {why}. Nothing was changed.",)),
                )
            )
            return run.finish(markdown, no_release("refused"), RESULT_EXIT_CODES["refused"])
    deployments: dict[str, int] = {}
    save = _StatusSaver(run, state, branch, head if run.inputs.status_branch else None, keys.record_key, record)
    request = Request(state.desired, state.environments, state.status, run.inputs.apps, trigger, refusal)
    outcome = asyncio.run(
        release_job(
            request,
            keys,
            run.progress,
            save,
            run_holder(run.environ),
            announce=lambda plan: _announce(run, plan, deployments),
        )
    )
    _deployment_results(run, state.environments, outcome, deployments)
    for title, said in (("status.json changed by hand", record.note), ("status.json not committed", save.warning)):
        if said:
            workflow.annotate(run.out, "warning", said, title=title)
    markdown = report.outcome_markdown(outcome) + notes_markdown([record.note]) + notes_markdown([save.warning], "⚠️")
    return run.finish(markdown, outcome_outputs(outcome), RESULT_EXIT_CODES[outcome.result])


def _recorded_status(record: Record, merged: config.State, branch: str) -> Status:
    if record.text is None:
        return Status()
    return config.parse_status(record.text, f"{merged.status_path} (bluegreen's record on {branch})")


@dataclass
class _StatusSaver:
    """Records an outcome by committing status.json, sealed, through GitHub's API, while the hosts' locks are
    still held, so the next release reads it."""

    run: Run
    state: config.State
    branch: str
    start: str | None
    key: bytes
    record: Record
    warning: str | None = None

    def __call__(self, outcome: Outcome) -> Saved:
        path = self.state.status_path
        if not self.run.inputs.commit_status:
            return Saved(True, f"{path} not committed: the input commit_status is false")
        if outcome.refusal is None and all(app.result == "noop" for app in outcome.apps):
            return Saved(True, "nothing to record")
        status = config.recorded(self.state.status, outcome)
        sequence = self.record.sequence + 1

        def render(replaced: str | None) -> str:
            return config.dump_status(status, self.key, Seal(sequence, replaced))

        message = f"bluegreen: record {outcome.result} in {path}"
        committed = commit_record(self.run.github, path, render, message, self.branch, start=self.start)
        if committed.warning:
            self.warning = committed.warning
            return Saved(False, committed.warning)
        if committed.commit is None:
            return Saved(True, f"{path} already records it")
        return Saved(True, f"{path} records the observed LIVE (commit {committed.commit[:12]} on {self.branch})")


def _merge_trigger(run: Run, pull: PullInfo | None, head: str) -> Trigger:
    if pull is None:
        return Trigger(actor=recordable("actor", run.context.actor or None), commit=head)
    actor = recordable("actor", pull.author)
    return Trigger(actor=actor, pr=pull.number, pr_url=pull.url, commit=head, reverts_pr=pull.reverts)


def _skipped_prs(run: Run, checkout: Checkout, state: config.State, head: str) -> tuple[int, ...]:
    """PRs merged after the last recorded release whose own runs never released them (a concurrency group
    cancels a pending run): this run releases them too, and the report names them. Needs the branch's history
    (`fetch-depth: 0`); with a shallow checkout only the pushed commit is known."""
    releases = [r for app in state.status.apps.values() if (r := app.last_release) and r.commit]
    if not releases:
        return ()
    base = max(releases, key=lambda record: record.at).commit
    touched = checkout.commits_touching(base, head, state.live_path)
    earlier = [sha for sha in touched if sha != head][-20:]
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
