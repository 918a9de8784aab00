"""The Action's face: GitHub's environment and event in, what to do out.

Reads only what GitHub provides (GITHUB_*, INPUT_*, the event file), and checks all of it before anything
starts: an input or an event field of the wrong shape is an InputError that names it. action/jobs.py does the work.
    pull_request (opened, synchronize, reopened)  -> plan: a sticky comment and a commit status
    push to the default branch                      -> release (a revert PR is a rollback)
    workflow_dispatch                               -> plan, release or status, as asked
    schedule                                        -> status, which keeps the drift issue (action/drift.py)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from bluegreen import config
from bluegreen.adapters.git import full_sha
from bluegreen.core import gitrefs
from bluegreen.errors import InputError, Location

Mode = Literal["plan", "release", "status"]
MODES = ("auto", "plan", "release", "status")
JOB_MODES: dict[str, Mode] = {"plan": "plan", "release": "release", "status": "status"}
EVENT = "GITHUB_EVENT_PATH"
EVENT_LIMIT = 25 * 1024 * 1024  # GitHub's own limit for a webhook payload
_SECONDS = re.compile(r"(?:0|[1-9][0-9]{0,3})(?:\.[0-9]{1,3})?")
_APP = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")
_LINE = re.compile(r"[^\x00-\x1f\x7f]{1,255}")
_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")


class Secret:
    """A secret input (the token, the deploy key): neither `repr` nor `str` shows it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value.strip())

    def __repr__(self) -> str:
        return "Secret(***)" if self else "Secret(empty)"

    __str__ = __repr__


@dataclass(frozen=True)
class Inputs:
    github_token: Secret
    ssh_private_key: Secret
    ssh_known_hosts: Secret
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
    rollback_pr: bool = True  # after a switch back, a pull request that puts live.json back (action/rollback_pr.py)
    drift_issue: bool = True  # a status keeps the drift issue (action/drift.py)

    @classmethod
    def read(cls, environ: Mapping[str, str]) -> Inputs:
        def text(name: str, default: str = "") -> str:
            return environ.get(f"INPUT_{name.upper()}", "").strip() or default

        return cls(
            github_token=Secret(text("github_token")),
            ssh_private_key=Secret(environ.get("INPUT_SSH_PRIVATE_KEY", "")),
            ssh_known_hosts=Secret(environ.get("INPUT_SSH_KNOWN_HOSTS", "")),
            state_dir=_state_dir(text("state_dir", "state")),
            mode=_choice(text("mode", "auto"), "mode", MODES),
            apps=_apps(text("apps")),
            verify_window_s=_seconds(text("verify_window_s"), "verify_window_s"),
            rollback_on_failure=_flag(text("rollback_on_failure"), "rollback_on_failure", None),
            comment=bool(_flag(text("comment"), "comment", True)),
            commit_status=bool(_flag(text("commit_status"), "commit_status", True)),
            status_branch=_branch(text("status_branch")),
            deployments=bool(_flag(text("deployments"), "deployments", False)),
            deployment_environment=_line(text("deployment_environment", "production/{app}"), "deployment_environment"),
            require_approval=bool(_flag(text("require_approval"), "require_approval", False)),
            plan_status_context=_line(text("plan_status_context", "bluegreen/plan"), "plan_status_context"),
            rollback_pr=bool(_flag(text("rollback_pr"), "rollback_pr", True)),
            drift_issue=bool(_flag(text("drift_issue"), "drift_issue", True)),
        )


def _input_error(name: str, problem: str, hint: str = "see the inputs in action.yml") -> InputError:
    return InputError(f"the input `{name}` {problem}", hint=hint, location=Location("action inputs", field=name))


def _shown(value: str) -> str:
    return repr(value if len(value) <= 60 else value[:57] + "...")


