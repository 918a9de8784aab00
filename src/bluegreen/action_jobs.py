"""What the Action does for each decision: plan on a PR, release on a merge, status on demand.

Every path ends the same way: the report goes to the PR's sticky comment (when there is a PR and commenting is
on), the job summary and the step outputs; then the exit code says how it went.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TextIO

from . import config, gitrepo, recording, report, workflow
from .action import Context, Decision, Inputs, decide
from .cli import EXIT_CODES
from .errors import BluegreenError, InputError, Location
from .github_api import DeploymentState, GitHub, PullInfo
from .jobs import plan_job, release_job, status_job, status_saver
from .model import Environments, Outcome, Plan, Trigger
from .release import Request
from .report_status import observed_live
from .ssh import Credentials, run_holder

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
            self.github.upsert_comment(self.pr, MARKER, markdown)

    def finish(self, markdown: str, outputs: dict[str, str], code: int) -> int:
        self.comment(markdown)
        workflow.append_summary(self.context.summary_file, markdown)
        workflow.write_outputs(self.context.output_file, {**outputs, "report": markdown})
        return code


def load(run: Run) -> config.State:
    state = config.load_state(run.context.workspace, run.inputs.state_dir)
    overrides = _verify_overrides(state.environments, run.inputs)
    return replace(state, environments=overrides)


def _verify_overrides(environments: Environments, inputs: Inputs) -> Environments:
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


# --- plan -----------------------------------------------------------------------------------------------------


def plan(run: Run) -> int:
    state = load(run)
    if run.decision.fork:
        return _static_plan(run, state)
    state, note = _trusted(run, state)
    request = Request(state.desired, state.environments, state.status, run.inputs.apps, _pr_trigger(run))
    outcome = asyncio.run(plan_job(request, credentials(run, state), run.progress))
    if run.decision.pr_head_sha:
        ok = outcome.result != "refused"
        description = "the release would go ahead" if ok else "the release would be refused: see the PR comment"
        run.github.set_status(
            run.decision.pr_head_sha,
            "success" if ok else "failure",
            description,
            run.inputs.plan_status_context,
            run.context.run_url,
        )
    markdown = report.outcome_markdown(outcome) + (f"\n> ℹ️ {note}\n" if note else "")
    return run.finish(markdown, _outputs(outcome), EXIT_CODES[outcome.result])


def _trusted(run: Run, state: config.State) -> tuple[config.State, str | None]:
    """A PR proposes what should be LIVE. Where the deploy key connects and which host keys it trusts
    (environments.json and the pinned known_hosts) come from the base branch, which was reviewed and merged:
    the PR's own copies are only checked against the schema until they are merged themselves."""
    base = ((run.context.event.get("pull_request") or {}).get("base") or {}).get("sha")
    if not isinstance(base, str):
        return state, None
    workspace = run.context.workspace
    text = run.github.file_text(state.environments_path, base)
    if text is None:
        return state, f"{state.environments_path} is new in this PR: the plan used it as proposed"
    environments = config.parse_environments(text, f"{state.environments_path} (base branch)", workspace)
    pinned_path = str(Path(environments.ssh.known_hosts).relative_to(workspace))
    pinned = run.github.file_text(pinned_path, base)
    if pinned is None:
        raise InputError(f"{pinned_path} does not exist on the base branch", hint="commit the pinned host keys first")
    trusted_pins = workspace / ".bluegreen-known-hosts-base"
    trusted_pins.write_text(pinned, encoding="utf-8")
    environments = _verify_overrides(
        replace(environments, ssh=replace(environments.ssh, known_hosts=str(trusted_pins))), run.inputs
    )
    new = [name for name in state.desired.apps if name not in environments.apps]
    desired = replace(state.desired, apps={n: a for n, a in state.desired.apps.items() if n not in new})
    notes = [f"new in this PR, planned once merged: {', '.join(new)}"] if new else []
    proposed = replace(state.environments, ssh=replace(state.environments.ssh, known_hosts=str(trusted_pins)))
    if environments != proposed or pinned != _read(state.environments.ssh.known_hosts):
        notes.insert(
            0,
            f"this PR changes {state.environments_path} or the pinned host keys: the plan used the base "
            "branch's copies (a PR cannot choose where the deploy key connects); the release uses the merged ones",
        )
    return replace(state, desired=desired, environments=_verify_overrides(environments, run.inputs)), "; ".join(
        notes
    ) or None


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError:
        return None


def _static_plan(run: Run, state: config.State) -> int:
    """A fork's PR has no secrets and a read-only token: the files are valid, nothing more can be said."""
    apps = ", ".join(f"{name} → {app.live.title}" for name, app in state.desired.apps.items())
    markdown = (
        "## bluegreen plan: static checks only\n\n"
        f"The state files are valid ({apps}). This pull request comes from a fork, so the workflow has no SSH key "
        "and a read-only token: HAProxy and the app servers were not asked, and no comment or status was set. "
        "A maintainer can run the plan with `workflow_dispatch` (mode `plan`) before merging.\n"
    )
    run.pr = None  # a read-only token cannot comment
    return run.finish(markdown, {"result": "noop", "apps": "[]", "live": "{}"}, 0)


