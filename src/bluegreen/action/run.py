"""One Action run: where it reads and writes, the PR it reports to, and what every job shares (the inputs'
overrides of the state, the SSH credentials, the outputs)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, TextIO, TypeVar

from bluegreen import config
from bluegreen.action import workflow
from bluegreen.action.context import Context, Decision, Inputs
from bluegreen.adapters.github import GitHub
from bluegreen.adapters.github_ledger import GitHubLedger
from bluegreen.adapters.ssh import SshConnector
from bluegreen.adapters.sshkeys import load_credentials
from bluegreen.config.sources import Source
from bluegreen.core import planner
from bluegreen.errors import GitHubError, InputError, Location
from bluegreen.model import Environments, Outcome
from bluegreen.report import doc
from bluegreen.report.doc import Para

MARKER = "<!-- bluegreen:report -->"
Recorded = TypeVar("Recorded", str, int)


@dataclass
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
            self.best_effort("the PR comment", lambda: self.github.upsert_comment(self.pr or 0, MARKER, markdown))

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


def with_inputs(state: config.State, inputs: Inputs) -> config.State:
    """The state with the inputs' verification overrides; the `apps` input must name apps of live.json."""
    planner.selected_apps(state.desired, inputs.apps, state.live_path)
    return replace(state, environments=verify_overrides(state.environments, inputs))


def verify_overrides(environments: Environments, inputs: Inputs) -> Environments:
    apps = {}
    for name, app in environments.apps.items():
        verify = app.verify
        if inputs.verify_window_s is not None:
            verify = replace(verify, window_s=inputs.verify_window_s)
        if inputs.rollback_on_failure is not None:
            verify = replace(verify, rollback_on_failure=inputs.rollback_on_failure)
        apps[name] = replace(app, verify=verify)
    return replace(environments, apps=apps)


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
    released = [app.plan.app for app in outcome.apps if app.result == "success" and not outcome.dry_run]
    live = {
        app.plan.app: {"color": app.live.color.value, "version": app.live.version}
        for app in outcome.apps
        if app.live is not None
    }
    return {"result": outcome.result, "apps": json.dumps(released), "live": json.dumps(live)}


def notes_markdown(notes: Iterable[str | None], mark: str = "ℹ️") -> str:
    """Notes under a report, escaped like every report text (they quote paths, names and GitHub's answers)."""
    return "".join("\n" + doc.markdown((Para((f"{mark} ", note)),)) for note in notes if note)


def run_link(run: Run) -> str:
    url = run.context.run_url
    return f"[Follow the run]({url})" if url else ""


def no_release(result: str) -> dict[str, str]:
    """The outputs of a run that released nothing."""
    return {"result": result, "apps": "[]", "live": "{}"}
