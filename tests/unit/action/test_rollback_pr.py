"""The rollback record's bookkeeping in the Action: its input, and a merged record told apart from other PRs."""

from __future__ import annotations

import io
from types import SimpleNamespace
from typing import Any, cast

import pytest

from bluegreen.action import rollback_pr
from bluegreen.action.context import Inputs
from bluegreen.action.rollback_pr import branch_of, marker, merged_record
from bluegreen.adapters.github import PullInfo
from bluegreen.errors import InputError
from bluegreen.model import Color, DesiredApp, Outcome, Result, Trigger
from tests.unit.report.test_outcome import done, plan

RECORD_BRANCH = "bluegreen/rollback/theoshift"


def pull(
    author: str, body: str, head_ref: str = "bluegreen/rollback/theoshift", head_repo: str = "acme/ops"
) -> PullInfo:
    return PullInfo(15, "t", body, author, "https://github.example/acme/ops/pull/15", True, "a" * 40, "b" * 40,
                    head_repo, "acme/ops", "main", head_ref)  # fmt: skip


@pytest.mark.parametrize(
    ("given", "expected"), [({}, True), ({"INPUT_ROLLBACK_PR": "false"}, False), ({"INPUT_ROLLBACK_PR": "on"}, True)]
)
def test_the_input_is_on_unless_turned_off(given: dict[str, str], expected: bool) -> None:
    assert Inputs.read(given).rollback_pr is expected


def test_a_wrong_input_is_named() -> None:
    with pytest.raises(InputError, match="rollback_pr"):
        Inputs.read({"INPUT_ROLLBACK_PR": "maybe"})


NOOP = Outcome((done(plan(), "noop"),), Trigger(asked_for=("theoshift",)))
APPS = {"theoshift": DesiredApp("theoshift", Color.GREEN)}


def test_a_merged_record_is_the_bots_with_its_marker() -> None:
    body = f"{marker('theoshift')}\n## ↩️ Rollback record"
    assert "rollback record of theoshift" in (merged_record(pull("github-actions[bot]", body), NOOP, APPS) or "")
    assert (
        merged_record(pull("mallory", body), NOOP, APPS) is None
    )  # a person's PR that copies the marker records nothing
    assert merged_record(pull("github-actions[bot]", "Release 12"), NOOP, APPS) is None
    assert merged_record(None, NOOP, APPS) is None
    # another app or bot that writes the marker (a workflow of its own, a dependency bot) is not the Action's token
    assert merged_record(pull("some-app[bot]", body), NOOP, APPS) is None


@pytest.mark.parametrize("result", ["success", "rolled_back", "failed", "refused"])
def test_a_merged_record_whose_release_switched_says_no_such_thing(result: str) -> None:
    """ "Nothing switched" is said only of a release that switched nothing for the record's app."""
    body = f"{marker('theoshift')}\n## ↩️ Rollback record"
    outcome = Outcome((done(plan(), cast(Result, result)),))
    assert merged_record(pull("github-actions[bot]", body), outcome, APPS) is None
    assert merged_record(pull("github-actions[bot]", body), Outcome(()), APPS) is None  # the app is not in the release


@pytest.mark.parametrize("app", ["Theoshift", "../theoshift", "theo shift", "-x", "a" * 64])
def test_a_marker_that_names_no_app_of_live_json_records_nothing(app: str) -> None:
    body = f"<!-- bluegreen:rollback:{app} -->\n## ↩️ Rollback record"
    outcome = Outcome((done(plan(app), "noop"),))
    assert merged_record(pull("github-actions[bot]", body), outcome, {app: DesiredApp(app, Color.GREEN)}) is None


@pytest.mark.parametrize(
    ("merged", "asked_for"),
    [
        (pull("github-actions[bot]", f"{marker('theoshift')}\nx", head_ref="main-copy"), ("theoshift",)),
        (pull("github-actions[bot]", f"{marker('theoshift')}\nx", head_repo="mallory/ops"), ("theoshift",)),
        (pull("github-actions[bot]", f"{marker('theoshift')}\nx"), ("theoshift", "ldc-tools")),  # more changed
        (pull("github-actions[bot]", f"{marker('theoshift')}\nx"), ()),  # its entry unchanged
    ],
)
def test_a_merged_record_is_from_the_apps_branch_and_changes_only_its_entry(
    merged: PullInfo, asked_for: tuple[str, ...]
) -> None:
    outcome = Outcome((done(plan(), "noop"), done(plan("ldc-tools"), "noop")), Trigger(asked_for=asked_for))
    assert merged_record(merged, outcome, {**APPS, "ldc-tools": DesiredApp("ldc-tools", Color.GREEN)}) is None


def test_a_marked_app_must_be_in_live_json() -> None:
    body = f"{marker('theoshift')}\n## ↩️ Rollback record"
    assert merged_record(pull("github-actions[bot]", body), NOOP, {}) is None


def test_each_app_has_its_branch() -> None:
    assert branch_of("ldc-tools") == "bluegreen/rollback/ldc-tools"
    assert marker("ldc-tools") == "<!-- bluegreen:rollback:ldc-tools -->"


@pytest.mark.parametrize(
    "error", [InputError("state/live.json on bluegreen/rollback/theoshift is not valid"), RuntimeError("a bug")]
)
def test_an_error_opening_the_record_is_a_warning_never_the_runs_outcome(
    monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    """Whatever goes wrong with the record, the release's report (rolled_back, exit 4) is what the run says."""

    def fails(*_: object) -> None:
        raise error

    monkeypatch.setattr(rollback_pr, "open_record", fails)
    app = done(plan(), "rolled_back", restored=True)
    out = io.StringIO()
    context = SimpleNamespace(default_branch="main", run_url=None)
    run: Any = SimpleNamespace(inputs=Inputs.read({}), github=None, out=out, context=context)
    asked = {"theoshift": DesiredApp("theoshift", Color.BLUE, "2.4.1")}
    [note] = rollback_pr.record_rollbacks(run, Outcome((app,)), asked, "state/live.json")
    assert 'To record the rollback, set its entry to {"live": "green"' in note
    assert out.getvalue().startswith("::warning title=the rollback pull request of theoshift not opened::")
