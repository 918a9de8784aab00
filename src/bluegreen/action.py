"""The Action's face: GitHub's environment and event in, what to do out.

Reads only what GitHub provides (GITHUB_*, INPUT_*, the event file); `action_jobs` does the work.
    pull_request (opened, synchronize, reopened)  -> plan: a sticky comment and a commit status
    push to the default branch                      -> release (a revert PR is a rollback)
    workflow_dispatch                               -> plan, release or status, as asked
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .errors import InputError, Location

Mode = Literal["plan", "release", "status"]
MODES = ("auto", "plan", "release", "status")
JOB_MODES: dict[str, Mode] = {"plan": "plan", "release": "release", "status": "status"}
INPUTS = Location("action inputs")


@dataclass(frozen=True)
class Inputs:
    github_token: str
    ssh_private_key: str
    ssh_known_hosts: str
    state_dir: str
    mode: str
    apps: tuple[str, ...]
    verify_window_s: float | None
    rollback_on_failure: bool | None
    comment: bool
    commit_status: bool
    status_branch: str
    deployments: bool
    deployment_environment: str
    require_approval: bool
    plan_status_context: str

    @classmethod
    def read(cls, environ: Mapping[str, str]) -> Inputs:
        def text(name: str, default: str = "") -> str:
            return environ.get(f"INPUT_{name.upper()}", "").strip() or default

        mode = text("mode", "auto")
        if mode not in MODES:
            raise _input_error("mode", f"must be one of {', '.join(MODES)}, not {mode!r}")
        return cls(
            github_token=text("github_token"),
            ssh_private_key=environ.get("INPUT_SSH_PRIVATE_KEY", ""),
            ssh_known_hosts=environ.get("INPUT_SSH_KNOWN_HOSTS", ""),
            state_dir=text("state_dir", "state"),
            mode=mode,
            apps=tuple(app.strip() for app in text("apps").replace("\n", ",").split(",") if app.strip()),
            verify_window_s=_number(text("verify_window_s"), "verify_window_s"),
            rollback_on_failure=_flag(text("rollback_on_failure"), "rollback_on_failure", None),
            comment=bool(_flag(text("comment"), "comment", True)),
            commit_status=bool(_flag(text("commit_status"), "commit_status", True)),
            status_branch=text("status_branch"),
            deployments=bool(_flag(text("deployments"), "deployments", False)),
            deployment_environment=text("deployment_environment", "production/{app}"),
            require_approval=bool(_flag(text("require_approval"), "require_approval", False)),
            plan_status_context=text("plan_status_context", "bluegreen/plan"),
        )


def _input_error(name: str, problem: str) -> InputError:
    return InputError(
        f"the input `{name}` {problem}",
        hint="see the inputs in action.yml",
        location=Location("action inputs", field=name),
    )


def _flag(value: str, name: str, default: bool | None) -> bool | None:
    if not value:
        return default
    if value.lower() in ("true", "yes", "on", "1"):
        return True
    if value.lower() in ("false", "no", "off", "0"):
        return False
    raise _input_error(name, f"must be true or false, not {value!r}")


def _number(value: str, name: str) -> float | None:
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0 <= number <= 3600:
        raise _input_error(name, f"must be a number of seconds from 0 to 3600, not {value!r}")
    return number


@dataclass(frozen=True)
class Context:
    """What GitHub tells a step about the run."""

    event_name: str
    event: Mapping[str, Any]
    repository: str
    sha: str
    ref: str
    actor: str
    api_url: str
    server_url: str
    run_id: str
    workspace: Path
    output_file: str | None
    summary_file: str | None

    @classmethod
    def read(cls, environ: Mapping[str, str]) -> Context:
        missing = [
            name for name in ("GITHUB_EVENT_NAME", "GITHUB_REPOSITORY", "GITHUB_API_URL") if not environ.get(name)
        ]
        if missing:
            raise InputError(
                f"not running in GitHub Actions: {', '.join(missing)} not set",
                hint="run `bluegreen plan|release|status` on the command line instead",
            )
        return cls(
            event_name=environ["GITHUB_EVENT_NAME"],
            event=_event(environ.get("GITHUB_EVENT_PATH", "")),
            repository=environ["GITHUB_REPOSITORY"],
            sha=environ.get("GITHUB_SHA", ""),
            ref=environ.get("GITHUB_REF", ""),
            actor=environ.get("GITHUB_ACTOR", ""),
            api_url=environ["GITHUB_API_URL"].rstrip("/"),
            server_url=environ.get("GITHUB_SERVER_URL", "").rstrip("/"),
            run_id=environ.get("GITHUB_RUN_ID", ""),
            workspace=Path(environ.get("GITHUB_WORKSPACE") or "."),
            output_file=environ.get("GITHUB_OUTPUT"),
            summary_file=environ.get("GITHUB_STEP_SUMMARY"),
        )

    @property
    def run_url(self) -> str | None:
        if not (self.server_url and self.run_id):
            return None
        return f"{self.server_url}/{self.repository}/actions/runs/{self.run_id}"

    @property
    def default_branch(self) -> str:
        return str(self.event.get("repository", {}).get("default_branch") or "main")


def _event(path: str) -> Mapping[str, Any]:
    try:
        event = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the event file {path!r}: {exc}", location=Location("GITHUB_EVENT_PATH")) from exc
    if not isinstance(event, dict):
        raise InputError("the event file does not hold a JSON object", location=Location("GITHUB_EVENT_PATH"))
    return event


@dataclass(frozen=True)
class Decision:
    mode: Mode | None  # None: nothing to do for this event
    why: str
    pr: int | None = None
    pr_head_sha: str | None = None
    fork: bool = False


PLAN_ACTIONS = ("opened", "synchronize", "reopened", "edited", "ready_for_review")


def decide(context: Context, inputs: Inputs) -> Decision:
    """Which job this run does. Pure: the event and the inputs decide."""
    name = context.event_name
    if name in ("pull_request", "pull_request_target"):
        return _pull_request(context.event, inputs)
    decision = _other_event(context, inputs)
    branch = context.ref.removeprefix("refs/heads/")
    if decision.mode == "release" and branch != context.default_branch:
        raise _input_error(
            "mode",
            f"asks for a release on {context.ref or 'no ref'}: a release runs only on the default branch "
            f"{context.default_branch!r}, where merging approved it",
        )
    return decision


def _other_event(context: Context, inputs: Inputs) -> Decision:
    event, name = context.event, context.event_name
    forced = JOB_MODES.get(inputs.mode)
    if forced is not None:
        return Decision(forced, f"the input mode is {forced}")
    if name == "push":
        branch = context.ref.removeprefix("refs/heads/")
        if branch != context.default_branch:
            return Decision(None, f"a push to {branch!r}, not to the default branch {context.default_branch!r}")
        return Decision("release", f"a push to the default branch {branch!r}")
    if name == "workflow_dispatch":
        asked = str((event.get("inputs") or {}).get("mode") or "plan")
        mode = JOB_MODES.get(asked)
        if mode is None:
            raise _input_error("mode", f"(workflow_dispatch) must be plan, release or status, not {asked!r}")
        return Decision(mode, f"workflow_dispatch asked for {mode}")
    return Decision(None, f"the event {name!r} is not one bluegreen acts on")


def _pull_request(event: Mapping[str, Any], inputs: Inputs) -> Decision:
    pull = event.get("pull_request") or {}
    number, action = pull.get("number") or event.get("number"), event.get("action", "")
    head, base = pull.get("head") or {}, pull.get("base") or {}
    fork = (head.get("repo") or {}).get("full_name") != (base.get("repo") or {}).get("full_name")
    if not isinstance(number, int):
        raise InputError("the pull_request event names no pull request number", location=Location("GITHUB_EVENT_PATH"))
    if action not in PLAN_ACTIONS:
        return Decision(None, f"pull_request {action!r}: merging is released by the push to the default branch")
    if inputs.mode not in ("auto", "plan"):
        raise _input_error("mode", f"is {inputs.mode} on a pull_request: only a merge releases")
    return Decision("plan", f"pull request #{number} {action}", number, head.get("sha"), fork)
