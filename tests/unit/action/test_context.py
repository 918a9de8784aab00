"""The Action's face: which job an event asks for, inputs checked, workflow commands escaped."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from bluegreen.action import workflow
from bluegreen.action.context import Context, Inputs, decide
from bluegreen.errors import InputError, Location, Problem
from tests import events

SHA = "1" * 40


def context(tmp_path: Path, name: str, event: dict[str, Any], ref: str = "refs/heads/main") -> Context:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    return Context.read(
        {
            "GITHUB_EVENT_NAME": name,
            "GITHUB_EVENT_PATH": str(path),
            "GITHUB_REPOSITORY": "acme/ops",
            "GITHUB_API_URL": "https://ghe.example/api/v3",
            "GITHUB_SERVER_URL": "https://ghe.example",
            "GITHUB_RUN_ID": "77",
            "GITHUB_SHA": SHA,
            "GITHUB_REF": ref,
        }
    )


def inputs(**given: str) -> Inputs:
    return Inputs.read({f"INPUT_{name.upper()}": value for name, value in given.items()})


@pytest.mark.parametrize(
    ("name", "event", "ref", "mode", "expected"),
    [
        ("pull_request", events.pull_request("opened", 7, SHA), "refs/pull/7/merge", "auto", ("plan", 7, False)),
        ("pull_request", events.pull_request("synchronize", 7, SHA), "refs/pull/7/merge", "auto", ("plan", 7, False)),
        (
            "pull_request",
            events.pull_request("opened", 8, SHA, head_repository="mallory/ops"),
            "refs/pull/8/merge",
            "auto",
            ("plan", 8, True),
        ),
        ("pull_request", events.pull_request("closed", 7, SHA), "refs/pull/7/merge", "auto", (None, None, False)),
        ("push", events.push(SHA, "2" * 40), "refs/heads/main", "auto", ("release", None, False)),
        ("push", events.push(SHA, "2" * 40, branch="feature"), "refs/heads/feature", "auto", (None, None, False)),
        ("workflow_dispatch", events.workflow_dispatch("status"), "refs/heads/main", "auto", ("status", None, False)),
        ("workflow_dispatch", events.workflow_dispatch("release"), "refs/heads/main", "auto", ("release", None, False)),
        ("workflow_dispatch", events.workflow_dispatch("plan"), "refs/heads/main", "status", ("status", None, False)),
        ("schedule", {"schedule": "0 * * * *"}, "refs/heads/main", "auto", ("status", None, False)),
        ("schedule", {"schedule": "0 * * * *"}, "refs/heads/main", "plan", ("plan", None, False)),
        ("check_run", {"action": "created"}, "refs/heads/main", "auto", (None, None, False)),
    ],
)
def test_the_event_decides_the_job(
    tmp_path: Path, name: str, event: dict[str, Any], ref: str, mode: str, expected: tuple[object, ...]
) -> None:
    decision = decide(context(tmp_path, name, event, ref), inputs(mode=mode))
    assert (decision.mode, decision.pr, decision.fork) == expected
    assert decision.why


def test_a_pull_request_never_releases(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="only a merge releases"):
        decide(context(tmp_path, "pull_request", events.pull_request("opened", 7, SHA)), inputs(mode="release"))


def test_a_dispatch_with_an_unknown_mode_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="must be plan, release or status"):
        decide(context(tmp_path, "workflow_dispatch", events.workflow_dispatch("destroy")), inputs())


def test_the_context_reads_githubs_variables_and_never_assumes_github_com(tmp_path: Path) -> None:
    found = context(tmp_path, "push", events.push(SHA, "2" * 40))
    assert found.api_url == "https://ghe.example/api/v3"
    assert found.run_url == "https://ghe.example/acme/ops/actions/runs/77"
    assert found.default_branch == "main"


def test_outside_github_actions_the_context_says_so() -> None:
    with pytest.raises(InputError, match="not running in GitHub Actions: GITHUB_EVENT_NAME"):
        Context.read({})


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"mode": "deploy"}, "the input `mode` must be one of auto, plan, release, status"),
        ({"comment": "maybe"}, "the input `comment` must be true or false"),
        ({"verify_window_s": "-1"}, "the input `verify_window_s` must be a number of seconds"),
        ({"verify_window_s": "soon"}, "the input `verify_window_s` must be a number of seconds"),
    ],
)
def test_bad_inputs_are_named(given: dict[str, str], message: str) -> None:
    with pytest.raises(InputError, match=message) as caught:
        inputs(**given)
    assert caught.value.location == Location("action inputs", field=next(iter(given)))


def test_inputs_defaults_and_lists() -> None:
    read = inputs(apps="theoshift, ldc-tools\nother", rollback_on_failure="false", verify_window_s="30")
    assert read.apps == ("theoshift", "ldc-tools", "other")
    assert (read.mode, read.comment, read.commit_status, read.deployments) == ("auto", True, True, False)
    assert (read.rollback_on_failure, read.verify_window_s, read.state_dir) == (False, 30.0, "state")
    assert read.deployment_environment == "production/{app}"


def test_annotations_escape_what_the_user_controls() -> None:
    out = io.StringIO()
    workflow.annotate(out, "error", "bad\n::warning::injected 100%", title="a:b,c", file="state/live.json", line=3)
    assert out.getvalue() == ("::error title=a%3Ab%2Cc,file=state/live.json,line=3::bad%0A::warning::injected 100%25\n")


def test_every_problem_of_an_input_error_is_annotated_on_its_line() -> None:
    out = io.StringIO()
    problems = (
        Problem(Location("state/live.json", 3, "apps.theoshift.live"), "'purple' is not blue or green"),
        Problem(Location("state/live.json", 4, "apps.x"), "unknown app"),
    )
    workflow.annotate_error(out, InputError("two problems", location=problems[0].location, problems=problems))
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("::error title=invalid input,file=state/live.json,line=3::apps.theoshift.live:")
    assert lines[1].startswith("::error title=invalid input,file=state/live.json,line=4::apps.x: unknown app")


def test_outputs_use_a_delimiter_no_value_can_forge(tmp_path: Path) -> None:
    path = tmp_path / "output"
    workflow.write_outputs(str(path), {"report": "line\nreport<<EOF\nx", "result": "success"})
    text = path.read_text().splitlines()
    delimiter = text[0].removeprefix("report<<")
    assert delimiter.startswith("ghadelimiter_")
    assert text[1:4] == ["line", "report<<EOF", "x"]
    assert text[4] == delimiter


@pytest.mark.parametrize(
    ("name", "event", "mode"),
    [
        ("workflow_dispatch", events.workflow_dispatch("release"), "auto"),
        ("push", events.push(SHA, "2" * 40, branch="feature"), "release"),
    ],
)
def test_a_release_runs_only_on_the_default_branch(tmp_path: Path, name: str, event: dict[str, Any], mode: str) -> None:
    with pytest.raises(InputError, match="a release runs only on the default branch 'main'"):
        decide(context(tmp_path, name, event, "refs/heads/feature"), inputs(mode=mode))


# --- every input checked before anything starts ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "field", "message"),
    [
        ({"state_dir": "../x"}, "state_dir", "is not a path inside the repository"),
        ({"state_dir": "/etc"}, "state_dir", "is not a path inside the repository"),
        ({"state_dir": "state/.git"}, "state_dir", "is not a path inside the repository"),
        ({"status_branch": "--force"}, "status_branch", "is not a branch name"),
        ({"status_branch": "a..b"}, "status_branch", "is not a branch name"),
        ({"verify_window_s": "1_0"}, "verify_window_s", "must be a number of seconds"),
        ({"verify_window_s": "1e3"}, "verify_window_s", "must be a number of seconds"),
        ({"verify_window_s": "nan"}, "verify_window_s", "must be a number of seconds"),
        ({"verify_window_s": "3601"}, "verify_window_s", "must be a number of seconds"),
        ({"apps": "theoshift, ../etc"}, "apps", "cannot be in live.json"),
        ({"plan_status_context": "a\u0007b"}, "plan_status_context", "one line"),
        ({"deployment_environment": "x" * 300}, "deployment_environment", "one line"),
    ],
)
def test_each_input_is_checked_when_it_is_read(given: dict[str, str], field: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as caught:
        inputs(**given)
    assert caught.value.location == Location("action inputs", field=field)


@pytest.mark.parametrize(("value", "seconds"), [("0", 0.0), ("30", 30.0), ("2.5", 2.5), ("3600", 3600.0)])
def test_plain_decimal_seconds(value: str, seconds: float) -> None:
    assert inputs(verify_window_s=value).verify_window_s == seconds


def test_secrets_never_show_in_a_repr_or_a_message() -> None:
    read = inputs(github_token="ghs_secret_token", ssh_private_key="-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n")
    shown = f"{read!r} {read} {read.github_token} {read.ssh_private_key!r}"
    assert "ghs_secret_token" not in shown
    assert "PRIVATE" not in shown
    assert "AAAA" not in shown
    assert read.github_token.reveal() == "ghs_secret_token"
    assert not inputs().ssh_private_key  # empty


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda e: e.update(repository="acme/ops"), "repository"),
        (lambda e: e.update(pull_request="7"), "pull_request"),
        (lambda e: e["pull_request"].update(number="7"), "pull_request.number"),
        (lambda e: e["pull_request"].update(number=0), "pull_request.number"),
        (lambda e: e["pull_request"]["head"].update(sha="main"), "pull_request.head.sha"),
        (lambda e: e["pull_request"]["base"].update(repo="acme/ops"), "pull_request.base.repo"),
        (lambda e: e["repository"].update(default_branch="main\n"), "repository.default_branch"),
    ],
)
def test_an_event_of_the_wrong_shape_is_located(tmp_path: Path, change: Any, field: str) -> None:
    event = events.pull_request("opened", 7, SHA)
    change(event)
    with pytest.raises(InputError) as caught:
        context(tmp_path, "pull_request", event)
    assert caught.value.location is not None
    assert (caught.value.location.path, caught.value.location.field) == ("GITHUB_EVENT_PATH", field)


def test_a_dispatch_whose_inputs_are_a_string(tmp_path: Path) -> None:
    event = events.workflow_dispatch("plan")
    event["inputs"] = "release"
    with pytest.raises(InputError, match="expected an object or null") as caught:
        context(tmp_path, "workflow_dispatch", event)
    assert caught.value.location is not None
    assert (caught.value.location.path, caught.value.location.field) == ("GITHUB_EVENT_PATH", "inputs")


@pytest.mark.parametrize("missing", ["head", "base"])
def test_a_pull_request_whose_repository_is_not_named_counts_as_a_fork(tmp_path: Path, missing: str) -> None:
    event = events.pull_request("opened", 7, SHA)
    event["pull_request"][missing]["repo"] = None  # a deleted fork, or a payload trimmed on the way
    assert decide(context(tmp_path, "pull_request", event), inputs()).fork
    del event["pull_request"][missing]["repo"]
    assert decide(context(tmp_path, "pull_request", event), inputs()).fork


def test_repository_names_compare_without_case(tmp_path: Path) -> None:
    event = events.pull_request("opened", 7, SHA, head_repository="Acme/Ops")
    assert not decide(context(tmp_path, "pull_request", event), inputs()).fork


def test_a_pull_request_decision_carries_its_base(tmp_path: Path) -> None:
    event = events.pull_request("opened", 7, SHA)
    event["pull_request"]["base"]["sha"] = "2" * 40
    decision = decide(context(tmp_path, "pull_request", event), inputs())
    assert (decision.pr_head_sha, decision.base_sha) == (SHA, "2" * 40)


def test_pull_request_target_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not run on pull_request_target") as caught:
        decide(context(tmp_path, "pull_request_target", events.pull_request("opened", 7, SHA)), inputs())
    assert caught.value.location == Location("GITHUB_EVENT_NAME")


def test_a_pull_request_number_written_as_a_float_is_refused(tmp_path: Path) -> None:
    event = events.pull_request("opened", 7, SHA)
    event["pull_request"]["number"] = 7.0  # JSON Schema calls it an integer
    with pytest.raises(InputError, match="is not a whole number") as caught:
        decide(context(tmp_path, "pull_request", event), inputs())
    assert caught.value.location == Location("GITHUB_EVENT_PATH", field="pull_request.number")
