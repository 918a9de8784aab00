"""The Action's plan on a pull request: the sticky comment and the commit status; a fork gets static checks."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from . import config, report
from .action_run import Run, credentials, load, no_release, outcome_outputs, verify_overrides
from .errors import RESULT_EXIT_CODES, InputError
from .github_api import CommitState
from .jobs import plan_job
from .model import Trigger
from .release import Request


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
        sha = run.decision.pr_head_sha
        verdict: CommitState = "success" if ok else "failure"
        context, url = run.inputs.plan_status_context, run.context.run_url
        run.best_effort("the commit status", lambda: run.github.set_status(sha, verdict, description, context, url))
    markdown = report.outcome_markdown(outcome) + (f"\n> ℹ️ {note}\n" if note else "")
    return run.finish(markdown, outcome_outputs(outcome), RESULT_EXIT_CODES[outcome.result])


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
    environments = verify_overrides(
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
    return replace(state, desired=desired, environments=verify_overrides(environments, run.inputs)), "; ".join(
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
    return run.finish(markdown, no_release("noop"), 0)


def _pr_trigger(run: Run) -> Trigger:
    pull = run.context.event.get("pull_request") or {}
    author = (pull.get("user") or {}).get("login")
    return Trigger(actor=author, pr=run.decision.pr, pr_url=pull.get("html_url"), commit=run.decision.pr_head_sha)
