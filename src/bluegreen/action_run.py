"""One Action run: where it reads and writes, the PR it reports to, and what every job shares (the state
files with the inputs' overrides, the SSH credentials, the outputs)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TextIO

from . import config, planner, workflow
from .action import Context, Decision, Inputs
from .errors import GitHubError, InputError, Location
from .github_api import GitHub
from .model import Environments, Outcome
from .ssh import Credentials

MARKER = "<!-- bluegreen:report -->"


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


def load(run: Run) -> config.State:
    state = config.load_state(run.context.workspace, run.inputs.state_dir)
    planner.selected_apps(state.desired, run.inputs.apps, state.live_path)  # the `apps` input names known apps
    overrides = verify_overrides(state.environments, run.inputs)
    return replace(state, environments=overrides)


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


def credentials(run: Run, state: config.State) -> Credentials:
    ssh = state.environments.ssh
    if run.inputs.ssh_known_hosts.strip():
        pinned = run.context.workspace / ".bluegreen-known-hosts"
        pinned.write_text(run.inputs.ssh_known_hosts.strip() + "\n", encoding="utf-8")
        ssh = replace(ssh, known_hosts=str(pinned))
    environ = {**run.environ}
    if not run.inputs.ssh_private_key.strip() and not ssh.key_file and not environ.get(ssh.key_env or ""):
        raise InputError(
            f"the input `ssh_private_key` is empty: {run.decision.mode} has to log in to the HAProxy hosts",
            hint="pass the deploy key from a secret: `ssh_private_key: ${{ secrets.BLUEGREEN_SSH_KEY }}`",
            location=Location("action inputs", field="ssh_private_key"),
        )
    if run.inputs.ssh_private_key.strip():
        environ[ssh.key_env or "BLUEGREEN_SSH_KEY"] = run.inputs.ssh_private_key
    return Credentials(
        replace(ssh, key_file=None) if run.inputs.ssh_private_key.strip() else ssh, environ, state.environments_path
    )


def outcome_outputs(outcome: Outcome) -> dict[str, str]:
    released = [app.plan.app for app in outcome.apps if app.result == "success" and not outcome.dry_run]
    live = {
        app.plan.app: {"color": app.live.color.value, "version": app.live.version}
        for app in outcome.apps
        if app.live is not None
    }
    return {"result": outcome.result, "apps": json.dumps(released), "live": json.dumps(live)}


def run_link(run: Run) -> str:
    url = run.context.run_url
    return f"[Follow the run]({url})" if url else ""


def no_release(result: str) -> dict[str, str]:
    """The outputs of a run that released nothing."""
    return {"result": result, "apps": "[]", "live": "{}"}
