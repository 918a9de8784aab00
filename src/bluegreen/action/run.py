"""One Action run: where it reads and writes, the PR it reports to, and what every job shares (the inputs'
overrides of the state, the SSH credentials, the outputs, how an error ends the run).

A Run is frozen: a job that learns the PR to report to (a release finds its merged pull request) makes a new one
with `dataclasses.replace`, and reports its own errors with it (`reported`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TextIO, TypeVar

from bluegreen import config, report
from bluegreen.action import workflow
from bluegreen.action.context import Context, Decision, Inputs
from bluegreen.adapters.github import GitHub
from bluegreen.adapters.github_ledger import GitHubLedger
from bluegreen.adapters.ssh import SshConnector
from bluegreen.adapters.sshkeys import load_credentials
from bluegreen.config.sources import Source
from bluegreen.core import planner
from bluegreen.core.drift import live_by_host, observed_live
from bluegreen.core.sync import syncs
from bluegreen.errors import BluegreenError, GitHubError, InputError, Location
from bluegreen.model import Observation, Outcome
from bluegreen.report import action as reports

MARKER = "<!-- bluegreen:report -->"
Recorded = TypeVar("Recorded", str, int)


@dataclass(frozen=True)
class Run:
    """One Action run: where it reads and writes, and the PR it reports to."""

    context: Context
    inputs: Inputs
    decision: Decision
    github: GitHub
    out: TextIO
    environ: dict[str, str]
    pr: int | None = None

    def progress(self, message: str) -> None:
        print(message, file=self.out, flush=True)

    def comment(self, markdown: str) -> None:
        if self.pr is not None and self.inputs.comment:
            body = report.truncate_markdown(markdown)  # GitHub refuses a comment over its limit
            self.best_effort("the PR comment", lambda: self.github.upsert_comment(self.pr or 0, MARKER, body))

    def best_effort(self, what: str, call: Callable[[], object]) -> None:
        """GitHub bookkeeping (comment, deployment) must never undo or hide a release: a failure is a warning."""
        try:
            call()
        except GitHubError as error:
            workflow.annotate(self.out, "warning", f"{error.message} ({error.hint})", title=f"{what} not updated")

    def finish(self, markdown: str, outputs: dict[str, str], code: int) -> int:
        """The report reaches the summary and the outputs first, then the PR; the exit code says how it went."""
        workflow.append_summary(self.context.summary_file, markdown)
        workflow.write_outputs(self.context.output_file, {**outputs, "report": markdown})
        self.comment(markdown)
        return code


def with_overrides(state: config.State, inputs: Inputs) -> config.State:
    """The state a job decides from, with the inputs' verification overrides: applied once, to that state. The
    `apps` input must name apps of that state (a PR's plan drops the apps its base branch does not know yet)."""
    selected_apps(state, inputs)
    apps = {}
    for name, app in state.environments.apps.items():
        verify = app.verify
        if inputs.verify_window_s is not None:
            verify = replace(verify, window_s=inputs.verify_window_s)
        if inputs.rollback_on_failure is not None:
            verify = replace(verify, rollback_on_failure=inputs.rollback_on_failure)
        apps[name] = replace(app, verify=verify)
    return replace(state, environments=replace(state.environments, apps=apps))


def selected_apps(state: config.State, inputs: Inputs) -> None:
    """The `apps` input names apps of `state`'s live.json, or an InputError says which does not."""
    planner.selected_apps(state.desired, inputs.apps, state.live_path)


def has_key(run: Run, state: config.State) -> bool:
    """Whether this run was given a deploy key: the input, a key file in the repository, or the variable."""
    ssh = state.environments.ssh
    return (
        bool(run.inputs.ssh_private_key) or bool(ssh.key_file) or bool(run.environ.get(ssh.key_env or "", "").strip())
    )


def connector(run: Run, state: config.State, source: Source) -> SshConnector:
    """SSH to the HAProxy hosts with the deploy key and the pinned host keys: inputs first, else the reviewed
    commit's files (`source`)."""
    if not has_key(run, state):
        raise InputError(
            f"the input `ssh_private_key` is empty: {run.decision.mode} has to log in to the HAProxy hosts",
            hint="pass the deploy key from a secret: `ssh_private_key: ${{ secrets.BLUEGREEN_SSH_KEY }}`",
            location=Location("action inputs", field="ssh_private_key"),
        )
    credentials = load_credentials(
        state.environments.ssh,
        source,
        run.environ,
        source.display(state.environments_path),
        known_hosts=run.inputs.ssh_known_hosts.reveal(),
        private_key=run.inputs.ssh_private_key.reveal(),
    )
    return SshConnector(credentials)


def ledger(run: Run, status_path: str, **more: Any) -> GitHubLedger:
    """bluegreen's record of this repository as every job reads it: the version the hosts remember, on the
    branch the status is committed to (`status_branch`, else the default branch)."""
    branch = run.inputs.status_branch or run.context.default_branch
    return GitHubLedger(run.github, run.context.repository, status_path, branch, **more)


def recordable(kind: str, value: Recorded | None) -> Recorded | None:
    """`value` when status.json can record it as `kind` (GitHub's logins and shas always can), else None: what one
    run records must never make the file unreadable for the next."""
    return value if value is not None and config.recorded_value_problem(kind, value) is None else None


def outcome_outputs(outcome: Outcome) -> dict[str, str]:
    released = [
        app.plan.app
        for app in outcome.apps
        if app.result == "success" and not outcome.dry_run and not app.plan.repair_only  # a repair moved no traffic
    ]
    live = {
        app.plan.app: {"color": app.live.color.value, "version": app.live.version}
        for app in outcome.apps
        if app.live is not None
    }
    return {"result": outcome.result, "apps": json.dumps(released), "live": json.dumps(live), **sync_output(outcome)}


def sync_output(outcome: Outcome) -> dict[str, str]:
    """`sync`: the seed's next step, for the workflow's own deploy job. Per app a real release switched forward, the
    new STANDBY (the color traffic left, and its address) and the version to deploy there (the new LIVE's), as a
    JSON list, so that `fromJSON` makes a job matrix of it (core/sync.py)."""
    entries = [
        {"app": sync.app, "standby": sync.standby.value, "address": sync.address, "version": sync.version}
        for sync in syncs(outcome)
    ]
    return {"sync": json.dumps(entries)}


def status_outputs(observation: Observation) -> dict[str, str]:
    """A status run releases nothing; `live` is the color (and its version) every HAProxy host agrees on, per app."""
    live = {}
    for name, seen in observation.apps.items():
        color = observed_live(live_by_host(seen))
        live[name] = {"color": color.value, "version": seen.colors[color].version} if color else None
    return {"result": "noop", "apps": "[]", "live": json.dumps(live), "sync": "[]"}


def no_release(result: str) -> dict[str, str]:
    """The outputs of a run that released nothing."""
    return {"result": result, "apps": "[]", "live": "{}", "sync": "[]"}


def failed(run: Run, error: BluegreenError) -> int:
    """A job ended in an error: the annotation, the report (and a plan's commit status), the error's exit code."""
    workflow.annotate_error(run.out, error)
    sha = run.decision.pr_head_sha
    if run.decision.mode == "plan" and sha and not run.decision.fork:
        context, url = run.inputs.plan_status_context, run.context.run_url
        run.best_effort("the commit status", lambda: run.github.set_status(sha, "error", error.title, context, url))
    return run.finish(
        reports.failure_markdown(run.decision.mode or "run", error), no_release("failed"), error.exit_code
    )


def reported(run: Run, job: Callable[[], int]) -> int:
    """`job()`, its error reported with `run` (a Run that knows the PR the outer one did not)."""
    try:
        return job()
    except BluegreenError as error:
        return failed(run, error)