def _pr_trigger(run: Run) -> Trigger:
    pull = run.context.event.get("pull_request") or {}
    author = (pull.get("user") or {}).get("login")
    return Trigger(actor=author, pr=run.decision.pr, pr_url=pull.get("html_url"), commit=run.decision.pr_head_sha)


# --- release --------------------------------------------------------------------------------------------------


def release(run: Run) -> int:
    state = load(run)
    pull = run.github.merged_pull_for_commit(run.context.sha)
    run.pr = pull.number if pull else None
    trigger = replace(_merge_trigger(run, pull), also_prs=_skipped_prs(run, state))
    if run.inputs.require_approval:
        approved, why = run.github.approved_by_other(pull.number) if pull else (False, "a direct push has no review")
        if not approved:
            markdown = (
                f"## ❌ bluegreen release refused\n\nAn approving review is required: {why}. Nothing was changed.\n"
            )
            return run.finish(markdown, {"result": "refused", "apps": "[]", "live": "{}"}, EXIT_CODES["refused"])
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
    return run.finish(markdown, _outputs(outcome), EXIT_CODES[outcome.result])


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
    run.comment(f"## ⏳ bluegreen is switching: {switches}\n\n{_run_link(run)}\n")
    if not run.inputs.deployments:
        return
    for app in plan.switches:
        environment = run.inputs.deployment_environment.replace("{app}", app.app)
        deployments[app.app] = run.github.create_deployment(run.context.sha, environment, f"bluegreen {app.kind}")
        run.github.deployment_status(deployments[app.app], "in_progress", "switching", log_url=run.context.run_url)


def _deployment_results(run: Run, environments: Environments, outcome: Outcome, deployments: dict[str, int]) -> None:
    for app in outcome.apps:
        if app.plan.app in deployments:
            state: DeploymentState = "success" if app.result == "success" else "failure"
            run.github.deployment_status(
                deployments[app.plan.app],
                state,
                (app.reason or app.result)[:140],
                environment_url=environments.apps[app.plan.app].public.url,
                log_url=run.context.run_url,
            )


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


# --- status ---------------------------------------------------------------------------------------------------


def status(run: Run) -> int:
    state = load(run)
    observation = asyncio.run(status_job(state, run.inputs.apps, credentials(run, state)))
    markdown = report.status_markdown(observation, state.environments, state.status)
    live = {}
    for name, seen in observation.apps.items():
        color = observed_live(seen)
        live[name] = {"color": color.value, "version": seen.colors[color].version} if color else None
    return run.finish(markdown, {"result": "noop", "apps": "[]", "live": json.dumps(live)}, 0)


def _outputs(outcome: Outcome) -> dict[str, str]:
    released = [app.plan.app for app in outcome.apps if app.result == "success" and not outcome.dry_run]
    live = {
        app.plan.app: {"color": app.live.color.value, "version": app.live.version}
        for app in outcome.apps
        if app.live is not None
    }
    return {"result": outcome.result, "apps": json.dumps(released), "live": json.dumps(live)}


def _run_link(run: Run) -> str:
    url = run.context.run_url
    return f"[Follow the run]({url})" if url else ""


# --- the entry point ------------------------------------------------------------------------------------------

JOBS = {"plan": plan, "release": release, "status": status}


def run_action(environ: dict[str, str], out: TextIO) -> int:
    """`python -m bluegreen action`, as GitHub runs the container: every error ends in a report, not a traceback."""
    # The key and the token come from `secrets.*` and `github.token`, which the runner masks itself; they are
    # never printed here (not even in `::add-mask::`, which would put them in any log not read by a runner).
    context, inputs = Context.read(environ), Inputs.read(environ)
    decision = decide(context, inputs)
    if decision.mode is None:
        print(f"bluegreen: nothing to do: {decision.why}", file=out)
        workflow.write_outputs(context.output_file, {"result": "noop", "apps": "[]", "live": "{}", "report": ""})
        return 0
    print(f"bluegreen: {decision.mode}, because of {decision.why}", file=out, flush=True)
    gitrepo.trust(context.workspace)
    run = Run(
        context,
        inputs,
        decision,
        GitHub(inputs.github_token, context.api_url, context.repository),
        out,
        environ,
        pr=decision.pr,
    )
    try:
        return JOBS[decision.mode](run)
    except BluegreenError as error:
        return _failed(run, error)


def _failed(run: Run, error: BluegreenError) -> int:
    workflow.annotate_error(run.out, error)
    where = f"`{error.location}`: " if error.location else ""
    hint = f"\n\n**What to do:** {error.hint}" if error.hint else ""
    markdown = f"## ❌ bluegreen {run.decision.mode} failed\n\n**{error.title}**: {where}{error.message}{hint}\n"
    try:
        if run.decision.mode == "plan" and run.decision.pr_head_sha and not run.decision.fork:
            run.github.set_status(
                run.decision.pr_head_sha, "error", error.title, run.inputs.plan_status_context, run.context.run_url
            )
        return run.finish(markdown, {"result": "failed", "apps": "[]", "live": "{}"}, error.exit_code)
    except BluegreenError as second:  # GitHub itself failing must not hide the first error
        workflow.annotate_error(run.out, second)
        workflow.append_summary(run.context.summary_file, markdown)
        return error.exit_code