def _choice(value: str, name: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise _input_error(name, f"must be one of {', '.join(choices)}, not {_shown(value)}")
    return value


def _state_dir(value: str) -> str:
    try:
        config.state_paths(value)
    except InputError as error:
        raise _input_error("state_dir", error.message.removeprefix("the state folder "), error.hint) from None
    return value


def _apps(value: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(app.strip() for app in value.replace("\n", ",").split(",") if app.strip()))
    wrong = next((name for name in names if not _APP.fullmatch(name)), None)
    if wrong is not None or len(names) > 100:
        problem = f"names an app {_shown(wrong)} that cannot be in live.json" if wrong else "names too many apps"
        raise _input_error("apps", problem, "list app names from live.json, separated by commas")
    return names


def _flag(value: str, name: str, default: bool | None) -> bool | None:
    if not value:
        return default
    if value.lower() in ("true", "yes", "on", "1"):
        return True
    if value.lower() in ("false", "no", "off", "0"):
        return False
    raise _input_error(name, f"must be true or false, not {_shown(value)}")


def _seconds(value: str, name: str) -> float | None:
    """Plain decimal seconds: float() would take `1_0` as 10, `1e3`, `inf` and `nan`."""
    if not value:
        return None
    if not _SECONDS.fullmatch(value) or float(value) > 3600:
        raise _input_error(name, f"must be a number of seconds from 0 to 3600 (like 30 or 2.5), not {_shown(value)}")
    return float(value)


def _branch(value: str) -> str:
    return gitrefs.branch_name(value, Location("action inputs", field="status_branch")) if value else ""


def _line(value: str, name: str) -> str:
    if not _LINE.fullmatch(value):
        raise _input_error(name, "must be one line of at most 255 characters, without control characters")
    return value


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
        repository = environ["GITHUB_REPOSITORY"]
        if not _REPOSITORY.fullmatch(repository):
            raise InputError(f"GITHUB_REPOSITORY {_shown(repository)} is not owner/name", location=Location(repository))
        return cls(
            event_name=environ["GITHUB_EVENT_NAME"],
            event=read_event(environ.get(EVENT, "")),
            repository=repository,
            sha=_sha(environ.get("GITHUB_SHA", "")),
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
        if not (self.server_url and self.run_id.isdigit()):
            return None
        return f"{self.server_url}/{self.repository}/actions/runs/{self.run_id}"

    @property
    def default_branch(self) -> str:
        branch = (self.event.get("repository") or {}).get("default_branch")
        return str(branch) if branch else "main"


def _sha(value: str) -> str:
    if value and full_sha(value) is None:
        raise InputError(f"GITHUB_SHA {_shown(value)} is not a full commit sha", location=Location("GITHUB_SHA"))
    return value


def read_event(path: str) -> Mapping[str, Any]:
    """The event file, checked against the shapes bluegreen reads (schemas/event.schema.json)."""
    try:
        with Path(path).open("rb") as handle:
            raw = handle.read(EVENT_LIMIT + 1)
    except OSError as exc:
        raise InputError(f"cannot read the event file: {exc.strerror}", location=Location(EVENT)) from exc
    if len(raw) > EVENT_LIMIT:
        raise InputError("the event file is larger than GitHub's 25 MiB", location=Location(EVENT))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("the event file is not UTF-8 JSON", location=Location(EVENT)) from None
    document = config.checked(text, EVENT, "event")
    if not isinstance(document.value, dict):
        raise InputError("the event file does not hold a JSON object", location=Location(EVENT))
    return document.value


@dataclass(frozen=True)
class Decision:
    mode: Mode | None  # None: nothing to do for this event
    why: str
    pr: int | None = None
    pr_head_sha: str | None = None
    fork: bool = False
    base_sha: str | None = None  # the pull request's base commit, as the event names it


PLAN_ACTIONS = ("opened", "synchronize", "reopened", "edited", "ready_for_review")


def decide(context: Context, inputs: Inputs) -> Decision:
    """Which job this run does. Pure: the event and the inputs decide."""
    name = context.event_name
    if name == "pull_request_target":
        raise InputError(
            "bluegreen does not run on pull_request_target: that event checks out the base branch, not the pull "
            "request, and runs with a writable token and the secrets for a fork's code",
            hint="start the plan with `on: pull_request` (see .github/workflows/example-consumer.yml)",
            location=Location("GITHUB_EVENT_NAME"),
        )
    if name == "pull_request":
        return _pull_request(context.event, inputs)
    decision = _other_event(context, inputs)
    branch = context.ref.removeprefix("refs/heads/")
    if decision.mode == "release" and branch != context.default_branch:
        raise _input_error(
            "mode",
            f"asks for a release on {context.ref or 'no ref'}: a release runs only on the default branch "
            f"{context.default_branch!r}, where merging approved it",
        )
    if decision.mode == "release" and not context.sha:
        raise InputError(
            "GITHUB_SHA is not set: a release needs the commit it releases", location=Location("GITHUB_SHA")
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
            raise _input_error("mode", f"(workflow_dispatch) must be plan, release or status, not {_shown(asked)}")
        return Decision(mode, f"workflow_dispatch asked for {mode}")
    if name == "schedule":  # GitHub runs it on the default branch's last commit
        return Decision("status", f"the schedule {_shown(str(event.get('schedule') or ''))}")
    return Decision(None, f"the event {name!r} is not one bluegreen acts on")


def _pull_request(event: Mapping[str, Any], inputs: Inputs) -> Decision:
    pull = event.get("pull_request")
    if not isinstance(pull, dict):
        raise InputError("the pull_request event holds no pull request", location=Location(EVENT, field="pull_request"))
    number, action = pull["number"], event.get("action", "")
    if type(number) is not int:  # JSON Schema calls 12.0 an integer too
        raise InputError(
            f"the pull request number {number!r} is not a whole number",
            location=Location(EVENT, field="pull_request.number"),
        )
    if action not in PLAN_ACTIONS:
        return Decision(None, f"pull_request {action!r}: merging is released by the push to the default branch")
    if inputs.mode not in ("auto", "plan"):
        raise _input_error("mode", f"is {inputs.mode} on a pull_request: only a merge releases")
    why = f"pull request #{number} {action}"
    return Decision("plan", why, number, pull["head"]["sha"], is_fork(pull), pull["base"]["sha"])


def is_fork(pull: Mapping[str, Any]) -> bool:
    """Whether the pull request comes from another repository. Fails closed: a pull request whose head or base
    repository GitHub does not name (a deleted fork, a trimmed payload) counts as a fork."""
    head = (pull["head"].get("repo") or {}).get("full_name")
    base = (pull["base"].get("repo") or {}).get("full_name")
    return not (isinstance(head, str) and isinstance(base, str) and head.lower() == base.lower())
