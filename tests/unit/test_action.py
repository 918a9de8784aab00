"""The Action's face: which job an event asks for, inputs checked, workflow commands escaped."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from bluegreen import workflow
from bluegreen.action import Context, Inputs, decide
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
        ("schedule", {"schedule": "0 * * * *"}, "refs/heads/main", "auto", (None, None, False)),
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
